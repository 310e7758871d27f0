// Crash safety of the results store: a child process inserting samples is SIGKILLed at random
// points, again and again, resuming each time. After every kill the database must pass
// integrity_check, hold every acknowledged sample, hold every sample either completely (all
// columns equal to what was written) or not at all, and keep the progress counter equal to the
// row count. Finally an uninterrupted child completes the run: every sample exactly once.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness/store/results_store.h"
#include "tests/harness/store/test_util.h"

namespace sigma::store {
namespace {

constexpr int kDocs = 1500;
constexpr const char* kTask = "crash_task";

RunSpec CrashSpec() { return RunSpec{"crash-fp", "{}", "m", "b", "h"}; }

// Deterministic content of doc i; the payload size varies so commits span several pages.
SampleRecord Expected(int64_t run_id, int i) {
  SampleRecord s;
  s.run_id = run_id;
  s.task = kTask;
  s.doc_id = "doc-" + std::to_string(i);
  s.doc_index = i;
  s.prompt = "prompt " + std::to_string(i);
  s.raw_output.assign(1000 + (i * 7919) % 30000, static_cast<char>('a' + i % 26));
  s.raw_output += std::string("\0\xff", 2);
  s.extracted = std::to_string(i * 3);
  s.metrics_json = "{\"acc\":" + std::to_string(i % 2) + "}";
  s.timings.new_tokens = i;
  return s;
}

// Child body: resume the run, insert what is missing, write each acknowledged index to `ack_fd`
// after its COMMIT returned. Never returns.
[[noreturn]] void ChildWriter(const std::string& path, int ack_fd) {
  auto store = ResultsStore::Open(path);
  if (!store.ok()) _exit(2);
  auto run = (*store)->BeginRun(CrashSpec());
  if (!run.ok()) _exit(3);
  if (!(*store)->SetTaskPlan(run->run.id, kTask, "1", kDocs).ok()) _exit(4);
  for (int i = 0; i < kDocs; ++i) {
    SampleRecord s = Expected(run->run.id, i);
    if (run->done.count({kTask, s.doc_id}) > 0) continue;
    s.segment = run->segment;
    auto inserted = (*store)->InsertSample(s);
    if (!inserted.ok() || !*inserted) _exit(5);
    const int32_t ack = i;
    if (write(ack_fd, &ack, sizeof(ack)) != sizeof(ack)) _exit(6);
  }
  if (!(*store)->FinishRun(run->run.id, RunState::kComplete).ok()) _exit(7);
  _exit(0);
}

struct ChildResult {
  bool exited_cleanly = false;
  int exit_code = -1;
  std::vector<int32_t> acks;
};

// Starts a writer. With kill_after_acks >= 0, kills it `extra` after it acknowledged that many
// samples (so the kill lands at a random point of a later transaction, independent of machine
// speed); otherwise waits for it to finish.
ChildResult RunChild(const std::string& path, int kill_after_acks,
                     std::chrono::microseconds extra) {
  int fds[2];
  SIGMA_CHECK(pipe2(fds, O_CLOEXEC) == 0);
  const pid_t pid = fork();
  SIGMA_CHECK(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    ChildWriter(path, fds[1]);
  }
  close(fds[1]);
  ChildResult result;
  int32_t ack = 0;
  if (kill_after_acks >= 0) {
    while (static_cast<int>(result.acks.size()) < kill_after_acks &&
           read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) {
      result.acks.push_back(ack);
    }
    std::this_thread::sleep_for(extra);
    kill(pid, SIGKILL);
  }
  while (read(fds[0], &ack, sizeof(ack)) == sizeof(ack)) result.acks.push_back(ack);
  close(fds[0]);
  int status = 0;
  SIGMA_CHECK(waitpid(pid, &status, 0) == pid);
  result.exited_cleanly = WIFEXITED(status);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

// Checks the invariants; returns the set of stored doc indexes.
std::set<int> CheckConsistent(const std::string& path, const std::set<int>& acked) {
  std::set<int> stored;
  if (access(path.c_str(), F_OK) != 0) {
    EXPECT_TRUE(acked.empty());
    return stored;
  }
  auto store = ResultsStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return stored;
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  auto runs = (*store)->ListRuns();
  EXPECT_TRUE(runs.ok());
  if (!runs.ok() || runs->empty()) {
    EXPECT_TRUE(acked.empty());
    return stored;
  }
  EXPECT_EQ(runs->size(), 1u) << "resume must reuse the run";
  const int64_t run_id = (*runs)[0].id;
  auto samples = (*store)->ReadSamples(run_id, kTask);
  EXPECT_TRUE(samples.ok());
  for (const SampleRecord& s : *samples) {
    const int i = static_cast<int>(s.doc_index.value_or(-1));
    SampleRecord want = Expected(run_id, i);
    EXPECT_EQ(s.doc_id, want.doc_id);
    EXPECT_EQ(s.prompt, want.prompt);
    EXPECT_TRUE(s.raw_output == want.raw_output) << "doc " << i << " raw_output differs";
    EXPECT_EQ(s.extracted, want.extracted);
    EXPECT_EQ(s.metrics_json, want.metrics_json);
    EXPECT_EQ(s.timings.new_tokens, want.timings.new_tokens);
    EXPECT_TRUE(stored.insert(i).second) << "duplicate doc " << i;
  }
  for (int i : acked) EXPECT_EQ(stored.count(i), 1u) << "acknowledged doc " << i << " lost";
  auto status = (*store)->GetRunStatus(run_id);
  EXPECT_TRUE(status.ok());
  if (status.ok()) {
    const int64_t counter = status->tasks.empty() ? 0 : status->tasks[0].done;
    EXPECT_EQ(counter, static_cast<int64_t>(stored.size())) << "counter and rows disagree";
  }
  return stored;
}

TEST(StoreCrashTest, SigkilledWriterLeavesAllOrNothingSamples) {
  ScratchDir dir;
  const std::string path = dir.File("crash.db");
  std::mt19937 rng(20261128);
  std::uniform_int_distribution<int> acks(0, 40);
  std::uniform_int_distribution<int> delay_us(0, 3'000);
  std::set<int> acked;
  int kills = 0;
  for (int iteration = 0; iteration < 25; ++iteration) {
    ChildResult child =
        RunChild(path, acks(rng), std::chrono::microseconds(delay_us(rng)));
    if (child.exited_cleanly) {
      ASSERT_EQ(child.exit_code, 0) << "child writer failed";
    } else {
      ++kills;
    }
    acked.insert(child.acks.begin(), child.acks.end());
    std::set<int> stored = CheckConsistent(path, acked);
    if (HasFailure()) return;
    // At most one sample per kill can be committed without its acknowledgement.
    EXPECT_LE(stored.size(), acked.size() + static_cast<size_t>(kills));
    if (child.exited_cleanly) break;
  }
  EXPECT_GT(kills, 20);
  ChildResult last = RunChild(path, -1, std::chrono::microseconds(0));
  ASSERT_TRUE(last.exited_cleanly);
  ASSERT_EQ(last.exit_code, 0);
  acked.insert(last.acks.begin(), last.acks.end());
  std::set<int> stored = CheckConsistent(path, acked);
  EXPECT_EQ(stored.size(), static_cast<size_t>(kDocs));
  auto store = ResultsStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto runs = (*store)->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].state, RunState::kComplete);
  EXPECT_GE((*runs)[0].segments, 2);
}

}  // namespace
}  // namespace sigma::store
