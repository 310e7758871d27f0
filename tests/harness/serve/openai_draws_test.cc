// What a request changes in its draws through OpenAiServer (LogitAdjustments,
// harness/backends/backend.h): logit_bias, and the presence, frequency and repetition penalties,
// each against greedy decoding done by hand on the reference model with the same change to its
// logits; the logprobs stay the model's; out-of-range values are refused.
#include <unordered_map>

#include "engine/generate.h"
#include "tests/harness/serve/openai_server_test_util.h"

namespace sigma::harness::serve_test {
namespace {

// logit_bias: -100 keeps the greedy token out of the answer, 100 makes every draw the biased
// token; the logprobs stay the model's (a forced token's is its log-softmax without the bias).
TEST_F(OpenAiServerTest, LogitBiasBansAndForcesTokensTheLogprobsStayTheModels) {
  const std::vector<int32_t> prompt = Encode("The capital of France is");
  const auto vocab = static_cast<size_t>(reference_lm_->model().vocab_size());
  const std::vector<float> all = AllLogits(*reference_lm_, prompt, kChunk);
  const std::span<const float> row(all.data() + all.size() - vocab, vocab);
  const auto greedy = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
  const std::string request = "{\"prompt\":" + Ids(prompt) +
                              ",\"max_tokens\":3,\"temperature\":0,\"logprobs\":1,\"logit_bias\":";
  const std::unique_ptr<rapidjson::Document> banned =
      Parse(Complete(request + "{\"" + std::to_string(greedy) + "\":-100}}"));
  const rapidjson::Value& banned_lp = (*banned)["choices"][0]["logprobs"];
  EXPECT_NE(String(banned_lp["tokens"][0]), reference_lm_->TokenPiece(greedy));
  const int32_t forced = reference_lm_->tokenizer()->Encode("!", false).at(0);
  const std::unique_ptr<rapidjson::Document> doc =
      Parse(Complete(request + "{\"" + std::to_string(forced) + "\":100}}"));
  const rapidjson::Value& choice = (*doc)["choices"][0];
  const std::string piece = reference_lm_->TokenPiece(forced);
  EXPECT_EQ(String(choice["text"]), piece + piece + piece);
  EXPECT_NEAR(choice["logprobs"]["token_logprobs"][0].GetDouble(), LogSoftmaxAt(row, forced), 1e-4);
  EXPECT_LT(choice["logprobs"]["token_logprobs"][0].GetDouble(), LogSoftmaxAt(row, greedy));
  // Chat takes it too.
  const std::string chat =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":2,\"temperature\":0,\"logit_bias\":{\"" +
      std::to_string(forced) + "\":100}}";
  const HttpResponse chat_response = Chat(chat);
  ASSERT_EQ(chat_response.status, 200) << chat_response.body;
  EXPECT_EQ(String((*Parse(chat_response))["choices"][0]["message"]["content"]), piece + piece);
  // Refused: what is not a token id of the vocabulary, a bias past 100, and scoring with one.
  for (const std::string& bias :
       std::vector<std::string>{"{\"x\":1}", "{\"-1\":1}", "{\"" + std::to_string(vocab) + "\":1}",
                                "{\"5\":101}", "{\"5\":\"a\"}", "[1]"}) {
    SCOPED_TRACE(bias);
    ExpectRefused(Complete("{\"prompt\":\"Hi\",\"logit_bias\":" + bias + "}"), "logit_bias");
  }
  ExpectRefused(
      Complete("{\"prompt\":\"Hi\",\"max_tokens\":0,\"echo\":true,\"logit_bias\":{\"5\":1}}"),
      "offered for generations");
}

// Greedy decoding by hand: each step the argmax of the reference model's last row after `adjust`
// (given the prompt, the tokens so far and how often each was drawn) changed it.
std::string GreedyByHand(
    LanguageModel& lm, std::vector<int32_t> tokens, int steps,
    const std::function<void(std::vector<float>&, const std::vector<int32_t>&,
                             const std::unordered_map<int32_t, int>&)>& adjust) {
  const auto vocab = static_cast<size_t>(lm.model().vocab_size());
  std::unordered_map<int32_t, int> counts;
  std::string text;
  for (int k = 0; k < steps; ++k) {
    const std::vector<float> all = AllLogits(lm, tokens, kChunk);
    std::vector<float> row(all.end() - static_cast<std::ptrdiff_t>(vocab), all.end());
    adjust(row, tokens, counts);
    const auto id = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    text += lm.TokenPiece(id);
    tokens.push_back(id);
    ++counts[id];
  }
  return text;
}

// Each penalty as OpenAI (presence, frequency: over the answer's tokens) and vLLM (repetition:
// over the prompt's and the answer's) define it; a repetitive prompt's greedy answer changes.
TEST_F(OpenAiServerTest, PenaltiesChangeTheDrawsAsDefined) {
  const std::vector<int32_t> prompt =
      Encode("The cat sat on the mat. The cat sat on the mat. The cat");
  const std::string request = "{\"prompt\":" + Ids(prompt) + ",\"max_tokens\":8,\"temperature\":0";
  const auto text = [&](const std::string& extra) {
    const HttpResponse response = Complete(request + extra + "}");
    EXPECT_EQ(response.status, 200) << response.body;
    return response.status == 200 ? String((*Parse(response))["choices"][0]["text"]) : "";
  };
  const std::string plain = text("");
  const std::string frequency = GreedyByHand(
      *reference_lm_, prompt, 8, [](std::vector<float>& row, const auto&, const auto& counts) {
        for (const auto& [id, n] : counts) row[static_cast<size_t>(id)] -= 2.0f + 2.0f * n;
      });
  EXPECT_EQ(text(",\"presence_penalty\":2,\"frequency_penalty\":2"), frequency);
  EXPECT_NE(frequency, plain);
  const std::string repetition = GreedyByHand(
      *reference_lm_, prompt, 8, [](std::vector<float>& row, const auto& tokens, const auto&) {
        std::vector<int32_t> seen = tokens;
        std::sort(seen.begin(), seen.end());
        seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
        for (int32_t id : seen) {
          float& logit = row[static_cast<size_t>(id)];
          logit = logit > 0 ? logit / 1.8f : logit * 1.8f;
        }
      });
  EXPECT_EQ(text(",\"repetition_penalty\":1.8"), repetition);
  EXPECT_NE(repetition, plain);
  // Neutral values change nothing; out-of-range ones are refused, and so is scoring with one.
  EXPECT_EQ(text(",\"presence_penalty\":0,\"frequency_penalty\":0,\"repetition_penalty\":1"),
            plain);
  for (const char* bad : {",\"presence_penalty\":2.5", ",\"frequency_penalty\":-3",
                          ",\"repetition_penalty\":0", ",\"repetition_penalty\":11"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(Complete(request + bad + "}"), "penalty: must be");
  }
  ExpectRefused(
      Complete("{\"prompt\":\"Hi\",\"max_tokens\":0,\"echo\":true,\"frequency_penalty\":1}"),
      "offered for generations");
  // Chat takes them too.
  const HttpResponse chat = Chat(
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":4,"
      "\"temperature\":0,\"frequency_penalty\":1,\"repetition_penalty\":1.3}");
  EXPECT_EQ(chat.status, 200) << chat.body;
}

}  // namespace
}  // namespace sigma::harness::serve_test
