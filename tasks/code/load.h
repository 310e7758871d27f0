// Names of the code benchmarks for `sigma-eval run --tasks`, and their loading.
//
//   humaneval, mbpp             completion prompts (the standard setups)     group "code"
//   humaneval_chat, mbpp_chat   chat prompts (the code in a ```python block)
// A name may carry ":n=N" (N generations per problem, for pass@k with k <= N; sample with
// --temperature > 0, else the N generations are identical): "humaneval:n=10".
// Data: <data_dir>/<humaneval|mbpp>/test.jsonl when data_dir holds it (the full upstream files),
// else the sample set under DefaultCodeDataDir().
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_CODE_LOAD_H_
#define SIGMA_TASKS_CODE_LOAD_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/eval_task.h"
#include "tasks/executor.h"

namespace sigma::tasks::code {

// $SIGMA_CODE_DATA when set, else the source tree's tasks/code/data (compiled in).
std::string DefaultCodeDataDir();

// The members of group "code".
const std::vector<std::string>& CodeGroup();

// Every code task name (the table above), for listing.
std::vector<std::string> CodeTaskNames();

// True when `spec` names a code task (with or without ":n=N"); says nothing about validity of N.
bool IsCodeTaskSpec(std::string_view spec);

// The task for `spec`; INVALID_ARGUMENT for a bad ":n=" part.
StatusOr<std::unique_ptr<EvalTask>> LoadCodeTask(std::string_view spec,
                                                 const std::string& data_dir, Executor* executor);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_LOAD_H_
