#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

namespace sigma {

Status SamplingParams::Validate() const {
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) {
    return InvalidArgumentError("--temperature: expected a finite value >= 0, got ", temperature);
  }
  if (top_k < 0) return InvalidArgumentError("--top-k: expected >= 0, got ", top_k);
  if (!(top_p > 0.0 && top_p <= 1.0)) {
    return InvalidArgumentError("--top-p: expected a value in (0, 1], got ", top_p);
  }
  return Status::Ok();
}

int32_t ArgMax(std::span<const float> logits) {
  SIGMA_CHECK(!logits.empty());
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

// The kept candidates are walked in descending logit order (ties: lower id first), which is
// sorted lazily: a draw or a nucleus cut usually ends within the first few dozen, and sorting the
// whole vocabulary took ~2 ms a token (SmolLM2, 49K ids), a third of `generate`'s decode time at
// temperature 1. The normalising sum over the kept candidates is taken in the order selection
// left them, which is fixed for a given input, so draws stay reproducible.
int32_t Sampler::Sample(std::span<const float> logits) {
  if (params_.temperature == 0.0) return ArgMax(logits);
  candidates_.clear();
  candidates_.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    candidates_.emplace_back(logits[i], static_cast<int32_t>(i));
  }
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  const auto begin = candidates_.begin();
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::nth_element(begin, begin + static_cast<long>(keep), candidates_.end(), by_logit);
  }
  const auto kept_end = begin + static_cast<long>(keep);
  size_t sorted = 0;  // candidates_[0, sorted) are the best, in order
  auto sort_through = [&](size_t i) {
    if (i < sorted) return;
    const size_t next = std::min(keep, std::max<size_t>({i + 1, 2 * sorted, 64}));
    std::partial_sort(begin + static_cast<long>(sorted), begin + static_cast<long>(next), kept_end,
                      by_logit);
    sorted = next;
  };
  // Probabilities at the temperature over the kept candidates, in double.
  const float max_logit = std::min_element(begin, kept_end, by_logit)->first;  // the first in order
  const auto prob = [&](size_t i) {
    return std::exp((static_cast<double>(candidates_[i].first) - max_logit) / params_.temperature);
  };
  double sum = 0.0;
  for (size_t i = 0; i < keep; ++i) sum += prob(i);
  if (params_.top_p < 1.0) {
    double cumulative = 0.0, kept_sum = 0.0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      sort_through(i);
      const double p = prob(i);
      cumulative += p / sum;
      kept_sum += p;
      if (cumulative >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = kept_sum;
  }
  // Uniform in [0, 1) from the top 53 bits.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * sum;
  double acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    sort_through(i);
    acc += prob(i);
    if (u < acc) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

}  // namespace sigma
