// Task loading for the runner: expands a --tasks spec into EvalTasks, from the config-driven
// benchmarks (tasks/benchmarks, or --tasks-dir) and the AIMICIUS tasks (aimicius/): names
// nl2kql, infrawise, optiflow, cmdgen, cmdgen_nvidia, cmdgen_amd; group "aimicius".
// Tasks that run code get the bubblewrap sandbox, and CMDGen the MiniLM encoder; both are started
// once, owned by LoadedTasks, and must outlive the tasks (keep LoadedTasks alive for the run).
#ifndef SIGMA_HARNESS_RUNNER_TASK_LOADER_H_
#define SIGMA_HARNESS_RUNNER_TASK_LOADER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/eval_task.h"
#include "tasks/executor.h"

namespace sigma::aimicius {
class Embedder;
}

namespace sigma::harness {

struct TaskLoadSpec {
  std::string tasks;      // "mmlu,gsm8k", group names, "aimicius", "all"
  std::string tasks_dir;  // empty: tasks::DefaultBenchmarksDir()
  std::string data_dir;   // full datasets, <data_dir>/<task>/...
  int threads = 0;        // for the sentence encoder
  int64_t num_fewshot = -1;  // >= 0: the benchmarks' few-shot examples per prompt (--num-fewshot)
  bool apply_chat_template = false;  // the benchmarks' prompts as chat messages
  std::string system_instruction{};  // their chat's system message
  bool fewshot_as_multiturn = false;  // their examples as turns of the chat
  // Whether any of these changes the benchmarks' prompts (and so leaves the fixed ones).
  bool ChangesPrompts() const {
    return num_fewshot >= 0 || apply_chat_template || !system_instruction.empty() ||
           fewshot_as_multiturn;
  }
};

struct LoadedTasks {
  LoadedTasks();
  LoadedTasks(LoadedTasks&&) noexcept;
  LoadedTasks& operator=(LoadedTasks&&) noexcept;
  ~LoadedTasks();
  // Declared first so they are destroyed last.
  std::unique_ptr<tasks::Executor> executor;
  std::unique_ptr<aimicius::Embedder> embedder;
  std::vector<std::unique_ptr<tasks::EvalTask>> tasks;
  // Where the spec ChangesPrompts: the tasks it does not change (AIMICIUS and code tasks, whose
  // prompts are fixed by their benchmarks), for the caller to say so.
  std::vector<std::string> fixed_prompts;
  // The benchmark groups the run reports a pooled score for (group_scores.h): those --tasks names
  // (directly or inside sigma_problem_solving), and bbh whenever all its subtasks are loaded.
  std::map<std::string, std::vector<std::string>> score_groups;
};

StatusOr<LoadedTasks> LoadEvalTasks(const TaskLoadSpec& spec);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_RUNNER_TASK_LOADER_H_
