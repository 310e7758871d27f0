// HttpServer: a small HTTP/1.1 server for `sigma-eval serve` (harness/serve/openai_server.h): one
// listening socket served from one thread, one request per connection ("Connection: close"),
// bodies by Content-Length only. Requests that arrive together (clients with several requests
// in flight) can be answered together: ServeBatches hands the handler every request whose
// connection is waiting, so a model can decode them as one batch. What it is for is a local
// evaluation endpoint, not the open internet: it binds 127.0.0.1 unless told otherwise and has no
// authentication.
//
//   SIGMA_ASSIGN_OR_RETURN(auto server, HttpServer::Listen("127.0.0.1", 0, {}));
//   std::printf("port %d\n", server->port());
//   SIGMA_RETURN_IF_ERROR(server->Serve(handler, stop_flag));
//
// A handler may instead stream its answer through the request's HttpStream (server-sent events).
// Bad requests get an answer, never a crash or a hang: a malformed request line or header 400, an
// HTTP version other than 1.0 / 1.1 505, a head past the limit 431, a body past the limit 413, a
// body without Content-Length 411, a chunked body 501; a client that stops sending (or reading)
// for the read timeout is dropped. "Expect: 100-continue" is answered. Error answers are JSON:
// {"error":{"message":...,"type":...}}.
// Thread safety: Serve runs on one thread; `stop` may be set from any thread or a signal handler.
#ifndef SIGMA_HARNESS_HTTP_HTTP_SERVER_H_
#define SIGMA_HARNESS_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::harness {

// A response sent while it is made (server-sent events, a token at a time): Start sends the status
// line and headers, without a length (the body ends when the connection closes, as HTTP/1.1
// allows), and Write each piece as it comes. Both return false once the client is gone, stopped
// reading for the read timeout, or the server is stopping: the handler should stop making the
// response then. A handler that started a stream has its returned HttpResponse ignored.
class HttpStream {
 public:
  virtual ~HttpStream() = default;
  virtual bool Start(int status, std::string_view content_type) = 0;
  virtual bool Write(std::string_view data) = 0;
  virtual bool started() const = 0;
};

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // the target without its query ("/v1/completions")
  std::map<std::string, std::string> headers;  // names lower-cased, values trimmed
  std::string body;
  HttpStream* stream = nullptr;  // set by the server while the handler runs: its connection
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error":{"message":message,"type":type}} with `status`.
HttpResponse HttpErrorResponse(int status, std::string_view message,
                               std::string_view type = "invalid_request_error");

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Answers requests together: one response per request, in order.
using HttpBatchHandler = std::function<std::vector<HttpResponse>(std::span<const HttpRequest>)>;

struct HttpServerLimits {
  size_t max_head_bytes = 64 << 10;  // request line and headers
  size_t max_body_bytes = 64 << 20;
  int read_timeout_ms = 30'000;  // between bytes of one request
};

class HttpServer {
 public:
  // Binds host:port (port 0: any free one) and listens. UNAVAILABLE naming host:port where the
  // address is taken or cannot be bound; INVALID_ARGUMENT for a host that is not an IPv4 address.
  static StatusOr<std::unique_ptr<HttpServer>> Listen(const std::string& host, int port,
                                                      const HttpServerLimits& limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

  // Answers requests with `handler`, one at a time, until `stop` is true (seen within ~100 ms).
  // A handler that throws answers 500. Errors of one connection drop it and go on.
  Status Serve(const HttpHandler& handler, const std::atomic<bool>& stop);

  // As Serve, `max_batch` requests at a time: after the first request is read, the requests of
  // connections that are waiting, or arrive within `gather_ms`, join it (up to max_batch), and
  // `handler` answers them together. A handler that throws, or answers a wrong number of
  // responses, answers every request of the batch 500.
  Status ServeBatches(const HttpBatchHandler& handler, size_t max_batch, int gather_ms,
                      const std::atomic<bool>& stop);

 private:
  HttpServer() = default;
  int fd_ = -1;
  int port_ = 0;
  HttpServerLimits limits_;
};

// Parses a request head (request line and headers, without the blank line after them): the
// method, path and headers of *request. An error names what is malformed: INVALID_ARGUMENT
// (answered 400), or UNIMPLEMENTED for an HTTP version other than 1.0 and 1.1 (505).
Status ParseHttpRequestHead(std::string_view head, HttpRequest* request);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_HTTP_HTTP_SERVER_H_
