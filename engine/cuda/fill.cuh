// Deterministic pseudo-random fills on the device (benchmarks, random-weight models, synthetic
// contexts): element i gets a hash of (seed, i) mapped to [-scale, scale), so a buffer's content
// depends only on its seed and size. Never zeros (METHOD.md: zeros hide unwritten outputs).
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_FILL_CUH_
#define SIGMA_ENGINE_CUDA_FILL_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"

namespace sigma::cuda {

Status FillUniformBf16(__nv_bfloat16* p, int64_t n, uint64_t seed, float scale,
                       cudaStream_t stream);
Status FillUniformF32(float* p, int64_t n, uint64_t seed, float scale, cudaStream_t stream);
Status FillConstantF32(float* p, int64_t n, float value, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_FILL_CUH_
