// HttpClient: JSON requests over HTTP(S) with libcurl, for the OpenAI-compatible backend
// (harness/backends/openai_backend.h). One easy handle reused, so a keep-alive server keeps its
// connection; TLS, proxies (http_proxy, https_proxy, no_proxy; never for localhost, 127.0.0.1 and
// ::1) and redirects as libcurl does them (a redirected POST stays a POST).
//
//   SIGMA_ASSIGN_OR_RETURN(auto client, HttpClient::Create());
//   SIGMA_ASSIGN_OR_RETURN(HttpReply reply,
//                          client->Send("POST", url, body, {"Authorization: Bearer ..."}, 600));
//
// A reply with any status code is a reply (the caller decides what a 429 or a 500 means); a
// Status error is a transport failure: UNAVAILABLE naming the method and URL and libcurl's reason
// (connection refused, name not resolved, timed out, TLS failure).
// Thread safety: one thread at a time per client.
#ifndef SIGMA_HARNESS_HTTP_HTTP_CLIENT_H_
#define SIGMA_HARNESS_HTTP_HTTP_CLIENT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::harness {

struct HttpReply {
  long status = 0;
  std::string body;
  double retry_after_s = -1;  // the Retry-After header in seconds (delay form only); -1: none
};

class HttpClient {
 public:
  static StatusOr<std::unique_ptr<HttpClient>> Create();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `method` "GET" or "POST" (a POST sends `body` as application/json; a GET ignores it);
  // `headers` as "Name: value" lines; `timeout_s` bounds the whole exchange. Replies larger than
  // 256 MiB fail (DATA_LOSS).
  StatusOr<HttpReply> Send(std::string_view method, const std::string& url, std::string_view body,
                           const std::vector<std::string>& headers, double timeout_s);

 private:
  HttpClient() = default;
  void* curl_ = nullptr;  // CURL*
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_HTTP_HTTP_CLIENT_H_
