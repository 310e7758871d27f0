// Few-shot sampling: which pool documents serve as in-context examples for a document.
//
// Deterministic: the choice depends only on (seed, doc id, pool size, excluded index), never on
// the order in which documents are processed, so a resumed or re-batched run builds the same
// prompts. The document itself is never chosen (pass its pool index as `exclude` when the pool
// is its own split). Uses std::mt19937_64 with `rng() % n` (identical on every platform).
// Thread safety: a pure function.
#ifndef SIGMA_TASKS_FEWSHOT_H_
#define SIGMA_TASKS_FEWSHOT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::tasks {

enum class FewshotSampler {
  kRandom,  // a seeded draw per document
  kFirstN,  // the first k in the candidates' order (lm-eval's first_n; seed and doc id unused)
};

// `k` distinct indices into `candidates` (in sampled order), drawn from
// `candidates` minus `exclude`. INVALID_ARGUMENT when fewer than k remain.
StatusOr<std::vector<size_t>> SampleFewshot(const std::vector<size_t>& candidates, size_t k,
                                            uint64_t seed, std::string_view doc_id,
                                            std::optional<size_t> exclude,
                                            FewshotSampler sampler = FewshotSampler::kRandom);

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_FEWSHOT_H_
