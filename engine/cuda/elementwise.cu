#include "engine/cuda/elementwise.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;

unsigned BlocksFor(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

template <typename OutT>
__global__ void SiluMulKernel(const SiluMulParams p) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= static_cast<int64_t>(p.rows) * p.n) return;
  const int64_t r = i / p.n;
  const int64_t c = i % p.n;
  const float g = p.in[r * 2 * p.n + c];
  const float u = p.in[r * 2 * p.n + p.n + c];
  StoreAs(static_cast<OutT*>(p.out) + i, g / (1.0f + expf(-g)) * u);
}

__global__ void BiasAddKernel(const BiasAddParams p) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= static_cast<int64_t>(p.rows) * p.n) return;
  p.y[(i / p.n) * p.stride + i % p.n] += p.bias[i % p.n];
}

template <typename OutT>
__global__ void ConvertKernel(const ConvertParams p) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  if (i >= static_cast<int64_t>(p.rows) * p.n) return;
  StoreAs(static_cast<OutT*>(p.out) + i, p.in[(i / p.n) * p.in_stride + i % p.n]);
}

}  // namespace

Status LaunchSiluMul(const SiluMulParams& p, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(p.rows) * p.n;
  if (n == 0) return Status::Ok();
  if (p.out_type == ActType::kF32) {
    SiluMulKernel<float><<<BlocksFor(n), kThreads, 0, stream>>>(p);
  } else {
    SiluMulKernel<bf16><<<BlocksFor(n), kThreads, 0, stream>>>(p);
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

Status LaunchBiasAdd(const BiasAddParams& p, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(p.rows) * p.n;
  if (n == 0) return Status::Ok();
  BiasAddKernel<<<BlocksFor(n), kThreads, 0, stream>>>(p);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

Status LaunchConvert(const ConvertParams& p, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(p.rows) * p.n;
  if (n == 0) return Status::Ok();
  if (p.out_type == ActType::kF32) {
    ConvertKernel<float><<<BlocksFor(n), kThreads, 0, stream>>>(p);
  } else {
    ConvertKernel<bf16><<<BlocksFor(n), kThreads, 0, stream>>>(p);
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
