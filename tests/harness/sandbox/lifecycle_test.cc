// Concurrency, isolation between runs, the rlimit-only fallback, and a harness killed mid-run.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/harness/sandbox/sandbox_test_util.h"

namespace sigma::sandbox {
namespace {

using tasks::ExecRequest;
using tasks::ExecResult;
using tasks::Verdict;
using testing::Bash;
using testing::ProcessesWithMarker;
using testing::Shared;

TEST(LifecycleTest, ConcurrentRunsFromThreads) {
  BwrapSandbox* sandbox = Shared();
  ASSERT_NE(sandbox, nullptr);
  const int fds_before = CountOpenFds();
  constexpr int kThreads = 6;
  constexpr int kRunsEach = 5;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsEach; ++i) {
        std::string marker;
        std::string want = std::to_string(t) + "-" + std::to_string(i);
        ExecRequest request = Bash("echo " + want + " > /tmp/x; sleep 0.05; cat /tmp/x", &marker);
        StatusOr<ExecResult> r = sandbox->Run(request);
        if (!r.ok() || r->verdict != Verdict::kOk || r->stdout_data != want + "\n") {
          failures[t] = r.ok() ? r->stdout_data + r->stderr_data : r.status().ToString();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(CountOpenFds(), fds_before);
  EXPECT_EQ(testing::LeftoverCgroups(), 0);
  EXPECT_EQ(testing::ChildrenOfThisProcess(), 0) << "zombies or live children left";
}

TEST(LifecycleTest, ParallelRunsSeeOnlyTheirOwnWorkDir) {
  BwrapSandbox* sandbox = Shared();
  ASSERT_NE(sandbox, nullptr);
  std::string out[2];
  std::thread threads[2];
  for (int i = 0; i < 2; ++i) {
    threads[i] = std::thread([&, i] {
      std::string marker;
      ExecRequest request =
          Bash("echo mine" + std::to_string(i) + " > /tmp/x; sleep 0.3; cat /tmp/x; ls /box", &marker);
      StatusOr<ExecResult> r = sandbox->Run(request);
      out[i] = r.ok() ? r->stdout_data : r.status().ToString();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(out[0], "mine0\nx\n");
  EXPECT_EQ(out[1], "mine1\nx\n");
}

TEST(LifecycleTest, RlimitFallbackWithoutCgroups) {
  SandboxOptions options;
  options.use_cgroups = false;
  auto sandbox = BwrapSandbox::Create(options);
  ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
  std::string marker;
  ExecRequest hog = Bash("python3 -c 'b = bytearray(1 << 30)'", &marker);
  hog.limits.memory_mb = 256;
  StatusOr<ExecResult> r = (*sandbox)->Run(hog);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->verdict, Verdict::kMemory) << r->stderr_data;
  ExecRequest bomb = Bash("b(){ b|b & }; b; sleep 60", &marker);
  bomb.limits.pids = 32;
  bomb.limits.wall_ms = 1500;
  r = (*sandbox)->Run(bomb);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->verdict == Verdict::kTimeout || r->verdict == Verdict::kRuntimeError);
  EXPECT_EQ(ProcessesWithMarker(marker).size(), 0u);
  ExecRequest loop = Bash("while :; do :; done", &marker);
  loop.limits.cpu_ms = 1000;
  r = (*sandbox)->Run(loop);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->verdict, Verdict::kTimeout) << r->detail;
  EXPECT_EQ(ProcessesWithMarker(marker).size(), 0u);
}

// A harness process SIGKILLed while its sandbox runs. Normally everything inside dies with it
// (--die-with-parent). bwrap sets the namespace init's parent-death signal only after the command
// has started, so a harness killed in that first instant can leave the sandbox running; then the
// next BwrapSandbox::Create kills it through the dead harness's cgroups and removes them.
TEST(LifecycleTest, HarnessKilledMidRun) {
  ASSERT_NE(Shared(), nullptr);
  std::string marker;
  ExecRequest request = Bash("sleep 1000 & sleep 1000", &marker);
  request.limits.wall_ms = 60'000;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto sandbox = BwrapSandbox::Create();
    if (sandbox.ok()) (void)(*sandbox)->Run(request);
    _exit(0);
  }
  for (int i = 0; i < 200 && ProcessesWithMarker(marker).size() < 4; ++i) usleep(10'000);
  ASSERT_GE(ProcessesWithMarker(marker).size(), 4u) << "the sandbox never started";
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  for (int i = 0; i < 100 && !ProcessesWithMarker(marker).empty(); ++i) usleep(10'000);
  const size_t left_after_kill = ProcessesWithMarker(marker).size();
  auto fresh = BwrapSandbox::Create();  // cleans up after the dead harness
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(ProcessesWithMarker(marker).size(), 0u)
      << left_after_kill << " survived the harness and the next start's cleanup";
  if (left_after_kill > 0 && (*fresh)->cgroups().pids_parent.empty() &&
      (*fresh)->cgroups().v2_parent.empty()) {
    ADD_FAILURE() << "without cgroups nothing can clean up after bwrap's startup race";
  }
  const std::string prefix = "sigma-sbx-" + std::to_string(child) + "-";
  for (const std::string* parent : {&(*fresh)->cgroups().memory_parent,
                                    &(*fresh)->cgroups().pids_parent,
                                    &(*fresh)->cgroups().v2_parent}) {
    if (parent->empty()) continue;
    EXPECT_NE(access((*parent + "/" + prefix + "1").c_str(), F_OK), 0) << *parent;
  }
  // The dead harness's orphans were reparented to this process (a child subreaper): reap them.
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace
}  // namespace sigma::sandbox
