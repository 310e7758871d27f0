#include "harness/cli/task_flags.h"

#include <cstdio>
#include <utility>

#include "engine/base/json.h"

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
  flags.Bool("apply-chat-template", &apply_chat_template,
             "send the general benchmarks' prompts as chat messages through the model's chat "
             "template (lm-eval's --apply_chat_template)");
  flags.String("system-instruction", &system_instruction,
               "with --apply-chat-template: the chat's system message");
  flags.Bool("fewshot-as-multiturn", &fewshot_as_multiturn,
             "with --apply-chat-template: each few-shot example a user and an assistant turn "
             "(lm-eval's --fewshot_as_multiturn)");
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
  if (!system_instruction.empty() && !apply_chat_template) {
    return InvalidArgumentError(
        "--system-instruction: the chat's system message; give --apply-chat-template too");
  }
  if (fewshot_as_multiturn && !apply_chat_template) {
    return InvalidArgumentError(
        "--fewshot-as-multiturn: turns of the chat; give --apply-chat-template too");
  }
  harness::TaskLoadSpec spec;
  spec.tasks = tasks;
  spec.tasks_dir = tasks_dir;
  spec.data_dir = data_dir;
  spec.threads = threads;
  spec.num_fewshot = num_fewshot;
  spec.apply_chat_template = apply_chat_template;
  spec.system_instruction = system_instruction;
  spec.fewshot_as_multiturn = fewshot_as_multiturn;
  SIGMA_ASSIGN_OR_RETURN(harness::LoadedTasks loaded, harness::LoadEvalTasks(spec));
  if (!loaded.fixed_prompts.empty()) {
    std::string names, given;
    for (const std::string& name : loaded.fixed_prompts) {
      names += (names.empty() ? "" : ", ") + name;
    }
    for (const auto& [flag, set] : {std::pair{"--num-fewshot", num_fewshot >= 0},
                                    std::pair{"--apply-chat-template", apply_chat_template},
                                    std::pair{"--system-instruction", !system_instruction.empty()},
                                    std::pair{"--fewshot-as-multiturn", fewshot_as_multiturn}}) {
      if (set) given += StrCat(given.empty() ? "" : ", ", flag);
    }
    std::fprintf(stderr,
                 "sigma-eval %s: note: %s %s not change %s (prompts fixed by their benchmarks)\n",
                 command, given.c_str(), given.find(',') == std::string::npos ? "does" : "do",
                 names.c_str());
  }
  return loaded;
}

std::string TaskFlags::ConfigMembers() const {
  std::string members;
  if (num_fewshot >= 0) members += StrCat(",\"num_fewshot\":", num_fewshot);
  if (apply_chat_template) members += ",\"apply_chat_template\":true";
  if (!system_instruction.empty()) {
    members += StrCat(",\"system_instruction\":", JsonQuote(system_instruction));
  }
  if (fewshot_as_multiturn) members += ",\"fewshot_as_multiturn\":true";
  return members;
}

}  // namespace sigma::cli
