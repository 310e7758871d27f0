// AVX-512 attention inner loops (see attention_internal.h). Compiled with -mavx512{f,bw,vl,dq,bf16};
// only called where CpuSupportsAvx512Bf16(). Instances exist for head_dim 32, 64, 128 and 256.
//
// bf16 rows are widened exactly by shifting: a load of 16 (ymm) or 32 (zmm) bf16 holds pairs;
// `<< 16` yields the even elements and `& 0xffff0000` the odd ones. Scores pair them with a query
// split the same way; V accumulators stay split and are interleaved back once per call.
//
// Scores: a block of kH query heads x kR K rows (kH * kR = 16 ymm accumulators); each K row is
// widened once per block in registers, and a shuffle tree reduces the accumulators eight at a time. V: one pass over the rows for up to 4 query heads in registers.
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/aligned_scratch.h"
#include "engine/cpu/attention_internal.h"

namespace sigma::internal {
namespace {

inline __m256i HiMask256() { return _mm256_set1_epi32(static_cast<int>(0xffff0000u)); }
inline __m512i HiMask512() { return _mm512_set1_epi32(static_cast<int>(0xffff0000u)); }

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

// Horizontal sums of 8 vectors: returns [s0, s2, s4, s6, s1, s3, s5, s7]. Every input goes through
// the same tree of additions, so a dot product does not depend on which slot it used.
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
// Cache rows a score or V pass prefetches ahead of the row it reads (SmolLM2 at 4K context,
// attention ms per step: none 4.4, 16 rows 3.7, 32 4.0, 64 3.7, 128 4.0).
constexpr int64_t kPrefetchAhead = 64;

constexpr int kSlotForPosition[8] = {0, 2, 4, 6, 1, 3, 5, 7};

// Elements [16c, 16c + 16) of a cache row as two f32 vectors in the prepared-query order.
template <DType kType>
inline void WidenSixteen(const void* row, int c, __m256& first, __m256& second) {
  if constexpr (kType == DType::kF32) {
    const float* p = static_cast<const float*>(row) + 16 * c;
    first = _mm256_loadu_ps(p);
    second = _mm256_loadu_ps(p + 8);
  } else {
    const auto* p = static_cast<const uint16_t*>(row) + 16 * c;
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    if constexpr (kType == DType::kBF16) {
      first = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
      second = _mm256_castsi256_ps(_mm256_and_si256(v, HiMask256()));
    } else {
      first = _mm256_cvtph_ps(_mm256_castsi256_si128(v));
      second = _mm256_cvtph_ps(_mm256_extracti128_si256(v, 1));
    }
  }
}

// Scores of kH query heads (prepared, [kH][kHd]) against kR rows (rows[r], widened in registers).
// The kH * kR accumulators are reduced eight at a time, (head, row) head-major.
template <int kHd, DType kType, int kH, int kR>
inline void BlockScores(const float* q, const void* const* rows, float scale, float* out,
                        int64_t stride, int valid_rows) {
  __m256 acc[kH * kR];
#pragma GCC unroll 16
  for (int i = 0; i < kH * kR; ++i) acc[i] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int c = 0; c < kHd / 16; ++c) {
#pragma GCC unroll 16
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
  }
  const __m256 vscale = _mm256_set1_ps(scale);
  constexpr int kPerHead = kR < 8 ? kR : 8;
#pragma GCC unroll 2
  for (int group = 0; group < kH * kR / 8; ++group) {
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
    // Software prefetch kPrefetchAhead rows ahead: the hardware prefetcher alone left these loads
    // waiting on DRAM at long contexts (reads past the chunk's end are harmless hints).
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

template <int kHd, DType kType>
// Groups of 4k query heads (Sigma's 8) take the blocks of 4 heads x 4 rows. Other groups take
// the AVX2 family's scores: on a 2-core Zen 4 (which runs 512-bit ops as two halves) the 2- and
// 3-head blocks here were slower than those, in 4-5 of 5 alternating rounds: GQA16 at 16K
// 2.44-3.18 against 2.80-3.49 ms a layer, SmolLM2 at 4K 113-157 against 124-183 us.
void ScoresT(const float* q, int g, int hd, float scale, const void* k, int64_t n, float* scores,
             int64_t stride, NextReads next) {
  if (g % 4 != 0) {
    static const AttentionKernels* const avx2 = Avx2AttentionKernels(kHd);  // same head_dims
    SIGMA_CHECK(avx2 != nullptr, "attention: no AVX2 kernels for head_dim ", kHd);
    return avx2->scores(q, g, hd, scale, k, kType, n, scores, stride, next);
  }
  thread_local AlignedScratch<float> prepared;
  float* qp = prepared.Get(static_cast<size_t>(g) * kHd);
  PrepareQuery<kHd, kType>(q, g, qp);
  ScoresBlocks<kHd, kType, 4, 4>(qp, g, scale, k, n, scores, stride, next);
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
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t b = 0; b < kRowBytes; b += 64) {
      _mm_prefetch(static_cast<const char*>(v) + (j + kPrefetchAhead) * kRowBytes + b, _MM_HINT_T0);
    }
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

float ExpSum(float* s, int64_t n, float max) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 sum = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
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

// The typed kernels of this family, for KernelFamily (attention_internal.h).
struct Avx512Typed {
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

const AttentionKernels* Avx512AttentionKernels(int hd) { return FamilyKernels<Avx512Typed>(hd); }

}  // namespace sigma::internal
