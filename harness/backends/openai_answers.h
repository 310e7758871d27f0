// What the OpenAI backend (openai_backend.h) reads from a server's answers, which are untrusted
// input: any JSON at all, from a server that may be buggy or hostile. Every function checks the
// shape it reads and answers DATA_LOSS naming what is missing, never reads past an array or
// converts an out-of-range number (tests/fuzz/openai_answer_fuzz.cc).
// Thread safety: pure functions of their arguments.
#ifndef SIGMA_HARNESS_BACKENDS_OPENAI_ANSWERS_H_
#define SIGMA_HARNESS_BACKENDS_OPENAI_ANSWERS_H_

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "engine/base/status.h"
#include "harness/backends/backend.h"
#include "tasks/types.h"

namespace sigma::harness {

// The server's message from an error answer's body ({"error":{"message":...}} or
// {"error":"..."}), else the body's start; at most 400 bytes (a validation error can list every
// token of a prompt).
std::string ApiErrorMessage(const std::string& body);

// The first choice of an answer (an object).
StatusOr<const rapidjson::Value*> FirstChoice(const rapidjson::Value& answer);

// A generation's text: the choice's "text", or with `chat` its message's "content" (null: "").
StatusOr<std::string> ChoiceText(const rapidjson::Value& choice, bool chat);

// Why a generation ended (tasks::Response::stop_reason): sigma-eval serve's own field, else
// vLLM's stop_reason (null: a stop token; a string: a stop string; a number: a stop token), else
// OpenAI's finish_reason ("length": the token limit; "stop" says no more: "").
std::string ChoiceStopReason(const rapidjson::Value& choice);

// Usage (prompt and completion tokens) and, from `sigma-eval serve`, the engine's timings
// (prefill, first token, decode, reused positions); absent, negative or out-of-range numbers
// read as 0.
RequestTiming AnswerTiming(const rapidjson::Value& answer);

// The sum of the log-probabilities of tokens [from, end) of an echoing choice's logprobs, and
// whether each was the most likely of its top_logprobs; from >= 1 (the first token has none).
StatusOr<tasks::LoglikelihoodResult> SumEchoLogprobs(const rapidjson::Value& choice, size_t from,
                                                     size_t end);

// Tokens [from, end) of an echoing choice that hold `continuation` where `prompt` = context +
// continuation was sent as text: those whose text_offset is at or past the context's end and
// before the prompt's, the prompt found at the echo's start or, after text a server puts before
// it (a BOS token's), anywhere in it.
StatusOr<std::pair<size_t, size_t>> EchoedContinuation(const rapidjson::Value& choice,
                                                       std::string_view prompt,
                                                       size_t context_size);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_OPENAI_ANSWERS_H_
