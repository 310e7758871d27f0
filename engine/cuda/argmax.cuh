// Greedy sampling on the device: ids[r] = argmax_i logits[r][i], the lowest index on ties (as the
// CPU sampler's ArgMax). One CTA per row. NaN logits never win.
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_ARGMAX_CUH_
#define SIGMA_ENGINE_CUDA_ARGMAX_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"

namespace sigma::cuda {

struct ArgMaxParams {
  const float* logits = nullptr;  // [rows][vocab]
  int32_t* ids = nullptr;         // [rows]
  int rows = 0;
  int vocab = 0;
};

Status LaunchArgMax(const ArgMaxParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_ARGMAX_CUH_
