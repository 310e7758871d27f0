#include "engine/cuda/decode_attention.cuh"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "engine/cuda/attention_common.cuh"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/decode_attention_mma.cuh"
#include "engine/cuda/selective_v.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

using attention::BlockHeads;
using attention::CpAsync16;
using attention::CpAsyncCommit;
using attention::CpAsyncWait;
using attention::HeadBlock;
using attention::IsSelectiveRow;
using attention::kLog2e;
using attention::WriteResult;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int64_t kMinSplitPositions = 256;
// Cost of one split in positions' worth of work (pipeline fill, merge, partial write, combine).
constexpr int64_t kSplitOverheadPositions = 128;
// Depth of each thread's cp.async pipeline: its loads for kStages - 1 iterations are in flight
// while it computes one, without registers to hold them.
constexpr int kStages = 4;
constexpr int kStaticSmemLimit = 48 * 1024;
constexpr int kCombineThreads = 256;  // a multiple of every head_dim (16, 64, 128)

// Merges (mo, lo, ao) into (m, l, a); either side may be empty (max -inf).
__device__ __forceinline__ void MergeState(float& m, float& l, float mo, float lo, float& c_self,
                                           float& c_other) {
  const float mn = fmaxf(m, mo);
  c_self = m == -INFINITY ? 0.0f : exp2f(m - mn);
  c_other = mo == -INFINITY ? 0.0f : exp2f(mo - mn);
  l = l * c_self + lo * c_other;
  m = mn;
}

// Merges the online-softmax states of the CTA (lane groups by shuffles, warps in shared memory)
// and writes the result for the block's heads.
template <int kHd, int kMaxG>
__device__ __forceinline__ void MergeAndWrite(const AttentionParams& p, const HeadBlock& hb, int row,
                                              float (&m)[kMaxG], float (&l)[kMaxG],
                                              float (&acc)[kMaxG][8]) {
  constexpr int kLanes = kHd / 8;
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int sub = lane / kLanes;
  const int part = lane % kLanes;

  // Merge the lane groups of the warp (same dims, different rows).
#pragma unroll
  for (int o = kLanes; o < 32; o <<= 1) {
#pragma unroll
    for (int h = 0; h < kMaxG; ++h) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[h], o);
      const float lo = __shfl_xor_sync(0xffffffffu, l[h], o);
      float c_self, c_other;
      MergeState(m[h], l[h], mo, lo, c_self, c_other);
#pragma unroll
      for (int d = 0; d < 8; ++d) {
        const float ao = __shfl_xor_sync(0xffffffffu, acc[h][d], o);
        acc[h][d] = acc[h][d] * c_self + ao * c_other;
      }
    }
  }
  // Merge the warps in shared memory.
  __shared__ float sm_m[kWarps][kMaxG];
  __shared__ float sm_l[kWarps][kMaxG];
  __shared__ float sm_acc[kWarps][kMaxG][kHd];
  if (sub == 0) {
#pragma unroll
    for (int h = 0; h < kMaxG; ++h) {
#pragma unroll
      for (int d = 0; d < 8; ++d) sm_acc[warp][h][part * 8 + d] = acc[h][d];
      if (part == 0) {
        sm_m[warp][h] = m[h];
        sm_l[warp][h] = l[h];
      }
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < hb.nh * kHd; i += kThreads) {
    const int h = i / kHd;
    const int d = i % kHd;
    float mm = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mm = fmaxf(mm, sm_m[w][h]);
    float ll = 0.0f;
    float aa = 0.0f;
    if (mm != -INFINITY) {
      for (int w = 0; w < kWarps; ++w) {
        const float c = sm_m[w][h] == -INFINITY ? 0.0f : exp2f(sm_m[w][h] - mm);
        ll += sm_l[w][h] * c;
        aa += sm_acc[w][h][d] * c;
      }
    }
    WriteResult(p, row, hb.h0 + h, d, mm, ll, aa);
  }
}

// grid (num_splits, n_k * head blocks, rows), kThreads threads, dynamic shared memory
// kStages * ring_slots * kThreads uint4 (RingBytes). See decode_attention.cuh.
//
// Each thread streams its own 16-byte pieces (K, and each distinct V head of the block) through
// a private ring of kStages slots in shared memory with cp.async, kStages - 1 iterations ahead of
// its compute: it reads only what it copied itself, so no barrier is needed, and the loads in
// flight per SM do not depend on registers.
template <int kHd, int kMaxG, bool kScores>
__global__ void __launch_bounds__(kThreads) SplitKernel(const AttentionParams p, int ring_slots) {
  constexpr int kLanes = kHd / 8;
  constexpr int kRowsPerWarp = 32 / kLanes;
  constexpr int kRowsPerIter = kRowsPerWarp * kWarps;
  extern __shared__ uint4 ring[];
  const int row = blockIdx.z;
  const int ctx = p.row_ctx[row];
  if (IsSelectiveRow(p.top_k, ctx) != kScores) return;
  const HeadBlock hb = BlockHeads<kMaxG>(p);
  const int gv = p.n_q / p.n_v;
  const int chunk = (ctx + p.num_splits - 1) / p.num_splits;
  const int begin = min(ctx, static_cast<int>(blockIdx.x) * chunk);
  const int end = min(ctx, begin + chunk);
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int sub = lane / kLanes;
  const int part = lane % kLanes;
  const int64_t seq = p.row_seq[row];

  float q[kMaxG][8];
  const float* qrow = p.q + row * p.q_stride + part * 8;
  const float qscale = p.scale * kLog2e;
#pragma unroll
  for (int h = 0; h < kMaxG; ++h) {
#pragma unroll
    for (int d = 0; d < 8; ++d) q[h][d] = h < hb.nh ? qrow[(hb.h0 + h) * kHd + d] * qscale : 0.0f;
  }
  const bf16* kp = p.k_cache + ((seq * p.n_k + hb.kh) * p.capacity) * kHd + part * 8;
  // Per local head: its V head's rows and ring slot; `fetch` marks the first head of each V head
  // (consecutive query heads share V heads), whose rows are copied once for all of them.
  const bf16* vp[kMaxG];
  int vslot[kMaxG];
  unsigned fetch_mask = 0;
#pragma unroll
  for (int h = 0; h < kMaxG; ++h) {
    const int vh = min(hb.h0 + h, p.n_q - 1) / gv;
    vp[h] = p.v_cache + ((seq * p.n_v + vh) * p.capacity) * kHd + part * 8;
    const bool new_v = h == 0 || vh != (hb.h0 + h - 1) / gv;
    vslot[h] = h == 0 ? 1 : vslot[h - 1] + (new_v ? 1 : 0);
    if (new_v && h < hb.nh) fetch_mask |= 1u << h;
  }
  float m[kMaxG], l[kMaxG], acc[kMaxG][8];
#pragma unroll
  for (int h = 0; h < kMaxG; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
#pragma unroll
    for (int d = 0; d < 8; ++d) acc[h][d] = 0.0f;
  }

  // Iteration `it` of this warp covers rows first + it * kRowsPerIter + [0, kRowsPerWarp).
  const int first = begin + warp * kRowsPerWarp;
  const int iters = first < end ? (end - first + kRowsPerIter - 1) / kRowsPerIter : 0;
  uint4* const my_ring = ring + threadIdx.x;
  auto stage = [&](int it) { return my_ring + (it % kStages) * ring_slots * kThreads; };
  auto issue = [&](int it) {  // copies of iteration `it`, one commit group even when empty
    if (it < iters) {
      const int j = first + it * kRowsPerIter + sub;
      const int64_t off = static_cast<int64_t>(j < end ? j : begin) * kHd;
      uint4* st = stage(it);
      CpAsync16(st, kp + off);
      if constexpr (!kScores) {
#pragma unroll
        for (int h = 0; h < kMaxG; ++h) {
          if ((fetch_mask >> h) & 1u) CpAsync16(st + vslot[h] * kThreads, vp[h] + off);
        }
      }
    }
    CpAsyncCommit();
  };
#pragma unroll
  for (int it = 0; it < kStages - 1; ++it) issue(it);

  for (int it = 0; it < iters; ++it) {
    issue(it + kStages - 1);
    CpAsyncWait<kStages - 1>();
    const uint4* st = stage(it);
    const int j = first + it * kRowsPerIter + sub;
    const bool valid = j < end;
    float kf[8];
    UnpackBf16x8(st[0], kf);
    float s[kMaxG];
#pragma unroll
    for (int h = 0; h < kMaxG; ++h) {
      s[h] = 0.0f;
#pragma unroll
      for (int d = 0; d < 8; ++d) s[h] = fmaf(q[h][d], kf[d], s[h]);
    }
#pragma unroll
    for (int o = kLanes / 2; o > 0; o >>= 1) {
#pragma unroll
      for (int h = 0; h < kMaxG; ++h) s[h] += __shfl_xor_sync(0xffffffffu, s[h], o);
    }
    if (!valid) continue;  // no shuffles follow in this iteration
    if constexpr (kScores) {
#pragma unroll
      for (int h = 0; h < kMaxG; ++h) {
        if (h < hb.nh && part == h % kLanes) {
          p.scores[(static_cast<int64_t>(row) * p.n_q + hb.h0 + h) * p.scores_stride + j] = s[h];
        }
      }
    } else {
      float vf[8] = {};  // head 0 always fetches; a head sharing its V head reuses vf
#pragma unroll
      for (int h = 0; h < kMaxG; ++h) {
        if (h >= hb.nh) continue;
        if (s[h] > m[h]) {  // rare after the first rows: rescale only when the max grows
          const float c = exp2f(m[h] - s[h]);
          l[h] *= c;
#pragma unroll
          for (int d = 0; d < 8; ++d) acc[h][d] *= c;
          m[h] = s[h];
        }
        const float pr = exp2f(s[h] - m[h]);
        l[h] += pr;
        if ((fetch_mask >> h) & 1u) UnpackBf16x8(st[vslot[h] * kThreads], vf);
#pragma unroll
        for (int d = 0; d < 8; ++d) acc[h][d] = fmaf(pr, vf[d], acc[h][d]);
      }
    }
  }
  CpAsyncWait<0>();  // nothing may still write the ring when the CTA's shared memory is reused
  if constexpr (!kScores) MergeAndWrite<kHd, kMaxG>(p, hb, row, m, l, acc);
}

// grid (rows, n_q), kCombineThreads threads, dynamic shared memory (num_splits +
// kCombineThreads) floats. One CTA per (row, query head) merges the splits' states: each split's
// weight exp2(m_s - max) once, in shared memory, then (dimension, split lane) pairs sum strided
// shares of the splits, so the loads of many splits are in flight at once.
__global__ void __launch_bounds__(kCombineThreads) CombineKernel(const AttentionParams p) {
  extern __shared__ float combine_smem[];
  __shared__ float red[32];
  const int row = blockIdx.x;
  if (IsSelectiveRow(p.top_k, p.row_ctx[row])) return;
  const int splits = p.num_splits;
  const int hd = p.head_dim;
  const int64_t base = (static_cast<int64_t>(row) * p.n_q + blockIdx.y) * splits;
  const float* ml = p.part_ml + base * 2;
  float* weight = combine_smem;            // [splits]
  float* partial = combine_smem + splits;  // [kCombineThreads]
  float m_local = -INFINITY;
  for (int s = threadIdx.x; s < splits; s += kCombineThreads) m_local = fmaxf(m_local, ml[2 * s]);
  const float mm = BlockMax(m_local, red);  // finite: split 0 holds at least one position
  float l_local = 0.0f;
  for (int s = threadIdx.x; s < splits; s += kCombineThreads) {
    const float ms = ml[2 * s];
    const float w = ms == -INFINITY ? 0.0f : exp2f(ms - mm);
    weight[s] = w;
    l_local += w * ml[2 * s + 1];
  }
  const float ll = BlockSum(l_local, red);  // its barriers publish weight[]
  const int lanes = kCombineThreads / hd;
  const int d = threadIdx.x % hd;
  const float* acc = p.part_acc + base * hd + d;
  float a = 0.0f;
#pragma unroll 8
  for (int s = threadIdx.x / hd; s < splits; s += lanes) a += weight[s] * acc[static_cast<int64_t>(s) * hd];
  partial[threadIdx.x] = a;
  __syncthreads();
  if (threadIdx.x >= hd) return;
  float sum = 0.0f;
  for (int j = 0; j < lanes; ++j) sum += partial[j * hd + threadIdx.x];
  const int64_t o = (static_cast<int64_t>(row) * p.n_q + blockIdx.y) * hd + threadIdx.x;
  if (p.out_type == ActType::kF32) {
    static_cast<float*>(p.out)[o] = sum / ll;
  } else {
    static_cast<bf16*>(p.out)[o] = __float2bfloat16_rn(sum / ll);
  }
}

// Ring slots per thread: K, and the most distinct V heads any head block of the grid reads.
int RingSlots(int n_q, int n_k, int n_v, int max_group, bool scores) {
  return scores ? 1 : 1 + attention::MaxVHeadsPerBlock(n_q, n_k, n_v, max_group);
}

size_t RingBytes(int ring_slots) {
  return static_cast<size_t>(kStages) * ring_slots * kThreads * sizeof(uint4);
}

// Lets the dense split kernel take the ring of any head layout (kMaxG + 1 slots) beside its
// static shared memory: past 48 KB in all, a launch needs this opt-in. Once per instance.
template <int kHd, int kMaxG>
cudaError_t AllowLargestRing() {
  static const cudaError_t result = cudaFuncSetAttribute(
      SplitKernel<kHd, kMaxG, false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
      static_cast<int>(RingBytes(kMaxG + 1)));
  return result;
}

template <int kHd, int kMaxG, bool kScores>
Status LaunchSplitInstance(const AttentionParams& p, cudaStream_t stream) {
  if constexpr (!kScores) {
    const cudaError_t allowed = AllowLargestRing<kHd, kMaxG>();
    SIGMA_CUDA_RETURN_IF_ERROR(allowed);
  }
  const int slots = RingSlots(p.n_q, p.n_k, p.n_v, kMaxG, kScores);
  const int g = p.n_q / p.n_k;
  const dim3 grid(p.num_splits, p.n_k * ((g + kMaxG - 1) / kMaxG), p.rows);
  SplitKernel<kHd, kMaxG, kScores><<<grid, kThreads, RingBytes(slots), stream>>>(p, slots);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

// Resident CTAs per multiprocessor of the dense split kernel for these heads (1 if the runtime
// cannot say).
template <int kHd, int kMaxG>
int ResidentInstance(int n_q, int n_k, int n_v) {
  if (AllowLargestRing<kHd, kMaxG>() != cudaSuccess) {
    (void)cudaGetLastError();
    return 1;
  }
  int blocks = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, SplitKernel<kHd, kMaxG, false>, kThreads,
                                                    RingBytes(RingSlots(n_q, n_k, n_v, kMaxG, false))) !=
      cudaSuccess) {
    (void)cudaGetLastError();
    return 1;
  }
  return std::max(blocks, 1);
}

template <int kHd>
int ResidentHd(int n_q, int n_k, int n_v, int max_group) {
  switch (max_group) {
    case 2: return ResidentInstance<kHd, 2>(n_q, n_k, n_v);
    case 4: return ResidentInstance<kHd, 4>(n_q, n_k, n_v);
    default: return ResidentInstance<kHd, 8>(n_q, n_k, n_v);
  }
}

template <int kHd, bool kScores>
Status LaunchSplitHd(const AttentionParams& p, int max_group, cudaStream_t stream) {
  switch (max_group) {
    case 2: return LaunchSplitInstance<kHd, 2, kScores>(p, stream);
    case 4: return LaunchSplitInstance<kHd, 4, kScores>(p, stream);
    case 8: return LaunchSplitInstance<kHd, 8, kScores>(p, stream);
    default: return InvalidArgumentError("attention: max_group must be 2, 4 or 8, got ", max_group);
  }
}

template <bool kScores>
Status LaunchSplit(const AttentionParams& p, cudaStream_t stream) {
  const int max_group = ResolveMaxGroup(p.n_q, p.n_k, p.max_group);
  switch (p.head_dim) {
    case 16: return LaunchSplitHd<16, kScores>(p, max_group, stream);
    case 64: return LaunchSplitHd<64, kScores>(p, max_group, stream);
    case 128: return LaunchSplitHd<128, kScores>(p, max_group, stream);
    default: return UnimplementedError("CUDA attention: head_dim ", p.head_dim,
                                       " has no kernel (16, 64, 128)");
  }
}

Status CheckParams(const AttentionParams& p) {
  if (p.n_q <= 0 || p.n_k <= 0 || p.n_v <= 0 || p.n_q % p.n_k != 0 || p.n_q % p.n_v != 0) {
    return InvalidArgumentError("CUDA attention: heads ", p.n_q, "/", p.n_k, "/", p.n_v,
                                ": n_q must be a positive multiple of n_k and n_v");
  }
  if (p.num_splits < 1) return InvalidArgumentError("CUDA attention: num_splits < 1");
  if (p.num_splits > 1 && (p.part_acc == nullptr || p.part_ml == nullptr)) {
    return InvalidArgumentError("CUDA attention: num_splits > 1 needs the partial workspace");
  }
  if (p.top_k > 0 && (p.scores == nullptr || p.sel_idx == nullptr)) {
    return InvalidArgumentError("CUDA attention: top_k > 0 needs the selective workspace");
  }
  return Status::Ok();
}

}  // namespace

bool DecodeAttentionSupports(int head_dim) {
  return head_dim == 16 || head_dim == 64 || head_dim == 128;
}

int ResolveMaxGroup(int n_q, int n_k, int max_group) {
  if (max_group > 0) return max_group;
  const int g = n_q / std::max(n_k, 1);
  // Groups of 8 (Sigma) run as two CTAs of 4: 124 instead of 230 registers, so twice the
  // resident warps; the second read of K mostly hits L2. The device script compares both.
  return g <= 2 ? 2 : 4;
}

bool AttentionUsesMma(int n_q, int n_k, int n_v, int head_dim, int max_group) {
  return max_group == 0 && attention::MmaSupports(n_q, n_k, n_v, head_dim);
}

int AttentionHeadsPerCta(int n_q, int n_k, int n_v, int head_dim, int max_group) {
  return AttentionUsesMma(n_q, n_k, n_v, head_dim, max_group)
             ? attention::MmaBlockHeads(n_q, n_k, n_v, head_dim)
             : ResolveMaxGroup(n_q, n_k, max_group);
}

int AttentionResidentCtas(int n_q, int n_k, int n_v, int head_dim, int max_group, int sm_count) {
  const bool mma = AttentionUsesMma(n_q, n_k, n_v, head_dim, max_group);
  const int group = ResolveMaxGroup(n_q, n_k, max_group);
  static std::mutex mu;
  static std::map<std::tuple<int, int, int, int, int>, int> per_sm;  // occupancy, asked once
  const std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(n_q, n_k, n_v, head_dim, mma ? 0 : group);
  auto it = per_sm.find(key);
  if (it == per_sm.end()) {
    int blocks = 1;
    if (mma) {
      blocks = attention::MmaResidentPerSm(n_q, n_k, n_v, head_dim);
    } else {
      switch (head_dim) {
        case 16: blocks = ResidentHd<16>(n_q, n_k, n_v, group); break;
        case 64: blocks = ResidentHd<64>(n_q, n_k, n_v, group); break;
        case 128: blocks = ResidentHd<128>(n_q, n_k, n_v, group); break;
        default: break;
      }
    }
    it = per_sm.emplace(key, blocks).first;
  }
  return it->second * std::max(sm_count, 1);
}

int ChooseSplits(int64_t ctas_per_split, int64_t max_ctx, int resident_ctas, int max_splits) {
  const int64_t ctas = std::max<int64_t>(ctas_per_split, 1);
  const int64_t slots = std::max(resident_ctas, 1);
  int64_t bucket = 1;
  while (bucket < max_ctx) bucket <<= 1;
  const int64_t most = std::clamp<int64_t>(bucket / kMinSplitPositions, 1, std::max(max_splits, 1));
  // Time ~ waves x (positions per CTA + overhead): fill the resident slots without a ragged
  // last wave (16 sequences of Sigma on the CUDA-core kernel: 4 splits = 0.97 of a wave on an
  // H200, not 5 = 1.2 waves).
  int64_t best = 1;
  int64_t best_cost = INT64_MAX;
  for (int64_t s = 1; s <= most; ++s) {
    const int64_t waves = (ctas * s + slots - 1) / slots;
    const int64_t cost = waves * ((bucket + s - 1) / s + kSplitOverheadPositions);
    if (cost < best_cost) {
      best_cost = cost;
      best = s;
    }
  }
  return static_cast<int>(best);
}

int AttentionSplits(int rows, int n_q, int n_k, int n_v, int head_dim, int max_group, int64_t max_ctx,
                    int sm_count, int max_splits) {
  const int heads = AttentionHeadsPerCta(n_q, n_k, n_v, head_dim, max_group);
  const int64_t g = n_q / std::max(n_k, 1);
  const int64_t ctas = static_cast<int64_t>(rows) * n_k * ((g + heads - 1) / heads);
  return ChooseSplits(ctas, max_ctx,
                      AttentionResidentCtas(n_q, n_k, n_v, head_dim, max_group, sm_count), max_splits);
}

int64_t AttentionPartialFloats(int rows, int n_q, int num_splits, int head_dim) {
  return static_cast<int64_t>(rows) * n_q * num_splits * (head_dim + 2);
}

Status LaunchDecodeAttention(const AttentionParams& p, cudaStream_t stream) {
  if (p.rows == 0) return Status::Ok();
  SIGMA_RETURN_IF_ERROR(CheckParams(p));
  if (AttentionUsesMma(p.n_q, p.n_k, p.n_v, p.head_dim, p.max_group)) {
    SIGMA_RETURN_IF_ERROR(attention::LaunchMmaSplit(p, stream));
  } else {
    SIGMA_RETURN_IF_ERROR(LaunchSplit<false>(p, stream));
  }
  if (p.num_splits > 1) {
    const dim3 grid(p.rows, p.n_q);
    const size_t smem = sizeof(float) * (static_cast<size_t>(p.num_splits) + kCombineThreads);
    if (smem > kStaticSmemLimit - 32 * sizeof(float)) {
      return InvalidArgumentError("CUDA attention: ", p.num_splits, " splits is more than the combine step holds");
    }
    CombineKernel<<<grid, kCombineThreads, smem, stream>>>(p);
    SIGMA_CUDA_LAUNCH_CHECK();
  }
  if (p.top_k > 0) {
    SIGMA_RETURN_IF_ERROR(LaunchAttentionScores(p, stream));
    SIGMA_RETURN_IF_ERROR(LaunchSelectiveV(p, stream));
  }
  return Status::Ok();
}

Status LaunchAttentionScores(const AttentionParams& p, cudaStream_t stream) {
  SIGMA_RETURN_IF_ERROR(CheckParams(p));
  return LaunchSplit<true>(p, stream);
}

}  // namespace sigma::cuda
