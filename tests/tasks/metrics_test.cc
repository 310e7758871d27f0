#include "tasks/metrics.h"

#include <cmath>

#include <gtest/gtest.h>

namespace sigma::tasks {
namespace {

TEST(MetricsTest, ExactMatchOptions) {
  auto plain = ExactMatcher::Create({}, "m");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(*plain->Matches("Paris", "Paris"));
  EXPECT_FALSE(*plain->Matches("paris", "Paris"));
  EXPECT_FALSE(*plain->Matches("Paris ", "Paris"));  // no implicit trimming
  auto relaxed = ExactMatcher::Create({true, true, {"\\$", "(?s).*#### "}}, "m");
  ASSERT_TRUE(relaxed.ok());
  EXPECT_TRUE(*relaxed->Matches("PARIS!", "paris"));
  EXPECT_TRUE(*relaxed->Matches("$1,200", "1200"));  // "$" removed, "," is punctuation
  EXPECT_TRUE(*relaxed->Matches("work\n#### 42", "42"));
  auto bad = ExactMatcher::Create({false, false, {"(("}}, "cfg.json: metrics[0]");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cfg.json: metrics[0].regexes_to_ignore[0]"),
            std::string::npos);
}

TEST(MetricsTest, TokenF1HandChecked) {
  EXPECT_DOUBLE_EQ(TokenF1("The cat sat", "a cat sat down"), 2 * (1.0 * 2.0 / 3) / (1 + 2.0 / 3));
  EXPECT_DOUBLE_EQ(TokenF1("Paris.", "paris"), 1.0);
  EXPECT_DOUBLE_EQ(TokenF1("Rome", "Paris"), 0.0);
  EXPECT_DOUBLE_EQ(TokenF1("", ""), 1.0);
  EXPECT_DOUBLE_EQ(TokenF1("the", "Paris"), 0.0);  // only an article left: empty vs non-empty
}

TEST(MetricsTest, BleuOnKnownExamples) {
  EXPECT_EQ(BleuTokens("the mat."), (std::vector<std::string>{"the", "mat", "."}));
  // Identical: 100.
  EXPECT_NEAR(CorpusBleu({ComputeBleuStats("the cat sat on the mat", {"the cat sat on the mat"})}),
              100.0, 1e-9);
  // "the cat is on the mat" vs "the cat sat on the mat": precisions 5/6, 3/5, 1/4 and 0/3; the
  // zero 4-gram precision is smoothed to (1/2)/3. Same length, so no brevity penalty.
  const double expected = 100.0 * std::pow((5.0 / 6) * (3.0 / 5) * (1.0 / 4) * (1.0 / 6), 0.25);
  EXPECT_NEAR(CorpusBleu({ComputeBleuStats("the cat is on the mat", {"the cat sat on the mat"})}),
              expected, 1e-9);
  EXPECT_NEAR(expected, 37.9918, 1e-3);
  // A perfect prefix of 5 tokens against 6: precisions 1, brevity exp(1 - 6/5).
  EXPECT_NEAR(CorpusBleu({ComputeBleuStats("the cat sat on the", {"the cat sat on the mat"})}),
              100.0 * std::exp(-0.2), 1e-9);
  // Corpus-level: statistics are summed before the precisions are taken.
  BleuStats a = ComputeBleuStats("the cat sat on the mat", {"the cat sat on the mat"});
  BleuStats b = ComputeBleuStats("a dog ran in the park", {"a dog ran in a park"});
  std::map<std::string, double> raw;
  AddBleuStats(b, &raw);
  BleuStats b2 = BleuStatsFrom(raw);
  EXPECT_EQ(b2.matches, b.matches);
  const double corpus = CorpusBleu({a, b2});
  // b: 5/6 unigrams, 3/5 bigrams, 2/4 trigrams, 1/3 4-grams; a: all match.
  const double p = (6.0 + 5) / 12 * (5.0 + 3) / 10 * (4.0 + 2) / 8 * (3.0 + 1) / 6;
  EXPECT_NEAR(corpus, 100.0 * std::pow(p, 0.25), 1e-9);
  // Multiple references: closest length, clipped by the max count in any reference.
  BleuStats multi = ComputeBleuStats("the the the", {"the cat", "the the x y z"});
  EXPECT_EQ(multi.matches[0], 2);
  EXPECT_EQ(multi.ref_length, 2);  // |3-2| = 1 beats |3-5| = 2
  EXPECT_EQ(CorpusBleu({ComputeBleuStats("", {"x"})}), 0.0);
}

TEST(MetricsTest, PassAtKExactValues) {
  EXPECT_DOUBLE_EQ(*PassAtK(5, 2, 1), 0.4);          // 1 - C(3,1)/C(5,1)
  EXPECT_DOUBLE_EQ(*PassAtK(5, 2, 2), 0.7);          // 1 - C(3,2)/C(5,2) = 1 - 3/10
  EXPECT_NEAR(*PassAtK(10, 3, 5), 1 - 21.0 / 252, 1e-15);  // 1 - C(7,5)/C(10,5)
  EXPECT_DOUBLE_EQ(*PassAtK(10, 0, 5), 0.0);
  EXPECT_DOUBLE_EQ(*PassAtK(10, 6, 5), 1.0);         // n - c < k
  EXPECT_DOUBLE_EQ(*PassAtK(1, 1, 1), 1.0);
  EXPECT_GT(*PassAtK(200, 13, 100), 0.9999);  // 1 - prod (i-100)/i over 13 terms, each < 0.5
  EXPECT_LT(*PassAtK(200, 13, 100), 1.0);
  auto bad = PassAtK(3, 1, 5);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("n=3"), std::string::npos);
  EXPECT_FALSE(PassAtK(3, 4, 1).ok());
  EXPECT_FALSE(PassAtK(3, 1, 0).ok());
}

TEST(MetricsTest, MeanWithAnalyticStderrAndSeededBootstrap) {
  const std::vector<double> values = {1, 0, 1, 1};
  Aggregate a = AggregateMean("acc", values);
  EXPECT_EQ(a.metric, "acc");
  EXPECT_EQ(a.n, 4);
  EXPECT_DOUBLE_EQ(a.value, 0.75);
  EXPECT_DOUBLE_EQ(a.stderr_value, 0.25);  // sd 0.5 / sqrt(4)
  EXPECT_LE(a.ci_low, a.value);
  EXPECT_GE(a.ci_high, a.value);
  EXPECT_GE(a.ci_low, 0.0);
  EXPECT_LE(a.ci_high, 1.0);
  Aggregate again = AggregateMean("acc", values);
  EXPECT_EQ(a.ci_low, again.ci_low);  // same seed, same interval
  EXPECT_EQ(a.ci_high, again.ci_high);
  AggregateOptions other;
  other.seed = 7;
  other.bootstrap_iters = 5000;
  std::vector<double> many;
  for (int i = 0; i < 400; ++i) many.push_back(i % 4 == 0 ? 0 : 1);
  Aggregate big = AggregateMean("acc", many, other);
  // The bootstrap interval approximates mean +- 1.96 SE.
  EXPECT_NEAR(big.ci_high - big.ci_low, 2 * 1.96 * big.stderr_value, 0.01);
  Aggregate empty = AggregateMean("acc", {});
  EXPECT_TRUE(std::isnan(empty.value));
  EXPECT_EQ(empty.n, 0);
  Aggregate one = AggregateMean("acc", {1});
  EXPECT_EQ(one.value, 1);
  EXPECT_TRUE(std::isnan(one.stderr_value));
}

TEST(MetricsTest, CorpusStatisticWithBootstrapStderr) {
  // Constant per-sample perplexity: the corpus value is that constant with zero spread.
  std::vector<double> ll = {-2, -2, -2}, tokens = {1, 1, 1};
  auto ppl = [&](const std::vector<size_t>& idx) {
    double l = 0, t = 0;
    for (size_t i : idx) {
      l += ll[i];
      t += tokens[i];
    }
    return std::exp(-l / t);
  };
  Aggregate a = AggregateCorpus("perplexity", 3, ppl);
  EXPECT_NEAR(a.value, std::exp(2.0), 1e-12);
  EXPECT_NEAR(a.stderr_value, 0.0, 1e-12);
  ll = {-1, -3, -2};
  tokens = {1, 3, 2};
  Aggregate b = AggregateCorpus("perplexity", 3, ppl);
  EXPECT_NEAR(b.value, std::exp(6.0 / 6.0), 1e-12);  // weighted by tokens, not mean of ppl
  EXPECT_EQ(CountWords("  two words\n"), 2);
}

// lm-eval's group aggregate (weight_by_size): its aggregate_subtask_metrics and
// pooled_sample_stderr give 0.4523809523809524 and 0.09193683131575153 for these members
// (lm-eval 0.4.13, lm_eval/api/metrics.py).
TEST(MetricsTest, PoolMeansIsLmEvalsGroupAggregate) {
  const std::vector<Aggregate> members = {{"acc", 0.3, 0.15, 0, 0, 10},
                                          {"acc", 0.75, 0.25, 0, 0, 4},
                                          {"acc", 0.5, 0.1, 0, 0, 7},
                                          {"acc", std::nan(""), 0, 0, 0, 0}};  // no samples
  const Aggregate pooled = PoolMeans("acc", members);
  EXPECT_EQ(pooled.metric, "acc");
  EXPECT_EQ(pooled.n, 21);
  EXPECT_NEAR(pooled.value, 0.4523809523809524, 1e-15);
  EXPECT_NEAR(pooled.stderr_value, 0.09193683131575153, 1e-15);
  EXPECT_TRUE(std::isnan(pooled.ci_low) && std::isnan(pooled.ci_high));
  EXPECT_TRUE(std::isnan(PoolMeans("acc", {}).value));
  EXPECT_TRUE(IsMeanMetric("exact_match,strict-match"));
  EXPECT_TRUE(IsMeanMetric("pass@10"));
  EXPECT_FALSE(IsMeanMetric("perplexity"));
  EXPECT_FALSE(IsMeanMetric("bleu,raw"));
}

}  // namespace
}  // namespace sigma::tasks
