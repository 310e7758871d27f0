// Infrawise (paper §6.2): step 1, a DCW JSON (Design target/baseline, Criterion, Workload) from a
// user question; step 2, picking the benchmark records that answer the question from ~10
// candidates, answered by indices or "None". Record loading, both zero-shot prompts, extraction of
// the JSON object and of the index list from model output, and the metrics.
//
// Record (one JSONL line):
//   {"id": str, "question": str, "gt_type": 1|2|3 (optional: evaluation/analysis/other),
//    "gt_dcw": {"Design": {"Target": str, "Baseline": str}, "Criterion": str, "Workload": str},
//    "candidates": [{"hardware": str, "sku": str, "workload": str, "results": {...},
//                    "index": int}, ...],
//    "gt_selected": [int, ...]}           (indices into candidates; [] means "None")
// Metrics (aimicius/README.md has the exact rules):
//   target, baseline, criterion, workload  must-include token match of each DCW field
//   dcw                                    all four match
//   bench_recall      every ground-truth index was selected (an empty truth needs "None")
//   bench_accuracy    the selected set equals the ground truth (the paper's primary metric)
// Thread safety: free functions; records are values.
#ifndef SIGMA_AIMICIUS_INFRAWISE_INFRAWISE_H_
#define SIGMA_AIMICIUS_INFRAWISE_INFRAWISE_H_

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "aimicius/common/score.h"
#include "engine/base/status.h"

namespace sigma::aimicius {

struct Dcw {
  std::string target;
  std::string baseline;
  std::string criterion;
  std::string workload;
};

struct InfrawiseCandidate {
  int64_t index = 0;
  std::string json;  // the candidate record as compact JSON, shown to the model verbatim
};

struct InfrawiseRecord {
  std::string id;
  std::string question;
  int64_t gt_type = 0;  // 0 when absent
  Dcw gt_dcw;
  std::vector<InfrawiseCandidate> candidates;
  std::set<int64_t> gt_selected;
};

StatusOr<InfrawiseRecord> ParseInfrawiseRecord(const rapidjson::Value& object,
                                               std::string_view where);
StatusOr<std::vector<InfrawiseRecord>> LoadInfrawiseRecords(const std::string& path);

enum class FieldMatch {
  kMustInclude,  // default: the ground truth's normalised tokens are a subset of the output's
  kExact,        // the normalised token sequences are equal
};

struct InfrawiseOptions {
  FieldMatch field_match = FieldMatch::kMustInclude;
};

std::string BuildDcwPrompt(const InfrawiseRecord& record);
// The retrieval prompt shows the question, the DCW to match (the ground truth's by default, so
// retrieval is scored on its own; pass the model's step-1 DCW for an end-to-end run) and the
// candidates.
std::string BuildRetrievalPrompt(const InfrawiseRecord& record, const Dcw* dcw = nullptr);

// The DCW in a model's output (ExtractJson, then the fields, keys matched case-insensitively;
// Target/Baseline are read from "Design" or from the top level). NOT_FOUND when no JSON object.
StatusOr<Dcw> ExtractDcw(std::string_view output);

// The indices in a retrieval answer; an empty set for "None". NOT_FOUND when no answer is found.
StatusOr<std::set<int64_t>> ExtractIndices(std::string_view output);

// Token normalisation for field matching; `field` is "target", "criterion", ...
std::vector<std::string> NormalizeField(std::string_view text, std::string_view field);
bool FieldMatches(std::string_view truth, std::string_view output, std::string_view field,
                  FieldMatch mode);

TaskScore ScoreDcw(const InfrawiseRecord& record, std::string_view output,
                   const InfrawiseOptions& options = {});
TaskScore ScoreRetrieval(const InfrawiseRecord& record, std::string_view output);

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_INFRAWISE_INFRAWISE_H_
