// Log-probabilities of generated tokens through OpenAiServer (harness/serve/openai_logprobs.h):
// the two JSON forms byte for byte; a greedy completion's logprobs against a plain forward pass of
// the reference model over the prompt and the tokens chosen; chat's entries with their exact
// bytes; sampled tokens scored under the model, not the sampler; and what is refused. Streamed:
// openai_stream_test.cc.
#include "harness/serve/openai_logprobs.h"

#include "engine/generate.h"
#include "tests/harness/serve/openai_server_test_util.h"

namespace sigma::harness::serve_test {
namespace {

TEST(OpenAiLogprobsJsonTest, CompletionAndChatForms) {
  const std::vector<LogprobEntry> entries = {
      {"Hi", 0, std::nullopt, {}},
      {" \"x\"", 2, -0.5, {{" \"x\"", -0.5}, {"\xe6", -1.25}}},
  };
  EXPECT_EQ(CompletionLogprobsJson(entries),
            R"({"tokens":["Hi"," \"x\""],"token_logprobs":[null,-0.5],)"
            R"("top_logprobs":[null,{" \"x\"":-0.5,"\u00e6":-1.25}],"text_offset":[0,2]})");
  EXPECT_EQ(ChatLogprobsJson({entries.data() + 1, 1}),
            R"({"content":[{"token":" \"x\"","logprob":-0.5,"bytes":[32,34,120,34],)"
            R"("top_logprobs":[{"token":" \"x\"","logprob":-0.5,"bytes":[32,34,120,34]},)"
            R"({"token":"\u00e6","logprob":-1.25,"bytes":[230]}]}],"refusal":null})");
  EXPECT_EQ(ChatLogprobsJson({}), R"({"content":[],"refusal":null})");
}

// The greedy choices, made by hand: each the argmax of a forward pass over the prompt and the
// choices before it; the API's entries hold each one's text, offset and log-softmax, within the
// rounding of decode against prefill, and its top tokens, the choice first.
TEST_F(OpenAiServerTest, AGreedyCompletionsLogprobsAreTheModelsOwn) {
  const std::vector<int32_t> prompt = Encode("The capital of France is");
  const HttpResponse response = Complete("{\"prompt\":" + Ids(prompt) +
                                         ",\"max_tokens\":6,\"temperature\":0,\"logprobs\":3}");
  ASSERT_EQ(response.status, 200) << response.body;
  const std::unique_ptr<rapidjson::Document> doc = Parse(response);
  const rapidjson::Value& choice = (*doc)["choices"][0];
  const rapidjson::Value& lp = choice["logprobs"];
  const size_t n = lp["tokens"].Size();
  ASSERT_GT(n, 0u);
  EXPECT_EQ(static_cast<int64_t>(n), (*doc)["usage"]["completion_tokens"].GetInt64());
  const auto vocab = static_cast<size_t>(reference_lm_->model().vocab_size());
  std::vector<int32_t> tokens = prompt;
  std::string text;
  for (size_t k = 0; k < n; ++k) {
    const std::vector<float> all = AllLogits(*reference_lm_, tokens, kChunk);
    const std::span<const float> row(all.data() + all.size() - vocab, vocab);
    const auto id = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    const std::string piece = reference_lm_->TokenPiece(id);
    EXPECT_EQ(String(lp["tokens"][k]), piece) << k;
    EXPECT_EQ(lp["text_offset"][k].GetUint64(), text.size()) << k;
    EXPECT_NEAR(lp["token_logprobs"][k].GetDouble(), LogSoftmaxAt(row, id), 1e-4) << k;
    const auto& top = lp["top_logprobs"][k].GetObject();
    ASSERT_EQ(top.MemberCount(), 3u) << k;
    EXPECT_EQ(String(top.begin()->name), piece) << k;
    EXPECT_EQ(top.begin()->value.GetDouble(), lp["token_logprobs"][k].GetDouble()) << k;
    text += piece;
    tokens.push_back(id);
  }
  EXPECT_EQ(String(choice["text"]), text);
}

TEST_F(OpenAiServerTest, ChatLogprobsListEachTokenWithItsBytes) {
  const HttpResponse response = Chat(
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"}],\"max_tokens\":8,"
      "\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2}");
  ASSERT_EQ(response.status, 200) << response.body;
  const std::unique_ptr<rapidjson::Document> doc = Parse(response);
  const rapidjson::Value& choice = (*doc)["choices"][0];
  const rapidjson::Value& lp = choice["logprobs"];
  EXPECT_TRUE(lp["refusal"].IsNull());
  ASSERT_GT(lp["content"].Size(), 0u);
  std::string joined;
  for (const rapidjson::Value& entry : lp["content"].GetArray()) {
    for (const rapidjson::Value& byte : entry["bytes"].GetArray()) {
      joined += static_cast<char>(byte.GetUint());
    }
    ASSERT_EQ(entry["top_logprobs"].Size(), 2u);
    EXPECT_EQ(String(entry["top_logprobs"][0]["token"]), String(entry["token"]));  // greedy
    EXPECT_EQ(entry["top_logprobs"][0]["logprob"].GetDouble(), entry["logprob"].GetDouble());
    EXPECT_LE(entry["top_logprobs"][1]["logprob"].GetDouble(), entry["logprob"].GetDouble());
  }
  EXPECT_EQ(joined, String(choice["message"]["content"]));
  // Without top_logprobs: the entries, no alternatives; without logprobs: null.
  const HttpResponse plain = Chat(
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Name a colour.\"}],\"max_tokens\":8,"
      "\"temperature\":0,\"logprobs\":true}");
  const std::unique_ptr<rapidjson::Document> plain_doc = Parse(plain);
  const rapidjson::Value& plain_lp = (*plain_doc)["choices"][0]["logprobs"];
  ASSERT_EQ(plain_lp["content"].Size(), lp["content"].Size());
  EXPECT_EQ(plain_lp["content"][0]["top_logprobs"].Size(), 0u);
  EXPECT_EQ(plain_lp["content"][0]["logprob"].GetDouble(), lp["content"][0]["logprob"].GetDouble());
  const HttpResponse none = Chat(
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2,\"temperature\":0}");
  EXPECT_TRUE((*Parse(none))["choices"][0]["logprobs"].IsNull());
}

// A sampled token is scored under the model (before temperature), so its entry is the model's
// log-probability of it: never above the most likely token's, equal to it where the draw is that
// token; the draws themselves are those of the same request without logprobs.
TEST_F(OpenAiServerTest, SampledTokensAreScoredUnderTheModel) {
  const std::string request =
      "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":1.3,\"seed\":11";
  const HttpResponse response = Complete(request + ",\"logprobs\":1}");
  ASSERT_EQ(response.status, 200) << response.body;
  const std::unique_ptr<rapidjson::Document> doc = Parse(response);
  const rapidjson::Value& lp = (*doc)["choices"][0]["logprobs"];
  ASSERT_GT(lp["tokens"].Size(), 0u);
  for (rapidjson::SizeType k = 0; k < lp["tokens"].Size(); ++k) {
    const auto& top = lp["top_logprobs"][k].GetObject();
    const double chosen = lp["token_logprobs"][k].GetDouble();
    EXPECT_LE(chosen, top.begin()->value.GetDouble()) << k;
    if (String(top.begin()->name) == String(lp["tokens"][k])) {
      EXPECT_EQ(chosen, top.begin()->value.GetDouble()) << k;
    }
  }
  const HttpResponse unscored = Complete(request + "}");
  EXPECT_EQ(String((*Parse(unscored))["choices"][0]["text"]), String((*doc)["choices"][0]["text"]));
}

TEST_F(OpenAiServerTest, LogprobsOutsideWhatIsOfferedAreRefused) {
  const std::string messages = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
  ExpectRefused(Chat(messages + ",\"top_logprobs\":2}"), "needs \"logprobs\": true");
  ExpectRefused(Chat(messages + ",\"logprobs\":true,\"top_logprobs\":21}"), "0..20");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"logprobs\":21}"), "0..20");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"echo\":true,\"logprobs\":1,\"max_tokens\":2}"),
                "one greedy token");
}

}  // namespace
}  // namespace sigma::harness::serve_test
