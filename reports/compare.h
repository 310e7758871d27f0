// `sigma-eval compare BASE CANDIDATE`: regression comparison of two runs (or two bench sessions)
// of a results database, with paired statistics, and --fail-on thresholds for CI.
//
// Scores: per (task, metric), over the samples both runs scored without an error (same task and
// doc_id): the mean difference with a seeded paired bootstrap interval; for metrics that are 0/1 on
// every shared sample also McNemar's exact test on the discordant pairs (its p is the one reported;
// otherwise the bootstrap p).
// Configuration: where the two sides' stored configurations differ (kv_dtype, limit, a task's
// version, ...), and a note for each task whose configuration hash differs, since its pairs then
// compare different prompts or scoring.
// Speed: per-sample figures of the two runs (decode_tok_s, prefill_tok_s, ttft_ms; shared samples)
// as the ratio of medians with a Mann-Whitney U test; `speed` table rows matched on (phase, model,
// context, batch, settings) as the ratio of means with Welch's t test computed from the stored
// mean, sample std and repetitions (the table keeps no per-repetition values, so a rank test is not
// possible there; README says so).
// --fail-on "acc:-0.02,decode_tok_s:-5%,gsm8k/exact_match:-0.05,ttft_ms:+10%": a negative threshold
// fires when the change is below it, a positive one when the change is above it; "%" makes it
// relative to the base. Any fired rule is a regression (exit code 1 in the CLI).
//
// Thread safety: thread-compatible; results are plain values.
#ifndef SIGMA_REPORTS_COMPARE_H_
#define SIGMA_REPORTS_COMPARE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/json.h"
#include "engine/base/status.h"
#include "reports/results_reader.h"
#include "reports/stats.h"

namespace sigma::reports {

// "12" (a run) or "bench:3" (a bench session: speed only).
struct CompareRef {
  bool bench = false;
  int64_t id = 0;
};
StatusOr<CompareRef> ParseCompareRef(const std::string& text, const std::string& what);

struct FailRule {
  std::string task;  // empty: any task
  std::string name;  // metric or speed figure
  double threshold = 0;
  bool relative = false;  // threshold in percent of the base value
  std::string text;       // as written
};
// Comma-separated NAME:THRESHOLD items; NAME may be TASK/METRIC and may contain commas
// ("exact_match,strict-match:-0.02").
StatusOr<std::vector<FailRule>> ParseFailOn(const std::string& spec);

struct CompareOptions {
  int bootstrap_iterations = 10000;
  uint64_t seed = 20250101;
  double confidence = 0.95;
  std::vector<FailRule> fail_on;
  bool require_significance = false;  // a rule fires only when p < alpha as well
  double alpha = 0.05;
  size_t max_listed_flips = 10;  // doc ids listed per (task, metric) and direction
  // Column names of the two sides in the Markdown score table (`--names GPT-4,SmolLM2`).
  std::string base_name = "base";
  std::string candidate_name = "candidate";
};

struct MetricComparison {
  std::string task;
  std::string metric;
  int64_t shared = 0;     // pairs compared
  int64_t base_only = 0;  // scored in one run only (not compared)
  int64_t candidate_only = 0;
  double base_mean = 0;
  double candidate_mean = 0;
  double delta = 0;  // candidate - base
  BootstrapResult bootstrap;
  int64_t agree = 0;  // shared samples where both runs scored the same value (per-sample agreement)
  bool binary = false;
  int64_t broken = 0;  // b: base 1, candidate 0
  int64_t fixed = 0;   // c: base 0, candidate 1
  double p_value = 1;  // McNemar for binary metrics, else bootstrap
  std::string test;
  std::vector<std::string> broken_docs;  // first few doc ids
  std::vector<std::string> fixed_docs;
  std::string regression;  // the rule that fired, empty when none
};

struct SpeedComparison {
  std::string figure;  // decode_tok_s, prefill_tok_s, ttft_ms, <phase>_tok_s
  std::string source;  // "samples" or "speed table"
  std::string model;
  std::string settings;
  int64_t context = 0;
  int64_t batch = 1;
  bool higher_is_better = true;
  double base = 0;
  double candidate = 0;
  double ratio = 0;  // candidate / base
  int64_t base_n = 0;
  int64_t candidate_n = 0;
  std::optional<double> p_value;
  std::string test;
  std::string regression;
};

// One side of a comparison: what ran, and the build and host that ran it.
struct CompareSide {
  std::string label;   // "run 12" or "bench 3"
  std::string model;
  std::string build;   // the engine_build it recorded (version, commit, build type, kernels)
  std::string host;
  std::string config_json;  // the run's (or bench session's) configuration as stored
  int64_t errors = 0;       // samples with an error (excluded from pairs)
};

struct CompareResult {
  CompareSide base;
  CompareSide candidate;
  std::vector<MetricComparison> metrics;
  std::vector<SpeedComparison> speed;
  // Where the two configurations differ (ListJsonDifferences: path, base's value, candidate's),
  // leaving out what the side lines show (the build, the model path); the first 20, and how many
  // more there are. Empty when they are the same.
  std::vector<JsonDifference> config_differences;
  size_t more_config_differences = 0;
  std::vector<std::string> notes;
  std::vector<std::string> regressions;  // one line per fired rule
  CompareOptions options;
};

StatusOr<CompareResult> CompareRuns(ResultsReader& reader, const CompareRef& base,
                                    const CompareRef& candidate, const CompareOptions& options);

std::string RenderCompareMarkdown(const CompareResult& result);
std::string RenderCompareJson(const CompareResult& result);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_COMPARE_H_
