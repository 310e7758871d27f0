#include "harness/store/merge.h"

#include <gtest/gtest.h>

#include "harness/store/schema.h"
#include "harness/store/sqlite.h"
#include "tests/harness/store/test_util.h"

namespace sigma::store {
namespace {

RunSpec Spec(const std::string& fingerprint) {
  return RunSpec{fingerprint, R"({"tasks":["arc_easy"],"seed":1})", "smollm2", "build-a", "host-a"};
}

SampleRecord Sample(int64_t run_id, const std::string& doc_id, const std::string& output) {
  SampleRecord s;
  s.run_id = run_id;
  s.task = "arc_easy";
  s.doc_id = doc_id;
  s.doc_index = 7;
  s.prompt = "Question: " + doc_id;
  s.raw_output = output;
  s.extracted = "B";
  s.metrics_json = R"({"acc":1})";
  s.timings.prompt_tokens = 40;
  s.timings.reused_tokens = 16;
  s.timings.ttft_ms = 12.5;
  return s;
}

std::unique_ptr<ResultsStore> Open(const std::string& path) {
  auto store = ResultsStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<ResultsStore> OpenSource(const std::string& path) {
  StoreOptions options;
  options.create = false;
  options.read_only = true;
  auto store = ResultsStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

int64_t Count(ResultsStore& store, const std::string& sql) {
  auto stmt = Statement::Prepare(store.raw_db(), sql);
  EXPECT_TRUE(stmt.ok()) << stmt.status().ToString();
  if (!stmt.ok()) return -1;
  auto row = stmt->Step();
  return row.ok() && *row ? stmt->ColumnInt(0) : -1;
}

// A source database: run 1 (two samples, one of hostile bytes, a plan, aggregates, a speed row,
// a bench session of its own) and run 2 (one sample), and a standalone bench session.
void WriteSource(const std::string& path) {
  auto store = Open(path);
  ASSERT_NE(store, nullptr);
  auto run = store->CreateRun(Spec("fp-1"));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const int64_t id = run->run.id;
  ASSERT_TRUE(store->SetTaskPlan(id, "arc_easy", "1-abc", 2).ok());
  ASSERT_TRUE(store->InsertSample(Sample(id, "d1", "plain")).ok());
  SampleRecord hostile = Sample(id, std::string("d\0\xff", 3), std::string("a\0b\xfe</td>", 9));
  hostile.error = "backend: boom";
  ASSERT_TRUE(store->InsertSample(hostile).ok());
  TaskResultRow acc;
  acc.metric = "acc";
  acc.value = 0.5;
  acc.stderr_value = 0.5;
  acc.n = 2;
  ASSERT_TRUE(store->WriteTaskResults(id, "arc_easy", {acc}).ok());
  SpeedRow speed;
  speed.run_id = id;
  speed.phase = "end_to_end";
  speed.tokens_per_s_mean = 123.5;
  ASSERT_TRUE(store->InsertSpeed(speed).ok());
  ASSERT_TRUE(store->FinishRun(id, RunState::kComplete).ok());
  BenchRunSpec own;
  own.run_id = id;
  own.model = "smollm2";
  own.host = "host-a";
  auto own_bench = store->CreateBenchRun(own);
  ASSERT_TRUE(own_bench.ok());
  SpeedRow decode;
  decode.bench_id = *own_bench;
  decode.phase = "decode";
  decode.context_length = 512;
  decode.tokens_per_s_mean = 250;
  ASSERT_TRUE(store->InsertSpeed(decode).ok());
  ASSERT_TRUE(store->FinishBenchRun(*own_bench, RunState::kComplete).ok());

  auto second = store->CreateRun(Spec("fp-2"));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(store->InsertSample(Sample(second->run.id, "d1", "other")).ok());
  BenchRunSpec standalone;
  standalone.config_json = R"({"contexts":[512,4096]})";
  standalone.host = "host-a";
  auto bench = store->CreateBenchRun(standalone);
  ASSERT_TRUE(bench.ok());
  decode.bench_id = *bench;
  ASSERT_TRUE(store->InsertSpeed(decode).ok());
}

// Every test has the source of WriteSource in a.db, open read-only as from_, and an empty b.db
// to merge into, open as into_.
class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSource(dir_.File("a.db"));
    into_ = Open(dir_.File("b.db"));
    from_ = OpenSource(dir_.File("a.db"));
    ASSERT_TRUE(into_ && from_);
  }

  ScratchDir dir_;
  std::unique_ptr<ResultsStore> into_;
  std::unique_ptr<ResultsStore> from_;
};

TEST_F(MergeTest, CopiesRunsWithTheirRowsByteExactUnderNewIds) {
  ASSERT_TRUE(into_->CreateRun(Spec("fp-here")).ok());  // ids here start past the source's

  auto report = MergeResults(*into_, *from_, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->items.size(), 4u);
  EXPECT_EQ(report->Count(MergeOutcome::kMerged), 4);
  const MergedItem& run1 = report->items[0];
  EXPECT_FALSE(run1.bench);
  EXPECT_EQ(run1.source_id, 1);
  EXPECT_EQ(run1.id, 2);
  EXPECT_EQ(run1.rows, 2);
  EXPECT_EQ(report->items[1].id, 3);
  EXPECT_TRUE(report->items[2].bench);
  EXPECT_EQ(report->items[2].rows, 1);

  // Every sample the same bytes and numbers, under the new run id.
  auto source_samples = from_->ReadSamples(1, "");
  auto samples = into_->ReadSamples(2, "");
  ASSERT_TRUE(source_samples.ok() && samples.ok());
  ASSERT_EQ(samples->size(), 2u);
  for (size_t i = 0; i < samples->size(); ++i) {
    const SampleRecord& a = (*source_samples)[i];
    const SampleRecord& b = (*samples)[i];
    EXPECT_EQ(b.run_id, 2);
    EXPECT_EQ(b.doc_id, a.doc_id);
    EXPECT_EQ(b.prompt, a.prompt);
    EXPECT_EQ(b.raw_output, a.raw_output);
    EXPECT_EQ(b.error, a.error);
    EXPECT_EQ(b.metrics_json, a.metrics_json);
    EXPECT_EQ(b.doc_index, a.doc_index);
    EXPECT_EQ(b.timings.reused_tokens, a.timings.reused_tokens);
    EXPECT_EQ(b.timings.ttft_ms, a.timings.ttft_ms);
  }
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples WHERE typeof(raw_output) = 'blob'"), 3);
  // Progress, aggregates and the run's own fields.
  auto status = into_->GetRunStatus(2);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->done, 2);
  EXPECT_EQ(status->errors, 1);
  EXPECT_EQ(status->total, 2);
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_EQ(status->tasks[0].version, "1-abc");
  EXPECT_EQ(status->run.fingerprint, "fp-1");
  EXPECT_EQ(status->run.host, "host-a");
  EXPECT_EQ(status->run.state, RunState::kComplete);
  auto results = into_->ReadTaskResults(2, "arc_easy");
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].value, 0.5);
  // Speed rows follow their run or session; the run's session links to the run's new id.
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM speed WHERE run_id = 2 AND phase = 'end_to_end'"),
            1);
  EXPECT_EQ(Count(*into_, "SELECT run_id FROM bench_runs WHERE id = 1"), 2);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM bench_runs WHERE id = 2 AND run_id IS NULL"), 1);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM speed WHERE bench_id IS NOT NULL"), 2);
  EXPECT_TRUE(into_->CheckIntegrity().ok());
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

// A dry run reports what a merge would do and writes nothing.
TEST_F(MergeTest, ADryRunWritesNothing) {
  MergeOptions dry;
  dry.dry_run = true;
  auto report = MergeResults(*into_, *from_, dry);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->Count(MergeOutcome::kMerged), 4);
  EXPECT_EQ(report->items[0].rows, 2);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 0);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples"), 0);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM bench_runs"), 0);
  auto real = MergeResults(*into_, *from_, {});
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(real->items[0].id, report->items[0].id);  // the ids it said
}

TEST_F(MergeTest, MergingAgainCopiesNothing) {
  ASSERT_TRUE(MergeResults(*into_, *from_, {}).ok());
  auto again = MergeResults(*into_, *from_, {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->Count(MergeOutcome::kAlreadyHere), 4);
  EXPECT_EQ(again->items[1].id, 2);  // the copy found
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples"), 3);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM speed"), 3);
}

TEST_F(MergeTest, AnotherStageIsAConflictUnlessReplaced) {
  ASSERT_TRUE(MergeResults(*into_, *from_, {}).ok());
  {  // The source's run 1 is resumed and gets a third sample.
    auto source = Open(dir_.File("a.db"));
    ASSERT_NE(source, nullptr);
    ASSERT_TRUE(source->ResumeRun(1, Spec("fp-1")).ok());
    ASSERT_TRUE(source->InsertSample(Sample(1, "d3", "late")).ok());
  }
  auto conflict = MergeResults(*into_, *from_, {});
  ASSERT_TRUE(conflict.ok()) << conflict.status().ToString();
  EXPECT_EQ(conflict->Count(MergeOutcome::kConflict), 1);
  EXPECT_EQ(conflict->Count(MergeOutcome::kAlreadyHere), 3);
  const MergedItem& item = conflict->items[0];
  EXPECT_EQ(item.outcome, MergeOutcome::kConflict);
  EXPECT_EQ(item.id, 1);
  EXPECT_EQ(item.difference, "here: complete, finished " + into_->GetRun(1)->finished_at +
                                 ", 1 segment, 2 samples; source: running, 2 segments, 3 samples");
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples WHERE run_id = 1"), 2);  // left as it was

  MergeOptions replace;
  replace.replace = true;
  auto replaced = MergeResults(*into_, *from_, replace);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->items[0].outcome, MergeOutcome::kReplaced);
  EXPECT_EQ(replaced->items[0].id, 1);
  EXPECT_EQ(replaced->items[0].rows, 3);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples WHERE run_id = 1"), 3);
  EXPECT_EQ(Count(*into_, "SELECT segments FROM runs WHERE id = 1"), 2);
  EXPECT_EQ(Count(*into_, "SELECT done FROM run_tasks WHERE run_id = 1"), 3);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM task_results WHERE run_id = 1"), 1);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM speed WHERE run_id = 1"), 1);
  EXPECT_EQ(Count(*into_, "SELECT run_id FROM bench_runs WHERE id = 1"), 1);  // link kept
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST_F(MergeTest, SelectsRunsAndSessions) {
  MergeOptions options;
  options.run_ids = std::vector<int64_t>{2};
  options.bench_ids = std::vector<int64_t>{1};
  auto report = MergeResults(*into_, *from_, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->items.size(), 2u);
  EXPECT_EQ(report->items[0].source_id, 2);
  EXPECT_EQ(Count(*into_, "SELECT fingerprint = 'fp-2' FROM runs WHERE id = 1"), 1);
  // Session 1 belongs to run 1, which is not here: merged without the link.
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM bench_runs WHERE run_id IS NULL"), 1);

  // Run 1 merged later: a session merged after it links to it.
  options.run_ids = std::vector<int64_t>{1};
  options.bench_ids = std::vector<int64_t>{};
  ASSERT_TRUE(MergeResults(*into_, *from_, options).ok());
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM bench_runs"), 1);
}

TEST_F(MergeTest, RefusesWhatItCannotMergeAndChangesNothing) {
  MergeOptions missing;
  missing.run_ids = std::vector<int64_t>{1, 9};
  auto report = MergeResults(*into_, *from_, missing);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(), "the source has no run 9 (its ids: 1-2)");
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 0);

  {
    auto db = OpenDatabase(dir_.File("a.db"), /*create=*/false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Exec(db->get(), "DROP TABLE task_results", "drop").ok());
  }
  auto partial = MergeResults(*into_, *from_, {});
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(partial.status().message().find("table task_results is missing"), std::string::npos)
      << partial.status().ToString();
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 0);

  auto self = MergeResults(*from_, *from_, {});
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(self.status().message().find("into itself"), std::string::npos);
}

// A source row the schema here refuses (a sample whose metrics are not JSON, written past the
// CHECK) fails the merge after other rows were copied: the transaction leaves nothing.
TEST_F(MergeTest, AnErrorMidwayLeavesTheDatabaseAsItWas) {
  {
    auto db = OpenDatabase(dir_.File("a.db"), /*create=*/false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Exec(db->get(),
                     "PRAGMA ignore_check_constraints = ON;"
                     "UPDATE samples SET metrics_json = 'not json' WHERE run_id = 2;",
                     "corrupt")
                    .ok());
  }
  auto report = MergeResults(*into_, *from_, {});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("CHECK constraint failed"), std::string::npos)
      << report.status().ToString();
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM runs"), 0);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM samples"), 0);
  EXPECT_EQ(Count(*into_, "SELECT count(*) FROM bench_runs"), 0);
}

// A file at schema version 2 (before samples.reused_tokens) merges; the column it lacks is NULL.
TEST(MergeSchemaTest, MergesAnOlderSchemaVersion) {
  ScratchDir dir;
  {
    auto db = OpenDatabase(dir.File("old.db"), /*create=*/true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get(), 2).ok());
    ASSERT_TRUE(Exec(db->get(),
                     "INSERT INTO runs (fingerprint, config_json, started_at, state) "
                     "VALUES ('fp-old', '{}', '2026-01-01T00:00:00.000Z', 'complete');"
                     "INSERT INTO samples (run_id, task, doc_id, prompt, raw_output, extracted, "
                     "prompt_tokens, created_at) VALUES (1, 'boolq', 'd1', 'p', 'o', 'e', 30, "
                     "'2026-01-01T00:00:01.000Z');"
                     "INSERT INTO run_tasks (run_id, task, done) VALUES (1, 'boolq', 1);",
                     "legacy rows")
                    .ok());
  }
  auto into = Open(dir.File("b.db"));
  auto from = OpenSource(dir.File("old.db"));
  ASSERT_TRUE(into && from);
  auto report = MergeResults(*into, *from, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->Count(MergeOutcome::kMerged), 1);
  auto samples = into->ReadSamples(1, "boolq");
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ((*samples)[0].timings.prompt_tokens, 30);
  EXPECT_FALSE((*samples)[0].timings.reused_tokens.has_value());
}

}  // namespace
}  // namespace sigma::store
