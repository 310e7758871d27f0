// Soak: a few hundred short runs (some leaving daemons behind) must leak no processes, no fds, no
// cgroups and no temp dirs. Labelled slow.
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/harness/sandbox/sandbox_test_util.h"

namespace sigma::sandbox {
namespace {

using tasks::ExecRequest;
using tasks::ExecResult;
using tasks::Verdict;

TEST(SoakTest, HundredsOfRunsLeakNothing) {
  BwrapSandbox* sandbox = testing::Shared();
  ASSERT_NE(sandbox, nullptr);
  const int fds_before = CountOpenFds();
  const std::string host_before = testing::HostSnapshot();
  constexpr int kRuns = 300;
  std::vector<std::string> markers;
  int ok = 0;
  for (int i = 0; i < kRuns; ++i) {
    std::string marker;
    const char* script = i % 3 == 0   ? "echo $RANDOM"
                         : i % 3 == 1 ? "setsid sleep 100 & echo daemon"
                                      : "echo f > /tmp/f; (sleep 50; echo late) & exit 3";
    ExecRequest request = testing::Bash(script, &marker);
    request.files["in.txt"] = std::to_string(i);
    StatusOr<ExecResult> r = sandbox->Run(request);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ok += r->verdict == (i % 3 == 2 ? Verdict::kRuntimeError : Verdict::kOk);
    markers.push_back(marker);
  }
  EXPECT_EQ(ok, kRuns);
  for (const std::string& marker : markers) {
    EXPECT_EQ(testing::ProcessesWithMarker(marker).size(), 0u) << marker;
  }
  EXPECT_EQ(CountOpenFds(), fds_before);
  EXPECT_EQ(testing::ChildrenOfThisProcess(), 0) << "zombies or live children left";
  EXPECT_EQ(testing::LeftoverCgroups(), 0);
  EXPECT_EQ(testing::HostSnapshot(), host_before);
  // Other programs may use /tmp meanwhile; the sandbox itself must add nothing there.
  EXPECT_EQ(testing::DirListing("/tmp").find("sigma-sbx"), std::string::npos);
}

}  // namespace
}  // namespace sigma::sandbox
