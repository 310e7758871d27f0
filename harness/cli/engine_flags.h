// The engine flags shared by every subcommand that loads a model (--model, --device, --threads,
// --kv-dtype, --max-context, --selective-v, --mmap-weights, --decode-team), and the sampling
// flags of those that generate (--temperature, --top-k, --top-p, --seed), declared once so their
// names, help and checks read the same everywhere. `bench`, whose sweep has its own flags, shares
// --device and the --decode-team parser alone.
#ifndef SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_
#define SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_

#include <cstdint>
#include <string>

#include "engine/model.h"
#include "engine/sampler.h"
#include "harness/cli/flags.h"

namespace sigma::cli {

// Registers --device (cpu or cuda, default cpu) writing to *device. Check it with
// CheckDeviceAvailable (engine/language_model.h) before loading anything: an unknown name is a
// usage error naming --device (exit code 2); cuda without a CUDA build or device is one UNAVAILABLE
// line saying which (exit code 3, environment).
void RegisterDeviceFlag(Flags& flags, std::string* device);

// --decode-team: auto, always or never (EngineOptions::decode_team); a usage error naming the flag
// otherwise.
StatusOr<DecodeTeam> ParseDecodeTeam(const std::string& name);
const char* DecodeTeamName(DecodeTeam team);
inline constexpr const char* kDecodeTeamHelp =
    "decode steps as a team of the threads with barriers between phases: auto (where the threads "
    "fit the CPUs; loops for a while after a stall), always, or never (a parallel loop per "
    "projection); the same logits either way (--device cpu)";

struct EngineFlags {
  std::string model;
  std::string device = "cpu";
  int64_t threads = 0;
  std::string kv_dtype = "auto";
  int64_t max_context = 4096;
  int64_t selective_v = 0;
  bool mmap_weights = false;
  std::string decode_team = "auto";

  void Register(Flags& flags);
  // Checks ranges and the device (CheckDeviceAvailable), and fills the engine options.
  StatusOr<EngineOptions> ToOptions() const;
};

// --threads (0..1024, 0 = all cores) and --selective-v (0..2^24, 0 = dense), as int; errors name
// the flag.
StatusOr<int> CheckedThreads(int64_t threads);
StatusOr<int> CheckedSelectiveV(int64_t top_k);

// --temperature, --top-k, --top-p, --seed (generate, run).
struct SamplingFlags {
  double temperature = 0.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  int64_t seed = 0;

  void Register(Flags& flags);
  // The checked values (SamplingParams::Validate; --top-k within int).
  StatusOr<SamplingParams> ToParams() const;
};

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_
