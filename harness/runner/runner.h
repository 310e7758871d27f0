// Runner: drives an evaluation: tasks -> requests -> backend -> scores -> SQLite, with resume.
//
// Flow (DESIGN.md §2): the run's canonical config and its fingerprint (backend fingerprint: model
// file hashes, sampling, KV dtype; task versions and hashes; limit; batch; engine build) are written
// to `runs` before any work. Documents already stored for the run are skipped (resume), the rest go
// to the backend `batch` documents at a time, and each scored sample is stored in its own
// transaction (a failed sample is a row with an error). When every task is done, aggregates with
// standard errors and 95% intervals go to `task_results`, and the run's speed figures (prefill and
// decode tokens/s, time to first token, end-to-end throughput, peak memory) to `speed`.
// Interruption (the flag is set by SIGINT/SIGTERM) stops between batches and marks the run
// "interrupted"; `--resume RUN` continues it, and refuses when the fingerprint changed.
// Thread safety: not thread-safe.
#ifndef SIGMA_HARNESS_RUNNER_RUNNER_H_
#define SIGMA_HARNESS_RUNNER_RUNNER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "harness/backends/backend.h"
#include "harness/store/results_store.h"
#include "tasks/eval_task.h"

namespace sigma::harness {

struct RunOptions {
  int64_t limit = 0;         // documents per task; 0 = all
  int64_t batch = 8;         // documents handed to the backend at once
  int64_t resume_run = 0;    // > 0: continue this run
  std::string extra_config;  // JSON object merged into the canonical config (CLI settings)
  std::string device = "cpu";  // the `device` of the run's speed rows ("cpu" or "cuda")
  // > 0: every generate_until request may take this many new tokens, in place of its task's own
  // limit (the CLI puts it in extra_config too, so that it is part of the fingerprint).
  int64_t max_gen_tokens = 0;
};

struct TaskSummary {
  std::string task;
  int64_t done = 0;
  int64_t errors = 0;
  std::string first_error;  // of the first failed sample (doc id and message), empty when none
  int64_t cut_off = 0;      // samples a generation of which the token limit or context cut off
  std::vector<store::TaskResultRow> results;
};

struct RunSummary {
  int64_t run_id = 0;
  bool resumed = false;
  int64_t new_samples = 0;
  double elapsed_s = 0;
  std::vector<TaskSummary> tasks;
};

// Progress callback: (samples done in the run so far, total, current task).
using RunProgress = std::function<void(int64_t, int64_t, const std::string&)>;

// --max-gen-toks: `max_gen_tokens` new tokens (when > 0) for the generate_until requests of
// `requests`, in place of each task's own limit.
void ApplyMaxGenTokens(int64_t max_gen_tokens, std::vector<tasks::Request>& requests);

class Runner {
 public:
  Runner(Backend& backend, std::vector<std::unique_ptr<tasks::EvalTask>> tasks,
         store::ResultsStore& store, RunOptions options);

  // The canonical config JSON and its SHA-256 (computed once).
  const std::string& config_json() const { return config_json_; }
  const std::string& fingerprint() const { return fingerprint_; }

  // `interrupted` may be null. ABORTED when interrupted (the run is stored as "interrupted").
  StatusOr<RunSummary> Run(const RunProgress& progress, const std::atomic<bool>* interrupted);

 private:
  size_t DocCount(const tasks::EvalTask& task) const;
  Status RunTask(int64_t run_id, int64_t segment, tasks::EvalTask& task,
                 const std::set<store::SampleKey>& done, int64_t* done_total, int64_t total,
                 const RunProgress& progress, const std::atomic<bool>* interrupted,
                 RunSummary* summary);
  void CollectItems(const tasks::EvalTask& task, const std::vector<size_t>& docs,
                    const std::vector<std::vector<tasks::Request>>& requests,
                    const std::vector<std::vector<tasks::Request>>* first_round,
                    std::vector<BackendItem>* items,
                    std::vector<std::pair<size_t, size_t>>* ranges) const;
  Status RunBatch(int64_t run_id, int64_t segment, tasks::EvalTask& task,
                  const std::vector<size_t>& docs, RunSummary* summary);
  Status Aggregate(int64_t run_id, RunSummary* summary);
  Status WriteSpeed(int64_t run_id, double elapsed_s);

  Backend& backend_;
  std::vector<std::unique_ptr<tasks::EvalTask>> tasks_;
  store::ResultsStore& store_;
  RunOptions options_;
  std::string config_json_;
  std::string fingerprint_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_RUNNER_RUNNER_H_
