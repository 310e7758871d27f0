#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

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

TEST(SamplerTest, ValidateRejectsBadParameters) {
  EXPECT_FALSE((SamplingParams{-1.0, 0, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, -2, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 0.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 1.5, 0}).Validate().ok());
  EXPECT_TRUE((SamplingParams{0.7, 40, 0.9, 1}).Validate().ok());
}

}  // namespace
}  // namespace sigma
