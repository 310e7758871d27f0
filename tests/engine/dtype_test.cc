#include "engine/dtype.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace sigma {
namespace {

TEST(DTypeTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToF32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(F32ToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(Bf16ToF32(F32ToBf16(-INFINITY)), -INFINITY);
}

TEST(DTypeTest, F16MatchesHardwareRounding) {
  // Every f16 value round-trips exactly.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToF16(f), h) << "h=" << h;
  }
  // Random floats round to the nearest f16 (checked against a double-precision search).
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 20000; ++i) {
    const float f = dist(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 30));
    const uint16_t h = F32ToF16(f);
    const double got = F16ToF32(h);
    const double up = F16ToF32(static_cast<uint16_t>(h + 1));
    const double down = F16ToF32(static_cast<uint16_t>(h - 1));
    if (std::isinf(got)) continue;
    ASSERT_LE(std::fabs(got - f), std::fabs(up - f) + 1e-30) << f;
    ASSERT_LE(std::fabs(got - f), std::fabs(down - f) + 1e-30) << f;
  }
}

TEST(DTypeTest, BlockSizes) {
  EXPECT_EQ(DTypeBlockBytes(DType::kQ4_1), 20);
  EXPECT_EQ(DTypeBlockBytes(DType::kQ8_0), 34);
  EXPECT_EQ(DTypeBlockBytes(DType::kQ6_K), 210);
  EXPECT_EQ(DTypeBlockBytes(DType::kQ4_K), 144);
  EXPECT_EQ(DTypeBlockSize(DType::kQ4_K), 256);
}

}  // namespace
}  // namespace sigma
