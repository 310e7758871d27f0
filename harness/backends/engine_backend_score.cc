// EngineBackend's per-request sampling and its scoring of whole token sequences, for the
// OpenAI-compatible server (harness/serve/openai_server.h).
#include <algorithm>
#include <cmath>

#include "harness/backends/engine_backend.h"

namespace sigma::harness {
namespace {

// log-softmax of a row at any id, with the rounding of LogSoftmaxAt (engine/generate.h), so a
// scored token's value equals the engine backend's.
class LogSoftmaxRow {
 public:
  explicit LogSoftmaxRow(std::span<const float> logits)
      : logits_(logits), max_(*std::max_element(logits.begin(), logits.end())) {
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - max_);
    log_sum_ = std::log(sum);
  }
  double At(int32_t id) const {
    return static_cast<double>(logits_[static_cast<size_t>(id)]) - max_ - log_sum_;
  }

 private:
  std::span<const float> logits_;
  float max_;
  double log_sum_ = 0;
};

// The `n` largest logits' ids, largest first, ties to the lower id.
std::vector<int32_t> TopIds(std::span<const float> logits, int n) {
  std::vector<int32_t> top;  // kept sorted, at most n
  if (n <= 0) return top;
  const auto before = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  for (int32_t id = 0; id < static_cast<int32_t>(logits.size()); ++id) {
    if (static_cast<int>(top.size()) == n && !before(id, top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), id, before), id);
    if (static_cast<int>(top.size()) > n) top.pop_back();
  }
  return top;
}

}  // namespace

Status EngineBackend::SetSampling(const SamplingParams& sampling) {
  SIGMA_RETURN_IF_ERROR(sampling.Validate());
  options_.sampling = sampling;
  return Status::Ok();
}

StatusOr<std::vector<EngineBackend::TokenScore>> EngineBackend::ScoreTokens(
    std::span<const int32_t> tokens, int top_n, bool next) {
  ForwardModel& model = lm_->model();
  if (tokens.empty()) return InvalidArgumentError("nothing to score: the prompt has no tokens");
  // The last token is only scored, never in the cache (as the engine backend's continuations).
  if (static_cast<int64_t>(tokens.size()) - (next ? 0 : 1) > model.capacity()) {
    return InvalidArgumentError("a prompt of ", tokens.size(), " tokens is past the context of ",
                                model.capacity(), " tokens and one scored (--max-context)");
  }
  if (top_n < 0 || top_n > 20) return InvalidArgumentError("logprobs: ", top_n, " is not in 0..20");
  for (int32_t id : tokens) {
    if (id < 0 || id >= model.vocab_size()) {
      return InvalidArgumentError("token id ", id, " is outside the vocabulary of ",
                                  model.vocab_size());
    }
  }
  // Whole chunks of the previous call's rows, as many as its tokens agree.
  const int64_t chunk = PrefixBlocks::BlockFor(lm_->options().device);
  size_t same = 0;
  if (top_n == scored_top_n_) {
    const size_t limit = std::min(scored_tokens_.size(), tokens.size() - 1);
    while (same < limit && scored_tokens_[same] == tokens[same]) ++same;
  }
  // Rows [0, reused) are kept; scores[0..reused] come from them and tokens that agree (reused <
  // same, so the token at `reused` does too).
  const size_t reused =
      same == 0 ? 0 : (same - 1) / static_cast<size_t>(chunk) * static_cast<size_t>(chunk);
  slots_[0].Forget();
  scored_tokens_.clear();
  SIGMA_RETURN_IF_ERROR(model.TruncateSequence(0, static_cast<int64_t>(reused)));
  std::vector<TokenScore> scores(tokens.size() + (next ? 1 : 0));
  if (reused > 0) {
    std::copy(scored_.begin(), scored_.begin() + static_cast<std::ptrdiff_t>(reused) + 1,
              scores.begin());
  }
  // Position i's logits score token i + 1 (or, after the last, the most likely next one).
  const auto vocab = static_cast<size_t>(model.vocab_size());
  std::vector<float> logits;
  const size_t predictors = tokens.size() - (next ? 0 : 1);
  for (size_t begin = reused; begin < predictors; begin += static_cast<size_t>(chunk)) {
    const size_t end = std::min(predictors, begin + static_cast<size_t>(chunk));
    SIGMA_RETURN_IF_ERROR(
        model.Prefill(0, tokens.subspan(begin, end - begin), LogitsMode::kAll, &logits));
    for (size_t i = begin; i < end; ++i) {
      const std::span<const float> row(logits.data() + (i - begin) * vocab, vocab);
      const LogSoftmaxRow log_softmax(row);
      TokenScore& score = scores[i + 1];
      const bool after_last = i + 1 == tokens.size();
      for (int32_t id : TopIds(row, after_last ? std::max(top_n, 1) : top_n)) {
        score.top.emplace_back(id, log_softmax.At(id));
      }
      score.logprob = after_last ? score.top[0].second : log_softmax.At(tokens[i + 1]);
    }
  }
  scored_tokens_.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(predictors));
  scored_ = scores;
  scored_top_n_ = top_n;
  return scores;
}

}  // namespace sigma::harness
