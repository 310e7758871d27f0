// Generation and log-likelihood on top of a ForwardModel (CPU or CUDA): what the text commands
// and the harness's backends call.
//
// Generate(): prefill a prompt into a sequence slot, then decode until max_new_tokens, a stop token
// or a stop string (checked on the decoded text, which is cut before the stop string). Timing of
// every phase is returned. Loglikelihood(): log P(continuation | context) summed and per token,
// with whether greedy decoding would have produced the continuation.
// Thread safety: as the model (one caller at a time).
#ifndef SIGMA_ENGINE_GENERATE_H_
#define SIGMA_ENGINE_GENERATE_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/forward_model.h"
#include "engine/sampler.h"

namespace sigma {

// Text of one token (for stop strings and output). Optional: without it only stop tokens apply.
using TokenText = std::function<std::string(int32_t)>;

struct GenerateParams {
  SamplingParams sampling;
  int64_t max_new_tokens = 64;
  std::vector<int32_t> stop_tokens;       // e.g. EOS; not included in the output
  std::vector<std::string> stop_strings;  // output text is cut before the first match
};

struct GenerateTiming {
  int64_t prompt_tokens = 0;
  int64_t new_tokens = 0;
  double prefill_ms = 0;      // prompt forward
  double first_token_ms = 0;  // from start to the first sampled token
  double decode_ms = 0;       // all decode steps after the first token
  double total_ms = 0;
  double PrefillTokensPerSecond() const;
  double DecodeTokensPerSecond() const;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // new tokens (without the stop token)
  std::string text;             // decoded new text, cut at a stop string (empty without TokenText)
  std::string stop_reason;      // "max_tokens", "stop_token", "stop_string", "context_full"
  GenerateTiming timing;
};

StatusOr<GenerateResult> Generate(ForwardModel& model, int seq, std::span<const int32_t> prompt,
                                  const GenerateParams& params, const TokenText& token_text = {});

struct LoglikelihoodResult {
  double sum = 0.0;                 // natural log
  std::vector<double> per_token;    // one per continuation token
  bool is_greedy = false;           // every continuation token is the argmax
};

// Uses sequence slot `seq` (its contents are replaced). context must be non-empty.
StatusOr<LoglikelihoodResult> Loglikelihood(ForwardModel& model, int seq,
                                            std::span<const int32_t> context,
                                            std::span<const int32_t> continuation);

// log-softmax of `logits` at `token`, in double precision.
double LogSoftmaxAt(std::span<const float> logits, int32_t token);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GENERATE_H_
