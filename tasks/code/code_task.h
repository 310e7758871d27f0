// Code benchmarks (HumanEval, MBPP) as tasks::EvalTask: n generations per problem, each turned
// into a Python program (solution + the problem's tests + a completion sentinel) that runs in the
// sandbox through tasks::Executor; pass@k with the unbiased estimator.
//
//   problems (humaneval.h / mbpp.h loaders) -> CodeProblem
//   BuildRequests(i): num_samples generate_until requests, repeat = 0..n-1 (the engine backend
//     seeds each from (task, doc, repeat); temperature comes from the run's sampling settings)
//   Score(i): per response BuildSolution -> BuildProgram -> `python3 prog.py` (limits: wall 10 s,
//     memory 512 MB); a sample passes when the verdict is OK AND the sentinel line printed after
//     the last test is on stdout (so sys.exit(0) / os._exit(0) before the tests do not pass).
//   metrics: pass@1 always, pass@10 when num_samples >= 10; stats n, c; verdict = first sample's;
//   extracted_by_filter: "code" (first sample's program source before the tests), "verdicts"
//   (all samples, comma-separated), "detail" (why the first failing sample failed).
//
// Ownership: a task owns its problems; the Executor is borrowed and must outlive the task.
// Thread safety: const calls may run concurrently (the Executor must allow concurrent Run).
#ifndef SIGMA_TASKS_CODE_CODE_TASK_H_
#define SIGMA_TASKS_CODE_CODE_TASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "tasks/eval_task.h"
#include "tasks/executor.h"

namespace sigma::tasks::code {

enum class CodeBenchmark { kHumanEval, kMbpp };
enum class PromptMode {
  kCompletion,  // the prompt is a plain completion context (HumanEval: the function header)
  kChat,        // one user message asking for the code in a ```python block
};

std::string_view PromptModeName(PromptMode mode);  // "completion", "chat"

// One problem, benchmark-neutral. Program run per sample:
//   setup + "\n" + solution + "\n\n" + tests + "\n" + <sentinel print>
struct CodeProblem {
  std::string id;
  int64_t line = 0;          // 1-based line of its record in the JSONL file
  std::string prompt;        // completion-mode context
  std::string chat_prompt;   // chat-mode user message
  std::string entry_point;   // the function under test ("" when unknown)
  std::string header;        // HumanEval: the prompt (signature + docstring) a body completes
  std::string setup;         // runs before the solution (MBPP test_setup_code)
  std::string tests;         // runs after the solution; raises on a failed test
  std::string canonical;     // a complete, correct solution source (for self-checks)
  std::string target;        // what SampleScore::target shows
};

// wall 10 s, CPU 10 s, memory 512 MB; the other limits as tasks::Limits.
Limits DefaultCodeLimits();

struct CodeTaskOptions {
  PromptMode mode = PromptMode::kCompletion;
  int64_t num_samples = 1;   // generations per problem (generation.num_samples), 1..1000
  int64_t max_tokens = 512;
  Limits limits = DefaultCodeLimits();
  std::string python = "python3";
};

// Stop sequences of generate_until for a benchmark and mode (HumanEval completion: "\ndef ",
// "\nclass ", "\nif __name__", "\nprint(", "\n#"; MBPP completion: "[DONE]"; chat: none).
std::vector<std::string> StopSequences(CodeBenchmark benchmark, PromptMode mode);

// The solution source a model's text gives (see README.md, "Extraction").
std::string BuildSolution(CodeBenchmark benchmark, PromptMode mode, const CodeProblem& problem,
                          std::string_view completion);

// The program that runs `solution` against the problem's tests and then prints `sentinel`.
std::string BuildProgram(const CodeProblem& problem, std::string_view solution,
                         std::string_view sentinel);

struct CodeRunResult {
  bool passed = false;
  std::string verdict;  // "OK", "TIMEOUT", ...; an early exit 0 without the sentinel: RUNTIME_ERROR
  std::string detail;   // one line for people ("" when passed)
};

// Runs `solution` against the problem's tests in the sandbox (a fresh random sentinel per run).
// A Status error only when the Executor could not run anything at all.
StatusOr<CodeRunResult> RunSolution(const CodeProblem& problem, std::string_view solution,
                                    Executor* executor, const CodeTaskOptions& options);

// `name` is the task name ("humaneval", "mbpp_chat"); `data_hash` identifies the data file.
StatusOr<std::unique_ptr<EvalTask>> MakeCodeTask(std::string name, CodeBenchmark benchmark,
                                                 std::vector<CodeProblem> problems,
                                                 std::string data_hash, Executor* executor,
                                                 CodeTaskOptions options);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_CODE_TASK_H_
