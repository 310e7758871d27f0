// Integer-activation GEMV kernels for Q4_0 / Q4_1 / Q8_0 weights (AVX512-VNNI); see
// matmul_internal.h. Compiled with the AVX-512 flags plus -mavx512vnni; only called where
// CpuSupportsAvx512Bf16() (which also requires VNNI).
//
// Why: at batch 1 the f32 path (matmul_avx512.cc) spends ~12 vector ops per 32-weight block to
// widen nibbles to f32 and FMA them, which makes the 4-bit GEMV compute-bound (~8 GB/s at 2 threads
// on the 2-core Zen 4). Here the activation row is quantized once per call to int16 blocks of 32
// (scale amax / 32767) and each weight block is widened to int16 and reduced with vpmaddwd +
// vpdpwssd on 256-bit vectors (Zen 4 splits 512-bit ops in two; 256-bit measured faster).
//   Q4_1: sum_i (d q_i + m) x_i = d dx sum_i q_i xq_i + m sum_i x_i  (exact f32 block sum of x)
//   Q4_0: the same with m = -8 d;  Q8_0: d dx sum_i q_i xq_i.
// int16, not int8 (ggml's choice): SmolLM2's activations have outlier channels, and int8 blocks
// (amax / 127) moved its next-token log-probs by up to 1.5 against the float64 reference (int16:
// see tests/engine/smollm2_reference_test.cc). No overflow: |q| <= 127, |xq| <= 32767, 32 terms.
// Per group of 8 blocks the weight scales (and Q4 mins) of a row are assembled in one vector and
// multiplied by the activation scales in one op; each block's int32 dot is converted and FMA'd with
// its lane of that product. Rows are prefetched two 4-row tiles ahead.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"

namespace sigma::internal {
namespace {

// Block formats: bytes per block, offset of the quants, and how the min is found.
struct Q4_0Format {
  static constexpr int64_t kBytes = 18;
  static constexpr int kQuants = 2;
  static constexpr int kMin = 1;  // m = -8 d
  static void Weights(const uint8_t* block, __m256i& lo, __m256i& hi) {
    Nibbles(block + kQuants, lo, hi);
  }
  // Elements 0..15 (low nibbles) and 16..31 (high nibbles) as int16.
  static void Nibbles(const uint8_t* qs, __m256i& lo, __m256i& hi) {
    const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
    lo = _mm256_and_si256(v, _mm256_set1_epi16(0x0f));
    hi = _mm256_srli_epi16(v, 4);
  }
};

struct Q4_1Format : Q4_0Format {
  static constexpr int64_t kBytes = 20;
  static constexpr int kQuants = 4;
  static constexpr int kMin = 2;  // f16 min after the f16 scale
  static void Weights(const uint8_t* block, __m256i& lo, __m256i& hi) {
    Nibbles(block + kQuants, lo, hi);
  }
};

struct Q8_0Format {
  static constexpr int64_t kBytes = 34;
  static constexpr int kMin = 0;
  static void Weights(const uint8_t* block, __m256i& lo, __m256i& hi) {
    lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2)));
    hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 18)));
  }
};

// Scales (and mins) of blocks g .. g+7 of a row, read with scalar loads and assembled in a vector
// (Q4_0 / Q4_1: each 32-bit load takes the f16 scale and the f16 that follows, the Q4_1 min).
template <class F>
void GroupScales(const uint8_t* row, int64_t g, __mmask8 mask, __m256& d, __m256& m) {
  const uint8_t* p = row + g * F::kBytes;
  if constexpr (F::kMin == 0) {
    uint16_t v[8];
    const int n = __builtin_popcount(mask);
    for (int j = 0; j < 8; ++j) {
      uint16_t half = 0;
      if (j < n) std::memcpy(&half, p + j * F::kBytes, 2);
      v[j] = half;
    }
    d = _mm256_cvtph_ps(_mm_setr_epi16(static_cast<int16_t>(v[0]), static_cast<int16_t>(v[1]),
                                       static_cast<int16_t>(v[2]), static_cast<int16_t>(v[3]),
                                       static_cast<int16_t>(v[4]), static_cast<int16_t>(v[5]),
                                       static_cast<int16_t>(v[6]), static_cast<int16_t>(v[7])));
  } else {
    // Measured faster than vpgatherdd on Zen 4, where the gather took a quarter of the GEMV time.
    uint32_t v[8];
    const int n = __builtin_popcount(mask);
    for (int j = 0; j < 8; ++j) {
      uint32_t word = 0;
      if (j < n) std::memcpy(&word, p + j * F::kBytes, 4);
      v[j] = word;
    }
    const __m256i dm = _mm256_setr_epi32(static_cast<int>(v[0]), static_cast<int>(v[1]),
                                         static_cast<int>(v[2]), static_cast<int>(v[3]),
                                         static_cast<int>(v[4]), static_cast<int>(v[5]),
                                         static_cast<int>(v[6]), static_cast<int>(v[7]));
    d = _mm256_cvtph_ps(_mm256_cvtepi32_epi16(dm));
    if constexpr (F::kMin == 2) {
      m = _mm256_cvtph_ps(_mm256_cvtepi32_epi16(_mm256_srli_epi32(dm, 16)));
    } else {
      m = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
    }
  }
}

// Software prefetch distance in row tiles: the hardware prefetcher alone left the Q8_0 lm_head
// (49152 rows of 612 bytes, 4 interleaved row streams) at 13 GB/s; two tiles ahead gave 38 GB/s
// (L3-resident) and helped the Q4_1 projections too (measured 1, 2, 4, 8, 16: 2 was best overall).
constexpr int64_t kPrefetchTiles = 2;

// R weight rows from r0 times NB batch rows from b0.
template <class F, int R, int NB>
void Int16Tile(const MatMulArgs& a, int64_t r0, int64_t b0) {
  const int64_t blocks = a.in / 32;
  const int64_t prefetch = kPrefetchTiles * R * a.row_bytes;
  __m256 acc[R][NB];
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) {
    rows[r] = a.w + (r0 + r) * a.row_bytes;
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  for (int64_t g = 0; g < blocks; g += 8) {
    const int n = static_cast<int>(std::min<int64_t>(8, blocks - g));
    const __mmask8 mask = static_cast<__mmask8>((1u << n) - 1);
    __m256 dx[NB];
    for (int b = 0; b < NB; ++b) dx[b] = _mm256_maskz_loadu_ps(mask, a.xq_scale + (b0 + b) * blocks + g);
    __m256 scale[R][NB];
    for (int r = 0; r < R; ++r) {
      __m256 d, m;
      GroupScales<F>(rows[r], g, mask, d, m);
      for (int b = 0; b < NB; ++b) {
        scale[r][b] = _mm256_mul_ps(d, dx[b]);
        if constexpr (F::kMin != 0) {
          const __m256 sx = _mm256_maskz_loadu_ps(mask, a.xq_sum + (b0 + b) * blocks + g);
          acc[r][b] = _mm256_fmadd_ps(m, sx, acc[r][b]);
        }
      }
    }
    for (int j = 0; j < n; ++j) {
      const __m256i lane = _mm256_set1_epi32(j);
      __m256i xlo[NB], xhi[NB];
      for (int b = 0; b < NB; ++b) {
        const int16_t* xb = a.xq + ((b0 + b) * blocks + g + j) * 32;
        xlo[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb));
        xhi[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 16));
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const uint8_t* block = rows[r] + (g + j) * F::kBytes;
        _mm_prefetch(reinterpret_cast<const char*>(block + prefetch), _MM_HINT_T0);
        __m256i wlo, whi;
        F::Weights(block, wlo, whi);
#pragma GCC unroll 4
        for (int b = 0; b < NB; ++b) {
          const __m256i lo = _mm256_madd_epi16(wlo, xlo[b]);
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_dpwssd_epi32(lo, whi, xhi[b]));
          acc[r][b] = _mm256_fmadd_ps(dot, _mm256_permutexvar_ps(lane, scale[r][b]), acc[r][b]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < NB; ++b) {
      const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc[r][b]), _mm256_extractf128_ps(acc[r][b], 1));
      const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
      float sum = _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
      if (a.bias != nullptr) sum += a.bias[r0 + r];
      a.y[(b0 + b) * a.out + r0 + r] = sum;
    }
  }
}

template <class F, int R>
void Int16RowsForBatch(const MatMulArgs& a, int64_t r0) {
  int64_t b = 0;
  for (; b + 2 <= a.batch; b += 2) Int16Tile<F, R, 2>(a, r0, b);
  if (b < a.batch) Int16Tile<F, R, 1>(a, r0, b);
}

template <class F>
void Int16Rows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) Int16RowsForBatch<F, 4>(a, r);
  for (; r < row_end; ++r) Int16RowsForBatch<F, 1>(a, r);
}

}  // namespace

bool MatMulInt16Supports(DType dtype, int64_t in, int64_t batch) {
  if (in % 32 != 0 || batch > kMatMulInt16MaxBatch) return false;
  return dtype == DType::kQ4_0 || dtype == DType::kQ4_1 || dtype == DType::kQ8_0;
}

void MatMulQuantizeXInt16(const float* x, int64_t batch, int64_t in, int16_t* xq, float* scale,
                         float* sum) {
  const int64_t blocks = in / 32;
  for (int64_t i = 0; i < batch * blocks; ++i) {
    const __m512 v0 = _mm512_loadu_ps(x + 32 * i);
    const __m512 v1 = _mm512_loadu_ps(x + 32 * i + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 32767.0f;
    const __m512 inv = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    const __m256i q0 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)));
    const __m256i q1 = _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inv)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * i), q0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * i + 16), q1);
    scale[i] = d;
    sum[i] = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));
  }
}

void MatMulRowsInt16(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  switch (a.dtype) {
    case DType::kQ4_0: return Int16Rows<Q4_0Format>(a, row_begin, row_end);
    case DType::kQ4_1: return Int16Rows<Q4_1Format>(a, row_begin, row_end);
    case DType::kQ8_0: return Int16Rows<Q8_0Format>(a, row_begin, row_end);
    default: SIGMA_CHECK(false, "MatMulRowsInt16: unsupported ", DTypeName(a.dtype));
  }
}

}  // namespace sigma::internal
