// Statistics for reports and run comparison: summary figures, McNemar's exact test, a seeded paired
// bootstrap, the Mann-Whitney U test and Welch's t test (from means, standard deviations and counts).
//
// Every test returns plain values; two-sided p-values. The bootstrap uses its own counter-based
// generator (SplitMix64) and integer index draw, so a given seed gives the same interval on every
// platform and standard library.
// Thread safety: pure functions.
#ifndef SIGMA_REPORTS_STATS_H_
#define SIGMA_REPORTS_STATS_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace sigma::reports {

double Mean(const std::vector<double>& xs);
// Sample standard deviation (n - 1); 0 for fewer than two values.
double SampleStd(const std::vector<double>& xs);
// Median (mean of the middle two for an even count); 0 for none.
double Median(std::vector<double> xs);

// Standard normal CDF.
double NormalCdf(double z);
// Student t CDF with `df` degrees of freedom (df > 0, real-valued).
double StudentTCdf(double t, double df);

// McNemar's exact test on the discordant pairs: b = base right / candidate wrong, c = base wrong /
// candidate right. Two-sided p = min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when
// b + c == 0.
double McNemarExactP(int64_t b, int64_t c);

struct BootstrapResult {
  double mean_diff = 0;  // mean of (candidate - base) over the pairs
  double ci_low = 0;     // percentile interval of the resampled means
  double ci_high = 0;
  double p_value = 1;    // two-sided: 2 * min(P(mean* <= 0), P(mean* >= 0)), capped at 1
};

// Paired bootstrap over per-item differences `diffs` (candidate - base): `iterations` resamples of
// n items drawn with replacement, `confidence` interval (e.g. 0.95). Deterministic for a seed.
BootstrapResult PairedBootstrap(const std::vector<double>& diffs, int iterations, uint64_t seed,
                                double confidence = 0.95);

struct MannWhitneyResult {
  double u = 0;        // U statistic of the first sample (pairs x > y, ties count 1/2)
  double p_value = 1;  // two-sided
  bool exact = false;  // exact permutation distribution (no ties, n1 * n2 small) vs normal approx.
};

// Mann-Whitney U test of x against y. Exact when there are no ties and both samples have at most
// 30 values; otherwise the normal approximation with tie correction and continuity correction.
// Empty input: u = 0, p = 1.
MannWhitneyResult MannWhitneyU(const std::vector<double>& x, const std::vector<double>& y);

struct WelchResult {
  double t = 0;
  double df = 0;
  double p_value = 1;  // two-sided
};

// Welch's unequal-variance t test from summary figures (mean, sample std, count per group).
// nullopt when a group has fewer than two values or both standard deviations are zero.
std::optional<WelchResult> WelchTTest(double mean1, double std1, int64_t n1, double mean2,
                                      double std2, int64_t n2);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_STATS_H_
