// HttpServer: a small HTTP/1.1 server for `sigma-eval serve` (harness/serve/openai_server.h): one
// listening socket and its connections served from one thread by a poll loop, bodies by
// Content-Length only. Connections stay open for further requests (keep-alive, and requests
// pipelined on one are answered in order) until the client closes, asks to, or stays idle past
// the keep-alive time. Requests that arrive together (clients with several in flight) can be
// answered together: ServeBatches hands the handler every whole request that is waiting, so a
// model can decode them as one batch. What it is for is a local evaluation endpoint, not the open
// internet: it binds 127.0.0.1 unless told otherwise and has no authentication.
//
//   SIGMA_ASSIGN_OR_RETURN(auto server, HttpServer::Listen("127.0.0.1", 0, {}));
//   std::printf("port %d\n", server->port());
//   SIGMA_RETURN_IF_ERROR(server->Serve(handler, stop_flag));
//
// A handler may instead stream its answer through the request's HttpStream (server-sent events).
// Bad requests get an answer, never a crash or a hang: a malformed request line or header 400, an
// HTTP version other than 1.0 / 1.1 505, a head past the limit 431, a body past the limit 413, a
// body without Content-Length 411, a chunked body 501, each closing its connection; a client that
// stops sending in the middle of a request, or reading its answer, for the read timeout is
// dropped; reading requests and sending whole answers wait for no client, so a slow or silent
// one holds up no other (a streamed answer, written while the handler makes it, waits for its
// client at most the read timeout). "Expect: 100-continue" is answered. Error answers are JSON:
// {"error":{"message":...,"type":...}}.
// Thread safety: Serve runs on one thread; `stop` may be set from any thread or a signal handler.
#ifndef SIGMA_HARNESS_HTTP_HTTP_SERVER_H_
#define SIGMA_HARNESS_HTTP_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "harness/http/http_message.h"

namespace sigma::harness {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Answers requests together: one response per request, in order.
using HttpBatchHandler = std::function<std::vector<HttpResponse>(std::span<const HttpRequest>)>;

struct HttpServerLimits {
  size_t max_head_bytes = 64 << 10;  // request line and headers
  size_t max_body_bytes = 64 << 20;
  int read_timeout_ms = 30'000;  // between bytes of one request
  int keep_alive_ms = 15'000;    // an idle connection waits this long for its next request;
                                 // 0: every answer closes its connection
  size_t max_connections = 256;  // open at once; past it the longest idle one is closed (its
                                 // client retries, as HTTP clients do on a kept connection
                                 // closed under them), or new clients wait to be accepted
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

  // Answers requests with `handler`, one at a time, until `stop` is true (seen within ~100 ms);
  // then closes every connection.
  // A handler that throws answers 500. Errors of one connection drop it and go on.
  Status Serve(const HttpHandler& handler, const std::atomic<bool>& stop);

  // As Serve, `max_batch` requests at a time: after the first request is read, the requests
  // that are waiting, or arrive within `gather_ms` on the connections open then, join it (up to
  // max_batch; one of each connection, and those left over go first in the next batch), and
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

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_HTTP_HTTP_SERVER_H_
