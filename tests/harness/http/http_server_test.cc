// HttpServer over real loopback sockets: round trips through HttpClient, requests in flight
// together answered as a batch, connections kept for further requests (pipelined ones in order)
// or closed as the client asks, and raw bytes for what a well-behaved client never sends
// (malformed heads, oversized heads and bodies, chunked bodies, stalls, disconnects, answers left
// unread): each gets its answer, holds up no other client, and the server goes on serving.
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
#include <random>
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
  EXPECT_THAT(raw, HasSubstr("\r\nConnection: keep-alive\r\nKeep-Alive: timeout=15\r\n"));
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
  std::string reply = client.ReadResponse();
  ASSERT_THAT(reply, StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Body(reply.substr(interim.size())), "POST /c hello");
}

// A client that stops mid-request (or connects and sends nothing) holds up no other, and is
// dropped after the read timeout.
TEST(HttpServerTest, StalledClientIsDroppedAndOthersServedMeanwhile) {
  HttpServerLimits limits;
  limits.read_timeout_ms = 1000;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient stalled(server->port());
  RawClient silent(server->port());
  ASSERT_TRUE(stalled.Send("GET / HTTP/1.1\r\nHost: "));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = Clock::now();
  ExpectServing(server->port());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  bool eof = false;
  std::string dropped = stalled.Read("", 3000, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(dropped, "");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(800));
  EXPECT_TRUE(silent.ClosedByServer());
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

// A client that does not read its (large) answer holds up no other, and is dropped once its
// socket has taken nothing for the read timeout.
TEST(HttpServerTest, AClientNotReadingItsAnswerHoldsUpNoOther) {
  HttpServerLimits limits;
  limits.read_timeout_ms = 1000;
  constexpr size_t kBig = 64 << 20;  // past what the socket buffers hold
  auto server = RunningServer::Start(
      [&](const HttpRequest& request) {
        if (request.path != "/big") return Echo(request);
        return HttpResponse{200, "text/plain", std::string(kBig, 'z')};
      },
      limits);
  ASSERT_NE(server, nullptr);
  RawClient lazy(server->port());
  ASSERT_TRUE(lazy.Send("GET /big HTTP/1.1\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto start = Clock::now();
  ExpectServing(server->port());
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  bool eof = false;
  std::string got = lazy.Read("", 10'000, &eof);
  EXPECT_TRUE(eof);
  EXPECT_LT(got.size(), kBig);
}

// Clients with requests in flight together: ServeBatches hands the handler the requests that
// are waiting, or arrive within the gathering window, as one batch, and each client gets its own
// answer.
TEST(HttpServerTest, RequestsArrivingTogetherAreAnsweredAsABatch) {
  std::atomic<size_t> largest{0};
  std::atomic<bool> miscount{false};
  auto server = RunningServer::StartBatches(
      [&](std::span<const HttpRequest> requests) {
        largest = std::max(largest.load(), requests.size());
        // As a model would: the requests that arrive meanwhile wait for the next batch.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::vector<HttpResponse> answers;
        for (const HttpRequest& r : requests) answers.push_back(Echo(r));
        if (miscount) answers.pop_back();  // a handler that loses an answer
        return answers;
      },
      /*max_batch=*/4, /*gather_ms=*/200);
  ASSERT_NE(server, nullptr);
  const std::string url = server->Url("/b");
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
}

// The gathering window waits only while another connection is open that may send a request.
TEST(HttpServerTest, ALoneClientIsAnsweredWithoutTheGatheringWait) {
  auto server = RunningServer::StartBatches(
      [](std::span<const HttpRequest> requests) {
        std::vector<HttpResponse> answers;
        for (const HttpRequest& r : requests) answers.push_back(Echo(r));
        return answers;
      },
      /*max_batch=*/4, /*gather_ms=*/1000);
  ASSERT_NE(server, nullptr);
  {
    RawClient client(server->port());
    auto start = Clock::now();
    ASSERT_TRUE(client.Send("GET /alone HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(Body(client.ReadResponse()), "GET /alone ");
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
    RawClient other(server->port());  // might send a request: the next one waits for it
    ASSERT_TRUE(other.Send("GET /x HTTP/1.1\r\nX-Partial: "));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    start = Clock::now();
    ASSERT_TRUE(client.Send("GET /waits HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(Body(client.ReadResponse(3000)), "GET /waits ");
    EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(800));
  }
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
  bool complete = false;
  reply = client.ReadResponse(3000, &complete);
  EXPECT_TRUE(complete);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
  EXPECT_THAT(reply, HasSubstr("Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n"));
  EXPECT_THAT(reply, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(reply, HasSubstr("\r\n\r\n9\r\ndata: 1\n\n\r\n9\r\ndata: 2\n\n\r\n0\r\n\r\n"));
  EXPECT_EQ(Body(reply), "data: 1\n\ndata: 2\n\n");
  // The chunks ended the body, so the connection takes the next request.
  ASSERT_TRUE(client.Send("GET /after HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Body(client.ReadResponse()), "GET /after ");
}

// An HTTP/1.0 client knows no chunks: its stream ends where the connection does.
TEST(HttpServerTest, AStreamToAnHttp10ClientEndsWithTheConnection) {
  auto server = RunningServer::Start([&](const HttpRequest& request) {
    EXPECT_TRUE(request.stream->Start(200, "text/event-stream"));
    EXPECT_TRUE(request.stream->Write("data: 1\n\n"));
    EXPECT_TRUE(request.stream->Write("data: 2\n\n"));
    return HttpResponse{};
  });
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET /events HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  bool eof = false;
  std::string reply = client.Read("", 3000, &eof);
  EXPECT_TRUE(eof);
  EXPECT_THAT(reply, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(reply, Not(HasSubstr("chunked")));
  EXPECT_EQ(Body(reply), "data: 1\n\ndata: 2\n\n");
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

// Clients misbehaving together while others keep being served: requests over kept connections,
// pipelined ones, requests cut off by a close or a reset, answers never read, connections that
// send nothing. Every well-formed request gets its own answer, and the server serves on after.
TEST(HttpServerTest, WellBehavedClientsAreServedAmongMisbehavingOnes) {
  HttpServerLimits limits;
  limits.read_timeout_ms = 2000;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::atomic<int> answered{0};
  const auto client = [&](int id) {
    std::mt19937 rng(static_cast<uint32_t>(id));
    for (int round = 0; round < 40; ++round) {
      const std::string path = "/c" + std::to_string(id) + "r" + std::to_string(round);
      RawClient c(port);
      ASSERT_TRUE(c.connected());
      switch (rng() % 6) {
        case 0:  // two requests on one connection
          for (int k = 0; k < 2; ++k) {
            ASSERT_TRUE(c.Send("POST " + path + " HTTP/1.1\r\nContent-Length: 1\r\n\r\n" +
                               std::to_string(k)));
            EXPECT_EQ(Body(c.ReadResponse(5000)), "POST " + path + " " + std::to_string(k));
            ++answered;
          }
          break;
        case 1:  // three pipelined
          ASSERT_TRUE(c.Send("GET " + path + "a HTTP/1.1\r\n\r\nGET " + path +
                             "b HTTP/1.1\r\n\r\nGET " + path + "c HTTP/1.1\r\n\r\n"));
          for (const char* suffix : {"a", "b", "c"}) {
            EXPECT_EQ(Body(c.ReadResponse(5000)), "GET " + path + suffix + " ");
            ++answered;
          }
          break;
        case 2:  // cut off by a close mid-body
          c.Send("POST " + path + " HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc");
          break;
        case 3:  // reset mid-head
          c.Send("GET " + path + " HTTP/1.1\r\nX-A");
          c.Reset();
          break;
        case 4:  // a request whose answer is never read
          c.Send("GET " + path + " HTTP/1.1\r\n\r\n");
          break;
        default:  // nothing at all
          break;
      }
    }
  };
  std::vector<std::thread> clients;
  for (int id = 0; id < 6; ++id) clients.emplace_back(client, id);
  for (std::thread& t : clients) t.join();
  EXPECT_GT(answered.load(), 0);
  ExpectServing(port);
}

// Keep-alive (RFC 9112 section 9.3): an HTTP/1.1 connection serves request after request,
// pipelined ones in order, until the client asks to close, or stays idle for the keep-alive time.
TEST(HttpServerTest, AConnectionServesRequestAfterRequest) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send("POST /n HTTP/1.1\r\nContent-Length: 1\r\n\r\n" + std::to_string(i)));
    bool complete = false;
    std::string reply = client.ReadResponse(3000, &complete);
    EXPECT_TRUE(complete) << reply;
    EXPECT_THAT(reply, HasSubstr("\r\nConnection: keep-alive\r\n"));
    EXPECT_EQ(Body(reply), "POST /n " + std::to_string(i));
  }
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(
      client.Send("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                  "GET /3 HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(Body(client.ReadResponse()), "GET /1 ");
  EXPECT_EQ(Body(client.ReadResponse()), "POST /2 abc");
  std::string last = client.ReadResponse();
  EXPECT_EQ(Body(last), "GET /3 ");
  EXPECT_THAT(last, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST(HttpServerTest, TheClientDecidesWhetherItsConnectionStays) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  const struct {
    const char* request;
    bool stays;
  } cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.request);
    RawClient client(server->port());
    ASSERT_TRUE(client.Send(c.request));
    std::string reply = client.ReadResponse();
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(
        reply, HasSubstr(c.stays ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n"));
    if (!c.stays) {
      EXPECT_TRUE(client.ClosedByServer());
      continue;
    }
    ASSERT_TRUE(client.Send(c.request));
    EXPECT_THAT(client.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));
  }
}

TEST(HttpServerTest, AnIdleConnectionClosesAfterTheKeepAliveTime) {
  HttpServerLimits limits;
  limits.keep_alive_ms = 300;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(client.ReadResponse(), HasSubstr("\r\nKeep-Alive: timeout=1\r\n"));
  auto start = Clock::now();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(250));
}

TEST(HttpServerTest, KeepAliveZeroClosesAfterEveryAnswer) {
  HttpServerLimits limits;
  limits.keep_alive_ms = 0;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(client.ReadResponse(), HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST(HttpServerTest, AnErrorAnswerClosesItsConnection) {
  auto server = RunningServer::Start(Echo);
  ASSERT_NE(server, nullptr);
  RawClient client(server->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost localhost\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
  std::string reply = client.ReadResponse();
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(reply, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_TRUE(client.ClosedByServer());
}

TEST(HttpServerTest, PastTheConnectionLimitTheLongestIdleOneMakesRoom) {
  HttpServerLimits limits;
  limits.max_connections = 2;
  auto server = RunningServer::Start(Echo, limits);
  ASSERT_NE(server, nullptr);
  RawClient first(server->port());
  ASSERT_TRUE(first.Send("GET /first HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Body(first.ReadResponse()), "GET /first ");
  RawClient second(server->port());
  ASSERT_TRUE(second.Send("GET /second HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Body(second.ReadResponse()), "GET /second ");
  ExpectServing(server->port());  // a third connection
  EXPECT_TRUE(first.ClosedByServer());
  ASSERT_TRUE(second.Send("GET /again HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Body(second.ReadResponse()), "GET /again ");
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

}  // namespace
}  // namespace sigma::harness
