// HttpConnection: one client connection of HttpServer (harness/http/http_server.h): the bytes
// received and not yet taken as a request, the request being answered and its answer, and
// whether the connection stays open for the next one (keep-alive). The server's loop polls the
// socket and calls OnReadable / OnWritable; reading and sending an answer never wait, so a slow
// or silent client holds up no one. A streamed answer (HttpStream) is written while the handler
// makes it, waiting at most the read timeout for a client that does not read.
//
//   reading --(a whole request)--> queued --Finish--> writing --(all sent)--> reading (keep-alive;
//      |                                                 |        a pipelined request already
//      +--(malformed: an error answer)-------------------+        here is taken at once)
//                                                        +--(close)--> draining --> closed
// draining: shut for writing, reading what the client still sends until it closes or the linger
// ends, so that unread bytes do not make the kernel reset the connection under the answer.
// Internal to HttpServer.
// Thread safety: none; the server's thread owns it (a handler writes a stream on that thread).
#ifndef SIGMA_HARNESS_HTTP_HTTP_CONNECTION_H_
#define SIGMA_HARNESS_HTTP_HTTP_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "harness/http/http_message.h"
#include "harness/http/http_server.h"

namespace sigma::harness {

class HttpConnection : public HttpStream {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State {
    kReading,   // waiting for (the rest of) a request; idle when nothing is buffered
    kQueued,    // a whole request taken, its answer not yet made
    kWriting,   // its answer made, not yet all taken by the socket
    kDraining,  // answered and shut for writing; reading until the client closes or the linger ends
    kClosed,    // done: the server drops it
  };

  // Takes ownership of the nonblocking socket `fd`.
  HttpConnection(int fd, const HttpServerLimits& limits, const std::atomic<bool>& stop,
                 Clock::time_point now);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  int fd() const { return fd_; }
  State state() const { return state_; }
  // Kept open between requests, nothing of the next one read yet: the one to close for room.
  bool idle() const { return state_ == State::kReading && served_ > 0 && buffer_.empty(); }
  // Whether the socket holds bytes not yet read (a request sent to an idle connection).
  bool HasUnreadInput() const;
  // When it closes if nothing happens: a request stalled for the read timeout, an idle
  // connection after the keep-alive time, a drain after its linger; never while queued.
  Clock::time_point deadline() const;
  Clock::time_point last_activity() const { return last_activity_; }

  // The socket has something: reads it and returns the request it completes, if any. A malformed
  // or oversized request is answered here with an error (the connection then drains).
  std::optional<HttpRequest> OnReadable(Clock::time_point now);

  // Ends the queued request: sends `response`, or ends the stream the handler started, as far
  // as the socket takes it now (OnWritable sends the rest); once all is sent, waits for the next
  // request (keep-alive, returning one the client already sent) or drains.
  std::optional<HttpRequest> Finish(const HttpResponse& response, Clock::time_point now);
  // The socket takes more: sends more of the answer, then as Finish.
  std::optional<HttpRequest> OnWritable(Clock::time_point now);

  // Past deadline(): dropped without an answer, as a client that went silent cannot read one.
  void Close();

  // HttpStream, while queued.
  bool Start(int status, std::string_view content_type) override;
  bool Write(std::string_view data) override;
  bool started() const override { return started_; }

 private:
  enum class Io { kOk, kClosed, kTimeout, kStopped, kError };

  // The next request in buffer_, once whole; an error answer where it cannot be one.
  std::optional<HttpRequest> TakeRequest(Clock::time_point now);
  // body_length_ from the head's Content-Length; false (answered) where the body cannot be read.
  bool ReadBodyLength(const HttpRequest& request, Clock::time_point now);
  // Sends an error answer to a request not read whole, then drains.
  void Reject(int status, std::string_view message, Clock::time_point now);
  // `response` with its length and ConnectionHeaders() into out_.
  void QueueWhole(const HttpResponse& response);
  // Sends what of out_ the socket takes without waiting.
  Io Flush();
  // The headers that say whether the connection stays open, each ending in CRLF.
  std::string ConnectionHeaders() const;
  // Shuts the socket for writing and reads until the client closes (or the linger ends), so that
  // unread bytes do not make the kernel answer with a reset that can destroy the reply.
  void Drain(Clock::time_point now);
  // Appends what the socket holds (up to a bound) to buffer_, or drops it while draining.
  Io Receive();
  Io WriteAll(std::string_view data);
  // poll() in slices so `stop` is seen within ~100 ms even while a client is slow.
  Io WaitFor(short events, int timeout_ms);

  int fd_;
  const HttpServerLimits& limits_;
  const std::atomic<bool>& stop_;
  State state_ = State::kReading;
  Clock::time_point last_activity_;
  Clock::time_point drain_end_;
  std::string buffer_;  // received, not yet taken as a request
  std::string out_;     // the answer being sent (kWriting)
  size_t out_sent_ = 0;
  // The head of the request being read, once parsed, while its body arrives.
  std::optional<HttpRequest> head_;
  size_t body_length_ = 0;
  bool continue_sent_ = false;
  bool peer_closed_ = false;  // the client shut its side; its last request is still answered
  size_t served_ = 0;         // requests answered
  bool keep_alive_ = false;   // the queued request's connection stays open after its answer
  bool chunked_ = false;      // the stream is sent as chunks (HTTP/1.1)
  bool started_ = false;      // a stream's head was sent
  bool healthy_ = true;       // every write of this request so far went through
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_HTTP_HTTP_CONNECTION_H_
