// Selective V's top-k selection (internal::SelectTopK) and the scan kernel it jumps with
// (first_not_below), on each kernel family, against a plain sort of (score, position).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "engine/cpu/attention_internal.h"
#include "tests/engine/cpu/cpu_test_util.h"

namespace sigma {
namespace {

using testing_util::AllPaths;
using testing_util::KernelPathTest;
using testing_util::PathName;
using testing_util::RandomFloats;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

class TopKTest : public KernelPathTest {
 protected:
  const internal::AttentionKernels& Kernels() const {
    switch (GetParam()) {
      case CpuIsa::kAvx2: return *internal::Avx2AttentionKernels(64);
      case CpuIsa::kAvx512Bf16: return *internal::Avx512AttentionKernels(64);
      case CpuIsa::kAvx512Amx: return *internal::AmxAttentionKernels(64);
      default: return internal::GenericAttentionKernels();
    }
  }
};

// The positions a full sort keeps: NaN first, then larger scores, ties to the later position
// (-0 and +0 tie); ascending.
std::vector<int32_t> ReferenceTopK(const std::vector<float>& s, int k) {
  std::vector<int32_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const bool a_nan = std::isnan(s[a]), b_nan = std::isnan(s[b]);
    if (a_nan != b_nan) return a_nan;
    if (!a_nan && s[a] != s[b]) return s[a] > s[b];
    return a > b;
  });
  order.resize(k);
  std::sort(order.begin(), order.end());
  return order;
}

// Score sequences that stress the selection: random, few distinct values (ties everywhere),
// rising (every score enters), falling (almost none does), and special values.
std::vector<std::pair<std::string, std::vector<float>>> Cases() {
  std::vector<std::pair<std::string, std::vector<float>>> cases;
  cases.emplace_back("random", RandomFloats(5000, 1, -4.0f, 4.0f));
  std::vector<float> few = RandomFloats(3001, 2);
  for (float& x : few) x = std::round(x * 2.0f);  // -2 .. 2
  cases.emplace_back("five values", few);
  std::vector<float> rising(2000), falling(2000);
  for (size_t i = 0; i < rising.size(); ++i) {
    rising[i] = 0.001f * static_cast<float>(i);
    falling[i] = -rising[i];
  }
  cases.emplace_back("rising", rising);
  cases.emplace_back("falling", falling);
  std::vector<float> special = RandomFloats(777, 3);
  special[5] = kNan;
  special[700] = kNan;
  special[9] = kInf;
  special[10] = -kInf;
  special[11] = 0.0f;
  special[12] = -0.0f;
  special[600] = -0.0f;
  cases.emplace_back("special", special);
  std::vector<float> zeros(300, 0.0f);
  for (size_t i = 0; i < zeros.size(); i += 3) zeros[i] = -0.0f;
  cases.emplace_back("signed zeros", zeros);
  return cases;
}

TEST_P(TopKTest, FirstNotBelowMatchesScalarDefinition) {
  for (const auto& [name, s] : Cases()) {
    for (float threshold : {-kInf, -1.0f, 0.0f, -0.0f, 0.5f, 3.9f, kInf, kNan}) {
      for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{8}, int64_t{17},
                        int64_t{33}, static_cast<int64_t>(s.size())}) {
        n = std::min<int64_t>(n, static_cast<int64_t>(s.size()));
        for (int64_t begin = 0; begin <= n; begin += std::max<int64_t>(1, n / 13)) {
          int64_t expected = begin;
          while (expected < n && s[expected] < threshold) ++expected;
          ASSERT_EQ(Kernels().first_not_below(s.data(), begin, n, threshold), expected)
              << name << " threshold " << threshold << " begin " << begin << " n " << n;
        }
      }
    }
  }
}

TEST_P(TopKTest, KeepsWhatAFullSortKeeps) {
  for (const auto& [name, s] : Cases()) {
    const int n = static_cast<int>(s.size());
    for (int k : {1, 2, 7, 100, n / 2, n - 1}) {
      std::vector<int32_t> idx;
      std::vector<float> w;
      internal::SelectTopK(s.data(), n, k, Kernels(), &idx, &w);
      ASSERT_EQ(idx, ReferenceTopK(s, k)) << name << " k " << k;
      ASSERT_EQ(w.size(), static_cast<size_t>(k));
    }
  }
}

TEST_P(TopKTest, WeightsAreTheKeptScoresSoftmax) {
  const std::vector<float> s = RandomFloats(4000, 4, -6.0f, 6.0f);
  std::vector<int32_t> idx;
  std::vector<float> w;
  internal::SelectTopK(s.data(), static_cast<int64_t>(s.size()), 50, Kernels(), &idx, &w);
  double max = -INFINITY, sum = 0;
  for (int32_t j : idx) max = std::max(max, static_cast<double>(s[j]));
  for (int32_t j : idx) sum += std::exp(s[j] - max);
  for (size_t i = 0; i < idx.size(); ++i) {
    EXPECT_NEAR(w[i], std::exp(s[idx[i]] - max) / sum, 1e-6) << "position " << idx[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, TopKTest, AllPaths(), PathName);

}  // namespace
}  // namespace sigma
