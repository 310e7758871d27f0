// A raw client socket for HTTP tests: bytes out, bytes in, no HTTP knowledge; and one exchange
// over it.
#ifndef SIGMA_TESTS_HARNESS_HTTP_RAW_CLIENT_H_
#define SIGMA_TESTS_HARNESS_HTTP_RAW_CLIENT_H_

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>

namespace sigma::harness::testing_util {

// A raw client socket: bytes out, bytes in, no HTTP knowledge.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~RawClient() { Close(); }

  bool connected() const { return connected_; }
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `until` appears (empty: until EOF) or `timeout_ms` passes; *eof says which.
  std::string Read(std::string_view until = "", int timeout_ms = 3000, bool* eof = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (eof != nullptr) *eof = false;
    while (until.empty() || received_.find(until) == std::string::npos) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) break;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, left) <= 0) continue;
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (eof != nullptr) *eof = true;
        break;
      }
      received_.append(chunk, static_cast<size_t>(n));
    }
    return received_;
  }
  // A close with SO_LINGER 0 sends a reset instead of a FIN.
  void Reset() {
    linger option{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
    Close();
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

// Sends `request` on a fresh connection and returns everything the server answers until it closes.
inline std::string Exchange(int port, std::string_view request) {
  RawClient client(port);
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send(request));
  bool eof = false;
  std::string reply = client.Read("", 3000, &eof);
  EXPECT_TRUE(eof) << "the server did not close the connection; got: " << reply;
  return reply;
}

inline std::string Body(const std::string& reply) {
  size_t end = reply.find("\r\n\r\n");
  return end == std::string::npos ? "" : reply.substr(end + 4);
}

}  // namespace sigma::harness::testing_util

#endif  // SIGMA_TESTS_HARNESS_HTTP_RAW_CLIENT_H_
