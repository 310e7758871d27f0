#include "harness/cli/task_flags.h"

#include <cstdio>

namespace sigma::cli {

void TaskFlags::Register(Flags& flags) {
  flags.String("tasks", &tasks,
               "comma-separated tasks or groups (benchmark groups, aimicius, code, all)");
  flags.String("tasks-dir", &tasks_dir,
               "folder of task configs (default: the built-in benchmarks)");
  flags.String("data-dir", &data_dir, "folder with full datasets: <data-dir>/<task>/<split>.jsonl");
  flags.Int("num-fewshot", &num_fewshot,
            "few-shot examples per prompt of the general benchmarks, in place of each task's "
            "own; -1 = the task's");
  flags.Int("max-gen-toks", &max_gen_toks,
            "new tokens each generated answer may take, in place of each task's own limit; 0 = "
            "the task's");
}

StatusOr<harness::LoadedTasks> TaskFlags::Load(int threads, const char* command) const {
  if (tasks.empty()) return InvalidArgumentError("--tasks: required (e.g. mmlu,gsm8k or aimicius)");
  if (num_fewshot < -1 || num_fewshot > 64) {
    return InvalidArgumentError("--num-fewshot: expected 0..64 (or -1: each task's own), got ",
                                num_fewshot);
  }
  if (max_gen_toks < 0 || max_gen_toks > 1'000'000) {
    return InvalidArgumentError("--max-gen-toks: expected 0..1000000 (0: each task's own), got ",
                                max_gen_toks);
  }
  harness::TaskLoadSpec spec{tasks, tasks_dir, data_dir, threads, num_fewshot};
  SIGMA_ASSIGN_OR_RETURN(harness::LoadedTasks loaded, harness::LoadEvalTasks(spec));
  if (!loaded.fixed_prompts.empty()) {
    std::string names;
    for (const std::string& name : loaded.fixed_prompts) {
      names += (names.empty() ? "" : ", ") + name;
    }
    std::fprintf(stderr,
                 "sigma-eval %s: note: --num-fewshot does not change %s (prompts fixed by their "
                 "benchmarks)\n",
                 command, names.c_str());
  }
  return loaded;
}

}  // namespace sigma::cli
