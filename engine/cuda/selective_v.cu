#include "engine/cuda/selective_v.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"
#include "engine/score_order.h"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// Exclusive count of set flags before this thread (thread order) and the block's total.
// `counts` is kWarps ints of shared memory.
__device__ __forceinline__ int BlockExclusiveCount(bool flag, int* counts, int* total) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const unsigned ballot = __ballot_sync(0xffffffffu, flag);
  const int in_warp = __popc(ballot & ((1u << lane) - 1u));
  __syncthreads();  // counts may still be read by the previous call
  if (lane == 0) counts[warp] = __popc(ballot);
  __syncthreads();
  int before = 0;
  int sum = 0;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    if (w < warp) before += counts[w];
    sum += counts[w];
  }
  *total = sum;
  return before + in_warp;
}

struct Threshold {
  uint32_t key;  // key of the top_k-th largest score
  int ties;      // scores with exactly that key
  int need;      // how many of those ties are kept (the latest positions)
};

// Radix select (4 passes of 8 bits) of the top_k-th largest key of s[0 .. n).
__device__ Threshold SelectThreshold(const float* s, int n, int top_k) {
  __shared__ unsigned hist[256];
  __shared__ Threshold result;
  uint32_t prefix = 0;
  uint32_t mask = 0;
  int need = top_k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = threadIdx.x; b < 256; b += kThreads) hist[b] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += kThreads) {
      const uint32_t key = ScoreOrderKey(s[i]);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 0xffu], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int above = 0;
      for (int b = 255; b >= 0; --b) {
        const int c = static_cast<int>(hist[b]);
        if (above + c >= need) {
          result.key = prefix | (static_cast<uint32_t>(b) << shift);
          result.need = need - above;
          result.ties = c;
          break;
        }
        above += c;
      }
    }
    __syncthreads();
    prefix = result.key;
    need = result.need;
    mask |= 0xffu << shift;
  }
  return result;
}

// Writes the chosen positions in ascending order to sel[0 .. top_k).
__device__ void CompactSelected(const float* s, int n, const Threshold& t, int32_t* sel) {
  __shared__ int counts[kWarps];
  int written = 0;
  int ties_seen = 0;
  for (int base = 0; base < n; base += kThreads) {
    const int i = base + threadIdx.x;
    const uint32_t key = i < n ? ScoreOrderKey(s[i]) : 0u;
    const bool tie = i < n && key == t.key;
    int tie_total = 0;
    const int tie_rank = ties_seen + BlockExclusiveCount(tie, counts, &tie_total);
    const bool take = (i < n && key > t.key) || (tie && tie_rank >= t.ties - t.need);
    int take_total = 0;
    const int slot = written + BlockExclusiveCount(take, counts, &take_total);
    if (take) sel[slot] = i;
    written += take_total;
    ties_seen += tie_total;
  }
  __syncthreads();  // sel is read by other threads next
}

template <int kHd>
__global__ void __launch_bounds__(kThreads) SelectiveVKernel(const AttentionParams p) {
  constexpr int kLanes = kHd / 8;
  constexpr int kGroups = kThreads / kLanes;
  __shared__ float red[32];
  __shared__ float sm_acc[kGroups][kHd];
  const int row = blockIdx.x;
  const int h = blockIdx.y;
  const int ctx = p.row_ctx[row];
  if (!(p.top_k > 0 && ctx > p.top_k)) return;
  const float* s = p.scores + (static_cast<int64_t>(row) * p.n_q + h) * p.scores_stride;
  int32_t* sel = p.sel_idx + (static_cast<int64_t>(row) * p.n_q + h) * p.top_k;

  float local_max = -INFINITY;
  for (int i = threadIdx.x; i < ctx; i += kThreads) local_max = fmaxf(local_max, s[i]);
  const float smax = BlockMax(local_max, red);
  const Threshold t = SelectThreshold(s, ctx, p.top_k);
  CompactSelected(s, ctx, t, sel);

  const int grp = threadIdx.x / kLanes;
  const int part = threadIdx.x % kLanes;
  const int64_t seq = p.row_seq[row];
  const int vh = h / (p.n_q / p.n_v);
  const bf16* vbase = p.v_cache + ((seq * p.n_v + vh) * p.capacity) * kHd + part * 8;
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float wsum = 0.0f;
  for (int t_i = grp; t_i < p.top_k; t_i += kGroups) {
    const int j = sel[t_i];
    const float w = exp2f(s[j] - smax);
    wsum += w;
    float vf[8];
    UnpackBf16x8(LoadBf16x8Raw(vbase + static_cast<int64_t>(j) * kHd), vf);
#pragma unroll
    for (int d = 0; d < 8; ++d) acc[d] = fmaf(w, vf[d], acc[d]);
  }
  const float total = BlockSum(part == 0 ? wsum : 0.0f, red);
#pragma unroll
  for (int d = 0; d < 8; ++d) sm_acc[grp][part * 8 + d] = acc[d];
  __syncthreads();
  for (int d = threadIdx.x; d < kHd; d += kThreads) {
    float o = 0.0f;
    for (int g = 0; g < kGroups; ++g) o += sm_acc[g][d];
    const int64_t idx = (static_cast<int64_t>(row) * p.n_q + h) * kHd + d;
    if (p.out_type == ActType::kF32) {
      static_cast<float*>(p.out)[idx] = o / total;
    } else {
      static_cast<bf16*>(p.out)[idx] = __float2bfloat16_rn(o / total);
    }
  }
}

}  // namespace

Status LaunchSelectiveV(const AttentionParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.top_k <= 0) return Status::Ok();
  const dim3 grid(p.rows, p.n_q);
  switch (p.head_dim) {
    case 16: SelectiveVKernel<16><<<grid, kThreads, 0, stream>>>(p); break;
    case 64: SelectiveVKernel<64><<<grid, kThreads, 0, stream>>>(p); break;
    case 128: SelectiveVKernel<128><<<grid, kThreads, 0, stream>>>(p); break;
    default: return UnimplementedError("CUDA selective V: head_dim ", p.head_dim, " has no kernel");
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
