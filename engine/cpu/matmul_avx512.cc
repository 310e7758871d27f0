// AVX-512 GEMV/GEMM row kernels (see matmul_internal.h). Compiled with -mavx512{f,bw,vl,dq,bf16};
// only called where CpuSupportsAvx512Bf16().
//
// Each weight row is consumed in chunks of 32 elements. A Loader turns chunk c of a row into two
// f32 vectors (lo, hi). bf16 is widened by shifting (exact): a 64-byte load holds pairs, `<< 16`
// gives the even elements and `& 0xffff0000` the odd ones, so the activations are pre-split into
// even/odd halves per chunk (kPermuted). Other types load in natural order. Accumulation is f32
// FMA, R weight rows x NB batch rows per pass so every activation load serves R rows.
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_stream_row.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma::internal {
namespace {

inline float HalfAt(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline __m512 U8ToF32(__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)); }

struct F32Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    const float* p = reinterpret_cast<const float*>(row) + 32 * c;
    lo = _mm512_loadu_ps(p);
    hi = _mm512_loadu_ps(p + 16);
  }
};

struct F16Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    const uint8_t* p = row + 64 * c;
    lo = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    hi = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)));
  }
};

struct Bf16Loader {
  static constexpr bool kPermuted = true;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& even, __m512& odd) {
    const __m512i v = _mm512_loadu_si512(row + 64 * c);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
  }
};

struct Q8_0Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    const uint8_t* b = row + 34 * c;
    const __m512 d = _mm512_set1_ps(HalfAt(b));
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 18));
    lo = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0)));
    hi = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1)));
  }
};

// Q4_0 / Q4_1 / Q5_0 / Q5_1 (kFive: with a qh word; kMin: with an f16 min instead of a bias).
template <bool kFive, bool kMin>
struct Q45Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    constexpr int64_t kBytes = 2 + (kMin ? 2 : 0) + (kFive ? 4 : 0) + 16;
    const uint8_t* b = row + kBytes * c;
    const float d = HalfAt(b);
    const float offset = kMin ? HalfAt(b + 2) : -(kFive ? 16.0f : 8.0f) * d;
    const uint8_t* qs = b + kBytes - 16;
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    __m512i ql = _mm512_and_si512(v, _mm512_set1_epi32(0x0f));
    __m512i qh = _mm512_srli_epi32(v, 4);
    if constexpr (kFive) {
      uint32_t bits;
      std::memcpy(&bits, b + (kMin ? 4 : 2), 4);
      const __m512i sixteen = _mm512_set1_epi32(16);
      ql = _mm512_mask_or_epi32(ql, static_cast<__mmask16>(bits & 0xffff), ql, sixteen);
      qh = _mm512_mask_or_epi32(qh, static_cast<__mmask16>(bits >> 16), qh, sixteen);
    }
    lo = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ql), _mm512_set1_ps(d), _mm512_set1_ps(offset));
    hi = _mm512_fmadd_ps(_mm512_cvtepi32_ps(qh), _mm512_set1_ps(d), _mm512_set1_ps(offset));
  }
};

// MXFP4 / IQ4_NL / IQ4_XS: the nibbles' table values looked up as bytes, times the block's scale.
template <DType kType>
struct TableNibbleLoader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    float scale;
    const uint8_t* qs = TableNibbleBlock<kType>(row, c, &scale);
    const __m512 d = _mm512_set1_ps(scale);
    const __m128i table =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(TableNibbleValues<kType>()));
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i mask = _mm_set1_epi8(0x0f);
    const __m128i ql = _mm_shuffle_epi8(table, _mm_and_si128(v, mask));
    const __m128i qh = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(v, 4), mask));
    lo = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(ql)), d);
    hi = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(qh)), d);
  }
};

// Q4_K / Q5_K: chunk c is sub-block c % 8 of super-block c / 8.
template <bool kFive>
struct K45Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    constexpr int64_t kBytes = kFive ? 176 : 144;
    const uint8_t* b = row + kBytes * (c / 8);
    const int j = static_cast<int>(c % 8);
    int sc, m;
    UnpackKScaleMin(b + 4, j, &sc, &m);
    const float d = HalfAt(b) * static_cast<float>(sc);
    const float offset = -HalfAt(b + 2) * static_cast<float>(m);
    const uint8_t* qs = b + (kFive ? 48 : 16) + 32 * (j / 2);
    const int shift = 4 * (j & 1);
    const __m512i mask = _mm512_set1_epi32(0x0f);
    const __m128i s = _mm_cvtsi32_si128(shift);
    __m512i q0 = _mm512_and_si512(
        _mm512_srl_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs))), s),
        mask);
    __m512i q1 = _mm512_and_si512(
        _mm512_srl_epi32(
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16))), s),
        mask);
    if constexpr (kFive) {
      const uint8_t* qh = b + 16;
      const __m128i bit = _mm_set1_epi8(static_cast<char>(1 << j));
      const __mmask16 m0 =
          _mm_test_epi8_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qh)), bit);
      const __mmask16 m1 =
          _mm_test_epi8_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 16)), bit);
      const __m512i sixteen = _mm512_set1_epi32(16);
      q0 = _mm512_mask_or_epi32(q0, m0, q0, sixteen);
      q1 = _mm512_mask_or_epi32(q1, m1, q1, sixteen);
    }
    lo = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q0), _mm512_set1_ps(d), _mm512_set1_ps(offset));
    hi = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q1), _mm512_set1_ps(d), _mm512_set1_ps(offset));
  }
};

// Q6_K: chunk c is elements 32 (c % 8) .. +32 of super-block c / 8 (see quant_blocks.cc).
struct Q6KLoader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    const uint8_t* b = row + 210 * (c / 8);
    const int cc = static_cast<int>(c % 8);
    const int h = cc / 4;
    const int i = cc % 4;
    const uint8_t* ql = b + 64 * h + 32 * (i & 1);
    const uint8_t* qh = b + 128 + 32 * h;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192) + 8 * h + 2 * i;
    const float d = HalfAt(b + 208);
    const __m128i low_shift = _mm_cvtsi32_si128(i < 2 ? 0 : 4);
    const __m128i high_shift = _mm_cvtsi32_si128(2 * i);
    const __m512i mask4 = _mm512_set1_epi32(0x0f);
    const __m512i mask2 = _mm512_set1_epi32(0x03);
    const __m512i bias = _mm512_set1_epi32(32);
    __m512 out[2];
    for (int half = 0; half < 2; ++half) {
      const __m512i l = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 16 * half)));
      const __m512i hb = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 16 * half)));
      const __m512i q = _mm512_or_si512(
          _mm512_and_si512(_mm512_srl_epi32(l, low_shift), mask4),
          _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(hb, high_shift), mask2), 4));
      const float scale = d * static_cast<float>(sc[half]);
      out[half] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, bias)), _mm512_set1_ps(scale));
    }
    lo = out[0];
    hi = out[1];
  }
};

// Q2_K / Q3_K: chunk c is elements 32 (c % 8) .. +32 of super-block c / 8: sub-blocks 2 (c % 8)
// and 2 (c % 8) + 1, whose quants are bits 2 j .. 2 j + 1 of 32 bytes (quant_blocks.cc).
template <bool kThree>
struct K23Loader {
  static constexpr bool kPermuted = false;
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m512& lo, __m512& hi) {
    const uint8_t* b = row + (kThree ? 110 : 84) * (c / 8);
    const int cc = static_cast<int>(c % 8);
    const int h = cc / 4, j = cc % 4;
    const uint8_t* qs = b + (kThree ? 32 : 16) + 32 * h;
    const __m128i shift = _mm_cvtsi32_si128(2 * j);
    __m512 out[2];
    for (int half = 0; half < 2; ++half) {
      const int s = 8 * h + 2 * j + half;
      __m512i q = _mm512_and_si512(
          _mm512_srl_epi32(_mm512_cvtepu8_epi32(
                               _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16 * half))),
                           shift),
          _mm512_set1_epi32(3));
      float scale, offset;
      if constexpr (kThree) {
        const __mmask16 high =
            _mm_test_epi8_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * half)),
                               _mm_set1_epi8(static_cast<char>(1 << (4 * h + j))));
        q = _mm512_mask_or_epi32(q, high, q, _mm512_set1_epi32(4));  // q + 4 hbit, then - 4
        scale = HalfAt(b + 108) * static_cast<float>(Q3KScale(b + 96, s));
        offset = -4.0f * scale;
      } else {
        const uint8_t sc = b[s];
        scale = HalfAt(b + 80) * static_cast<float>(sc & 15);
        offset = -HalfAt(b + 82) * static_cast<float>(sc >> 4);
      }
      out[half] =
          _mm512_fmadd_ps(_mm512_cvtepi32_ps(q), _mm512_set1_ps(scale), _mm512_set1_ps(offset));
    }
    lo = out[0];
    hi = out[1];
  }
};

// The 512-bit vector ops of StreamRow (matmul_stream_row.h).
struct Zmm {
  using Vec = __m512;
  static constexpr int kLanes = 16;
  static Vec Zero() { return _mm512_setzero_ps(); }
  static Vec Load(const float* p) { return _mm512_loadu_ps(p); }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec Add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static float Sum(Vec v) { return _mm512_reduce_add_ps(v); }
};

// R weight rows from r0 times NB batch rows from b0.
template <class L, int R, int NB>
void RowTile(const MatMulArgs& a, int64_t r0, int64_t b0) {
  __m512 acc[R][NB];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm512_setzero_ps();
  }
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = a.w + (r0 + r) * a.row_bytes;
  const int64_t chunks = a.in / 32;
  const float* xp = a.x_prepared + b0 * a.in;
  for (int64_t c = 0; c < chunks; ++c) {
    __m512 xlo[NB], xhi[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      xlo[b] = _mm512_loadu_ps(xp + b * a.in + 32 * c);
      xhi[b] = _mm512_loadu_ps(xp + b * a.in + 32 * c + 16);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      __m512 wlo, whi;
      L::Load(rows[r], c, wlo, whi);
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) {
        acc[r][b] = _mm512_fmadd_ps(wlo, xlo[b], acc[r][b]);
        acc[r][b] = _mm512_fmadd_ps(whi, xhi[b], acc[r][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < NB; ++b) {
      float sum = _mm512_reduce_add_ps(acc[r][b]);
      const float* x = a.x + (b0 + b) * a.in;
      for (int64_t i = chunks * 32; i < a.in; ++i) sum += PlainAt(a.dtype, rows[r], i) * x[i];
      if (a.bias != nullptr) sum += a.bias[r0 + r];
      a.y[(b0 + b) * a.out + r0 + r] = sum;
    }
  }
}

template <class L, int R>
void RowsForBatch(const MatMulArgs& a, int64_t r0) {
  int64_t b = 0;
  for (; b + 4 <= a.batch; b += 4) RowTile<L, R, 4>(a, r0, b);
  switch (a.batch - b) {
    case 3: RowTile<L, R, 3>(a, r0, b); break;
    case 2: RowTile<L, R, 2>(a, r0, b); break;
    case 1: RowTile<L, R, 1>(a, r0, b); break;
    default: break;
  }
}

// Batch 1 measured on a 2-core Zen 4, alternating, 1 MB tasks, 128256 x 2048 bf16: 8-row tiles
// streamed at 41-44 GB/s while a plain read of the same bytes got 52-54 (one row at a time: 49-53),
// and 5-10% below it at ~32 GB/s.
template <class L>
void Rows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  int64_t r = row_begin;
  if (a.batch == 1) {
    if (StreamsRows(a)) {
      for (; r < row_end; ++r) StreamRow<Zmm, L>(a, r);
      return;
    }
    for (; r + 8 <= row_end; r += 8) RowTile<L, 8, 1>(a, r, 0);
  } else {
    for (; r + 4 <= row_end; r += 4) RowsForBatch<L, 4>(a, r);
  }
  for (; r < row_end; ++r) RowsForBatch<L, 1>(a, r);
}

}  // namespace

bool MatMulAvx512Supports(DType dtype, int64_t in) { return MatMulLoadersSupport(dtype, in); }

void MatMulPrepareXAvx512(DType dtype, const float* x, int64_t batch, int64_t in, float* prepared) {
  std::memcpy(prepared, x, static_cast<size_t>(batch * in) * sizeof(float));
  if (dtype != DType::kBF16) return;
  const __m512i even_idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_idx = _mm512_add_epi32(even_idx, _mm512_set1_epi32(1));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = 0; c + 32 <= in; c += 32) {
      const float* src = x + b * in + c;
      const __m512 v0 = _mm512_loadu_ps(src);
      const __m512 v1 = _mm512_loadu_ps(src + 16);
      _mm512_storeu_ps(prepared + b * in + c, _mm512_permutex2var_ps(v0, even_idx, v1));
      _mm512_storeu_ps(prepared + b * in + c + 16, _mm512_permutex2var_ps(v0, odd_idx, v1));
    }
  }
}

void MatMulRowsAvx512(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  switch (a.dtype) {
    case DType::kF32: return Rows<F32Loader>(a, row_begin, row_end);
    case DType::kF16: return Rows<F16Loader>(a, row_begin, row_end);
    case DType::kBF16: return Rows<Bf16Loader>(a, row_begin, row_end);
    case DType::kQ8_0: return Rows<Q8_0Loader>(a, row_begin, row_end);
    case DType::kQ4_0: return Rows<Q45Loader<false, false>>(a, row_begin, row_end);
    case DType::kQ4_1: return Rows<Q45Loader<false, true>>(a, row_begin, row_end);
    case DType::kQ5_0: return Rows<Q45Loader<true, false>>(a, row_begin, row_end);
    case DType::kQ5_1: return Rows<Q45Loader<true, true>>(a, row_begin, row_end);
    case DType::kQ4_K: return Rows<K45Loader<false>>(a, row_begin, row_end);
    case DType::kQ5_K: return Rows<K45Loader<true>>(a, row_begin, row_end);
    case DType::kQ6_K: return Rows<Q6KLoader>(a, row_begin, row_end);
    case DType::kQ2_K: return Rows<K23Loader<false>>(a, row_begin, row_end);
    case DType::kQ3_K: return Rows<K23Loader<true>>(a, row_begin, row_end);
    case DType::kMXFP4: return Rows<TableNibbleLoader<DType::kMXFP4>>(a, row_begin, row_end);
    case DType::kIQ4_NL: return Rows<TableNibbleLoader<DType::kIQ4_NL>>(a, row_begin, row_end);
    case DType::kIQ4_XS: return Rows<TableNibbleLoader<DType::kIQ4_XS>>(a, row_begin, row_end);
    default: SIGMA_CHECK(false, "MatMulRowsAvx512: unsupported ", DTypeName(a.dtype));
  }
}

}  // namespace sigma::internal
