#include "engine/cuda/stream_read.cuh"

#include "engine/cuda/cuda_check.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kUnroll = 4;

__global__ void __launch_bounds__(kThreads) StreamReadKernel(const uint4* src, int64_t n,
                                                             uint32_t* sink) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  uint32_t x = 0;
  int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  for (; i + (kUnroll - 1) * stride < n; i += kUnroll * stride) {
    uint4 v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = __ldcs(src + i + u * stride);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) x ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
  }
  for (; i < n; i += stride) {
    const uint4 v = __ldcs(src + i);
    x ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  // Fold the warp, then one store per CTA, so the compiler cannot drop the loads.
  for (int off = 16; off > 0; off >>= 1) x ^= __shfl_xor_sync(0xffffffffu, x, off);
  if (threadIdx.x == 0) sink[blockIdx.x] = x;
}

}  // namespace

Status LaunchStreamRead(const void* src, int64_t n16, uint32_t* sink, int blocks,
                        cudaStream_t stream) {
  StreamReadKernel<<<blocks, kThreads, 0, stream>>>(static_cast<const uint4*>(src), n16, sink);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
