// Metrics: per-sample scores and their aggregation over a task.
//
// Per sample: exact match (with options), token F1, BLEU sufficient statistics, pass@k, and the
// log-likelihood based accuracies/perplexities are computed by Task::Score from these helpers.
// Aggregates:
//   - means (acc, acc_norm, acc_bytes, exact_match, f1, pass@k): value = mean, stderr =
//     sample standard deviation / sqrt(n) (analytic), ci = bootstrap percentile interval;
//   - corpus statistics (BLEU, perplexities, bits per byte): value = the statistic over all
//     samples, stderr = standard deviation of the statistic over bootstrap resamples, ci = the
//     bootstrap percentile interval.
// The bootstrap draws indices with std::mt19937_64 (seeded; `rng() % n`, so results are the same
// on every platform). n = 0 gives NaN values; n = 1 a NaN stderr and a degenerate interval.
// Thread safety: free functions; ExactMatcher is immutable after construction.
#ifndef SIGMA_TASKS_METRICS_H_
#define SIGMA_TASKS_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/regex.h"

namespace sigma::tasks {

// exact_match with lm-eval-style options: regexes_to_ignore are deleted from both strings first,
// then case and ASCII punctuation are dropped when asked. No implicit whitespace trimming (use a
// "strip" filter).
class ExactMatcher {
 public:
  struct Options {
    bool ignore_case = false;
    bool ignore_punctuation = false;
    std::vector<std::string> regexes_to_ignore;
  };
  static StatusOr<ExactMatcher> Create(const Options& options, std::string_view where);
  StatusOr<bool> Matches(std::string_view prediction, std::string_view gold) const;

 private:
  StatusOr<std::string> Normalize(std::string_view text) const;
  Options options_;
  std::vector<std::shared_ptr<const Regex>> ignore_;
};

// SQuAD-style token F1: lowercase, drop ASCII punctuation and the articles a/an/the, split on
// whitespace, F1 of the token multisets. Both empty -> 1; one empty -> 0.
double TokenF1(std::string_view prediction, std::string_view gold);

// BLEU-4 sufficient statistics of one hypothesis against its references. Tokenisation: split on
// whitespace, and every ASCII punctuation character is its own token ("mat." -> "mat", ".").
// ref_length is the reference length closest to the hypothesis length (ties: the shorter).
struct BleuStats {
  std::array<double, 4> matches{};  // clipped n-gram matches, n = 1..4
  std::array<double, 4> totals{};   // hypothesis n-grams
  double hyp_length = 0;
  double ref_length = 0;
};
BleuStats ComputeBleuStats(std::string_view hypothesis, const std::vector<std::string>& refs);
void AddBleuStats(const BleuStats& stats, std::map<std::string, double>* out);
BleuStats BleuStatsFrom(const std::map<std::string, double>& stats);
// Corpus BLEU (0..100) from summed statistics: geometric mean of the four precisions times the
// brevity penalty exp(1 - r/c) when c < r. Smoothing ("exp", as sacreBLEU's default): the k-th
// order whose match count is 0 gets precision 1 / (2^k * total) instead of 0. 0 when the
// hypotheses are empty.
double CorpusBleu(const std::vector<BleuStats>& samples);

std::vector<std::string> BleuTokens(std::string_view text);

// Unbiased pass@k of n samples with c correct: 1 - C(n-c, k) / C(n, k), evaluated as
// 1 - prod_{i=n-c+1..n} (1 - k/i). INVALID_ARGUMENT when n < k, k < 1 or c outside 0..n.
StatusOr<double> PassAtK(int64_t n, int64_t c, int64_t k);

// Words of a text for word perplexity: maximal runs of non-whitespace.
int64_t CountWords(std::string_view text);

struct Aggregate {
  std::string metric;
  double value = 0;
  double stderr_value = 0;
  double ci_low = 0;
  double ci_high = 0;
  int64_t n = 0;
};

struct AggregateOptions {
  int bootstrap_iters = 1000;
  uint64_t seed = 1234;
  double confidence = 0.95;
};

// Whether a metric (its name before any ",<pipeline>") is a per-sample score aggregated as a
// mean: exact_match, f1, acc, acc_norm, acc_bytes, math_equiv, pass@k.
bool IsMeanMetric(std::string_view metric);

Aggregate AggregateMean(const std::string& metric, const std::vector<double>& values,
                        const AggregateOptions& options = {});
// A group's mean metric from its members' (lm-eval's group aggregate with weight_by_size): the
// mean over all their samples, sum(n_i value_i) / N, and lm-eval's pooled sample stderr,
// sqrt(sum((n_i - 1) n_i stderr_i^2) / (N - k) / N) over the k members; no interval (NaN).
// Members with n = 0 or a NaN value are left out.
Aggregate PoolMeans(const std::string& metric, const std::vector<Aggregate>& members);
// `statistic(indices)` computes the metric over the samples at those indices (with repeats).
Aggregate AggregateCorpus(const std::string& metric, int64_t n,
                          const std::function<double(const std::vector<size_t>&)>& statistic,
                          const AggregateOptions& options = {});

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_METRICS_H_
