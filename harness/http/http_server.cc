#include "harness/http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <utility>

#include "harness/http/http_connection.h"

namespace sigma::harness {
namespace {

constexpr int kStopPollMs = 100;
constexpr int kListenBacklog = 64;

using Clock = std::chrono::steady_clock;

// One response per request from `handler`, or 500 for every request where it throws or
// miscounts.
std::vector<HttpResponse> CallBatchHandler(const HttpBatchHandler& handler,
                                           std::span<const HttpRequest> requests) {
  std::string error;
  try {
    std::vector<HttpResponse> responses = handler(requests);
    if (responses.size() == requests.size()) {
      for (HttpResponse& response : responses) {
        if (response.status < 200 || response.status > 599) {
          response = HttpErrorResponse(
              500, StrCat("internal error: the handler answered status ", response.status),
              "server_error");
        }
      }
      return responses;
    }
    error =
        StrCat("internal error: ", responses.size(), " answers to ", requests.size(), " requests");
  } catch (const std::exception& e) {
    error = StrCat("internal error: ", e.what());
  } catch (...) {
    error = "internal error";
  }
  return std::vector<HttpResponse>(requests.size(), HttpErrorResponse(500, error, "server_error"));
}

// The connections of one Serve call and the whole requests waiting for an answer.
class ServeLoop {
 public:
  ServeLoop(int listen_fd, int port, const HttpServerLimits& limits, const std::atomic<bool>& stop)
      : listen_fd_(listen_fd), port_(port), limits_(limits), stop_(stop) {}

  size_t waiting() const { return ready_.size(); }
  // Whether a connection may still send a request to join a batch: one open and reading.
  bool MayJoin() const {
    return std::any_of(connections_.begin(), connections_.end(),
                       [](const auto& c) { return c->state() == HttpConnection::State::kReading; });
  }

  // Waits up to `timeout_ms` for the sockets, then accepts new clients, reads what arrived
  // (whole requests join the queue) and closes connections past their deadline. An error only
  // where the listening socket fails.
  Status Poll(int timeout_ms);

  // Hands up to `max_batch` waiting requests, oldest first, to `handler` and sends its answers.
  void AnswerBatch(const HttpBatchHandler& handler, size_t max_batch);

 private:
  struct Waiting {
    HttpConnection* connection;
    HttpRequest request;
  };
  Status AcceptAll(Clock::time_point now);
  bool HasIdle() const {
    return std::any_of(connections_.begin(), connections_.end(),
                       [](const auto& c) { return c->idle(); });
  }
  // Closes the longest idle connection to make room; false where none is idle.
  bool CloseIdlest();
  void Enqueue(HttpConnection* connection, std::optional<HttpRequest> request);
  void DropClosed();

  int listen_fd_;
  int port_;
  const HttpServerLimits& limits_;
  const std::atomic<bool>& stop_;
  std::vector<std::unique_ptr<HttpConnection>> connections_;
  std::deque<Waiting> ready_;
  Clock::time_point accept_paused_until_;  // out of descriptors: retry accepting after this
  std::vector<pollfd> fds_;                // the last Poll's, listening socket first
  std::vector<HttpConnection*> polled_;    // the connection of fds_[i + 1]
};

Status ServeLoop::Poll(int timeout_ms) {
  Clock::time_point now = Clock::now();
  fds_.assign(1, pollfd{listen_fd_, 0, 0});
  const bool room = connections_.size() < limits_.max_connections || HasIdle();
  if (room && now >= accept_paused_until_) fds_[0].events = POLLIN;
  polled_.clear();
  for (const auto& connection : connections_) {
    using State = HttpConnection::State;
    const State state = connection->state();
    if (state == State::kQueued) continue;
    const short events = state == State::kWriting ? POLLOUT : POLLIN;
    fds_.push_back(pollfd{connection->fd(), events, 0});
    polled_.push_back(connection.get());
  }
  int ready = poll(fds_.data(), fds_.size(), timeout_ms);
  if (ready < 0 && errno != EINTR) {
    return UnavailableError("HTTP server on port ", port_, ": poll: ", std::strerror(errno));
  }
  now = Clock::now();
  for (size_t i = 0; ready > 0 && i < polled_.size(); ++i) {
    if (fds_[i + 1].revents == 0) continue;
    HttpConnection& connection = *polled_[i];
    const bool writing = connection.state() == HttpConnection::State::kWriting;
    Enqueue(&connection, writing ? connection.OnWritable(now) : connection.OnReadable(now));
  }
  if (ready > 0 && (fds_[0].revents & POLLIN) != 0) SIGMA_RETURN_IF_ERROR(AcceptAll(now));
  for (const auto& connection : connections_) {
    if (now >= connection->deadline()) connection->Close();
  }
  DropClosed();
  return Status::Ok();
}

Status ServeLoop::AcceptAll(Clock::time_point now) {
  while (!stop_.load(std::memory_order_relaxed)) {
    const bool full = connections_.size() >= limits_.max_connections;
    if (full && !HasIdle()) return Status::Ok();
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      if (full) CloseIdlest();
      connections_.push_back(std::make_unique<HttpConnection>(fd, limits_, stop_, now));
      continue;
    }
    int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return Status::Ok();
    // Out of descriptors or memory: the listening socket stays readable, so give a connection
    // back or wait out a poll period instead of spinning.
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      if (CloseIdlest()) continue;
      accept_paused_until_ = now + std::chrono::milliseconds(kStopPollMs);
      return Status::Ok();
    }
    if (error == EBADF || error == EINVAL || error == ENOTSOCK || error == EFAULT) {
      return UnavailableError("HTTP server on port ", port_, ": accept: ", std::strerror(error));
    }
    // EINTR, ECONNABORTED, EPROTO, ...: that client is gone; the next may be there.
  }
  return Status::Ok();
}

bool ServeLoop::CloseIdlest() {
  HttpConnection* idlest = nullptr;
  for (const auto& connection : connections_) {
    // One whose client has sent its next request already is not idle: closing it loses that.
    if (!connection->idle() || connection->HasUnreadInput()) continue;
    if (idlest == nullptr || connection->last_activity() < idlest->last_activity()) {
      idlest = connection.get();
    }
  }
  if (idlest == nullptr) return false;
  idlest->Close();
  DropClosed();
  return true;
}

void ServeLoop::Enqueue(HttpConnection* connection, std::optional<HttpRequest> request) {
  if (request) ready_.push_back(Waiting{connection, std::move(*request)});
}

void ServeLoop::DropClosed() {
  std::erase_if(connections_,
                [](const auto& c) { return c->state() == HttpConnection::State::kClosed; });
}

void ServeLoop::AnswerBatch(const HttpBatchHandler& handler, size_t max_batch) {
  const size_t n = std::min(max_batch, ready_.size());
  std::vector<HttpConnection*> connections;
  std::vector<HttpRequest> requests;
  for (size_t i = 0; i < n; ++i) {
    connections.push_back(ready_.front().connection);
    requests.push_back(std::move(ready_.front().request));
    requests.back().stream = connections.back();
    ready_.pop_front();
  }
  std::vector<HttpResponse> responses = CallBatchHandler(handler, requests);
  const Clock::time_point now = Clock::now();
  // A pipelined request already here waits behind the ones left over.
  for (size_t i = 0; i < n; ++i) Enqueue(connections[i], connections[i]->Finish(responses[i], now));
  DropClosed();
}

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Listen(const std::string& host, int port,
                                                         const HttpServerLimits& limits) {
  if (port < 0 || port > 65535) {
    return InvalidArgumentError("HTTP server: port ", port, " is not in 0..65535");
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  std::string ip = host == "localhost" ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return InvalidArgumentError("HTTP server: host \"", host, "\" is not an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return UnavailableError("HTTP server: cannot create a socket for ", host, ":", port, ": ",
                            std::strerror(errno));
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->fd_ = fd;
  server->limits_ = limits;
  int one = 1;
  // Restarting the server must not wait out the previous run's TIME_WAIT connections.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    return UnavailableError("HTTP server: cannot listen on ", host, ":", port, ": ",
                            std::strerror(errno));
  }
  sockaddr_in bound{};
  socklen_t bound_size = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_size) != 0) {
    return UnavailableError("HTTP server: cannot read the port of ", host, ":", port, ": ",
                            std::strerror(errno));
  }
  server->port_ = ntohs(bound.sin_port);
  return server;
}

HttpServer::~HttpServer() {
  if (fd_ >= 0) close(fd_);
}

Status HttpServer::Serve(const HttpHandler& handler, const std::atomic<bool>& stop) {
  return ServeBatches(
      [&](std::span<const HttpRequest> requests) {
        return std::vector<HttpResponse>{handler(requests[0])};
      },
      1, 0, stop);
}

Status HttpServer::ServeBatches(const HttpBatchHandler& handler, size_t max_batch, int gather_ms,
                                const std::atomic<bool>& stop) {
  max_batch = std::max<size_t>(max_batch, 1);
  ServeLoop loop(fd_, port_, limits_, stop);
  // Set when a request waits: until then, others may still join its batch.
  std::optional<Clock::time_point> gather_end;
  while (!stop.load(std::memory_order_relaxed)) {
    int timeout_ms = kStopPollMs;
    if (gather_end) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*gather_end - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, kStopPollMs));
    }
    if (loop.waiting() >= max_batch) timeout_ms = 0;
    SIGMA_RETURN_IF_ERROR(loop.Poll(timeout_ms));
    if (loop.waiting() == 0) continue;
    if (!gather_end) gather_end = Clock::now() + std::chrono::milliseconds(gather_ms);
    // A lone client's request (no other connection open) has nothing to wait for.
    const bool gathering = loop.waiting() < max_batch && Clock::now() < *gather_end;
    if (gathering && loop.MayJoin()) continue;
    loop.AnswerBatch(handler, max_batch);
    // Requests left over have waited their window already.
    gather_end = loop.waiting() > 0 ? std::optional(Clock::now()) : std::nullopt;
  }
  return Status::Ok();
}

}  // namespace sigma::harness
