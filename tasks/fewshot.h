// Few-shot sampling: which pool documents serve as in-context examples for a document.
//
// Deterministic: SampleFewshot's choice depends only on (seed, doc id, pool size, excluded
// index), never on the order in which documents are processed, so a resumed or re-batched run
// builds the same prompts. The document itself is never chosen (pass its pool index as `exclude`
// when the pool is its own split). Uses std::mt19937_64 with `rng() % n` (identical on every
// platform). SampleFewshotInSplitOrder is lm-eval's default sampler, which depends on the split's
// order instead (every document's draw from one generator), and is computed for the whole split
// at once, so it too is the same whatever is run, resumed or batched.
// Thread safety: pure functions.
#ifndef SIGMA_TASKS_FEWSHOT_H_
#define SIGMA_TASKS_FEWSHOT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::tasks {

enum class FewshotSampler {
  kRandom,  // a seeded draw per document
  kFirstN,  // the first k in the candidates' order (lm-eval's first_n; seed and doc id unused)
  kPythonRandom,  // lm-eval's default: SampleFewshotInSplitOrder
};

// `k` distinct indices into `candidates` (in sampled order), drawn from
// `candidates` minus `exclude`. INVALID_ARGUMENT when fewer than k remain.
StatusOr<std::vector<size_t>> SampleFewshot(const std::vector<size_t>& candidates, size_t k,
                                            uint64_t seed, std::string_view doc_id,
                                            std::optional<size_t> exclude,
                                            FewshotSampler sampler = FewshotSampler::kRandom);

// lm-eval's default sampler (ContextSampler) for a split of `docs` documents and a pool of
// `pool`: one Python random.Random(seed) (tasks/py_random.h), each document in split order
// drawing random.sample(pool, k). Where the pool is the documents' own split (`pool_is_docs`) it
// draws k + 1, removes every pool document equal to the document (`same(doc, p)`: its fields),
// keeps the first k, and where fewer are left draws k again from the pool without them.
// INVALID_ARGUMENT when the pool has too few documents.
StatusOr<std::vector<std::vector<size_t>>> SampleFewshotInSplitOrder(
    size_t docs, size_t pool, size_t k, uint64_t seed, bool pool_is_docs,
    const std::function<bool(size_t doc, size_t p)>& same);

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_FEWSHOT_H_
