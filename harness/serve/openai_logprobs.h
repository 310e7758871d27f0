// The "logprobs" member of OpenAI API answers (harness/serve/openai_server.h): the completions
// form, parallel lists {"tokens", "token_logprobs", "top_logprobs", "text_offset"}, and the chat
// form, {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
// A token's text is its piece, bytes and all: one that holds part of a UTF-8 character has those
// bytes as \u00XX escapes (engine/base/json.h), and in the chat form its "bytes" are exact.
// Log-probabilities are written to the last bit (the harness sums them as the engine backend does).
// Thread safety: pure functions.
#ifndef SIGMA_HARNESS_SERVE_OPENAI_LOGPROBS_H_
#define SIGMA_HARNESS_SERVE_OPENAI_LOGPROBS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/language_model.h"
#include "harness/backends/backend.h"

namespace sigma::harness {

// One token's entry: its text, where it starts in the answer's text, its log-probability and
// the most likely tokens' texts and log-probabilities at its position (both absent, JSON null,
// for an echoed prompt's first token, which nothing predicts).
struct LogprobEntry {
  std::string text;
  size_t offset = 0;
  std::optional<double> logprob;
  std::vector<std::pair<std::string, double>> top;
};

// Entries for generated tokens, their offsets counted from `offset`.
std::vector<LogprobEntry> LogprobEntries(const LanguageModel& lm,
                                         std::span<const TokenLogprob> tokens, size_t offset = 0);

std::string CompletionLogprobsJson(std::span<const LogprobEntry> entries);
std::string ChatLogprobsJson(std::span<const LogprobEntry> entries);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_SERVE_OPENAI_LOGPROBS_H_
