// HumanEval: loader for the upstream JSONL layout (task_id, prompt, canonical_solution, test,
// entry_point) and the two prompt forms.
//
//   completion: the record's prompt as-is (imports, signature, docstring); the model writes the
//               body; generation stops at "\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#".
//   chat:       one user message asking for the whole function in a ```python block, with the
//               prompt quoted in a fence.
// Program per sample: solution + test + "check(<entry_point>)" + sentinel (code_task.h).
// Validation is strict: every field present and typed, ids unique, entry_point an identifier
// defined in the prompt, test defining check(); errors name "<file>:<line>".
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_CODE_HUMANEVAL_H_
#define SIGMA_TASKS_CODE_HUMANEVAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/code/code_task.h"

namespace sigma::tasks::code {

std::string HumanEvalChatPrompt(std::string_view prompt);

StatusOr<std::vector<CodeProblem>> ParseHumanEval(std::string_view text, std::string_view source);
StatusOr<std::vector<CodeProblem>> LoadHumanEval(const std::string& path);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_HUMANEVAL_H_
