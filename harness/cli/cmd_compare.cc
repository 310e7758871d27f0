// sigma-eval compare BASE CANDIDATE: paired regression comparison of two runs (or bench:ID
// sessions) with --fail-on thresholds for CI (exit code 1 on a regression). Thin: parses flags and
// calls reports/ (reports/compare.h).
#include <cstdio>
#include <optional>

#include "engine/base/file.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "reports/compare.h"

namespace sigma::cli {

int RunCompare(const Args& args) {
  std::string db = "sigma-eval.db", fail_on, format = "md", out = "-", names;
  int64_t iterations = 10000, seed = 20250101;
  bool require_significance = false;
  Flags flags(
      "compare",
      "sigma-eval compare BASE CANDIDATE [--db FILE] [--fail-on SPEC] [--format md|json]",
      "Compares two runs (ids) or two bench sessions (bench:ID): per task and metric the paired\n"
      "delta with a bootstrap interval and McNemar's exact test (0/1 metrics); per speed figure\n"
      "the ratio with a Mann-Whitney U test (per-sample timings) or Welch's t (speed table);\n"
      "bench decode rows also as decode_read_pct, their share of the read bandwidth measured\n"
      "as they ran (a note names rows whose two sides ran at bandwidths >15% apart).\n"
      "--fail-on \"acc:-0.02,decode_tok_s:-5%,gsm8k/exact_match:-0.05,ttft_ms:+10%\": exit 1\n"
      "when a change crosses a threshold (negative: below it; positive: above it; %: relative).\n"
      "Runs kept in two databases: `sigma-eval merge OTHER.db --db FILE` brings them together.");
  flags.String("db", &db, "results database");
  flags.String("fail-on", &fail_on, "regression thresholds NAME:THRESHOLD[,...]");
  flags.String("format", &format, "md or json");
  flags.String("out", &out, "output file (- for stdout)");
  flags.Int("bootstrap", &iterations, "paired bootstrap resamples");
  flags.Int("seed", &seed, "bootstrap seed");
  flags.Bool("require-significance", &require_significance, "a threshold fires only when p < 0.05");
  flags.String("names", &names, "column names of BASE and CANDIDATE in the score table (e.g. GPT-4,SmolLM2)");
  flags.TakesPositional(2);
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (flags.positional().size() != 2) {
    return ReportError("compare", InvalidArgumentError("expected BASE and CANDIDATE (run ids or bench:ID)"));
  }
  if (Status s = CheckOutputNotADatabase(out); !s.ok()) return ReportError("compare", s);
  if (format != "md" && format != "json") {
    return ReportError("compare", InvalidArgumentError("--format: expected md or json, got '", format, "'"));
  }
  if (iterations < 0 || iterations > 100000000) {
    return ReportError(
        "compare", InvalidArgumentError("--bootstrap: expected 0..100000000, got ", iterations));
  }
  reports::CompareOptions options;
  options.bootstrap_iterations = static_cast<int>(iterations);
  options.seed = static_cast<uint64_t>(seed);
  options.require_significance = require_significance;
  if (!names.empty()) {
    const size_t comma = names.find(',');
    if (comma == std::string::npos || comma == 0 || comma + 1 == names.size() ||
        names.find(',', comma + 1) != std::string::npos) {
      return ReportError("compare", InvalidArgumentError("--names: expected BASE_NAME,CANDIDATE_NAME, got '",
                                                         names, "'"));
    }
    options.base_name = names.substr(0, comma);
    options.candidate_name = names.substr(comma + 1);
  }
  auto base = reports::ParseCompareRef(flags.positional()[0], "BASE");
  auto cand = reports::ParseCompareRef(flags.positional()[1], "CANDIDATE");
  auto rules = reports::ParseFailOn(fail_on);
  for (const Status& s : {base.status(), cand.status(), rules.status()}) {
    if (!s.ok()) return ReportError("compare", s);
  }
  options.fail_on = *rules;
  auto reader = reports::ResultsReader::Open(db);
  if (!reader.ok()) return ReportError("compare", reader.status());
  auto result = reports::CompareRuns(**reader, *base, *cand, options);
  if (!result.ok()) return ReportError("compare", result.status());
  const std::string text = format == "json" ? reports::RenderCompareJson(*result)
                                            : reports::RenderCompareMarkdown(*result);
  if (out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else if (Status s = WriteFileAtomic(out, text); !s.ok()) {
    return ReportError("compare", s);
  }
  for (const std::string& note : result->notes) std::fprintf(stderr, "compare: %s\n", note.c_str());
  return result->regressions.empty() ? kExitOk : kExitFailed;
}

}  // namespace sigma::cli
