// Projections: y[b][o] = beta * y[b][o] + sum_i x[b][i] * W[o][i], with W stored
// [out][in] row-major as Hugging Face stores a Linear weight. Operands in f32 or bf16 (weights and
// x of one ActType), y always f32, accumulation in f32 (CUBLAS_COMPUTE_32F; no TF32). beta = 1
// adds the product to y in place (residual connections without an extra kernel). Decode-sized
// bf16 products (at most 4 rows) run on the project's GEMV kernel, one warp per output row (or
// slice of it) with 16-byte streaming weight loads; the rest on cuBLAS. On an H200, Sigma-1.5B's
// augmented-Q MLP at batch 1 (two products and SiluMul, 37.7 MB of weights) took 20.8 us a layer
// with cuBLAS and 16.8 us with the GEMV kernel.
// Thread safety: uses the caller's handle, which must be bound to the stream by the caller.
#ifndef SIGMA_ENGINE_CUDA_GEMM_CUH_
#define SIGMA_ENGINE_CUDA_GEMM_CUH_

#include <cublas_v2.h>

#include <cstdint>

#include "engine/base/status.h"
#include "engine/cuda/act_type.cuh"

namespace sigma::cuda {

// A weight matrix on the device.
struct DeviceMatrix {
  const void* data = nullptr;  // [out][in] of type
  ActType type = ActType::kBF16;
  int64_t out = 0;
  int64_t in = 0;
};

struct GemmArgs {
  const void* x = nullptr;  // [batch][ldx] of w.type, first w.in used
  int64_t ldx = 0;
  float* y = nullptr;       // [batch][ldy] f32, first w.out written
  int64_t ldy = 0;
  int batch = 0;
  float beta = 0.0f;
};

Status Gemm(cublasHandle_t handle, const DeviceMatrix& w, const GemmArgs& a);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_GEMM_CUH_
