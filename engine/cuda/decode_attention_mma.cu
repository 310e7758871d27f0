#include "engine/cuda/decode_attention_mma.cuh"

#include <algorithm>

#include "engine/cuda/attention_common.cuh"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda::attention {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kWarpRows = 16;  // positions per warp per tile: one mma k-step of P V
// Positions per CTA tile when the warps split the block's V heads into kVGroups groups (each
// group of warps covers the tile's positions, 16 each): 64 with one group, 32 with two.
template <int kVGroups>
constexpr int TileRows() {
  return kWarpRows * kWarps / kVGroups;
}
constexpr int kStages = 3;
constexpr int kMaxSmem = 200 * 1024;
// Ring size that keeps three CTAs (12 warps) on a multiprocessor (ShapeFor). Sigma's 8 heads per
// K head read 4 V heads: with 64-row tiles 120 KB, one CTA per multiprocessor, 43-57% of the read
// bandwidth on an H200; blocks of 4 (K read by two CTAs) 54-80%; 8 heads in two V groups of
// warps (32-row tiles) fit 60 KB.
constexpr size_t kTargetRing = 72 * 1024;

size_t RingBytes(int slots, int head_dim, int v_groups) {
  const int rows = v_groups == 2 ? TileRows<2>() : TileRows<1>();
  return static_cast<size_t>(kStages) * slots * rows * head_dim * 2;
}

__device__ __forceinline__ unsigned SmemAddr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void LdMatrixX4(unsigned (&r)[4], unsigned addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void LdMatrixX4Trans(unsigned (&r)[4], unsigned addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// d += a b on the tensor cores: m16n8k16, bf16 operands, f32 accumulators.
__device__ __forceinline__ void Mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// (x0, x1) = hi + lo, each a bf16 pair (x0 in the low half), lo the rounding error of hi.
__device__ __forceinline__ void SplitBf16x2(float x0, float x1, unsigned& hi, unsigned& lo) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(x0, x1);
  const __nv_bfloat162 l = __floats2bfloat162_rn(x0 - __low2float(h), x1 - __high2float(h));
  hi = *reinterpret_cast<const unsigned*>(&h);
  lo = *reinterpret_cast<const unsigned*>(&l);
}

// Byte offset of 16-byte chunk c of row r in a tile of kHd-element rows, chunks XOR-swizzled by
// the row's low bits: the 8 rows an ldmatrix reads at one chunk fall in 8 different bank groups.
template <int kHd>
__device__ __forceinline__ unsigned ChunkOffset(int r, int c) {
  return static_cast<unsigned>(r * (kHd * 2) + ((c ^ (r & 7)) << 4));
}

// grid (num_splits, n_k * ceil(g / block), rows), kThreads threads, RingBytes(slots, kHd,
// kVGroups) of dynamic shared memory; `block` query heads per CTA (at most kMmaHeads). kUpper:
// block > 8 (A rows 8-15 used). With kVGroups = 2 the warps pair up on 16 positions of a 32-row
// tile: both compute S and the softmax state of every head, each accumulates O over one half of
// the block's V heads (so a block of 8 Sigma heads reads K once with the ring of a 4-head block).
template <int kHd, bool kUpper, int kVGroups>
__global__ void __launch_bounds__(kThreads) MmaSplitKernel(const AttentionParams p, int block, int slots) {
  constexpr int kTile = TileRows<kVGroups>();
  constexpr int kChunks = kHd / 8;   // 16-byte chunks per cache row
  constexpr int kKSteps = kHd / 16;  // k-steps of S = Q K^T over head_dim
  constexpr int kNTiles = kHd / 8;   // n-tiles of O = P V over head_dim
  constexpr int kTileChunks = kTile * kChunks;
  extern __shared__ __align__(128) unsigned char smem[];
  const int row = blockIdx.z;
  const int ctx = p.row_ctx[row];
  if (IsSelectiveRow(p.top_k, ctx)) return;
  HeadBlock hb;
  {
    const int g = p.n_q / p.n_k;
    const int blocks_per_k = (g + block - 1) / block;
    hb.kh = blockIdx.y / blocks_per_k;
    hb.h0 = hb.kh * g + (blockIdx.y % blocks_per_k) * block;
    hb.nh = min(block, hb.kh * g + g - hb.h0);
  }
  const int gv = p.n_q / p.n_v;
  const int v0 = hb.h0 / gv;
  const int nv = VHeadCount(hb.h0, hb.nh, gv);
  const int chunk = (ctx + p.num_splits - 1) / p.num_splits;
  const int begin = min(ctx, static_cast<int>(blockIdx.x) * chunk);
  const int end = min(ctx, begin + chunk);
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int gid = lane >> 2;  // A/C fragment row (query head), B fragment column
  const int tig = lane & 3;
  const int64_t seq = p.row_seq[row];

  // Q as A fragments (rows: the block's heads, zero past nh), in the log2 domain, hi + lo.
  unsigned qa_hi[kKSteps][4];
  unsigned qa_lo[kKSteps][4];
  {
    const float qscale = p.scale * kLog2e;
    const float* q = p.q + row * p.q_stride + static_cast<int64_t>(hb.h0) * kHd;
    const auto qv = [&](int r, int c) { return r < hb.nh ? q[r * kHd + c] * qscale : 0.0f; };
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks) {
      const int c = ks * 16 + 2 * tig;
      SplitBf16x2(qv(gid, c), qv(gid, c + 1), qa_hi[ks][0], qa_lo[ks][0]);
      SplitBf16x2(qv(gid + 8, c), qv(gid + 8, c + 1), qa_hi[ks][1], qa_lo[ks][1]);
      SplitBf16x2(qv(gid, c + 8), qv(gid, c + 9), qa_hi[ks][2], qa_lo[ks][2]);
      SplitBf16x2(qv(gid + 8, c + 8), qv(gid + 8, c + 9), qa_hi[ks][3], qa_lo[ks][3]);
    }
  }
  // The local V head of this thread's two A rows (-1: no query head there).
  const int v_lo = gid < hb.nh ? (hb.h0 + gid) / gv - v0 : -1;
  const int v_hi = gid + 8 < hb.nh ? (hb.h0 + gid + 8) / gv - v0 : -1;

  // Ring: stage s, slot 0 = K tile, slot 1 + v = tile of V head v0 + v.
  constexpr size_t tile_bytes = static_cast<size_t>(kTile) * kHd * 2;
  const auto slot_at = [&](int stage, int slot) {
    return smem + (static_cast<size_t>(stage) * slots + slot) * tile_bytes;
  };
  const bf16* kbase = p.k_cache + (seq * p.n_k + hb.kh) * p.capacity * kHd;
  const bf16* vbase = p.v_cache + (seq * p.n_v + v0) * p.capacity * kHd;
  const int64_t vstride = p.capacity * kHd;
  const int tiles = (end - begin + kTile - 1) / kTile;
  const auto issue = [&](int t) {  // tile t's copies, one commit group even when none
    if (t < tiles) {
      const int t0 = begin + t * kTile;
      unsigned char* stage_base = slot_at(t % kStages, 0);
      for (int i = threadIdx.x; i < (1 + nv) * kTileChunks; i += kThreads) {
        const int slot = i / kTileChunks;
        const int r = (i % kTileChunks) / kChunks;
        const int c = i % kChunks;
        const int pos = min(t0 + r, end - 1);  // past the end: a valid row, masked below
        const bf16* src = (slot == 0 ? kbase : vbase + (slot - 1) * vstride) +
                          static_cast<int64_t>(pos) * kHd + c * 8;
        CpAsync16(stage_base + slot * tile_bytes + ChunkOffset<kHd>(r, c), src);
      }
    }
    CpAsyncCommit();
  };

  float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;
  float acc[kNTiles][4];
#pragma unroll
  for (int n = 0; n < kNTiles; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;

  constexpr int kPosGroups = kWarps / kVGroups;
  const int pw = (warp % kPosGroups) * kWarpRows;  // the warp's first position within a tile
  const int v_per_group = (nv + kVGroups - 1) / kVGroups;
  const int v_first = (warp / kPosGroups) * v_per_group;  // the warp's V heads: v_first + [0, n)
  const int v_last = min(nv, v_first + v_per_group);
#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) issue(t);
  for (int t = 0; t < tiles; ++t) {
    CpAsyncWait<kStages - 2>();  // this thread's copies of tile t landed
    __syncthreads();             // everyone's; and every warp is done with tile t - 1
    issue(t + kStages - 1);      // into tile t - 1's stage
    const unsigned kt = SmemAddr(slot_at(t % kStages, 0));

    // S = Q K^T for the warp's 16 positions: n-tiles j = positions pw + 8j .. + 7.
    float s[2][4];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < kKSteps / 2; ++kk) {  // one ldmatrix.x4: chunks 4kk..4kk+3
        unsigned b[4];
        LdMatrixX4(b, kt + ChunkOffset<kHd>(pw + 8 * j + (lane & 7), 4 * kk + (lane >> 3)));
        Mma(s[j], qa_hi[2 * kk], b[0], b[1]);
        Mma(s[j], qa_lo[2 * kk], b[0], b[1]);
        Mma(s[j], qa_hi[2 * kk + 1], b[2], b[3]);
        Mma(s[j], qa_lo[2 * kk + 1], b[2], b[3]);
      }
    }
    // Positions past the split's end score -inf.
    const int first = begin + t * kTile + pw + 2 * tig;
#pragma unroll
    for (int j = 0; j < 2; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        if (first + 8 * j + e >= end) s[j][e] = s[j][2 + e] = -INFINITY;
      }
    }
    // Online softmax per A row (the 4 threads of a row hold 4 positions each, shuffled over tig).
    float pr[2][4];
    const auto update = [&](int e0, float& m, float& l, int half) {
      float mx = fmaxf(fmaxf(s[0][e0], s[0][e0 + 1]), fmaxf(s[1][e0], s[1][e0 + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float mn = fmaxf(m, mx);
      const float base = mn == -INFINITY ? 0.0f : mn;
      const float c = exp2f(m - base);
      m = mn;
      float sum = 0.0f;
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        pr[j][e0] = exp2f(s[j][e0] - base);
        pr[j][e0 + 1] = exp2f(s[j][e0 + 1] - base);
        sum += pr[j][e0] + pr[j][e0 + 1];
      }
      l = l * c + sum;  // this thread's positions; summed over tig at the end
#pragma unroll
      for (int n = 0; n < kNTiles; ++n) {
        acc[n][2 * half] *= c;
        acc[n][2 * half + 1] *= c;
      }
    };
    update(0, m_lo, l_lo, 0);
    if constexpr (kUpper) {
      update(2, m_hi, l_hi, 1);
    } else {
      pr[0][2] = pr[0][3] = pr[1][2] = pr[1][3] = 0.0f;
    }
    // P as an A fragment (its C layout is the A layout of the 16 positions), hi + lo.
    unsigned pa_hi[4], pa_lo[4];
    SplitBf16x2(pr[0][0], pr[0][1], pa_hi[0], pa_lo[0]);
    SplitBf16x2(pr[0][2], pr[0][3], pa_hi[1], pa_lo[1]);
    SplitBf16x2(pr[1][0], pr[1][1], pa_hi[2], pa_lo[2]);
    SplitBf16x2(pr[1][2], pr[1][3], pa_hi[3], pa_lo[3]);

    // O += P_v V_v over the block's V heads, P_v keeping the rows (query heads) of V head v.
    for (int v = v_first; v < v_last; ++v) {
      const unsigned keep_lo = v_lo == v ? 0xffffffffu : 0u;
      const unsigned keep_hi = v_hi == v ? 0xffffffffu : 0u;
      const unsigned ah[4] = {pa_hi[0] & keep_lo, pa_hi[1] & keep_hi, pa_hi[2] & keep_lo, pa_hi[3] & keep_hi};
      const unsigned al[4] = {pa_lo[0] & keep_lo, pa_lo[1] & keep_hi, pa_lo[2] & keep_lo, pa_lo[3] & keep_hi};
      const unsigned vt = SmemAddr(slot_at(t % kStages, 1 + v));
      const int i = lane >> 3;  // ldmatrix matrix: positions +8 (i & 1), next chunk (i >> 1)
      const int r = pw + (lane & 7) + 8 * (i & 1);
#pragma unroll
      for (int n = 0; n < kNTiles; n += 2) {
        unsigned b[4];
        LdMatrixX4Trans(b, vt + ChunkOffset<kHd>(r, n + (i >> 1)));
        Mma(acc[n], ah, b[0], b[1]);
        Mma(acc[n], al, b[0], b[1]);
        Mma(acc[n + 1], ah, b[2], b[3]);
        Mma(acc[n + 1], al, b[2], b[3]);
      }
    }
  }
  CpAsyncWait<0>();
  __syncthreads();  // the ring is reused below

  // Merge the warps: per (head, dim) state in shared memory, then WriteResult.
  l_lo += __shfl_xor_sync(0xffffffffu, l_lo, 1);
  l_lo += __shfl_xor_sync(0xffffffffu, l_lo, 2);
  l_hi += __shfl_xor_sync(0xffffffffu, l_hi, 1);
  l_hi += __shfl_xor_sync(0xffffffffu, l_hi, 2);
  float* sm_acc = reinterpret_cast<float*>(smem);    // [kWarps][kMmaHeads][kHd]
  float* sm_m = sm_acc + kWarps * kMmaHeads * kHd;   // [kWarps][kMmaHeads]
  float* sm_l = sm_m + kWarps * kMmaHeads;           // [kWarps][kMmaHeads]
  const int r_lo = warp * kMmaHeads + gid;
  const int r_hi = r_lo + 8;
#pragma unroll
  for (int n = 0; n < kNTiles; ++n) {
    const int d = 8 * n + 2 * tig;
    sm_acc[r_lo * kHd + d] = acc[n][0];
    sm_acc[r_lo * kHd + d + 1] = acc[n][1];
    if constexpr (kUpper) {
      sm_acc[r_hi * kHd + d] = acc[n][2];
      sm_acc[r_hi * kHd + d + 1] = acc[n][3];
    }
  }
  if (tig == 0) {
    sm_m[r_lo] = m_lo;
    sm_l[r_lo] = l_lo;
    if constexpr (kUpper) {
      sm_m[r_hi] = m_hi;
      sm_l[r_hi] = l_hi;
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < hb.nh * kHd; i += kThreads) {
    const int h = i / kHd;
    const int d = i % kHd;
    // One warp per position group holds head h: the one whose V heads include h's.
    const int w0 = (((hb.h0 + h) / gv - v0) / v_per_group) * kPosGroups;
    float mm = -INFINITY;
#pragma unroll
    for (int w = w0; w < w0 + kPosGroups; ++w) mm = fmaxf(mm, sm_m[w * kMmaHeads + h]);
    float ll = 0.0f;
    float aa = 0.0f;
    if (mm != -INFINITY) {
#pragma unroll
      for (int w = w0; w < w0 + kPosGroups; ++w) {
        const float mw = sm_m[w * kMmaHeads + h];
        const float c = mw == -INFINITY ? 0.0f : exp2f(mw - mm);
        ll += sm_l[w * kMmaHeads + h] * c;
        aa += sm_acc[(w * kMmaHeads + h) * kHd + d] * c;
      }
    }
    WriteResult(p, row, hb.h0 + h, d, mm, ll, aa);
  }
}

// Lets an instance take up to kMaxSmem of dynamic shared memory (past 48 KB a launch needs the
// opt-in). Once per instance.
template <int kHd, bool kUpper, int kVGroups>
cudaError_t AllowRing() {
  static const cudaError_t result = cudaFuncSetAttribute(
      MmaSplitKernel<kHd, kUpper, kVGroups>, cudaFuncAttributeMaxDynamicSharedMemorySize, kMaxSmem);
  return result;
}

// The kernel's shape for one head layout.
struct Shape {
  int block = 0;     // query heads per CTA; 0: the kernel does not serve the layout
  int v_groups = 1;  // warp groups splitting the block's V heads
  int slots = 0;     // ring slots per stage: K + the most V heads a CTA reads
  int head_dim = 0;
  size_t ring_bytes() const { return RingBytes(slots, head_dim, v_groups); }
};

Shape ShapeFor(int n_q, int n_k, int n_v, int head_dim) {
  Shape shape;
  const bool valid = (head_dim == 64 || head_dim == 128) && n_q > 0 && n_k > 0 && n_v > 0 &&
                     n_q % n_k == 0 && n_q % n_v == 0;
  if (!valid) return shape;
  shape.head_dim = head_dim;
  const int g = n_q / n_k;
  int largest = 1;
  while (largest < g && largest < kMmaHeads) largest *= 2;  // the group, rounded up to 2^k, <= 16
  // The largest block whose ring fits three CTAs per multiprocessor, first with all warps on
  // every V head, then with two V groups (half the tile, so the same ring holds twice the V
  // heads: K read once); failing that, the largest whose ring fits at all (fewer CTAs, but K
  // still read once per block rather than once per head).
  for (const size_t limit : {kTargetRing, static_cast<size_t>(kMaxSmem)}) {
    for (int block = largest; block >= 1; block /= 2) {
      const int v_heads = MaxVHeadsPerBlock(n_q, n_k, n_v, block);
      for (int v_groups = 1; v_groups <= (v_heads > 1 ? 2 : 1); ++v_groups) {
        if (RingBytes(1 + v_heads, head_dim, v_groups) <= limit) {
          shape.block = block;
          shape.v_groups = v_groups;
          shape.slots = 1 + v_heads;
          return shape;
        }
      }
    }
  }
  return shape;  // block 0: no ring fits
}

// Calls f.template operator()<kHd, kUpper, kVGroups>() for the instance serving `shape`.
template <typename F>
auto Dispatch(const Shape& shape, F&& f) {
  const bool upper = shape.block > 8;
  const bool two = shape.v_groups == 2;
  if (shape.head_dim == 64) {
    if (upper) return two ? f.template operator()<64, true, 2>() : f.template operator()<64, true, 1>();
    return two ? f.template operator()<64, false, 2>() : f.template operator()<64, false, 1>();
  }
  if (upper) return two ? f.template operator()<128, true, 2>() : f.template operator()<128, true, 1>();
  return two ? f.template operator()<128, false, 2>() : f.template operator()<128, false, 1>();
}

}  // namespace

int MmaBlockHeads(int n_q, int n_k, int n_v, int head_dim) { return ShapeFor(n_q, n_k, n_v, head_dim).block; }

bool MmaSupports(int n_q, int n_k, int n_v, int head_dim) { return MmaBlockHeads(n_q, n_k, n_v, head_dim) > 0; }

int MmaResidentPerSm(int n_q, int n_k, int n_v, int head_dim) {
  const Shape shape = ShapeFor(n_q, n_k, n_v, head_dim);
  if (shape.block == 0) return 1;
  return Dispatch(shape, [&]<int kHd, bool kUpper, int kVGroups>() {
    int blocks = 0;
    if (AllowRing<kHd, kUpper, kVGroups>() != cudaSuccess ||
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, MmaSplitKernel<kHd, kUpper, kVGroups>, kThreads,
                                                      shape.ring_bytes()) != cudaSuccess) {
      (void)cudaGetLastError();
      return 1;
    }
    return std::max(blocks, 1);
  });
}

Status LaunchMmaSplit(const AttentionParams& p, cudaStream_t stream) {
  const Shape shape = ShapeFor(p.n_q, p.n_k, p.n_v, p.head_dim);
  if (shape.block == 0) {
    return InvalidArgumentError("CUDA attention: the tensor-core kernel does not serve heads ", p.n_q, "/",
                                p.n_k, "/", p.n_v, " x ", p.head_dim);
  }
  return Dispatch(shape, [&]<int kHd, bool kUpper, int kVGroups>() -> Status {
    const cudaError_t allowed = AllowRing<kHd, kUpper, kVGroups>();
    SIGMA_CUDA_RETURN_IF_ERROR(allowed);
    const int g = p.n_q / p.n_k;
    const dim3 grid(p.num_splits, p.n_k * ((g + shape.block - 1) / shape.block), p.rows);
    MmaSplitKernel<kHd, kUpper, kVGroups>
        <<<grid, kThreads, shape.ring_bytes(), stream>>>(p, shape.block, shape.slots);
    SIGMA_CUDA_LAUNCH_CHECK();
    return Status::Ok();
  });
}

}  // namespace sigma::cuda::attention
