#include "harness/http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace sigma::harness {
namespace {

constexpr size_t kMaxReplyBytes = size_t{256} << 20;
constexpr double kMaxConnectTimeoutS = 10;

struct Exchange {
  HttpReply* reply;
  bool too_large = false;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string_view Trim(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// The delay-seconds form ("120", also "1.5" as some servers send it); an HTTP-date is ignored.
double ParseRetryAfter(std::string_view value) {
  bool digits = !value.empty() && value.front() != '.' && value.back() != '.' &&
                std::count(value.begin(), value.end(), '.') <= 1 &&
                std::all_of(value.begin(), value.end(),
                            [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  if (!digits) return -1;
  double seconds = -1;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (error != std::errc() || end != value.data() + value.size() || !std::isfinite(seconds)) {
    return -1;
  }
  return seconds;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  size_t bytes = size * count;
  if (exchange->reply->body.size() + bytes > kMaxReplyBytes) {
    exchange->too_large = true;
    return 0;  // anything but `bytes` makes libcurl abort the transfer
  }
  exchange->reply->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  size_t bytes = size * count;
  std::string_view line(data, bytes);
  // Each response (a redirect, the final answer) starts with a status line; only the last counts.
  if (line.substr(0, 5) == "HTTP/") {
    exchange->reply->retry_after_s = -1;
    return bytes;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos &&
      EqualsIgnoreCase(Trim(line.substr(0, colon)), "retry-after")) {
    exchange->reply->retry_after_s = ParseRetryAfter(Trim(line.substr(colon + 1)));
  }
  return bytes;
}

struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

bool Append(Slist* list, const std::string& line) {
  curl_slist* next = curl_slist_append(list->get(), line.c_str());
  if (next == nullptr) return false;
  if (list->get() == nullptr) list->reset(next);  // later appends return the same head
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create() {
  // curl_global_init is not thread-safe and must run once per process before any handle.
  static std::once_flag once;
  static CURLcode init = CURLE_OK;
  std::call_once(once, [] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) {
    return UnavailableError("HTTP client: libcurl did not initialise: ", curl_easy_strerror(init));
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return UnavailableError("HTTP client: libcurl could not make a handle");
  std::unique_ptr<HttpClient> client(new HttpClient());
  client->curl_ = curl;
  return client;
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

StatusOr<HttpReply> HttpClient::Send(std::string_view method, const std::string& url,
                                     std::string_view body, const std::vector<std::string>& headers,
                                     double timeout_s) {
  bool post = method == "POST";
  if (!post && method != "GET") {
    return InvalidArgumentError("HTTP client: method \"", method, "\" is not GET or POST");
  }
  if (!(timeout_s > 0)) {
    return InvalidArgumentError("HTTP client: timeout ", timeout_s, " s is not positive");
  }
  CURL* curl = static_cast<CURL*>(curl_);
  // Clears the previous request's options; the connection cache survives, so keep-alive works.
  curl_easy_reset(curl);

  Slist header_list;
  bool has_content_type = false;
  for (const std::string& header : headers) {
    std::string_view line = header;
    size_t colon = line.find(':');
    if (colon != std::string_view::npos &&
        EqualsIgnoreCase(Trim(line.substr(0, colon)), "content-type")) {
      has_content_type = true;
    }
  }
  bool listed =
      (!post || has_content_type || Append(&header_list, "Content-Type: application/json")) &&
      Append(&header_list, "Expect:");  // no 100-continue round trip before large bodies
  for (const std::string& header : headers) listed = listed && Append(&header_list, header);
  if (!listed) return ResourceExhaustedError("HTTP client: out of memory building headers");

  HttpReply reply;
  Exchange exchange{&reply};
  char error_text[CURL_ERROR_SIZE] = {};
  // LONG_MAX milliseconds is beyond any sensible timeout; clamping keeps the cast defined.
  double timeout_ms = std::min(timeout_s * 1000, 1e15);
  double connect_ms = std::min(timeout_s, kMaxConnectTimeoutS) * 1000;
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts in a threaded program
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  // A redirected POST stays a POST with its body (libcurl turns it into a GET after 301-303).
  curl_easy_setopt(curl, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, std::max(1L, static_cast<long>(timeout_ms)));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, static_cast<long>(connect_ms)));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
  // A server on this machine is reached directly even where the environment names a proxy (the
  // option replaces no_proxy, so that list is kept in it).
  const char* env = std::getenv("no_proxy");
  if (env == nullptr) env = std::getenv("NO_PROXY");
  const std::string no_proxy =
      StrCat(env != nullptr && *env != '\0' ? StrCat(env, ",") : "", "localhost,127.0.0.1,::1");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, no_proxy.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  if (post) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }

  CURLcode code = curl_easy_perform(curl);
  // POSTFIELDS points into `body` and ERRORBUFFER into this frame: neither may outlive the call.
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (exchange.too_large) {
    return DataLossError(method, " ", url, ": reply larger than ", kMaxReplyBytes >> 20, " MiB");
  }
  if (code != CURLE_OK) {
    std::string detail = error_text[0] != '\0' ? StrCat(" (", Trim(error_text), ")") : "";
    return UnavailableError(method, " ", url, ": ", curl_easy_strerror(code), detail);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace sigma::harness
