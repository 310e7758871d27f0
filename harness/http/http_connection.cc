#include "harness/http/http_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <utility>

namespace sigma::harness {
namespace {

constexpr int kStopPollMs = 100;
// After an error answer the client may still be sending; reading (and discarding) that a little
// while before close() keeps the kernel from answering it with a reset that can destroy the reply.
constexpr std::chrono::milliseconds kLinger(500);
// What one OnReadable takes from the socket at most, so one busy client cannot starve the others.
constexpr size_t kReadBudget = 1 << 20;

}  // namespace

HttpConnection::HttpConnection(int fd, const HttpServerLimits& limits,
                               const std::atomic<bool>& stop, Clock::time_point now)
    : fd_(fd), limits_(limits), stop_(stop), last_activity_(now) {}

HttpConnection::~HttpConnection() { Close(); }

void HttpConnection::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  state_ = State::kClosed;
}

bool HttpConnection::HasUnreadInput() const {
  char byte;
  return recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

HttpConnection::Clock::time_point HttpConnection::deadline() const {
  switch (state_) {
    case State::kReading: {
      const bool between_requests = served_ > 0 && buffer_.empty() && !head_.has_value();
      const int ms = between_requests ? limits_.keep_alive_ms : limits_.read_timeout_ms;
      return last_activity_ + std::chrono::milliseconds(ms);
    }
    case State::kWriting:
      return last_activity_ + std::chrono::milliseconds(limits_.read_timeout_ms);
    case State::kDraining: return drain_end_;
    case State::kQueued:
    case State::kClosed: break;
  }
  return Clock::time_point::max();
}

std::optional<HttpRequest> HttpConnection::OnReadable(Clock::time_point now) {
  if (state_ != State::kReading && state_ != State::kDraining) return std::nullopt;
  const size_t before = buffer_.size();
  const Io io = Receive();
  if (state_ == State::kDraining) {
    if (io != Io::kOk) Close();
    return std::nullopt;
  }
  if (buffer_.size() > before) last_activity_ = now;
  if (io == Io::kError) {
    Close();
    return std::nullopt;
  }
  // A client may send its request and then shut its side: the request is still answered.
  peer_closed_ = io == Io::kClosed;
  std::optional<HttpRequest> request = TakeRequest(now);
  if (!request && peer_closed_ && state_ == State::kReading) Close();
  return request;
}

std::optional<HttpRequest> HttpConnection::TakeRequest(Clock::time_point now) {
  if (!head_) {
    const size_t head_end = buffer_.find("\r\n\r\n");
    // Past the limit plus a terminator's length, no head that fits can still end here.
    if (head_end == std::string::npos && buffer_.size() <= limits_.max_head_bytes + 3) {
      return std::nullopt;
    }
    if (head_end == std::string::npos || head_end > limits_.max_head_bytes) {
      Reject(431, StrCat("request head larger than ", limits_.max_head_bytes, " bytes"), now);
      return std::nullopt;
    }
    HttpRequest request;
    Status parsed = ParseHttpRequestHead(std::string_view(buffer_).substr(0, head_end), &request);
    if (!parsed.ok()) {
      Reject(parsed.code() == StatusCode::kUnimplemented ? 505 : 400, parsed.message(), now);
      return std::nullopt;
    }
    if (!ReadBodyLength(request, now)) return std::nullopt;
    buffer_.erase(0, head_end + 4);
    head_ = std::move(request);
  }
  if (buffer_.size() < body_length_) {
    // An HTTP/1.0 client is sent no interim answer (RFC 9110 section 10.1.1).
    if (!continue_sent_ && head_->version == "HTTP/1.1" && ExpectsContinue(*head_)) {
      continue_sent_ = true;
      if (WriteAll("HTTP/1.1 100 Continue\r\n\r\n") != Io::kOk) Close();
    }
    return std::nullopt;
  }
  HttpRequest request = std::move(*head_);
  head_.reset();
  continue_sent_ = false;
  request.body = buffer_.substr(0, body_length_);
  buffer_.erase(0, body_length_);
  keep_alive_ = limits_.keep_alive_ms > 0 && !peer_closed_ && WantsKeepAlive(request);
  chunked_ = request.version == "HTTP/1.1";
  started_ = false;
  healthy_ = true;
  state_ = State::kQueued;
  return request;
}

bool HttpConnection::ReadBodyLength(const HttpRequest& request, Clock::time_point now) {
  const auto& headers = request.headers;
  if (headers.count("transfer-encoding")) {
    Reject(501, "chunked request bodies are not supported; send Content-Length", now);
    return false;
  }
  body_length_ = 0;
  auto content_length = headers.find("content-length");
  if (content_length == headers.end()) {
    const std::string& method = request.method;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      Reject(411, StrCat(method, " needs a Content-Length header"), now);
      return false;
    }
  } else if (!ParseContentLength(content_length->second, &body_length_)) {
    Reject(400, StrCat("malformed Content-Length \"", HttpExcerpt(content_length->second), "\""),
           now);
    return false;
  }
  if (body_length_ > limits_.max_body_bytes) {
    Reject(413,
           StrCat("request body of ", body_length_, " bytes is larger than the limit of ",
                  limits_.max_body_bytes, " bytes"),
           now);
    return false;
  }
  return true;
}

std::optional<HttpRequest> HttpConnection::Finish(const HttpResponse& response,
                                                  Clock::time_point now) {
  if (state_ != State::kQueued) return std::nullopt;
  ++served_;
  if (started_) {
    if (!healthy_) {
      Close();
      return std::nullopt;
    }
    // A stream without chunks ends where the connection does.
    if (!chunked_) keep_alive_ = false;
    if (chunked_) out_ = "0\r\n\r\n";
  } else {
    QueueWhole(response);
  }
  state_ = State::kWriting;
  last_activity_ = now;
  return OnWritable(now);
}

std::optional<HttpRequest> HttpConnection::OnWritable(Clock::time_point now) {
  if (state_ != State::kWriting) return std::nullopt;
  const size_t before = out_sent_;
  const Io io = Flush();
  if (out_sent_ > before) last_activity_ = now;
  if (io != Io::kOk) {
    Close();
    return std::nullopt;
  }
  if (out_sent_ < out_.size()) return std::nullopt;  // the rest when the socket takes it
  out_.clear();
  out_sent_ = 0;
  if (!keep_alive_) {
    Drain(now);
    return std::nullopt;
  }
  state_ = State::kReading;
  started_ = false;
  return TakeRequest(now);
}

void HttpConnection::Reject(int status, std::string_view message, Clock::time_point now) {
  keep_alive_ = false;
  QueueWhole(HttpErrorResponse(status, message));
  state_ = State::kWriting;
  last_activity_ = now;
  OnWritable(now);
}

void HttpConnection::QueueWhole(const HttpResponse& response) {
  out_ = StrCat("HTTP/1.1 ", response.status, " ", HttpReasonPhrase(response.status),
                "\r\nContent-Type: ", response.content_type,
                "\r\nContent-Length: ", response.body.size(), "\r\n", ConnectionHeaders(), "\r\n");
  out_ += response.body;
  out_sent_ = 0;
}

HttpConnection::Io HttpConnection::Flush() {
  while (out_sent_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::kOk;
    return Io::kError;
  }
  return Io::kOk;
}

std::string HttpConnection::ConnectionHeaders() const {
  if (!keep_alive_) return "Connection: close\r\n";
  // Clients that read it close an idle connection before the server does, not while sending.
  return StrCat("Connection: keep-alive\r\nKeep-Alive: timeout=",
                std::max(limits_.keep_alive_ms / 1000, 1), "\r\n");
}

void HttpConnection::Drain(Clock::time_point now) {
  buffer_.clear();
  buffer_.shrink_to_fit();
  head_.reset();
  if (peer_closed_) {
    Close();
    return;
  }
  shutdown(fd_, SHUT_WR);
  state_ = State::kDraining;
  drain_end_ = now + kLinger;
}

bool HttpConnection::Start(int status, std::string_view content_type) {
  if (started_ || state_ != State::kQueued) return false;
  started_ = true;
  if (!chunked_) keep_alive_ = false;
  healthy_ = WriteAll(StrCat("HTTP/1.1 ", status, " ", HttpReasonPhrase(status),
                             "\r\nContent-Type: ", content_type, "\r\nCache-Control: no-cache\r\n",
                             chunked_ ? "Transfer-Encoding: chunked\r\n" : "", ConnectionHeaders(),
                             "\r\n")) == Io::kOk;
  return healthy_;
}

bool HttpConnection::Write(std::string_view data) {
  if (!started_ || !healthy_) return false;
  if (data.empty()) return true;  // an empty chunk would end the body
  if (!chunked_) {
    healthy_ = WriteAll(data) == Io::kOk;
    return healthy_;
  }
  char size[24];
  std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string chunk = StrCat(size, data, "\r\n");
  healthy_ = WriteAll(chunk) == Io::kOk;
  return healthy_;
}

HttpConnection::Io HttpConnection::Receive() {
  char chunk[64 << 10];
  size_t taken = 0;
  while (taken < kReadBudget) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      if (state_ != State::kDraining) buffer_.append(chunk, static_cast<size_t>(n));
      taken += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kOk;
    return Io::kError;
  }
  return Io::kOk;
}

// The same timeout bounds a client that stops reading as one that stops sending.
HttpConnection::Io HttpConnection::WriteAll(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Io ready = WaitFor(POLLOUT, limits_.read_timeout_ms);
      if (ready != Io::kOk) return ready;
      continue;
    }
    return Io::kError;
  }
  return Io::kOk;
}

HttpConnection::Io HttpConnection::WaitFor(short events, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (stop_.load(std::memory_order_relaxed)) return Io::kStopped;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Io::kTimeout;
    pollfd pfd{fd_, events, 0};
    int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), kStopPollMs)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return Io::kError;
    }
    if (ready == 0) continue;
    // POLLHUP/POLLERR: let send report what happened.
    return Io::kOk;
  }
}

}  // namespace sigma::harness
