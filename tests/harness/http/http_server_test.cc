// HttpServer over real loopback sockets: round trips through HttpClient, requests in flight
// together answered as a batch, and raw bytes for what a well-behaved client never sends (malformed
// heads, oversized heads and bodies, chunked bodies, stalls and disconnects): each gets its answer
// and the server goes on serving.
#include "harness/http/http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness/http/http_client.h"
#include "tests/harness/http/raw_client.h"
#include "tests/harness/http/running_server.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;
using testing::HasSubstr;
using testing::Not;
using testing::StartsWith;

using testing_util::Body;
using testing_util::Exchange;
using testing_util::RawClient;
using testing_util::RunningServer;

// "METHOD path body": what the handler saw, for the client to check.
HttpResponse Echo(const HttpRequest& request) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = request.method + " " + request.path + " " + request.body;
  return response;
}

// The server still answers a plain request after whatever the test did to it.
void ExpectServing(int port) {
  std::string reply = Exchange(port, "GET /still/here HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(reply), "GET /still/here ");
}

TEST(HttpServerTest, GetAndPostRoundTripThroughTheClient) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  auto client = HttpClient::Create();
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  auto get = (*client)->Send("GET", server->Url("/v1/models"), "", {}, 5);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /v1/models ");
  EXPECT_EQ(get->retry_after_s, -1);

  auto post = (*client)->Send("POST", server->Url("/v1/completions"), "{\"prompt\":\"hi\"}", {}, 5);
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "POST /v1/completions {\"prompt\":\"hi\"}");
}

TEST(HttpServerTest, ContentTypeAndHeadersReachTheOtherSide) {
  auto server = RunningServer::Start([](const HttpRequest& request) {
    HttpResponse response;
    response.content_type = "application/x-test";
    auto header = [&](const std::string& name) {
      auto it = request.headers.find(name);
      return it == request.headers.end() ? std::string("(none)") : it->second;
    };
    response.body = header("content-type") + "|" + header("authorization") + "|" + header("expect");
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = HttpClient::Create();
  ASSERT_TRUE(client.ok());
  auto reply = (*client)->Send("POST", server->Url("/"), "{}", {"Authorization: Bearer k"}, 5);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "application/json|Bearer k|(none)");

  std::string raw = Exchange(server->port(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("\r\nContent-Type: application/x-test\r\n"));
  EXPECT_THAT(raw, HasSubstr("\r\nConnection: close\r\n"));
}

TEST(HttpServerTest, LargePostBodyArrivesIntact) {
  std::string body(3 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i * 7919) % 26);
  auto server = RunningServer::Start([](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.body;
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto client = HttpClient::Create();
  ASSERT_TRUE(client.ok());
  auto reply = (*client)->Send("POST", server->Url("/big"), body, {}, 10);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(reply->body == body) << "body of " << reply->body.size() << " bytes differs";
}

TEST(HttpServerTest, QueryStringIsStrippedFromThePath) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  auto client = HttpClient::Create();
  ASSERT_TRUE(client.ok());
  auto reply = (*client)->Send("GET", server->Url("/v1/models?limit=3&x=y"), "", {}, 5);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "GET /v1/models ");
}

TEST(HttpServerTest, ThrowingHandlerAnswers500AndTheServerGoesOn) {
  auto server = RunningServer::Start([](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/throw-int") throw 42;
    return Echo(request);
  });
  ASSERT_NE(server, nullptr);
  auto client = HttpClient::Create();
  ASSERT_TRUE(client.ok());
  auto thrown = (*client)->Send("GET", server->Url("/throw"), "", {}, 5);
  ASSERT_TRUE(thrown.ok()) << thrown.status().ToString();
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(thrown->body, R"({"error":{"message":"internal error: boom","type":"server_error"}})");
  auto thrown_int = (*client)->Send("GET", server->Url("/throw-int"), "", {}, 5);
  ASSERT_TRUE(thrown_int.ok()) << thrown_int.status().ToString();
  EXPECT_EQ(thrown_int->status, 500);
  auto next = (*client)->Send("GET", server->Url("/ok"), "", {}, 5);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "GET /ok ");
}

TEST(HttpServerTest, StopEndsServeWithinASecond) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  ExpectServing(server->port());
  auto start = Clock::now();
  Status status = server->Stop();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

TEST(HttpServerTest, StopEndsServeEvenWithAStalledClientConnected) {
  auto server = RunningServer::Start(Echo);  // the default 30 s read timeout
  ASSERT_NE(server, nullptr);
  RawClient stalled(server->port());
  ASSERT_TRUE(stalled.Send("GET / HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the server is now reading it
  auto start = Clock::now();
  EXPECT_TRUE(server->Stop().ok());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

TEST(HttpServerTest, ErrorAnswersAreJson) {
  HttpResponse response = HttpErrorResponse(404, "no \"such\" model");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"error":{"message":"no \"such\" model","type":"invalid_request_error"}})");
}

TEST(HttpServerTest, GarbageRequestLineIs400) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(server->port(), "HELLO THERE\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Body(reply), HasSubstr("malformed request line"));
  EXPECT_THAT(reply, HasSubstr("Content-Type: application/json"));
  ExpectServing(server->port());
}

TEST(HttpServerTest, HeaderWithoutColonIs400) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(server->port(), "GET / HTTP/1.1\r\nHost localhost\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Body(reply), HasSubstr("without a colon"));
}

TEST(HttpServerTest, UnsupportedVersionIs505) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(server->port(), "GET / HTTP/2.0\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 505 HTTP Version Not Supported\r\n"));
}

TEST(HttpServerTest, OversizedHeadIs431) {
  HttpServerLimits limits;
  limits.max_head_bytes = 256;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  std::string reply =
      Exchange(server->port(), "GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  // Still under the limit: served.
  std::string small =
      Exchange(server->port(), "GET /s HTTP/1.1\r\nX-Small: " + std::string(100, 'x') + "\r\n\r\n");
  EXPECT_THAT(small, StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(HttpServerTest, OversizedBodyIs413) {
  HttpServerLimits limits;
  limits.max_body_bytes = 1000;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(
      server->port(), "POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n" + std::string(1001, 'b'));
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 413 Content Too Large\r\n"));
  std::string fits = Exchange(
      server->port(), "POST /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'b'));
  EXPECT_THAT(fits, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(fits), "POST /x " + std::string(1000, 'b'));
}

TEST(HttpServerTest, PostWithoutContentLengthIs411) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(server->port(), "POST /x HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 411 Length Required\r\n"));
}

TEST(HttpServerTest, MalformedContentLengthIs400) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Exchange(server->port(), "POST /x HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n"),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Exchange(server->port(),
                       "POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(Exchange(server->port(),
                       "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST(HttpServerTest, ChunkedBodyIs501) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  std::string reply = Exchange(
      server->port(), "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 501 Not Implemented\r\n"));
  EXPECT_THAT(Body(reply), HasSubstr("send Content-Length"));
  ExpectServing(server->port());
}

TEST(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("POST /c HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = client.Read("\r\n\r\n", 2000);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.Send("hello"));
  bool eof = false;
  std::string reply = client.Read("", 2000, &eof);
  EXPECT_TRUE(eof);
  ASSERT_THAT(reply, StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(reply.substr(interim.size())), "POST /c hello");
}

TEST(HttpServerTest, StalledClientIsDroppedAndTheNextOneServed) {
  HttpServerLimits limits;
  limits.read_timeout_ms = 200;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient stalled(server->port());
  ASSERT_TRUE(stalled.Send("GET / HTTP/1.1\r\nHost: "));
  auto start = Clock::now();
  ExpectServing(server->port());  // waits behind the stalled one
  bool eof = false;
  std::string dropped = stalled.Read("", 2000, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(dropped, "");
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST(HttpServerTest, StalledBodyIsDroppedToo) {
  HttpServerLimits limits;
  limits.read_timeout_ms = 200;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient stalled(server->port());
  ASSERT_TRUE(stalled.Send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  bool eof = false;
  auto start = Clock::now();
  EXPECT_EQ(stalled.Read("", 2000, &eof), "");
  EXPECT_TRUE(eof);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(150));
  ExpectServing(server->port());
}

TEST(HttpServerTest, ClientDisconnectingMidRequestDoesNotStopTheServer) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"));
  }  // FIN mid-body
  ExpectServing(server->port());
  {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send("POST /x HTTP/1.1\r\nContent-Le"));
    client.Reset();  // RST mid-head
  }
  ExpectServing(server->port());
}

TEST(HttpServerTest, ClientGoneBeforeTheReplyDoesNotStopTheServer) {
  std::atomic<int> calls{0};
  std::atomic<bool> entered{false};
  auto server = RunningServer::Start([&](const HttpRequest& request) {
    ++calls;
    if (request.path == "/slow") {
      entered = true;
      // Let the reset arrive before the (large) reply is written into a dead socket.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    HttpResponse response;
    response.body = std::string(request.path == "/slow" ? 4 << 20 : 2, 'r');
    return response;
  });
  ASSERT_NE(server, nullptr);
  {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\n\r\n"));
    for (int i = 0; i < 300 && !entered; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(entered);
    client.Reset();
  }
  std::string reply = Exchange(server->port(), "GET /fast HTTP/1.1\r\n\r\n");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(calls.load(), 2);
}

// Clients with requests in flight together: ServeBatches hands the handler the requests that
// arrive within the gathering window as one batch, and each client gets its own answer.
TEST(HttpServerTest, RequestsArrivingTogetherAreAnsweredAsABatch) {
  auto listening = HttpServer::Listen("127.0.0.1", 0, {});
  ASSERT_TRUE(listening.ok()) << listening.status().ToString();
  std::unique_ptr<HttpServer> server = std::move(*listening);
  std::atomic<bool> stop{false};
  std::atomic<size_t> largest{0};
  std::atomic<bool> miscount{false};
  std::thread serving([&] {
    const Status s = server->ServeBatches(
        [&](std::span<const HttpRequest> requests) {
          largest = std::max(largest.load(), requests.size());
          std::vector<HttpResponse> answers;
          for (const HttpRequest& r : requests) answers.push_back(Echo(r));
          if (miscount) answers.pop_back();  // a handler that loses an answer
          return answers;
        },
        /*max_batch=*/4, /*gather_ms=*/200, stop);
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/b";
  // Four clients at once, twice: each gets its own body back, and batches formed.
  const auto round = [&](std::vector<std::string>* replies, std::vector<long>* statuses) {
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) {
      clients.emplace_back([&, i] {
        auto client = HttpClient::Create();
        ASSERT_TRUE(client.ok());
        auto reply = (*client)->Send("POST", url, "client " + std::to_string(i), {}, 10);
        ASSERT_TRUE(reply.ok()) << reply.status().ToString();
        (*replies)[static_cast<size_t>(i)] = reply->body;
        (*statuses)[static_cast<size_t>(i)] = reply->status;
      });
    }
    for (std::thread& t : clients) t.join();
  };
  std::vector<std::string> replies(4);
  std::vector<long> statuses(4);
  round(&replies, &statuses);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(statuses[static_cast<size_t>(i)], 200);
    EXPECT_EQ(replies[static_cast<size_t>(i)], "POST /b client " + std::to_string(i));
  }
  EXPECT_GE(largest.load(), 2u);
  EXPECT_LE(largest.load(), 4u);
  miscount = true;
  round(&replies, &statuses);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(statuses[static_cast<size_t>(i)], 500);
    EXPECT_THAT(replies[static_cast<size_t>(i)], HasSubstr("answers to"));
  }
  stop = true;
  serving.join();
}

// A streamed answer: the head at Start (no length, the connection's end ends the body), each
// piece as it is written (the client sees the first before the handler writes the second), and the
// response the handler returns afterwards is not sent.
TEST(HttpServerTest, AStreamedAnswerArrivesPieceByPiece) {
  std::atomic<bool> first_seen{false};
  auto server = RunningServer::Start([&](const HttpRequest& request) {
    if (request.path != "/events") return Echo(request);
    EXPECT_NE(request.stream, nullptr);
    EXPECT_FALSE(request.stream->started());
    EXPECT_TRUE(request.stream->Start(200, "text/event-stream"));
    EXPECT_TRUE(request.stream->started());
    EXPECT_TRUE(request.stream->Write("data: 1\n\n"));
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (!first_seen && Clock::now() < deadline) std::this_thread::yield();
    EXPECT_TRUE(first_seen);
    EXPECT_TRUE(request.stream->Write("data: 2\n\n"));
    return HttpResponse{200, "text/plain", "not sent"};
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string reply = client.Read("data: 1\n\n");
  EXPECT_EQ(reply.find("data: 2"), std::string::npos);
  first_seen = true;
  bool eof = false;
  reply = client.Read("", 3000, &eof);
  EXPECT_TRUE(eof);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
  EXPECT_THAT(reply, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(reply, Not(HasSubstr("Content-Length")));
  EXPECT_EQ(Body(reply), "data: 1\n\ndata: 2\n\n");
  ExpectServing(server->port());
}

// A client that goes away mid-stream: the handler's writes report it, and the server goes on.
TEST(HttpServerTest, AStreamWhoseClientLeftSaysSo) {
  std::atomic<bool> client_gone{false};
  std::atomic<int> failed_after{-1};
  auto server = RunningServer::Start([&](const HttpRequest& request) {
    if (request.path != "/events") return Echo(request);
    EXPECT_TRUE(request.stream->Start(200, "text/event-stream"));
    EXPECT_TRUE(request.stream->Write("data: first\n\n"));
    const auto deadline = Clock::now() + std::chrono::seconds(3);
    while (!client_gone && Clock::now() < deadline) std::this_thread::yield();
    const std::string piece(4096, 'x');
    for (int i = 0; i < 10'000; ++i) {
      if (!request.stream->Write(piece)) {
        failed_after = i;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return HttpResponse{};
  });
  ASSERT_NE(server, nullptr);
  {
    RawClient client(server->port());
    ASSERT_TRUE(client.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_THAT(client.Read("data: first\n\n"), HasSubstr("data: first"));
    client.Reset();
  }
  client_gone = true;
  ExpectServing(server->port());
  EXPECT_GE(failed_after.load(), 0) << "every write after the client left went through";
}

TEST(HttpServerTest, ListenOnAPortInUseIsUnavailableNamingThePort) {
  auto first = HttpServer::Listen("127.0.0.1", 0, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  int port = (*first)->port();
  auto second = HttpServer::Listen("127.0.0.1", port, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("127.0.0.1:" + std::to_string(port)));
}

TEST(HttpServerTest, ListenOnANonIpv4HostIsInvalidArgument) {
  auto server = HttpServer::Listen("not-an-ip", 0, {});
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("not-an-ip"));
  EXPECT_EQ(HttpServer::Listen("::1", 0, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Listen("127.0.0.1", 70000, {}).status().code(),
            StatusCode::kInvalidArgument);
  auto localhost = HttpServer::Listen("localhost", 0, {});
  EXPECT_TRUE(localhost.ok()) << localhost.status().ToString();
}

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

  ASSERT_TRUE(ParseHttpRequestHead("GET / HTTP/1.0", &request).ok());
  EXPECT_EQ(request.path, "/");
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

}  // namespace
}  // namespace sigma::harness
