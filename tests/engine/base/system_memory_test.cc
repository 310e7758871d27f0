#include "engine/base/system_memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace sigma {
namespace {

bool KernelHasThp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

TEST(SystemMemoryTest, SysfsChoiceIsTheBracketedWord) {
  EXPECT_EQ(SelectedSysfsChoice("always [madvise] never\n"), "madvise");
  EXPECT_EQ(SelectedSysfsChoice("[always] madvise never"), "always");
  EXPECT_EQ(SelectedSysfsChoice("always madvise [never]"), "never");
  EXPECT_EQ(SelectedSysfsChoice("always madvise never"), "");
  EXPECT_EQ(SelectedSysfsChoice("always [madvise never"), "");
  EXPECT_EQ(SelectedSysfsChoice(""), "");
  const std::string mode = TransparentHugePagesMode();
  EXPECT_TRUE(mode == "always" || mode == "madvise" || mode == "never" || mode == "unavailable")
      << mode;
  EXPECT_EQ(mode == "unavailable", !KernelHasThp());
}

TEST(SystemMemoryTest, CgroupLimitFilesParse) {
  EXPECT_EQ(ParseCgroupMemoryLimit("max\n"), 0u);
  EXPECT_EQ(ParseCgroupMemoryLimit("9223372036854771712\n"), 0u);  // v1's "unlimited"
  EXPECT_EQ(ParseCgroupMemoryLimit("1073741824\n"), size_t{1} << 30);
  EXPECT_EQ(ParseCgroupMemoryLimit("536870912"), size_t{512} << 20);
  EXPECT_EQ(ParseCgroupMemoryLimit(""), 0u);
  EXPECT_EQ(ParseCgroupMemoryLimit("12ab\n"), 0u);
  EXPECT_EQ(ParseCgroupMemoryLimit("-5\n"), 0u);
  EXPECT_EQ(ParseCgroupMemoryLimit("99999999999999999999999\n"), 0u);
}

TEST(SystemMemoryTest, UsableMemoryIsKnownAndAtMostTheMachines) {
  const size_t usable = UsableMemoryBytes();
  EXPECT_GT(usable, size_t{64} << 20);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  EXPECT_LE(usable, static_cast<size_t>(pages) * static_cast<size_t>(page));
}

}  // namespace
}  // namespace sigma
