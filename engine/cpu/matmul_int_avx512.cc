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

struct VnniDots {
  static __m256i DotU8S8(__m256i acc, __m256i u8, const int8_t* s8x4) {
    asm("vpdpbusd %2%{1to8%}, %1, %0"
        : "+v"(acc)
        : "v"(u8), "m"(*reinterpret_cast<const AliasedInt32*>(s8x4)));
    return acc;
  }
  static __m256i DotS16(__m256i acc, __m256i s16, const int16_t* s16x2) {
    asm("vpdpwssd %2%{1to8%}, %1, %0"
        : "+v"(acc)
        : "v"(s16), "m"(*reinterpret_cast<const AliasedInt32*>(s16x2)));
    return acc;
  }
};

}  // namespace

void MatMulRowsInt16Avx512(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  TiledRows<VnniDots>(a, row_begin, row_end);
}

}  // namespace sigma::internal
