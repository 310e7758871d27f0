#include "harness/backends/openai_answers.h"

#include <algorithm>
#include <cmath>

#include "engine/base/json.h"

namespace sigma::harness {
namespace {

// A member of an object, or null where `value` is no object or has no such member.
const rapidjson::Value* Member(const rapidjson::Value& value, const char* key) {
  if (!value.IsObject()) return nullptr;
  const auto it = value.FindMember(key);
  return it == value.MemberEnd() ? nullptr : &it->value;
}

// A count or a duration from an answer: 0 where absent, not a number, negative or past 1e15.
double Amount(const rapidjson::Value& object, const char* key) {
  const rapidjson::Value* v = Member(object, key);
  if (v == nullptr || !v->IsNumber()) return 0;
  const double x = v->GetDouble();
  return x >= 0 && x <= 1e15 ? x : 0;
}

}  // namespace

std::string ApiErrorMessage(const std::string& body) {
  constexpr size_t kMaxMessage = 400;
  const auto cut = [](std::string text) {
    return text.size() <= kMaxMessage ? text : text.substr(0, kMaxMessage) + " ...";
  };
  StatusOr<std::unique_ptr<rapidjson::Document>> doc = ParseJson(body, "answer");
  if (doc.ok() && (*doc)->IsObject() && (*doc)->HasMember("error")) {
    const rapidjson::Value& error = (**doc)["error"];
    if (error.IsString()) return cut(error.GetString());
    if (error.IsObject() && error.HasMember("message") && error["message"].IsString()) {
      return cut(error["message"].GetString());
    }
  }
  return cut(body);
}

StatusOr<const rapidjson::Value*> FirstChoice(const rapidjson::Value& answer) {
  if (!answer.IsObject() || !answer.HasMember("choices") || !answer["choices"].IsArray() ||
      answer["choices"].Empty() || !answer["choices"][0].IsObject()) {
    return DataLossError("the server's answer has no choices");
  }
  return &answer["choices"][0];
}

StatusOr<std::string> ChoiceText(const rapidjson::Value& choice, bool chat) {
  const rapidjson::Value* message = chat ? Member(choice, "message") : &choice;
  const rapidjson::Value* text =
      message == nullptr ? nullptr : Member(*message, chat ? "content" : "text");
  if (text == nullptr || !(text->IsString() || text->IsNull())) {
    return DataLossError("the server's answer has no text");
  }
  return text->IsString() ? std::string(text->GetString(), text->GetStringLength()) : std::string();
}

std::string ChoiceStopReason(const rapidjson::Value& choice) {
  if (!choice.IsObject()) return "";
  if (choice.HasMember("sigma_stop_reason") && choice["sigma_stop_reason"].IsString()) {
    return choice["sigma_stop_reason"].GetString();
  }
  const bool length = choice.HasMember("finish_reason") && choice["finish_reason"].IsString() &&
                      std::string_view(choice["finish_reason"].GetString()) == "length";
  if (length) return "max_tokens";
  if (choice.HasMember("stop_reason")) {
    return choice["stop_reason"].IsString() ? "stop_string" : "stop_token";
  }
  return "";
}

RequestTiming AnswerTiming(const rapidjson::Value& answer) {
  RequestTiming t;
  if (const rapidjson::Value* usage = Member(answer, "usage")) {
    t.prompt_tokens = static_cast<int64_t>(Amount(*usage, "prompt_tokens"));
    t.new_tokens = static_cast<int64_t>(Amount(*usage, "completion_tokens"));
  }
  if (const rapidjson::Value* timing = Member(answer, "sigma_timing")) {
    t.prefill_ms = Amount(*timing, "prefill_ms");
    t.ttft_ms = Amount(*timing, "ttft_ms");
    t.decode_ms = Amount(*timing, "decode_ms");
    t.reused_tokens =
        std::min(static_cast<int64_t>(Amount(*timing, "reused_tokens")), t.prompt_tokens);
  }
  return t;
}

StatusOr<tasks::LoglikelihoodResult> SumEchoLogprobs(const rapidjson::Value& choice, size_t from,
                                                     size_t end) {
  static const rapidjson::Value kNull;
  const rapidjson::Value& logprobs =
      choice.IsObject() && choice.HasMember("logprobs") ? choice["logprobs"] : kNull;
  if (!logprobs.IsObject() || !logprobs.HasMember("token_logprobs") ||
      !logprobs["token_logprobs"].IsArray() || !logprobs.HasMember("tokens") ||
      !logprobs["tokens"].IsArray()) {
    return DataLossError("the server's answer has no token_logprobs (does it support echo?)");
  }
  const rapidjson::Value& values = logprobs["token_logprobs"];
  const rapidjson::Value& tokens = logprobs["tokens"];
  const rapidjson::Value* tops =
      logprobs.HasMember("top_logprobs") && logprobs["top_logprobs"].IsArray()
          ? &logprobs["top_logprobs"]
          : nullptr;
  if (from == 0 || from >= end || end > values.Size() || tokens.Size() != values.Size() ||
      (tops != nullptr && tops->Size() != values.Size())) {
    return DataLossError("the server echoed ", values.Size(), " token log-probabilities where ",
                         end, " tokens were sent and tokens ", from, ".. are scored");
  }
  tasks::LoglikelihoodResult result;
  result.is_greedy = tops != nullptr;
  for (size_t i = from; i < end; ++i) {
    if (!values[i].IsNumber()) return DataLossError("token_logprobs[", i, "] is not a number");
    result.logprob += values[i].GetDouble();
    if (tops == nullptr || !result.is_greedy) continue;
    const rapidjson::Value& top = (*tops)[i];
    const rapidjson::Value* best = nullptr;
    std::string_view best_text;
    if (top.IsObject()) {
      for (const auto& m : top.GetObject()) {
        if (m.value.IsNumber() && (best == nullptr || m.value.GetDouble() > best->GetDouble())) {
          best = &m.value;
          best_text = {m.name.GetString(), m.name.GetStringLength()};
        }
      }
    }
    result.is_greedy =
        best != nullptr && tokens[i].IsString() &&
        best_text == std::string_view(tokens[i].GetString(), tokens[i].GetStringLength());
  }
  result.num_tokens = static_cast<int64_t>(end - from);
  return result;
}

StatusOr<std::pair<size_t, size_t>> EchoedContinuation(const rapidjson::Value& choice,
                                                       std::string_view prompt,
                                                       size_t context_size) {
  const rapidjson::Value* text = Member(choice, "text");
  const rapidjson::Value* logprobs = Member(choice, "logprobs");
  const rapidjson::Value* offsets =
      logprobs == nullptr ? nullptr : Member(*logprobs, "text_offset");
  if (text == nullptr || !text->IsString() || offsets == nullptr || !offsets->IsArray()) {
    return DataLossError("the server's answer has no echoed text and text_offset");
  }
  const std::string_view echoed(text->GetString(), text->GetStringLength());
  const size_t at = echoed.starts_with(prompt) ? 0 : echoed.find(prompt);
  if (at == std::string_view::npos) return DataLossError("the server's echo is not the prompt");
  const auto first_at_or_past = [&](size_t offset) {
    size_t i = 0;
    while (i < offsets->Size() && (*offsets)[i].IsNumber() &&
           (*offsets)[i].GetDouble() < static_cast<double>(offset)) {
      ++i;
    }
    return i;
  };
  return std::pair<size_t, size_t>(first_at_or_past(at + context_size),
                                   first_at_or_past(at + prompt.size()));
}

}  // namespace sigma::harness
