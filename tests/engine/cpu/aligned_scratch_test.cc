#include "engine/cpu/aligned_scratch.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace sigma {
namespace {

bool OnCacheLine(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

TEST(AlignedScratchTest, EverySizeStartsOnACacheLineAndIsWritable) {
  AlignedScratch<float> scratch;
  for (size_t n : {1u, 3u, 16u, 17u, 1000u, 4099u}) {
    float* p = scratch.Get(n);
    ASSERT_TRUE(OnCacheLine(p)) << "n " << n;
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<float>(i);  // ASan: all n are ours
    EXPECT_EQ(p[n - 1], static_cast<float>(n - 1));
  }
}

TEST(AlignedScratchTest, KeepsItsBufferUntilItMustGrow) {
  AlignedScratch<int16_t> scratch;
  int16_t* first = scratch.Get(100);
  EXPECT_EQ(scratch.Get(100), first);
  EXPECT_EQ(scratch.Get(7), first);
  int16_t* grown = scratch.Get(5000);
  EXPECT_TRUE(OnCacheLine(grown));
  EXPECT_EQ(scratch.Get(4000), grown);
}

}  // namespace
}  // namespace sigma
