// sigma-eval ls | status | show: read a results database (also while a run is writing to it from
// another terminal; every read is a snapshot).
#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/runner/group_scores.h"
#include "harness/store/results_store.h"
#include "reports/escape.h"
#include "reports/number_format.h"
#include "reports/results_reader.h"
#include "tasks/registry.h"

namespace sigma::cli {
namespace {

StatusOr<std::unique_ptr<store::ResultsStore>> OpenForReading(const std::string& db) {
  if (!FileExists(db)) return NotFoundError(db, ": no results database here (see --db)");
  store::StoreOptions options;
  options.read_only = true;
  options.create = false;
  return store::ResultsStore::Open(db, options);
}

// Seconds from a time the store wrote (UTC, "2026-12-06T03:29:58.699Z") to now; nullopt where it
// does not parse.
std::optional<double> SecondsSince(const std::string& utc) {
  std::tm tm{};
  const char* rest = ::strptime(utc.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  const double fraction = *rest == '.' ? std::strtod(rest, nullptr) : 0.0;
  timeval now{};
  ::gettimeofday(&now, nullptr);
  return static_cast<double>(now.tv_sec - ::timegm(&tm)) + now.tv_usec / 1e6 - fraction;
}

// "8 s", "12 min", "3 h", "2 d".
std::string Age(double seconds) {
  if (seconds < 120) return StrCat(static_cast<int64_t>(std::max(0.0, seconds)), " s");
  if (seconds < 7200) return StrCat(static_cast<int64_t>(seconds / 60), " min");
  if (seconds < 172800) return StrCat(static_cast<int64_t>(seconds / 3600), " h");
  return StrCat(static_cast<int64_t>(seconds / 86400), " d");
}

// How long ago a running run last stored a batch: a run whose process died stays 'running', and
// only this age tells it from a live one.
std::optional<double> HeartbeatAge(const store::RunStatus& st) {
  if (st.run.state != store::RunState::kRunning) return std::nullopt;
  return SecondsSince(st.run.heartbeat_at.empty() ? st.run.started_at : st.run.heartbeat_at);
}

std::string RunJson(const store::RunStatus& st) {
  const std::optional<double> age = HeartbeatAge(st);
  std::string json = StrCat(
      "{\"id\":", st.run.id, ",\"state\":\"", store::RunStateName(st.run.state),
      "\",\"model\":", JsonQuote(st.run.model),
      ",\"settings\":", JsonQuote(reports::RunSettings(st.run.config_json)),
      ",\"build\":", JsonQuote(st.run.engine_build), ",\"host\":", JsonQuote(st.run.host),
      ",\"started_at\":\"", st.run.started_at, "\",\"finished_at\":", JsonQuote(st.run.finished_at),
      ",\"heartbeat_at\":", JsonQuote(st.run.heartbeat_at),
      ",\"heartbeat_age_s\":", age ? StrCat(static_cast<int64_t>(*age)) : "null",
      ",\"done\":", st.done, ",\"total\":", st.total, ",\"errors\":", st.errors, ",\"tasks\":[");
  for (size_t i = 0; i < st.tasks.size(); ++i) {
    const store::TaskProgress& t = st.tasks[i];
    json += StrCat(i ? "," : "", "{\"task\":", JsonQuote(t.task), ",\"done\":", t.done,
                   ",\"total\":", t.total ? std::to_string(*t.total) : "null",
                   ",\"errors\":", t.errors, "}");
  }
  return json + "]}";
}

// The run given as the first positional argument, or the newest run.
StatusOr<int64_t> PickRun(store::ResultsStore& db, const Flags& flags) {
  if (!flags.positional().empty()) {
    const StatusOr<std::vector<int64_t>> ids = ParseIntList(flags.positional()[0], "RUN");
    if (!ids.ok() || ids->size() != 1 || (*ids)[0] <= 0) {
      return InvalidArgumentError("RUN: expected one run id (see sigma-eval ls), got '",
                                  flags.positional()[0], "'");
    }
    return (*ids)[0];
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<store::RunInfo> runs, db.ListRuns());
  if (runs.empty()) return NotFoundError("the database holds no runs yet");
  return runs.front().id;
}

Status Ls(const std::string& db_path, bool json) {
  SIGMA_ASSIGN_OR_RETURN(auto db, OpenForReading(db_path));
  SIGMA_ASSIGN_OR_RETURN(std::vector<store::RunInfo> runs, db->ListRuns());
  if (json)
    std::printf("[");
  else
    std::printf("%5s  %-11s  %-24s  %-13s  %-28s  %s\n", "run", "state", "started", "done/total",
                "settings", "model");
  for (size_t i = 0; i < runs.size(); ++i) {
    SIGMA_ASSIGN_OR_RETURN(store::RunStatus st, db->GetRunStatus(runs[i].id));
    if (json) {
      std::printf("%s%s", i ? "," : "", RunJson(st).c_str());
    } else {
      const std::string progress = StrCat(st.done, "/", st.total);
      std::printf("%5lld  %-11s  %-24s  %-13s  %-28s  %s\n", static_cast<long long>(st.run.id),
                  std::string(store::RunStateName(st.run.state)).c_str(), st.run.started_at.c_str(),
                  progress.c_str(), reports::RunSettings(st.run.config_json).c_str(),
                  st.run.model.c_str());
    }
  }
  if (json) std::printf("]\n");
  return Status::Ok();
}

Status PrintStatus(store::ResultsStore& db, int64_t run_id, bool json) {
  SIGMA_ASSIGN_OR_RETURN(store::RunStatus st, db.GetRunStatus(run_id));
  if (json) {
    std::printf("%s\n", RunJson(st).c_str());
    return Status::Ok();
  }
  const std::optional<double> age = HeartbeatAge(st);
  const std::string ago = age ? StrCat(" (", Age(*age), " ago)") : "";
  std::printf("run %lld: %s, model %s\nstarted %s, last heartbeat %s%s%s%s\n",
              static_cast<long long>(st.run.id),
              std::string(store::RunStateName(st.run.state)).c_str(), st.run.model.c_str(),
              st.run.started_at.c_str(), st.run.heartbeat_at.c_str(), ago.c_str(),
              st.run.finished_at.empty() ? "" : ", finished ", st.run.finished_at.c_str());
  std::printf("settings %s\nbuild %s, host %s\n", reports::RunSettings(st.run.config_json).c_str(),
              st.run.engine_build.c_str(), st.run.host.c_str());
  std::printf("%-24s %12s %8s\n", "task", "done/total", "errors");
  for (const store::TaskProgress& t : st.tasks) {
    const std::string progress = StrCat(t.done, "/", t.total ? std::to_string(*t.total) : "?");
    std::printf("%-24s %12s %8lld\n", t.task.c_str(), progress.c_str(),
                static_cast<long long>(t.errors));
  }
  std::printf("%-24s %12s %8lld\n", "all", StrCat(st.done, "/", st.total).c_str(),
              static_cast<long long>(st.errors));
  return Status::Ok();
}

// A run's scores, then the pooled score of each benchmark split into tasks (BBH) whose tasks
// all ran (harness/runner/group_scores.h), as "<group> (group)" rows.
Status Show(store::ResultsStore& db, int64_t run_id, bool json) {
  SIGMA_ASSIGN_OR_RETURN(store::RunStatus st, db.GetRunStatus(run_id));
  std::vector<harness::TaskSummary> tasks;
  for (const store::TaskProgress& t : st.tasks) {
    harness::TaskSummary summary;
    summary.task = t.task;
    SIGMA_ASSIGN_OR_RETURN(summary.results, db.ReadTaskResults(run_id, t.task));
    tasks.push_back(std::move(summary));
  }
  std::vector<harness::GroupScore> groups;
  if (auto registry = tasks::TaskRegistry::Scan(tasks::DefaultBenchmarksDir()); registry.ok()) {
    groups = harness::GroupScores(harness::SplitBenchmarks(*registry), tasks);
  }
  const int width = harness::LabelWidth(tasks, groups, 22);
  if (json) {
    std::printf("{\"run\":%s,\"results\":[", RunJson(st).c_str());
  } else {
    std::printf("run %lld (%s), model %s (%s)\n%-*s %-28s %10s %9s %21s %6s\n",
                static_cast<long long>(run_id),
                std::string(store::RunStateName(st.run.state)).c_str(), st.run.model.c_str(),
                reports::RunSettings(st.run.config_json).c_str(), width, "task", "metric", "value",
                "stderr", "95% CI", "n");
  }
  const auto num = [](const std::optional<double>& v) {
    return v ? StrCat(*v) : std::string("null");
  };
  bool first = true;
  // key and name: the JSON member naming the row ("task" or "group"); label: the text row's.
  const auto print = [&](const char* key, const std::string& name, const std::string& label,
                         const store::TaskResultRow& r) {
    if (json) {
      std::printf(
          "%s{\"%s\":%s,\"metric\":%s,\"value\":%s,\"stderr\":%s,\"ci_low\":%s,\"ci_high\":%s,"
          "\"n\":%lld}",
          first ? "" : ",", key, JsonQuote(name).c_str(), JsonQuote(r.metric).c_str(),
          num(r.value).c_str(), num(r.stderr_value).c_str(), num(r.ci_low).c_str(),
          num(r.ci_high).c_str(), static_cast<long long>(r.n));
    } else {
      const std::string ci = r.ci_low && r.ci_high
                                 ? StrCat("[", reports::FormatFixed(r.ci_low), ", ",
                                          reports::FormatFixed(r.ci_high), "]")
                                 : "";
      std::printf("%-*s %-28s %10s %9s %21s %6lld\n", width, label.c_str(), r.metric.c_str(),
                  reports::FormatFixed(r.value).c_str(),
                  reports::FormatFixed(r.stderr_value).c_str(), ci.c_str(),
                  static_cast<long long>(r.n));
    }
    first = false;
  };
  for (const harness::TaskSummary& t : tasks) {
    for (const store::TaskResultRow& r : t.results) print("task", t.task, t.task, r);
  }
  for (const harness::GroupScore& g : groups) {
    const auto defined = [](double v) { return std::isnan(v) ? std::nullopt : std::optional(v); };
    store::TaskResultRow r;
    r.metric = g.aggregate.metric;
    r.value = defined(g.aggregate.value);
    r.stderr_value = defined(g.aggregate.stderr_value);
    r.n = g.aggregate.n;
    print("group", g.group, harness::GroupLabel(g), r);
  }
  if (json) std::printf("]}\n");
  return Status::Ok();
}

int RunReader(const std::string& name, const std::string& usage, const std::string& summary,
              const Args& args) {
  std::string db = "sigma-eval.db";
  bool json = false;
  Flags flags(name, usage, summary);
  flags.String("db", &db, "results database");
  flags.Bool("json", &json, "print JSON");
  flags.TakesPositional(name == "ls" ? 0 : 1);  // status and show: [RUN]
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  Status s;
  if (name == "ls") {
    s = Ls(db, json);
  } else {
    auto store = OpenForReading(db);
    if (!store.ok()) return ReportError(name, store.status());
    StatusOr<int64_t> run = PickRun(**store, flags);
    if (!run.ok()) return ReportError(name, run.status());
    s = name == "status" ? PrintStatus(**store, *run, json) : Show(**store, *run, json);
  }
  return s.ok() ? kExitOk : ReportError(name, s);
}

}  // namespace

int RunLs(const Args& args) {
  return RunReader("ls", "sigma-eval ls [--db FILE] [--json]",
                   "Lists the runs in a results database.", args);
}

int RunStatus(const Args& args) {
  return RunReader("status", "sigma-eval status [RUN] [--db FILE] [--json]",
                   "Progress of a run (default: the newest), per task; works while the run writes.",
                   args);
}

int RunShow(const Args& args) {
  return RunReader("show", "sigma-eval show [RUN] [--db FILE] [--json]",
                   "Aggregated scores of a run: value, standard error, 95% interval, n.", args);
}

}  // namespace sigma::cli
