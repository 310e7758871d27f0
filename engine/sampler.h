// Sampler: picks the next token from logits. Greedy when temperature == 0; otherwise softmax at
// the temperature, then top-k, then top-p (nucleus) truncation, then a draw from a seeded
// generator (same seed and logits -> same tokens on every machine: the draw uses std::mt19937_64
// and a uniform built from its bits, not a library distribution).
// Thread safety: thread-compatible (one sampler per sequence).
#ifndef SIGMA_ENGINE_SAMPLER_H_
#define SIGMA_ENGINE_SAMPLER_H_

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "engine/base/status.h"

namespace sigma {

struct SamplingParams {
  double temperature = 0.0;  // 0: greedy
  int top_k = 0;             // 0: no top-k
  double top_p = 1.0;        // 1: no nucleus truncation
  uint64_t seed = 0;

  Status Validate() const;
};

// Index of the largest logit (lowest index on ties).
int32_t ArgMax(std::span<const float> logits);

class Sampler {
 public:
  Sampler() : Sampler(SamplingParams{}) {}  // greedy
  explicit Sampler(const SamplingParams& params);
  int32_t Sample(std::span<const float> logits);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // scratch
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_SAMPLER_H_
