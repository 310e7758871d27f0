// Task loading for the runner: expands a --tasks spec into EvalTasks. Names and groups come from
// the config-driven benchmarks (tasks/benchmarks, or --tasks-dir); AIMICIUS tasks join here.
#ifndef SIGMA_HARNESS_RUNNER_TASK_LOADER_H_
#define SIGMA_HARNESS_RUNNER_TASK_LOADER_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/eval_task.h"

namespace sigma::harness {

struct TaskLoadSpec {
  std::string tasks;      // "mmlu,gsm8k", group names, "all"
  std::string tasks_dir;  // empty: tasks::DefaultBenchmarksDir()
  std::string data_dir;   // full datasets, <data_dir>/<task>/...
};

StatusOr<std::vector<std::unique_ptr<tasks::EvalTask>>> LoadEvalTasks(const TaskLoadSpec& spec);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_RUNNER_TASK_LOADER_H_
