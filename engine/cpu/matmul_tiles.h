// The 4-row tile layout of Q4_0 / Q4_1 / Q8_0 matrices, read by the AVX2 integer GEMV
// (matmul_int16_avx2.cc) in place of the GGUF row layout.
//
// In GGUF rows each 32-weight block carries its own f16 scale (and Q4_1 min) in front of its
// quants, so a kernel that turns 8 blocks' scales into one vector must gather 8 scattered words
// per row (~25% of the kernel's instructions at SmolLM2's widths), and a tile of 4 rows is 4
// streams. A tile holds rows 4t .. 4t+3 as one stream, per group of n = min(8, blocks left)
// blocks starting at block g:
//   d[4][n]  f16 scales, row-major (row r, block g + j at index r n + j)
//   m[4][n]  f16 mins (Q4_1 only)
//   q[n][4]  each block's quant bytes as GGUF has them (16 for Q4_0 / Q4_1, 32 for Q8_0), block
//            by block, the 4 rows of a block together
// A group is exactly as many bytes as its blocks in GGUF, so a tile is 4 rows' bytes and the
// copy covers rows [0, rows / 4 * 4); the last rows % 4 rows are read from the GGUF rows.
// Exact: the same values, only moved; results are bit-identical to the row layout's.
#ifndef SIGMA_ENGINE_CPU_MATMUL_TILES_H_
#define SIGMA_ENGINE_CPU_MATMUL_TILES_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/tensor.h"

namespace sigma {

inline constexpr int64_t kMatMulTileRows = 4;
inline constexpr int64_t kMatMulTileGroup = 8;  // blocks per scale group

// Whether w (2-D Q4_0 / Q4_1 / Q8_0, width a multiple of 32, at least 4 rows) has a tile layout.
bool MatMulTilesSupported(const TensorView& w);

// Bytes of the tile copy of w's first rows / 4 * 4 rows: w.rows() / 4 * 4 * w.row_bytes().
size_t MatMulTilesBytes(const TensorView& w);

// Writes the tile copy of w into out (exactly MatMulTilesBytes(w) bytes).
void PackMatMulTiles(const TensorView& w, std::span<uint8_t> out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_MATMUL_TILES_H_
