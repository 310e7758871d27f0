#include "engine/cuda/fill.cuh"

#include "engine/cuda/cuda_check.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 65535;

__device__ __forceinline__ float HashUniform(uint64_t seed, uint64_t i) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + i;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<float>(x >> 40) * 0x1.0p-23f - 1.0f;  // [-1, 1)
}

template <typename T>
__global__ void FillKernel(T* p, int64_t n, uint64_t seed, float scale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const float v = HashUniform(seed, static_cast<uint64_t>(i)) * scale;
    if constexpr (sizeof(T) == 2) {
      p[i] = __float2bfloat16_rn(v);
    } else {
      p[i] = v;
    }
  }
}

__global__ void ConstantKernel(float* p, int64_t n, float value) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    p[i] = value;
  }
}

unsigned Blocks(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

}  // namespace

Status FillUniformBf16(__nv_bfloat16* p, int64_t n, uint64_t seed, float scale,
                       cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  FillKernel<__nv_bfloat16><<<Blocks(n), kThreads, 0, stream>>>(p, n, seed, scale);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

Status FillUniformF32(float* p, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  FillKernel<float><<<Blocks(n), kThreads, 0, stream>>>(p, n, seed, scale);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

Status FillConstantF32(float* p, int64_t n, float value, cudaStream_t stream) {
  if (n == 0) return Status::Ok();
  ConstantKernel<<<Blocks(n), kThreads, 0, stream>>>(p, n, value);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
