// A raw client socket for HTTP tests: bytes out, bytes in; where a response ends (by its length,
// its chunks, or the connection's end); and one exchange over it.
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
#include <cstdlib>
#include <string>
#include <string_view>

namespace sigma::harness::testing_util {

// Whether the response head `head` has the header line `line` ("Transfer-Encoding: chunked").
inline bool HasHeader(std::string_view head, std::string_view line) {
  return head.find(std::string("\r\n") + std::string(line) + "\r\n") != std::string_view::npos;
}

// Walks the chunks of a chunked body that starts at `at` in `data`, handing each chunk's bytes to
// `take`: where the body ends (past its last, empty chunk), or npos where not all of it is here.
template <typename Take>
size_t WalkChunks(std::string_view data, size_t at, Take take) {
  while (true) {
    const size_t line_end = data.find("\r\n", at);
    if (line_end == std::string_view::npos) return std::string_view::npos;
    const size_t n = std::strtoull(data.data() + at, nullptr, 16);
    const size_t next = line_end + 2 + n + 2;
    if (data.size() < next) return std::string_view::npos;
    if (n == 0) return next;
    take(data.substr(line_end + 2, n));
    at = next;
  }
}

// Where the first whole response in `data` ends, after any 1xx interim ones: npos until it is all
// there. A response with neither a length nor chunks ends with the connection (`eof`).
inline size_t ResponseEnd(std::string_view data, bool eof) {
  size_t at = 0;
  while (true) {
    const size_t head_end = data.find("\r\n\r\n", at);
    if (head_end == std::string_view::npos) return std::string_view::npos;
    const std::string_view head = data.substr(at, head_end + 2 - at);
    const size_t body = head_end + 4;
    if (head.substr(0, 10) == "HTTP/1.1 1") {
      at = body;
      continue;
    }
    const size_t length = head.find("\r\nContent-Length: ");
    if (length != std::string_view::npos) {
      const size_t n = std::strtoull(head.data() + length + 18, nullptr, 10);
      return data.size() >= body + n ? body + n : std::string_view::npos;
    }
    if (!HasHeader(head, "Transfer-Encoding: chunked")) {
      return eof ? data.size() : std::string_view::npos;
    }
    return WalkChunks(data, body, [](std::string_view) {});
  }
}

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
  // Reads until one whole response is here (or `timeout_ms` passes) and takes it: the next call
  // reads the next response. *complete says whether it was whole.
  std::string ReadResponse(int timeout_ms = 3000, bool* complete = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool eof = false;
    size_t end = ResponseEnd(received_, eof);
    while (end == std::string::npos && !eof && std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 10) <= 0) continue;
      char chunk[4096];
      ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) received_.append(chunk, static_cast<size_t>(n));
      eof = n <= 0;
      end = ResponseEnd(received_, eof);
    }
    if (complete != nullptr) *complete = end != std::string::npos;
    if (end == std::string::npos) end = received_.size();
    std::string response = received_.substr(0, end);
    received_.erase(0, end);
    return response;
  }
  // Whether the server closes the connection within `timeout_ms` (having sent nothing more).
  bool ClosedByServer(int timeout_ms = 3000) {
    bool eof = false;
    const size_t before = received_.size();
    Read("", timeout_ms, &eof);
    return eof && received_.size() == before;
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

// Sends `request` on a fresh connection and returns the server's whole response.
inline std::string Exchange(int port, std::string_view request) {
  RawClient client(port);
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send(request));
  bool complete = false;
  std::string reply = client.ReadResponse(3000, &complete);
  EXPECT_TRUE(complete) << "no whole response; got: " << reply;
  return reply;
}

// The body of a response, its chunks joined.
inline std::string Body(const std::string& reply) {
  size_t end = reply.find("\r\n\r\n");
  if (end == std::string::npos) return "";
  if (!HasHeader(std::string_view(reply).substr(0, end + 2), "Transfer-Encoding: chunked")) {
    return reply.substr(end + 4);
  }
  std::string body;
  WalkChunks(reply, end + 4, [&](std::string_view chunk) { body += chunk; });
  return body;
}

}  // namespace sigma::harness::testing_util

#endif  // SIGMA_TESTS_HARNESS_HTTP_RAW_CLIENT_H_
