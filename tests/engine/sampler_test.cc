#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace sigma {
namespace {

TEST(SamplerTest, GreedyPicksArgmaxLowestIndexOnTies) {
  Sampler greedy(SamplingParams{});
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(greedy.Sample(logits), 1);
}

TEST(SamplerTest, SeededDrawsRepeatAndFollowTheDistribution) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplingParams params;
  params.temperature = 1.0;
  params.seed = 42;
  Sampler a(params), b(params);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const int32_t x = a.Sample(logits);
    ASSERT_EQ(x, b.Sample(logits));
    ++counts[x];
  }
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
}

TEST(SamplerTest, TopKAndTopPTruncate) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplingParams params;
  params.temperature = 1.0;
  params.top_k = 2;
  Sampler top_k(params);
  SamplingParams nucleus;
  nucleus.temperature = 1.0;
  nucleus.top_p = 0.45;
  Sampler top_p(nucleus);
  int saw_one = 0;
  for (int i = 0; i < 2000; ++i) {
    const int32_t k = top_k.Sample(logits);
    EXPECT_NE(k, 2);
    saw_one += k == 1;
    EXPECT_EQ(top_p.Sample(logits), 0);  // 0.5 >= 0.45 alone
  }
  EXPECT_GT(saw_one, 500);  // top-2 renormalised: P(1) = 0.375
}

// The draw over a whole vocabulary, sorted in full: what Sampler computes with its lazy sort.
// *rank: the drawn id's place in that order.
int32_t FullSortDraw(const std::vector<float>& logits, const SamplingParams& params,
                     std::mt19937_64& rng, size_t* rank) {
  std::vector<std::pair<float, int32_t>> c;
  for (size_t i = 0; i < logits.size(); ++i) c.emplace_back(logits[i], static_cast<int32_t>(i));
  std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  size_t keep = params.top_k > 0 ? std::min<size_t>(params.top_k, c.size()) : c.size();
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    p[i] = std::exp((double{c[i].first} - c[0].first) / params.temperature);
    sum += p[i];
  }
  if (params.top_p < 1.0) {
    double cumulative = 0, kept = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += p[i] / sum;
      kept += p[i];
      if (cumulative >= params.top_p) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    sum = kept;
  }
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
  double acc = 0;
  for (*rank = 0; *rank + 1 < keep; ++*rank) {
    acc += p[*rank];
    if (u < acc) break;
  }
  return c[*rank].second;
}

// A 49K-id vocabulary (SmolLM2's size) with ties and a long tail: the lazily sorted draws are the
// fully sorted ones, token for token, with and without top-k and top-p, at several temperatures.
TEST(SamplerTest, LazySortDrawsAsAFullSortOverALargeVocabulary) {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(49152);
  for (float& l : logits) l = std::round(normal(gen) * 8.0f) / 8.0f;  // many ties
  for (const auto& [temperature, top_k, top_p] :
       {std::tuple{1.0, 0, 1.0}, {0.7, 0, 0.9}, {1.3, 50, 1.0}, {1.0, 1000, 0.95}, {2.0, 0, 0.5}}) {
    SamplingParams params;
    params.temperature = temperature;
    params.top_k = top_k;
    params.top_p = top_p;
    params.seed = 11;
    Sampler sampler(params);
    std::mt19937_64 rng(params.seed);
    size_t deepest = 0;
    for (int i = 0; i < 120; ++i) {
      size_t rank = 0;
      const int32_t want = FullSortDraw(logits, params, rng, &rank);
      ASSERT_EQ(sampler.Sample(logits), want)
          << "draw " << i << " temperature " << temperature << " top_k " << top_k << " top_p "
          << top_p;
      deepest = std::max(deepest, rank);
    }
    // Wide distributions draw past the first sorted prefix (64), so the lazy sort grew.
    if (top_p >= 0.9 && (top_k == 0 || top_k > 64)) {
      EXPECT_GE(deepest, 64u) << temperature;
    }
  }
}

TEST(SamplerTest, ValidateRejectsBadParameters) {
  EXPECT_FALSE((SamplingParams{-1.0, 0, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, -2, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 0.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 1.5, 0}).Validate().ok());
  EXPECT_TRUE((SamplingParams{0.7, 40, 0.9, 1}).Validate().ok());
}

}  // namespace
}  // namespace sigma
