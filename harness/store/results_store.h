// ResultsStore: the SQLite results database of sigma-eval (DESIGN.md §5; schema in SCHEMA.md).
//
// One ResultsStore owns one connection (WAL, synchronous=NORMAL, busy_timeout, foreign keys on).
// Every write is one BEGIN IMMEDIATE transaction; InsertSample stores a sample and bumps its task's
// progress counter in the same transaction, so a crash (even SIGKILL) leaves each sample either
// fully present or absent. Other processes may open the same file and read (ListRuns,
// GetRunStatus) while a run is writing.
//
// Typical runner flow:
//   SIGMA_ASSIGN_OR_RETURN(auto store, ResultsStore::Open("results.db"));
//   SIGMA_ASSIGN_OR_RETURN(RunSession run, store->BeginRun(spec));          // new, or resumed
//   store->SetTaskPlan(run.run_id, "gsm8k", task_version, num_docs);
//   for each doc not in run.done: ... store->InsertSample(record);
//   store->WriteTaskResults(run.run_id, "gsm8k", aggregates);
//   store->FinishRun(run.run_id, RunState::kComplete);
//
// Ownership: values in and out are plain structs copied by value.
// Thread safety: all methods are thread-safe (serialised by an internal mutex on the single
// connection). Never use a ResultsStore across fork(): open a new one in the child.
#ifndef SIGMA_HARNESS_STORE_RESULTS_STORE_H_
#define SIGMA_HARNESS_STORE_RESULTS_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "harness/store/sqlite.h"

namespace sigma::store {

enum class RunState { kRunning, kComplete, kInterrupted, kFailed };
std::string_view RunStateName(RunState state);  // "running", "complete", ...
StatusOr<RunState> ParseRunState(std::string_view name);

struct StoreOptions {
  int busy_timeout_ms = 10'000;
  bool create = true;     // create the file when missing
  bool read_only = false; // open for reading only (reports, status); never migrates
};

// What identifies a run. `fingerprint` is the hash of the canonical config (model file hashes,
// task versions, generation parameters, seed); `config_json` is that canonical config.
struct RunSpec {
  std::string fingerprint;
  std::string config_json;
  std::string model;
  std::string engine_build;
  std::string host;
};

struct RunInfo {
  int64_t id = 0;
  std::string fingerprint;
  std::string config_json;
  std::string model;
  std::string engine_build;
  std::string host;
  std::string started_at;   // RFC 3339 UTC
  std::string finished_at;  // empty while unfinished
  std::string heartbeat_at;
  RunState state = RunState::kRunning;
  int64_t segments = 1;  // 1 + number of resumes
};

using SampleKey = std::pair<std::string, std::string>;  // (task, doc_id)

// A run being worked on: new (resumed == false, done empty) or resumed.
struct RunSession {
  RunInfo run;
  bool resumed = false;
  int64_t segment = 1;      // the value written into samples.segment from now on
  std::set<SampleKey> done;    // samples already stored (failed ones included): skip them
  std::set<SampleKey> failed;  // the subset stored with an error: may be retried
};

// Per-sample timing. Unset fields are stored as NULL.
struct SampleTimings {
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> reused_tokens;  // of prompt_tokens, KV rows an earlier request left
  std::optional<int64_t> new_tokens;
  std::optional<double> ttft_ms;
  std::optional<double> prefill_tok_s;
  std::optional<double> decode_tok_s;
  std::optional<int64_t> kv_bytes;
  std::optional<double> total_ms;
};

// One scored sample. prompt, raw_output, extracted and target are stored as BLOBs, byte-exact.
struct SampleRecord {
  int64_t run_id = 0;
  std::string task;
  std::string doc_id;
  std::optional<int64_t> doc_index;
  std::string prompt;
  std::string raw_output;
  std::string extracted;
  std::optional<std::string> target;
  std::string metrics_json = "{}";  // must be a JSON object (checked by SQLite's json_valid)
  std::optional<std::string> verdict;  // sandbox verdict name, when code ran
  std::optional<std::string> error;    // set: the sample failed (counted in errors)
  SampleTimings timings;
  int64_t segment = 1;
};

struct TaskResultRow {
  std::string metric;
  std::optional<double> value;  // NULL when undefined (e.g. no samples)
  std::optional<double> stderr_value;
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  int64_t n = 0;
};

struct TaskProgress {
  std::string task;
  std::string version;
  std::optional<int64_t> total;  // unknown until SetTaskPlan
  int64_t done = 0;
  int64_t errors = 0;
};

struct RunStatus {
  RunInfo run;
  std::vector<TaskProgress> tasks;  // sorted by task name
  int64_t done = 0;
  int64_t total = 0;  // sum of known totals
  int64_t errors = 0;
};

struct BenchRunSpec {
  std::optional<int64_t> run_id;  // when the bench belongs to an eval run
  std::string config_json = "{}";
  std::string model;
  std::string engine_build;
  std::string host;
  std::string device;
};

struct SpeedRow {
  std::optional<int64_t> run_id;    // exactly one of run_id and bench_id
  std::optional<int64_t> bench_id;
  std::string config_json = "{}";
  int64_t context_length = 0;
  int64_t batch = 1;
  std::string phase;  // "prefill", "decode", "end_to_end", ...
  int64_t repetitions = 1;
  double tokens_per_s_mean = 0;
  std::optional<double> tokens_per_s_std;
  std::optional<double> ms_per_token;
  std::optional<double> bytes_moved;
  std::string device;
};

class ResultsStore {
 public:
  // Opens or creates `path`, sets the pragmas and migrates to the current schema.
  static StatusOr<std::unique_ptr<ResultsStore>> Open(const std::string& path,
                                                      const StoreOptions& options = {});

  // New run, or the newest run with the same fingerprint when one exists (resume). A resumed run
  // goes back to "running", its segment count grows, and `done` lists its stored samples.
  StatusOr<RunSession> BeginRun(const RunSpec& spec);
  // Always a new run.
  StatusOr<RunSession> CreateRun(const RunSpec& spec);
  // Resumes run `run_id`; FAILED_PRECONDITION when its fingerprint differs from spec's (the
  // message names what changed between the stored configuration and spec.config_json), NOT_FOUND
  // when there is no such run.
  StatusOr<RunSession> ResumeRun(int64_t run_id, const RunSpec& spec);
  StatusOr<std::optional<RunInfo>> FindRunByFingerprint(const std::string& fingerprint);

  // Declares how many docs a task has in this run (for done/total), and its version.
  Status SetTaskPlan(int64_t run_id, const std::string& task, const std::string& version,
                     int64_t total);

  // Stores one sample in one transaction. Returns false (and changes nothing) when the sample
  // (run, task, doc_id) is already stored without an error: resume is idempotent. A stored
  // sample WITH an error is replaced (a retry of an infrastructure failure), keeping the
  // counters exact.
  StatusOr<bool> InsertSample(const SampleRecord& sample);
  StatusOr<std::set<SampleKey>> DoneSamples(int64_t run_id);
  // Samples of one task in doc_index order (for re-aggregation after a resume). Empty task: all.
  StatusOr<std::vector<SampleRecord>> ReadSamples(int64_t run_id, const std::string& task);

  // Replaces all task_results rows of (run, task) in one transaction.
  Status WriteTaskResults(int64_t run_id, const std::string& task,
                          const std::vector<TaskResultRow>& rows);
  StatusOr<std::vector<TaskResultRow>> ReadTaskResults(int64_t run_id, const std::string& task);

  StatusOr<int64_t> CreateBenchRun(const BenchRunSpec& spec);
  Status FinishBenchRun(int64_t bench_id, RunState state);
  StatusOr<int64_t> InsertSpeed(const SpeedRow& row);

  Status Heartbeat(int64_t run_id);
  Status FinishRun(int64_t run_id, RunState state);
  StatusOr<std::vector<RunInfo>> ListRuns();  // newest first
  StatusOr<RunInfo> GetRun(int64_t run_id);
  StatusOr<RunStatus> GetRunStatus(int64_t run_id);

  // PRAGMA integrity_check; OK when it answers "ok".
  Status CheckIntegrity();

  sqlite3* raw_db() { return db_.get(); }  // for tests and read-only tools

 private:
  ResultsStore(DbHandle db, int version) : db_(std::move(db)), version_(version) {}
  StatusOr<RunSession> ResumeLocked(const RunInfo& run);
  StatusOr<RunInfo> GetRunLocked(int64_t run_id);
  StatusOr<std::set<SampleKey>> DoneSamplesLocked(int64_t run_id, bool failed_only);
  Status InsertSampleRow(const SampleRecord& sample);

  std::mutex mu_;
  DbHandle db_;
  int version_;  // the file's schema version: kSchemaVersion, or older when opened read-only
};

// Current time as RFC 3339 UTC with milliseconds ("2026-11-28T15:24:42.123Z").
std::string NowUtc();

}  // namespace sigma::store

#endif  // SIGMA_HARNESS_STORE_RESULTS_STORE_H_
