// HTTP/1.1 messages as HttpServer (harness/http/http_server.h) reads and writes them: the request
// and response a handler sees and makes, the parsing of a request head, and the pieces of an
// answer's head. Strings in, strings out; no sockets.
// Thread safety: free functions without shared state; an HttpStream belongs to the server's thread.
#ifndef SIGMA_HARNESS_HTTP_HTTP_MESSAGE_H_
#define SIGMA_HARNESS_HTTP_HTTP_MESSAGE_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sigma::harness {

// A response sent while it is made (server-sent events, a token at a time): Start sends the status
// line and headers, without a length, and Write each piece as it comes (to an HTTP/1.1 client as
// chunks, so the connection serves its next request afterwards; to HTTP/1.0 until the connection
// closes). Both return false once the client is gone, stopped reading for the read timeout, or
// the server is stopping: the handler should stop making the response then. A handler that
// started a stream has its returned HttpResponse ignored.
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
  std::string version = "HTTP/1.1";  // or "HTTP/1.0"
  HttpStream* stream = nullptr;      // set by the server while the handler runs: its connection
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error":{"message":message,"type":type}} with `status`.
HttpResponse HttpErrorResponse(int status, std::string_view message,
                               std::string_view type = "invalid_request_error");

// Parses a request head (request line and headers, without the blank line after them): the
// method, path, version and headers of *request. An error names what is malformed:
// INVALID_ARGUMENT (answered 400), or UNIMPLEMENTED for an HTTP version other than 1.0 and 1.1
// (505).
Status ParseHttpRequestHead(std::string_view head, HttpRequest* request);

// Whether the client asks to keep the connection for another request (RFC 9112 section 9.3):
// HTTP/1.1 unless its Connection header lists "close", HTTP/1.0 only where it lists "keep-alive".
bool WantsKeepAlive(const HttpRequest& request);

// Whether the client waits for "100 Continue" before it sends the body ("Expect: 100-continue").
bool ExpectsContinue(const HttpRequest& request);

// A Content-Length value: false where it is not all digits or does not fit a size_t.
bool ParseContentLength(std::string_view text, size_t* length);

// "OK", "Not Found", ...; "Unknown" for a status without a phrase here.
std::string_view HttpReasonPhrase(int status);

// What the client sent, quoted in an error message: a long or binary line is cut short.
std::string HttpExcerpt(std::string_view text);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_HTTP_HTTP_MESSAGE_H_
