// sigma-eval bench: decode and prefill speed over model configs x batch x context, written to the
// results database (`speed` rows under a `bench_runs` row) and printed as a table with the
// DiffQKV vs GQA16 ratio when both presets are swept.
#include <algorithm>
#include <cstdio>
#include <map>

#include "engine/base/file.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "harness/bench/speed_bench.h"
#include "harness/build_info.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/store/results_store.h"

namespace sigma::cli {
namespace {

struct BenchFlags {
  std::string models = "sigma-1.5b,gqa16";
  std::string contexts = "1024,4096,16384,32768";
  std::string batches = "1";
  std::string model_cache = "models/generated";
  std::string db = "sigma-eval.db";
  bench::SpeedConfig config;
  int64_t threads = 0;
  int64_t selective_v = 0;
  bool json = false;
};

// A preset name becomes a generated bf16 checkpoint in the cache (written once); a path is used
// as it is.
StatusOr<std::string> ResolveModel(const std::string& spec, const std::string& cache) {
  if (IsDirectory(spec) || FileExists(spec)) return spec;
  SIGMA_ASSIGN_OR_RETURN(ModelConfig config, ModelConfigPreset(spec));
  const std::string dir = cache + "/" + spec + "-bf16-seed0";
  if (!FileExists(dir + "/config.json")) {
    std::fprintf(stderr, "bench: writing random-weight %s checkpoint to %s\n", spec.c_str(),
                 dir.c_str());
    SIGMA_RETURN_IF_ERROR(WriteRandomCheckpoint(config, dir, 0, DType::kBF16));
  }
  return dir;
}

std::string RowConfigJson(const bench::SpeedRow& r, const BenchFlags& f) {
  return StrCat("{\"model\":\"", r.model, "\",\"kv_dtype\":\"", r.kv_dtype,
                "\",\"selective_v\":", r.selective_v, ",\"threads\":", f.threads,
                ",\"attention_ms\":", r.attention_ms, ",\"decode_steps\":", f.config.decode_steps,
                "}");
}

void PrintTable(const std::vector<bench::SpeedRow>& rows) {
  std::printf("%-12s %-8s %8s %6s %14s %10s %12s %9s\n", "model", "phase", "context", "batch",
              "tok/s", "ms/step", "attention ms", "GB/step");
  for (const bench::SpeedRow& r : rows) {
    std::printf("%-12s %-8s %8lld %6lld %8.2f ±%5.2f %10.2f %12.3f %9.3f\n", r.model.c_str(),
                r.phase.c_str(), static_cast<long long>(r.context), static_cast<long long>(r.batch),
                r.tokens_per_s_mean, r.tokens_per_s_std, r.ms_per_token, r.attention_ms,
                r.bytes_per_step / 1e9);
  }
}

// DiffQKV vs GQA16: ratios of decode step time and attention-layer time at each (context, batch).
void PrintRatios(const std::vector<bench::SpeedRow>& rows) {
  std::map<std::pair<int64_t, int64_t>, const bench::SpeedRow*> sigma, gqa;
  for (const bench::SpeedRow& r : rows) {
    if (r.phase != "decode") continue;
    if (r.model == "sigma-1.5b") sigma[{r.context, r.batch}] = &r;
    if (r.model == "gqa16") gqa[{r.context, r.batch}] = &r;
  }
  if (sigma.empty() || gqa.empty()) return;
  std::printf("\nDiffQKV (sigma-1.5b) vs GQA16: speed ratio = GQA16 time / DiffQKV time\n");
  std::printf("%8s %6s %12s %16s %22s\n", "context", "batch", "step ratio", "attention ratio",
              "attention time saved");
  for (const auto& [key, s] : sigma) {
    auto it = gqa.find(key);
    if (it == gqa.end()) continue;
    const bench::SpeedRow* g = it->second;
    std::printf("%8lld %6lld %11.3fx %15.3fx %21.1f%%\n", static_cast<long long>(key.first),
                static_cast<long long>(key.second), g->ms_per_token / s->ms_per_token,
                g->attention_ms / s->attention_ms, 100.0 * (1.0 - s->attention_ms / g->attention_ms));
  }
}

Status Bench(BenchFlags& f) {
  SIGMA_ASSIGN_OR_RETURN(f.config.contexts, ParseIntList(f.contexts, "contexts"));
  SIGMA_ASSIGN_OR_RETURN(f.config.batches, ParseIntList(f.batches, "batch"));
  f.config.threads = static_cast<int>(f.threads);
  f.config.selective_v = static_cast<int>(f.selective_v);
  SIGMA_RETURN_IF_ERROR(f.config.Validate());
  const std::vector<std::string> models = SplitCommaList(f.models);
  if (models.empty()) return InvalidArgumentError("--models: at least one model");
  SIGMA_ASSIGN_OR_RETURN(auto store, store::ResultsStore::Open(f.db));
  store::BenchRunSpec spec;
  spec.config_json = StrCat("{\"models\":\"", f.models, "\",\"contexts\":\"", f.contexts,
                            "\",\"batches\":\"", f.batches, "\",\"kv_dtype\":\"", f.config.kv_dtype, "\"}");
  spec.model = f.models;
  spec.engine_build = EngineBuild();
  spec.host = HostName();
  spec.device = "cpu";
  SIGMA_ASSIGN_OR_RETURN(int64_t bench_id, store->CreateBenchRun(spec));
  std::vector<bench::SpeedRow> all;
  for (const std::string& m : models) {
    SIGMA_ASSIGN_OR_RETURN(std::string path, ResolveModel(m, f.model_cache));
    EngineOptions options;
    options.threads = f.config.threads;
    options.kv_dtype = f.config.kv_dtype;
    options.max_sequences = static_cast<int>(*std::max_element(f.config.batches.begin(), f.config.batches.end()));
    options.max_context = std::max(*std::max_element(f.config.contexts.begin(), f.config.contexts.end()) +
                                       f.config.decode_steps + 1, f.config.prompt_tokens + 1);
    SIGMA_ASSIGN_OR_RETURN(auto model, Model::Load(path, options));
    auto log = [](const std::string& line) { std::fprintf(stderr, "bench: %s\n", line.c_str()); };
    SIGMA_ASSIGN_OR_RETURN(std::vector<bench::SpeedRow> rows, RunSpeedSweep(*model, m, f.config, log));
    for (const bench::SpeedRow& r : rows) {
      store::SpeedRow row;
      row.bench_id = bench_id;
      row.config_json = RowConfigJson(r, f);
      row.context_length = r.context;
      row.batch = r.batch;
      row.phase = r.phase;
      row.repetitions = r.repetitions;
      row.tokens_per_s_mean = r.tokens_per_s_mean;
      row.tokens_per_s_std = r.tokens_per_s_std;
      row.ms_per_token = r.ms_per_token;
      if (r.bytes_per_step > 0) row.bytes_moved = r.bytes_per_step;
      row.device = "cpu";
      SIGMA_RETURN_IF_ERROR(store->InsertSpeed(row).status());
      all.push_back(r);
    }
  }
  SIGMA_RETURN_IF_ERROR(store->FinishBenchRun(bench_id, store::RunState::kComplete));
  PrintTable(all);
  PrintRatios(all);
  std::printf("\nbench run %lld stored in %s\n", static_cast<long long>(bench_id), f.db.c_str());
  return Status::Ok();
}

}  // namespace

int RunBench(const Args& args) {
  BenchFlags f;
  Flags flags("bench", "sigma-eval bench [--models sigma-1.5b,gqa16] [--contexts 1024,4096] [flags]",
              "Measures decode speed at each context length and batch size (synthetic KV cache of\n"
              "that length, warm-up then repetitions) and prefill speed, for each model: a preset\n"
              "(generated once into --model-cache as a bf16 random-weight checkpoint) or a path.");
  flags.String("models", &f.models, "comma-separated presets or model paths");
  flags.String("contexts", &f.contexts, "comma-separated context lengths");
  flags.String("batch", &f.batches, "comma-separated batch sizes");
  flags.Int("reps", &f.config.repetitions, "timed repetitions");
  flags.Int("warmup", &f.config.warmup, "untimed repetitions first");
  flags.Int("decode-steps", &f.config.decode_steps, "decode steps per repetition");
  flags.Int("prompt-tokens", &f.config.prompt_tokens, "prefill measurement prompt length; 0 = skip");
  flags.String("kv-dtype", &f.config.kv_dtype, "KV cache dtype: f32, f16, bf16");
  flags.Int("threads", &f.threads, "CPU threads; 0 = all cores");
  flags.Int("selective-v", &f.selective_v, "selective V top-K; 0 = dense");
  flags.String("model-cache", &f.model_cache, "folder for generated preset checkpoints");
  flags.String("db", &f.db, "results database");
  if (Status s = flags.Parse(args); !s.ok()) return ReportError("bench", s);
  if (flags.help_requested()) {
    std::printf("%s", flags.Help().c_str());
    return kExitOk;
  }
  if (Status s = Bench(f); !s.ok()) return ReportError("bench", s);
  return kExitOk;
}

}  // namespace sigma::cli
