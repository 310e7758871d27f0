// RMSNorm on the device: out[r][i] = x[r][i] / sqrt(mean_i(x[r]^2) + eps) * weight[i].
// x is the f32 residual stream; out is the activation type that feeds the next GEMM.
// One CTA per row. Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_RMS_NORM_CUH_
#define SIGMA_ENGINE_CUDA_RMS_NORM_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"
#include "engine/cuda/act_type.cuh"

namespace sigma::cuda {

struct RmsNormParams {
  const float* x = nullptr;       // [rows][x_stride], first n used
  int64_t x_stride = 0;
  const float* weight = nullptr;  // [n]
  void* out = nullptr;            // [rows][n] of out_type
  ActType out_type = ActType::kF32;
  int rows = 0;
  int n = 0;
  float eps = 1e-6f;
};

Status LaunchRmsNorm(const RmsNormParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_RMS_NORM_CUH_
