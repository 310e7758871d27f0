// AVX-512 attention inner loops (see attention_internal.h). Compiled with -mavx512{f,bw,vl,dq,bf16};
// only called where CpuSupportsAvx512Bf16(). Instances exist for head_dim 32, 64, 128 and 256.
//
// Scores read K tiles (attention.h): 16 positions of a dimension in one vector, so a tile's dots
// with up to 8 query heads accumulate in 8 vectors, one FMA per dimension and head, with no
// horizontal sums (Sigma's 8 heads, one thread, in cache: 34-35 cycles a position against 43-44
// for the row-layout kernel with shuffle-tree sums this replaced; 32 is the FMA bound; from DRAM
// the score pass 1.2-1.4x as fast). bf16 tiles hold dimension pairs, widened exactly by `<< 16`
// (even) and `& 0xffff0000` (odd); with q in bf16 (AttentionShape::bf16_query) a pair and a query
// head take one vdpbf16ps instead (DotScores).
// V: one pass over the rows for up to 4 query heads in registers; bf16 rows are split even/odd
// the same way and the accumulators interleaved back once per call.
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_internal.h"
#include "engine/cpu/attention_tile_scores.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cpu/simd_float.h"

namespace sigma::internal {
namespace {

inline __m512i HiMask512() { return _mm512_set1_epi32(static_cast<int>(0xffff0000u)); }

// The score pass's vectors (attention_tile_scores.h): a K tile's 16 positions in one zmm.
struct Zmm16 : ZmmFloat {
  static constexpr int kLanes = 16;
  static constexpr int kChains = 8;
  static constexpr int kMaxAcc = 24;
  static constexpr int kMaxHeads = 8;
  template <int kHd, DType kType>
  static void Columns(const uint8_t* tile, int c, int /*part*/, F& even, F& odd) {
    if constexpr (kType == DType::kF32) {
      const auto* p = reinterpret_cast<const float*>(tile) + 2 * c * kKTileRows;
      even = _mm512_loadu_ps(p);
      odd = _mm512_loadu_ps(p + kKTileRows);
    } else if constexpr (kType == DType::kF16) {
      const auto* p = reinterpret_cast<const uint16_t*>(tile) + 2 * c * kKTileRows;
      even = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
      odd = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kKTileRows)));
    } else {
      const __m512i pairs = _mm512_loadu_si512(tile + 4 * c * kKTileRows);
      even = _mm512_castsi512_ps(_mm512_slli_epi32(pairs, 16));
      odd = _mm512_castsi512_ps(_mm512_and_si512(pairs, HiMask512()));
    }
  }
  static void StoreFirst(float* dst, F v, int64_t count) {
    _mm512_mask_storeu_ps(dst, static_cast<__mmask16>((1u << count) - 1), v);
  }
};

// The score pass of a bf16 cache with q in bf16 (AttentionKernels::scores_bf16_query): a K
// tile's column pair c holds dimensions 2c and 2c + 1 of 16 positions in the two halves of each
// 32-bit lane, which is vdpbf16ps's operand layout, so each query head's pair (qp[h][c]) is
// broadcast and multiplied in one instruction, two products a lane, summed in f32. Cycles a
// position (one thread, 256 bf16 positions in cache, TSC at 2.6 GHz) for 1 / 2 / 3 / 4 / 8 query
// heads: 3.8 / 4.5 / 5.3 / 6.3 / 12.5 against 4.5 / 6.0 / 8.8 / 11.5 / 23.3 for the f32 FMA pass
// (TileScoresT). Accumulator sets over the column pairs keep 8 or more chains in flight (the
// sets indexed by a runtime `c % sets` were spilled: 1.6x slower). Measured and left: two tiles an
// iteration for 5-8 heads, each query broadcast feeding both (one set): 12.6 against 13.3 cycles
// a position for 8 heads in cache, but Sigma's 16K layers from DRAM (team harness, slow minutes,
// alternating runs) at 58-86% of the probe against 82-98%.
template <int kHd, int kG>
void DotScores(const uint32_t* qp, float scale, const void* k, int64_t n, float* scores,
               int64_t stride, NextReads next) {
  constexpr int64_t kTileBytes = kKTileRows * kHd * 2;
  constexpr int kSets = kG >= 5 ? 2 : 4;
  const auto* base = static_cast<const uint8_t*>(k);
  const int64_t tiles = (n + kKTileRows - 1) / kKTileRows;
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t ahead_bytes = Avx512Prefetch().rows * kHd * 2;
  SpreadPrefetch spread(next, tiles);
  for (int64_t t = 0; t < tiles; ++t) {
    const uint8_t* tile = base + t * kTileBytes;
    const char* ahead = reinterpret_cast<const char*>(tile) + ahead_bytes;
    spread.Step();
    __m512 acc[kSets][kG];
    for (int s = 0; s < kSets; ++s) {
      for (int h = 0; h < kG; ++h) acc[s][h] = _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (int c0 = 0; c0 < kHd / 2; c0 += kSets) {
#pragma GCC unroll 4
      for (int s = 0; s < kSets; ++s) {
        const int c = c0 + s;
        _mm_prefetch(ahead + 64 * c, _MM_HINT_T0);
        const __m512bh pairs = (__m512bh)_mm512_loadu_si512(tile + 64 * c);
#pragma GCC unroll 8
        for (int h = 0; h < kG; ++h) {
          const __m512bh qv = (__m512bh)_mm512_set1_epi32(static_cast<int>(qp[h * (kHd / 2) + c]));
          acc[s][h] = _mm512_dpbf16_ps(acc[s][h], pairs, qv);
        }
      }
    }
    const int64_t j0 = t * kKTileRows;
    const int64_t valid = std::min<int64_t>(16, n - j0);
    for (int h = 0; h < kG; ++h) {
      __m512 sum = acc[0][h];
      for (int s = 1; s < kSets; ++s) sum = _mm512_add_ps(sum, acc[s][h]);
      Zmm16::StoreFirst(scores + h * stride + j0, _mm512_mul_ps(sum, vscale), valid);
    }
  }
}

template <int kHd>
void DotScoresT(const float* q, int g, int /*hd*/, float scale, const void* k, int64_t n,
                float* scores, int64_t stride, NextReads next) {
  uint32_t qp[8 * (kHd / 2)];
  for (int h0 = 0; h0 < g; h0 += 8) {
    const int m = std::min(8, g - h0);
    QueryBf16PairsAvx512(q + static_cast<int64_t>(h0) * kHd, m * kHd, qp);
    float* out = scores + h0 * stride;
    const NextReads spread = h0 == 0 ? next : NextReads{};
    WithHeadCount(m, [&](auto heads) {
      DotScores<kHd, decltype(heads)::value>(qp, scale, k, n, out, stride, spread);
    });
  }
}

template <int kHd, DType kType>
void ScoresT(const float* q, int g, int /*hd*/, float scale, const void* k, int64_t n,
             float* scores, int64_t stride, NextReads next) {
  TileScoresT<Zmm16, kHd, kType>(q, g, scale, k, n, scores, stride, next, Avx512Prefetch().rows);
}

// Row j of a [rows][kHd] cache as kHd / 16 zmm (bf16: even/odd split per 32 elements).
template <int kHd, DType kType>
inline void LoadRowZmm(const void* base, int64_t row, __m512* out) {
  if constexpr (kType == DType::kF32) {
    const float* src = static_cast<const float*>(base) + row * kHd;
#pragma GCC unroll 16
    for (int c = 0; c < kHd / 16; ++c) out[c] = _mm512_loadu_ps(src + 16 * c);
  } else if constexpr (kType == DType::kF16) {
    const auto* src = static_cast<const uint16_t*>(base) + row * kHd;
#pragma GCC unroll 16
    for (int c = 0; c < kHd / 16; ++c) {
      out[c] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 16 * c)));
    }
  } else {
    const auto* src = static_cast<const uint16_t*>(base) + row * kHd;
#pragma GCC unroll 8
    for (int c = 0; c < kHd / 32; ++c) {
      const __m512i v = _mm512_loadu_si512(src + 32 * c);
      out[2 * c] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
      out[2 * c + 1] = _mm512_castsi512_ps(_mm512_and_si512(v, HiMask512()));
    }
  }
}

// out[kHd] += acc (undoing the bf16 even/odd split).
template <int kHd, DType kType>
inline void AddAccumulator(const __m512* acc, float* out) {
  if constexpr (kType == DType::kBF16) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
    for (int c = 0; c < kHd / 32; ++c) {
      float* o = out + 32 * c;
      const __m512 a = _mm512_permutex2var_ps(acc[2 * c], lo, acc[2 * c + 1]);
      const __m512 b = _mm512_permutex2var_ps(acc[2 * c], hi, acc[2 * c + 1]);
      _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), a));
      _mm512_storeu_ps(o + 16, _mm512_add_ps(_mm512_loadu_ps(o + 16), b));
    }
  } else {
    for (int c = 0; c < kHd / 16; ++c) {
      _mm512_storeu_ps(out + 16 * c, _mm512_add_ps(_mm512_loadu_ps(out + 16 * c), acc[c]));
    }
  }
}

template <int kHd, DType kType, int kM>
void AccumulateBlock(const float* p, int64_t p_stride, const void* v, int64_t n, float* out) {
  constexpr int kC = kHd / 16;
  __m512 acc[kM][kC];
  for (int h = 0; h < kM; ++h) {
    for (int c = 0; c < kC; ++c) acc[h][c] = _mm512_setzero_ps();
  }
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  const char* ahead = static_cast<const char*>(v) + Avx512Prefetch().rows * kRowBytes;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t b = 0; b < kRowBytes; b += 64)
      _mm_prefetch(ahead + j * kRowBytes + b, _MM_HINT_T0);
    __m512 row[kC];
    LoadRowZmm<kHd, kType>(v, j, row);
#pragma GCC unroll 4
    for (int h = 0; h < kM; ++h) {
      const __m512 w = _mm512_set1_ps(p[h * p_stride + j]);
#pragma GCC unroll 16
      for (int c = 0; c < kC; ++c) acc[h][c] = _mm512_fmadd_ps(w, row[c], acc[h][c]);
    }
  }
  for (int h = 0; h < kM; ++h) AddAccumulator<kHd, kType>(acc[h], out + h * kHd);
}

template <int kHd, DType kType>
void AccumulateVT(const float* p, int64_t p_stride, int m, const void* v, int64_t n, float* out) {
  constexpr int kMaxHeads = kHd <= 64 ? 4 : (kHd == 128 ? 2 : 1);
  for (int h = 0; h < m;) {
    const int take = std::min(kMaxHeads, m - h);
    const float* ph = p + h * p_stride;
    float* oh = out + static_cast<int64_t>(h) * kHd;
    switch (take) {
      case 4: AccumulateBlock<kHd, kType, (kMaxHeads >= 4 ? 4 : 1)>(ph, p_stride, v, n, oh); break;
      case 3: AccumulateBlock<kHd, kType, (kMaxHeads >= 3 ? 3 : 1)>(ph, p_stride, v, n, oh); break;
      case 2: AccumulateBlock<kHd, kType, (kMaxHeads >= 2 ? 2 : 1)>(ph, p_stride, v, n, oh); break;
      default: AccumulateBlock<kHd, kType, 1>(ph, p_stride, v, n, oh); break;
    }
    h += take;
  }
}

template <int kHd, DType kType>
void GatherVT(const float* w, const int32_t* idx, int64_t n, const void* v, float* out) {
  constexpr int kC = kHd / 16;
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  __m512 acc[kC];
  for (int c = 0; c < kC; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t t = 0; t < n; ++t) {
    if (t + 4 < n) {
      const char* ahead = static_cast<const char*>(v) + idx[t + 4] * kRowBytes;
      for (int64_t b = 0; b < kRowBytes; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
    }
    __m512 row[kC];
    LoadRowZmm<kHd, kType>(v, idx[t], row);
    const __m512 weight = _mm512_set1_ps(w[t]);
    for (int c = 0; c < kC; ++c) acc[c] = _mm512_fmadd_ps(weight, row[c], acc[c]);
  }
  AddAccumulator<kHd, kType>(acc, out);
}

// exp(x) for x <= 0: x = n ln2 + r, |r| <= ln2 / 2, degree-7 Taylor polynomial (relative error
// about 5e-9 before rounding), scaled by 2^n.
inline __m512 ExpNonPositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

float ExpSum(float* s, int64_t n, float max, NextReads next) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  int64_t j = 0;
  SpreadPrefetch<2> spread(next, n / 16);
  for (; j + 16 <= n; j += 16) {
    spread.Step();
    const __m512 e = ExpNonPositive(_mm512_sub_ps(_mm512_loadu_ps(s + j), vmax));
    _mm512_storeu_ps(s + j, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (j < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 e = ExpNonPositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, s + j), vmax));
    _mm512_mask_storeu_ps(s + j, mask, e);
    sum = _mm512_mask_add_ps(sum, mask, sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

float Max(const float* s, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));
  if (j < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - j)) - 1);
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, s + j));
  }
  return _mm512_reduce_max_ps(m);
}

int64_t FirstNotBelow(const float* s, int64_t begin, int64_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  int64_t j = begin;
  for (; j + 16 <= n; j += 16) {
    const __mmask16 hits = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j), t, _CMP_NLT_UQ);
    if (hits != 0) return j + __builtin_ctz(static_cast<unsigned>(hits));
  }
  if (j < n) {
    const __mmask16 valid = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __mmask16 hits = _mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, s + j), t,
                                                   _CMP_NLT_UQ);
    if (hits != 0) return j + __builtin_ctz(static_cast<unsigned>(hits));
  }
  return n;
}

// A chunk's partial (max[g], sum[g], acc[g][kHd]; attention.cc, ChunkPartial) in one pass over
// its rows, for kG query heads that share one V head, a bf16 cache and q in bf16 pairs (qp, as
// DotScores): per K tile of 16 positions, the heads' scores, an online softmax (a running max per
// head; the sum and the accumulators rescaled when it grows) and the tile's 16 V rows, so that
// the V pass's multiplies overlap the K and V reads (AttentionKernels::one_pass_partial).
// Avx512Prefetch().one_pass_tiles ahead, a line of the K tile and one of its V rows per column
// pair (on Intel: the hardware prefetchers alone left SmolLM2's 4K decode at 70-73.5% of the probe,
// this 83%). Measured and left on Zen 4: prefetching the K tile and the V rows 1 or 2 tiles ahead
// into L1 at each tile's start (64 lines a tile): SmolLM2's attention 3.05-3.12 -> 3.91-4.04 ms a
// step at 4K positions, 0.50 -> 0.63 ms at 512 (slow minutes, ~34 GB/s, in-process A/B, medians of
// 8-30 rounds); the hardware prefetchers already keep these two streams ahead. Nor the tile's V
// rows on vdpbf16ps (weights rounded to bf16, row pairs interleaved by vpunpck{l,h}wd, 8 vector ops
// a position instead of 14): SmolLM2's 4K attention in the team harness 54.6-57.8 against 58.5-59.8
// us a layer (fast minutes, alternating runs), but whole decode steps no faster (slow minutes,
// 6.18-6.77 against 6.29-6.42 ms at 4K), and the weights' precision spent for it. Nor prefetches
// far ahead in both streams, one per 64 bytes read, 4-16 KB ahead into L1 or L2 (T0 / T1):
// SmolLM2's 4K attention in the team harness 129-172 against 69-89 us a layer (3 alternating
// rounds, fast and slow minutes).
template <int kHd, int kG>
void OnePassPartial(const uint32_t* qp, float scale, const uint8_t* k, const uint16_t* v, int64_t n,
                    float* partial) {
  constexpr int kC = kHd / 16;
  constexpr int64_t kTileBytes = kKTileRows * kHd * 2;
  __m512 acc[kG][kC], lsum[kG];
  float m[kG];
  for (int h = 0; h < kG; ++h) {
    for (int c = 0; c < kC; ++c) acc[h][c] = _mm512_setzero_ps();
    lsum[h] = _mm512_setzero_ps();
    m[h] = -INFINITY;
  }
  alignas(64) float p[kG][16];
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t tiles = (n + kKTileRows - 1) / kKTileRows;
  const int64_t tiles_ahead = Avx512Prefetch().one_pass_tiles;
  for (int64_t t = 0; t < tiles; ++t) {
    const uint8_t* tile = k + t * kTileBytes;
    const uint16_t* rows = v + t * kKTileRows * kHd;
    const char* k_ahead = reinterpret_cast<const char*>(tile + tiles_ahead * kTileBytes);
    const char* v_ahead = reinterpret_cast<const char*>(rows + tiles_ahead * kKTileRows * kHd);
    __m512 a[2][kG];
    for (int h = 0; h < kG; ++h) a[0][h] = a[1][h] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int c = 0; c < kHd / 2; c += 2) {
#pragma GCC unroll 2
      for (int s = 0; s < 2; ++s) {
        if (tiles_ahead > 0) {
          _mm_prefetch(k_ahead + 64 * (c + s), _MM_HINT_T0);
          _mm_prefetch(v_ahead + 64 * (c + s), _MM_HINT_T0);
        }
        const __m512bh pairs = (__m512bh)_mm512_loadu_si512(tile + 64 * (c + s));
#pragma GCC unroll 4
        for (int h = 0; h < kG; ++h) {
          const __m512bh qv =
              (__m512bh)_mm512_set1_epi32(static_cast<int>(qp[h * (kHd / 2) + c + s]));
          a[s][h] = _mm512_dpbf16_ps(a[s][h], pairs, qv);
        }
      }
    }
    const int64_t valid = std::min<int64_t>(kKTileRows, n - t * kKTileRows);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1);
    for (int h = 0; h < kG; ++h) {
      const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), mask,
                                          _mm512_mul_ps(_mm512_add_ps(a[0][h], a[1][h]), vscale));
      const float tile_max = _mm512_reduce_max_ps(s);
      if (tile_max > m[h]) {
        if (m[h] != -INFINITY) {
          const __m512 f = _mm512_set1_ps(std::exp(m[h] - tile_max));
          for (int c = 0; c < kC; ++c) acc[h][c] = _mm512_mul_ps(acc[h][c], f);
          lsum[h] = _mm512_mul_ps(lsum[h], f);
        }
        m[h] = tile_max;
      }
      const __m512 e =
          _mm512_maskz_mov_ps(mask, ExpNonPositive(_mm512_sub_ps(s, _mm512_set1_ps(m[h]))));
      lsum[h] = _mm512_add_ps(lsum[h], e);
      _mm512_store_ps(p[h], e);
    }
#pragma GCC unroll 4
    for (int64_t j = 0; j < valid; ++j) {
      __m512 row[kC];
      LoadRowZmm<kHd, DType::kBF16>(rows, j, row);
#pragma GCC unroll 4
      for (int h = 0; h < kG; ++h) {
        const __m512 w = _mm512_set1_ps(p[h][j]);
#pragma GCC unroll 8
        for (int c = 0; c < kC; ++c) acc[h][c] = _mm512_fmadd_ps(w, row[c], acc[h][c]);
      }
    }
  }
  for (int h = 0; h < kG; ++h) {
    partial[h] = m[h];
    partial[kG + h] = _mm512_reduce_add_ps(lsum[h]);
    float* out = partial + 2 * kG + h * kHd;
    std::fill(out, out + kHd, 0.0f);
    AddAccumulator<kHd, DType::kBF16>(acc[h], out);
  }
}

void OnePassPartial64(const float* q, int g, float scale, const void* k, const void* v, int64_t n,
                      float* partial) {
  constexpr int kHd = 64;
  uint32_t qp[4 * (kHd / 2)];
  SIGMA_CHECK(g == 3 || g == 4, "one_pass_partial: ", g, " query heads");
  QueryBf16PairsAvx512(q, g * kHd, qp);
  const auto* tiles = static_cast<const uint8_t*>(k);
  const auto* rows = static_cast<const uint16_t*>(v);
  if (g == 3) return OnePassPartial<kHd, 3>(qp, scale, tiles, rows, n, partial);
  OnePassPartial<kHd, 4>(qp, scale, tiles, rows, n, partial);
}

// The typed kernels of this family, for KernelFamily (attention_internal.h).
struct Avx512Typed {
  template <int kHd, DType kType>
  static constexpr auto scores = &ScoresT<kHd, kType>;
  template <int kHd>
  static constexpr auto scores_bf16_query = &DotScoresT<kHd>;
  static constexpr bool bf16_query_dot = true;
  template <int kHd>
  static constexpr OnePassPartialFn one_pass_partial = kHd == 64 ? &OnePassPartial64 : nullptr;
  template <int kHd, DType kType>
  static constexpr auto accumulate_v = &AccumulateVT<kHd, kType>;
  template <int kHd, DType kType>
  static constexpr auto gather_v = &GatherVT<kHd, kType>;
  static constexpr auto exp_sum = &ExpSum;
  static constexpr auto max = &Max;
  static constexpr auto first_not_below = &FirstNotBelow;
};

}  // namespace

// By CPU vendor: the hardware prefetchers and the memory latency they hide differ.
// Intel (2-core Xeon VM with AMX, ~31 GB/s probe, 2 threads, alternating runs of one build with
// the distances from the environment): Sigma's 16K attention in the team harness
// (BM_DecodeAttentionTeam, 26 layers from DRAM) at 78% of the probe with 64 rows, 81-85 with 32,
// 86-87 with 24, 91-92 with 16, 90-95 with 12, 89 with 8; GQA16's at 76-77% with 64, 94-100 with
// 16; paired (BM_DiffQkvOverGqa16) 70.6-72.1 -> 83.0-84.3% and 71.8-73.0 -> 91.8-93.6% (64 -> 16).
// SmolLM2's decode at 4K positions (sigma-eval bench) at 70-73.5% of the probe without the
// one-pass prefetch, 82.8-83.4% with it a tile ahead, 78-82 two ahead, 77-78 four ahead (the two
// passes instead of one: 80-82%).
// Zen 4 (the rest of this comment): SmolLM2 at 4K context, attention ms per step: none 4.4, 16
// rows 3.7, 32 4.0, 64 3.7, 128 4.0; the one-pass prefetch slower (at OnePassPartial). The last 64
// rows reach past the pass, into the next chunk's rows or past the context. Measured and left:
// stopping at the pass's end. SmolLM2 at 512 positions (256-row passes) ran its attention in
// 0.48-0.52 against 0.43-0.47 ms a step (fast minutes, alternating builds): a member's next task is
// often the next chunk of the same head, whose first rows the overrun had fetched. (A harness whose
// members each read other chunks than the one the overrun reaches got 36 -> 40% of the probe from
// stopping.) Nor did a chain help, each pass's overrun going into the member's next reads (the next
// V head's rows, the decode team's next task's K tiles): SmolLM2's attention 0.49 against 0.50 ms a
// step at 512 positions (medians of 12 runs), at 4K no faster. Nor a second, L2 prefetch 256 or 512
// rows ahead in the bf16 score pass (DotScores), though alone it took that pass from 31-37 to
// 27-34 us a 4096-row chunk of 8 heads: in the team harness (alternating in one process, medians
// of 40-200 rounds) Sigma at 16K 80.3-81.7% of a fast probe either way and 95-96 against 96-97%
// of a slow one; SmolLM2 at 4K 72-75% against 80-81% fast. Stopped at the pass's end: Sigma 81.0
// -81.7 against 80.2-80.7% fast, 96.1-96.5 against 98.0-98.1% slow; SmolLM2 76% against 82%.
const PrefetchDistance& Avx512Prefetch() {
  static const PrefetchDistance distance =
      CpuIsIntel() ? PrefetchDistance{16, 1} : PrefetchDistance{64, 0};
  return distance;
}

void QueryBf16PairsAvx512(const float* q, int count, uint32_t* qp) {
  for (int i = 0; i < count; i += 32) {
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(q + i + 16), _mm512_loadu_ps(q + i));
    _mm512_storeu_si512(qp + i / 2, (__m512i)b);
  }
}

const AttentionKernels* Avx512AttentionKernels(int hd) { return FamilyKernels<Avx512Typed>(hd); }

}  // namespace sigma::internal
