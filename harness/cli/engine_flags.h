// The engine flags shared by every subcommand that loads a model (--model, --threads, --kv-dtype,
// --max-context, --selective-v), declared once so their names and help read the same everywhere.
#ifndef SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_
#define SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_

#include <cstdint>
#include <string>

#include "engine/model.h"
#include "harness/cli/flags.h"

namespace sigma::cli {

struct EngineFlags {
  std::string model;
  int64_t threads = 0;
  std::string kv_dtype = "auto";
  int64_t max_context = 4096;
  int64_t selective_v = 0;

  void Register(Flags& flags);
  // Checks ranges and fills the engine options.
  StatusOr<EngineOptions> ToOptions() const;
};

}  // namespace sigma::cli

#endif  // SIGMA_HARNESS_CLI_ENGINE_FLAGS_H_
