#include "reports/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sigma::reports {
namespace {

// SplitMix64: a tiny, well-mixed generator with a fully specified output sequence.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform index in [0, n) by multiply-shift (bias < n / 2^64, irrelevant here).
  size_t Index(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

// Continued fraction of the regularised incomplete beta function (modified Lentz).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    for (int step = 0; step < 2; ++step) {
      d = 1.0 + num * d;
      if (std::fabs(d) < kTiny) d = kTiny;
      c = 1.0 + num / c;
      if (std::fabs(c) < kTiny) c = kTiny;
      d = 1.0 / d;
      const double delta = c * d;
      h *= delta;
      if (step == 1 && std::fabs(delta - 1.0) < 1e-15) return h;
      num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    }
  }
  return h;
}

// Regularised incomplete beta I_x(a, b).
double IncompleteBeta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                           a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

// Number of ways to reach each U value for samples of sizes n1, n2 (no ties).
std::vector<double> ExactUCounts(int n1, int n2) {
  // counts[i][j][u]: built incrementally over (i, j) with the standard recurrence
  // f(i, j, u) = f(i - 1, j, u - j) + f(i, j - 1, u).
  const int max_u = n1 * n2;
  std::vector<std::vector<std::vector<double>>> f(
      n1 + 1, std::vector<std::vector<double>>(n2 + 1));
  for (int i = 0; i <= n1; ++i) {
    for (int j = 0; j <= n2; ++j) {
      f[i][j].assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        f[i][j][0] = 1.0;
        continue;
      }
      for (int u = 0; u <= i * j; ++u) {
        double v = 0;
        if (u - j >= 0 && u - j <= (i - 1) * j) v += f[i - 1][j][u - j];
        if (u <= i * (j - 1)) v += f[i][j - 1][u];
        f[i][j][u] = v;
      }
    }
  }
  std::vector<double> out = f[n1][n2];
  out.resize(max_u + 1, 0.0);
  return out;
}

}  // namespace

double Mean(const std::vector<double>& xs) {
  if (xs.empty()) return 0;
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

double SampleStd(const std::vector<double>& xs) {
  if (xs.size() < 2) return 0;
  const double m = Mean(xs);
  double ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(xs.size() - 1));
}

double Median(std::vector<double> xs) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double StudentTCdf(double t, double df) {
  const double tail = 0.5 * IncompleteBeta(df / 2.0, 0.5, df / (df + t * t));
  return t >= 0 ? 1.0 - tail : tail;
}

double McNemarExactP(int64_t b, int64_t c) {
  const int64_t n = b + c;
  if (n == 0) return 1.0;
  const int64_t k_max = std::min(b, c);
  // Sum of C(n, k) / 2^n for k <= k_max, in log space for large n.
  double sum = 0;
  const double log_half_n = -static_cast<double>(n) * std::log(2.0);
  for (int64_t k = 0; k <= k_max; ++k) {
    const double log_term = std::lgamma(static_cast<double>(n) + 1) -
                            std::lgamma(static_cast<double>(k) + 1) -
                            std::lgamma(static_cast<double>(n - k) + 1) + log_half_n;
    sum += std::exp(log_term);
  }
  return std::min(1.0, 2.0 * sum);
}

BootstrapResult PairedBootstrap(const std::vector<double>& diffs, int iterations, uint64_t seed,
                                double confidence) {
  BootstrapResult result;
  if (diffs.empty()) return result;
  result.mean_diff = Mean(diffs);
  if (iterations <= 0) {
    result.ci_low = result.ci_high = result.mean_diff;
    return result;
  }
  SplitMix64 rng(seed);
  std::vector<double> means(static_cast<size_t>(iterations));
  int64_t at_most_zero = 0, at_least_zero = 0;
  const size_t n = diffs.size();
  for (double& m : means) {
    double sum = 0;
    for (size_t k = 0; k < n; ++k) sum += diffs[rng.Index(n)];
    m = sum / static_cast<double>(n);
    if (m <= 0) ++at_most_zero;
    if (m >= 0) ++at_least_zero;
  }
  std::sort(means.begin(), means.end());
  const double alpha = (1.0 - confidence) / 2.0;
  const auto at = [&](double q) {
    const double pos = q * static_cast<double>(iterations - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (pos - static_cast<double>(lo)) * (means[hi] - means[lo]);
  };
  result.ci_low = at(alpha);
  result.ci_high = at(1.0 - alpha);
  const double tail = static_cast<double>(std::min(at_most_zero, at_least_zero)) / iterations;
  result.p_value = std::min(1.0, 2.0 * tail);
  return result;
}

MannWhitneyResult MannWhitneyU(const std::vector<double>& x, const std::vector<double>& y) {
  MannWhitneyResult r;
  const size_t n1 = x.size(), n2 = y.size();
  if (n1 == 0 || n2 == 0) return r;
  // Midranks of the pooled sample.
  std::vector<std::pair<double, int>> pooled;
  for (double v : x) pooled.push_back({v, 0});
  for (double v : y) pooled.push_back({v, 1});
  std::sort(pooled.begin(), pooled.end());
  const size_t n = pooled.size();
  double rank_sum_x = 0, tie_term = 0;
  bool ties = false;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    const double midrank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second == 0) rank_sum_x += midrank;
    }
    i = j;
  }
  const double d1 = static_cast<double>(n1), d2 = static_cast<double>(n2);
  r.u = rank_sum_x - d1 * (d1 + 1) / 2.0;
  const double mean_u = d1 * d2 / 2.0;
  if (!ties && n1 <= 30 && n2 <= 30) {
    const std::vector<double> counts = ExactUCounts(static_cast<int>(n1), static_cast<int>(n2));
    const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
    const double u_small = std::min(r.u, d1 * d2 - r.u);
    double tail = 0;
    for (int u = 0; u <= static_cast<int>(std::floor(u_small + 1e-9)); ++u) tail += counts[u];
    r.p_value = std::min(1.0, 2.0 * tail / total);
    r.exact = true;
    return r;
  }
  const double dn = d1 + d2;
  const double var = d1 * d2 / 12.0 * ((dn + 1) - tie_term / (dn * (dn - 1)));
  if (var <= 0) return r;  // all values equal: no evidence of a shift
  const double z = (std::fabs(r.u - mean_u) - 0.5) / std::sqrt(var);
  r.p_value = std::min(1.0, 2.0 * (1.0 - NormalCdf(std::max(0.0, z))));
  return r;
}

std::optional<WelchResult> WelchTTest(double mean1, double std1, int64_t n1, double mean2,
                                      double std2, int64_t n2) {
  if (n1 < 2 || n2 < 2) return std::nullopt;
  const double v1 = std1 * std1 / static_cast<double>(n1);
  const double v2 = std2 * std2 / static_cast<double>(n2);
  if (v1 + v2 <= 0) return std::nullopt;
  WelchResult r;
  r.t = (mean2 - mean1) / std::sqrt(v1 + v2);
  r.df = (v1 + v2) * (v1 + v2) /
         (v1 * v1 / static_cast<double>(n1 - 1) + v2 * v2 / static_cast<double>(n2 - 1));
  r.p_value = std::min(1.0, 2.0 * (1.0 - StudentTCdf(std::fabs(r.t), r.df)));
  return r;
}

}  // namespace sigma::reports
