// libFuzzer harness for what the OpenAI backend reads from a server's answers
// (harness/backends/openai_answers.h), which may come from a buggy or hostile server: any JSON,
// read as an answer, a choice and an echo (the first two bytes pick the scored token range and
// the context's length). Every read succeeds or answers an error, under ASan + UBSan. Built only
// with clang and -DSIGMA_FUZZ=ON (tests/fuzz/CMakeLists.txt); seeds in
// tests/fuzz/corpus/openai_answer/. Run:
//   ./openai_answer_fuzz -max_total_time=300 -max_len=8192 tests/fuzz/corpus/openai_answer
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/base/json.h"
#include "harness/backends/openai_answers.h"

namespace {

volatile double sink = 0;

void ReadChoice(const rapidjson::Value& choice, size_t from, size_t end, size_t context) {
  for (bool chat : {false, true}) {
    auto text = sigma::harness::ChoiceText(choice, chat);
    if (text.ok()) sink = sink + static_cast<double>(text->size());
  }
  sink = sink + static_cast<double>(sigma::harness::ChoiceStopReason(choice).size());
  auto sum = sigma::harness::SumEchoLogprobs(choice, from, end);
  if (sum.ok() && sum->num_tokens != static_cast<int64_t>(end - from)) std::abort();
  auto span = sigma::harness::EchoedContinuation(choice, "The cat sat", context);
  if (span.ok() && span->first > span->second) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t from = data[0] % 8;
  const size_t end = data[1] % 8;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  sink = sink + static_cast<double>(sigma::harness::ApiErrorMessage(std::string(text)).size());
  auto doc = sigma::ParseJson(text, "answer");
  if (!doc.ok()) return 0;
  const sigma::harness::RequestTiming t = sigma::harness::AnswerTiming(**doc);
  if (t.prompt_tokens < 0 || t.new_tokens < 0 || t.reused_tokens > t.prompt_tokens) std::abort();
  ReadChoice(**doc, from, end, from);
  auto choice = sigma::harness::FirstChoice(**doc);
  if (choice.ok()) ReadChoice(**choice, from, end, end);
  return 0;
}
