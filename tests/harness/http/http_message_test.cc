// The HTTP message syntax HttpServer relies on: request heads parsed or refused with the reason,
// whether a client asks to keep its connection, Content-Length values.
#include "harness/http/http_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

namespace sigma::harness {
namespace {

using testing::HasSubstr;

TEST(ParseHttpRequestHeadTest, LowerCasesNamesTrimsValuesAndStripsTheQuery) {
  HttpRequest request;
  Status status = ParseHttpRequestHead(
      "POST /v1/chat/completions?stream=false HTTP/1.1\r\nHost:  localhost:8080 \r\n"
      "Content-Type:\tapplication/json\t\r\nX-Empty:\r\nAccept: a\r\nACCEPT: b",
      &request);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/v1/chat/completions");
  std::map<std::string, std::string> expected = {{"host", "localhost:8080"},
                                                 {"content-type", "application/json"},
                                                 {"x-empty", ""},
                                                 {"accept", "a, b"}};
  EXPECT_EQ(request.headers, expected);

  EXPECT_EQ(request.version, "HTTP/1.1");
  ASSERT_TRUE(ParseHttpRequestHead("GET / HTTP/1.0", &request).ok());
  EXPECT_EQ(request.path, "/");
  EXPECT_EQ(request.version, "HTTP/1.0");
  EXPECT_TRUE(request.headers.empty());  // the previous request's headers are gone
  // Repeats that are empty add no item (found by tests/fuzz/http_head_fuzz.cc).
  ASSERT_TRUE(
      ParseHttpRequestHead("GET / HTTP/1.1\r\nX: a\r\nX:\r\nY:\r\nY: b\r\nY:  ", &request).ok());
  EXPECT_EQ(request.headers["x"], "a");
  EXPECT_EQ(request.headers["y"], "b");
}

TEST(ParseHttpRequestHeadTest, RejectsMalformedHeads) {
  HttpRequest request;
  auto code = [&](std::string_view head) { return ParseHttpRequestHead(head, &request).code(); };
  EXPECT_EQ(code("GET / HTTP/1.1"), StatusCode::kOk);
  EXPECT_EQ(code("GET / HTTP/1.2"), StatusCode::kUnimplemented);  // well-formed, unsupported: 505
  EXPECT_EQ(code("GET / HTTPS/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / http/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET /"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET  / HTTP/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1 x"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("G(T / HTTP/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET v1/models HTTP/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET http://h/ HTTP/1.1"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(""), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nHost : x"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\n: x"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nX-Bad: a\x01z"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nA: 1\r\n\r\nB: 2"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3"), StatusCode::kOk);
  EXPECT_EQ(code("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4"),
            StatusCode::kInvalidArgument);
  Status folded = ParseHttpRequestHead("GET / HTTP/1.1\r\nX-Long: a\r\n  b", &request);
  EXPECT_EQ(folded.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(folded.message(), HasSubstr("folding"));
}

TEST(HttpErrorResponseTest, ErrorAnswersAreJson) {
  HttpResponse response = HttpErrorResponse(404, "no \"such\" model");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"error":{"message":"no \"such\" model","type":"invalid_request_error"}})");
}

// The Connection header is a comma-separated list of case-insensitive tokens.
TEST(WantsKeepAliveTest, Http11StaysUnlessToldToCloseAndHttp10OnlyWhenAsked) {
  auto wants = [](std::string_view head) {
    HttpRequest request;
    EXPECT_TRUE(ParseHttpRequestHead(head, &request).ok()) << head;
    return WantsKeepAlive(request);
  };
  EXPECT_TRUE(wants("GET / HTTP/1.1"));
  EXPECT_TRUE(wants("GET / HTTP/1.1\r\nConnection: keep-alive"));
  EXPECT_TRUE(wants("GET / HTTP/1.1\r\nConnection: closed"));
  EXPECT_FALSE(wants("GET / HTTP/1.1\r\nConnection: close"));
  EXPECT_FALSE(wants("GET / HTTP/1.1\r\nConnection: Upgrade ,\tClose "));
  EXPECT_FALSE(wants("GET / HTTP/1.1\r\nConnection: upgrade\r\nConnection: CLOSE"));
  EXPECT_FALSE(wants("GET / HTTP/1.0"));
  EXPECT_FALSE(wants("GET / HTTP/1.0\r\nConnection: close"));
  EXPECT_TRUE(wants("GET / HTTP/1.0\r\nConnection: Keep-Alive"));
  EXPECT_TRUE(wants("GET / HTTP/1.0\r\nConnection: te, keep-alive"));
}

TEST(ParseContentLengthTest, DigitsThatFitOnly) {
  size_t length = 7;
  EXPECT_TRUE(ParseContentLength("0", &length));
  EXPECT_EQ(length, 0u);
  EXPECT_TRUE(ParseContentLength("18446744073709551615", &length));
  EXPECT_EQ(length, SIZE_MAX);
  EXPECT_FALSE(ParseContentLength("18446744073709551616", &length));
  EXPECT_FALSE(ParseContentLength("", &length));
  EXPECT_FALSE(ParseContentLength("+1", &length));
  EXPECT_FALSE(ParseContentLength("1 ", &length));
  EXPECT_FALSE(ParseContentLength("0x10", &length));
}

TEST(HttpExcerptTest, LongTextIsCutShort) {
  EXPECT_EQ(HttpExcerpt("short"), "short");
  EXPECT_EQ(HttpExcerpt(std::string(100, 'a')), std::string(80, 'a') + "...");
}

}  // namespace
}  // namespace sigma::harness
