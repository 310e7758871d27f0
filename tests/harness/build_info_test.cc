// The machine a run or bench row records (harness/build_info.h).
#include "harness/build_info.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace sigma {
namespace {

TEST(CpuModelNameTest, FirstModelNameLineTrimmed) {
  EXPECT_EQ(CpuModelName("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 167\n"
                         "model name\t: Intel(R) Xeon(R) Processor  \nmodel name\t: Other\n"),
            "Intel(R) Xeon(R) Processor");
  EXPECT_EQ(CpuModelName("model name\t: AMD EPYC 9R14 96-Core Processor\r\n"),
            "AMD EPYC 9R14 96-Core Processor");
}

TEST(CpuModelNameTest, NoneWhereTheTextHasNoModelName) {
  EXPECT_EQ(CpuModelName(""), "");
  EXPECT_EQ(CpuModelName("processor\t: 0\nmodel\t\t: 167\nmodel name\n"), "");
  EXPECT_EQ(CpuModelName("model name\t:   \n"), "");
}

TEST(HostNameTest, NamesTheHostAndItsCpus) {
  char host[256] = {0};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  const std::string name = HostName();
  EXPECT_EQ(name.rfind(std::string(host) + " (", 0), 0u) << name;
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  const std::string count = std::to_string(cpus) + (cpus == 1 ? " CPU)" : " CPUs)");
  ASSERT_GE(name.size(), count.size());
  EXPECT_EQ(name.substr(name.size() - count.size()), count) << name;
}

}  // namespace
}  // namespace sigma
