// sigma-eval export: write a run's generated outputs as replay records
//   {"task": ..., "doc_id": ..., "output": ...}
// ({"outputs": [...]} for documents with several generations: pass@k samples, Infrawise's two
// questions, Optiflow's two turns), so that `run --model replay:FILE` scores them again.
// one per line, so they can be scored again (or compared) with --model replay:FILE.
#include <cstdio>
#include <optional>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/store/results_store.h"
#include "tasks/types.h"

namespace sigma::cli {
namespace {

Status Export(const std::string& db_path, int64_t run_id, const std::string& task, const std::string& out) {
  if (run_id == 0) return InvalidArgumentError("--run: required (see sigma-eval ls)");
  if (run_id < 0)
    return InvalidArgumentError("--run: expected a run id (see sigma-eval ls), got ", run_id);
  if (out.empty()) return InvalidArgumentError("--out: required (a file, or - for stdout)");
  SIGMA_RETURN_IF_ERROR(CheckOutputNotADatabase(out));
  if (!FileExists(db_path)) return NotFoundError(db_path, ": no results database here (see --db)");
  store::StoreOptions options;
  options.read_only = true;
  options.create = false;
  SIGMA_ASSIGN_OR_RETURN(auto db, store::ResultsStore::Open(db_path, options));
  SIGMA_ASSIGN_OR_RETURN(store::RunInfo run, db->GetRun(run_id));
  SIGMA_ASSIGN_OR_RETURN(std::vector<store::SampleRecord> samples, db->ReadSamples(run.id, task));
  if (samples.empty() && !task.empty()) {
    SIGMA_ASSIGN_OR_RETURN(store::RunStatus status, db->GetRunStatus(run.id));
    std::string tasks;
    for (const store::TaskProgress& t : status.tasks) tasks += (tasks.empty() ? "" : ", ") + t.task;
    return NotFoundError("--task: run ", run_id, " has no samples of task '", task,
                         "' (its tasks: ", tasks.empty() ? "none" : tasks, ")");
  }
  std::string text;
  int64_t written = 0, skipped = 0;
  for (const store::SampleRecord& s : samples) {
    // Log-likelihood samples store a JSON array of scores, not text: nothing to replay.
    if (s.error || (!s.raw_output.empty() && s.raw_output.front() == '[' &&
                    s.raw_output.find("\"ll\"") != std::string::npos)) {
      ++skipped;
      continue;
    }
    text += "{\"task\":";
    AppendJsonString(s.task, &text);
    text += ",\"doc_id\":";
    AppendJsonString(s.doc_id, &text);
    // Several generations per document (samples, questions, turns): each one, in request order.
    StatusOr<tasks::SampleScore> score =
        tasks::SampleScoreFromJson(s.metrics_json, StrCat("run ", run_id, " ", s.task, "/", s.doc_id));
    if (score.ok() && score->responses.size() > 1) {
      text += ",\"outputs\":[";
      for (size_t i = 0; i < score->responses.size(); ++i) {
        if (i > 0) text += ",";
        AppendJsonString(score->responses[i], &text);
      }
      text += "]";
    } else {
      text += ",\"output\":";
      AppendJsonString(s.raw_output, &text);
    }
    text += ",\"model\":";
    AppendJsonString(run.model, &text);
    text += "}\n";
    ++written;
  }
  if (out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    SIGMA_RETURN_IF_ERROR(WriteFileAtomic(out, text));
  }
  std::fprintf(stderr,
               "exported %lld outputs of run %lld to %s (%lld samples without text skipped)\n",
               static_cast<long long>(written), static_cast<long long>(run_id),
               out == "-" ? "stdout" : out.c_str(), static_cast<long long>(skipped));
  return Status::Ok();
}

}  // namespace

int RunExport(const Args& args) {
  std::string db = "sigma-eval.db", task, out;
  int64_t run = 0;
  Flags flags("export", "sigma-eval export --run N --out FILE [--task T] [--db FILE]",
              "Writes a run's generated outputs as replay records (JSONL: task, doc_id, output),\n"
              "for scoring them again with --model replay:FILE.");
  flags.String("db", &db, "results database");
  flags.Int("run", &run, "run id");
  flags.String("task", &task, "only this task");
  flags.String("out", &out, "output JSONL file (- for stdout)");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (Status s = Export(db, run, task, out); !s.ok()) return ReportError("export", s);
  return kExitOk;
}

}  // namespace sigma::cli
