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
#include <exception>
#include <utility>

#include "engine/base/json.h"

namespace sigma::harness {
namespace {

constexpr int kStopPollMs = 100;
constexpr int kListenBacklog = 64;
// After an error answer the client may still be sending; reading (and discarding) that a little
// while before close() keeps the kernel from answering it with a reset that can destroy the reply.
constexpr int kLingerMs = 500;

using Clock = std::chrono::steady_clock;

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string ToLower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

// Error messages quote what the client sent; a long or binary line is cut short.
std::string Excerpt(std::string_view text) {
  constexpr size_t kMax = 80;
  return text.size() <= kMax ? std::string(text) : StrCat(text.substr(0, kMax), "...");
}

// A failure of one connection: drop it and serve the next. Never surfaces from Serve.
enum class IoResult { kOk, kClosed, kTimeout, kStopped, kError };

class Connection : public HttpStream {
 public:
  Connection(int fd, const HttpServerLimits& limits, const std::atomic<bool>& stop)
      : fd_(fd), limits_(limits), stop_(stop) {}
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Appends what arrives to *buffer (one recv), waiting at most `timeout_ms` for it.
  IoResult ReadSome(std::string* buffer, int timeout_ms) {
    IoResult ready = WaitFor(POLLIN, timeout_ms);
    if (ready != IoResult::kOk) return ready;
    char chunk[64 << 10];
    while (true) {
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer->append(chunk, static_cast<size_t>(n));
        return IoResult::kOk;
      }
      if (n == 0) return IoResult::kClosed;
      if (errno == EINTR) continue;
      // Readiness without data (a spurious wakeup): the caller's loop polls again.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::kOk;
      return IoResult::kError;
    }
  }

  IoResult Read(std::string* buffer) { return ReadSome(buffer, limits_.read_timeout_ms); }

  // The same timeout bounds a client that stops reading as one that stops sending.
  IoResult WriteAll(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        IoResult ready = WaitFor(POLLOUT, limits_.read_timeout_ms);
        if (ready != IoResult::kOk) return ready;
        continue;
      }
      return IoResult::kError;
    }
    return IoResult::kOk;
  }

  bool Start(int status, std::string_view content_type) override {
    if (started_) return false;
    started_ = true;
    healthy_ = WriteAll(StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status),
                               "\r\nContent-Type: ", content_type,
                               "\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")) ==
               IoResult::kOk;
    return healthy_;
  }

  bool Write(std::string_view data) override {
    if (!started_ || !healthy_) return false;
    healthy_ = WriteAll(data) == IoResult::kOk;
    return healthy_;
  }

  bool started() const override { return started_; }

  // A started stream's end: the body ends with the connection.
  void EndStream() {
    if (healthy_) shutdown(fd_, SHUT_WR);
  }

  // Sends the whole answer and, where part of the request was left unread, discards what the client
  // still sends for a short while so the answer is not lost to a reset.
  void Answer(const HttpResponse& response, bool request_consumed) {
    std::string text =
        StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
               "\r\nContent-Type: ", response.content_type,
               "\r\nContent-Length: ", response.body.size(), "\r\nConnection: close\r\n\r\n");
    text += response.body;
    if (WriteAll(text) != IoResult::kOk) return;
    shutdown(fd_, SHUT_WR);
    if (request_consumed) return;
    auto deadline = Clock::now() + std::chrono::milliseconds(kLingerMs);
    std::string discard;
    while (Clock::now() < deadline) {
      discard.clear();
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (ReadSome(&discard, std::max(left, 1)) != IoResult::kOk) return;
    }
  }

 private:
  // poll() in slices so `stop` is seen within ~100 ms even while a client is slow.
  IoResult WaitFor(short events, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (stop_.load(std::memory_order_relaxed)) return IoResult::kStopped;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return IoResult::kTimeout;
      pollfd pfd{fd_, events, 0};
      int ready = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), kStopPollMs)));
      if (ready < 0) {
        if (errno == EINTR) continue;
        return IoResult::kError;
      }
      if (ready == 0) continue;
      // POLLHUP/POLLERR: let recv/send report what happened.
      return IoResult::kOk;
    }
  }

  int fd_;
  const HttpServerLimits& limits_;
  const std::atomic<bool>& stop_;
  bool started_ = false;  // a stream's head was sent
  bool healthy_ = true;   // every write so far went through
};

// The next connection within `timeout_ms`, or null (none came, or one failed before it could be
// used); an error only where the listening socket itself fails.
StatusOr<std::unique_ptr<Connection>> AcceptConnection(int listen_fd, int port,
                                                       const HttpServerLimits& limits,
                                                       const std::atomic<bool>& stop,
                                                       int timeout_ms) {
  pollfd pfd{listen_fd, POLLIN, 0};
  int ready = poll(&pfd, 1, timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return std::unique_ptr<Connection>();
    return UnavailableError("HTTP server on port ", port, ": poll: ", std::strerror(errno));
  }
  if (ready == 0) return std::unique_ptr<Connection>();
  int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    int error = errno;
    // Out of descriptors or memory: the listening socket stays readable, so wait out a poll
    // period instead of spinning.
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      poll(nullptr, 0, kStopPollMs);
      return std::unique_ptr<Connection>();
    }
    if (error == EBADF || error == EINVAL || error == ENOTSOCK || error == EFAULT) {
      return UnavailableError("HTTP server on port ", port, ": accept: ", std::strerror(error));
    }
    return std::unique_ptr<Connection>();  // EINTR, EAGAIN, ECONNABORTED, EPROTO, ...
  }
  return std::make_unique<Connection>(fd, limits, stop);
}

// Why reading a request ended without one: an answer to send, or nothing (the client went away,
// stalled, or the server is stopping).
struct ReadOutcome {
  bool have_request = false;
  bool answer = false;
  HttpResponse response;
  bool request_consumed = true;
};

ReadOutcome Reject(int status, std::string_view message) {
  ReadOutcome outcome;
  outcome.answer = true;
  outcome.response = HttpErrorResponse(status, message);
  outcome.request_consumed = false;
  return outcome;
}

// Size of a Content-Length value, or false where it is not all digits or does not fit.
bool ParseContentLength(std::string_view text, size_t* length) {
  if (text.empty()) return false;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    size_t digit = static_cast<size_t>(c - '0');
    if (value > (SIZE_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *length = value;
  return true;
}

ReadOutcome ReadRequest(Connection& connection, const HttpServerLimits& limits,
                        HttpRequest* request) {
  std::string buffer;
  size_t head_end = std::string::npos;
  while (true) {
    head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) break;
    // Past the limit plus a terminator's length, no head that fits can still end here.
    if (buffer.size() > limits.max_head_bytes + 3) {
      return Reject(431, StrCat("request head larger than ", limits.max_head_bytes, " bytes"));
    }
    if (connection.Read(&buffer) != IoResult::kOk) return {};
  }
  if (head_end > limits.max_head_bytes) {
    return Reject(431, StrCat("request head larger than ", limits.max_head_bytes, " bytes"));
  }
  Status parsed = ParseHttpRequestHead(std::string_view(buffer).substr(0, head_end), request);
  if (!parsed.ok()) {
    return Reject(parsed.code() == StatusCode::kUnimplemented ? 505 : 400, parsed.message());
  }
  const auto& headers = request->headers;
  if (headers.count("transfer-encoding")) {
    return Reject(501, "chunked request bodies are not supported; send Content-Length");
  }
  size_t length = 0;
  auto content_length = headers.find("content-length");
  if (content_length == headers.end()) {
    const std::string& method = request->method;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      return Reject(411, StrCat(method, " needs a Content-Length header"));
    }
  } else if (!ParseContentLength(content_length->second, &length)) {
    return Reject(400,
                  StrCat("malformed Content-Length \"", Excerpt(content_length->second), "\""));
  }
  if (length > limits.max_body_bytes) {
    return Reject(413, StrCat("request body of ", length, " bytes is larger than the limit of ",
                              limits.max_body_bytes, " bytes"));
  }
  size_t body_start = head_end + 4;
  size_t buffered = buffer.size() - body_start;
  auto expect = headers.find("expect");
  if (expect != headers.end() && ToLower(expect->second) == "100-continue" && buffered < length) {
    if (connection.WriteAll("HTTP/1.1 100 Continue\r\n\r\n") != IoResult::kOk) return {};
  }
  // Bytes past the head already hold the body's start.
  request->body.assign(buffer, body_start, std::min(buffered, length));
  buffer.clear();
  buffer.shrink_to_fit();
  request->body.reserve(length);
  while (request->body.size() < length) {
    if (connection.Read(&request->body) != IoResult::kOk) return {};
  }
  // A pipelined next request is not served (Connection: close); its bytes are dropped.
  request->body.resize(length);
  ReadOutcome outcome;
  outcome.have_request = true;
  return outcome;
}

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

}  // namespace

HttpResponse HttpErrorResponse(int status, std::string_view message, std::string_view type) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"error\":{\"message\":";
  AppendJsonString(message, &response.body);
  response.body += ",\"type\":";
  AppendJsonString(type, &response.body);
  response.body += "}}";
  return response;
}

Status ParseHttpRequestHead(std::string_view head, HttpRequest* request) {
  request->method.clear();
  request->path.clear();
  request->headers.clear();
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  std::string_view rest = line_end == std::string_view::npos ? "" : head.substr(line_end + 2);

  size_t first_space = line.find(' ');
  size_t second_space =
      first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos ||
      line.find(' ', second_space + 1) != std::string_view::npos) {
    return InvalidArgumentError("malformed request line \"", Excerpt(line),
                                "\": expected METHOD /path HTTP/1.1");
  }
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  std::string_view version = line.substr(second_space + 1);
  if (!IsToken(method)) {
    return InvalidArgumentError("malformed method \"", Excerpt(method), "\"");
  }
  bool target_ok = !target.empty() && target.front() == '/' &&
                   std::none_of(target.begin(), target.end(), [](char c) {
                     return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
                   });
  if (!target_ok) {
    return InvalidArgumentError("malformed request target \"", Excerpt(target),
                                "\": expected a path starting with '/'");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    // A well-formed version this server does not speak is 505; anything else is malformed.
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                       digit(version[5]) && version[6] == '.' && digit(version[7]);
    if (well_formed) return UnimplementedError("HTTP version ", version, " is not supported");
    return InvalidArgumentError("malformed HTTP version \"", Excerpt(version), "\"");
  }
  request->method = std::string(method);
  request->path = std::string(target.substr(0, target.find('?')));

  while (!rest.empty()) {
    line_end = rest.find("\r\n");
    line = rest.substr(0, line_end);
    rest = line_end == std::string_view::npos ? "" : rest.substr(line_end + 2);
    if (line.empty()) return InvalidArgumentError("empty line inside the request head");
    if (line.front() == ' ' || line.front() == '\t') {
      return InvalidArgumentError("obsolete line folding in header line \"", Excerpt(line), "\"");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError("header line without a colon: \"", Excerpt(line), "\"");
    }
    std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      return InvalidArgumentError("malformed header name \"", Excerpt(name), "\"");
    }
    std::string_view value = TrimSpaces(line.substr(colon + 1));
    bool value_ok = std::none_of(value.begin(), value.end(), [](char c) {
      return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
    });
    if (!value_ok) {
      return InvalidArgumentError("control character in header \"", Excerpt(name), "\"");
    }
    std::string key = ToLower(name);
    auto [it, inserted] = request->headers.emplace(key, std::string(value));
    if (inserted) continue;
    if (key == "content-length") {
      // Two lengths that disagree are how request smuggling starts; equal repeats are harmless.
      if (it->second != value) return InvalidArgumentError("conflicting Content-Length headers");
      continue;
    }
    // Repeated fields combine as a comma-separated list (RFC 9110 section 5.3); an empty one adds
    // no item (fuzzed: "X:a" then "X:" made "a, ", a value ending in a space).
    if (value.empty()) continue;
    if (!it->second.empty()) it->second += ", ";
    it->second += value;
  }
  return Status::Ok();
}

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
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<HttpRequest> requests;
  while (!stop.load(std::memory_order_relaxed)) {
    connections.clear();
    requests.clear();
    // The first request waits for a client; the others only for the gathering window.
    Clock::time_point gather_end;
    while (requests.size() < max_batch && !stop.load(std::memory_order_relaxed)) {
      int timeout_ms = kStopPollMs;
      if (!requests.empty()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(gather_end - Clock::now());
        timeout_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
      }
      SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                             AcceptConnection(fd_, port_, limits_, stop, timeout_ms));
      if (connection == nullptr) {
        if (requests.empty()) continue;
        break;  // nothing more arrived in time
      }
      HttpRequest request;
      ReadOutcome outcome = ReadRequest(*connection, limits_, &request);
      if (outcome.have_request) {
        if (requests.empty()) {
          gather_end = Clock::now() + std::chrono::milliseconds(gather_ms);
        }
        requests.push_back(std::move(request));
        connections.push_back(std::move(connection));
      } else if (outcome.answer) {
        connection->Answer(outcome.response, outcome.request_consumed);
      }
    }
    if (requests.empty()) continue;
    for (size_t i = 0; i < requests.size(); ++i) requests[i].stream = connections[i].get();
    std::vector<HttpResponse> responses = CallBatchHandler(handler, requests);
    for (size_t i = 0; i < connections.size(); ++i) {
      if (connections[i]->started()) {
        connections[i]->EndStream();
      } else {
        connections[i]->Answer(responses[i], /*request_consumed=*/true);
      }
    }
  }
  return Status::Ok();
}

}  // namespace sigma::harness
