// sigma-eval report: renders runs of a results database as one self-contained HTML file (or
// Markdown / JSON). Thin: parses flags and calls reports/ (reports/report.h).
#include <cstdio>
#include <optional>

#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "reports/report.h"

namespace sigma::cli {
namespace {

Status Report(const std::string& db, const std::string& runs, const std::string& bench,
              const std::string& out, const std::string& format, int64_t max_samples,
              int64_t max_field_bytes, const std::string& title) {
  if (out.empty()) return InvalidArgumentError("--out: required (a file, or - for stdout)");
  SIGMA_RETURN_IF_ERROR(CheckOutputNotADatabase(out));
  if (max_field_bytes <= 0) return InvalidArgumentError("--max-field-bytes: expected a positive number");
  if (max_samples < -1) {
    return InvalidArgumentError("--max-samples: expected -1 (all) or a count >= 0, got ",
                                max_samples);
  }
  SIGMA_ASSIGN_OR_RETURN(reports::ReportFormat fmt, reports::ParseReportFormat(format));
  reports::ReportOptions options;
  if (!runs.empty()) {
    SIGMA_ASSIGN_OR_RETURN(options.run_ids, ParseIntList(runs, "runs"));
  }
  if (bench == "none") {
    options.bench_ids = std::vector<int64_t>{};
  } else if (!bench.empty() && bench != "all") {
    SIGMA_ASSIGN_OR_RETURN(options.bench_ids, ParseIntList(bench, "bench"));
  }
  options.max_samples = max_samples;
  options.max_field_bytes = static_cast<size_t>(max_field_bytes);
  if (!title.empty()) options.title = title;
  return reports::WriteReport(db, out, fmt, options);
}

}  // namespace

int RunReport(const Args& args) {
  std::string db = "sigma-eval.db", runs, bench = "all", out, format = "html", title;
  int64_t max_samples = 50, max_field_bytes = 4096;
  Flags flags("report",
              "sigma-eval report --db FILE [--runs 1,2,...] --out report.html [--format html|md|json] "
              "[--max-samples N]",
              "Renders runs of a results database: scores with error bars, speed against context length\n"
              "(DiffQKV vs GQA ratio), accuracy against speed, and a filterable per-sample browser with\n"
              "recorded (replay:) outputs side by side. HTML is one self-contained file (no network).");
  flags.String("db", &db, "results database");
  flags.String("runs", &runs, "comma-separated run ids (default: all runs)");
  flags.String("bench", &bench, "bench sessions whose speed rows to include: all, none, or ids");
  flags.String("out", &out, "output file (- for stdout)");
  flags.String("format", &format, "html, md or json");
  flags.Int("max-samples", &max_samples, "samples shown per run and task (-1: all)");
  flags.Int("max-field-bytes", &max_field_bytes, "bytes shown per text field of a sample");
  flags.String("title", &title, "page title");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  Status s = Report(db, runs, bench, out, format, max_samples, max_field_bytes, title);
  if (!s.ok()) return ReportError("report", s);
  if (out != "-") std::fprintf(stderr, "report: wrote %s\n", out.c_str());
  return kExitOk;
}

}  // namespace sigma::cli
