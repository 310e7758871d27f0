// An HttpServer on 127.0.0.1 serving on a thread of its own for a test (Serve, or ServeBatches),
// until the object goes.
#ifndef SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_
#define SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
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
    return Listen(
        limits, [handler = std::move(handler)](HttpServer& server, const std::atomic<bool>& stop) {
          return server.Serve(handler, stop);
        });
  }
  static std::unique_ptr<RunningServer> StartBatches(HttpBatchHandler handler, size_t max_batch,
                                                     int gather_ms) {
    return Listen(
        {}, [=, handler = std::move(handler)](HttpServer& server, const std::atomic<bool>& stop) {
          return server.ServeBatches(handler, max_batch, gather_ms, stop);
        });
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
  using Loop = std::function<Status(HttpServer&, const std::atomic<bool>&)>;
  static std::unique_ptr<RunningServer> Listen(const HttpServerLimits& limits, Loop loop) {
    auto server = HttpServer::Listen("127.0.0.1", 0, limits);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().ToString();
      return nullptr;
    }
    return std::unique_ptr<RunningServer>(new RunningServer(std::move(*server), std::move(loop)));
  }
  RunningServer(std::unique_ptr<HttpServer> server, Loop loop)
      : server_(std::move(server)), loop_(std::move(loop)) {
    thread_ = std::thread([this] { status_ = loop_(*server_, stop_); });
  }
  std::unique_ptr<HttpServer> server_;
  Loop loop_;
  std::atomic<bool> stop_{false};
  Status status_;
  std::thread thread_;
};

}  // namespace sigma::harness::testing_util

#endif  // SIGMA_TESTS_HARNESS_HTTP_RUNNING_SERVER_H_
