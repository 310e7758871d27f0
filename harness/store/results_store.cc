#include "harness/store/results_store.h"

#include <sys/time.h>

#include <ctime>

#include "engine/base/json.h"
#include "harness/store/schema.h"

namespace sigma::store {
namespace {

constexpr const char* kRunColumns =
    "id, fingerprint, config_json, model, engine_build, host, started_at, "
    "coalesce(finished_at, ''), coalesce(heartbeat_at, ''), state, segments";

StatusOr<RunInfo> ReadRunRow(const Statement& stmt) {
  RunInfo run;
  run.id = stmt.ColumnInt(0);
  run.fingerprint = stmt.ColumnBytes(1);
  run.config_json = stmt.ColumnBytes(2);
  run.model = stmt.ColumnBytes(3);
  run.engine_build = stmt.ColumnBytes(4);
  run.host = stmt.ColumnBytes(5);
  run.started_at = stmt.ColumnBytes(6);
  run.finished_at = stmt.ColumnBytes(7);
  run.heartbeat_at = stmt.ColumnBytes(8);
  SIGMA_ASSIGN_OR_RETURN(run.state, ParseRunState(stmt.ColumnBytes(9)));
  run.segments = stmt.ColumnInt(10);
  return run;
}

Status SetPragmas(sqlite3* db, const StoreOptions& options) {
  SIGMA_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys"));
  if (options.read_only) return Status::Ok();
  // journal_mode answers with a row; sqlite3_exec discards it. WAL persists in the file.
  SIGMA_RETURN_IF_ERROR(Exec(db, "PRAGMA journal_mode = WAL", "enable WAL"));
  SIGMA_ASSIGN_OR_RETURN(Statement mode, Statement::Prepare(db, "PRAGMA journal_mode"));
  SIGMA_ASSIGN_OR_RETURN(bool row, mode.Step());
  if (!row || mode.ColumnBytes(0) != "wal") {
    return UnavailableError(
        "results database: WAL journal mode is not available for this file "
        "(network or read-only filesystem?)");
  }
  return Exec(db, "PRAGMA synchronous = NORMAL", "set synchronous");
}

// The oldest schema a read-only open reads as it is: v3 only added samples.reused_tokens, which
// reads as unknown from a v2 file; v1 lacks the progress and speed tables.
constexpr int kOldestReadableVersion = 2;

// A read-only open never migrates: the file must be at a schema version this binary reads as it
// is; returns it. One older says how to bring it up to date (that advice was once given for a
// newer one too, which no migration can help).
StatusOr<int> CheckReadableAsIs(sqlite3* db) {
  SIGMA_ASSIGN_OR_RETURN(const int version, ReadUserVersion(db));
  SIGMA_RETURN_IF_ERROR(CheckResultsDatabase(db, version));
  if (version == 0) {
    return FailedPreconditionError("results database: empty (no sigma-eval schema yet)");
  }
  if (version < kOldestReadableVersion) {
    return FailedPreconditionError("results database: schema version ", version,
                                   " is older than this binary reads (", kOldestReadableVersion,
                                   "); open it read-write once (any sigma-eval run or bench on "
                                   "it) to migrate");
  }
  return version;
}

}  // namespace

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning: return "running";
    case RunState::kComplete: return "complete";
    case RunState::kInterrupted: return "interrupted";
    case RunState::kFailed: return "failed";
  }
  return "unknown";
}

StatusOr<RunState> ParseRunState(std::string_view name) {
  for (RunState s :
       {RunState::kRunning, RunState::kComplete, RunState::kInterrupted, RunState::kFailed}) {
    if (RunStateName(s) == name) return s;
  }
  return InvalidArgumentError("results database: unknown run state '", name, "'");
}

std::string NowUtc() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  std::tm tm{};
  gmtime_r(&tv.tv_sec, &tm);
  char buffer[40];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buffer, static_cast<int>(tv.tv_usec / 1000));
  return out;
}

StatusOr<std::unique_ptr<ResultsStore>> ResultsStore::Open(const std::string& path,
                                                           const StoreOptions& options) {
  DbHandle db;
  if (options.read_only) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK) {
      return SqliteError(db.get(), rc, StrCat("cannot open database '", path, "' read-only"));
    }
  } else {
    SIGMA_ASSIGN_OR_RETURN(db, OpenDatabase(path, options.create));
  }
  // Before the first read: a writer opening or recovering the WAL at the same moment holds a lock
  // briefly, and without the timeout that read failed at once (SQLITE_BUSY, BUSY_RECOVERY).
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  // Reads the file's header first: a file that is not SQLite is refused before a pragma (WAL)
  // tries to change it.
  Status status = ReadUserVersion(db.get()).status();
  if (status.ok()) status = SetPragmas(db.get(), options);
  if (status.ok() && !options.read_only) status = Migrate(db.get());
  int version = kSchemaVersion;
  if (status.ok() && options.read_only) {
    StatusOr<int> readable = CheckReadableAsIs(db.get());
    status = readable.status();
    if (readable.ok()) version = *readable;
  }
  if (!status.ok()) return status.WithContext(path);
  return std::unique_ptr<ResultsStore>(new ResultsStore(std::move(db), version));
}

StatusOr<std::optional<RunInfo>> ResultsStore::FindRunByFingerprint(
    const std::string& fingerprint) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(Statement stmt,
                         Statement::Prepare(db_.get(), StrCat("SELECT ", kRunColumns,
                                                              " FROM runs WHERE fingerprint = ?1 "
                                                              "ORDER BY id DESC LIMIT 1")));
  SIGMA_RETURN_IF_ERROR(stmt.BindText(1, fingerprint));
  SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<RunInfo>();
  SIGMA_ASSIGN_OR_RETURN(RunInfo run, ReadRunRow(stmt));
  return std::optional<RunInfo>(std::move(run));
}

StatusOr<RunSession> ResultsStore::CreateRun(const RunSpec& spec) {
  if (spec.fingerprint.empty()) return InvalidArgumentError("CreateRun: empty fingerprint");
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      WriteResult insert,
      WriteInTransaction(db_.get(),
                         "INSERT INTO runs (fingerprint, config_json, model, engine_build, host, "
                         "started_at, heartbeat_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, "
                         "'running')",
                         spec.fingerprint, spec.config_json, spec.model, spec.engine_build,
                         spec.host, NowUtc()));
  RunSession session;
  SIGMA_ASSIGN_OR_RETURN(session.run, GetRunLocked(insert.last_rowid));
  return session;
}

StatusOr<RunSession> ResultsStore::BeginRun(const RunSpec& spec) {
  SIGMA_ASSIGN_OR_RETURN(std::optional<RunInfo> existing, FindRunByFingerprint(spec.fingerprint));
  if (!existing.has_value()) return CreateRun(spec);
  std::lock_guard<std::mutex> lock(mu_);
  return ResumeLocked(*existing);
}

namespace {

// What changed between a run's stored configuration and a new one, for the refusal to resume:
// "; engine_build: ... -> ...; limit: 2 -> 3", or "" where either is not JSON.
std::string ConfigChanges(const std::string& stored, const std::string& now) {
  StatusOr<std::unique_ptr<rapidjson::Document>> a = ParseJson(stored, "stored config");
  StatusOr<std::unique_ptr<rapidjson::Document>> b = ParseJson(now, "config");
  if (!a.ok() || !b.ok()) return "";
  std::string out;
  for (const std::string& line : JsonDifferences(**a, **b, 6)) out += StrCat("; ", line);
  return out;
}

}  // namespace

StatusOr<RunSession> ResultsStore::ResumeRun(int64_t run_id, const RunSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(RunInfo run, GetRunLocked(run_id));
  if (run.fingerprint != spec.fingerprint) {
    return FailedPreconditionError("cannot resume run ", run_id,
                                   ": its configuration changed since it started (fingerprint ",
                                   run.fingerprint, ", now ", spec.fingerprint,
                                   ConfigChanges(run.config_json, spec.config_json),
                                   "). Start a new run instead of mixing results");
  }
  return ResumeLocked(run);
}

StatusOr<RunSession> ResultsStore::ResumeLocked(const RunInfo& run) {
  SIGMA_RETURN_IF_ERROR(WriteInTransaction(db_.get(),
                                           "UPDATE runs SET state = 'running', finished_at = "
                                           "NULL, segments = segments + 1, heartbeat_at = ?2 "
                                           "WHERE id = ?1",
                                           run.id, NowUtc())
                            .status());
  RunSession session;
  session.resumed = true;
  SIGMA_ASSIGN_OR_RETURN(session.run, GetRunLocked(run.id));
  session.segment = session.run.segments;
  SIGMA_ASSIGN_OR_RETURN(session.done, DoneSamplesLocked(run.id, false));
  SIGMA_ASSIGN_OR_RETURN(session.failed, DoneSamplesLocked(run.id, true));
  return session;
}

Status ResultsStore::SetTaskPlan(int64_t run_id, const std::string& task,
                                 const std::string& version, int64_t total) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteInTransaction(db_.get(),
                            "INSERT INTO run_tasks (run_id, task, version, total) VALUES (?1, ?2, "
                            "?3, ?4) ON CONFLICT (run_id, task) DO UPDATE SET "
                            "version = excluded.version, total = excluded.total",
                            run_id, task, version, total)
      .status();
}

StatusOr<bool> ResultsStore::InsertSample(const SampleRecord& s) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  SIGMA_RETURN_IF_ERROR(txn.Begin());
  SIGMA_ASSIGN_OR_RETURN(
      Statement existing,
      Statement::Prepare(db_.get(),
                         "SELECT id, error IS NOT NULL FROM samples WHERE run_id = ?1 AND "
                         "task = ?2 AND doc_id = ?3"));
  SIGMA_RETURN_IF_ERROR(existing.BindAll(s.run_id, s.task, s.doc_id));
  SIGMA_ASSIGN_OR_RETURN(bool found, existing.Step());
  const bool replacing = found && existing.ColumnInt(1) != 0;
  if (found && !replacing) return false;  // already done: the txn rolls back
  if (replacing) {
    SIGMA_ASSIGN_OR_RETURN(Statement del,
                           Statement::Prepare(db_.get(), "DELETE FROM samples WHERE id = ?1"));
    SIGMA_RETURN_IF_ERROR(del.BindInt(1, existing.ColumnInt(0)));
    SIGMA_RETURN_IF_ERROR(del.Run());
  }
  SIGMA_RETURN_IF_ERROR(InsertSampleRow(s));
  SIGMA_ASSIGN_OR_RETURN(
      Statement progress,
      Statement::Prepare(db_.get(),
                         "INSERT INTO run_tasks (run_id, task, done, errors) VALUES (?1, ?2, 1, "
                         "?3) ON CONFLICT (run_id, task) DO UPDATE SET done = done + 1 - ?4, "
                         "errors = errors + excluded.errors - ?4"));
  SIGMA_RETURN_IF_ERROR(
      progress.BindAll(s.run_id, s.task, s.error.has_value() ? 1 : 0, replacing ? 1 : 0));
  SIGMA_RETURN_IF_ERROR(progress.Run());
  SIGMA_RETURN_IF_ERROR(txn.Commit());
  return true;
}

Status ResultsStore::InsertSampleRow(const SampleRecord& s) {
  SIGMA_ASSIGN_OR_RETURN(
      Statement insert,
      Statement::Prepare(
          db_.get(),
          "INSERT INTO samples (run_id, task, doc_id, doc_index, prompt, raw_output, extracted, "
          "target, metrics_json, verdict, error, prompt_tokens, new_tokens, ttft_ms, "
          "prefill_tok_s, decode_tok_s, kv_bytes, total_ms, segment, created_at, reused_tokens) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
          "?18, "
          "?19, ?20, ?21)"));
  SIGMA_RETURN_IF_ERROR(insert.BindAll(s.run_id, s.task, s.doc_id, s.doc_index));
  SIGMA_RETURN_IF_ERROR(insert.BindBlob(5, s.prompt));
  SIGMA_RETURN_IF_ERROR(insert.BindBlob(6, s.raw_output));
  SIGMA_RETURN_IF_ERROR(insert.BindBlob(7, s.extracted));
  if (s.target.has_value()) {
    SIGMA_RETURN_IF_ERROR(insert.BindBlob(8, *s.target));
  } else {
    SIGMA_RETURN_IF_ERROR(insert.BindNull(8));
  }
  SIGMA_RETURN_IF_ERROR(insert.BindText(9, s.metrics_json));
  SIGMA_RETURN_IF_ERROR(s.verdict ? insert.BindText(10, *s.verdict) : insert.BindNull(10));
  SIGMA_RETURN_IF_ERROR(s.error ? insert.BindText(11, *s.error) : insert.BindNull(11));
  const SampleTimings& t = s.timings;
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalInt(12, t.prompt_tokens));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalInt(13, t.new_tokens));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalDouble(14, t.ttft_ms));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalDouble(15, t.prefill_tok_s));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalDouble(16, t.decode_tok_s));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalInt(17, t.kv_bytes));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalDouble(18, t.total_ms));
  SIGMA_RETURN_IF_ERROR(insert.BindInt(19, s.segment));
  SIGMA_RETURN_IF_ERROR(insert.BindText(20, NowUtc()));
  SIGMA_RETURN_IF_ERROR(insert.BindOptionalInt(21, t.reused_tokens));
  return insert.Run();
}

StatusOr<std::set<SampleKey>> ResultsStore::DoneSamples(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return DoneSamplesLocked(run_id, false);
}

StatusOr<std::set<SampleKey>> ResultsStore::DoneSamplesLocked(int64_t run_id, bool failed_only) {
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(), failed_only ? "SELECT task, doc_id FROM samples WHERE "
                                                  "run_id = ?1 AND error IS NOT NULL"
                                                : "SELECT task, doc_id FROM samples WHERE "
                                                  "run_id = ?1"));
  SIGMA_RETURN_IF_ERROR(stmt.BindInt(1, run_id));
  std::set<SampleKey> done;
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    done.emplace(stmt.ColumnBytes(0), stmt.ColumnBytes(1));
  }
  return done;
}

StatusOr<std::vector<SampleRecord>> ResultsStore::ReadSamples(int64_t run_id,
                                                              const std::string& task) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(
          db_.get(),
          StrCat("SELECT task, doc_id, doc_index, prompt, raw_output, extracted, target, "
                 "metrics_json, verdict, error, prompt_tokens, new_tokens, ttft_ms, "
                 "prefill_tok_s, decode_tok_s, kv_bytes, total_ms, segment, ",
                 version_ >= 3 ? "reused_tokens" : "NULL",
                 " FROM samples WHERE run_id = ?1 AND (?2 = '' OR task = ?2) "
                 "ORDER BY task, doc_index, doc_id")));
  SIGMA_RETURN_IF_ERROR(stmt.BindAll(run_id, task));
  std::vector<SampleRecord> out;
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    SampleRecord& s = out.emplace_back();
    s.run_id = run_id;
    s.task = stmt.ColumnBytes(0);
    s.doc_id = stmt.ColumnBytes(1);
    s.doc_index = stmt.ColumnOptionalInt(2);
    s.prompt = stmt.ColumnBytes(3);
    s.raw_output = stmt.ColumnBytes(4);
    s.extracted = stmt.ColumnBytes(5);
    if (!stmt.IsNull(6)) s.target = stmt.ColumnBytes(6);
    s.metrics_json = stmt.ColumnBytes(7);
    if (!stmt.IsNull(8)) s.verdict = stmt.ColumnBytes(8);
    if (!stmt.IsNull(9)) s.error = stmt.ColumnBytes(9);
    s.timings.prompt_tokens = stmt.ColumnOptionalInt(10);
    s.timings.new_tokens = stmt.ColumnOptionalInt(11);
    s.timings.ttft_ms = stmt.ColumnOptionalDouble(12);
    s.timings.prefill_tok_s = stmt.ColumnOptionalDouble(13);
    s.timings.decode_tok_s = stmt.ColumnOptionalDouble(14);
    s.timings.kv_bytes = stmt.ColumnOptionalInt(15);
    s.timings.total_ms = stmt.ColumnOptionalDouble(16);
    s.segment = stmt.ColumnInt(17);
    s.timings.reused_tokens = stmt.ColumnOptionalInt(18);
  }
  return out;
}

Status ResultsStore::WriteTaskResults(int64_t run_id, const std::string& task,
                                      const std::vector<TaskResultRow>& rows) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_.get());
  SIGMA_RETURN_IF_ERROR(txn.Begin());
  SIGMA_ASSIGN_OR_RETURN(
      Statement del,
      Statement::Prepare(db_.get(), "DELETE FROM task_results WHERE run_id = ?1 AND task = ?2"));
  SIGMA_RETURN_IF_ERROR(del.BindAll(run_id, task));
  SIGMA_RETURN_IF_ERROR(del.Run());
  SIGMA_ASSIGN_OR_RETURN(
      Statement ins,
      Statement::Prepare(db_.get(),
                         "INSERT INTO task_results (run_id, task, metric, value, stderr, ci_low, "
                         "ci_high, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  for (const TaskResultRow& r : rows) {
    SIGMA_RETURN_IF_ERROR(ins.Reset());
    SIGMA_RETURN_IF_ERROR(
        ins.BindAll(run_id, task, r.metric, r.value, r.stderr_value, r.ci_low, r.ci_high, r.n));
    SIGMA_RETURN_IF_ERROR(ins.Run());
  }
  return txn.Commit();
}

StatusOr<std::vector<TaskResultRow>> ResultsStore::ReadTaskResults(int64_t run_id,
                                                                   const std::string& task) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(),
                         "SELECT metric, value, stderr, ci_low, ci_high, n FROM task_results "
                         "WHERE run_id = ?1 AND task = ?2 ORDER BY metric"));
  SIGMA_RETURN_IF_ERROR(stmt.BindAll(run_id, task));
  std::vector<TaskResultRow> rows;
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    rows.push_back({stmt.ColumnBytes(0), stmt.ColumnOptionalDouble(1), stmt.ColumnOptionalDouble(2),
                    stmt.ColumnOptionalDouble(3), stmt.ColumnOptionalDouble(4), stmt.ColumnInt(5)});
  }
  return rows;
}

StatusOr<int64_t> ResultsStore::CreateBenchRun(const BenchRunSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      WriteResult insert,
      WriteInTransaction(db_.get(),
                         "INSERT INTO bench_runs (run_id, config_json, model, engine_build, host, "
                         "device, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         spec.run_id, spec.config_json, spec.model, spec.engine_build, spec.host,
                         spec.device, NowUtc()));
  return insert.last_rowid;
}

Status ResultsStore::FinishBenchRun(int64_t bench_id, RunState state) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      WriteResult update,
      WriteInTransaction(db_.get(),
                         "UPDATE bench_runs SET state = ?2, finished_at = ?3 WHERE id = ?1",
                         bench_id, RunStateName(state), NowUtc()));
  if (update.changes == 0) return NotFoundError("no bench run with id ", bench_id);
  return Status::Ok();
}

StatusOr<int64_t> ResultsStore::InsertSpeed(const SpeedRow& r) {
  if (r.run_id.has_value() == r.bench_id.has_value()) {
    return InvalidArgumentError("speed row: set exactly one of run_id and bench_id");
  }
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      WriteResult insert,
      WriteInTransaction(
          db_.get(),
          "INSERT INTO speed (run_id, bench_id, config_json, context_length, batch, phase, "
          "repetitions, tokens_per_s_mean, tokens_per_s_std, ms_per_token, bytes_moved, device, "
          "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
          r.run_id, r.bench_id, r.config_json, r.context_length, r.batch, r.phase, r.repetitions,
          r.tokens_per_s_mean, r.tokens_per_s_std, r.ms_per_token, r.bytes_moved, r.device,
          NowUtc()));
  return insert.last_rowid;
}

Status ResultsStore::Heartbeat(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return WriteInTransaction(db_.get(), "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1", run_id,
                            NowUtc())
      .status();
}

Status ResultsStore::FinishRun(int64_t run_id, RunState state) {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      WriteResult update,
      WriteInTransaction(db_.get(),
                         "UPDATE runs SET state = ?2, finished_at = ?3, heartbeat_at = ?3 "
                         "WHERE id = ?1",
                         run_id, RunStateName(state), NowUtc()));
  if (update.changes == 0) return NotFoundError("no run with id ", run_id);
  return Status::Ok();
}

StatusOr<std::vector<RunInfo>> ResultsStore::ListRuns() {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(), StrCat("SELECT ", kRunColumns, " FROM runs ORDER BY id DESC")));
  std::vector<RunInfo> runs;
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    SIGMA_ASSIGN_OR_RETURN(RunInfo run, ReadRunRow(stmt));
    runs.push_back(std::move(run));
  }
  return runs;
}

StatusOr<RunInfo> ResultsStore::GetRun(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetRunLocked(run_id);
}

StatusOr<RunInfo> ResultsStore::GetRunLocked(int64_t run_id) {
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt,
      Statement::Prepare(db_.get(), StrCat("SELECT ", kRunColumns, " FROM runs WHERE id = ?1")));
  SIGMA_RETURN_IF_ERROR(stmt.BindInt(1, run_id));
  SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return NotFoundError("results database: no run with id ", run_id);
  return ReadRunRow(stmt);
}

StatusOr<RunStatus> ResultsStore::GetRunStatus(int64_t run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  // One read transaction, so the run row and the counters come from the same snapshot.
  SIGMA_RETURN_IF_ERROR(Exec(db_.get(), "BEGIN", "begin read"));
  struct EndRead {
    sqlite3* db;
    ~EndRead() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } end_read{db_.get()};
  RunStatus status;
  SIGMA_ASSIGN_OR_RETURN(status.run, GetRunLocked(run_id));
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt, Statement::Prepare(db_.get(),
                                         "SELECT task, version, total, done, errors FROM run_tasks "
                                         "WHERE run_id = ?1 ORDER BY task"));
  SIGMA_RETURN_IF_ERROR(stmt.BindInt(1, run_id));
  for (;;) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    TaskProgress& t = status.tasks.emplace_back();
    t.task = stmt.ColumnBytes(0);
    t.version = stmt.ColumnBytes(1);
    t.total = stmt.ColumnOptionalInt(2);
    t.done = stmt.ColumnInt(3);
    t.errors = stmt.ColumnInt(4);
    status.done += t.done;
    status.errors += t.errors;
    status.total += t.total.value_or(0);
  }
  return status;
}

Status ResultsStore::CheckIntegrity() {
  std::lock_guard<std::mutex> lock(mu_);
  SIGMA_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db_.get(), "PRAGMA integrity_check"));
  SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError("integrity_check returned nothing");
  std::string answer = stmt.ColumnBytes(0);
  if (answer != "ok") return DataLossError("results database: integrity_check: ", answer);
  return Status::Ok();
}

}  // namespace sigma::store
