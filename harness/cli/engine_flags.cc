#include "harness/cli/engine_flags.h"

#include <limits>

#include "engine/language_model.h"

namespace sigma::cli {

void RegisterDeviceFlag(Flags& flags, std::string* device) {
  flags.String("device", device,
               "where the model runs: cpu or cuda (needs a CUDA build and device)");
}

StatusOr<DecodeTeam> ParseDecodeTeam(const std::string& name) {
  if (name == "auto") return DecodeTeam::kAuto;
  if (name == "always") return DecodeTeam::kAlways;
  if (name == "never") return DecodeTeam::kNever;
  return InvalidArgumentError("--decode-team: expected auto, always or never, got '", name, "'");
}

const char* DecodeTeamName(DecodeTeam team) {
  switch (team) {
    case DecodeTeam::kAuto: return "auto";
    case DecodeTeam::kAlways: return "always";
    case DecodeTeam::kNever: return "never";
  }
  return "auto";
}

void EngineFlags::Register(Flags& flags) {
  flags.String("model", &model, "checkpoint folder (config.json + safetensors) or .gguf file");
  RegisterDeviceFlag(flags, &device);
  flags.Int("threads", &threads, "CPU threads; 0 = all cores (--device cpu)");
  flags.String("kv-dtype", &kv_dtype,
               "KV cache element type: f32, f16, bf16 (on the CPU the scores then take q in bf16 "
               "too) or auto (cuda: bf16)");
  flags.Int("max-context", &max_context, "KV cache positions per sequence");
  flags.Int("selective-v", &selective_v, "selective V fetching: keep the top-K positions; 0 = off");
  flags.Bool("mmap-weights", &mmap_weights,
             "decode reads the weights from the file mapping instead of a huge-page copy made at "
             "load (loads faster, decodes slower; --device cpu)");
  flags.String("decode-team", &decode_team, kDecodeTeamHelp);
}

StatusOr<EngineOptions> EngineFlags::ToOptions() const {
  if (model.empty()) return InvalidArgumentError("--model: required");
  SIGMA_ASSIGN_OR_RETURN(const int checked_threads, CheckedThreads(threads));
  if (max_context <= 0 || max_context > (int64_t{1} << 24)) {
    return InvalidArgumentError("--max-context: expected 1..16777216, got ", max_context);
  }
  SIGMA_ASSIGN_OR_RETURN(const int checked_selective_v, CheckedSelectiveV(selective_v));
  SIGMA_ASSIGN_OR_RETURN(const DecodeTeam team, ParseDecodeTeam(decode_team));
  SIGMA_RETURN_IF_ERROR(CheckDeviceAvailable(device));
  EngineOptions options;
  options.decode_team = team;
  options.threads = checked_threads;
  options.kv_dtype = kv_dtype;
  options.max_context = max_context;
  options.selective_v_top_k = checked_selective_v;
  options.device = device;
  options.copy_weights = !mmap_weights;
  return options;
}

StatusOr<int> CheckedThreads(int64_t threads) {
  if (threads < 0 || threads > 1024) {
    return InvalidArgumentError("--threads: expected 0..1024, got ", threads);
  }
  return static_cast<int>(threads);
}

StatusOr<int> CheckedSelectiveV(int64_t top_k) {
  if (top_k < 0 || top_k > (int64_t{1} << 24)) {
    return InvalidArgumentError("--selective-v: expected 0..16777216, got ", top_k);
  }
  return static_cast<int>(top_k);
}

void SamplingFlags::Register(Flags& flags) {
  flags.Double("temperature", &temperature, "sampling temperature; 0 = greedy");
  flags.Int("top-k", &top_k, "keep the K most likely tokens; 0 = all");
  flags.Double("top-p", &top_p, "nucleus sampling: keep the most likely tokens up to this mass");
  flags.Int("seed", &seed, "sampling seed");
}

StatusOr<SamplingParams> SamplingFlags::ToParams() const {
  if (top_k < 0 || top_k > std::numeric_limits<int>::max()) {
    return InvalidArgumentError("--top-k: expected 0..", std::numeric_limits<int>::max(), ", got ",
                                top_k);
  }
  const SamplingParams params{temperature, static_cast<int>(top_k), top_p,
                              static_cast<uint64_t>(seed)};
  SIGMA_RETURN_IF_ERROR(params.Validate());
  return params;
}

}  // namespace sigma::cli
