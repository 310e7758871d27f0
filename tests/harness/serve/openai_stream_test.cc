// Streamed answers ("stream": true) over real sockets: server-sent events in OpenAI's chunk format
// whose pieces add up to the unstreamed answer, the stop reason and usage at the end, [DONE] last;
// a request that fails before its first piece gets the usual error answer; streaming is refused
// for scoring; a client that leaves mid-answer does not stop the server.
#include <gtest/gtest.h>

#include "tests/harness/http/raw_client.h"
#include "tests/harness/http/running_server.h"
#include "tests/harness/serve/openai_server_test_util.h"

namespace sigma::harness::serve_test {
namespace {

using testing_util::Body;
using testing_util::Exchange;
using testing_util::RawClient;
using testing_util::RunningServer;

std::string PostRequest(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The events of a streamed reply: each "data: X\n\n" as X.
std::vector<std::string> Events(const std::string& reply) {
  std::vector<std::string> events;
  const std::string body = Body(reply);
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << "an event without its blank line: " << body.substr(at);
    if (end == std::string::npos) break;
    const std::string event = body.substr(at, end - at);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    events.push_back(event.substr(6));
    at = end + 2;
  }
  return events;
}

class OpenAiStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
    server_ = OpenServer(kContext, "smol");
    ASSERT_NE(server_, nullptr);
    http_ = RunningServer::Start([this](const HttpRequest& r) { return server_->Handle(r); });
    ASSERT_NE(http_, nullptr);
  }
  void TearDown() override { http_.reset(); }

  // The server's reply to `body` on `path` through the socket, head and all.
  std::string Streamed(const std::string& path, const std::string& body) {
    return Exchange(http_->port(), PostRequest(path, body));
  }

  std::unique_ptr<OpenAiServer> server_;
  std::unique_ptr<RunningServer> http_;
};

TEST_F(OpenAiStreamTest, ChatPiecesAddUpToTheUnstreamedAnswer) {
  const std::string request =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Name three colours.\"}],"
      "\"max_tokens\":24,\"temperature\":0";
  const std::string reply =
      Streamed("/v1/chat/completions", request +
                                           ",\"stream\":true,\"stream_options\":{"
                                           "\"include_usage\":true}}");
  EXPECT_THAT(reply, testing::StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
  const std::vector<std::string> events = Events(reply);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string id, content;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    StatusOr<std::unique_ptr<rapidjson::Document>> chunk = ParseJson(events[i], "chunk");
    ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
    const rapidjson::Document& c = **chunk;
    EXPECT_EQ(String(c["object"]), "chat.completion.chunk");
    if (i == 0) id = String(c["id"]);
    EXPECT_EQ(String(c["id"]), id);
    if (i + 2 == events.size()) {  // the usage chunk
      EXPECT_EQ(c["choices"].Size(), 0u);
      EXPECT_EQ(c["usage"]["completion_tokens"].GetInt(), 24);
      continue;
    }
    const rapidjson::Value& choice = c["choices"][0];
    if (i == 0) {
      EXPECT_EQ(String(choice["delta"]["role"]), "assistant");
    }
    if (i + 3 == events.size()) {  // the last choice
      EXPECT_EQ(String(choice["finish_reason"]), "length");
      EXPECT_EQ(String(choice["sigma_stop_reason"]), "max_tokens");
      EXPECT_EQ(choice["delta"].MemberCount(), 0u);
      continue;
    }
    EXPECT_TRUE(choice["finish_reason"].IsNull());
    content += String(choice["delta"]["content"]);
  }
  const HttpResponse whole = Post(*server_, "/v1/chat/completions", request + "}");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(content, String((*Parse(whole))["choices"][0]["message"]["content"]));
  EXPECT_FALSE(content.empty());
}

// A completion streams its echo first, and a stop string of several tokens never reaches the
// client, though its first tokens were generated before it was whole.
TEST_F(OpenAiStreamTest, CompletionPiecesKeepTheStopStringOut) {
  const std::string request =
      "{\"prompt\":\"1, 2, 3,\",\"max_tokens\":24,\"temperature\":0,\"echo\":true,"
      "\"stop\":[\", 6, 7\"]";
  const std::vector<std::string> events =
      Events(Streamed("/v1/completions", request + ",\"stream\":true}"));
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    StatusOr<std::unique_ptr<rapidjson::Document>> chunk = ParseJson(events[i], "chunk");
    ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
    const rapidjson::Value& choice = (**chunk)["choices"][0];
    if (i == 0) {
      EXPECT_EQ(String(choice["text"]), "1, 2, 3,");
    }
    text += String(choice["text"]);
    if (i + 2 == events.size()) {
      EXPECT_EQ(String(choice["finish_reason"]), "stop");
      EXPECT_EQ(String(choice["sigma_stop_reason"]), "stop_string");
    }
  }
  EXPECT_EQ(text, "1, 2, 3, 4, 5");
  const HttpResponse whole = Post(*server_, "/v1/completions", request + "}");
  EXPECT_EQ(text, String((*Parse(whole))["choices"][0]["text"]));
}

// With logprobs, each chunk carries the entries of the tokens that start in it, and together
// they are the unstreamed answer's: chat's content lists, and completions' parallel lists with
// their offsets running on; the tokens a stop string cut in neither.
TEST_F(OpenAiStreamTest, LogprobsComeWithTheChunksTheirTokensStartIn) {
  // Each entry of `list` of each chunk's (or the answer's) choice's logprobs, as JSON.
  const auto entries = [](const rapidjson::Value& choice, const char* list) {
    std::vector<std::string> out;
    const rapidjson::Value& lp = choice["logprobs"];
    if (!lp.IsObject()) return out;
    for (const rapidjson::Value& e : lp[list].GetArray()) out.push_back(JsonToString(e));
    return out;
  };
  const auto streamed = [&](const std::string& path, const std::string& request, const char* list) {
    std::vector<std::string> out;
    const std::vector<std::string> events = Events(Streamed(path, request + ",\"stream\":true}"));
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      StatusOr<std::unique_ptr<rapidjson::Document>> chunk = ParseJson(events[i], "chunk");
      EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (!chunk.ok()) break;
      for (std::string& e : entries((**chunk)["choices"][0], list)) out.push_back(std::move(e));
    }
    return out;
  };
  const std::string chat =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Name three colours.\"}],"
      "\"max_tokens\":12,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2";
  const std::vector<std::string> chat_whole = entries(
      (*Parse(Post(*server_, "/v1/chat/completions", chat + "}")))["choices"][0], "content");
  EXPECT_EQ(chat_whole.size(), 12u);
  EXPECT_EQ(streamed("/v1/chat/completions", chat, "content"), chat_whole);
  const std::string completion =
      "{\"prompt\":\"1, 2, 3,\",\"max_tokens\":24,\"temperature\":0,\"stop\":[\", 6, 7\"],"
      "\"logprobs\":2";
  const std::unique_ptr<rapidjson::Document> whole =
      Parse(Post(*server_, "/v1/completions", completion + "}"));
  EXPECT_EQ(String((*whole)["choices"][0]["text"]), " 4, 5");
  for (const char* list : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    SCOPED_TRACE(list);
    const std::vector<std::string> expected = entries((*whole)["choices"][0], list);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(streamed("/v1/completions", completion, list), expected);
  }
}

TEST_F(OpenAiStreamTest, FailuresBeforeTheFirstPieceAreOrdinaryErrors) {
  const std::string too_long(kContext * 8, 'a');
  const std::string reply = Streamed(
      "/v1/completions", "{\"prompt\":\"" + too_long + "\",\"max_tokens\":4,\"stream\":true}");
  EXPECT_THAT(reply,
              testing::StartsWith("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json"));
  EXPECT_THAT(Body(reply), testing::HasSubstr("does not fit the context"));
  // Scoring is not streamed.
  const std::string scoring =
      Streamed("/v1/completions",
               "{\"prompt\":\"Hi\",\"max_tokens\":0,\"echo\":true,\"logprobs\":1,\"stream\":true}");
  EXPECT_THAT(scoring, testing::StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Body(scoring), testing::HasSubstr("stream: offered for generations"));
  EXPECT_THAT(Body(Streamed("/v1/completions",
                            "{\"prompt\":\"Hi\",\"stream\":true,\"stream_options\":[]}")),
              testing::HasSubstr("stream_options"));
}

// A client that leaves after the first event: the next request is answered (the backend test
// AStreamingClientThatLeavesCancelsItsRequest shows its generation ends).
TEST_F(OpenAiStreamTest, AClientLeavingMidAnswerDoesNotStopTheServer) {
  {
    RawClient client(http_->port());
    ASSERT_TRUE(
        client.Send(PostRequest("/v1/completions",
                                "{\"prompt\":\"Once upon a "
                                "time\",\"max_tokens\":2000,\"temperature\":0,\"stream\":true}")));
    EXPECT_THAT(client.Read("\n\n"), testing::HasSubstr("data: {"));
    client.Reset();
  }
  const std::string reply =
      Streamed("/v1/completions", "{\"prompt\":\"Hello\",\"max_tokens\":2,\"temperature\":0}");
  EXPECT_THAT(reply, testing::StartsWith("HTTP/1.1 200 OK"));
}

}  // namespace
}  // namespace sigma::harness::serve_test
