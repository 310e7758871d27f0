// MBPP: loader for the upstream JSONL layout (task_id, text, code, test_list, test_setup_code,
// challenge_test_list) and the two prompt forms, both built on the standard MBPP instruction
// "You are an expert Python programmer, and here is your task: {text} Your code should pass these
// tests:\n\n{tests}":
//
//   completion: the instruction, then "\n[BEGIN]\n"; the model writes the code and generation
//               stops at "[DONE]" (zero-shot: no solved examples precede it; see README.md).
//   chat:       the instruction as one user message, plus a request for the code in a ```python
//               block.
// Program per sample: test_setup_code + solution + the test_list asserts + sentinel
// (challenge_test_list is validated but not run, as in the standard setup).
// The function under test is the first call in test_list[0] ("assert foo(1) == 2" -> foo); it
// picks the right block when a chat answer holds several.
// Validation is strict; errors name "<file>:<line>". Thread safety: free functions.
#ifndef SIGMA_TASKS_CODE_MBPP_H_
#define SIGMA_TASKS_CODE_MBPP_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/code/code_task.h"

namespace sigma::tasks::code {

std::string MbppInstruction(std::string_view text, const std::vector<std::string>& tests);

StatusOr<std::vector<CodeProblem>> ParseMbpp(std::string_view text, std::string_view source);
StatusOr<std::vector<CodeProblem>> LoadMbpp(const std::string& path);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_MBPP_H_
