// AVX2 + FMA + F16C attention inner loops (see attention_internal.h). Compiled with
// -mavx2 -mfma -mf16c; only called where CpuSupportsAvx2() (and the AVX-512 family is not active).
// Instances exist for head_dim 32, 64, 128 and 256.
//
// Same scheme as attention_avx512.cc, sized for 16 ymm registers. bf16 rows are widened exactly
// by shifting: a load of 16 bf16 holds pairs; `<< 16` yields the even elements and
// `& 0xffff0000` the odd ones. Scores pair them with a query split the same way; V accumulators
// stay split and are interleaved back once per call.
//
// Scores: a block of kH query heads x kR K rows (8 or 12 ymm accumulators); each K row is
// widened once per block in registers and the accumulators are reduced by a fixed shuffle tree
// (every dot product takes the same additions whichever slot it used, so equal rows give equal
// scores).
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
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/attention_internal.h"
#include "engine/cpu/exp_avx2.h"
#include "engine/cpu/transpose_avx2.h"

namespace sigma::internal {
namespace {

inline __m256i HiMask() { return _mm256_set1_epi32(static_cast<int>(0xffff0000u)); }

// Cache rows a score or V pass prefetches ahead of the row it reads (as attention_avx512.cc).
constexpr int64_t kPrefetchAhead = 64;

// Query in the order WidenSixteen yields rows: bf16 splits each 16 elements into even then odd.
template <int kHd, DType kType>
void PrepareQuery(const float* q, int g, float* out) {
  for (int h = 0; h < g; ++h) {
    const float* src = q + static_cast<int64_t>(h) * kHd;
    float* dst = out + static_cast<int64_t>(h) * kHd;
    for (int c = 0; c < kHd; c += 16) {
      for (int i = 0; i < 8; ++i) {
        dst[c + i] = kType == DType::kBF16 ? src[c + 2 * i] : src[c + i];
        dst[c + 8 + i] = kType == DType::kBF16 ? src[c + 2 * i + 1] : src[c + 8 + i];
      }
    }
  }
}

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

// Horizontal sums of 8 vectors: returns [s0, s2, s4, s6, s1, s3, s5, s7]; each sum is
// ((x0 + x4) + (x2 + x6)) + ((x1 + x5) + (x3 + x7)) of its input, whatever the slot.
inline __m256 ReduceEight(const __m256* a) {
  __m256 s[4];
  for (int i = 0; i < 4; ++i) {
    s[i] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x20),
                         _mm256_permute2f128_ps(a[2 * i], a[2 * i + 1], 0x31));
  }
  const __m256 t0 = _mm256_add_ps(_mm256_unpacklo_ps(s[0], s[1]), _mm256_unpackhi_ps(s[0], s[1]));
  const __m256 t1 = _mm256_add_ps(_mm256_unpacklo_ps(s[2], s[3]), _mm256_unpackhi_ps(s[2], s[3]));
  return _mm256_add_ps(_mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
}

// Input slot of ReduceEight whose sum lands at output position p.
constexpr int kSlotForPosition[8] = {0, 2, 4, 6, 1, 3, 5, 7};

// Horizontal sums of 4 vectors in order [s0, s1, s2, s3], with the same tree as ReduceEight.
inline __m128 ReduceFour(const __m256* a) {
  __m256 slots[8];
  for (int i = 0; i < 4; ++i) {
    slots[kSlotForPosition[i]] = a[i];
    slots[kSlotForPosition[4 + i]] = _mm256_setzero_ps();
  }
  return _mm256_castps256_ps128(ReduceEight(slots));
}

// Scores of kH query heads (prepared, [kH][kHd]) against kR rows (rows[r], widened in registers).
// Per 16 elements, kR >= 4: each row is widened and FMA'd with every head's query piece read from
// memory; kR < 4: the kR rows are widened first, then each head's query piece is loaded once and
// FMA'd into its kR accumulators (kH * kR + 2 kR + 2 <= 16 ymm, so nothing spills). The
// accumulators are reduced eight at a time, (head, row) head-major; kR == 4 with an odd kH leaves
// the last head's four for ReduceFour.
template <int kHd, DType kType, int kH, int kR>
inline void BlockScores(const float* q, const void* const* rows, float scale, float* out,
                        int64_t stride, int valid_rows) {
  constexpr int kN = kH * kR;
  static_assert(kN % 8 == 0 || kR == 4);
  __m256 acc[kN];
#pragma GCC unroll 16
  for (int i = 0; i < kN; ++i) acc[i] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int c = 0; c < kHd / 16; ++c) {
    if constexpr (kR >= 4) {
      // Many rows: one row widened at a time, the query pieces read from L1 by the FMAs.
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) {
        __m256 k0, k1;
        WidenSixteen<kType>(rows[r], c, k0, k1);
#pragma GCC unroll 8
        for (int h = 0; h < kH; ++h) {
          const float* qh = q + h * kHd + 16 * c;
          acc[h * kR + r] = _mm256_fmadd_ps(_mm256_loadu_ps(qh), k0, acc[h * kR + r]);
          acc[h * kR + r] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + 8), k1, acc[h * kR + r]);
        }
      }
    } else {
      // Many heads: the rows widened first, then each head's query piece loaded once.
      __m256 k0[kR], k1[kR];
#pragma GCC unroll 8
      for (int r = 0; r < kR; ++r) WidenSixteen<kType>(rows[r], c, k0[r], k1[r]);
#pragma GCC unroll 8
      for (int h = 0; h < kH; ++h) {
        const __m256 q0 = _mm256_loadu_ps(q + h * kHd + 16 * c);
        const __m256 q1 = _mm256_loadu_ps(q + h * kHd + 16 * c + 8);
#pragma GCC unroll 8
        for (int r = 0; r < kR; ++r) {
          acc[h * kR + r] = _mm256_fmadd_ps(q0, k0[r], acc[h * kR + r]);
          acc[h * kR + r] = _mm256_fmadd_ps(q1, k1[r], acc[h * kR + r]);
        }
      }
    }
  }
  const __m256 vscale = _mm256_set1_ps(scale);
  // Whole groups of eight (head, row) accumulators, head-major, one ReduceEight each.
  constexpr int kPerHead = kR < 8 ? kR : 8;
#pragma GCC unroll 2
  for (int group = 0; group < kN / 8; ++group) {
    __m256 slots[8];
    for (int p = 0; p < 8; ++p) slots[kSlotForPosition[p]] = acc[group * 8 + p];
    alignas(32) float sums[8];
    _mm256_store_ps(sums, _mm256_mul_ps(ReduceEight(slots), vscale));
    for (int p = 0; p < 8; p += kPerHead) {
      const int flat = group * 8 + p;
      const int h = flat / kR, r = flat % kR;
      if (valid_rows == kR) {
        std::memcpy(out + h * stride + r, sums + p, kPerHead * sizeof(float));
      } else {
        for (int i = 0; i < kPerHead && r + i < valid_rows; ++i) out[h * stride + r + i] = sums[p + i];
      }
    }
  }
  // kR == 4 with an odd head count (SmolLM2's three): the last head's four rows by ReduceFour,
  // the same addition tree with zeros in the empty slots.
  if constexpr (kN % 8 != 0) {
    const int h = kH - 1;
    alignas(16) float sums[4];
    _mm_store_ps(sums, _mm_mul_ps(ReduceFour(acc + h * 4), _mm256_castps256_ps128(vscale)));
    if (valid_rows == 4) {
      std::memcpy(out + h * stride, sums, 4 * sizeof(float));
    } else {
      for (int i = 0; i < valid_rows; ++i) out[h * stride + i] = sums[i];
    }
  }
}

template <int kHd, DType kType, int kH, int kR>
void ScoresBlocks(const float* q, int g, float scale, const void* k, int64_t n, float* scores,
                  int64_t stride, NextReads next) {
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  alignas(64) static const uint8_t kZeroRow[kRowBytes] = {};
  const auto* base = static_cast<const uint8_t*>(k);
  SpreadPrefetch spread(next, (n + kR - 1) / kR);
  for (int64_t j0 = 0; j0 < n; j0 += kR) {
    const int valid = static_cast<int>(std::min<int64_t>(kR, n - j0));
    spread.Step();
    // Reads past the chunk's end are harmless hints.
    for (int64_t b = 0; b < kR * kRowBytes; b += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(base + (j0 + kPrefetchAhead) * kRowBytes + b),
                   _MM_HINT_T0);
    }
    const void* rows[kR];
    for (int r = 0; r < kR; ++r) rows[r] = r < valid ? base + (j0 + r) * kRowBytes : kZeroRow;
    for (int h = 0; h < g; h += kH) {
      BlockScores<kHd, kType, kH, kR>(q + h * kHd, rows, scale, scores + h * stride + j0, stride,
                                      valid);
    }
  }
}

// Dot products of eight query heads with kRows K rows, the heads in the lanes: qt[8 d + h] is
// head h's (prepared) query element d; the rows are widened into an f32 scratch once, then for
// each element d one FMA per row adds qt[d] * k_r[d] into the row's accumulator, so lane h of
// acc[r] is head h's dot with row r, summed in element order, with no horizontal reduction.
template <int kHd, DType kType, int kRows>
inline void DotsHeadsInLanes(const float* qt, const uint8_t* rows, __m256* acc) {
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  alignas(32) float k[kRows][kHd];
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < kHd / 16; ++c) {
      __m256 k0, k1;
      WidenSixteen<kType>(rows + r * kRowBytes, c, k0, k1);
      _mm256_store_ps(&k[r][16 * c], k0);
      _mm256_store_ps(&k[r][16 * c + 8], k1);
    }
  }
  for (int r = 0; r < kRows; ++r) acc[r] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int d = 0; d < kHd; ++d) {
    const __m256 qd = _mm256_load_ps(qt + 8 * d);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      acc[r] = _mm256_fmadd_ps(qd, _mm256_broadcast_ss(&k[r][d]), acc[r]);
    }
  }
}

// Groups of eight query heads (Sigma's GQA groups), eight rows at a time with the heads in the
// lanes (DotsHeadsInLanes); the eight rows' vectors are transposed in registers and stored one
// vector per head. (512 rows, in cache: 8.0 us, against 8.6-9.0 for per-row dots reduced by
// ReduceEight and 9.7 for those stored as scattered scalars.) Measured and left: the rows in the
// lanes instead (16-row blocks transposed once into a scratch of bf16 pairs, widened by shift and
// mask, each query element broadcast into 4 heads x 2 row vectors) ran 6.6-7.2 us in cache but
// made Sigma's 16K attention 3-8% slower streaming, where this pass waits on its K rows; for
// SmolLM2's groups of three (3 heads x 24 rows) it was slower even in cache (5.8 against 3.9 us).
template <int kHd, DType kType>
void ScoresEightHeads(const float* q, int g, float scale, const void* k, int64_t n, float* scores,
                      int64_t stride, NextReads next) {
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  const auto* base = static_cast<const uint8_t*>(k);
  const __m256 vscale = _mm256_set1_ps(scale);
  SpreadPrefetch spread(next, g / 8 * (n / 8 + n % 8));
  alignas(32) float qt[8 * kHd];
  for (int h0 = 0; h0 < g; h0 += 8) {
    // qt[8 d + h] = q[h0 + h][d], by 8 x 8 transposes.
    for (int d0 = 0; d0 < kHd; d0 += 8) {
      __m256 block[8];
      for (int h = 0; h < 8; ++h) block[h] = _mm256_loadu_ps(q + (h0 + h) * kHd + d0);
      Transpose8(block);
      for (int i = 0; i < 8; ++i) _mm256_store_ps(qt + 8 * (d0 + i), block[i]);
    }
    float* out = scores + h0 * stride;
    int64_t j0 = 0;
    for (; j0 + 8 <= n; j0 += 8) {
      const uint8_t* rows = base + j0 * kRowBytes;
      for (int64_t b = 0; b < 8 * kRowBytes; b += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(rows + kPrefetchAhead * kRowBytes + b),
                     _MM_HINT_T0);
      }
      spread.Step();
      __m256 r[8];
      DotsHeadsInLanes<kHd, kType, 8>(qt, rows, r);
      Transpose8(r);
      for (int h = 0; h < 8; ++h) {
        _mm256_storeu_ps(out + h * stride + j0, _mm256_mul_ps(r[h], vscale));
      }
    }
    for (; j0 < n; ++j0) {
      spread.Step();
      __m256 r;
      DotsHeadsInLanes<kHd, kType, 1>(qt, base + j0 * kRowBytes, &r);
      alignas(32) float sums[8];
      _mm256_store_ps(sums, _mm256_mul_ps(r, vscale));
      for (int h = 0; h < 8; ++h) out[h * stride + j0] = sums[h];
    }
  }
}

template <int kHd, DType kType>
void ScoresT(const float* q, int g, int hd, float scale, const void* k, int64_t n, float* scores,
             int64_t stride, NextReads next) {
  thread_local AlignedScratch<float> prepared;
  float* qp = prepared.Get(static_cast<size_t>(g) * kHd);
  PrepareQuery<kHd, kType>(q, g, qp);
  // Groups of eight query heads (Sigma): heads in the lanes, eight rows at a time. Otherwise
  // blocks of kH heads x kR rows: each K row is widened once per block, and at least 8 independent
  // FMA chains (3 x 4, 12 accumulators, for SmolLM2's three: measured faster than 3 x 2, whose 6
  // chains leave the FMA pipes idle).
  if (g % 8 == 0) return ScoresEightHeads<kHd, kType>(qp, g, scale, k, n, scores, stride, next);
  if (g % 4 == 0) return ScoresBlocks<kHd, kType, 4, 2>(qp, g, scale, k, n, scores, stride, next);
  if (g % 3 == 0) return ScoresBlocks<kHd, kType, 3, 4>(qp, g, scale, k, n, scores, stride, next);
  if (g % 2 == 0) return ScoresBlocks<kHd, kType, 2, 4>(qp, g, scale, k, n, scores, stride, next);
  ScoresBlocks<kHd, kType, 1, 8>(qp, g, scale, k, n, scores, stride, next);
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

float ExpSum(float* s, int64_t n, float max) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
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
