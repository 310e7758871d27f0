// ResultsReader: read-only access to a sigma-eval results database through the SQL contract in
// harness/store/SCHEMA.md (plain SELECTs over runs, samples, run_tasks, task_results, bench_runs,
// speed). reports/ never includes harness headers: the schema is the interface.
//
// Open() refuses, with a message naming the file: a missing file (NOT_FOUND), a file that is not
// SQLite or not a sigma-eval database (FAILED_PRECONDITION: application_id / user_version), and a
// schema newer than this reader knows (FAILED_PRECONDITION). Schema v1 files (no speed tables)
// are read too. Byte-exact columns (prompt, raw_output, extracted, target) come back as the stored
// bytes, including NUL and invalid UTF-8.
//
// Ownership: the reader owns one read-only connection; results are plain structs copied out.
// Thread safety: thread-compatible (one connection; use one reader per thread).
#ifndef SIGMA_REPORTS_RESULTS_READER_H_
#define SIGMA_REPORTS_RESULTS_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/status.h"

struct sqlite3;

namespace sigma::reports {

inline constexpr int kMaxSchemaVersion = 3;
inline constexpr int64_t kSigmaApplicationId = 0x53474556;  // "SGEV"

struct RunRecord {
  int64_t id = 0;
  std::string fingerprint;
  std::string config_json;
  std::string model;
  std::string engine_build;
  std::string host;
  std::string started_at;
  std::string finished_at;  // empty while unfinished
  std::string state;
  int64_t segments = 1;
  // A run of recorded outputs (e.g. GPT-4's), model "replay:FILE".
  bool IsReplay() const { return model.rfind("replay:", 0) == 0; }
};

struct TaskResultRecord {
  int64_t run_id = 0;
  std::string task;
  std::string metric;
  std::optional<double> value;
  std::optional<double> stderr_value;
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  int64_t n = 0;
};

struct TaskProgressRecord {
  int64_t run_id = 0;
  std::string task;
  std::string version;
  std::optional<int64_t> total;
  int64_t done = 0;
  int64_t errors = 0;
};

// One full sample row.
struct SampleRecord {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string task;
  std::string doc_id;
  std::optional<int64_t> doc_index;
  std::string prompt;      // bytes
  std::string raw_output;  // bytes
  std::string extracted;   // bytes
  std::optional<std::string> target;
  std::string metrics_json;
  std::optional<std::string> verdict;
  std::optional<std::string> error;
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> reused_tokens;  // of prompt_tokens (schema v3)
  std::optional<int64_t> new_tokens;
  std::optional<double> ttft_ms;
  std::optional<double> prefill_tok_s;
  std::optional<double> decode_tok_s;
  std::optional<int64_t> kv_bytes;
  std::optional<double> total_ms;
  int64_t segment = 1;
};

// The light part of a sample (no text): what comparison and summaries need.
struct SampleScores {
  std::string task;
  std::string doc_id;
  bool has_error = false;
  std::optional<std::string> verdict;
  std::map<std::string, double> metrics;  // numeric per-sample metrics ("_" keys skipped)
  bool cut_off = false;  // a generation ended at the token limit or the context (_stop_reasons)
  std::optional<int64_t> prompt_tokens;
  std::optional<double> ttft_ms;
  std::optional<double> prefill_tok_s;
  std::optional<double> decode_tok_s;
  int64_t segment = 1;
};

struct BenchRunRecord {
  int64_t id = 0;
  std::optional<int64_t> run_id;
  std::string config_json;
  std::string model;
  std::string engine_build;
  std::string host;
  std::string device;
  std::string started_at;
  std::string finished_at;
  std::string state;
};

struct SpeedRecord {
  int64_t id = 0;
  std::optional<int64_t> run_id;
  std::optional<int64_t> bench_id;
  std::string config_json;
  int64_t context_length = 0;
  int64_t batch = 1;
  std::string phase;
  int64_t repetitions = 1;
  double tokens_per_s_mean = 0;
  std::optional<double> tokens_per_s_std;
  std::optional<double> ms_per_token;
  std::optional<double> bytes_moved;
  std::string device;
  std::string created_at;
};

// The fields of a speed row's config_json that reports and compare read (`sigma-eval bench` and
// the runner write them; a field that is absent or of another type stays empty).
struct SpeedRowConfig {
  std::string model;
  std::string kv_dtype;
  int64_t selective_v = 0;
  std::optional<double> read_gbps;        // bench decode: the host's read bandwidth as it ran
  std::optional<double> read_share;       // the median share of it the step's bytes reached
  std::optional<double> read_share_mean;  // the shares' mean and sample std
  std::optional<double> read_share_std;
};
SpeedRowConfig ParseSpeedRowConfig(const std::string& config_json);

// What tells runs of one model apart, from a run's config_json (`sigma-eval run` writes it):
// "kv bf16, batch 4, limit 10", then where set "selective V 64", the sampling ("temperature 0.7,
// top-p 0.9, top-k 40, seed 3"; greedy says nothing), a device other than the CPU and the run's
// prompt flags ("0-shot", "chat template, multiturn, system instruction", "max 64 new tokens"). A
// replay run: "replay, batch 4, limit 10"; a server's: "api" ("api, text offsets" where it was
// scored without the model's tokenizer), then the same. Fields that are absent or of another type
// are left out; empty for a configuration that is not a JSON object.
std::string RunSettings(const std::string& config_json);

class ResultsReader {
 public:
  static StatusOr<std::unique_ptr<ResultsReader>> Open(const std::string& path);
  ~ResultsReader();
  ResultsReader(const ResultsReader&) = delete;
  ResultsReader& operator=(const ResultsReader&) = delete;

  int schema_version() const { return schema_version_; }
  const std::string& path() const { return path_; }

  // Runs by id ascending; empty `ids` = all runs. NOT_FOUND names an id that does not exist.
  StatusOr<std::vector<RunRecord>> ReadRuns(const std::vector<int64_t>& ids = {});
  StatusOr<std::vector<TaskResultRecord>> ReadTaskResults(int64_t run_id);  // by task, metric
  StatusOr<std::vector<TaskProgressRecord>> ReadTaskProgress(int64_t run_id);
  // Task names of a run's samples, sorted.
  StatusOr<std::vector<std::string>> ReadSampleTasks(int64_t run_id);
  StatusOr<int64_t> CountSamples(int64_t run_id, const std::string& task);
  // A page of samples of (run, task) in (doc_index, doc_id) order; limit < 0 = no limit.
  StatusOr<std::vector<SampleRecord>> ReadSamples(int64_t run_id, const std::string& task,
                                                  int64_t offset, int64_t limit);
  StatusOr<std::optional<SampleRecord>> ReadSample(int64_t run_id, const std::string& task,
                                                   const std::string& doc_id);
  // Scores and timings of every sample of a run (all tasks), in (task, doc_index, doc_id) order.
  StatusOr<std::vector<SampleScores>> ReadSampleScores(int64_t run_id);
  // Bench sessions; empty `ids` = all. Empty on a v1 database.
  StatusOr<std::vector<BenchRunRecord>> ReadBenchRuns(const std::vector<int64_t>& ids = {});
  // Speed rows of the given runs and bench sessions, by (source, phase, batch, context, id).
  StatusOr<std::vector<SpeedRecord>> ReadSpeed(const std::vector<int64_t>& run_ids,
                                               const std::vector<int64_t>& bench_ids);

 private:
  ResultsReader(sqlite3* db, std::string path, int version)
      : db_(db), path_(std::move(path)), schema_version_(version) {}

  sqlite3* db_;  // owned; closed in the destructor
  std::string path_;
  int schema_version_;
};

// Parses a per-sample metrics_json object into its numeric metrics (keys starting with '_' and
// non-numeric values skipped; booleans count as 0/1). `cut_off`, when not null, says whether a
// generation of the sample ended at the token limit or the context ("max_tokens" or
// "context_full" in "_stop_reasons", SCHEMA.md).
StatusOr<std::map<std::string, double>> ParseSampleMetrics(const std::string& metrics_json,
                                                           bool* cut_off = nullptr);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_RESULTS_READER_H_
