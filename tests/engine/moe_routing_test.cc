// RouteToExperts and CombineExperts against a plain double-precision reading of transformers'
// routers: softmax over every expert, the top k (ties to the lower index), renormalised or not.
#include "engine/moe_routing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

namespace sigma {
namespace {

struct Choice {
  int64_t expert;
  double weight;
};

// Row r's experts in order of probability, in double.
std::vector<Choice> ReferenceChoices(const MoeConfig& moe, const float* logits) {
  const auto n = static_cast<size_t>(moe.num_experts);
  std::vector<double> p(n);
  const double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (size_t e = 0; e < n; ++e) sum += p[e] = std::exp(static_cast<double>(logits[e]) - max);
  for (double& v : p) v /= sum;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  std::vector<Choice> out;
  double top = 0;
  for (int64_t i = 0; i < moe.experts_per_token; ++i) top += p[order[i]];
  for (int64_t i = 0; i < moe.experts_per_token; ++i) {
    out.push_back({order[i], moe.norm_topk_prob ? p[order[i]] / top : p[order[i]]});
  }
  return out;
}

TEST(MoeRoutingTest, ChoosesAndWeighsAsTheReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (const auto& [experts, k] : {std::pair{6, 2}, std::pair{8, 3}, std::pair{61, 5},
                                   std::pair{128, 8}, std::pair{3, 3}, std::pair{1, 1}}) {
    for (const bool norm : {false, true}) {
      MoeConfig moe;
      moe.num_experts = experts;
      moe.experts_per_token = k;
      moe.norm_topk_prob = norm;
      const int64_t rows = 13;
      std::vector<float> logits(static_cast<size_t>(rows * experts));
      for (float& v : logits) v = normal(rng);
      std::vector<ExpertBatch> batches;
      RouteToExperts(moe, logits.data(), rows, &batches);
      // Back to each row's choices, and every batch's rows ascending.
      std::vector<std::vector<Choice>> got(static_cast<size_t>(rows));
      int64_t previous = -1;
      for (const ExpertBatch& b : batches) {
        EXPECT_GT(b.expert, previous);
        previous = b.expert;
        ASSERT_FALSE(b.rows.empty());
        EXPECT_TRUE(std::is_sorted(b.rows.begin(), b.rows.end()));
        for (size_t i = 0; i < b.rows.size(); ++i) {
          got[static_cast<size_t>(b.rows[i])].push_back({b.expert, b.weights[i]});
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<Choice> want = ReferenceChoices(moe, &logits[static_cast<size_t>(r * experts)]);
        std::vector<Choice>& row = got[static_cast<size_t>(r)];
        ASSERT_EQ(row.size(), static_cast<size_t>(k)) << experts << " experts, row " << r;
        std::sort(want.begin(), want.end(), [](auto a, auto b) { return a.expert < b.expert; });
        double sum = 0;
        for (int64_t i = 0; i < k; ++i) {
          EXPECT_EQ(row[i].expert, want[i].expert) << experts << " experts, row " << r;
          EXPECT_NEAR(row[i].weight, want[i].weight, 1e-6);
          sum += row[i].weight;
        }
        if (norm) {
          EXPECT_NEAR(sum, 1.0, 1e-6);
        }
      }
    }
  }
}

TEST(MoeRoutingTest, TiesGoToTheLowerExpert) {
  MoeConfig moe;
  moe.num_experts = 5;
  moe.experts_per_token = 2;
  const std::vector<float> logits = {0.5f, 1.0f, 0.5f, 1.0f, 1.0f};
  std::vector<ExpertBatch> batches;
  RouteToExperts(moe, logits.data(), 1, &batches);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].expert, 1);
  EXPECT_EQ(batches[1].expert, 3);
  EXPECT_FLOAT_EQ(batches[0].weights[0], batches[1].weights[0]);
}

// A broken model's NaN logits route the row somewhere (its outputs then NaN) without undefined
// behaviour in the sort: the numbers before NaNs, ties to the lower index.
TEST(MoeRoutingTest, NanLogitsStillRouteTheRow) {
  MoeConfig moe;
  moe.num_experts = 4;
  moe.experts_per_token = 2;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const std::vector<float>& logits :
       {std::vector<float>{nan, 1.0f, nan, 0.5f}, std::vector<float>{nan, nan, nan, nan}}) {
    std::vector<ExpertBatch> batches;
    RouteToExperts(moe, logits.data(), 1, &batches);
    size_t chosen = 0;
    for (const ExpertBatch& b : batches) chosen += b.rows.size();
    EXPECT_EQ(chosen, 2u);
  }
}

TEST(MoeRoutingTest, CombinesInBatchOrderWithTheSharedExpert) {
  // Two rows, width 3; row 0 routed to experts 2 and 5, row 1 to 5 only.
  std::vector<ExpertBatch> batches(2);
  batches[0] = {2, {0}, {0.25f}};
  batches[1] = {5, {0, 1}, {0.75f, 0.5f}};
  const std::vector<int64_t> offsets = RoutedRowOffsets(batches);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 3}));
  const std::vector<float> y = {1, 2, 3,   // expert 2, row 0
                                4, 5, 6,   // expert 5, row 0
                                7, 8, 9};  // expert 5, row 1
  std::vector<float> out(6, -1.0f);
  CombineExperts(batches, y.data(), 2, 3, nullptr, nullptr, out.data());
  EXPECT_EQ(out, (std::vector<float>{0.25f + 3.0f, 0.5f + 3.75f, 0.75f + 4.5f, 3.5f, 4.0f, 4.5f}));
  const std::vector<float> shared_y = {10, 10, 10, 20, 20, 20};
  const std::vector<float> gate = {0.0f, 2.0f};
  CombineExperts(batches, y.data(), 2, 3, shared_y.data(), gate.data(), out.data());
  const float s1 = 1.0f / (1.0f + std::exp(-2.0f));
  EXPECT_FLOAT_EQ(out[0], 3.25f + 5.0f);
  EXPECT_FLOAT_EQ(out[3], 3.5f + 20.0f * s1);
}

}  // namespace
}  // namespace sigma
