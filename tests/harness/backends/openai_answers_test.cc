// What the OpenAI backend reads from a server's answers (harness/backends/openai_answers.h), for
// answers as a correct server writes them and for every shape a buggy or hostile one might send
// instead: each read either succeeds or names what is missing.
#include "harness/backends/openai_answers.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/base/json.h"

namespace sigma::harness {
namespace {

std::unique_ptr<rapidjson::Document> Json(const std::string& text) {
  auto doc = ParseJson(text, "test");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? std::move(*doc) : std::make_unique<rapidjson::Document>();
}

TEST(OpenAiAnswersTest, FirstChoiceIsAnObjectOrNamedMissing) {
  for (const char* bad :
       {"[]", "\"x\"", "{}", R"({"choices":3})", R"({"choices":[]})", R"({"choices":[1]})"}) {
    EXPECT_EQ(FirstChoice(*Json(bad)).status().code(), StatusCode::kDataLoss) << bad;
  }
  auto doc = Json(R"({"choices":[{"text":"a"},{"text":"b"}]})");
  auto choice = FirstChoice(*doc);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(*ChoiceText(**choice, /*chat=*/false), "a");
}

TEST(OpenAiAnswersTest, TextOfACompletionOrAChatMessage) {
  EXPECT_EQ(*ChoiceText(*Json(R"({"text":"hi \u00fc"})"), false), "hi \xc3\xbc");
  EXPECT_EQ(*ChoiceText(*Json(R"({"text":null})"), false), "");
  EXPECT_EQ(*ChoiceText(*Json(R"({"message":{"role":"assistant","content":"ok"}})"), true), "ok");
  for (const char* bad : {R"({})", R"({"text":5})", R"([1])"}) {
    EXPECT_EQ(ChoiceText(*Json(bad), false).status().code(), StatusCode::kDataLoss) << bad;
  }
  for (const char* bad :
       {R"({"text":"x"})", R"({"message":"x"})", R"({"message":{"content":[]}})"}) {
    EXPECT_EQ(ChoiceText(*Json(bad), true).status().code(), StatusCode::kDataLoss) << bad;
  }
}

TEST(OpenAiAnswersTest, StopReasonFromWhicheverFieldTheServerGives) {
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"sigma_stop_reason":"context_full"})")), "context_full");
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"finish_reason":"length"})")), "max_tokens");
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"finish_reason":"stop","stop_reason":"\n\n"})")),
            "stop_string");
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"finish_reason":"stop","stop_reason":null})")),
            "stop_token");
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"finish_reason":"stop","stop_reason":128009})")),
            "stop_token");
  EXPECT_EQ(ChoiceStopReason(*Json(R"({"finish_reason":"stop"})")), "");  // OpenAI: unknown
  EXPECT_EQ(ChoiceStopReason(*Json(R"([])")), "");
}

TEST(OpenAiAnswersTest, TimingReadsSaneNumbersOnly) {
  RequestTiming t = AnswerTiming(
      *Json(R"({"usage":{"prompt_tokens":12,"completion_tokens":3},)"
            R"("sigma_timing":{"prefill_ms":4.5,"ttft_ms":5,"decode_ms":20,"reused_tokens":8}})"));
  EXPECT_EQ(t.prompt_tokens, 12);
  EXPECT_EQ(t.new_tokens, 3);
  EXPECT_EQ(t.prefill_ms, 4.5);
  EXPECT_EQ(t.ttft_ms, 5);
  EXPECT_EQ(t.decode_ms, 20);
  EXPECT_EQ(t.reused_tokens, 8);
  // Past any count (an int64 cast would be undefined), negative, not numbers, not objects.
  t = AnswerTiming(*Json(R"({"usage":{"prompt_tokens":1e300,"completion_tokens":-4},)"
                         R"("sigma_timing":{"prefill_ms":"fast","reused_tokens":9}})"));
  EXPECT_EQ(t.prompt_tokens, 0);
  EXPECT_EQ(t.new_tokens, 0);
  EXPECT_EQ(t.prefill_ms, 0);
  EXPECT_EQ(t.reused_tokens, 0);  // no more than the prompt
  t = AnswerTiming(*Json(R"([{"usage":{"prompt_tokens":3}}])"));
  EXPECT_EQ(t.prompt_tokens, 0);
  EXPECT_EQ(AnswerTiming(*Json(R"({"usage":7})")).prompt_tokens, 0);
}

constexpr const char* kEcho =
    R"({"text":"<s>The cat sat","logprobs":{"tokens":["<s>","The"," cat"," sat"],)"
    R"("token_logprobs":[null,-3.5,-1.25,-0.5],)"
    R"("top_logprobs":[null,{"A":-1.0,"The":-3.5},{" cat":-1.25," dog":-2},{" sat":-0.5}],)"
    R"("text_offset":[0,3,6,10]}})";

TEST(OpenAiAnswersTest, EchoedLogprobsAreSummedOverTheScoredTokens) {
  auto choice = Json(kEcho);
  auto all = SumEchoLogprobs(*choice, 1, 4);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->logprob, -5.25);
  EXPECT_EQ(all->num_tokens, 3);
  EXPECT_FALSE(all->is_greedy);  // "The" was not the most likely
  auto tail = SumEchoLogprobs(*choice, 2, 4);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->logprob, -1.75);
  EXPECT_TRUE(tail->is_greedy);
  // Outside what was echoed, or no token before the first scored one.
  for (auto [from, end] : {std::pair<size_t, size_t>{0, 4}, {2, 2}, {3, 2}, {1, 5}}) {
    EXPECT_EQ(SumEchoLogprobs(*choice, from, end).status().code(), StatusCode::kDataLoss)
        << from << ".." << end;
  }
}

TEST(OpenAiAnswersTest, MalformedEchoesAreNamedNotRead) {
  for (const char* bad : {
           R"([])",
           R"({"text":"x"})",
           R"({"logprobs":{"tokens":["a","b"]}})",
           R"({"logprobs":{"tokens":["a"],"token_logprobs":[null,-1]}})",
           R"({"logprobs":{"tokens":["a","b"],"token_logprobs":[null,"x"]}})",
           R"({"logprobs":{"tokens":["a","b"],"token_logprobs":[null,-1],"top_logprobs":[null]}})",
       }) {
    EXPECT_EQ(SumEchoLogprobs(*Json(bad), 1, 2).status().code(), StatusCode::kDataLoss) << bad;
  }
  // Without top_logprobs (or with one that is no object) greediness is unknown: not greedy.
  auto no_tops = SumEchoLogprobs(*Json(R"({"logprobs":{"tokens":["a","b"],)"
                                       R"("token_logprobs":[null,-1]}})"),
                                 1, 2);
  ASSERT_TRUE(no_tops.ok());
  EXPECT_FALSE(no_tops->is_greedy);
  auto odd_top = SumEchoLogprobs(*Json(R"({"logprobs":{"tokens":["a","b"],)"
                                       R"("token_logprobs":[null,-1],"top_logprobs":[null,7]}})"),
                                 1, 2);
  ASSERT_TRUE(odd_top.ok());
  EXPECT_FALSE(odd_top->is_greedy);
}

TEST(OpenAiAnswersTest, TheContinuationIsFoundInTheEcho) {
  // A server that echoes a BOS token's text before the prompt: the prompt is found after it.
  auto span = EchoedContinuation(*Json(kEcho), "The cat sat", /*context_size=*/7);
  ASSERT_TRUE(span.ok()) << span.status().ToString();
  EXPECT_EQ(span->first, 3u);  // " sat" starts at 3 + 7 = 10
  EXPECT_EQ(span->second, 4u);
  span = EchoedContinuation(*Json(kEcho), "The cat sat", 3);
  ASSERT_TRUE(span.ok());
  EXPECT_EQ(span->first, 2u);
  // What was generated after the prompt is not the continuation's.
  auto generated =
      EchoedContinuation(*Json(R"({"text":"ab.","logprobs":{"text_offset":[0,1,2]}})"), "ab", 1);
  ASSERT_TRUE(generated.ok());
  EXPECT_EQ(generated->first, 1u);
  EXPECT_EQ(generated->second, 2u);
  EXPECT_EQ(EchoedContinuation(*Json(kEcho), "The dog", 3).status().code(),
            StatusCode::kDataLoss);  // not an echo of the prompt
  for (const char* bad : {R"({"text":"ab"})", R"({"text":"ab","logprobs":{"text_offset":1}})",
                          R"({"logprobs":{"text_offset":[0]}})", R"([0])"}) {
    EXPECT_EQ(EchoedContinuation(*Json(bad), "ab", 1).status().code(), StatusCode::kDataLoss)
        << bad;
  }
}

TEST(OpenAiAnswersTest, ErrorMessagesAreTheServersAndShort) {
  EXPECT_EQ(ApiErrorMessage(R"({"error":{"message":"model not found","type":"x"}})"),
            "model not found");
  EXPECT_EQ(ApiErrorMessage(R"({"error":"busy"})"), "busy");
  EXPECT_EQ(ApiErrorMessage("<html>Bad Gateway</html>"), "<html>Bad Gateway</html>");
  const std::string long_message =
      ApiErrorMessage(R"({"error":{"message":")" + std::string(5000, 'x') + R"("}})");
  EXPECT_EQ(long_message.size(), 404u);  // 400 bytes and " ..."
  EXPECT_EQ(ApiErrorMessage(std::string(1000, 'y')).size(), 404u);
}

}  // namespace
}  // namespace sigma::harness
