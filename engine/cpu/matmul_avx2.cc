// AVX2 + FMA + F16C GEMV/GEMM row kernels (see matmul_internal.h) for f32, f16, bf16, Q8_0, Q4_0,
// Q4_1, Q5_0, Q5_1 and the K-quants Q4_K, Q5_K, Q6_K. Compiled with -mavx2 -mfma -mf16c; only
// called where CpuSupportsAvx2() (and the AVX-512 family is not active). Q4_0 / Q4_1 / Q8_0 / Q4_K
// at batch <= 8 go to the integer kernels (matmul_int16_avx2.cc, matmul_tile_kernel.h) instead;
// these float kernels take them at larger batches.
//
// Same scheme as matmul_avx512.cc, sized for 16 ymm registers. Each weight row is consumed in
// chunks of 16 elements; a Loader turns chunk c of a row into two f32 vectors. bf16 is widened by
// shifting (exact): a 32-byte load holds pairs, `<< 16` gives the even elements and
// `& 0xffff0000` the odd ones, so the activations are pre-split into even/odd halves per chunk
// (kPermuted). Other types load in natural order. Accumulation is f32 FMA, R weight rows x NB
// batch rows per pass so every activation load serves R rows; rows are prefetched a few tiles
// ahead. Batches of 8 rows or more (prefill) go through a GEMM instead: 16 weight rows widened
// once into a k-major panel, 6 x 16 outputs per micro-kernel (see kGemmMinBatch). The rows after
// the last whole panel keep the dot-product tiles; quantized ones at batch >= 4 are widened to
// f32 once into L1 per 4-row tile, so the dequantisation is not repeated per batch pair.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_stream_row.h"
#include "engine/cpu/quant_blocks.h"
#include "engine/cpu/transpose_avx2.h"

namespace sigma::internal {
namespace {

inline float HalfAt(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

struct F32Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    const float* p = reinterpret_cast<const float*>(row) + 16 * c;
    lo = _mm256_loadu_ps(p);
    hi = _mm256_loadu_ps(p + 8);
  }
};

struct F16Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    const uint8_t* p = row + 32 * c;
    lo = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    hi = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)));
  }
};

struct Bf16Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& even, __m256& odd) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 32 * c));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xffff0000u))));
  }
};

// Chunk c is half c % 2 of 32-element block c / 2.
struct Q8_0Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    const uint8_t* b = row + 34 * (c / 2);
    const __m256 d = _mm256_set1_ps(HalfAt(b));
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 + 16 * (c % 2)));
    lo = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
    hi = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(q, q))));
  }
};

// 16 bytes of quants (each < 32) as two f32 vectors d q + offset, elements 0-7 and 8-15.
inline void ScaleQuants(__m128i q, float d, float offset, __m256& lo, __m256& hi) {
  const __m256 vd = _mm256_set1_ps(d);
  const __m256 vo = _mm256_set1_ps(offset);
  lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q)), vd, vo);
  hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(q, q))), vd, vo);
}

// 16 in each byte of q whose bit of `bits` (bit i for byte i) is set.
inline __m128i FifthBits(uint32_t bits) {
  const __m128i spread = _mm_shuffle_epi8(_mm_cvtsi32_si128(static_cast<int>(bits)),
                                          _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const __m128i select = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(spread, select), select), _mm_set1_epi8(16));
}

// Q4_0 / Q4_1 / Q5_0 / Q5_1 (kFive: with the fifth bits in a 32-bit qh word, bit l for element
// l; kMin: with an f16 min instead of the -8 d / -16 d bias). Half 0 of a block is the low nibbles
// of its 16 quant bytes, half 1 the high nibbles.
template <bool kFive, bool kMin>
struct Q45Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    constexpr int64_t kBytes = 2 + (kMin ? 2 : 0) + (kFive ? 4 : 0) + 16;
    const uint8_t* b = row + kBytes * (c / 2);
    const float d = HalfAt(b);
    const float offset = kMin ? HalfAt(b + 2) : -(kFive ? 16.0f : 8.0f) * d;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + kBytes - 16));
    const int half = static_cast<int>(c % 2);
    __m128i q = _mm_and_si128(half == 0 ? v : _mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
    if constexpr (kFive) {
      uint32_t qh;
      std::memcpy(&qh, b + (kMin ? 4 : 2), 4);
      q = _mm_or_si128(q, FifthBits(qh >> (16 * half)));
    }
    ScaleQuants(q, d, offset, lo, hi);
  }
};

// MXFP4 / IQ4_NL / IQ4_XS: chunk c is half c % 2 of block c / 2; the nibbles' table values looked
// up as bytes, times the block's scale.
template <DType kType>
struct TableNibbleLoader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    float scale;
    const uint8_t* qs = TableNibbleBlock<kType>(row, c / 2, &scale);
    const __m256 d = _mm256_set1_ps(scale);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m128i q = _mm_and_si128(c % 2 == 0 ? v : _mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
    const __m128i x = _mm_shuffle_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(TableNibbleValues<kType>())), q);
    lo = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(x)), d);
    hi = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(x, 8))), d);
  }
};

// Q4_K / Q5_K: chunk c is half c % 2 of sub-block (c / 2) % 8 of super-block c / 16.
template <bool kFive>
struct K45Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    constexpr int64_t kBytes = kFive ? 176 : 144;
    const uint8_t* b = row + kBytes * (c / 16);
    const int j = static_cast<int>((c / 2) % 8);
    const int half = static_cast<int>(c % 2);
    int sc, m;
    UnpackKScaleMin(b + 4, j, &sc, &m);
    const float d = HalfAt(b) * static_cast<float>(sc);
    const float offset = -HalfAt(b + 2) * static_cast<float>(m);
    const uint8_t* qs = b + (kFive ? 48 : 16) + 32 * (j / 2) + 16 * half;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    __m128i q = _mm_and_si128((j & 1) == 0 ? v : _mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
    if constexpr (kFive) {
      const __m128i bit = _mm_set1_epi8(static_cast<char>(1 << j));
      const __m128i qh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 + 16 * half));
      q = _mm_or_si128(q, _mm_and_si128(_mm_cmpeq_epi8(_mm_and_si128(qh, bit), bit),
                                        _mm_set1_epi8(16)));
    }
    ScaleQuants(q, d, offset, lo, hi);
  }
};

// Q6_K: chunk c is half c % 2 of elements 32 ((c / 2) % 8) .. +32 of super-block c / 16 (see
// quant_blocks.cc), each half with its own 8-bit scale.
struct Q6KLoader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    const uint8_t* b = row + 210 * (c / 16);
    const int cc = static_cast<int>((c / 2) % 8);
    const int half = static_cast<int>(c % 2);
    const int h = cc / 4;
    const int i = cc % 4;
    const __m128i l = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(b + 64 * h + 32 * (i & 1) + 16 * half));
    const __m128i hb =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 128 + 32 * h + 16 * half));
    const __m128i low = _mm_and_si128(i < 2 ? l : _mm_srli_epi16(l, 4), _mm_set1_epi8(0x0f));
    const __m128i high = _mm_and_si128(_mm_srl_epi16(hb, _mm_cvtsi32_si128(2 * i)),
                                       _mm_set1_epi8(0x03));
    const __m128i q = _mm_or_si128(low, _mm_slli_epi16(high, 4));  // < 64, no carry across bytes
    const int8_t scale = static_cast<int8_t>(b[192 + 8 * h + 2 * i + half]);
    const float d = HalfAt(b + 208) * static_cast<float>(scale);
    ScaleQuants(q, d, -32.0f * d, lo, hi);
  }
};

// Q2_K / Q3_K: chunk c is sub-block c % 16 of super-block c / 16: 16 quants, bits 2 j .. 2 j + 1
// of 16 bytes (quant_blocks.cc), one scale.
template <bool kThree>
struct K23Loader {
  [[gnu::always_inline]] static void Load(const uint8_t* row, int64_t c, __m256& lo, __m256& hi) {
    const uint8_t* b = row + (kThree ? 110 : 84) * (c / 16);
    const int cc = static_cast<int>((c / 2) % 8);
    const int half = static_cast<int>(c % 2);
    const int h = cc / 4, j = cc % 4, s = 8 * h + 2 * j + half;
    const __m128i bytes = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(b + (kThree ? 32 : 16) + 32 * h + 16 * half));
    __m128i q = _mm_and_si128(_mm_srl_epi16(bytes, _mm_cvtsi32_si128(2 * j)), _mm_set1_epi8(3));
    if constexpr (kThree) {
      const __m128i hmask = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * half));
      const __m128i high =
          _mm_and_si128(_mm_srl_epi16(hmask, _mm_cvtsi32_si128(4 * h + j)), _mm_set1_epi8(1));
      q = _mm_or_si128(q, _mm_slli_epi16(high, 2));  // q + 4 hbit (< 8: no carry), then - 4
      const float scale = HalfAt(b + 108) * static_cast<float>(Q3KScale(b + 96, s));
      ScaleQuants(q, scale, -4.0f * scale, lo, hi);
    } else {
      const uint8_t sc = b[s];
      ScaleQuants(q, HalfAt(b + 80) * static_cast<float>(sc & 15),
                  -HalfAt(b + 82) * static_cast<float>(sc >> 4), lo, hi);
    }
  }
};

inline float HorizontalSum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

// Row tiles the weights are prefetched ahead (the hardware prefetcher alone does not keep R
// interleaved row streams in flight).
constexpr int64_t kPrefetchTiles = 2;

// R weight rows (row r at w + r * row_bytes, read with L; `dtype` for the tail columns) times NB
// batch rows from b0; results go to outputs r0 .. r0 + R.
template <class L, int R, int NB>
void RowTile(const MatMulArgs& a, int64_t r0, int64_t b0, const uint8_t* w, int64_t row_bytes,
             DType dtype) {
  __m256 acc[R][NB];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) acc[r][b] = _mm256_setzero_ps();
  }
  const uint8_t* rows[R];
  for (int r = 0; r < R; ++r) rows[r] = w + r * row_bytes;
  const int64_t chunks = a.in / 16;
  // Bytes of a row per chunk (quantized: half a block, prefetched once per whole block).
  const int64_t chunk_bytes = row_bytes * 16 / a.in;
  const int64_t prefetch = kPrefetchTiles * R * row_bytes;
  const float* xp = a.x_prepared + b0 * a.in;
  for (int64_t c = 0; c < chunks; ++c) {
    __m256 xlo[NB], xhi[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      xlo[b] = _mm256_loadu_ps(xp + b * a.in + 16 * c);
      xhi[b] = _mm256_loadu_ps(xp + b * a.in + 16 * c + 8);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      if ((c * chunk_bytes) % 64 < chunk_bytes) {
        _mm_prefetch(reinterpret_cast<const char*>(rows[r] + c * chunk_bytes + prefetch), _MM_HINT_T0);
      }
      __m256 wlo, whi;
      L::Load(rows[r], c, wlo, whi);
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) {
        acc[r][b] = _mm256_fmadd_ps(wlo, xlo[b], acc[r][b]);
        acc[r][b] = _mm256_fmadd_ps(whi, xhi[b], acc[r][b]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int b = 0; b < NB; ++b) {
      float sum = HorizontalSum(acc[r][b]);
      const float* x = a.x + (b0 + b) * a.in;
      for (int64_t i = chunks * 16; i < a.in; ++i) sum += PlainAt(dtype, rows[r], i) * x[i];
      if (a.bias != nullptr) sum += a.bias[r0 + r];
      a.y[(b0 + b) * a.out + r0 + r] = sum;
    }
  }
}

// The 256-bit vector ops of StreamRow (matmul_stream_row.h).
struct Ymm {
  using Vec = __m256;
  static constexpr int kLanes = 8;
  static Vec Zero() { return _mm256_setzero_ps(); }
  static Vec Load(const float* p) { return _mm256_loadu_ps(p); }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec Add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static float Sum(Vec v) { return HorizontalSum(v); }
};

template <class L, int R>
void RowsForBatch(const MatMulArgs& a, int64_t r0, const uint8_t* w, int64_t row_bytes, DType dtype) {
  int64_t b = 0;
  for (; b + 2 <= a.batch; b += 2) RowTile<L, R, 2>(a, r0, b, w, row_bytes, dtype);
  if (b < a.batch) RowTile<L, R, 1>(a, r0, b, w, row_bytes, dtype);
}

// Batch rows at which a quantized row tile is widened to f32 once (into L1) instead of once per
// batch pair (Q4_1 2048x2048 at batch 16, 1 thread: 8.9 -> 4.7 ms CPU; bf16 / f16, whose widening
// is 1-2 ops per 8 elements, measured slower that way and keep widening in the loop).
constexpr int64_t kDecodeOnceBatch = 4;

// ---- Prefill GEMM (batch >= kGemmMinBatch) ----
//
// Outer products instead of dot products: 16 weight rows are widened once into a panel
// p[k][16] (k in the loader's element order, which x_prepared shares), and a micro-kernel keeps
// a 6 x 16 block of y in 12 accumulators: per k, two panel loads, six broadcasts of x and twelve
// FMAs, no horizontal sums. The dot-product tiles above re-read every batch row's activations
// for each 4-row tile and reduce 8 lanes per output. 2 threads, 2-core Zen 3, A/B in the same
// minutes: Q4_1 1536 x 576 at batch 128 91 -> 163-166 GFLOP/s (the FMA peak is 195), batch 32
// 69-89 -> 137-139; bf16 2048 x 2048 at batch 64-128 85-104 -> 134-158; SmolLM2 prefill of 128 /
// 512 tokens 169-351 / 230-297 -> 471-606 / 341-578 tok/s (3 rounds). A k-block-outer loop order
// (the panel's block in L1 for every batch row) measured ~5% slower. Each output sums k in
// blocks of kGemmKBlock (a chain of 64, the blocks added in order, then the bias): the rounding
// depth of the 8-lane dots, and, from 8 batch rows up, the same bits for any batch size, batch
// grouping or thread count (the last out % 16 rows, after the last panel, take the tiles above).
constexpr int64_t kGemmMinBatch = 8;
constexpr int kPanelRows = 16;
constexpr int kGemmBatchRows = 6;
constexpr int64_t kGemmKBlock = 64;

// Rows [r0, r0 + kPanelRows) widened into panel[k][kPanelRows]: per 8 rows and 16 elements, the
// loader's two vectors of each row, transposed in registers.
template <class L>
void PackPanel(const MatMulArgs& a, int64_t r0, float* panel) {
  const int64_t chunks = a.in / 16;
  for (int r8 = 0; r8 < kPanelRows; r8 += 8) {
    const uint8_t* rows[8];
    for (int i = 0; i < 8; ++i) rows[i] = a.w + (r0 + r8 + i) * a.row_bytes;
    for (int64_t c = 0; c < chunks; ++c) {
      __m256 lo[8], hi[8];
      for (int i = 0; i < 8; ++i) L::Load(rows[i], c, lo[i], hi[i]);
      Transpose8(lo);
      Transpose8(hi);
      float* dst = panel + 16 * c * kPanelRows + r8;
      for (int i = 0; i < 8; ++i) {
        _mm256_store_ps(dst + i * kPanelRows, lo[i]);
        _mm256_store_ps(dst + (8 + i) * kPanelRows, hi[i]);
      }
    }
    for (int64_t k = chunks * 16; k < a.in; ++k) {
      for (int i = 0; i < 8; ++i) panel[k * kPanelRows + r8 + i] = PlainAt(a.dtype, rows[i], k);
    }
  }
}

// y[b][0..16) (+)= sum over k in [k0, k1) of x[b][k] * panel[k][0..16), b < NB; `first` stores.
template <int NB>
inline void GemmBlock(const float* panel, const float* x, int64_t in, int64_t k0, int64_t k1,
                      float* y, int64_t out, bool first) {
  __m256 acc[NB][2];
#pragma GCC unroll 6
  for (int b = 0; b < NB; ++b) acc[b][0] = acc[b][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t k = k0; k < k1; ++k) {
    const __m256 w0 = _mm256_load_ps(panel + k * kPanelRows);
    const __m256 w1 = _mm256_load_ps(panel + k * kPanelRows + 8);
#pragma GCC unroll 6
    for (int b = 0; b < NB; ++b) {
      const __m256 xb = _mm256_broadcast_ss(x + b * in + k);
      acc[b][0] = _mm256_fmadd_ps(xb, w0, acc[b][0]);
      acc[b][1] = _mm256_fmadd_ps(xb, w1, acc[b][1]);
    }
  }
#pragma GCC unroll 6
  for (int b = 0; b < NB; ++b) {
    float* yb = y + b * out;
    if (!first) {
      acc[b][0] = _mm256_add_ps(_mm256_loadu_ps(yb), acc[b][0]);
      acc[b][1] = _mm256_add_ps(_mm256_loadu_ps(yb + 8), acc[b][1]);
    }
    _mm256_storeu_ps(yb, acc[b][0]);
    _mm256_storeu_ps(yb + 8, acc[b][1]);
  }
}

template <int NB>
void GemmRows(const float* panel, const MatMulArgs& a, int64_t r0, int64_t b0) {
  const float* x = a.x_prepared + b0 * a.in;
  float* y = a.y + b0 * a.out + r0;
  for (int64_t k0 = 0; k0 < a.in; k0 += kGemmKBlock) {
    GemmBlock<NB>(panel, x, a.in, k0, std::min(a.in, k0 + kGemmKBlock), y, a.out, k0 == 0);
  }
  if (a.bias != nullptr) {
    for (int b = 0; b < NB; ++b) {
      for (int r = 0; r < kPanelRows; ++r) y[b * a.out + r] += a.bias[r0 + r];
    }
  }
}

// Whole panels of [row_begin, row_end); returns the first row not done.
template <class L>
int64_t GemmPanels(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  thread_local std::vector<float> panel_storage;
  panel_storage.resize(static_cast<size_t>(a.in * kPanelRows + 8));
  // 32-byte aligned panel rows for the aligned loads.
  float* panel = panel_storage.data() +
                 (8 - reinterpret_cast<uintptr_t>(panel_storage.data()) / 4 % 8) % 8;
  int64_t r = row_begin;
  for (; r + kPanelRows <= row_end; r += kPanelRows) {
    PackPanel<L>(a, r, panel);
    int64_t b = 0;
    for (; b + kGemmBatchRows <= a.batch; b += kGemmBatchRows) {
      GemmRows<kGemmBatchRows>(panel, a, r, b);
    }
    switch (a.batch - b) {
      case 5: GemmRows<5>(panel, a, r, b); break;
      case 4: GemmRows<4>(panel, a, r, b); break;
      case 3: GemmRows<3>(panel, a, r, b); break;
      case 2: GemmRows<2>(panel, a, r, b); break;
      case 1: GemmRows<1>(panel, a, r, b); break;
      default: break;
    }
  }
  return r;
}

template <class L>
void Rows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  int64_t r = row_begin;
  // One row at a time on the 2-core Zen 4 with SIGMA_CPU_ISA=avx2, alternating against the 4-row
  // tiles with their software prefetch: bf16 128256 x 2048 19.7-21.1 -> 11.2-13.8 ms, 6144 x 2048
  // 950-987 -> 622-799 us, 2048 x 2048 306-335 -> 239-258 us (best and median of 8 rounds each).
  if (StreamsRows(a)) {
    for (; r < row_end; ++r) StreamRow<Ymm, L>(a, r);
    return;
  }
  if (a.batch >= kGemmMinBatch) r = GemmPanels<L>(a, row_begin, row_end);
  if (DTypeIsQuantized(a.dtype) && a.batch >= kDecodeOnceBatch) {
    // Small GEMM (prefill): widen 4 rows to f32 (in the loader's element order, tail columns
    // after the whole chunks in natural order), then run every batch pair on the f32 copy.
    thread_local std::vector<float> tile;
    tile.resize(static_cast<size_t>(4 * a.in));
    const int64_t chunks = a.in / 16;
    for (; r + 4 <= row_end; r += 4) {
      for (int k = 0; k < 4; ++k) {
        const uint8_t* row = a.w + (r + k) * a.row_bytes;
        float* dst = tile.data() + k * a.in;
        for (int64_t c = 0; c < chunks; ++c) {
          if ((c * 32) % 64 == 0) {
            _mm_prefetch(reinterpret_cast<const char*>(row + a.row_bytes * 4 + c * a.row_bytes * 16 / a.in),
                         _MM_HINT_T0);
          }
          __m256 lo, hi;
          L::Load(row, c, lo, hi);
          _mm256_storeu_ps(dst + 16 * c, lo);
          _mm256_storeu_ps(dst + 16 * c + 8, hi);
        }
        for (int64_t i = chunks * 16; i < a.in; ++i) dst[i] = PlainAt(a.dtype, row, i);
      }
      RowsForBatch<F32Loader, 4>(a, r, reinterpret_cast<const uint8_t*>(tile.data()), a.in * 4,
                                 DType::kF32);
    }
  } else {
    for (; r + 4 <= row_end; r += 4) RowsForBatch<L, 4>(a, r, a.w + r * a.row_bytes, a.row_bytes, a.dtype);
  }
  for (; r < row_end; ++r) RowsForBatch<L, 1>(a, r, a.w + r * a.row_bytes, a.row_bytes, a.dtype);
}

}  // namespace

bool MatMulAvx2Supports(DType dtype, int64_t in) { return MatMulLoadersSupport(dtype, in); }

void MatMulPrepareXAvx2(DType dtype, const float* x, int64_t batch, int64_t in, float* prepared) {
  std::memcpy(prepared, x, static_cast<size_t>(batch * in) * sizeof(float));
  if (dtype != DType::kBF16) return;
  // Per 16 elements: the 8 even ones, then the 8 odd ones.
  const __m256i even_idx = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = 0; c + 16 <= in; c += 16) {
      const float* src = x + b * in + c;
      // v0 = x0..x7 -> [x0 x2 x4 x6 | x1 x3 x5 x7]; v1 likewise for x8..x15.
      const __m256 v0 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(src), even_idx);
      const __m256 v1 = _mm256_permutevar8x32_ps(_mm256_loadu_ps(src + 8), even_idx);
      _mm256_storeu_ps(prepared + b * in + c, _mm256_permute2f128_ps(v0, v1, 0x20));
      _mm256_storeu_ps(prepared + b * in + c + 8, _mm256_permute2f128_ps(v0, v1, 0x31));
    }
  }
}

void MatMulRowsAvx2(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
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
    default: SIGMA_CHECK(false, "MatMulRowsAvx2: unsupported ", DTypeName(a.dtype));
  }
}

}  // namespace sigma::internal
