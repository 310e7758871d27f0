// Embedding lookup on the device: x[r][:] = table[tokens[r]][:] as f32 (the residual stream).
// Token ids were validated on the host before they were copied to the device.
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_EMBEDDING_CUH_
#define SIGMA_ENGINE_CUDA_EMBEDDING_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"
#include "engine/cuda/act_type.cuh"

namespace sigma::cuda {

struct EmbeddingParams {
  const int32_t* tokens = nullptr;  // [rows]
  const void* table = nullptr;      // [vocab][hidden] of table_type
  ActType table_type = ActType::kBF16;
  float* x = nullptr;               // [rows][hidden]
  int rows = 0;
  int hidden = 0;
};

Status LaunchEmbedding(const EmbeddingParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_EMBEDDING_CUH_
