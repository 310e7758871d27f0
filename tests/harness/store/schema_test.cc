#include "harness/store/schema.h"

#include <gtest/gtest.h>

#include "engine/base/file.h"
#include "harness/store/results_store.h"
#include "harness/store/sqlite.h"
#include "tests/harness/store/test_util.h"

namespace sigma::store {
namespace {

StatusOr<int64_t> QueryInt(sqlite3* db, const std::string& sql) {
  SIGMA_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db, sql));
  SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return NotFoundError("no row for ", sql);
  return stmt.ColumnInt(0);
}

TEST(SchemaTest, CreatesCurrentSchemaFromEmptyFile) {
  ScratchDir dir;
  auto store = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  sqlite3* db = (*store)->raw_db();
  EXPECT_EQ(*ReadUserVersion(db), kSchemaVersion);
  EXPECT_EQ(*QueryInt(db, "PRAGMA application_id"), kApplicationId);
  for (const char* table : {"runs", "samples", "task_results", "run_tasks", "speed",
                            "bench_runs"}) {
    EXPECT_EQ(*QueryInt(db, StrCat("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                   "AND name = '", table, "'")),
              1)
        << table;
  }
  auto mode = Statement::Prepare(db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnBytes(0), "wal");
  EXPECT_EQ(*QueryInt(db, "PRAGMA synchronous"), 1);  // NORMAL
  // Reopening is a no-op migration.
  store->reset();
  auto again = ResultsStore::Open(dir.File("r.db"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST(SchemaTest, MigratesVersionOneFileKeepingData) {
  ScratchDir dir;
  const std::string path = dir.File("old.db");
  {
    auto db = OpenDatabase(path, /*create=*/true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get(), 1).ok());
    ASSERT_EQ(*ReadUserVersion(db->get()), 1);
    ASSERT_TRUE(Exec(db->get(),
                     "INSERT INTO runs (fingerprint, config_json, started_at) "
                     "VALUES ('fp1', '{}', '2026-01-01T00:00:00Z');"
                     "INSERT INTO samples (run_id, task, doc_id, prompt, raw_output, extracted, "
                     "created_at) VALUES (1, 'arc_easy', 'd1', 'p', 'o', 'e', 'now');"
                     "INSERT INTO samples (run_id, task, doc_id, prompt, raw_output, extracted, "
                     "error, created_at) VALUES (1, 'arc_easy', 'd2', 'p', 'o', 'e', 'boom', "
                     "'now');",
                     "seed v1")
                    .ok());
  }
  auto store = ResultsStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*ReadUserVersion((*store)->raw_db()), kSchemaVersion);
  auto status = (*store)->GetRunStatus(1);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  ASSERT_EQ(status->tasks.size(), 1u);
  EXPECT_EQ(status->tasks[0].task, "arc_easy");
  EXPECT_EQ(status->tasks[0].done, 2);
  EXPECT_EQ(status->tasks[0].errors, 1);
  EXPECT_EQ(status->run.segments, 1);
  auto samples = (*store)->ReadSamples(1, "arc_easy");
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_EQ((*samples)[1].error.value_or(""), "boom");
  // Columns added later are NULL in the rows written before them.
  EXPECT_EQ((*samples)[0].segment, 1);
  EXPECT_FALSE((*samples)[0].timings.reused_tokens.has_value());
}

TEST(SchemaTest, RefusesNewerVersionAndForeignFiles) {
  ScratchDir dir;
  {
    auto db = OpenDatabase(dir.File("new.db"), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get()).ok());
    ASSERT_TRUE(Exec(db->get(), "PRAGMA user_version = 99", "bump").ok());
  }
  auto newer = ResultsStore::Open(dir.File("new.db"));
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("schema version 99 is newer"), std::string::npos)
      << newer.status().message();
  EXPECT_NE(newer.status().message().find("new.db"), std::string::npos);
  // Read-only (ls, show, status, report) the same, not the advice to migrate it, which was given
  // for a newer file too.
  const StoreOptions read_only{.create = false, .read_only = true};
  newer = ResultsStore::Open(dir.File("new.db"), read_only);
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("schema version 99 is newer"), std::string::npos)
      << newer.status().message();
  EXPECT_EQ(newer.status().message().find("migrate"), std::string::npos)
      << newer.status().message();
  {
    auto db = OpenDatabase(dir.File("old.db"), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get(), 1).ok());
  }
  auto older = ResultsStore::Open(dir.File("old.db"), read_only);
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.status().message().find("schema version 1 is older than this binary reads (2); "
                                          "open it read-write once"),
            std::string::npos)
      << older.status().message();
  ASSERT_TRUE(ResultsStore::Open(dir.File("old.db")).ok());  // migrates
  EXPECT_TRUE(ResultsStore::Open(dir.File("old.db"), read_only).ok());
  // A version 2 file is read as it is (show, ls, status on results of an older build): the
  // column version 3 added reads as unknown, and the file stays at version 2.
  {
    auto db = OpenDatabase(dir.File("v2.db"), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get(), 2).ok());
    ASSERT_TRUE(
        Exec(db->get(),
             "INSERT INTO runs (fingerprint, config_json, started_at) "
             "VALUES ('fp', '{}', 'now');"
             "INSERT INTO samples (run_id, task, doc_id, prompt, raw_output, extracted, "
             "prompt_tokens, created_at) VALUES (1, 'mmlu', 'd', 'p', 'o', 'e', 300, 'now');",
             "seed v2")
            .ok());
  }
  {
    auto v2 = ResultsStore::Open(dir.File("v2.db"), read_only);
    ASSERT_TRUE(v2.ok()) << v2.status().ToString();
    auto samples = (*v2)->ReadSamples(1, "");
    ASSERT_TRUE(samples.ok()) << samples.status().ToString();
    ASSERT_EQ(samples->size(), 1u);
    EXPECT_EQ((*samples)[0].timings.prompt_tokens, 300);
    EXPECT_FALSE((*samples)[0].timings.reused_tokens.has_value());
    EXPECT_EQ(*ReadUserVersion((*v2)->raw_db()), 2);
  }
  { ASSERT_TRUE(OpenDatabase(dir.File("empty.db"), true).ok()); }
  auto empty = ResultsStore::Open(dir.File("empty.db"), read_only);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty (no sigma-eval schema yet)"), std::string::npos)
      << empty.status().message();

  {
    auto db = OpenDatabase(dir.File("other.db"), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Exec(db->get(), "CREATE TABLE t(x)", "foreign table").ok());
  }
  auto foreign = ResultsStore::Open(dir.File("other.db"));
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("no sigma-eval schema version"), std::string::npos);
  // Another application's database with a schema version of its own was taken for a sigma-eval
  // file newer than this binary.
  {
    auto db = OpenDatabase(dir.File("versioned.db"), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Exec(db->get(), "CREATE TABLE t(x); PRAGMA user_version = 7", "foreign").ok());
  }
  auto versioned = ResultsStore::Open(dir.File("versioned.db"));
  ASSERT_FALSE(versioned.ok());
  EXPECT_EQ(versioned.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(versioned.status().message().find(
                "not a sigma-eval results database (user_version 7 without sigma-eval's "
                "application_id)"),
            std::string::npos)
      << versioned.status().message();

  auto missing = ResultsStore::Open(dir.File("absent.db"), StoreOptions{.create = false});
  EXPECT_FALSE(missing.ok());

  // A file that is not SQLite at all, opened read-only (ls, show, status): the error names the
  // file, and the file is left as it was.
  ASSERT_TRUE(WriteFileAtomic(dir.File("garbage.db"), "not a database").ok());
  auto garbage =
      ResultsStore::Open(dir.File("garbage.db"), StoreOptions{.create = false, .read_only = true});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("garbage.db"), std::string::npos)
      << garbage.status().message();
  EXPECT_NE(garbage.status().message().find("not a database"), std::string::npos)
      << garbage.status().message();
  EXPECT_EQ(*ReadFile(dir.File("garbage.db")), "not a database");
  // ... and read-write (run, bench): refused before a pragma tries to change it (it said
  // "DATA_LOSS: sqlite: enable WAL: file is not a database").
  auto garbage_rw = ResultsStore::Open(dir.File("garbage.db"));
  ASSERT_FALSE(garbage_rw.ok());
  EXPECT_EQ(garbage_rw.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(garbage_rw.status().message().find(
                "garbage.db: not a sigma-eval results database (sqlite: file is not a database)"),
            std::string::npos)
      << garbage_rw.status().message();
  EXPECT_EQ(*ReadFile(dir.File("garbage.db")), "not a database");
}

TEST(SchemaTest, MigrationIsAtomic) {
  // A failing migration step leaves the file at its old version with its old tables.
  ScratchDir dir;
  const std::string path = dir.File("partial.db");
  {
    auto db = OpenDatabase(path, true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Migrate(db->get(), 1).ok());
    // Pre-create a table that migration 2 creates, so its CREATE fails midway.
    ASSERT_TRUE(Exec(db->get(), "CREATE TABLE bench_runs (x)", "sabotage").ok());
  }
  auto store = ResultsStore::Open(path);
  ASSERT_FALSE(store.ok());
  auto db = OpenDatabase(path, false);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*ReadUserVersion(db->get()), 1);
  // run_tasks (created before the failing statement) was rolled back.
  EXPECT_EQ(*QueryInt(db->get(), "SELECT count(*) FROM sqlite_schema WHERE name = 'run_tasks'"),
            0);
}

}  // namespace
}  // namespace sigma::store
