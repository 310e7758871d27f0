// Optiflow (paper §6.3): the model writes a Python program that prints an all-gather plan for a
// multi-GPU topology; the program runs in the sandbox (through tasks::Executor), the printed plan
// is checked and its latency simulated; then the model is shown that latency and asked for a
// faster plan. Record loading, both prompts, code extraction, evaluation and the four metrics.
//
// Record (one JSONL line):
//   {"id": str, "sku": str, "description": str (optional), "num_gpus": int,
//    "nodes": [str, ...] (GPUs first, then switches), "chunks_per_gpu": int, "chunk_mb": number,
//    "latency_us": [[number|null]], "bandwidth_gbps": [[number|null]],
//    "reference_plan": plan, "improved_plan": plan (optional)}
// The loader checks reference_plan with CheckPlan, and improved_plan too, which must also be
// strictly faster: the record's own ground truth scores 100 on every metric.
// Metrics per sample: code_detected, code_executable, plan_valid (turn 1); plan_improved (turn 2
// valid and strictly faster than a valid turn 1). stats: latency_us, improved_latency_us.
// Thread safety: free functions; the Executor decides about concurrent runs.
#ifndef SIGMA_AIMICIUS_OPTIFLOW_OPTIFLOW_H_
#define SIGMA_AIMICIUS_OPTIFLOW_OPTIFLOW_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "aimicius/common/score.h"
#include "aimicius/optiflow/plan.h"
#include "engine/base/status.h"
#include "tasks/executor.h"

namespace sigma::aimicius {

struct OptiflowRecord {
  std::string id;
  std::string description;
  optiflow::Topology topology;
  int chunks_per_gpu = 1;
  double chunk_mb = 1.0;
  optiflow::Plan reference_plan;
  std::optional<optiflow::Plan> improved_plan;
};

StatusOr<OptiflowRecord> ParseOptiflowRecord(const rapidjson::Value& object,
                                             std::string_view where);
StatusOr<std::vector<OptiflowRecord>> LoadOptiflowRecords(const std::string& path);

// The skeleton program shown in the first prompt (reads GPU_COUNT / CHUNKS_PER_GPU from the
// environment, returns an empty plan, prints it as JSON).
std::string BuildSkeletonCode(const OptiflowRecord& record);
std::string BuildOptiflowPrompt(const OptiflowRecord& record);
// The second turn: the previous program and its simulated latency; asks for a faster plan.
std::string BuildImprovePrompt(const OptiflowRecord& record, std::string_view previous_code,
                               double latency_us);

// The program in a model's output: the first ```python / ```py / ```python3 block, else the
// first untagged block; nullopt when the output has no fenced block (Code Detected = 0).
std::optional<std::string> ExtractPythonCode(std::string_view output);

struct OptiflowOptions {
  tasks::Limits limits = {.wall_ms = 20'000, .cpu_ms = 20'000, .memory_mb = 512, .pids = 32,
                          .output_kb = 4096, .file_size_mb = 4, .tmpfs_mb = 16};
  std::string python = "python3";
};

// One turn's outcome.
struct PlanAttempt {
  bool code_detected = false;
  bool executable = false;
  bool valid = false;
  double latency_us = 0;   // when valid
  std::string code;
  std::string detail;      // why a stage failed: verdict and stderr tail, plan error, ...
};

// Extracts, runs (python3 plan.py in the sandbox, profile "default", with GPU_COUNT and
// CHUNKS_PER_GPU in the environment), checks and simulates. A Status error only when the
// executor is null or cannot run anything (SANDBOX failures are errors, not zeros).
StatusOr<PlanAttempt> EvaluatePlanOutput(const OptiflowRecord& record, std::string_view output,
                                         tasks::Executor* executor,
                                         const OptiflowOptions& options = {});
// Checks and simulates the stdout of a program that ran (fills valid, latency_us, detail).
void EvaluatePlanStdout(const OptiflowRecord& record, std::string_view stdout_text,
                        PlanAttempt* attempt);

// Metrics from turn 1 and, when it was run, turn 2.
TaskScore ScoreOptiflow(const PlanAttempt& first, const PlanAttempt* second);

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_OPTIFLOW_OPTIFLOW_H_
