// The integer tile GEMM's Q4_0 / Q4_1 / Q8_0 blocks on Intel AMX (AMX-INT8), for prefill batches:
// 16 batch rows of a 16-row tile at once (MatMulRowsInt16Amx, matmul_internal.h). Compiled with the
// AVX-512 flags and -mamx-tile -mamx-int8; only called where CpuSupportsAmx().
//
// Per block of 32 weights, the tile copy's pieces (matmul_tiles.h) unpacked are a tdpbsud (Q4) or
// tdpbssd (Q8_0) B operand (8 rows of 16 rows' 4 consecutive elements; UnpackBlock), and the
// activations' bytes
// (MatMulArgs::xq8: h[32], l[32] a block, xq = 256 h + l) are the A operands straight from
// memory, a batch row a tile row. Each block's int32 dots (256 times the h dots plus the l dots)
// are then exact, the same integers as the VNNI kernel's (matmul_int_avx512.cc), and the f32
// steps after them are TileBatchRows' own, op for op: every output is the same bits as the VNNI
// kernel gives, so a row's result stays independent of its batch (MatMulTilesTest checks both).
// Measured (2-core Xeon VM with AMX, 2 threads, alternating with SIGMA_CPU_ISA=avx512): SmolLM2's
// 1536 x 576 Q4_1 for 64 rows 296-312 -> 258-262 us; its prefill of 128 tokens 1346-1361 ->
// 1451-1458 tok/s, of 512 the same (1166-1208 against 1191-1196: its attention's share grows);
// the same model in Q8_0 (`convert --type q8_0`), prefill of 128 tokens 1204-1246 -> 1301-1360.
// The f32 steps per block, batch row and 16 rows (the ones the bits depend on) now bound it: the
// dots themselves take 2 tile multiplies where the VNNI kernel spends 16 dot instructions a batch
// row.
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstdint>

#include "engine/cpu/amx_tile_config.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_tile_kernel.h"
#include "engine/cpu/simd_float.h"

namespace sigma::internal {
namespace {

// Tile registers (macros: GCC's tile intrinsics paste their register operands into the asm).
#define ACTS_H 0
#define ACTS_L 1
#define WEIGHTS 2
#define DOTS_H 3
#define DOTS_L 4

constexpr int kAmxRows = 16;  // batch rows a pass takes: the A and C tiles' rows

// The f32 vectors StoreTile (matmul_tile_kernel.h) writes with.
struct Zmm : ZmmFloat {
  static constexpr int64_t kLanes = 16;
  static F Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, F v) { _mm512_storeu_ps(p, v); }
};

__m512 Halves(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// A block's quants (after its scales in the tile) as the B operand: 8 rows of 16 tile rows' 4
// consecutive elements. Q4: piece k's low nibbles are elements 4k + i, its high ones 16 + 4k + i.
// Q8_0: piece c holds each row's elements 2c and 2c + 1, so row k joins pieces 2k and 2k + 1.
template <DType kType>
void UnpackBlock(const uint8_t* quants, uint8_t (*rows)[64]) {
  constexpr int64_t kR = kMatMulTileRows;
  if constexpr (kType == DType::kQ8_0) {
    for (int k = 0; k < 8; ++k) {
      const auto piece = [&](int c) {
        return _mm512_cvtepu16_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 2 * kR * c)));
      };
      _mm512_store_si512(rows[k],
                         _mm512_or_si512(piece(2 * k), _mm512_slli_epi32(piece(2 * k + 1), 16)));
    }
  } else {
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (int k = 0; k < 4; ++k) {
      const __m512i w = _mm512_loadu_si512(quants + 4 * kR * k);
      _mm512_store_si512(rows[k], _mm512_and_si512(w, low));
      _mm512_store_si512(rows[4 + k], _mm512_and_si512(_mm512_srli_epi16(w, 4), low));
    }
  }
}

// y for tile t's 16 rows and batch rows [b0, b0 + 16): TileBatchRows<V, kType, 16> with the dots
// on AMX (Q8_0's signed weights: tdpbssd; the nibbles: tdpbsud).
template <DType kType>
void TileBatch16(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows;
  constexpr bool kMin = kType == DType::kQ4_1;
  constexpr int64_t kScaleBytes = kMin ? 4 : 2;
  const int64_t blocks = a.in / 32;
  const int64_t block_bytes = kR * (a.row_bytes / blocks);
  __m512 acc[1][kAmxRows], acc_m[1][kAmxRows];
  for (int i = 0; i < kAmxRows; ++i) acc[0][i] = acc_m[0][i] = _mm512_setzero_ps();
  alignas(64) uint8_t unpacked[8][64];
  alignas(64) int32_t dots_h[kAmxRows][16], dots_l[kAmxRows][16];
  const int8_t* acts = a.xq8 + b0 * blocks * 64;
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t j = 0; j < blocks; ++j, p += block_bytes) {
    PrefetchTileBytes(p, block_bytes, a.tile_prefetch);
    UnpackBlock<kType>(p + kR * kScaleBytes, unpacked);
    _tile_loadd(WEIGHTS, unpacked, 64);
    _tile_loadd(ACTS_H, acts + j * 64, blocks * 64);
    _tile_loadd(ACTS_L, acts + j * 64 + 32, blocks * 64);
    _tile_zero(DOTS_H);
    _tile_zero(DOTS_L);
    if constexpr (kType == DType::kQ8_0) {
      _tile_dpbssd(DOTS_H, ACTS_H, WEIGHTS);
      _tile_dpbssd(DOTS_L, ACTS_L, WEIGHTS);
    } else {
      _tile_dpbsud(DOTS_H, ACTS_H, WEIGHTS);
      _tile_dpbsud(DOTS_L, ACTS_L, WEIGHTS);
    }
    _tile_stored(DOTS_H, dots_h, 64);
    _tile_stored(DOTS_L, dots_l, 64);
    const __m512 d = Halves(p);
    [[maybe_unused]] __m512 m;
    if constexpr (kMin) m = Halves(p + 2 * kR);
    for (int i = 0; i < kAmxRows; ++i) {
      const int64_t xb = (b0 + i) * blocks + j;  // batch row b0 + i's block j
      const __m512i dot = _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(dots_h[i]), 8),
                                           _mm512_load_si512(dots_l[i]));
      acc[0][i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                                  _mm512_mul_ps(d, _mm512_set1_ps(a.xq_scale[xb])), acc[0][i]);
      if constexpr (kMin) {
        acc_m[0][i] = _mm512_fmadd_ps(m, _mm512_set1_ps(a.xq_sum[xb]), acc_m[0][i]);
      } else if constexpr (kType == DType::kQ4_0) {
        acc_m[0][i] = _mm512_fmadd_ps(d, _mm512_set1_ps(-8.0f * a.xq_sum[xb]), acc_m[0][i]);
      }
    }
  }
  StoreTile<Zmm, kAmxRows>(a, t, b0, acc, acc_m);
}

AmxTileConfig GemmConfig() {
  AmxTileConfig config;
  for (int reg : {ACTS_H, ACTS_L}) config.Shape(reg, kAmxRows, 32);  // a block's h or l bytes
  config.Shape(WEIGHTS, 8, 64);                                      // its unpacked weights
  for (int reg : {DOTS_H, DOTS_L}) config.Shape(reg, kAmxRows, 64);  // their int32 dots
  return config;
}

#undef ACTS_H
#undef ACTS_L
#undef WEIGHTS
#undef DOTS_H
#undef DOTS_L

// `a` for its batch rows [first, first + count).
MatMulArgs BatchRows(const MatMulArgs& a, int64_t first, int64_t count) {
  MatMulArgs rows = a;
  const int64_t blocks = a.in / 32;
  rows.batch = count;
  rows.x = a.x + first * a.in;
  if (a.x_prepared != nullptr) rows.x_prepared = a.x_prepared + first * a.in;
  rows.y = a.y + first * a.out;
  rows.xq = a.xq + first * a.in;
  rows.xq8 = a.xq8 + first * blocks * 64;
  rows.xq_scale = a.xq_scale + first * blocks;
  rows.xq_sum = a.xq_sum + first * blocks;
  if (a.xq_sum16 != nullptr) rows.xq_sum16 = a.xq_sum16 + first * (a.in / 16);
  return rows;
}

}  // namespace

void MatMulRowsInt16Amx(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kR = kMatMulTileRows;
  const bool amx_type =
      a.dtype == DType::kQ4_0 || a.dtype == DType::kQ4_1 || a.dtype == DType::kQ8_0;
  const int64_t amx_batch = a.batch / kAmxRows * kAmxRows;
  if (!amx_type || a.tiles == nullptr || amx_batch == 0 || row_begin % kR != 0) {
    return MatMulRowsInt16Avx512(a, row_begin, row_end);
  }
  const int64_t tiles_end = row_begin + (row_end - row_begin) / kR * kR;
  const AmxTileConfig config = GemmConfig();
  _tile_loadconfig(&config);
  for (int64_t t = row_begin / kR; t < tiles_end / kR; ++t) {
    for (int64_t b0 = 0; b0 < amx_batch; b0 += kAmxRows) {
      switch (a.dtype) {
        case DType::kQ4_0: TileBatch16<DType::kQ4_0>(a, t, b0); break;
        case DType::kQ4_1: TileBatch16<DType::kQ4_1>(a, t, b0); break;
        default: TileBatch16<DType::kQ8_0>(a, t, b0); break;
      }
    }
  }
  _tile_release();
  // The rows past the whole tiles, and the batch rows past the groups of 16: the VNNI kernels.
  if (tiles_end < row_end) MatMulRowsInt16Avx512(BatchRows(a, 0, amx_batch), tiles_end, row_end);
  if (amx_batch < a.batch) {
    MatMulRowsInt16Avx512(BatchRows(a, amx_batch, a.batch - amx_batch), row_begin, row_end);
  }
}

}  // namespace sigma::internal
