// sigma-eval bench: decode and prefill speed over model configs x batch x context, written to the
// results database (`speed` rows under a `bench_runs` row) and printed as a table with the
// DiffQKV vs GQA16 ratio when both presets are swept.
//
// --device cpu (default): harness/bench/speed_bench.h's sweep on a loaded checkpoint (presets are
// written once as random-weight bf16 checkpoints). --device cuda: the CUDA backend's benchmarks
// (engine/cuda/cuda_backend.h) on random bf16 weights drawn on the device from the model's
// config: the whole decode step per (context, batch) (DecodeStepBenchmark: CUDA graph replay,
// embedding to argmax) and the paper's attention-layer time (AttentionLayerBenchmark: KV write,
// attention kernels, augmented-Q MLP), decode rows only, speed rows with device "cuda".
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/system_memory.h"
#include "engine/base/temp_files.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/gguf/gguf_model.h"
#include "engine/language_model.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "harness/bench/speed_bench.h"
#include "harness/build_info.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "harness/cli/flags.h"
#include "harness/store/results_store.h"
#include "reports/escape.h"
#include "reports/number_format.h"

namespace sigma::cli {
namespace {

struct BenchFlags {
  std::string models = "sigma-1.5b,gqa16";
  std::string contexts = "1024,4096,16384,32768";
  std::string batches = "1";
  std::string model_cache = "models/generated";
  std::string db = "sigma-eval.db";
  std::string device = "cpu";
  bench::SpeedConfig config;
  int64_t threads = 0;
  int64_t selective_v = 0;
  std::string decode_team = "auto";
  bool json = false;
};

// A --models entry: a model file or folder (nullopt), or a preset's config; NOT_FOUND otherwise.
StatusOr<std::optional<ModelConfig>> ModelSpec(const std::string& spec) {
  if (IsDirectory(spec) || FileExists(spec)) return std::optional<ModelConfig>();
  StatusOr<ModelConfig> preset = ModelConfigPreset(spec);
  if (!preset.ok()) {
    return NotFoundError("--models: '", spec, "' is neither a model file or folder nor a preset (",
                         ModelConfigPresetList(), ")");
  }
  return std::optional<ModelConfig>(*std::move(preset));
}

// A preset name becomes a generated bf16 checkpoint in the cache (written once); a path is used
// as it is.
StatusOr<std::string> ResolveModel(const std::string& spec, const std::string& cache) {
  SIGMA_ASSIGN_OR_RETURN(const std::optional<ModelConfig> preset, ModelSpec(spec));
  if (!preset) return spec;
  const ModelConfig& config = *preset;
  const std::string dir = cache + "/" + spec + "-bf16-seed0";
  if (!FileExists(dir + "/config.json")) {
    std::fprintf(stderr, "bench: writing random-weight %s checkpoint to %s\n", spec.c_str(),
                 dir.c_str());
    SIGMA_RETURN_IF_ERROR(WriteRandomCheckpoint(config, dir, 0, DType::kBF16));
  }
  return dir;
}

std::string FormatGiB(double bytes) { return reports::FormatFixed(bytes / (1 << 30), 1); }

// The session's configuration (bench_runs.config_json): what was asked for, so that `compare`
// can say where two sessions differ.
std::string BenchConfigJson(const BenchFlags& f, const std::string& gpu) {
  const bench::SpeedConfig& c = f.config;
  return StrCat("{\"models\":", JsonQuote(f.models), ",\"contexts\":", JsonQuote(f.contexts),
                ",\"batches\":", JsonQuote(f.batches), ",\"kv_dtype\":", JsonQuote(c.kv_dtype),
                ",\"device\":", JsonQuote(f.device),
                gpu.empty() ? "" : ",\"gpu\":" + JsonQuote(gpu), ",\"threads\":", f.threads,
                ",\"selective_v\":", f.selective_v, ",\"decode_team\":", JsonQuote(f.decode_team),
                ",\"warmup\":", c.warmup, ",\"reps\":", c.repetitions,
                ",\"decode_steps\":", c.decode_steps, ",\"prompt_tokens\":", c.prompt_tokens,
                ",\"read_bandwidth_mib\":", c.read_bandwidth_mib, "}");
}

// Model paths go through JsonQuote: they may hold quotes or backslashes.
std::string RowConfigJson(const bench::SpeedRow& r, const BenchFlags& f) {
  return StrCat(
      "{\"model\":", JsonQuote(r.model), ",\"kv_dtype\":\"", r.kv_dtype,
      "\",\"selective_v\":", r.selective_v, ",\"threads\":", f.threads,
      ",\"attention_ms\":", r.attention_ms, ",\"decode_steps\":", f.config.decode_steps,
      ",\"thp\":\"", TransparentHugePagesMode(), "\",\"decode_team\":\"", f.decode_team, "\"",
      r.read_gbps > 0 ? StrCat(",\"read_gbps\":", r.read_gbps, ",\"read_share\":", r.read_share,
                               ",\"read_share_mean\":", r.read_share_mean,
                               ",\"read_share_std\":", r.read_share_std)
                      : std::string(),
      "}");
}

// "read GB/s": the median of the probe passes paired with the row's repetitions (CPU decode);
// "% read": the median over repetitions of the step's bytes/s as a share of the pass before it
// (past 100 where a step's bytes fit the CPU's caches in part: a line under the table says so).
// The model column is as wide as the longest name (a path, usually), so the columns line up.
void PrintTable(const std::vector<bench::SpeedRow>& rows) {
  int width = 12;
  for (const bench::SpeedRow& r : rows) width = std::max(width, static_cast<int>(r.model.size()));
  std::printf("%-*s %-8s %8s %6s %15s %10s %12s %9s %9s %7s\n", width, "model", "phase", "context",
              "batch", "tok/s", "ms/step", "attention ms", "GB/step", "read GB/s", "% read");
  for (const bench::SpeedRow& r : rows) {
    std::printf("%-*s %-8s %8lld %6lld %8.2f ±%5.2f %10.2f", width, r.model.c_str(),
                r.phase.c_str(), static_cast<long long>(r.context), static_cast<long long>(r.batch),
                r.tokens_per_s_mean, r.tokens_per_s_std, r.ms_per_token);
    // Not measured for the row (prefill times neither): a dash, not a zero.
    if (r.attention_ms > 0) {
      std::printf(" %12.3f", r.attention_ms);
    } else {
      std::printf(" %12s", "-");
    }
    if (r.bytes_per_step > 0) {
      std::printf(" %9.3f", r.bytes_per_step / 1e9);
    } else {
      std::printf(" %9s", "-");
    }
    if (r.read_gbps > 0) {
      std::printf(" %9.2f %6.1f%%\n", r.read_gbps, r.PercentOfReadBandwidth());
    } else {
      std::printf(" %9s %7s\n", "-", "-");
    }
  }
  const bool past_probe = std::any_of(rows.begin(), rows.end(), [](const bench::SpeedRow& r) {
    return r.read_gbps > 0 && r.PercentOfReadBandwidth() > 100;
  });
  if (past_probe) {
    std::printf(
        "%% read past 100: part of a step's bytes came from the CPU's caches, where the "
        "probe's buffer (--read-bandwidth-mib) came from memory\n");
  }
}

// DiffQKV vs GQA16: ratios of decode step time and attention-layer time at each (context, batch).
// The two rows run minutes apart; where both were graded against a bandwidth probe (CPU decode),
// the step ratio is also given at equal bandwidth (each step time times the bandwidth its row
// ran at), which is the fair comparison on a host whose bandwidth drifts, as long as both steps
// are bandwidth-bound.
void PrintRatios(const std::vector<bench::SpeedRow>& rows) {
  std::map<std::pair<int64_t, int64_t>, const bench::SpeedRow*> sigma, gqa;
  for (const bench::SpeedRow& r : rows) {
    if (r.phase != "decode") continue;
    if (r.model == "sigma-1.5b") sigma[{r.context, r.batch}] = &r;
    if (r.model == "gqa16") gqa[{r.context, r.batch}] = &r;
  }
  if (sigma.empty() || gqa.empty()) return;
  std::printf("\nDiffQKV (sigma-1.5b) vs GQA16: speed ratio = GQA16 time / DiffQKV time\n");
  std::printf("%8s %6s %12s %16s %22s %22s\n", "context", "batch", "step ratio", "attention ratio",
              "attention time saved", "step ratio, equal BW");
  for (const auto& [key, s] : sigma) {
    auto it = gqa.find(key);
    if (it == gqa.end()) continue;
    const bench::SpeedRow* g = it->second;
    std::printf("%8lld %6lld %11.3fx %15.3fx %21.1f%%", static_cast<long long>(key.first),
                static_cast<long long>(key.second), g->ms_per_token / s->ms_per_token,
                g->attention_ms / s->attention_ms, 100.0 * (1.0 - s->attention_ms / g->attention_ms));
    if (s->read_gbps > 0 && g->read_gbps > 0) {
      std::printf(" %21.3fx\n", (g->ms_per_token * g->read_gbps) / (s->ms_per_token * s->read_gbps));
    } else {
      std::printf(" %22s\n", "-");
    }
  }
}

// The config of a model spec for the CUDA benchmarks (which draw random weights on the device):
// a checkpoint folder's config.json, a .gguf file's metadata, or a preset.
StatusOr<ModelConfig> ConfigOf(const std::string& spec) {
  if (IsDirectory(spec)) {
    SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(spec + "/config.json"));
    return ParseModelConfig(text, spec + "/config.json");
  }
  if (FileExists(spec)) {
    SIGMA_ASSIGN_OR_RETURN(ModelWeights weights, LoadGguf(spec));
    return weights.config;
  }
  return ModelConfigPreset(spec);
}

// Bytes one CUDA decode step must read: every bf16 weight matrix once (one embedding row) and the
// bf16 K and V rows of every cached position.
double CudaBytesPerStep(const ModelConfig& c, int64_t batch, int64_t context) {
  const double q = static_cast<double>(c.q_dim());
  const double h = static_cast<double>(c.hidden_size);
  const double aug = static_cast<double>(c.aug_q_intermediate_size);
  const double ffn = static_cast<double>(c.intermediate_size);
  const double layer = (q + c.k_dim() + c.v_dim()) * h + 3 * aug * q + h * q + 3 * ffn * h;
  const double weights = 2.0 * (layer * c.num_layers + (c.vocab_size + 1) * h);
  const double kv = 2.0 * c.num_layers * (c.n_k_heads + c.n_v_heads) * c.head_dim;
  return weights + kv * static_cast<double>(batch * context);
}

// One CUDA decode row and the attention-layer split behind its attention_ms.
struct CudaRow {
  bench::SpeedRow row;
  cuda::AttentionLayerBenchResult layer;
  double median_ms = 0;
};

StatusOr<CudaRow> MeasureCudaDecode(const std::string& label, const ModelConfig& c,
                                    const bench::SpeedConfig& sc, int64_t batch, int64_t context) {
  const int steps = static_cast<int>(sc.repetitions * sc.decode_steps);
  SIGMA_ASSIGN_OR_RETURN(
      cuda::DecodeStepBenchResult step,
      cuda::DecodeStepBenchmark(c, static_cast<int>(batch), context, sc.selective_v, steps));
  CudaRow out;
  SIGMA_ASSIGN_OR_RETURN(out.layer, cuda::AttentionLayerBenchmark(c, static_cast<int>(batch),
                                                                  context, sc.selective_v, steps));
  out.median_ms = step.median_ms;
  // tokens/s per repetition of --decode-steps steps, as the CPU sweep reports it.
  std::vector<double> tok_s;
  double total_ms = 0;
  for (int64_t r = 0; r < sc.repetitions; ++r) {
    double ms = 0;
    for (int64_t i = 0; i < sc.decode_steps; ++i)
      ms += step.step_ms[static_cast<size_t>(r * sc.decode_steps + i)];
    tok_s.push_back(static_cast<double>(batch * sc.decode_steps) * 1000.0 / ms);
    total_ms += ms;
  }
  bench::SpeedRow& row = out.row;
  row.model = label;
  row.phase = "decode";
  row.context = context;
  row.batch = batch;
  row.repetitions = sc.repetitions;
  for (double x : tok_s) row.tokens_per_s_mean += x / static_cast<double>(tok_s.size());
  double var = 0;
  for (double x : tok_s) var += (x - row.tokens_per_s_mean) * (x - row.tokens_per_s_mean);
  row.tokens_per_s_std =
      tok_s.size() > 1 ? std::sqrt(var / static_cast<double>(tok_s.size() - 1)) : 0;
  row.ms_per_token = total_ms / steps;
  row.attention_ms = out.layer.step_ms;
  row.bytes_per_step = CudaBytesPerStep(c, batch, context);
  row.kv_dtype = "bf16";
  row.selective_v = sc.selective_v;
  return out;
}

std::string CudaRowConfigJson(const CudaRow& r, const BenchFlags& f,
                              const std::string& device_name) {
  return StrCat(
      "{\"model\":", JsonQuote(r.row.model), ",\"kv_dtype\":\"bf16\",\"weights\":\"bf16 random\"",
      ",\"selective_v\":", r.row.selective_v, ",\"gpu\":", JsonQuote(device_name),
      ",\"attention_ms\":", r.row.attention_ms, ",\"kv_write_us_per_layer\":", r.layer.kv_write_us,
      ",\"attention_us_per_layer\":", r.layer.attention_us,
      ",\"aug_q_us_per_layer\":", r.layer.aug_q_us, ",\"median_step_ms\":", r.median_ms,
      ",\"decode_steps\":", f.config.decode_steps, "}");
}

// The CUDA sweep of one model: rows for the table, stored as they are measured.
StatusOr<std::vector<bench::SpeedRow>> CudaSweep(const std::string& label, const BenchFlags& f,
                                                 const std::string& device_name, int64_t bench_id,
                                                 store::ResultsStore& store) {
  SIGMA_ASSIGN_OR_RETURN(ModelConfig config, ConfigOf(label));
  std::vector<bench::SpeedRow> rows;
  for (int64_t batch : f.config.batches) {
    for (int64_t context : f.config.contexts) {
      SIGMA_ASSIGN_OR_RETURN(CudaRow r, MeasureCudaDecode(label, config, f.config, batch, context));
      std::fprintf(stderr,
                   "bench: %s cuda decode ctx %lld batch %lld: %.2f tok/s (step %.3f ms, "
                   "attention layer %.3f ms)\n",
                   label.c_str(), static_cast<long long>(context), static_cast<long long>(batch),
                   r.row.tokens_per_s_mean, r.row.ms_per_token, r.row.attention_ms);
      store::SpeedRow row;
      row.bench_id = bench_id;
      row.config_json = CudaRowConfigJson(r, f, device_name);
      row.context_length = context;
      row.batch = batch;
      row.phase = "decode";
      row.repetitions = r.row.repetitions;
      row.tokens_per_s_mean = r.row.tokens_per_s_mean;
      row.tokens_per_s_std = r.row.tokens_per_s_std;
      row.ms_per_token = r.row.ms_per_token;
      row.bytes_moved = r.row.bytes_per_step;
      row.device = "cuda";
      SIGMA_RETURN_IF_ERROR(store.InsertSpeed(row).status());
      rows.push_back(r.row);
    }
  }
  return rows;
}

// The CPU sweep of one model: rows for the table, stored as they are measured.
StatusOr<std::vector<bench::SpeedRow>> CpuSweep(const std::string& m, const BenchFlags& f,
                                                int64_t bench_id, store::ResultsStore& store) {
  SIGMA_ASSIGN_OR_RETURN(std::string path, ResolveModel(m, f.model_cache));
  EngineOptions options;
  SIGMA_ASSIGN_OR_RETURN(options.decode_team, ParseDecodeTeam(f.decode_team));
  options.threads = f.config.threads;
  options.kv_dtype = f.config.kv_dtype;
  options.max_sequences =
      static_cast<int>(*std::max_element(f.config.batches.begin(), f.config.batches.end()));
  options.max_context =
      std::max(*std::max_element(f.config.contexts.begin(), f.config.contexts.end()) +
                   f.config.decode_steps + 1,
               f.config.prompt_tokens + 1);
  SIGMA_ASSIGN_OR_RETURN(auto model, Model::Load(path, options));
  // The sweep writes the largest context into every sequence slot (FillSyntheticContext): where
  // that and the weights do not fit, the kernel would kill the process midway through.
  const double kv_bytes = static_cast<double>(model->kv_bytes_per_token()) *
                          static_cast<double>(options.max_context * options.max_sequences);
  const double needed = kv_bytes + bench::WeightBytesPerStep(model->weights());
  const double usable = static_cast<double>(UsableMemoryBytes());
  if (usable > 0 && needed > usable) {
    return ResourceExhaustedError("--contexts / --batch: ", m, " at ", options.max_context,
                                  " positions x ", options.max_sequences, " sequences needs ",
                                  FormatGiB(needed), " GiB (KV cache ", FormatGiB(kv_bytes),
                                  " GiB), more than the ", FormatGiB(usable),
                                  " GiB this process may use");
  }
  auto log = [](const std::string& line) { std::fprintf(stderr, "bench: %s\n", line.c_str()); };
  SIGMA_ASSIGN_OR_RETURN(std::vector<bench::SpeedRow> rows,
                         RunSpeedSweep(*model, m, f.config, log));
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
    SIGMA_RETURN_IF_ERROR(store.InsertSpeed(row).status());
  }
  return rows;
}

Status Bench(BenchFlags& f) {
  // The device first: one clear error before anything is written.
  SIGMA_RETURN_IF_ERROR(CheckDeviceAvailable(f.device));
  const bool gpu = f.device == "cuda";
  if (gpu && f.config.kv_dtype != "bf16") {
    return InvalidArgumentError("--kv-dtype ", f.config.kv_dtype,
                                ": --device cuda benchmarks a bf16 KV cache");
  }
  std::string device_name = "cpu";
  if (gpu) {
    SIGMA_ASSIGN_OR_RETURN(device_name, cuda::DescribeDevice());
  }
  SIGMA_ASSIGN_OR_RETURN(f.config.contexts, ParseIntList(f.contexts, "contexts"));
  SIGMA_ASSIGN_OR_RETURN(f.config.batches, ParseIntList(f.batches, "batch"));
  SIGMA_RETURN_IF_ERROR(ParseDecodeTeam(f.decode_team).status());
  SIGMA_ASSIGN_OR_RETURN(f.config.threads, CheckedThreads(f.threads));
  SIGMA_ASSIGN_OR_RETURN(f.config.selective_v, CheckedSelectiveV(f.selective_v));
  SIGMA_RETURN_IF_ERROR(f.config.Validate());
  const std::vector<std::string> models = SplitCommaList(f.models);
  if (models.empty()) return InvalidArgumentError("--models: at least one model");
  // Each model a path or a preset before a session is stored for them.
  for (const std::string& m : models) SIGMA_RETURN_IF_ERROR(ModelSpec(m).status());
  SIGMA_ASSIGN_OR_RETURN(auto store, store::ResultsStore::Open(f.db));
  store::BenchRunSpec spec;
  spec.config_json = BenchConfigJson(f, gpu ? device_name : "");
  spec.model = f.models;
  spec.engine_build = EngineBuild();
  spec.host = HostName();
  spec.device = f.device;
  SIGMA_ASSIGN_OR_RETURN(int64_t bench_id, store->CreateBenchRun(spec));
  std::vector<bench::SpeedRow> all;
  for (const std::string& m : models) {
    StatusOr<std::vector<bench::SpeedRow>> rows =
        gpu ? CudaSweep(m, f, device_name, bench_id, *store) : CpuSweep(m, f, bench_id, *store);
    if (!rows.ok()) {
      (void)store->FinishBenchRun(bench_id, store::RunState::kFailed);
      return rows.status();
    }
    all.insert(all.end(), rows->begin(), rows->end());
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
  Flags flags("bench",
              "sigma-eval bench [--models sigma-1.5b,gqa16] [--contexts 1024,4096] [flags]",
              "Measures decode speed at each context length and batch size (synthetic KV cache of\n"
              "that length, warm-up then repetitions) and prefill speed, for each model: a preset\n"
              "(generated once into --model-cache as a bf16 random-weight checkpoint) or a path.\n"
              "--device cuda: decode only, random bf16 weights drawn on the device from the\n"
              "model's config; each row also gives the attention-layer time (KV write, attention,\n"
              "augmented Q) measured by the CUDA backend's attention-layer benchmark.");
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
  flags.String("decode-team", &f.decode_team, kDecodeTeamHelp);
  flags.Int("read-bandwidth-mib", &f.config.read_bandwidth_mib,
            "CPU: buffer (MiB) for the read bandwidth probed before each decode repetition; 0 = skip");
  flags.String("model-cache", &f.model_cache, "folder for generated preset checkpoints");
  flags.String("db", &f.db, "results database");
  RegisterDeviceFlag(flags, &f.device);
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  RemoveTempFilesOnSignals();  // a stopped write leaves no partial model behind
  if (Status s = Bench(f); !s.ok()) return ReportError("bench", s);
  return kExitOk;
}

}  // namespace sigma::cli
