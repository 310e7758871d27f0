// Small row-wise kernels of the forward pass:
//  - SiluMul: out[r][i] = silu(in[r][i]) * in[r][n + i] for the fused [gate | up] GEMM output
//    (SwiGLU FFN and the augmented-Q MLP), written as the activation type of the next GEMM.
//  - BiasAdd: y[r][i] += bias[i] (Qwen2 q/k/v biases on the fused QKV output).
//  - Convert: f32 rows (strided) to the activation type (q0 feeding the augmented-Q GEMM).
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_ELEMENTWISE_CUH_
#define SIGMA_ENGINE_CUDA_ELEMENTWISE_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"
#include "engine/cuda/act_type.cuh"

namespace sigma::cuda {

struct SiluMulParams {
  const float* in = nullptr;  // [rows][2 * n]: gate then up
  void* out = nullptr;        // [rows][n] of out_type
  ActType out_type = ActType::kF32;
  int rows = 0;
  int n = 0;
};
Status LaunchSiluMul(const SiluMulParams& p, cudaStream_t stream);

struct BiasAddParams {
  float* y = nullptr;           // [rows][stride], first n updated
  int64_t stride = 0;
  const float* bias = nullptr;  // [n]
  int rows = 0;
  int n = 0;
};
Status LaunchBiasAdd(const BiasAddParams& p, cudaStream_t stream);

struct ConvertParams {
  const float* in = nullptr;  // [rows][in_stride], first n read
  int64_t in_stride = 0;
  void* out = nullptr;        // [rows][n] of out_type
  ActType out_type = ActType::kF32;
  int rows = 0;
  int n = 0;
};
Status LaunchConvert(const ConvertParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_ELEMENTWISE_CUH_
