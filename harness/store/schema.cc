#include "harness/store/schema.h"

#include "harness/store/sqlite.h"

namespace sigma::store {
namespace {

// Version 1: runs, samples, task_results.
constexpr const char* kMigration1 = R"sql(
CREATE TABLE runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  fingerprint  TEXT NOT NULL,
  config_json  TEXT NOT NULL,
  model        TEXT NOT NULL DEFAULT '',
  engine_build TEXT NOT NULL DEFAULT '',
  host         TEXT NOT NULL DEFAULT '',
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  state        TEXT NOT NULL DEFAULT 'running'
               CHECK (state IN ('running', 'complete', 'interrupted', 'failed'))
);
CREATE INDEX runs_by_fingerprint ON runs(fingerprint);

CREATE TABLE samples (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task          TEXT NOT NULL,
  doc_id        TEXT NOT NULL,
  doc_index     INTEGER,
  prompt        BLOB NOT NULL,
  raw_output    BLOB NOT NULL,
  extracted     BLOB NOT NULL,
  target        BLOB,
  metrics_json  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics_json)),
  verdict       TEXT,
  error         TEXT,
  prompt_tokens INTEGER,
  new_tokens    INTEGER,
  ttft_ms       REAL,
  prefill_tok_s REAL,
  decode_tok_s  REAL,
  kv_bytes      INTEGER,
  total_ms      REAL,
  created_at    TEXT NOT NULL,
  UNIQUE (run_id, task, doc_id)
);

CREATE TABLE task_results (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task    TEXT NOT NULL,
  metric  TEXT NOT NULL,
  value   REAL,
  stderr  REAL,
  ci_low  REAL,
  ci_high REAL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (run_id, task, metric)
);
)sql";

// Version 2: per-task progress counters (kept in the sample's own transaction), resume segments
// and heartbeat, and the speed tables.
constexpr const char* kMigration2 = R"sql(
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN segments INTEGER NOT NULL DEFAULT 1;
ALTER TABLE samples ADD COLUMN segment INTEGER NOT NULL DEFAULT 1;

CREATE TABLE run_tasks (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task    TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  total   INTEGER,
  done    INTEGER NOT NULL DEFAULT 0,
  errors  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, task)
);
INSERT INTO run_tasks (run_id, task, done, errors)
  SELECT run_id, task, count(*), count(error) FROM samples GROUP BY run_id, task;

CREATE TABLE bench_runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  config_json  TEXT NOT NULL,
  model        TEXT NOT NULL DEFAULT '',
  engine_build TEXT NOT NULL DEFAULT '',
  host         TEXT NOT NULL DEFAULT '',
  device       TEXT NOT NULL DEFAULT '',
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  state        TEXT NOT NULL DEFAULT 'running'
               CHECK (state IN ('running', 'complete', 'interrupted', 'failed'))
);

CREATE TABLE speed (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  bench_id          INTEGER REFERENCES bench_runs(id) ON DELETE CASCADE,
  config_json       TEXT NOT NULL DEFAULT '{}',
  context_length    INTEGER NOT NULL,
  batch             INTEGER NOT NULL,
  phase             TEXT NOT NULL,
  repetitions       INTEGER NOT NULL,
  tokens_per_s_mean REAL NOT NULL,
  tokens_per_s_std  REAL,
  ms_per_token      REAL,
  bytes_moved       REAL,
  device            TEXT NOT NULL DEFAULT '',
  created_at        TEXT NOT NULL,
  CHECK ((run_id IS NULL) <> (bench_id IS NULL))
);
CREATE INDEX speed_by_run ON speed(run_id);
CREATE INDEX speed_by_bench ON speed(bench_id);
)sql";

// Version 3: of a sample's prompt tokens, how many took their KV rows from an earlier request
// (the engine backend's few-shot prefix reuse, harness/backends/prefix_blocks.h).
constexpr const char* kMigration3 = R"sql(
ALTER TABLE samples ADD COLUMN reused_tokens INTEGER;
)sql";

constexpr const char* kMigrations[] = {kMigration1, kMigration2, kMigration3};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

StatusOr<int64_t> ReadPragmaInt(sqlite3* db, const char* pragma) {
  const auto not_sqlite = [&](Status status) {
    if ((sqlite3_errcode(db) & 0xff) != SQLITE_NOTADB) return status;
    return FailedPreconditionError(
        "not a sigma-eval results database (sqlite: ", sqlite3_errmsg(db), ")");
  };
  StatusOr<Statement> stmt = Statement::Prepare(db, StrCat("PRAGMA ", pragma));
  if (!stmt.ok()) return not_sqlite(stmt.status());
  StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return not_sqlite(row.status());
  if (!*row) return InternalError("sqlite: PRAGMA ", pragma, " returned no row");
  return stmt->ColumnInt(0);
}

}  // namespace

StatusOr<int> ReadUserVersion(sqlite3* db) {
  SIGMA_ASSIGN_OR_RETURN(int64_t version, ReadPragmaInt(db, "user_version"));
  return static_cast<int>(version);
}

Status CheckResultsDatabase(sqlite3* db, int version) {
  SIGMA_ASSIGN_OR_RETURN(int64_t app_id, ReadPragmaInt(db, "application_id"));
  if (app_id != 0 && app_id != kApplicationId) {
    return FailedPreconditionError("results database: application_id ", app_id,
                                   " is not a sigma-eval results database");
  }
  // Every migration sets both: a schema version without the id is another application's.
  if (version > 0 && app_id != kApplicationId) {
    return FailedPreconditionError("not a sigma-eval results database (user_version ", version,
                                   " without sigma-eval's application_id)");
  }
  if (version > kSchemaVersion) {
    return FailedPreconditionError("results database: schema version ", version,
                                   " is newer than this binary supports (", kSchemaVersion,
                                   "); use a newer sigma-eval");
  }
  if (version == 0) {
    // A non-empty file with user_version 0 was not made by us.
    SIGMA_ASSIGN_OR_RETURN(Statement count,
                           Statement::Prepare(db, "SELECT count(*) FROM sqlite_schema"));
    SIGMA_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row && count.ColumnInt(0) > 0) {
      return FailedPreconditionError(
          "results database: file has tables but no sigma-eval schema version");
    }
  }
  return Status::Ok();
}

Status Migrate(sqlite3* db, int target_version) {
  SIGMA_CHECK(target_version >= 1 && target_version <= kSchemaVersion, "bad target version");
  Transaction txn(db);
  SIGMA_RETURN_IF_ERROR(txn.Begin());
  // Read inside the write transaction so two processes opening a new file cannot both migrate.
  SIGMA_ASSIGN_OR_RETURN(int version, ReadUserVersion(db));
  SIGMA_RETURN_IF_ERROR(CheckResultsDatabase(db, version));
  if (version >= target_version) return Status::Ok();  // destructor rolls back the empty txn
  for (int v = version; v < target_version; ++v) {
    SIGMA_RETURN_IF_ERROR(Exec(db, kMigrations[v], StrCat("migration to schema version ", v + 1)));
  }
  SIGMA_RETURN_IF_ERROR(Exec(db, StrCat("PRAGMA application_id = ", kApplicationId), "set id"));
  SIGMA_RETURN_IF_ERROR(
      Exec(db, StrCat("PRAGMA user_version = ", target_version), "set user_version"));
  return txn.Commit();
}

}  // namespace sigma::store
