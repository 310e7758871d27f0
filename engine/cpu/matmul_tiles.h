// The 16-row tile layout of Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 / MXFP4 / IQ4_NL / Q4_K / Q5_K / Q6_K
// / IQ4_XS matrices, read by the integer GEMV kernels (matmul_tile_kernel.h) in place of the GGUF
// row layout.
//
// In GGUF rows each 32-weight block carries its own f16 scale (and Q4_1 min) in front of its
// quants: a kernel that turns the scales into vectors gathers scattered words, a tile of several
// rows is several streams, and the quants of a row are in the order that needs a widening per 16
// weights and a horizontal sum per row at the end. A tile holds rows 16t .. 16t+15 as one stream,
// block by block (block j of the 16 rows together):
//   d[16]  f16 scales, row r at index r
//   m[16]  f16 mins (Q4_1 only)
//   quants, arranged so that one 32-bit lane of a vector is one row (16 rows: a 512-bit vector;
//   rows 0-7 and 8-15: the two halves of each piece, a 256-bit vector each):
//     Q4_0 / Q4_1: 4 pieces of 64 bytes; byte 4r + i of piece k holds row r's elements 4k + i (low
//       nibble) and 16 + 4k + i (high nibble), i < 4;
//     Q8_0: 16 pieces of 32 bytes; byte 2r + i of piece c is row r's element 2c + i, i < 2.
// MXFP4: as Q4_0, with the rows' exponent bytes e[16] in place of d[16]. IQ4_NL: as Q4_0.
// Q5_0 / Q5_1: as Q4_0 / Q4_1 (the low 4 bits of the quants), then their fifth bits as Q5_K's
//   below.
// Q4_K / Q5_K, per super-block of 256 weights of the 16 rows (one row per lane again):
//   d[16], dmin[16]  f16
//   scales[12][16]   byte k of row r's 12 packed 6-bit scales and mins at 16 k + r
//   8 sub-blocks of 32 weights, each as a Q4_0 / Q4_1 block's quants above (4 pieces of 64 bytes;
//     Q5_K: the low 4 bits), then for Q5_K their fifth bits in a piece of 64 bytes: byte 4r + i
//     holds those of row r's elements 4k + i at bit k and of elements 16 + 4k + i at bit 4 + k
// Q6_K, per super-block of 256 weights of the 16 rows:
//   d[16]            f16
//   scales[16][16]   row r's int8 scale of elements 16 j .. 16 j + 15 at 16 j + r
//   8 sub-blocks of 32 weights, each 384 bytes: the low 4 bits of the 6-bit quants as a Q4 block's
//     quants above (4 pieces of 64 bytes), then their top 2 bits in two pieces of 64 bytes: byte
//     4r + i of the first holds those of row r's elements 4k + i at bits 2k, 2k + 1 (k < 4), and
//     of the second those of elements 16 + 4k + i
// IQ4_XS, per super-block of 256 weights of the 16 rows:
//   d[16]            f16
//   scales_h[2][16]  byte k of row r's u16 of high scale bits at 16 k + r
//   scales_l[4][16]  byte k of row r's 4 bytes of low scale bits at 16 k + r
//   8 sub-blocks of 32 weights, each as a Q4_0 block's quants above (4 pieces of 64 bytes)
// A block of the tile is exactly the bytes of the 16 rows' blocks in GGUF, so the copy covers rows
// [0, rows / 16 * 16) in as many bytes; the last rows % 16 rows are read from the GGUF rows.
// Exact: the same values, only moved.
#ifndef SIGMA_ENGINE_CPU_MATMUL_TILES_H_
#define SIGMA_ENGINE_CPU_MATMUL_TILES_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/tensor.h"

namespace sigma {

inline constexpr int64_t kMatMulTileRows = 16;

// The types the integer kernels read only from a tile copy (no integer row-layout kernel): all
// above but Q4_0, Q4_1 and Q8_0.
constexpr bool MatMulTilesOnly(DType dtype) {
  return dtype == DType::kQ5_0 || dtype == DType::kQ5_1 || dtype == DType::kQ4_K ||
         dtype == DType::kQ5_K || dtype == DType::kQ6_K || dtype == DType::kMXFP4 ||
         dtype == DType::kIQ4_NL || dtype == DType::kIQ4_XS;
}

// Whether w (2-D, of a type above, whole blocks, at least 16 rows) has a tile layout.
bool MatMulTilesSupported(const TensorView& w);

// Bytes of the tile copy of w's first rows / 16 * 16 rows: w.rows() / 16 * 16 * w.row_bytes().
size_t MatMulTilesBytes(const TensorView& w);

// Writes the tile copy of w into out (exactly MatMulTilesBytes(w) bytes).
void PackMatMulTiles(const TensorView& w, std::span<uint8_t> out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_MATMUL_TILES_H_
