// Device helpers shared by the decode attention kernels (decode_attention.cu, the CUDA-core
// kernel; decode_attention_mma.cu, the tensor-core one): cp.async, which rows are selective, which
// query heads a CTA serves, and how a CTA writes its merged result. Internal to engine/cuda.
#ifndef SIGMA_ENGINE_CUDA_ATTENTION_COMMON_CUH_
#define SIGMA_ENGINE_CUDA_ATTENTION_COMMON_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda::attention {

constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ void CpAsync16(void* smem, const void* gmem) {
  const auto dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem));
}
__device__ __forceinline__ void CpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void CpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

__device__ __forceinline__ bool IsSelectiveRow(int top_k, int ctx) { return top_k > 0 && ctx > top_k; }

// V heads that query heads [h0, h0 + nh) read: consecutive, from h0 / gv (gv = n_q / n_v).
__host__ __device__ inline int VHeadCount(int h0, int nh, int gv) { return (h0 + nh - 1) / gv - h0 / gv + 1; }

// The most V heads any CTA reads when each K head's query heads are cut into blocks of `block`:
// what a CTA's shared-memory ring must hold beside K.
inline int MaxVHeadsPerBlock(int n_q, int n_k, int n_v, int block) {
  const int g = n_q / n_k;
  const int gv = n_q / n_v;
  int most = 1;
  for (int h0 = 0; h0 < n_q; h0 += g) {
    for (int b = h0; b < h0 + g; b += block) {
      most = std::max(most, VHeadCount(b, std::min(block, h0 + g - b), gv));
    }
  }
  return most;
}

// Which query heads this CTA serves: h0 .. h0 + nh - 1, all reading K head kh.
struct HeadBlock {
  int kh;
  int h0;
  int nh;
};

template <int kMaxG>
__device__ __forceinline__ HeadBlock BlockHeads(const AttentionParams& p) {
  const int g = p.n_q / p.n_k;
  const int blocks_per_k = (g + kMaxG - 1) / kMaxG;
  HeadBlock b;
  b.kh = blockIdx.y / blocks_per_k;
  b.h0 = b.kh * g + (blockIdx.y % blocks_per_k) * kMaxG;
  b.nh = min(kMaxG, b.kh * g + g - b.h0);
  return b;
}

// Writes the CTA's merged result for head h (local), element d.
__device__ __forceinline__ void WriteResult(const AttentionParams& p, int row, int head, int d,
                                            float m, float l, float a) {
  const int hd = p.head_dim;
  if (p.num_splits == 1) {
    const int64_t o = (static_cast<int64_t>(row) * p.n_q + head) * hd + d;
    const float v = a / l;
    if (p.out_type == ActType::kF32) {
      static_cast<float*>(p.out)[o] = v;
    } else {
      static_cast<bf16*>(p.out)[o] = __float2bfloat16_rn(v);
    }
    return;
  }
  const int64_t idx = (static_cast<int64_t>(row) * p.n_q + head) * p.num_splits + blockIdx.x;
  p.part_acc[idx * hd + d] = a;
  if (d == 0) {
    p.part_ml[idx * 2] = m;
    p.part_ml[idx * 2 + 1] = l;
  }
}

}  // namespace sigma::cuda::attention

#endif  // SIGMA_ENGINE_CUDA_ATTENTION_COMMON_CUH_
