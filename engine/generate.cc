#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace sigma {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Position of the first stop string in `text`, or npos.
size_t FindStop(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const std::string& stop : stops) {
    if (stop.empty()) continue;
    best = std::min(best, text.find(stop));
  }
  return best;
}

}  // namespace

double GenerateTiming::PrefillTokensPerSecond() const {
  return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0.0;
}

double GenerateTiming::DecodeTokensPerSecond() const {
  return decode_ms > 0 && new_tokens > 1 ? (new_tokens - 1) * 1000.0 / decode_ms : 0.0;
}

double LogSoftmaxAt(std::span<const float> logits, int32_t token) {
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max_logit);
  return static_cast<double>(logits[static_cast<size_t>(token)]) - max_logit - std::log(sum);
}

StatusOr<GenerateResult> Generate(ForwardModel& model, int seq, std::span<const int32_t> prompt,
                                  const GenerateParams& params, const TokenText& token_text) {
  SIGMA_RETURN_IF_ERROR(params.sampling.Validate());
  if (prompt.empty()) return InvalidArgumentError("generate: the prompt has no tokens");
  if (params.max_new_tokens < 0) return InvalidArgumentError("--max-tokens must be >= 0");
  GenerateResult result;
  result.stop_reason = "max_tokens";
  const auto start = Clock::now();
  SIGMA_RETURN_IF_ERROR(model.TruncateSequence(seq, 0));
  std::vector<float> logits;
  SIGMA_RETURN_IF_ERROR(model.Prefill(seq, prompt, LogitsMode::kLast, &logits));
  result.timing.prompt_tokens = static_cast<int64_t>(prompt.size());
  result.timing.prefill_ms = MsSince(start);

  Sampler sampler(params.sampling);
  Clock::time_point decode_start;
  for (int64_t step = 0; step < params.max_new_tokens; ++step) {
    const int32_t token = sampler.Sample(logits);
    if (step == 0) {
      result.timing.first_token_ms = MsSince(start);
      decode_start = Clock::now();
    }
    if (std::find(params.stop_tokens.begin(), params.stop_tokens.end(), token) !=
        params.stop_tokens.end()) {
      result.stop_reason = "stop_token";
      break;
    }
    result.tokens.push_back(token);
    if (token_text) {
      result.text += token_text(token);
      if (const size_t cut = FindStop(result.text, params.stop_strings); cut != std::string::npos) {
        result.text.resize(cut);
        result.stop_reason = "stop_string";
        break;
      }
    }
    if (step + 1 == params.max_new_tokens) break;
    if (model.SequenceLength(seq) >= model.capacity()) {
      result.stop_reason = "context_full";
      break;
    }
    const TokenRow row{seq, token};
    SIGMA_RETURN_IF_ERROR(model.Forward({&row, 1}, LogitsMode::kLast, &logits));
  }
  result.timing.new_tokens = static_cast<int64_t>(result.tokens.size());
  if (!result.tokens.empty()) result.timing.decode_ms = MsSince(decode_start);
  result.timing.total_ms = MsSince(start);
  return result;
}

StatusOr<LoglikelihoodResult> Loglikelihood(ForwardModel& model, int seq,
                                            std::span<const int32_t> context,
                                            std::span<const int32_t> continuation) {
  if (context.empty()) return InvalidArgumentError("loglikelihood: empty context");
  if (continuation.empty()) return InvalidArgumentError("loglikelihood: empty continuation");
  SIGMA_RETURN_IF_ERROR(model.TruncateSequence(seq, 0));
  // Logits are needed at the last context position and every continuation position but the last.
  std::vector<int32_t> tokens(context.begin(), context.end());
  tokens.insert(tokens.end(), continuation.begin(), continuation.end() - 1);
  std::vector<float> logits;
  const std::span<const int32_t> head(tokens.data(), context.size() - 1);
  SIGMA_RETURN_IF_ERROR(model.Prefill(seq, head, LogitsMode::kNone, nullptr));
  const std::span<const int32_t> tail(tokens.data() + head.size(), tokens.size() - head.size());
  SIGMA_RETURN_IF_ERROR(model.Prefill(seq, tail, LogitsMode::kAll, &logits));
  LoglikelihoodResult result;
  result.is_greedy = true;
  const auto vocab = static_cast<size_t>(model.vocab_size());
  for (size_t i = 0; i < continuation.size(); ++i) {
    const std::span<const float> row(logits.data() + i * vocab, vocab);
    const double lp = LogSoftmaxAt(row, continuation[i]);
    result.per_token.push_back(lp);
    result.sum += lp;
    if (ArgMax(row) != continuation[i]) result.is_greedy = false;
  }
  return result;
}

}  // namespace sigma
