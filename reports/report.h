// `sigma-eval report`: gathers the runs, aggregates, speed rows and a capped page of samples of a
// results database (through ResultsReader) into ReportData, and renders it as one self-contained
// HTML file (inline CSS, inline SVG charts, a small inline script for the sample filters; no
// network, no external assets), as Markdown, or as JSON. reports/README.md documents the formats.
//
// What the report shows (see README): per-task scores with 95 % error bars per run; speed (decode
// and prefill tokens/s, time to first token) against context length per model config, with the
// DiffQKV vs GQA ratio where pairs exist; accuracy against speed; a per-sample browser with recorded
// (replay:...) outputs beside the model's for the same (task, doc_id). Every byte from the database
// is escaped for its medium (escape.h).
//
// Ownership: ReportData is a plain value. Thread safety: thread-compatible.
#ifndef SIGMA_REPORTS_REPORT_H_
#define SIGMA_REPORTS_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "reports/results_reader.h"

namespace sigma::reports {

enum class ReportFormat { kHtml, kMarkdown, kJson };
StatusOr<ReportFormat> ParseReportFormat(const std::string& name);  // "html" | "md" | "json"

struct ReportOptions {
  std::vector<int64_t> run_ids;                  // empty: every run
  std::optional<std::vector<int64_t>> bench_ids;  // nullopt: every bench session; empty: none
  int64_t max_samples = 50;       // samples shown per (run, task) in the browser; < 0: all
  size_t max_field_bytes = 4096;  // bytes shown per text field (prompt, output, ...)
  std::string title = "sigma-eval report";
};

// Correct / incorrect / unknown, from a sample's primary metric (PrimaryMetric).
struct SampleVerdictCounts {
  int64_t samples = 0;
  int64_t errors = 0;
  int64_t correct = 0;
  int64_t incorrect = 0;
  int64_t ungraded = 0;  // no binary primary metric
  int64_t cut_off = 0;   // a generation ended at the token limit or the context, not by the model
  std::map<std::string, int64_t> verdicts;  // sandbox verdicts
};

struct RunSummary {
  RunRecord run;
  std::vector<TaskResultRecord> results;
  std::vector<TaskProgressRecord> progress;
  std::map<std::string, SampleVerdictCounts> counts;  // by task
  std::optional<double> median_decode_tok_s;   // over the run's samples
  std::optional<double> median_prefill_tok_s;
  std::optional<double> median_ttft_ms;
  // Macro average of each task's primary metric on the 0-1 scale (a task in percent_tasks divided
  // by 100).
  std::optional<double> mean_primary_score;
  std::set<std::string> percent_tasks;  // tasks stored on the 0-100 scale (TasksScoredInPercent)
};

struct SpeedPoint {
  int64_t context = 0;
  double value = 0;  // tokens/s, or milliseconds for the "ttft" phase
  std::optional<double> std_dev;
  int64_t repetitions = 1;
  // Bench decode rows: the host's read bandwidth measured as they ran, and the share of it the
  // step's bytes reached (config_json read_gbps, read_share: medians over the repetitions).
  std::optional<double> read_gbps;
  std::optional<double> read_share;
  // "61.2% of 58.3 GB/s read", or "" without them.
  std::string ReadShareText() const;
};

// One curve: a model config's figure for one phase against context length.
struct SpeedSeries {
  std::string source;  // "bench 3", "run 5" (speed rows) or "run 5 samples" (binned samples)
  std::string model;   // config_json "model", else the bench/run model
  std::string phase;   // "decode", "prefill", "ttft", "end_to_end", ...
  std::string unit;    // "tok/s" or "ms"
  int64_t batch = 1;
  std::string settings;  // e.g. "kv bf16, top-k 64", empty for defaults
  std::vector<SpeedPoint> points;  // by context
  std::string Label() const;
};

// DiffQKV vs GQA at matching (source, phase, batch, settings, context): ratio = sigma / gqa of
// tokens/s (> 1: DiffQKV faster).
struct SpeedRatio {
  std::string source, sigma_model, gqa_model, phase, settings;
  int64_t batch = 1;
  struct Point {
    int64_t context = 0;
    double sigma_value = 0, gqa_value = 0, ratio = 0;
  };
  std::vector<Point> points;
};

struct ShownSample {
  SampleRecord sample;
  std::string model;
  std::string primary_metric;   // empty when none
  std::optional<bool> correct;  // nullopt: error or ungraded
  bool cut_off = false;         // a generation ended at the token limit or the context
  std::optional<SampleRecord> reference;  // a replay run's sample of the same (task, doc_id)
  int64_t reference_run = 0;
};

struct ReportData {
  std::string db_path;
  int schema_version = 0;
  ReportOptions options;
  std::vector<RunSummary> runs;
  std::vector<BenchRunRecord> bench_runs;
  std::vector<std::string> tasks;  // union over runs, sorted
  std::vector<SpeedSeries> speed;
  std::vector<SpeedRatio> ratios;
  std::vector<ShownSample> samples;
  int64_t samples_total = 0;  // in the selected runs
  bool samples_capped = false;
};

// The headline metric among `names`: the first of acc, exact_match, pass@1, acc_norm present (also
// as "<name>,<filter>", preferring a filter named *strict*), else empty. For samples, BuildReportData falls back to the first metric
// (by name) whose values are 0/1 on every sample of the (run, task); a sample is correct when that
// metric is 1, incorrect when 0, ungraded otherwise (or when the task has no binary metric).
std::string PrimaryMetricName(const std::vector<std::string>& names);
// Same choice for the comparison and the report: the binary metric deciding correctness of a task's
// samples, or empty.
std::string TaskCorrectnessMetric(const std::vector<SampleScores>& task_samples);

// Tasks whose stored scores (`show`, reports) are their samples' mean times 100 (AIMICIUS: the
// paper's 0-100 scale), judged from one run's aggregates and samples: each aggregate over all of
// the task's samples, and not zero, is 100x their mean. A task none of whose aggregates can be
// checked so (all zero, or not a mean of its samples) is not in the set.
std::set<std::string> TasksScoredInPercent(const std::vector<TaskResultRecord>& results,
                                           const std::vector<SampleScores>& scores);

StatusOr<ReportData> BuildReportData(ResultsReader& reader, const ReportOptions& options);

std::string RenderHtml(const ReportData& data);
std::string RenderMarkdown(const ReportData& data);
std::string RenderJson(const ReportData& data);

// Opens `db_path`, builds and renders, writes `out_path` atomically ("-": stdout).
Status WriteReport(const std::string& db_path, const std::string& out_path, ReportFormat format,
                   const ReportOptions& options);

}  // namespace sigma::reports

#endif  // SIGMA_REPORTS_REPORT_H_
