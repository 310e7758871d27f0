// AVX2 + FMA + F16C attention inner loops (see attention_internal.h). Compiled with
// -mavx2 -mfma -mf16c; only called where CpuSupportsAvx2() (and the AVX-512 family is not active).
// Instances exist for head_dim 32, 64, 128 and 256.
//
// Same scheme as attention_avx512.cc, sized for 16 ymm registers. Scores read K tiles (attention.h)
// in halves of 8 positions, one lane per position, one FMA per dimension and head (no horizontal
// sums). bf16 is widened exactly by shifting: `<< 16` yields the even elements of a pair and
// `& 0xffff0000` the odd ones; V accumulators stay split that way and are interleaved back once
// per call.
// V: rows in blocks of 32, each block through every column block of the head (kCols elements x
// up to 4 query heads in registers, two accumulator sets for even and odd rows where one set is
// under 8 registers); the hardware prefetcher streams the rows (a software prefetch 64 rows ahead
// on the first column block).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_internal.h"
#include "engine/cpu/attention_tile_scores.h"
#include "engine/cpu/simd_float.h"
#include "engine/cpu/exp_avx2.h"

namespace sigma::internal {
namespace {

inline __m256i HiMask() { return _mm256_set1_epi32(static_cast<int>(0xffff0000u)); }

// Cache rows a score or V pass prefetches ahead of the row it reads: Zen 4's distance for the
// AVX-512 kernels (Avx512Prefetch, attention_avx512.cc; the AVX2 kernels were not measured on
// Intel).
constexpr int64_t kPrefetchAhead = 64;

// Elements [16c, 16c + 16) of a cache row as two f32 vectors in the prepared-query order.
template <DType kType>
inline void WidenSixteen(const void* row, int c, __m256& first, __m256& second) {
  if constexpr (kType == DType::kF32) {
    const float* p = static_cast<const float*>(row) + 16 * c;
    first = _mm256_loadu_ps(p);
    second = _mm256_loadu_ps(p + 8);
  } else if constexpr (kType == DType::kBF16) {
    const auto* p = static_cast<const uint16_t*>(row) + 16 * c;
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    first = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    second = _mm256_castsi256_ps(_mm256_and_si256(v, HiMask()));
  } else {
    const auto* p = static_cast<const uint16_t*>(row) + 16 * c;
    first = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    second = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8)));
  }
}

// The score pass's vectors (attention_tile_scores.h): a K tile in two parts of 8 positions.
struct Ymm8 : YmmFloat {
  static constexpr int kLanes = 8;
  static constexpr int kChains = 8;
  static constexpr int kMaxAcc = 10;
  static constexpr int kMaxHeads = 4;  // x 2 parts: 8 accumulators
  template <int kHd, DType kType>
  static void Columns(const uint8_t* tile, int c, int part, F& even, F& odd) {
    if constexpr (kType == DType::kF32) {
      const auto* p = reinterpret_cast<const float*>(tile) + 2 * c * kKTileRows + 8 * part;
      even = _mm256_loadu_ps(p);
      odd = _mm256_loadu_ps(p + kKTileRows);
    } else if constexpr (kType == DType::kF16) {
      const auto* p = reinterpret_cast<const uint16_t*>(tile) + 2 * c * kKTileRows + 8 * part;
      even = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      odd = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kKTileRows)));
    } else {
      const __m256i pairs = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(tile + 4 * c * kKTileRows + 32 * part));
      even = _mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16));
      odd = _mm256_castsi256_ps(_mm256_and_si256(pairs, HiMask()));
    }
  }
  static void StoreFirst(float* dst, F v, int64_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(dst, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lanes),
                        v);
  }
};

template <int kHd, DType kType>
void ScoresT(const float* q, int g, int /*hd*/, float scale, const void* k, int64_t n,
             float* scores, int64_t stride, NextReads next) {
  TileScoresT<Ymm8, kHd, kType>(q, g, scale, k, n, scores, stride, next, kPrefetchAhead);
}

// No bf16 dot product here: q rounded, then the f32 pass (its products of bf16 values exact).
template <int kHd>
void ScoresBf16QueryT(const float* q, int g, int hd, float scale, const void* k, int64_t n,
                      float* scores, int64_t stride, NextReads next) {
  thread_local std::vector<float> rounded;
  rounded.resize(static_cast<size_t>(g) * kHd);
  RoundToBf16(q, static_cast<int64_t>(g) * kHd, rounded.data());
  ScoresT<kHd, DType::kBF16>(rounded.data(), g, hd, scale, k, n, scores, stride, next);
}

// out[16] += the split accumulator pair (bf16: even, odd elements; else elements 0-7, 8-15).
template <DType kType>
inline void AddSixteen(__m256 first, __m256 second, float* out) {
  __m256 a = first, b = second;
  if constexpr (kType == DType::kBF16) {
    const __m256 lo = _mm256_unpacklo_ps(first, second);  // e0 o0 e1 o1 | e4 o4 e5 o5
    const __m256 hi = _mm256_unpackhi_ps(first, second);  // e2 o2 e3 o3 | e6 o6 e7 o7
    a = _mm256_permute2f128_ps(lo, hi, 0x20);
    b = _mm256_permute2f128_ps(lo, hi, 0x31);
  }
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), a));
  _mm256_storeu_ps(out + 8, _mm256_add_ps(_mm256_loadu_ps(out + 8), b));
}

// Accumulator state of one column block of AccumulateColumns between row blocks: kM heads x
// 2 kS vectors for the even rows and, where one set is under 8 registers (kTwoSets), as many for
// the odd ones.
template <int kM, int kS>
struct ColumnState {
  static constexpr bool kTwoSets = kM * 2 * kS < 8;
  alignas(32) float even[kM][2 * kS][8];
  alignas(32) float odd[kTwoSets ? kM : 1][2 * kS][8];
};

// Columns [col, col + kCols) of kM heads over rows [j0, j1): state += sum_j p[h][j] v[j].
// Fewer than 8 accumulators cannot keep both FMA pipes busy (4-cycle latency): then odd rows go
// to a second set (kTwoSets; SmolLM2's 3 heads x 16 columns: 6 + 6; its 512-row V pass in cache
// 2.92 -> 2.63 us). The row parity is the global one, so how the rows are cut into blocks does not
// change which set a row goes to.
template <int kHd, DType kType, int kM, int kCols>
void AccumulateColumns(const float* p, int64_t p_stride, const void* v, int64_t j0, int64_t j1,
                       int col, ColumnState<kM, kCols / 16>& state) {
  constexpr int kS = kCols / 16;  // 16-element pieces per column block
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  constexpr int64_t kElem = kType == DType::kF32 ? 4 : 2;
  constexpr bool kTwoSets = ColumnState<kM, kS>::kTwoSets;
  __m256 acc[kM][2 * kS];
  __m256 odd[kTwoSets ? kM : 1][2 * kS];
  for (int h = 0; h < kM; ++h) {
    for (int i = 0; i < 2 * kS; ++i) {
      acc[h][i] = _mm256_load_ps(state.even[h][i]);
      if constexpr (kTwoSets) odd[h][i] = _mm256_load_ps(state.odd[h][i]);
    }
  }
  const auto* base = static_cast<const uint8_t*>(v) + col * kElem;
  const auto prefetch = [&](int64_t j) {
    if (col != 0) return;
    for (int64_t b = 0; b < kRowBytes; b += 64) {
      _mm_prefetch(static_cast<const char*>(v) + (j + kPrefetchAhead) * kRowBytes + b, _MM_HINT_T0);
    }
  };
  int64_t j = j0;
  if constexpr (kTwoSets) {
    // j0 is even (row blocks are), so e == 0 is an even row.
    for (; j + 2 <= j1; j += 2) {
      prefetch(j);
      prefetch(j + 1);
#pragma GCC unroll 2
      for (int e = 0; e < 2; ++e) {
        __m256 row[2 * kS];
#pragma GCC unroll 4
        for (int s = 0; s < kS; ++s) {
          WidenSixteen<kType>(base + (j + e) * kRowBytes, s, row[2 * s], row[2 * s + 1]);
        }
#pragma GCC unroll 4
        for (int h = 0; h < kM; ++h) {
          const __m256 w = _mm256_broadcast_ss(p + h * p_stride + j + e);
#pragma GCC unroll 8
          for (int i = 0; i < 2 * kS; ++i) {
            if (e == 0) {
              acc[h][i] = _mm256_fmadd_ps(w, row[i], acc[h][i]);
            } else {
              odd[h][i] = _mm256_fmadd_ps(w, row[i], odd[h][i]);
            }
          }
        }
      }
    }
  }
  for (; j < j1; ++j) {
    prefetch(j);
    __m256 row[2 * kS];
#pragma GCC unroll 4
    for (int s = 0; s < kS; ++s) WidenSixteen<kType>(base + j * kRowBytes, s, row[2 * s], row[2 * s + 1]);
#pragma GCC unroll 4
    for (int h = 0; h < kM; ++h) {
      const __m256 w = _mm256_broadcast_ss(p + h * p_stride + j);
#pragma GCC unroll 8
      for (int i = 0; i < 2 * kS; ++i) acc[h][i] = _mm256_fmadd_ps(w, row[i], acc[h][i]);
    }
  }
  for (int h = 0; h < kM; ++h) {
    for (int i = 0; i < 2 * kS; ++i) {
      _mm256_store_ps(state.even[h][i], acc[h][i]);
      if constexpr (kTwoSets) _mm256_store_ps(state.odd[h][i], odd[h][i]);
    }
  }
}

// Rows per block of AccumulateBlock's column passes.
constexpr int64_t kVRowBlock = 32;

// kM heads over the whole head, kCols columns at a time (kM * kCols / 8 <= 8 accumulators).
// Where a head takes several column blocks, the rows go in blocks of kVRowBlock (4 KiB of bf16
// rows of 64), each block through every column pass while it is in L1, the accumulators kept in
// a ColumnState between blocks. One pass over all of a chunk's rows per column block left the
// memory stream idle while the later passes read L2: Sigma's V pass (2 heads x 2 blocks of 32
// columns, 512-row chunks) streamed 17-20 GB/s with two threads where one-block heads stream
// 24-27; in row blocks, 20-24 (8 to 32 rows the same when streaming). 32 rather than 16: fewer
// state loads and stores; SmolLM2's 3-head pass in cache 2.64 against 2.96 us, its attention per
// 4K decode step 4.28-4.36 against 4.47-4.53 ms (A/B). Same additions in the same order.
template <int kHd, DType kType, int kM>
void AccumulateBlock(const float* p, int64_t p_stride, const void* v, int64_t n, float* out) {
  constexpr int kCols = std::min(kHd, 64 / kM / 16 * 16 >= 16 ? 64 / kM / 16 * 16 : 16);
  constexpr int kS = kCols / 16;
  constexpr int kBlocks = kHd / kCols;
  static_assert(kVRowBlock % 2 == 0, "row blocks keep the even/odd row sets");
  ColumnState<kM, kS> state[kBlocks];
  std::memset(state, 0, sizeof(state));
  const int64_t row_block = kBlocks == 1 ? n : kVRowBlock;
  for (int64_t j0 = 0; j0 < n; j0 += row_block) {
    const int64_t j1 = std::min(n, j0 + row_block);
    for (int b = 0; b < kBlocks; ++b) {
      AccumulateColumns<kHd, kType, kM, kCols>(p, p_stride, v, j0, j1, b * kCols, state[b]);
    }
  }
  constexpr bool kTwoSets = ColumnState<kM, kS>::kTwoSets;
  for (int b = 0; b < kBlocks; ++b) {
    for (int h = 0; h < kM; ++h) {
      for (int s = 0; s < kS; ++s) {
        __m256 first = _mm256_load_ps(state[b].even[h][2 * s]);
        __m256 second = _mm256_load_ps(state[b].even[h][2 * s + 1]);
        if constexpr (kTwoSets) {
          first = _mm256_add_ps(first, _mm256_load_ps(state[b].odd[h][2 * s]));
          second = _mm256_add_ps(second, _mm256_load_ps(state[b].odd[h][2 * s + 1]));
        }
        AddSixteen<kType>(first, second, out + h * kHd + b * kCols + 16 * s);
      }
    }
  }
}

template <int kHd, DType kType>
void AccumulateVT(const float* p, int64_t p_stride, int m, const void* v, int64_t n, float* out) {
  for (int h = 0; h < m;) {
    const int take = std::min(4, m - h);
    const float* ph = p + h * p_stride;
    float* oh = out + static_cast<int64_t>(h) * kHd;
    switch (take) {
      case 4: AccumulateBlock<kHd, kType, 4>(ph, p_stride, v, n, oh); break;
      case 3: AccumulateBlock<kHd, kType, 3>(ph, p_stride, v, n, oh); break;
      case 2: AccumulateBlock<kHd, kType, 2>(ph, p_stride, v, n, oh); break;
      default: AccumulateBlock<kHd, kType, 1>(ph, p_stride, v, n, oh); break;
    }
    h += take;
  }
}

// out[:] += sum_t w[t] v[idx[t]], 64 columns (8 accumulators) at a time.
template <int kHd, DType kType>
void GatherVT(const float* w, const int32_t* idx, int64_t n, const void* v, float* out) {
  constexpr int kCols = std::min(kHd, 64);
  constexpr int kS = kCols / 16;
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  constexpr int64_t kElem = kType == DType::kF32 ? 4 : 2;
  for (int col = 0; col < kHd; col += kCols) {
    __m256 acc[2 * kS];
    for (int i = 0; i < 2 * kS; ++i) acc[i] = _mm256_setzero_ps();
    const auto* base = static_cast<const uint8_t*>(v) + col * kElem;
    for (int64_t t = 0; t < n; ++t) {
      if (col == 0 && t + 4 < n) {
        const char* ahead = static_cast<const char*>(v) + idx[t + 4] * kRowBytes;
        for (int64_t b = 0; b < kRowBytes; b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
      }
      const uint8_t* row = base + idx[t] * kRowBytes;
      const __m256 weight = _mm256_broadcast_ss(w + t);
#pragma GCC unroll 4
      for (int s = 0; s < kS; ++s) {
        __m256 a, b;
        WidenSixteen<kType>(row, s, a, b);
        acc[2 * s] = _mm256_fmadd_ps(weight, a, acc[2 * s]);
        acc[2 * s + 1] = _mm256_fmadd_ps(weight, b, acc[2 * s + 1]);
      }
    }
    for (int s = 0; s < kS; ++s) AddSixteen<kType>(acc[2 * s], acc[2 * s + 1], out + col + 16 * s);
  }
}


inline float HorizontalSum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline float HorizontalMax(__m256 v) {
  const __m128 s4 = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_max_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_max_ss(s2, _mm_movehdup_ps(s2)));
}

// Lane mask for the first `count` (< 8) lanes.
inline __m256i TailMask(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

float ExpSum(float* s, int64_t n, float max, NextReads next) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  int64_t j = 0;
  SpreadPrefetch<2> spread(next, n / 8);
  for (; j + 8 <= n; j += 8) {
    spread.Step();
    const __m256 e = ExpNonPositive(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmax));
    _mm256_storeu_ps(s + j, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (j < n) {
    const __m256i mask = TailMask(n - j);
    const __m256 e = ExpNonPositive(_mm256_sub_ps(_mm256_maskload_ps(s + j, mask), vmax));
    _mm256_maskstore_ps(s + j, mask, e);
    sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
  }
  return HorizontalSum(sum);
}

float Max(const float* s, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
  float tail = -INFINITY;
  for (; j < n; ++j) tail = std::max(tail, s[j]);
  return std::max(HorizontalMax(m), tail);
}

int64_t FirstNotBelow(const float* s, int64_t begin, int64_t n, float threshold) {
  const __m256 t = _mm256_set1_ps(threshold);
  int64_t j = begin;
  for (; j + 8 <= n; j += 8) {
    const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j), t, _CMP_NLT_UQ));
    if (hits != 0) return j + __builtin_ctz(static_cast<unsigned>(hits));
  }
  for (; j < n; ++j) {
    if (!(s[j] < threshold)) return j;
  }
  return n;
}

// The typed kernels of this family, for KernelFamily (attention_internal.h).
struct Avx2Typed {
  template <int kHd, DType kType>
  static constexpr auto scores = &ScoresT<kHd, kType>;
  template <int kHd>
  static constexpr auto scores_bf16_query = &ScoresBf16QueryT<kHd>;
  static constexpr bool bf16_query_dot = false;
  template <int kHd>
  static constexpr OnePassPartialFn one_pass_partial = nullptr;
  template <int kHd, DType kType>
  static constexpr auto accumulate_v = &AccumulateVT<kHd, kType>;
  template <int kHd, DType kType>
  static constexpr auto gather_v = &GatherVT<kHd, kType>;
  static constexpr auto exp_sum = &ExpSum;
  static constexpr auto max = &Max;
  static constexpr auto first_not_below = &FirstNotBelow;
};

}  // namespace

const AttentionKernels* Avx2AttentionKernels(int hd) { return FamilyKernels<Avx2Typed>(hd); }

}  // namespace sigma::internal
