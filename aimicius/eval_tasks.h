// The AIMICIUS tasks as tasks::EvalTask, so the runner drives them like any benchmark.
//
//   nl2kql            one generate_until request per record
//   infrawise         two requests per record: the DCW prompt and the retrieval prompt (which
//                     shows the ground-truth DCW; see README.md)
//   optiflow          turn 1: code_detected, code_executable, plan_valid; when the plan is valid
//                     a second turn (FollowUpRequests: the conversation continues with "improve
//                     this plan, its latency is X") gives plan_improved: valid and strictly faster
//                     (0 when turn 1 had no valid plan)
//   cmdgen            one request; `platform` "nvidia" / "amd" selects a subgroup ("" = all)
// Aggregates: for each metric, the mean over the samples that have it (tasks::AggregateMean);
// a metric a sample could not measure (CMDGen outputs without the tool) is not averaged in, and
// output_executable says how many were. Values are in [0, 1]; reports multiply by 100.
// Ownership: a task owns its records; Executor and Embedder are borrowed and must outlive it.
// Thread safety: const calls may run concurrently (the Executor and Embedder must allow it).
#ifndef SIGMA_AIMICIUS_EVAL_TASKS_H_
#define SIGMA_AIMICIUS_EVAL_TASKS_H_

#include <memory>
#include <string>

#include "aimicius/cmdgen/cmdgen.h"
#include "aimicius/infrawise/infrawise.h"
#include "aimicius/optiflow/optiflow.h"
#include "engine/base/status.h"
#include "tasks/eval_task.h"
#include "tasks/executor.h"

namespace sigma::aimicius {

// The folder holding <task>/sample.jsonl: $SIGMA_AIMICIUS_DATA when set, else the source tree's
// aimicius/data (compiled in).
std::string DefaultAimiciusDataDir();

struct GenerationSettings {
  int64_t max_tokens = 512;
  bool chat = true;  // also send the prompt as one user chat message
};

// `path` = "" loads the sample set.
StatusOr<std::unique_ptr<tasks::EvalTask>> MakeNl2KqlTask(const std::string& path,
                                                          const GenerationSettings& gen = {});
StatusOr<std::unique_ptr<tasks::EvalTask>> MakeInfrawiseTask(const std::string& path,
                                                             const InfrawiseOptions& options = {},
                                                             const GenerationSettings& gen = {});
StatusOr<std::unique_ptr<tasks::EvalTask>> MakeOptiflowTask(const std::string& path,
                                                            tasks::Executor* executor,
                                                            const OptiflowOptions& options = {},
                                                            const GenerationSettings& gen = {});
StatusOr<std::unique_ptr<tasks::EvalTask>> MakeCmdGenTask(const std::string& path,
                                                          const std::string& platform,
                                                          Embedder* embedder,
                                                          tasks::Executor* executor,
                                                          const CmdGenOptions& options = {},
                                                          const GenerationSettings& gen = {});

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_EVAL_TASKS_H_
