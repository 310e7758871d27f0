#include "engine/cuda/rms_norm.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;

template <typename OutT>
__global__ void __launch_bounds__(kThreads) RmsNormKernel(const RmsNormParams p) {
  __shared__ float scratch[32];
  const int row = blockIdx.x;
  const float* x = p.x + row * p.x_stride;
  float sum = 0.0f;
  for (int i = threadIdx.x; i < p.n; i += kThreads) sum += x[i] * x[i];
  sum = BlockSum(sum, scratch);
  const float inv = rsqrtf(sum / static_cast<float>(p.n) + p.eps);
  OutT* out = static_cast<OutT*>(p.out) + static_cast<int64_t>(row) * p.n;
  for (int i = threadIdx.x; i < p.n; i += kThreads) StoreAs(out + i, (x[i] * inv) * p.weight[i]);
}

}  // namespace

Status LaunchRmsNorm(const RmsNormParams& p, cudaStream_t stream) {
  if (p.rows == 0) return Status::Ok();
  if (p.out_type == ActType::kF32) {
    RmsNormKernel<float><<<p.rows, kThreads, 0, stream>>>(p);
  } else {
    RmsNormKernel<bf16><<<p.rows, kThreads, 0, stream>>>(p);
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
