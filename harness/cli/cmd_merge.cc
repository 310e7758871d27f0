// sigma-eval merge FROM.db [--db INTO.db]: copies the runs and bench sessions of another results
// database into this one (created if missing), so that runs made on several machines or CI jobs
// can be reported and compared together. Thin: parses flags and calls store::MergeResults
// (harness/store/merge.h), which says what counts as the same run and what a conflict is.
#include <cstdio>
#include <optional>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/store/merge.h"

namespace sigma::cli {
namespace {

// "all" (nullopt), "none" (empty) or ids.
StatusOr<std::optional<std::vector<int64_t>>> ParseSelection(const std::string& text,
                                                             std::string_view flag) {
  if (text == "all") return std::optional<std::vector<int64_t>>();
  if (text == "none") return std::optional<std::vector<int64_t>>(std::vector<int64_t>{});
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, ParseIntList(text, flag));
  if (ids.empty()) return InvalidArgumentError("--", flag, ": expected all, none or ids");
  return std::optional<std::vector<int64_t>>(std::move(ids));
}

// One line per run or session; a dry run's say what would happen.
std::string ItemLine(const store::MergedItem& item, bool dry_run) {
  const char* what = item.bench ? "bench" : "run";
  switch (item.outcome) {
    case store::MergeOutcome::kMerged:
      return StrCat(what, " ", item.source_id, " -> ", item.id,
                    dry_run ? ": would be merged, " : ": merged, ", item.rows,
                    item.bench ? " speed rows" : " samples");
    case store::MergeOutcome::kAlreadyHere:
      return StrCat(what, " ", item.source_id, ": already here as ", what, " ", item.id);
    case store::MergeOutcome::kReplaced:
      return StrCat(what, " ", item.source_id, " -> ", item.id,
                    dry_run ? ": would replace the copy here (" : ": replaced the copy here (",
                    item.difference, ")");
    case store::MergeOutcome::kConflict:
      return StrCat(what, " ", item.source_id, ": not merged; ", what, " ", item.id,
                    " here is the same one at another stage (", item.difference,
                    "); --replace takes the source's");
  }
  return "";
}

std::string ReportJson(const std::string& from, const std::string& into, bool dry_run,
                       const store::MergeReport& report) {
  std::string json = StrCat("{\"from\":", JsonQuote(from), ",\"into\":", JsonQuote(into),
                            ",\"dry_run\":", dry_run ? "true" : "false", ",\"items\":[");
  for (size_t i = 0; i < report.items.size(); ++i) {
    const store::MergedItem& item = report.items[i];
    json += StrCat(i == 0 ? "" : ",", "{\"kind\":", item.bench ? "\"bench\"" : "\"run\"",
                   ",\"source_id\":", item.source_id, ",\"id\":", item.id,
                   ",\"outcome\":", JsonQuote(store::MergeOutcomeName(item.outcome)),
                   ",\"rows\":", item.rows);
    if (!item.difference.empty()) json += StrCat(",\"difference\":", JsonQuote(item.difference));
    json += "}";
  }
  return json + "]}\n";
}

StatusOr<store::MergeReport> Merge(const std::string& from_path, const std::string& into_path,
                                   const store::MergeOptions& options) {
  if (!FileExists(from_path)) return NotFoundError(from_path, ": no such results database");
  store::StoreOptions source_options;
  source_options.create = false;
  source_options.read_only = true;
  SIGMA_ASSIGN_OR_RETURN(auto from, store::ResultsStore::Open(from_path, source_options));
  SIGMA_ASSIGN_OR_RETURN(auto into, store::ResultsStore::Open(into_path));
  return store::MergeResults(*into, *from, options);
}

}  // namespace

int RunMerge(const Args& args) {
  std::string db = "sigma-eval.db", runs = "all", bench = "all";
  bool replace = false, json = false, dry_run = false;
  Flags flags(
      "merge",
      "sigma-eval merge FROM.db [--db INTO.db] [--runs all|none|IDS] "
      "[--bench all|none|IDS] [--replace] [--dry-run] [--json]",
      "Copies runs (samples, aggregates, speed rows) and bench sessions of the results\n"
      "database FROM.db into --db (created if missing), with new ids, so runs made on\n"
      "several machines can be reported and compared together. FROM.db is only read.\n"
      "A run already here (same fingerprint, start and host) at the same stage is skipped;\n"
      "one at another stage is a conflict (exit 1) unless --replace. One transaction:\n"
      "an error leaves --db as it was.");
  flags.String("db", &db, "results database to merge into");
  flags.String("runs", &runs, "runs of FROM.db to merge: all, none, or ids");
  flags.String("bench", &bench, "bench sessions of FROM.db to merge: all, none, or ids");
  flags.Bool("replace", &replace,
             "replace a copy here that is at another stage (resumed, finished since) by FROM's");
  flags.Bool("json", &json, "print what was merged as JSON");
  flags.Bool("dry-run", &dry_run, "say what would be merged, and write nothing");
  flags.TakesPositional(1);
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (flags.positional().size() != 1) {
    return ReportError("merge", InvalidArgumentError("expected one FROM.db (see --help)"));
  }
  const std::string& from = flags.positional()[0];
  store::MergeOptions options;
  options.replace = replace;
  options.dry_run = dry_run;
  StatusOr<std::optional<std::vector<int64_t>>> run_ids = ParseSelection(runs, "runs");
  if (!run_ids.ok()) return ReportError("merge", run_ids.status());
  options.run_ids = *run_ids;
  StatusOr<std::optional<std::vector<int64_t>>> bench_ids = ParseSelection(bench, "bench");
  if (!bench_ids.ok()) return ReportError("merge", bench_ids.status());
  options.bench_ids = *bench_ids;

  StatusOr<store::MergeReport> report = Merge(from, db, options);
  if (!report.ok()) return ReportError("merge", report.status());
  if (json) {
    std::fputs(ReportJson(from, db, dry_run, *report).c_str(), stdout);
  } else {
    for (const store::MergedItem& item : report->items) {
      std::printf("%s\n", ItemLine(item, dry_run).c_str());
    }
    std::printf("%s %s into %s: %lld merged, %lld replaced, %lld already here, %lld conflicts\n",
                dry_run ? "dry run, nothing written: would merge" : "merged", from.c_str(),
                db.c_str(), static_cast<long long>(report->Count(store::MergeOutcome::kMerged)),
                static_cast<long long>(report->Count(store::MergeOutcome::kReplaced)),
                static_cast<long long>(report->Count(store::MergeOutcome::kAlreadyHere)),
                static_cast<long long>(report->Count(store::MergeOutcome::kConflict)));
  }
  const int64_t conflicts = report->Count(store::MergeOutcome::kConflict);
  if (conflicts > 0) {
    std::fprintf(stderr,
                 "sigma-eval merge: %lld not merged: the copy here is at another stage "
                 "(--replace takes the source's)\n",
                 static_cast<long long>(conflicts));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace sigma::cli
