// The integer tile GEMV (matmul_tile_kernel.h) on 512-bit vectors with AVX-512 VNNI dot
// products: a 16-row tile at once, one row per lane. vpdpbusd / vpdpwssd take the 4 (2)
// activation bytes (words) of a dot as a 32-bit broadcast from memory ({1to16}), so a dot is one
// instruction and one load; GCC 12 does not fold _mm512_set1_epi32 of a load into that operand
// (it emits a separate vpbroadcastd, one more vector op per dot), hence the asm. Compiled with
// the AVX-512 flags (engine/CMakeLists.txt).
//
// 512-bit, although Zen 4 issues two 256-bit dots a cycle and one 512-bit one: half the
// instructions for the same work ran the Q4_1 GEMV in 0.51-0.55 ns per block and row against
// 0.55-0.76 with 256-bit vectors on 8-row tiles (one thread, weights in L2).
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstdint>

#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/simd_float.h"
#include "engine/cpu/matmul_tile_kernel.h"

namespace sigma::internal {
namespace {

using AliasedInt32 = int32_t __attribute__((may_alias));

// acc lane i += sum_k u8 byte 4i+k * s8x4[k], k < 4.
inline __m512i DotU8S8(__m512i acc, __m512i u8, const int8_t* s8x4) {
  asm("vpdpbusd %2%{1to16%}, %1, %0"
      : "+v"(acc)
      : "v"(u8), "m"(*reinterpret_cast<const AliasedInt32*>(s8x4)));
  return acc;
}

// acc lane i += sum_k s16 word 2i+k * s16x2[k], k < 2.
inline __m512i DotS16(__m512i acc, __m512i s16, const int16_t* s16x2) {
  asm("vpdpwssd %2%{1to16%}, %1, %0"
      : "+v"(acc)
      : "v"(s16), "m"(*reinterpret_cast<const AliasedInt32*>(s16x2)));
  return acc;
}

struct Zmm16 : ZmmFloat {
  static constexpr int64_t kLanes = 16;
  static constexpr int kBatchRows = 4;
  using ZmmFloat::Add;  // beside Add(I, I) below
  using I = __m512i;
  static F ToFloat(I v) { return _mm512_cvtepi32_ps(v); }
  static F Halves(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static F Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static I Bytes(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static I And(I v, int m) { return _mm512_and_si512(v, _mm512_set1_epi32(m)); }
  static I Add(I a, I b) { return _mm512_add_epi32(a, b); }
  static I Or(I a, I b) { return _mm512_or_si512(a, b); }
  static I ShiftRight(I v, int n) { return _mm512_srli_epi32(v, static_cast<unsigned>(n)); }
  static I ShiftLeft(I v, int n) { return _mm512_slli_epi32(v, static_cast<unsigned>(n)); }
  static I SignedBytes(const uint8_t* p) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static I Load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static I Sub(I v, int32_t s) { return _mm512_sub_epi32(v, _mm512_set1_epi32(s)); }
  // Each byte (0..15) replaced by table[byte] (16 bytes).
  static I Lookup(I bytes, const uint8_t* table) {
    return _mm512_shuffle_epi8(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table))), bytes);
  }
  // kLanes E8M0 exponents e as 2^(e - 128) (Mxfp4HalfScale), exactly.
  static F E8m0Halves(const uint8_t* p) {
    const I e = Bytes(p);
    const I normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
    const I tiny = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
    const __mmask16 below2 = _mm512_cmplt_epu32_mask(e, _mm512_set1_epi32(2));
    return _mm512_castsi512_ps(_mm512_mask_mov_epi32(normal, below2, tiny));
  }
  [[gnu::always_inline]] static I Dot16(const I q[4], const int8_t* h, const int8_t* l) {
    I hs = _mm512_setzero_si512(), ls = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      hs = DotU8S8(hs, q[k], h + 4 * k);
      ls = DotU8S8(ls, q[k], l + 4 * k);
    }
    return _mm512_add_epi32(_mm512_slli_epi32(hs, 8), ls);
  }
  // vpdpbusd adds its four u8 x s8 products in int32: exact for any byte.
  [[gnu::always_inline]] static I Dot16U8(const I q[4], const int8_t* h, const int8_t* l) {
    return Dot16(q, h, l);
  }
  static void FloatRows(const MatMulArgs& a, int64_t begin, int64_t end) {
    MatMulRowsAvx512(a, begin, end);
  }
  // Measured and left: the high nibbles in one vgf2p8affineqb (GFNI) instead of a shift and a
  // mask: SmolLM2 at 512 positions 2.897 against 2.926 ms a step slow, 2.607 against 2.522 fast
  // (medians of 44-116 rounds, builds alternating): within the noise, and GFNI is not in every
  // AVX-512 BF16 CPU (Cooper Lake).
  [[gnu::always_inline]] static void Nibbles(const uint8_t* piece, I& lo, I& hi) {
    const I low = _mm512_set1_epi8(0x0f);
    const I w = _mm512_loadu_si512(piece);
    lo = _mm512_and_si512(w, low);
    hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);
  }
  // Piece k's low nibbles are elements 4k + i, its high ones 16 + 4k + i: one dot each with h
  // and with l, in two chains of 8 (consecutive blocks and batch rows are independent, so the
  // dots' latency overlaps; 8 chains of 2 and their 6 extra additions: prefill GEMM 97 against
  // 112 GMAC/s on 8-row tiles, decode the same).
  [[gnu::always_inline]] static I Q4(const I lo[4], const I hi[4], const int8_t* xq8) {
    const int8_t* h = xq8;
    const int8_t* l = xq8 + 32;
    I hs = _mm512_setzero_si512(), ls = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      hs = DotU8S8(DotU8S8(hs, lo[k], h + 4 * k), hi[k], h + 16 + 4 * k);
      ls = DotU8S8(DotU8S8(ls, lo[k], l + 4 * k), hi[k], l + 16 + 4 * k);
    }
    return _mm512_add_epi32(_mm512_slli_epi32(hs, 8), ls);
  }
  // Piece c holds elements 2c and 2c + 1 of each row, widened to int16; 4 chains.
  [[gnu::always_inline]] static I Q8(const uint8_t* quants, int64_t piece_stride,
                                     const int16_t* xq) {
    I acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                _mm512_setzero_si512()};
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      const I w = _mm512_cvtepi8_epi16(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + c * piece_stride)));
      acc[c % 4] = DotS16(acc[c % 4], w, xq + 2 * c);
    }
    return _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]));
  }
};

}  // namespace

void MatMulRowsInt16Avx512(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  TiledRows<Zmm16>(a, row_begin, row_end);
}

}  // namespace sigma::internal
