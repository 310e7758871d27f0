#include "tasks/fewshot.h"

#include <random>
#include <utility>

#include "tasks/py_random.h"

namespace sigma::tasks {
namespace {

// FNV-1a, 64-bit: mixes the doc id into the seed.
uint64_t HashId(std::string_view id) {
  uint64_t h = 1469598103934665603ull;
  for (char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

StatusOr<std::vector<size_t>> SampleFewshot(const std::vector<size_t>& candidates, size_t k,
                                            uint64_t seed, std::string_view doc_id,
                                            std::optional<size_t> exclude, FewshotSampler sampler) {
  if (sampler == FewshotSampler::kPythonRandom) {
    return InvalidArgumentError(
        "few-shot: python_random draws for a whole split "
        "(SampleFewshotInSplitOrder), not one document");
  }
  std::vector<size_t> pool;
  pool.reserve(candidates.size());
  for (size_t c : candidates) {
    if (!exclude.has_value() || c != *exclude) pool.push_back(c);
  }
  if (pool.size() < k) {
    return InvalidArgumentError("few-shot: ", k, " examples needed for document '", doc_id,
                                "' but only ", pool.size(), " candidates are available");
  }
  if (sampler == FewshotSampler::kFirstN) {
    pool.resize(k);
    return pool;
  }
  // Partial Fisher-Yates: the first k slots become a uniform sample without replacement.
  std::mt19937_64 rng(seed ^ HashId(doc_id));
  for (size_t i = 0; i < k; ++i) {
    const size_t j = i + static_cast<size_t>(rng() % static_cast<uint64_t>(pool.size() - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(k);
  return pool;
}

StatusOr<std::vector<std::vector<size_t>>> SampleFewshotInSplitOrder(
    size_t docs, size_t pool, size_t k, uint64_t seed, bool pool_is_docs,
    const std::function<bool(size_t doc, size_t p)>& same) {
  const size_t drawn = pool_is_docs ? k + 1 : k;
  if (k > 0 && pool < drawn) {
    return InvalidArgumentError("few-shot: ", k, " examples need ", drawn,
                                " documents in the pool, which has ", pool);
  }
  std::vector<std::vector<size_t>> out(docs);
  if (k == 0) return out;
  py::PyRandom rnd(seed);
  for (size_t d = 0; d < docs; ++d) {
    std::vector<size_t> picks = rnd.Sample(pool, drawn);
    if (pool_is_docs) {
      std::erase_if(picks, [&](size_t p) { return same(d, p); });
      if (picks.size() > k) picks.resize(k);
      if (picks.size() < k) {
        std::vector<size_t> others;
        for (size_t p = 0; p < pool; ++p) {
          if (!same(d, p)) others.push_back(p);
        }
        if (others.size() < k) {
          return InvalidArgumentError("few-shot: ", k, " examples needed for document ", d,
                                      " but only ", others.size(),
                                      " pool documents differ from it");
        }
        picks.clear();
        for (size_t i : rnd.Sample(others.size(), k)) picks.push_back(others[i]);
      }
    }
    out[d] = std::move(picks);
  }
  return out;
}

}  // namespace sigma::tasks
