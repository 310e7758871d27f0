#include "engine/base/large_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>

#include "tests/engine/base/smaps.h"

namespace sigma {
namespace {

using testing::RssKibOf;
using testing::VmFlagsOf;

bool KernelHasThp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

TEST(LargeBufferTest, ZeroFilledWritableAndAlignedToAHugePage) {
  for (size_t bytes : {size_t{1}, size_t{4096}, size_t{3} << 20, (size_t{5} << 20) + 17}) {
    StatusOr<LargeBuffer> buffer = LargeBuffer::Allocate(bytes, /*huge_pages=*/true);
    ASSERT_TRUE(buffer.ok()) << buffer.status().message();
    const LargeBuffer& b = buffer.value();
    ASSERT_EQ(b.size(), bytes);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(b.data()) % LargeBuffer::kHugePageBytes, 0u);
    for (size_t i = 0; i < bytes; i += 4093) ASSERT_EQ(b.data()[i], 0) << i;
    EXPECT_EQ(b.data()[bytes - 1], 0);
    b.data()[0] = 1;
    b.data()[bytes - 1] = 2;  // ASan / a fault if the last byte were not ours
    EXPECT_EQ(b.data()[bytes - 1], 2);
  }
}

TEST(LargeBufferTest, EmptyBufferHasNoData) {
  StatusOr<LargeBuffer> buffer = LargeBuffer::Allocate(0, true);
  ASSERT_TRUE(buffer.ok());
  EXPECT_EQ(buffer.value().data(), nullptr);
  EXPECT_EQ(buffer.value().size(), 0u);
}

TEST(LargeBufferTest, MovingKeepsTheBytesInPlace) {
  LargeBuffer a = LargeBuffer::Allocate(1 << 20, false).value();
  a.data()[123] = 45;
  uint8_t* where = a.data();
  LargeBuffer b = std::move(a);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), where);
  EXPECT_EQ(b.data()[123], 45);
  LargeBuffer c = LargeBuffer::Allocate(4096, false).value();
  c = std::move(b);  // c's own mapping is released, b's moves in
  EXPECT_EQ(c.data(), where);
  EXPECT_EQ(c.size(), size_t{1} << 20);
}

// Commit makes the range resident now (whole pages around it, no more on 4 KiB pages) and keeps
// what was written there; the rest of the reservation stays uncommitted.
TEST(LargeBufferTest, CommitMakesTheRangeResidentAndKeepsItsBytes) {
  LargeBuffer b = LargeBuffer::Allocate(size_t{8} << 20, /*huge_pages=*/false).value();
  const int64_t before = RssKibOf(b.data());
  ASSERT_GE(before, 0) << "no mapping in /proc/self/smaps holds the buffer";
  b.data()[(size_t{1} << 20) + 5] = 7;
  b.Commit((size_t{1} << 20) + 5, size_t{1} << 20);  // 1 MiB from an unaligned start: 257 pages
  const int64_t after = RssKibOf(b.data());
  EXPECT_GE(after - before, 1024);
  EXPECT_LE(after - before, 1032);
  EXPECT_EQ(b.data()[(size_t{1} << 20) + 5], 7);
  for (size_t i = size_t{1} << 20; i < size_t{2} << 20; i += 4096) ASSERT_EQ(b.data()[i + 6], 0);
  b.Commit(0, 0);  // nothing
  EXPECT_EQ(RssKibOf(b.data()), after);
  b.Commit(0, b.size());
  EXPECT_GE(RssKibOf(b.data()), 8 * 1024);
}

TEST(LargeBufferDeathTest, CommitPastTheEndIsABug) {
  LargeBuffer b = LargeBuffer::Allocate(1 << 20, false).value();
  EXPECT_DEATH(b.Commit(4096, 1 << 20), "LargeBuffer::Commit");
}

// The advice reaches the kernel: the mapping carries the "hg" (MADV_HUGEPAGE) flag exactly when
// huge pages were asked for. Whether 2 MiB pages are then granted depends on the machine.
TEST(LargeBufferTest, HugePagesAreAdvisedOnlyWhenAskedFor) {
  if (!KernelHasThp()) GTEST_SKIP() << "this kernel has no transparent huge pages";
  for (bool huge : {true, false}) {
    LargeBuffer b = LargeBuffer::Allocate(size_t{4} << 20, huge).value();
    const std::string flags = VmFlagsOf(b.data());
    ASSERT_FALSE(flags.empty()) << "no mapping in /proc/self/smaps holds the buffer";
    EXPECT_EQ(flags.find(" hg") != std::string::npos, huge) << flags;
  }
}

}  // namespace
}  // namespace sigma
