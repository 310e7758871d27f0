#include "engine/cpu/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tests/engine/cpu/cpu_test_util.h"

namespace sigma {
namespace {

using testing_util::AllPaths;
using testing_util::Encode;
using testing_util::Encoded;
using testing_util::KernelPathTest;
using testing_util::PathName;
using testing_util::RandomFloats;

TensorView View(DType dtype, std::vector<int64_t> shape, const std::vector<uint8_t>& bytes) {
  TensorView v;
  v.name = std::string("t");  // not = "t": GCC 12 warns (-Wrestrict) on that wrongly
  v.dtype = dtype;
  v.shape = std::move(shape);
  v.data = bytes.data();
  v.nbytes = bytes.size();
  return v;
}

class RmsNormTest : public KernelPathTest {};

// Every kernel family (the sum of squares is vectorised where AVX2 is), widths around its 16-wide
// steps and SmolLM2's 576.
TEST_P(RmsNormTest, MatchesDoubleReferenceForEachWeightType) {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t n : {1, 7, 15, 16, 17, 64, 576, 577}) {
      const int64_t rows = 3;
      const std::vector<float> x = RandomFloats(rows * n, 3, -4.0f, 4.0f);
      const Encoded w = Encode(RandomFloats(n, 4, 0.5f, 1.5f), dtype);
      std::vector<float> out(rows * n);
      RmsNorm(x.data(), View(dtype, {n}, w.bytes), 1e-5f, rows, n, out.data());
      for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
        const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
        for (int64_t i = 0; i < n; ++i) {
          const double ref = x[r * n + i] * inv * w.values[i];
          ASSERT_NEAR(out[r * n + i], ref, 1e-6 * (1 + std::fabs(ref)));
        }
      }
      // In place gives the same answer.
      std::vector<float> inplace = x;
      RmsNorm(inplace.data(), View(dtype, {n}, w.bytes), 1e-5f, rows, n, inplace.data());
      EXPECT_EQ(0, std::memcmp(inplace.data(), out.data(), out.size() * sizeof(float)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, RmsNormTest, AllPaths(), PathName);

TEST(ApplyRopeTest, RotateHalfPairing) {
  for (int head_dim : {2, 8, 64, 128}) {
    const int heads = 3;
    const int half = head_dim / 2;
    std::vector<float> inv_freq(half);
    for (int j = 0; j < half; ++j) inv_freq[j] = std::pow(50000.0f, -2.0f * j / head_dim);
    for (int64_t pos : {0, 1, 17, 16383}) {
      const std::vector<float> x = RandomFloats(heads * head_dim, 5);
      std::vector<float> y = x;
      ApplyRope(y.data(), heads, head_dim, pos, inv_freq.data());
      for (int h = 0; h < heads; ++h) {
        for (int j = 0; j < half; ++j) {
          const double angle = static_cast<float>(pos) * inv_freq[j];
          const double a = x[h * head_dim + j], b = x[h * head_dim + j + half];
          ASSERT_NEAR(y[h * head_dim + j], a * std::cos(angle) - b * std::sin(angle), 1e-6);
          ASSERT_NEAR(y[h * head_dim + j + half], b * std::cos(angle) + a * std::sin(angle), 1e-6);
        }
      }
    }
  }
}

// Partial RoPE (Phi-4-mini's 0.75): the first rotary_dim values of each head turn in pairs (j,
// j + rotary_dim / 2), the rest stay as they were.
TEST(ApplyRopeTest, PartialRotaryTurnsTheFirstDimensionsOnly) {
  const int heads = 2, head_dim = 24, rotary = 18, half = rotary / 2;
  std::vector<float> cos_v(half), sin_v(half);
  for (int j = 0; j < half; ++j) {
    cos_v[j] = std::cos(0.3f * (j + 1));
    sin_v[j] = std::sin(0.3f * (j + 1));
  }
  const std::vector<float> x = RandomFloats(heads * head_dim, 7);
  std::vector<float> y = x;
  RotateHalf(y.data(), heads, head_dim, rotary, cos_v.data(), sin_v.data());
  for (int h = 0; h < heads; ++h) {
    const float* a = &x[h * head_dim];
    const float* b = &y[h * head_dim];
    for (int j = 0; j < half; ++j) {
      EXPECT_FLOAT_EQ(b[j], a[j] * cos_v[j] - a[j + half] * sin_v[j]);
      EXPECT_FLOAT_EQ(b[j + half], a[j + half] * cos_v[j] + a[j] * sin_v[j]);
    }
    for (int d = rotary; d < head_dim; ++d) EXPECT_EQ(b[d], a[d]) << "dimension " << d;
  }
}

TEST(ApplyRopeTest, PositionZeroIsIdentity) {
  std::vector<float> inv_freq = {1.0f, 0.1f, 0.01f, 0.001f};
  const std::vector<float> x = RandomFloats(16, 6);
  std::vector<float> y = x;
  ApplyRope(y.data(), 2, 8, 0, inv_freq.data());
  EXPECT_EQ(x, y);
}

class SiluMulTest : public KernelPathTest {};

// Every kernel family against the formula in double: random gates over [-20, 20] and the edges
// (0, +-1e-30, the exp clamp at +-87.3, +-100), an odd length for the vector tail.
TEST_P(SiluMulTest, MatchesFormula) {
  std::vector<float> gate = RandomFloats(1001, 7, -20.0f, 20.0f);
  const float edges[] = {0.0f, 1e-30f, -1e-30f, 87.3f, -87.3f, 88.0f, -88.0f, 100.0f, -100.0f};
  for (size_t i = 0; i < std::size(edges); ++i) gate[i * 97] = edges[i];
  const std::vector<float> up = RandomFloats(1001, 8);
  std::vector<float> out = gate;
  SiluMul(out.data(), up.data(), static_cast<int64_t>(out.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const double g = gate[i];
    const double ref = g / (1.0 + std::exp(-g)) * up[i];
    ASSERT_NEAR(out[i], ref, 1e-6 * (1 + std::fabs(ref))) << "gate " << g;
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, SiluMulTest, AllPaths(), PathName);

class GeluMulTest : public KernelPathTest {};

// GELU's tanh approximation (every kernel family) and the exact GELU against their formulas in
// double: gates over [-12, 12] (past which the cubic's sigmoid saturates) and the edges, an odd
// length for the vector tail.
TEST_P(GeluMulTest, MatchesFormula) {
  std::vector<float> gate = RandomFloats(1001, 9, -12.0f, 12.0f);
  const float edges[] = {0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 100.0f, -100.0f};
  for (size_t i = 0; i < std::size(edges); ++i) gate[i * 97] = edges[i];
  const std::vector<float> up = RandomFloats(1001, 10);
  std::vector<float> tanh_out = gate;
  std::vector<float> erf_out = gate;
  GeluTanhMul(tanh_out.data(), up.data(), static_cast<int64_t>(gate.size()));
  GeluMul(erf_out.data(), up.data(), static_cast<int64_t>(gate.size()));
  const double sqrt_2_over_pi = std::sqrt(2.0 / 3.14159265358979323846);
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    const double tanh_ref =
        0.5 * g * (1.0 + std::tanh(sqrt_2_over_pi * (g + 0.044715 * g * g * g))) * up[i];
    const double erf_ref = 0.5 * g * (1.0 + std::erf(g / std::sqrt(2.0))) * up[i];
    ASSERT_NEAR(tanh_out[i], tanh_ref, 1e-6 * (1 + std::fabs(tanh_ref))) << "gate " << g;
    ASSERT_NEAR(erf_out[i], erf_ref, 1e-6 * (1 + std::fabs(erf_ref))) << "gate " << g;
  }
  // The two differ: the approximation is not the exact function.
  float g = 1.5f, u = 1.0f, e = 1.5f;
  GeluTanhMul(&g, &u, 1);
  GeluMul(&e, &u, 1);
  EXPECT_NE(g, e);
}

INSTANTIATE_TEST_SUITE_P(Paths, GeluMulTest, AllPaths(), PathName);

// gpt-oss's clamped SwiGLU against its formula in double: gates and ups on both sides of the limit
// (the gate clamped from above only, the up on both sides), NaN kept.
TEST(ClampedSwigluMulTest, MatchesFormula) {
  const float limit = 7.0f, alpha = 1.702f;
  std::vector<float> gate = RandomFloats(1001, 12, -20.0f, 20.0f);
  const std::vector<float> up = RandomFloats(1001, 13, -20.0f, 20.0f);
  std::vector<float> out = gate;
  ClampedSwigluMul(out.data(), up.data(), static_cast<int64_t>(out.size()), alpha, limit);
  int clamped_gates = 0, clamped_ups = 0;
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = std::min<double>(gate[i], limit);
    const double u = std::clamp<double>(up[i], -limit, limit);
    const double ref = (u + 1) * g / (1 + std::exp(-alpha * g));
    ASSERT_NEAR(out[i], ref, 2e-6 * (1 + std::fabs(ref))) << "gate " << gate[i] << " up " << up[i];
    clamped_gates += gate[i] > limit;
    clamped_ups += std::fabs(up[i]) > limit;
  }
  EXPECT_GT(clamped_gates, 100);
  EXPECT_GT(clamped_ups, 200);
  float nan_gate = NAN, one = 1.0f;
  ClampedSwigluMul(&nan_gate, &one, 1, alpha, limit);
  EXPECT_TRUE(std::isnan(nan_gate));
}

class SoftCapTest : public KernelPathTest {};

// Every kernel family against cap * tanh(x / cap) in double: values across the small-|y| series
// and the exp form (|x / cap| below and above 1/4), the edges, an odd length for the tail.
TEST_P(SoftCapTest, MatchesFormula) {
  for (const float cap : {30.0f, 0.04f}) {
    std::vector<float> x = RandomFloats(1001, 11, -3 * cap, 3 * cap);
    const float edges[] = {0.0f,         -0.0f, 1e-30f, -1e-30f,  0.25f * cap,
                           -0.25f * cap, 1e6f,  -1e6f,  100 * cap};
    for (size_t i = 0; i < std::size(edges); ++i) x[i * 97] = edges[i];
    std::vector<float> out = x;
    SoftCap(out.data(), static_cast<int64_t>(out.size()), cap);
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = cap * std::tanh(static_cast<double>(x[i]) / cap);
      ASSERT_NEAR(out[i], ref, 1e-6 * std::fabs(ref) + 1e-37) << "x " << x[i] << " cap " << cap;
      ASSERT_LE(std::fabs(out[i]), cap) << "x " << x[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, SoftCapTest, AllPaths(), PathName);

TEST(AddInPlaceTest, Adds) {
  std::vector<float> a = {1, 2, 3}, b = {0.5f, -2, 4};
  AddInPlace(a.data(), b.data(), 3);
  EXPECT_EQ(a, (std::vector<float>{1.5f, 0, 7}));
}

TEST(StoreRowTest, RoundsToNearestEvenPerDType) {
  const std::vector<float> x = RandomFloats(333, 9, -70000.0f, 70000.0f);
  std::vector<float> f32(x.size());
  StoreRow(x.data(), 333, DType::kF32, f32.data());
  EXPECT_EQ(f32, x);
  std::vector<uint16_t> half(x.size()), brain(x.size());
  StoreRow(x.data(), 333, DType::kF16, half.data());
  StoreRow(x.data(), 333, DType::kBF16, brain.data());
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(half[i], F32ToF16(x[i]));
    ASSERT_EQ(brain[i], F32ToBf16(x[i]));
  }
}

TEST(EmbeddingRowTest, DecodesTheRequestedRow) {
  const int64_t vocab = 11, hidden = 64;
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const Encoded table = Encode(RandomFloats(vocab * hidden, 10), dtype);
    std::vector<float> row(hidden);
    for (int64_t token : {0, 5, 10}) {
      EmbeddingRow(View(dtype, {vocab, hidden}, table.bytes), token, row.data());
      for (int64_t i = 0; i < hidden; ++i) ASSERT_EQ(row[i], table.values[token * hidden + i]);
    }
  }
  // Q8_0: one block per row, scale 0.5, values q.
  std::vector<uint8_t> q8(3 * 34);
  for (int r = 0; r < 3; ++r) {
    const uint16_t half = F32ToF16(0.5f);
    std::memcpy(q8.data() + 34 * r, &half, 2);
    for (int i = 0; i < 32; ++i) q8[34 * r + 2 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - r * 7));
  }
  std::vector<float> row(32);
  EmbeddingRow(View(DType::kQ8_0, {3, 32}, q8), 2, row.data());
  for (int i = 0; i < 32; ++i) EXPECT_EQ(row[i], 0.5f * (i - 14));
}

}  // namespace
}  // namespace sigma
