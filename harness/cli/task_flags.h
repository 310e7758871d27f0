// The task flags shared by the subcommands that load tasks (run, prompts): --tasks, --tasks-dir,
// --data-dir, --num-fewshot, --apply-chat-template, --system-instruction,
// --fewshot-as-multiturn and --max-gen-toks,
// declared once so their names, help and checks read the same, and a prompt previewed is the
// prompt run sends.
#ifndef SIGMA_HARNESS_CLI_TASK_FLAGS_H_
#define SIGMA_HARNESS_CLI_TASK_FLAGS_H_

#include <cstdint>
#include <string>

#include "engine/base/status.h"
#include "harness/cli/flags.h"
#include "harness/runner/task_loader.h"

namespace sigma::cli {

struct TaskFlags {
  std::string tasks;
  std::string tasks_dir;
  std::string data_dir;
  int64_t num_fewshot = -1;
  bool apply_chat_template = false;
  std::string system_instruction;
  bool fewshot_as_multiturn = false;
  int64_t max_gen_toks = 0;

  void Register(Flags& flags);
  // Checks the values (errors name the flag) and loads the tasks; `command` names the caller in
  // the note that the prompt flags leave the fixed prompts (AIMICIUS, code) as they are.
  StatusOr<harness::LoadedTasks> Load(int threads, const char* command) const;
  // The prompt flags given, as members of the run's configuration (",\"num_fewshot\":3,...").
  std::string ConfigMembers() const;
};

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_TASK_FLAGS_H_
