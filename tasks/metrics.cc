#include "tasks/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <random>

namespace sigma::tasks {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool IsPunct(char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; }

std::vector<std::string> SplitWhitespace(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !IsSpace(text[j])) ++j;
    if (j > i) out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::map<std::vector<std::string>, int> NGramCounts(const std::vector<std::string>& tokens,
                                                    size_t n) {
  std::map<std::vector<std::string>, int> counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
  }
  return counts;
}

double Percentile(std::vector<double> sorted_values, double q) {
  if (sorted_values.empty()) return kNaN;
  std::sort(sorted_values.begin(), sorted_values.end());
  const double pos = q * static_cast<double>(sorted_values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted_values.size() - 1);
  return sorted_values[lo] + (pos - static_cast<double>(lo)) * (sorted_values[hi] - sorted_values[lo]);
}

double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return kNaN;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Bootstrap replicates of `statistic` over n samples.
std::vector<double> Bootstrap(int64_t n,
                              const std::function<double(const std::vector<size_t>&)>& statistic,
                              const AggregateOptions& options) {
  std::mt19937_64 rng(options.seed);
  std::vector<double> replicates;
  std::vector<size_t> indices(static_cast<size_t>(n));
  for (int b = 0; b < options.bootstrap_iters; ++b) {
    for (size_t& i : indices) i = static_cast<size_t>(rng() % static_cast<uint64_t>(n));
    const double value = statistic(indices);
    if (std::isfinite(value)) replicates.push_back(value);
  }
  return replicates;
}

}  // namespace

StatusOr<ExactMatcher> ExactMatcher::Create(const Options& options, std::string_view where) {
  ExactMatcher matcher;
  matcher.options_ = options;
  for (size_t i = 0; i < options.regexes_to_ignore.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(Regex regex, Regex::Compile(options.regexes_to_ignore[i],
                                                       StrCat(where, ".regexes_to_ignore[", i, "]")));
    matcher.ignore_.push_back(std::make_shared<const Regex>(std::move(regex)));
  }
  return matcher;
}

StatusOr<std::string> ExactMatcher::Normalize(std::string_view text) const {
  std::string out(text);
  for (const auto& regex : ignore_) {
    SIGMA_ASSIGN_OR_RETURN(out, regex->ReplaceAll(out, ""));
  }
  if (options_.ignore_case) {
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (options_.ignore_punctuation) {
    out.erase(std::remove_if(out.begin(), out.end(), IsPunct), out.end());
  }
  return out;
}

StatusOr<bool> ExactMatcher::Matches(std::string_view prediction, std::string_view gold) const {
  SIGMA_ASSIGN_OR_RETURN(std::string p, Normalize(prediction));
  SIGMA_ASSIGN_OR_RETURN(std::string g, Normalize(gold));
  return p == g;
}

double TokenF1(std::string_view prediction, std::string_view gold) {
  auto normalize = [](std::string_view text) {
    std::string lowered;
    for (char c : text) {
      if (!IsPunct(c)) lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    std::vector<std::string> tokens;
    for (std::string& t : SplitWhitespace(lowered)) {
      if (t != "a" && t != "an" && t != "the") tokens.push_back(std::move(t));
    }
    return tokens;
  };
  const std::vector<std::string> p = normalize(prediction);
  const std::vector<std::string> g = normalize(gold);
  if (p.empty() || g.empty()) return p.empty() && g.empty() ? 1.0 : 0.0;
  std::map<std::string, int> gold_counts;
  for (const auto& t : g) ++gold_counts[t];
  int common = 0;
  for (const auto& t : p) {
    auto it = gold_counts.find(t);
    if (it != gold_counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / static_cast<double>(p.size());
  const double recall = static_cast<double>(common) / static_cast<double>(g.size());
  return 2 * precision * recall / (precision + recall);
}

std::vector<std::string> BleuTokens(std::string_view text) {
  std::string spaced;
  for (char c : text) {
    if (IsPunct(c)) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += c;
    }
  }
  return SplitWhitespace(spaced);
}

BleuStats ComputeBleuStats(std::string_view hypothesis, const std::vector<std::string>& refs) {
  BleuStats stats;
  const std::vector<std::string> hyp = BleuTokens(hypothesis);
  stats.hyp_length = static_cast<double>(hyp.size());
  std::vector<std::vector<std::string>> ref_tokens;
  for (const auto& r : refs) ref_tokens.push_back(BleuTokens(r));
  double best_len = 0;
  double best_diff = std::numeric_limits<double>::infinity();
  for (const auto& r : ref_tokens) {
    const double len = static_cast<double>(r.size());
    const double diff = std::fabs(len - stats.hyp_length);
    if (diff < best_diff || (diff == best_diff && len < best_len)) {
      best_diff = diff;
      best_len = len;
    }
  }
  stats.ref_length = best_len;
  for (size_t n = 1; n <= 4; ++n) {
    std::map<std::vector<std::string>, int> max_ref;
    for (const auto& r : ref_tokens) {
      for (const auto& [gram, count] : NGramCounts(r, n)) {
        max_ref[gram] = std::max(max_ref[gram], count);
      }
    }
    double matches = 0;
    double total = 0;
    for (const auto& [gram, count] : NGramCounts(hyp, n)) {
      total += count;
      auto it = max_ref.find(gram);
      if (it != max_ref.end()) matches += std::min(count, it->second);
    }
    stats.matches[n - 1] = matches;
    stats.totals[n - 1] = total;
  }
  return stats;
}

void AddBleuStats(const BleuStats& stats, std::map<std::string, double>* out) {
  for (int n = 0; n < 4; ++n) {
    (*out)[StrCat("bleu_match_", n + 1)] = stats.matches[n];
    (*out)[StrCat("bleu_total_", n + 1)] = stats.totals[n];
  }
  (*out)["bleu_hyp_len"] = stats.hyp_length;
  (*out)["bleu_ref_len"] = stats.ref_length;
}

BleuStats BleuStatsFrom(const std::map<std::string, double>& stats) {
  auto get = [&](const std::string& key) {
    auto it = stats.find(key);
    return it == stats.end() ? 0.0 : it->second;
  };
  BleuStats out;
  for (int n = 0; n < 4; ++n) {
    out.matches[n] = get(StrCat("bleu_match_", n + 1));
    out.totals[n] = get(StrCat("bleu_total_", n + 1));
  }
  out.hyp_length = get("bleu_hyp_len");
  out.ref_length = get("bleu_ref_len");
  return out;
}

double CorpusBleu(const std::vector<BleuStats>& samples) {
  BleuStats sum;
  for (const BleuStats& s : samples) {
    for (int n = 0; n < 4; ++n) {
      sum.matches[n] += s.matches[n];
      sum.totals[n] += s.totals[n];
    }
    sum.hyp_length += s.hyp_length;
    sum.ref_length += s.ref_length;
  }
  if (sum.hyp_length == 0) return 0.0;
  double log_precision = 0;
  double smooth = 1;
  for (int n = 0; n < 4; ++n) {
    if (sum.totals[n] == 0) return 0.0;  // hypotheses shorter than n tokens
    double matches = sum.matches[n];
    if (matches == 0) {
      smooth *= 2;
      matches = 1 / smooth;
    }
    log_precision += std::log(matches / sum.totals[n]);
  }
  const double brevity =
      sum.hyp_length < sum.ref_length ? std::exp(1 - sum.ref_length / sum.hyp_length) : 1.0;
  return 100.0 * brevity * std::exp(log_precision / 4);
}

StatusOr<double> PassAtK(int64_t n, int64_t c, int64_t k) {
  if (k < 1 || n < k || c < 0 || c > n) {
    return InvalidArgumentError("pass@", k, ": needs 1 <= k <= n and 0 <= c <= n, got n=", n,
                                " c=", c);
  }
  if (n - c < k) return 1.0;
  double fail = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) {
    fail *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  }
  return 1.0 - fail;
}

int64_t CountWords(std::string_view text) {
  return static_cast<int64_t>(SplitWhitespace(text).size());
}

bool IsMeanMetric(std::string_view metric) {
  const std::string_view base = metric.substr(0, metric.find(','));
  return base == "exact_match" || base == "f1" || base == "acc" || base == "acc_norm" ||
         base == "acc_bytes" || base == "math_equiv" || base.rfind("pass@", 0) == 0;
}

Aggregate PoolMeans(const std::string& metric, const std::vector<Aggregate>& members) {
  Aggregate a;
  a.metric = metric;
  a.ci_low = a.ci_high = kNaN;
  double sum = 0, pooled = 0;
  int64_t k = 0;
  for (const Aggregate& m : members) {
    if (m.n <= 0 || std::isnan(m.value)) continue;
    const auto n = static_cast<double>(m.n);
    sum += n * m.value;
    pooled += (n - 1) * n * m.stderr_value * m.stderr_value;
    a.n += m.n;
    ++k;
  }
  if (a.n == 0) {
    a.value = a.stderr_value = kNaN;
    return a;
  }
  const auto total = static_cast<double>(a.n);
  a.value = sum / total;
  a.stderr_value = a.n > k ? std::sqrt(pooled / static_cast<double>(a.n - k) / total) : kNaN;
  return a;
}

Aggregate AggregateMean(const std::string& metric, const std::vector<double>& values,
                        const AggregateOptions& options) {
  Aggregate a;
  a.metric = metric;
  a.n = static_cast<int64_t>(values.size());
  if (values.empty()) {
    a.value = a.stderr_value = a.ci_low = a.ci_high = kNaN;
    return a;
  }
  auto mean_of = [&](const std::vector<size_t>& indices) {
    double sum = 0;
    for (size_t i : indices) sum += values[i];
    return sum / static_cast<double>(indices.size());
  };
  std::vector<size_t> all(values.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  a.value = mean_of(all);
  a.stderr_value = StdDev(values) / std::sqrt(static_cast<double>(values.size()));
  const std::vector<double> reps = Bootstrap(a.n, mean_of, options);
  const double tail = (1 - options.confidence) / 2;
  a.ci_low = Percentile(reps, tail);
  a.ci_high = Percentile(reps, 1 - tail);
  return a;
}

Aggregate AggregateCorpus(const std::string& metric, int64_t n,
                          const std::function<double(const std::vector<size_t>&)>& statistic,
                          const AggregateOptions& options) {
  Aggregate a;
  a.metric = metric;
  a.n = n;
  if (n == 0) {
    a.value = a.stderr_value = a.ci_low = a.ci_high = kNaN;
    return a;
  }
  std::vector<size_t> all(static_cast<size_t>(n));
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  a.value = statistic(all);
  const std::vector<double> reps = Bootstrap(n, statistic, options);
  a.stderr_value = n < 2 ? kNaN : StdDev(reps);
  const double tail = (1 - options.confidence) / 2;
  a.ci_low = Percentile(reps, tail);
  a.ci_high = Percentile(reps, 1 - tail);
  return a;
}

}  // namespace sigma::tasks
