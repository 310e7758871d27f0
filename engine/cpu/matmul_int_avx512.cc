// The integer tile GEMV (matmul_tile_kernel.h) with AVX-512 VNNI dot products on 256-bit vectors:
// vpdpbusd / vpdpwssd take the 4 (2) activation bytes (words) of a dot as a 32-bit broadcast from
// memory ({1to8}), so a dot is one instruction and one load. GCC 12 does not fold
// _mm256_set1_epi32 of a load into that operand (it emits a separate vpbroadcastd, one more vector
// op per dot), hence the asm. Compiled with the AVX-512 flags (engine/CMakeLists.txt).
//
// 256-bit, not 512: Zen 4 issues two 256-bit dots a cycle and one 512-bit one; the 8-row tile is
// then one row per lane.
#include <immintrin.h>

#include <cstdint>

#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_tile_kernel.h"

namespace sigma::internal {
namespace {

using AliasedInt32 = int32_t __attribute__((may_alias));

// acc lane i += sum_k u8 byte 4i+k * s8x4[k], k < 4.
inline __m256i DotU8S8(__m256i acc, __m256i u8, const int8_t* s8x4) {
  asm("vpdpbusd %2%{1to8%}, %1, %0"
      : "+v"(acc)
      : "v"(u8), "m"(*reinterpret_cast<const AliasedInt32*>(s8x4)));
  return acc;
}

// acc lane i += sum_k s16 word 2i+k * s16x2[k], k < 2.
inline __m256i DotS16(__m256i acc, __m256i s16, const int16_t* s16x2) {
  asm("vpdpwssd %2%{1to8%}, %1, %0"
      : "+v"(acc)
      : "v"(s16), "m"(*reinterpret_cast<const AliasedInt32*>(s16x2)));
  return acc;
}

struct VnniDots {
  // Piece k's low nibbles are elements 4k + i, its high ones 16 + 4k + i: one dot each with h
  // and with l, in two chains of 8 (consecutive blocks and batch rows are independent, so the
  // dots' latency overlaps; 8 chains of 2 and their 6 extra additions: prefill GEMM 97 against
  // 112 GMAC/s, decode the same).
  static __m256i Q4(const Q4Nibbles& w, const int8_t* xq8) {
    const int8_t* h = xq8;
    const int8_t* l = xq8 + 32;
    __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      hs = DotU8S8(DotU8S8(hs, w.lo[k], h + 4 * k), w.hi[k], h + 16 + 4 * k);
      ls = DotU8S8(DotU8S8(ls, w.lo[k], l + 4 * k), w.hi[k], l + 16 + 4 * k);
    }
    return _mm256_add_epi32(_mm256_slli_epi32(hs, 8), ls);
  }
  static __m256i Q8(const uint8_t* quants, const int16_t* xq) {
    return Q8BlockDot(quants, xq, [](__m256i acc, __m256i s16, const int16_t* x2) {
      return DotS16(acc, s16, x2);
    });
  }
};

}  // namespace

void MatMulRowsInt16Avx512(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  TiledRows<VnniDots>(a, row_begin, row_end);
}

}  // namespace sigma::internal
