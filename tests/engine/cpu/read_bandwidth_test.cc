#include "engine/cpu/read_bandwidth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace sigma {
namespace {

TEST(SumAsFloatsTest, SumsEveryFloatOfTheRange) {
  // 1.0f everywhere: the sum is the float count exactly (well under 2^24), on whichever path
  // (AVX-512 or AVX) this CPU takes; 0.5f in the last float shows the tail is read.
  constexpr size_t kFloats = 4096 + 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, kFloats * sizeof(float)));
  ASSERT_NE(p, nullptr);
  std::unique_ptr<float, void (*)(void*)> owner(p, std::free);
  for (size_t i = 0; i < kFloats; ++i) p[i] = 1.0f;
  const auto* bytes = reinterpret_cast<const uint8_t*>(p);
  EXPECT_EQ(SumAsFloats(bytes, kFloats * sizeof(float)), static_cast<float>(kFloats));
  p[kFloats - 1] = 0.5f;
  EXPECT_EQ(SumAsFloats(bytes, kFloats * sizeof(float)), static_cast<float>(kFloats) - 0.5f);
  EXPECT_EQ(SumAsFloats(bytes, 256), 64.0f);
}

TEST(SumAsFloatsDeathTest, RejectsARangeItCannotReadWhole) {
  alignas(64) static uint8_t buf[512] = {};
  EXPECT_DEATH(SumAsFloats(buf, 100), "SumAsFloats: 100 bytes");
  EXPECT_DEATH(SumAsFloats(buf + 4, 256), "4 mod 64");
}

TEST(ReadBandwidthProbeTest, RoundsToWholePiecesAndMeasuresAPositiveRate) {
  ReadBandwidthProbe probe(3 * ReadBandwidthProbe::kPieceBytes + 1);
  EXPECT_EQ(probe.bytes(), 4 * ReadBandwidthProbe::kPieceBytes);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    const double gbps = probe.Measure(pool, 2);
    // A rate, not a target: finite, positive and below any memory system's (1 TB/s).
    EXPECT_TRUE(std::isfinite(gbps)) << threads;
    EXPECT_GT(gbps, 0.0) << threads;
    EXPECT_LT(gbps, 1000.0) << threads;
  }
}

TEST(ReadBandwidthBracketTest, EndsWithTheMeanOfTwoPositiveMeasurements) {
  ReadBandwidthProbe probe(2 * ReadBandwidthProbe::kPieceBytes);
  ThreadPool pool(2);
  ReadBandwidthBracket bracket(probe, pool);
  const double mean = bracket.End();
  EXPECT_TRUE(std::isfinite(mean));
  EXPECT_GT(mean, 0.0);
  EXPECT_LT(mean, 1000.0);
}

TEST(ReadBandwidthProbeDeathTest, NeedsAtLeastOnePass) {
  ReadBandwidthProbe probe(ReadBandwidthProbe::kPieceBytes);
  ThreadPool pool(1);
  EXPECT_DEATH(probe.Measure(pool, 0), "passes 0");
}

}  // namespace
}  // namespace sigma
