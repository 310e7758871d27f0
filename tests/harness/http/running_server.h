// An HttpServer on 127.0.0.1 serving on a thread of its own for a test, until the object goes.
#ifndef SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_
#define SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "harness/http/http_server.h"

namespace sigma::harness::testing_util {

class RunningServer {
 public:
  // Null, with a test failure, where the server cannot listen.
  static std::unique_ptr<RunningServer> Start(HttpHandler handler,
                                              const HttpServerLimits& limits = {}) {
    auto server = HttpServer::Listen("127.0.0.1", 0, limits);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    return std::unique_ptr<RunningServer>(
        new RunningServer(std::move(*server), std::move(handler)));
  }
  ~RunningServer() { EXPECT_TRUE(Stop().ok()); }

  // Ends Serve and returns what it returned.
  Status Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  int port() const { return server_->port(); }
  std::string Url(const std::string& target) const {
    return "http://127.0.0.1:" + std::to_string(port()) + target;
  }

 private:
  RunningServer(std::unique_ptr<HttpServer> server, HttpHandler handler)
      : server_(std::move(server)), handler_(std::move(handler)) {
    thread_ = std::thread([this] { status_ = server_->Serve(handler_, stop_); });
  }
  std::unique_ptr<HttpServer> server_;
  HttpHandler handler_;
  std::atomic<bool> stop_{false};
  Status status_;
  std::thread thread_;
};

}  // namespace sigma::harness::testing_util

#endif  // SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_
