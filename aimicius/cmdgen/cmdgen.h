// CMDGen (paper §6.1): a natural-language question about a GPU tool, answered by one command
// line. Record loading, the zero-shot prompt, command extraction, and the six metrics, with the
// commands executed in the sandbox (tasks::Executor, profile "host-tools").
//
// Record (one JSONL line):
//   {"id": str, "question": str, "platform": "nvidia"|"amd", "subgroup": str (nvidia-smi, nccl,
//    nvcc, rocm-smi, rccl, superbench, other), "gt_command": str,
//    "gt_output": str (optional, informational: what the command prints on a GPU host)}
// Metrics per sample (aimicius/README.md has the exact definitions):
//   cmd_score          max(0, cosine(E(generated command), E(gt command)))
//   exact_match        the two commands split into the same shell words
//   output_executable  1 when the reference command could run here (its tool exists), else 0
//   when output_executable = 1 only (left out otherwise, never written as 0):
//     output_score     max(0, cosine(E(generated output), E(gt output)))
//     success_ratio    same verdict and exit code, and outputs equal or output_score >=
//                      success_threshold
//     calibration      cmd_score > calibration_threshold or output_score > calibration_threshold
//     accuracy         exact_match or success_ratio (the paper's primary metric)
//   always: calibration_lb, accuracy_lb (the same with an unmeasurable output counted as a
//   failure: lower bounds).
// Thread safety: free functions; the Embedder and Executor decide about concurrency.
#ifndef SIGMA_AIMICIUS_CMDGEN_CMDGEN_H_
#define SIGMA_AIMICIUS_CMDGEN_CMDGEN_H_

#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "aimicius/cmdgen/embedder.h"
#include "aimicius/common/score.h"
#include "engine/base/status.h"
#include "tasks/executor.h"

namespace sigma::aimicius {

struct CmdGenRecord {
  std::string id;
  std::string question;
  std::string platform;  // "nvidia" or "amd"
  std::string subgroup;
  std::string gt_command;
  std::string gt_output;
};

StatusOr<CmdGenRecord> ParseCmdGenRecord(const rapidjson::Value& object, std::string_view where);
StatusOr<std::vector<CmdGenRecord>> LoadCmdGenRecords(const std::string& path);

// Thresholds and limits; stored with the run (ToJson) because Output Score and Success Ratio
// depend on them and on the machine.
struct CmdGenOptions {
  double calibration_threshold = 0.8;
  double success_threshold = 0.9;
  tasks::Limits limits = {.wall_ms = 30'000, .cpu_ms = 30'000, .memory_mb = 1024, .pids = 64,
                          .output_kb = 256, .file_size_mb = 16, .tmpfs_mb = 64};
  std::string shell = "bash";

  // {"calibration_threshold":0.8,"success_threshold":0.9,"embedder":"...","wall_ms":...}
  std::string ToJson(const Embedder& embedder) const;
};

std::string BuildCmdGenPrompt(const CmdGenRecord& record);

// The command in a model's output: the body of the first ```bash/sh/shell/console block (else
// the first untagged block, else the first block), else the first `inline code` span, else the
// whole output; then its first non-empty, non-comment line, with '\'-continued lines joined and a
// leading "$ " prompt removed. At most 4096 bytes.
std::string ExtractCommand(std::string_view output);

// Shell words of a command (quotes and backslashes resolved, whitespace collapsed).
std::vector<std::string> ShellWords(std::string_view command);

// Scores one answer. `executor` may be null (then output_executable = 0). A Status error only
// for embedding failures and sandbox failures (SANDBOX_ERROR), which are not the model's fault.
StatusOr<TaskScore> ScoreCmdGen(const CmdGenRecord& record, std::string_view output,
                                Embedder& embedder, tasks::Executor* executor,
                                const CmdGenOptions& options = {});

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_CMDGEN_CMDGEN_H_
