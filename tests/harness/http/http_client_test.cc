// HttpClient against loopback servers: any status is a reply, transport failures are UNAVAILABLE
// naming the URL, the timeout holds, Retry-After is read, redirects are followed.
#include "harness/http/http_client.h"

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
#include <string>
#include <thread>
#include <vector>

#include "harness/http/http_server.h"
#include "tests/harness/http/running_server.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;
using testing::AnyOf;
using testing::HasSubstr;

using testing_util::RunningServer;

// A server that answers successive connections with fixed bytes, for the headers HttpResponse
// cannot set. Each request's head is read first, so the answer never races a reset.
class CannedServer {
 public:
  explicit CannedServer(std::vector<std::string> replies) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    socklen_t size = sizeof(address);
    SIGMA_CHECK(bind(fd_, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
                listen(fd_, 8) == 0 &&
                getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this, replies = std::move(replies)] {
      for (const std::string& reply : replies) {
        if (!WaitReadable(fd_)) return;
        int connection = accept(fd_, nullptr, nullptr);
        if (connection < 0) return;
        std::string head;
        char chunk[4096];
        while (head.find("\r\n\r\n") == std::string::npos && WaitReadable(connection)) {
          ssize_t n = recv(connection, chunk, sizeof(chunk), 0);
          if (n <= 0) break;
          head.append(chunk, static_cast<size_t>(n));
        }
        send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
        shutdown(connection, SHUT_WR);
        close(connection);
      }
    });
  }
  ~CannedServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port_) + target;
  }

 private:
  bool WaitReadable(int fd) {
    for (int i = 0; i < 100 && !stop_; ++i) {
      pollfd pfd{fd, POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0) return true;
    }
    return false;
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Canned(std::string_view status_line, std::string_view headers, std::string_view body) {
  return std::string(status_line) + "\r\n" + std::string(headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string(body);
}

std::unique_ptr<HttpClient> NewClient() {
  auto client = HttpClient::Create();
  SIGMA_CHECK(client.ok(), client.status().ToString());
  return std::move(*client);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableNamingTheUrl) {
  int port = 0;
  {
    auto server = HttpServer::Listen("127.0.0.1", 0, {});
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }  // closed: nothing listens there now
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/v1/completions";
  auto reply = NewClient()->Send("POST", url, "{}", {}, 5);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("POST " + url + ": "));
  EXPECT_THAT(reply.status().message(), HasSubstr("Couldn't connect"));
}

TEST(HttpClientTest, SlowServerTimesOutAsUnavailable) {
  std::atomic<bool> release{false};
  auto server = RunningServer::Start([&](const HttpRequest&) {
    for (int i = 0; i < 200 && !release; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return HttpResponse{};
  });
  ASSERT_NE(server, nullptr);
  auto start = Clock::now();
  auto reply = NewClient()->Send("GET", server->Url("/slow"), "", {}, 0.3);
  auto elapsed = Clock::now() - start;
  release = true;
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr(server->Url("/slow")));
  EXPECT_THAT(reply.status().message(), AnyOf(HasSubstr("Timeout"), HasSubstr("timed out")));
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
}

TEST(HttpClientTest, ErrorStatusesAreRepliesNotErrors) {
  auto server = RunningServer::Start([](const HttpRequest& request) {
    if (request.path == "/missing") return HttpErrorResponse(404, "no such model");
    if (request.path == "/busy") return HttpErrorResponse(503, "busy", "server_error");
    return HttpErrorResponse(500, "broken", "server_error");
  });
  ASSERT_NE(server, nullptr);
  auto client = NewClient();
  for (auto [path, status] : {std::pair{"/missing", 404}, {"/busy", 503}, {"/other", 500}}) {
    auto reply = client->Send("POST", server->Url(path), "{}", {}, 5);
    ASSERT_TRUE(reply.ok()) << path << ": " << reply.status().ToString();
    EXPECT_EQ(reply->status, status) << path;
    EXPECT_THAT(reply->body, HasSubstr("{\"error\":{\"message\":")) << path;
    EXPECT_EQ(reply->retry_after_s, -1) << path;
  }
}

TEST(HttpClientTest, RetryAfterSecondsAreRead) {
  CannedServer server({
      Canned("HTTP/1.1 429 Too Many Requests", "Retry-After: 3\r\n", "{}"),
      Canned("HTTP/1.1 503 Service Unavailable", "retry-after:  1.5 \r\n", "{}"),
      Canned("HTTP/1.1 429 Too Many Requests", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
             "{}"),
      Canned("HTTP/1.1 200 OK", "", "ok"),
  });
  auto client = NewClient();
  auto seconds = client->Send("GET", server.Url("/a"), "", {}, 5);
  ASSERT_TRUE(seconds.ok()) << seconds.status().ToString();
  EXPECT_EQ(seconds->status, 429);
  EXPECT_EQ(seconds->body, "{}");
  EXPECT_EQ(seconds->retry_after_s, 3);
  auto decimal = client->Send("GET", server.Url("/b"), "", {}, 5);
  ASSERT_TRUE(decimal.ok()) << decimal.status().ToString();
  EXPECT_EQ(decimal->status, 503);
  EXPECT_EQ(decimal->retry_after_s, 1.5);
  auto date = client->Send("GET", server.Url("/c"), "", {}, 5);
  ASSERT_TRUE(date.ok()) << date.status().ToString();
  EXPECT_EQ(date->retry_after_s, -1);  // the HTTP-date form is not read
  auto none = client->Send("GET", server.Url("/d"), "", {}, 5);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->status, 200);
  EXPECT_EQ(none->body, "ok");
  EXPECT_EQ(none->retry_after_s, -1);  // nothing left over from the previous replies
}

TEST(HttpClientTest, RedirectsAreFollowed) {
  auto target = RunningServer::Start([](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.method + " " + request.path;
    return response;
  });
  ASSERT_NE(target, nullptr);
  CannedServer redirect({Canned(
      "HTTP/1.1 302 Found", "Location: " + target->Url("/moved") + "\r\nRetry-After: 9\r\n", "")});
  auto reply = NewClient()->Send("GET", redirect.Url("/old"), "", {}, 5);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "GET /moved");
  EXPECT_EQ(reply->retry_after_s, -1);  // belonged to the redirect, not the answer
}

TEST(HttpClientTest, CallerContentTypeReplacesTheDefault) {
  auto server = RunningServer::Start([](const HttpRequest& request) {
    HttpResponse response;
    response.body = request.headers.at("content-type");
    return response;
  });
  ASSERT_NE(server, nullptr);
  auto reply = NewClient()->Send("POST", server->Url("/"), "x", {"content-type: text/plain"}, 5);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "text/plain");
}

// The client keeps its connection to `serve` between requests, and where the server closed it
// for idling past its keep-alive time, the next request goes out on a new one.
TEST(HttpClientTest, AKeptConnectionTheServerClosedIsReplacedUnseen) {
  HttpServerLimits limits;
  limits.keep_alive_ms = 200;
  auto server = RunningServer::Start(
      [](const HttpRequest& request) {
        return HttpResponse{200, "text/plain", request.path};
      },
      limits);
  ASSERT_NE(server, nullptr);
  std::unique_ptr<HttpClient> client = NewClient();
  for (const char* path : {"/a", "/b", "/after-idle"}) {
    if (std::string(path) == "/after-idle")
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto reply = client->Send("GET", server->Url(path), "", {}, 5);
    ASSERT_TRUE(reply.ok()) << path << ": " << reply.status().ToString();
    EXPECT_EQ(reply->body, path);
  }
}

TEST(HttpClientTest, ServersOnThisMachineAreReachedPastAProxy) {
  auto server = RunningServer::Start([](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_NE(server, nullptr);
  setenv("http_proxy", "http://127.0.0.1:1", 1);  // a proxy that is not there
  setenv("no_proxy", "example.invalid", 1);       // kept, with the loopback names added
  auto reply = NewClient()->Send("GET", server->Url("/"), "", {}, 5);
  unsetenv("http_proxy");
  unsetenv("no_proxy");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
}

TEST(HttpClientTest, BadArgumentsAreInvalidArgument) {
  auto client = NewClient();
  EXPECT_EQ(client->Send("PUT", "http://127.0.0.1:1/", "", {}, 5).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->Send("GET", "http://127.0.0.1:1/", "", {}, 0).status().code(),
            StatusCode::kInvalidArgument);
  auto malformed = client->Send("GET", "not a url", "", {}, 5);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(malformed.status().message(), HasSubstr("GET not a url: "));
}

}  // namespace
}  // namespace sigma::harness
