#include "tasks/fewshot.h"

#include <random>
#include <utility>

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

}  // namespace sigma::tasks
