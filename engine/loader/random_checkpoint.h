// Random-weight checkpoints of any ModelConfig, for tests and for speed runs at real shapes
// (`sigma-eval make-model`): config.json (ModelConfig::ToJson) + model.safetensors.
//
// Weights are deterministic in (config, seed, dtype) and independent of the thread count: matrices
// and biases are drawn from an approximately normal distribution with std 0.02 (Hugging Face's
// initializer_range), norms are 1 (Gemma's, stored as offsets from 1, std 0.25). Tensors are
// generated and written in bounded chunks, so a Sigma-1.5B checkpoint (about 4.6 GB in bf16) needs
// well under 100 MB of memory. Thread safety: a free function; concurrent calls must use different
// folders.
#ifndef SIGMA_ENGINE_LOADER_RANDOM_CHECKPOINT_H_
#define SIGMA_ENGINE_LOADER_RANDOM_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "engine/base/status.h"
#include "engine/dtype.h"
#include "engine/loader/model_config.h"

namespace sigma {

inline constexpr float kRandomCheckpointInitStd = 0.02f;

// Creates `out_dir` if needed and writes the checkpoint there (model.safetensors first, then
// config.json, each atomically). dtype: F32, F16 or BF16. num_threads <= 0: all cores.
Status WriteRandomCheckpoint(const ModelConfig& config, const std::string& out_dir, uint64_t seed,
                             DType dtype, int num_threads = 0);

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_RANDOM_CHECKPOINT_H_
