#include "harness/http/http_message.h"

#include <algorithm>
#include <cstdint>

#include "engine/base/json.h"

namespace sigma::harness {
namespace {

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

// Whether the comma-separated list `value` holds `token` (case-insensitive).
bool ListHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = TrimSpaces(value.substr(0, comma));
    if (ToLower(item) == token) return true;
    value = comma == std::string_view::npos ? "" : value.substr(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view HttpReasonPhrase(int status) {
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

std::string HttpExcerpt(std::string_view text) {
  constexpr size_t kMax = 80;
  return text.size() <= kMax ? std::string(text) : StrCat(text.substr(0, kMax), "...");
}

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
  request->version.clear();
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
    return InvalidArgumentError("malformed request line \"", HttpExcerpt(line),
                                "\": expected METHOD /path HTTP/1.1");
  }
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  std::string_view version = line.substr(second_space + 1);
  if (!IsToken(method)) {
    return InvalidArgumentError("malformed method \"", HttpExcerpt(method), "\"");
  }
  bool target_ok = !target.empty() && target.front() == '/' &&
                   std::none_of(target.begin(), target.end(), [](char c) {
                     return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
                   });
  if (!target_ok) {
    return InvalidArgumentError("malformed request target \"", HttpExcerpt(target),
                                "\": expected a path starting with '/'");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    // A well-formed version this server does not speak is 505; anything else is malformed.
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                       digit(version[5]) && version[6] == '.' && digit(version[7]);
    if (well_formed) return UnimplementedError("HTTP version ", version, " is not supported");
    return InvalidArgumentError("malformed HTTP version \"", HttpExcerpt(version), "\"");
  }
  request->method = std::string(method);
  request->path = std::string(target.substr(0, target.find('?')));
  request->version = std::string(version);

  while (!rest.empty()) {
    line_end = rest.find("\r\n");
    line = rest.substr(0, line_end);
    rest = line_end == std::string_view::npos ? "" : rest.substr(line_end + 2);
    if (line.empty()) return InvalidArgumentError("empty line inside the request head");
    if (line.front() == ' ' || line.front() == '\t') {
      return InvalidArgumentError("obsolete line folding in header line \"", HttpExcerpt(line),
                                  "\"");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError("header line without a colon: \"", HttpExcerpt(line), "\"");
    }
    std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) {
      return InvalidArgumentError("malformed header name \"", HttpExcerpt(name), "\"");
    }
    std::string_view value = TrimSpaces(line.substr(colon + 1));
    bool value_ok = std::none_of(value.begin(), value.end(), [](char c) {
      return (static_cast<unsigned char>(c) < ' ' && c != '\t') || c == 0x7f;
    });
    if (!value_ok) {
      return InvalidArgumentError("control character in header \"", HttpExcerpt(name), "\"");
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

bool WantsKeepAlive(const HttpRequest& request) {
  auto connection = request.headers.find("connection");
  std::string_view value;
  if (connection != request.headers.end()) value = connection->second;
  if (request.version == "HTTP/1.0") return ListHasToken(value, "keep-alive");
  return !ListHasToken(value, "close");
}

bool ExpectsContinue(const HttpRequest& request) {
  auto expect = request.headers.find("expect");
  return expect != request.headers.end() && ToLower(expect->second) == "100-continue";
}

}  // namespace sigma::harness
