// sigma-eval run: evaluate a model (or recorded outputs) on tasks; results go to SQLite.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "engine/base/json.h"
#include "engine/language_model.h"
#include "harness/backends/engine_backend.h"
#include "harness/backends/openai_backend.h"
#include "harness/backends/replay_backend.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "harness/cli/progress.h"
#include "harness/cli/task_flags.h"
#include "harness/runner/group_scores.h"
#include "harness/runner/runner.h"
#include "harness/runner/task_loader.h"
#include "reports/number_format.h"

namespace sigma::cli {
namespace {

std::atomic<bool> g_interrupted{false};

// The first SIGINT or SIGTERM stops the run after the batch being scored (it stays resumable);
// a second one stops the process at once, as a kill would (the store is crash-safe, and --resume
// continues such a run too).
extern "C" void OnSignal(int signal) {
  if (g_interrupted.exchange(true)) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  static constexpr char kMessage[] =
      "\nstopping after this batch (Ctrl-C again: at once); --resume continues the run\n";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

struct RunFlags {
  EngineFlags engine;
  TaskFlags task;
  std::string db = "sigma-eval.db";
  int64_t limit = 0;
  int64_t batch = 4;
  int64_t resume = 0;
  SamplingFlags sampling;
  bool json = false;
  std::string api_model;  // --model http(s)://...: the API's model id
  std::string tokenizer;  // --model http(s)://...: the model's tokenizer, for exact tokens
  double request_timeout_s = 600;
  int64_t request_tries = 6;
};

bool IsReplay(const std::string& model) { return model.rfind("replay:", 0) == 0; }

StatusOr<std::unique_ptr<harness::Backend>> MakeBackend(const RunFlags& f) {
  const std::string model = f.engine.model.empty() ? DefaultModelPath() : f.engine.model;
  if (IsReplay(model)) {
    SIGMA_ASSIGN_OR_RETURN(auto replay, harness::ReplayBackend::Open(model.substr(7)));
    return std::unique_ptr<harness::Backend>(std::move(replay));
  }
  if (harness::IsOpenAiUrl(model)) {
    harness::OpenAiBackendOptions o;
    o.base_url = model;
    o.model = f.api_model;
    o.tokenizer_path = f.tokenizer;
    o.max_context = f.engine.max_context;
    o.timeout_s = f.request_timeout_s;
    if (f.request_tries < 1 || f.request_tries > 100) {
      return InvalidArgumentError("--request-tries: ", f.request_tries, " is not 1..100");
    }
    o.max_attempts = static_cast<int>(f.request_tries);
    o.concurrency = static_cast<int>(std::clamp<int64_t>(f.batch, 1, 256));
    if (const char* key = std::getenv("OPENAI_API_KEY"); key != nullptr) o.api_key = key;
    SIGMA_ASSIGN_OR_RETURN(o.sampling, f.sampling.ToParams());
    SIGMA_ASSIGN_OR_RETURN(auto api, harness::OpenAiBackend::Create(std::move(o)));
    return std::unique_ptr<harness::Backend>(std::move(api));
  }
  if (!f.api_model.empty() || !f.tokenizer.empty()) {
    return InvalidArgumentError("--api-model and --tokenizer go with --model http(s)://...");
  }
  EngineFlags engine = f.engine;
  engine.model = model;
  SIGMA_ASSIGN_OR_RETURN(EngineOptions options, engine.ToOptions());
  options.max_sequences = static_cast<int>(std::max<int64_t>(1, f.batch));
  harness::EngineBackendOptions backend_options;
  SIGMA_ASSIGN_OR_RETURN(backend_options.sampling, f.sampling.ToParams());
  SIGMA_ASSIGN_OR_RETURN(auto lm, LanguageModel::Open(model, options));
  SIGMA_ASSIGN_OR_RETURN(auto backend,
                         harness::EngineBackend::Create(std::move(lm), backend_options));
  return std::unique_ptr<harness::Backend>(std::move(backend));
}

// The tasks' scores, then the pooled scores of the groups the run reports (group_scores.h), as
// "<group> (group)" rows whose n is the group's samples.
void PrintSummary(const harness::RunSummary& s, const std::vector<harness::GroupScore>& groups,
                  const std::string& db, bool json) {
  if (json) {
    std::printf(
        "{\"run\":%lld,\"resumed\":%s,\"new_samples\":%lld,\"elapsed_s\":%.3f,\"results\":[",
        static_cast<long long>(s.run_id), s.resumed ? "true" : "false",
        static_cast<long long>(s.new_samples), s.elapsed_s);
    bool first = true;
    for (const harness::TaskSummary& t : s.tasks) {
      for (const store::TaskResultRow& r : t.results) {
        std::string task;
        AppendJsonString(t.task, &task);
        std::printf("%s{\"task\":%s,\"metric\":\"%s\",\"value\":%s,\"stderr\":%s,\"n\":%lld}",
                    first ? "" : ",", task.c_str(), r.metric.c_str(),
                    r.value ? StrCat(*r.value).c_str() : "null",
                    r.stderr_value ? StrCat(*r.stderr_value).c_str() : "null",
                    static_cast<long long>(r.n));
        first = false;
      }
    }
    for (const harness::GroupScore& g : groups) {
      std::string group;
      AppendJsonString(g.group, &group);
      const auto number = [](double v) { return std::isnan(v) ? std::string("null") : StrCat(v); };
      std::printf(
          "%s{\"group\":%s,\"tasks\":%zu,\"metric\":\"%s\",\"value\":%s,\"stderr\":%s,"
          "\"n\":%lld}",
          first ? "" : ",", group.c_str(), g.members, g.aggregate.metric.c_str(),
          number(g.aggregate.value).c_str(), number(g.aggregate.stderr_value).c_str(),
          static_cast<long long>(g.aggregate.n));
      first = false;
    }
    std::printf("]}\n");
    return;
  }
  std::printf("run %lld%s: %lld new samples in %.1f s (results in %s)\n",
              static_cast<long long>(s.run_id), s.resumed ? " (resumed)" : "",
              static_cast<long long>(s.new_samples), s.elapsed_s, db.c_str());
  const int width = harness::LabelWidth(s.tasks, groups, 22);  // BBH's names run to 39
  std::printf("%-*s %-30s %10s %10s %6s %7s\n", width, "task", "metric", "value", "stderr", "n",
              "errors");
  for (const harness::TaskSummary& t : s.tasks) {
    for (const store::TaskResultRow& r : t.results) {
      std::printf("%-*s %-30s %10s %10s %6lld %7lld\n", width, t.task.c_str(), r.metric.c_str(),
                  reports::FormatFixed(r.value).c_str(),
                  reports::FormatFixed(r.stderr_value).c_str(), static_cast<long long>(r.n),
                  static_cast<long long>(t.errors));
    }
    if (t.results.empty()) {
      std::printf("%-*s %-30s %10s %10s %6d %7lld\n", width, t.task.c_str(), "(no scored sample)",
                  "-", "-", 0, static_cast<long long>(t.errors));
    }
  }
  for (const harness::GroupScore& g : groups) {
    const auto number = [](double v) {
      return std::isnan(v) ? std::string("-") : reports::FormatFixed(v);
    };
    std::printf("%-*s %-30s %10s %10s %6lld %7s\n", width, harness::GroupLabel(g).c_str(),
                g.aggregate.metric.c_str(), number(g.aggregate.value).c_str(),
                number(g.aggregate.stderr_value).c_str(), static_cast<long long>(g.aggregate.n),
                "");
  }
}

// Failed samples are stored and counted, and make the exit code 1: a script sees that the
// scores do not cover every document. One line per task with errors, naming the first.
int64_t ReportSampleErrors(const harness::RunSummary& s) {
  int64_t errors = 0, done = 0;
  for (const harness::TaskSummary& t : s.tasks) {
    errors += t.errors;
    done += t.done;
    if (t.errors > 0) {
      std::fprintf(stderr, "sigma-eval run: %s: %lld of %lld samples failed; first: %s\n",
                   t.task.c_str(), static_cast<long long>(t.errors), static_cast<long long>(t.done),
                   t.first_error.substr(0, 300).c_str());
    }
  }
  if (errors > 0) {
    std::fprintf(
        stderr,
        "sigma-eval run: run %lld finished with %lld failed samples of %lld (stored with their "
        "errors; exit code 1)\n",
        static_cast<long long>(s.run_id), static_cast<long long>(errors),
        static_cast<long long>(done));
  }
  return errors;
}

// Answers cut off by the token limit or the context score as they stand; said on stderr so that a
// score held down by them is not taken for the model's.
void ReportCutOffSamples(const harness::RunSummary& s) {
  for (const harness::TaskSummary& t : s.tasks) {
    if (t.cut_off == 0) continue;
    std::fprintf(stderr,
                 "sigma-eval run: note: %s: %lld of %lld samples had a generation cut off by its "
                 "token limit or the context, not ended by the model (see --max-gen-toks, "
                 "--max-context)\n",
                 t.task.c_str(), static_cast<long long>(t.cut_off),
                 static_cast<long long>(t.done - t.errors));
  }
}

Status Run(const RunFlags& f, int64_t* failed_samples) {
  if (f.limit < 0) return InvalidArgumentError("--limit: expected >= 0");
  if (f.batch <= 0 || f.batch > 256) return InvalidArgumentError("--batch: expected 1..256");
  if (f.resume < 0) {
    return InvalidArgumentError("--resume: expected a run id (see sigma-eval ls), got ", f.resume);
  }
  // The device before the tasks load: one clear error, not a slow start and then a failure.
  if (!IsReplay(f.engine.model)) SIGMA_RETURN_IF_ERROR(CheckDeviceAvailable(f.engine.device));
  SIGMA_ASSIGN_OR_RETURN(const int threads, CheckedThreads(f.engine.threads));
  SIGMA_ASSIGN_OR_RETURN(harness::LoadedTasks loaded, f.task.Load(threads, "run"));
  SIGMA_ASSIGN_OR_RETURN(auto backend, MakeBackend(f));
  SIGMA_ASSIGN_OR_RETURN(auto store, store::ResultsStore::Open(f.db));
  harness::RunOptions options;
  options.limit = f.limit;
  options.batch = f.batch;
  options.resume_run = f.resume;
  if (!IsReplay(f.engine.model)) options.device = f.engine.device;
  std::string data_dir;
  AppendJsonString(f.task.data_dir, &data_dir);
  options.max_gen_tokens = f.task.max_gen_toks;
  // In the fingerprint only where set, so that runs without it keep theirs.
  options.extra_config =
      StrCat("{\"data_dir\":", data_dir,
             f.task.max_gen_toks > 0 ? StrCat(",\"max_gen_tokens\":", f.task.max_gen_toks) : "",
             f.task.ConfigMembers(), "}");
  harness::Runner runner(*backend, std::move(loaded.tasks), *store, options);
  std::unique_ptr<Progress> bar;
  auto on_progress = [&](int64_t done, int64_t total, const std::string& task) {
    if (!bar) bar = std::make_unique<Progress>("run", total);
    bar->Update(done, task);
  };
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  SIGMA_ASSIGN_OR_RETURN(harness::RunSummary summary, runner.Run(on_progress, &g_interrupted));
  if (bar) bar->Finish("done");
  PrintSummary(summary, harness::GroupScores(loaded.score_groups, summary.tasks), f.db, f.json);
  ReportCutOffSamples(summary);
  *failed_samples = ReportSampleErrors(summary);
  return Status::Ok();
}

}  // namespace

int RunRun(const Args& args) {
  RunFlags f;
  Flags flags(
      "run", "sigma-eval run --tasks mmlu,gsm8k [--model PATH|replay:FILE|URL] [--limit N] [flags]",
      "Evaluates a model on tasks and stores every sample, aggregate and speed figure in\n"
      "the results database. Without --model: the embedded default model. --model\n"
      "replay:FILE scores recorded outputs (JSONL {task, doc_id, output}) with the same\n"
      "scorers. --model http(s)://HOST:PORT/v1 asks a server with OpenAI's API (vLLM,\n"
      "llama.cpp's server, `sigma-eval serve`, a hosted API; key from $OPENAI_API_KEY).\n"
      "Ctrl-C stops between batches (twice: at once); --resume RUN continues a\n"
      "stopped run.\n"
      "--device cuda runs the model on a CUDA device (bf16 KV cache; bf16 weights unless\n"
      "the checkpoint stores f32).");
  f.engine.Register(flags);
  f.task.Register(flags);
  flags.String("db", &f.db, "results database");
  flags.Int("limit", &f.limit, "documents per task; 0 = all");
  flags.Int("batch", &f.batch,
            "documents per batch (= decode batch of the engine; with --model http(s)://...: "
            "requests in flight at once, at most 256)");
  flags.Int("resume", &f.resume, "continue run RUN (the configuration must be the same)");
  f.sampling.Register(flags);
  flags.Bool("json", &f.json, "print the summary as JSON");
  flags.String("api-model", &f.api_model,
               "with --model http(s)://.../v1: the API's model id (default: the first of GET "
               "/models)");
  flags.String("tokenizer", &f.tokenizer,
               "with --model http(s)://.../v1: the model's tokenizer (GGUF, tokenizer.json or "
               "folder), so log-likelihoods score the tokens the engine would (and rolling ones "
               "can be scored)");
  flags.Double("request-timeout", &f.request_timeout_s,
               "with --model http(s)://.../v1: seconds one request may take");
  flags.Int("request-tries", &f.request_tries,
            "with --model http(s)://.../v1: tries of a request the server could not take (no "
            "connection, 429, 5xx), 1 s, 2 s, 4 s ... apart, before the sample fails (500) or the "
            "run stops, resumable (the others)");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  // The server runs the model: flags of the embedded engine would be ignored, so they are refused.
  if (harness::IsOpenAiUrl(f.engine.model)) {
    for (const char* engine_only :
         {"device", "threads", "kv-dtype", "selective-v", "mmap-weights", "decode-team"}) {
      if (flags.was_set(engine_only)) {
        return ReportError("run", InvalidArgumentError("--", engine_only,
                                                       " does not apply to --model http(s)://... "
                                                       "(the server runs the model)"));
      }
    }
  }
  int64_t failed_samples = 0;
  if (Status s = Run(f, &failed_samples); !s.ok()) return ReportError("run", s);
  return failed_samples > 0 ? kExitFailed : kExitOk;
}

}  // namespace sigma::cli
