#include "harness/store/results_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "harness/store/sqlite.h"
#include "tests/harness/store/test_util.h"

namespace sigma::store {
namespace {

RunSpec Spec(const std::string& fingerprint) {
  return RunSpec{fingerprint, R"({"tasks":["arc_easy"],"seed":1234})", "smollm2-135m",
                 "test-build", "testhost"};
}

SampleRecord Sample(int64_t run_id, const std::string& task, const std::string& doc_id) {
  SampleRecord s;
  s.run_id = run_id;
  s.task = task;
  s.doc_id = doc_id;
  s.prompt = "Question: " + doc_id;
  s.raw_output = "answer " + doc_id;
  s.extracted = doc_id;
  s.metrics_json = R"({"acc":1})";
  return s;
}

TEST(ResultsStoreTest, HostileBytesRoundTripExactly) {
  ScratchDir dir;
  auto store = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto run = (*store)->CreateRun(Spec("fp"));
  ASSERT_TRUE(run.ok()) << run.status().ToString();

  const char kHostile[] = "a\0b\xff\xfe\xc3(\x80 \x1b]0;title\x07</td><script>";
  const std::string hostile(kHostile, sizeof(kHostile) - 1);
  ASSERT_EQ(hostile.size(), 32u);
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  SampleRecord s = Sample(run->run.id, "t", std::string("doc\0id\xff", 7));
  s.prompt = hostile;
  s.raw_output = big;
  s.extracted = std::string("\0", 1);
  s.target = std::string();  // empty but present
  s.error = std::string("err\xff", 4);
  s.timings.prompt_tokens = 12;
  s.timings.reused_tokens = 8;
  s.timings.ttft_ms = 3.5;
  s.timings.kv_bytes = int64_t{1} << 40;
  auto inserted = (*store)->InsertSample(s);
  ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  EXPECT_TRUE(*inserted);

  auto back = (*store)->ReadSamples(run->run.id, "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 1u);
  const SampleRecord& r = (*back)[0];
  EXPECT_EQ(r.doc_id, s.doc_id);
  EXPECT_EQ(r.prompt, hostile);
  EXPECT_EQ(r.raw_output.size(), big.size());
  EXPECT_TRUE(r.raw_output == big);
  EXPECT_EQ(r.extracted, s.extracted);
  ASSERT_TRUE(r.target.has_value());
  EXPECT_EQ(*r.target, "");
  EXPECT_EQ(r.error, s.error);
  EXPECT_EQ(r.timings.prompt_tokens, 12);
  EXPECT_EQ(r.timings.reused_tokens, 8);
  EXPECT_FALSE(r.timings.new_tokens.has_value());
  EXPECT_EQ(r.timings.ttft_ms, 3.5);
  EXPECT_EQ(r.timings.kv_bytes, int64_t{1} << 40);
  // raw_output is a BLOB in SQL too (reports read it with CAST or as bytes).
  auto type = Statement::Prepare((*store)->raw_db(), "SELECT typeof(raw_output) FROM samples");
  ASSERT_TRUE(type.ok());
  ASSERT_TRUE(*type->Step());
  EXPECT_EQ(type->ColumnBytes(0), "blob");
}

TEST(ResultsStoreTest, InvalidMetricsJsonIsRejected) {
  ScratchDir dir;
  auto store = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(store.ok());
  auto run = (*store)->CreateRun(Spec("fp"));
  ASSERT_TRUE(run.ok());
  SampleRecord s = Sample(run->run.id, "t", "d");
  s.metrics_json = "{not json";
  auto inserted = (*store)->InsertSample(s);
  EXPECT_FALSE(inserted.ok());
  auto status = (*store)->GetRunStatus(run->run.id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->done, 0);
}

TEST(ResultsStoreTest, ResumeReusesRunAndReportsDoneSamples) {
  ScratchDir dir;
  const std::string path = dir.File("r.db");
  int64_t run_id = 0;
  {
    auto store = ResultsStore::Open(path);
    ASSERT_TRUE(store.ok());
    auto run = (*store)->BeginRun(Spec("fp-A"));
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    EXPECT_FALSE(run->resumed);
    EXPECT_TRUE(run->done.empty());
    run_id = run->run.id;
    ASSERT_TRUE((*store)->SetTaskPlan(run_id, "arc_easy", "1", 3).ok());
    ASSERT_TRUE((*store)->SetTaskPlan(run_id, "gsm8k", "2", 2).ok());
    ASSERT_TRUE(*(*store)->InsertSample(Sample(run_id, "arc_easy", "0")));
    ASSERT_TRUE(*(*store)->InsertSample(Sample(run_id, "gsm8k", "0")));
    // Crash here: the run stays "running".
  }
  auto store = ResultsStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto resumed = (*store)->BeginRun(Spec("fp-A"));
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->run.id, run_id);
  EXPECT_EQ(resumed->segment, 2);
  EXPECT_EQ(resumed->done, (std::set<SampleKey>{{"arc_easy", "0"}, {"gsm8k", "0"}}));

  // Inserting an already stored sample is a no-op, not an error and not a duplicate.
  SampleRecord again = Sample(run_id, "arc_easy", "0");
  again.raw_output = "different";
  auto dup = (*store)->InsertSample(again);
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(*dup);
  SampleRecord next = Sample(run_id, "arc_easy", "1");
  next.segment = resumed->segment;
  next.error = "backend failed";
  ASSERT_TRUE(*(*store)->InsertSample(next));

  auto status = (*store)->GetRunStatus(run_id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->done, 3);
  EXPECT_EQ(status->total, 5);
  EXPECT_EQ(status->errors, 1);
  ASSERT_EQ(status->tasks.size(), 2u);
  EXPECT_EQ(status->tasks[0].task, "arc_easy");
  EXPECT_EQ(status->tasks[0].done, 2);
  EXPECT_EQ(status->tasks[0].total, 3);
  EXPECT_EQ(status->tasks[1].version, "2");
  auto stored = (*store)->ReadSamples(run_id, "arc_easy");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)[0].raw_output, "answer 0");

  // A failed sample is reported on resume and may be retried: the retry replaces it.
  auto again_session = (*store)->ResumeRun(run_id, Spec("fp-A"));
  ASSERT_TRUE(again_session.ok());
  EXPECT_EQ(again_session->failed, (std::set<SampleKey>{{"arc_easy", "1"}}));
  EXPECT_EQ(again_session->done.size(), 3u);
  SampleRecord retry = Sample(run_id, "arc_easy", "1");
  retry.raw_output = "retried";
  auto replaced = (*store)->InsertSample(retry);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_TRUE(*replaced);
  EXPECT_FALSE(*(*store)->InsertSample(retry));  // now done for good
  status = (*store)->GetRunStatus(run_id);
  EXPECT_EQ(status->done, 3);
  EXPECT_EQ(status->errors, 0);
  EXPECT_EQ((*(*store)->ReadSamples(run_id, "arc_easy"))[1].raw_output, "retried");

  ASSERT_TRUE((*store)->FinishRun(run_id, RunState::kComplete).ok());
  auto runs = (*store)->ListRuns();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].state, RunState::kComplete);
  EXPECT_FALSE((*runs)[0].finished_at.empty());
  EXPECT_EQ((*runs)[0].model, "smollm2-135m");

  // A different fingerprint starts a separate run.
  auto other = (*store)->BeginRun(Spec("fp-B"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->resumed);
  EXPECT_NE(other->run.id, run_id);
}

TEST(ResultsStoreTest, ResumeWithChangedFingerprintIsRefused) {
  ScratchDir dir;
  auto store = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(store.ok());
  auto run = (*store)->CreateRun(Spec("aaaa1111"));
  ASSERT_TRUE(run.ok());
  // The refusal names what changed (a new build was once reported as "the model, task files or
  // run config changed", which sent users looking in the wrong place).
  RunSpec changed = Spec("bbbb2222");
  changed.config_json = R"({"tasks":["arc_easy","mmlu"],"seed":1234,"engine_build":"b2"})";
  auto bad = (*store)->ResumeRun(run->run.id, changed);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
  const std::string msg = bad.status().message();
  EXPECT_NE(msg.find("its configuration changed since it started"), std::string::npos) << msg;
  EXPECT_NE(msg.find("aaaa1111"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bbbb2222"), std::string::npos) << msg;
  EXPECT_NE(msg.find("; tasks[1]: (absent) -> \"mmlu\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("; engine_build: (absent) -> \"b2\""), std::string::npos) << msg;
  EXPECT_EQ(msg.find("seed"), std::string::npos) << msg;  // unchanged
  auto missing = (*store)->ResumeRun(run->run.id + 10, Spec("aaaa1111"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto good = (*store)->ResumeRun(run->run.id, Spec("aaaa1111"));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->resumed);
}

TEST(ResultsStoreTest, TaskResultsAndSpeedRows) {
  ScratchDir dir;
  auto store = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(store.ok());
  auto run = (*store)->CreateRun(Spec("fp"));
  ASSERT_TRUE(run.ok());
  const int64_t id = run->run.id;
  ASSERT_TRUE((*store)->WriteTaskResults(id, "gsm8k", {{"exact_match", 0.5, 0.1, 0.3, 0.7, 10},
                                                       {"acc", std::nullopt, {}, {}, {}, 0}})
                  .ok());
  // Rewriting replaces, never duplicates.
  ASSERT_TRUE((*store)->WriteTaskResults(id, "gsm8k", {{"exact_match", 0.6, 0.1, 0.4, 0.8, 10}})
                  .ok());
  auto rows = (*store)->ReadTaskResults(id, "gsm8k");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, 0.6);
  EXPECT_EQ((*rows)[0].n, 10);

  BenchRunSpec spec;
  spec.config_json = R"({"model":"sigma-1.5b"})";
  spec.device = "cpu";
  auto bench = (*store)->CreateBenchRun(spec);
  ASSERT_TRUE(bench.ok()) << bench.status().ToString();
  SpeedRow speed;
  speed.bench_id = *bench;
  speed.context_length = 4096;
  speed.batch = 1;
  speed.phase = "decode";
  speed.repetitions = 5;
  speed.tokens_per_s_mean = 42.5;
  speed.tokens_per_s_std = 0.5;
  EXPECT_TRUE((*store)->InsertSpeed(speed).ok());
  speed.run_id = id;  // both set: refused
  EXPECT_EQ((*store)->InsertSpeed(speed).status().code(), StatusCode::kInvalidArgument);
  speed.bench_id.reset();
  EXPECT_TRUE((*store)->InsertSpeed(speed).ok());
  EXPECT_TRUE((*store)->FinishBenchRun(*bench, RunState::kComplete).ok());
  EXPECT_EQ((*store)->FinishBenchRun(*bench + 5, RunState::kComplete).code(),
            StatusCode::kNotFound);
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
}

TEST(ResultsStoreTest, ReaderSeesConsistentProgressWhileWriterRuns) {
  ScratchDir dir;
  const std::string path = dir.File("r.db");
  auto writer = ResultsStore::Open(path);
  ASSERT_TRUE(writer.ok());
  auto run = (*writer)->CreateRun(Spec("fp"));
  ASSERT_TRUE(run.ok());
  const int64_t id = run->run.id;
  constexpr int kSamples = 400;
  ASSERT_TRUE((*writer)->SetTaskPlan(id, "t", "1", kSamples).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::string reader_error;
  std::thread reader([&] {
    auto store = ResultsStore::Open(path, StoreOptions{.read_only = true});
    if (!store.ok()) {
      reader_error = store.status().ToString();
      return;
    }
    int64_t last = 0;
    while (!stop.load()) {
      auto status = (*store)->GetRunStatus(id);
      if (!status.ok()) {
        reader_error = status.status().ToString();
        return;
      }
      // Counter and rows are written in one transaction: they always agree.
      auto rows = Statement::Prepare((*store)->raw_db(),
                                     "SELECT (SELECT count(*) FROM samples), "
                                     "(SELECT done FROM run_tasks)");
      if (!rows.ok() || !*rows->Step() || rows->ColumnInt(0) != rows->ColumnInt(1)) {
        reader_error = "count and counter disagree";
        return;
      }
      if (status->done < last) reader_error = "progress went backwards";
      last = status->done;
      ++reads;
    }
  });
  for (int i = 0; i < kSamples; ++i) {
    auto inserted = (*writer)->InsertSample(Sample(id, "t", std::to_string(i)));
    ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(reader_error, "");
  EXPECT_GT(reads.load(), 0);
  auto final_status = (*writer)->GetRunStatus(id);
  ASSERT_TRUE(final_status.ok());
  EXPECT_EQ(final_status->done, kSamples);
  EXPECT_EQ(final_status->total, kSamples);
}

TEST(ResultsStoreTest, ConcurrentWritersDoNotSeeBusy) {
  ScratchDir dir;
  const std::string path = dir.File("r.db");
  int64_t id = 0;
  {
    auto store = ResultsStore::Open(path);
    ASSERT_TRUE(store.ok());
    id = (*store)->CreateRun(Spec("fp"))->run.id;
  }
  constexpr int kWriters = 4;
  constexpr int kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto store = ResultsStore::Open(path);  // own connection per writer
      if (!store.ok()) {
        ++failures;
        ADD_FAILURE() << "writer " << w << ": " << store.status().ToString();
        return;
      }
      for (int i = 0; i < kEach; ++i) {
        std::string tag = "t";
        tag += std::to_string(w);
        auto ok = (*store)->InsertSample(Sample(id, tag, std::to_string(i)));
        if (!ok.ok()) {
          ++failures;
          ADD_FAILURE() << "writer " << w << ": " << ok.status().ToString();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = ResultsStore::Open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->GetRunStatus(id)->done, kWriters * kEach);
}

// A write lock held past the busy timeout by another process: a clear UNAVAILABLE naming the
// cause, and the run's samples stay as they were.
TEST(ResultsStoreTest, ALockHeldPastTheWaitIsNamed) {
  ScratchDir dir;
  const std::string path = dir.File("r.db");
  auto store = ResultsStore::Open(path, StoreOptions{.busy_timeout_ms = 50});
  ASSERT_TRUE(store.ok());
  const int64_t id = (*store)->CreateRun(Spec("fp"))->run.id;
  ASSERT_TRUE((*store)->InsertSample(Sample(id, "t", "0")).ok());
  auto other = OpenDatabase(path, false);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(Exec(other->get(), "BEGIN EXCLUSIVE", "hold the lock").ok());
  const Status blocked = (*store)->InsertSample(Sample(id, "t", "1")).status();
  EXPECT_EQ(blocked.code(), StatusCode::kUnavailable);
  EXPECT_NE(blocked.message().find("database is locked (code 5); another process kept the "
                                   "database locked past the wait for it"),
            std::string::npos)
      << blocked.message();
  ASSERT_TRUE(Exec(other->get(), "ROLLBACK", "release").ok());
  EXPECT_EQ((*store)->GetRunStatus(id)->done, 1);
  EXPECT_TRUE((*store)->InsertSample(Sample(id, "t", "1")).ok());
}

}  // namespace
}  // namespace sigma::store
