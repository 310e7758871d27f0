#include "engine/cuda/argmax.cuh"

#include <cfloat>

#include "engine/cuda/cuda_check.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 1024;

// (value, index) ordering: larger value first, then lower index.
__device__ __forceinline__ bool Better(float v, int i, float best_v, int best_i) {
  return v > best_v || (v == best_v && i < best_i);
}

__global__ void __launch_bounds__(kThreads) ArgMaxKernel(const ArgMaxParams p) {
  __shared__ float best_v_s[32];
  __shared__ int best_i_s[32];
  const float* row = p.logits + static_cast<int64_t>(blockIdx.x) * p.vocab;
  float best_v = -INFINITY;
  int best_i = p.vocab;  // none yet
  for (int i = threadIdx.x; i < p.vocab; i += kThreads) {
    const float v = row[i];
    if (Better(v, i, best_v, best_i)) {  // false for NaN
      best_v = v;
      best_i = i;
    }
  }
  for (int off = 16; off > 0; off >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best_v, off);
    const int oi = __shfl_xor_sync(0xffffffffu, best_i, off);
    if (Better(ov, oi, best_v, best_i)) {
      best_v = ov;
      best_i = oi;
    }
  }
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  if (lane == 0) {
    best_v_s[warp] = best_v;
    best_i_s[warp] = best_i;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) {
      if (Better(best_v_s[w], best_i_s[w], best_v, best_i)) {
        best_v = best_v_s[w];
        best_i = best_i_s[w];
      }
    }
    p.ids[blockIdx.x] = best_i < p.vocab ? best_i : 0;  // all NaN: token 0, as the CPU sampler
  }
}

}  // namespace

Status LaunchArgMax(const ArgMaxParams& p, cudaStream_t stream) {
  if (p.rows == 0) return Status::Ok();
  ArgMaxKernel<<<p.rows, kThreads, 0, stream>>>(p);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
