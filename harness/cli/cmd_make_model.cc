// sigma-eval make-model: write a random-weight checkpoint of any config or preset.
#include <cstdio>
#include <optional>

#include "engine/base/file.h"
#include "engine/base/temp_files.h"
#include "engine/gguf/gguf_file.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "harness/cli/commands.h"
#include "harness/cli/engine_flags.h"
#include "harness/cli/flags.h"

namespace sigma::cli {
namespace {

StatusOr<ModelConfig> ResolveConfig(const std::string& spec) {
  if (spec.empty()) return InvalidArgumentError("--config: required (a config.json or a preset)");
  if (FileExists(spec)) {
    SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(spec));
    return ParseModelConfig(text, spec);
  }
  StatusOr<ModelConfig> preset = ModelConfigPreset(spec);
  if (preset.ok()) return preset;
  return NotFoundError("--config: '", spec,
                       "' is neither a file nor a preset (presets: ", ModelConfigPresetList(), ")");
}

StatusOr<DType> ParseWeightDtype(const std::string& name) {
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  return InvalidArgumentError("--dtype: expected f32, f16 or bf16, got '", name, "'");
}

}  // namespace

int RunMakeModel(const Args& args) {
  std::string config_spec, out, dtype_name = "bf16";
  int64_t seed = 0, threads = 0;
  bool force = false;
  Flags flags("make-model", "sigma-eval make-model --config FILE|PRESET --out DIR [--seed N]",
              "Writes config.json + model.safetensors with deterministic random weights.\n"
              "Presets: sigma-1.5b, gqa16 (its GQA16 twin), sigma-tiny, llama-tiny, mixtral-mini"
              " (32 experts, 4 a token, for speed runs).");
  flags.String("config", &config_spec, "config.json path or preset name");
  flags.String("out", &out, "output folder");
  flags.String("dtype", &dtype_name, "weight dtype: f32, f16 or bf16");
  flags.Int("seed", &seed, "random seed");
  flags.Int("threads", &threads, "threads; 0 = all cores");
  flags.Bool("force", &force, "write into an --out folder that is not empty");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  RemoveTempFilesOnSignals();  // a stopped write leaves no partial model behind
  if (out.empty()) return ReportError("make-model", InvalidArgumentError("--out: required"));
  if (IsGgufPath(out)) {  // the loaders would take the folder for a GGUF file
    return ReportError(
        "make-model",
        InvalidArgumentError("--out: '", out,
                             "': make-model writes a checkpoint folder, and a name "
                             "ending in .gguf is read as a GGUF file (write the folder, "
                             "then `sigma-eval convert` it)"));
  }
  if (Status s = CheckOutputFree(out, force); !s.ok()) return ReportError("make-model", s);
  const StatusOr<int> checked_threads = CheckedThreads(threads);
  if (!checked_threads.ok()) return ReportError("make-model", checked_threads.status());
  StatusOr<ModelConfig> config = ResolveConfig(config_spec);
  if (!config.ok()) return ReportError("make-model", config.status());
  if (Status s = config->Validate(); !s.ok()) return ReportError("make-model", s);
  StatusOr<DType> dtype = ParseWeightDtype(dtype_name);
  if (!dtype.ok()) return ReportError("make-model", dtype.status());
  Status s =
      WriteRandomCheckpoint(*config, out, static_cast<uint64_t>(seed), *dtype, *checked_threads);
  if (!s.ok()) return ReportError("make-model", s);
  std::fprintf(stderr, "wrote %s checkpoint (%s, seed %lld) to %s\n",
               std::string(ArchitectureName(config->arch)).c_str(), dtype_name.c_str(),
               static_cast<long long>(seed), out.c_str());
  return kExitOk;
}

}  // namespace sigma::cli
