// The integer GEMV over the 8-row tile layout (matmul_tiles.h), written once for the ISAs' integer
// dot products. Included by matmul_int16_avx2.cc (AVX2: vpmaddubsw / vpmaddwd) and
// matmul_int_avx512.cc (AVX-512 VNNI: vpdpbusd / vpdpwssd with the activations broadcast from
// memory); each instantiates TileRows with its Ops:
//   static __m256i DotU8S8(__m256i acc, __m256i u8, const int8_t* s8x4):
//     acc lane i += sum_k u8 byte 4i+k * s8x4[k], k < 4;
//   static __m256i DotS16(__m256i acc, __m256i s16, const int16_t* s16x2):
//     acc lane i += sum_k s16 word 2i+k * s16x2[k], k < 2.
//
// One 32-bit lane is one of the tile's rows throughout, so a block's 8 row dots come out as one
// vector: no horizontal sums, and one conversion, one scale product and one FMA per block for all
// 8 rows. The activations are int16 per block of 32 (MatMulArgs::xq, |xq| <= kXqMax):
//   Q8_0: weights widened to int16, dotted with pairs of xq (vpdpwssd);
//   Q4_0 / Q4_1: the nibbles stay bytes, and xq = 256 h + l is split into two signed bytes
//     (MatMulArgs::xq8) so that each half is one u8 x s8 dot (vpdpbusd) over 4 elements:
//     sum q xq = 256 sum q h + sum q l, exact in int32.
// Then per row: Q4_1  sum_i (d q_i + m) x_i = d dx sum_i q_i xq_i + m sum_i x_i,
//              Q4_0  the same with m = -8 d,  Q8_0  d dx sum_i q_i xq_i,
// in one f32 accumulator for the d terms and one for the m terms, summed at the end.
// Measured, one thread, weights in L2 (2-core Zen 4): Q4_1 0.60-0.66 ns per block and row with
// VNNI against 0.90-1.02 for the 4-row tiles of the AVX2 int16 kernel this replaced.
#ifndef SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_
#define SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_

#include <immintrin.h>

#include <cstdint>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_tiles.h"

namespace sigma::internal {

// A Q4 block's 128 quant bytes as 8 vectors of nibbles: lo[k] byte 4r + i is row r's element
// 4k + i, hi[k] its element 16 + 4k + i (matmul_tiles.h).
struct Q4Nibbles {
  __m256i lo[4], hi[4];
};

inline Q4Nibbles UnpackQ4(const uint8_t* quants) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  Q4Nibbles n;
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 32 * k));
    n.lo[k] = _mm256_and_si256(w, low);
    n.hi[k] = _mm256_and_si256(_mm256_srli_epi16(w, 4), low);
  }
  return n;
}

// The int32 dots of a Q8_0 block (256 quant bytes; piece c holds elements 2c and 2c + 1 of each
// row) with its 32 xq, in 4 chains. dot(acc, s16, x2) is the ISA's word dot: acc lane i +=
// s16 word 2i * x2[0] + s16 word 2i+1 * x2[1].
template <class WordDot>
inline __m256i Q8BlockDot(const uint8_t* quants, const int16_t* xq, WordDot dot) {
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256()};
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) {
    const __m256i w =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(quants + 16 * c)));
    acc[c % 4] = dot(acc[c % 4], w, xq + 2 * c);
  }
  return _mm256_add_epi32(_mm256_add_epi32(acc[0], acc[1]), _mm256_add_epi32(acc[2], acc[3]));
}

// y for tile t's 8 rows and kNb batch rows from b0: per block, the weights are unpacked once
// (Q4) or read once from memory (Q8_0, then from L1) for all kNb rows. Each batch row's
// arithmetic is the same whatever kNb, so a row's result does not depend on the batch.
template <class Dots, DType kType, int kNb>
void TileBatchRows(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows;
  constexpr int64_t kScaleBytes = kType == DType::kQ4_1 ? 4 : 2;
  const int64_t blocks = a.in / 32;
  const int64_t block_bytes = kR * (a.row_bytes / blocks);
  __m256 acc[kNb], acc_m[kNb];
  for (int i = 0; i < kNb; ++i) acc[i] = acc_m[i] = _mm256_setzero_ps();
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t j = 0; j < blocks; ++j, p += block_bytes) {
    const uint8_t* quants = p + kR * kScaleBytes;
    [[maybe_unused]] Q4Nibbles nibbles;
    if constexpr (kType != DType::kQ8_0) nibbles = UnpackQ4(quants);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    [[maybe_unused]] __m256 m;
    if constexpr (kType == DType::kQ4_1) {
      m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * kR)));
    }
#pragma GCC unroll 4
    for (int i = 0; i < kNb; ++i) {
      const int64_t xb = (b0 + i) * blocks + j;  // batch row b0 + i's block j
      __m256i dot;
      if constexpr (kType == DType::kQ8_0) {
        dot = Dots::Q8(quants, a.xq + xb * 32);
      } else {
        dot = Dots::Q4(nibbles, a.xq8 + xb * 64);
      }
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot),
                               _mm256_mul_ps(d, _mm256_set1_ps(a.xq_scale[xb])), acc[i]);
      if constexpr (kType == DType::kQ4_1) {
        acc_m[i] = _mm256_fmadd_ps(m, _mm256_set1_ps(a.xq_sum[xb]), acc_m[i]);
      } else if constexpr (kType == DType::kQ4_0) {
        acc_m[i] = _mm256_fmadd_ps(d, _mm256_set1_ps(-8.0f * a.xq_sum[xb]), acc_m[i]);
      }
    }
  }
  for (int i = 0; i < kNb; ++i) {
    __m256 y = _mm256_add_ps(acc[i], acc_m[i]);
    if (a.bias != nullptr) y = _mm256_add_ps(y, _mm256_loadu_ps(a.bias + t * kR));
    _mm256_storeu_ps(a.y + (b0 + i) * a.out + t * kR, y);
  }
}

// y for the rows of tiles [tile_begin, tile_end) and every batch row, 4 batch rows at a time (a
// tile, 8 rows x in, stays in L1 across them).
template <class Dots, DType kType>
void TileRows(const MatMulArgs& a, int64_t tile_begin, int64_t tile_end) {
  static_assert(kType == DType::kQ4_0 || kType == DType::kQ4_1 || kType == DType::kQ8_0);
  static_assert(kMatMulTileRows == 8, "one row per 32-bit lane of a 256-bit vector");
  for (int64_t t = tile_begin; t < tile_end; ++t) {
    int64_t b = 0;
    for (; b + 4 <= a.batch; b += 4) TileBatchRows<Dots, kType, 4>(a, t, b);
    switch (a.batch - b) {
      case 3: TileBatchRows<Dots, kType, 3>(a, t, b); break;
      case 2: TileBatchRows<Dots, kType, 2>(a, t, b); break;
      case 1: TileBatchRows<Dots, kType, 1>(a, t, b); break;
      default: break;
    }
  }
}

// Rows [row_begin, row_end): the whole tiles from the tile copy with Dots, the rest (rows past
// out / 8 * 8, or all where there is no tile copy) with MatMulRowsInt16Avx2's row-layout kernel.
template <class Dots>
void TiledRows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kR = kMatMulTileRows;
  int64_t r = row_begin;
  if (a.tiles != nullptr && r % kR == 0) {
    const int64_t tiles_end = r + (row_end - r) / kR * kR;
    switch (a.dtype) {
      case DType::kQ4_0: TileRows<Dots, DType::kQ4_0>(a, r / kR, tiles_end / kR); break;
      case DType::kQ4_1: TileRows<Dots, DType::kQ4_1>(a, r / kR, tiles_end / kR); break;
      case DType::kQ8_0: TileRows<Dots, DType::kQ8_0>(a, r / kR, tiles_end / kR); break;
      default: SIGMA_CHECK(false, "MatMul: no tile layout for ", DTypeName(a.dtype));
    }
    r = tiles_end;
  }
  if (r < row_end) MatMulRowsInt16Avx2RowLayout(a, r, row_end);
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_
