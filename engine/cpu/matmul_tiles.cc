#include "engine/cpu/matmul_tiles.h"

#include <algorithm>
#include <cstring>

#include "engine/base/check.h"

namespace sigma {

bool MatMulTilesSupported(const TensorView& w) {
  const bool quantized =
      w.dtype == DType::kQ4_0 || w.dtype == DType::kQ4_1 || w.dtype == DType::kQ8_0;
  return quantized && w.valid() && w.shape.size() == 2 && w.cols() % 32 == 0 &&
         w.rows() >= kMatMulTileRows;
}

size_t MatMulTilesBytes(const TensorView& w) {
  return static_cast<size_t>(w.rows() / kMatMulTileRows * kMatMulTileRows) * w.row_bytes();
}

void PackMatMulTiles(const TensorView& w, std::span<uint8_t> packed) {
  SIGMA_CHECK(MatMulTilesSupported(w), "PackMatMulTiles: ", w.name, " (", DTypeName(w.dtype),
              ") has no tile layout");
  SIGMA_CHECK(packed.size() == MatMulTilesBytes(w), "PackMatMulTiles: ", w.name, " needs ",
              MatMulTilesBytes(w), " bytes, got ", packed.size());
  const int64_t block_bytes = DTypeBlockBytes(w.dtype);
  const int64_t scale_bytes = w.dtype == DType::kQ4_1 ? 4 : 2;  // d, then m for Q4_1
  const int64_t quant_bytes = block_bytes - scale_bytes;
  const int64_t blocks = w.cols() / 32;
  const auto row_bytes = static_cast<int64_t>(w.row_bytes());
  const int64_t tiles = w.rows() / kMatMulTileRows;
  const auto* src = static_cast<const uint8_t*>(w.data);
  uint8_t* out = packed.data();
  for (int64_t t = 0; t < tiles; ++t) {
    const uint8_t* rows = src + t * kMatMulTileRows * row_bytes;
    for (int64_t g = 0; g < blocks; g += kMatMulTileGroup) {
      const int64_t n = std::min(kMatMulTileGroup, blocks - g);
      uint8_t* d = out;                                      // [4][n] f16
      uint8_t* m = out + kMatMulTileRows * n * 2;            // [4][n] f16 (Q4_1)
      uint8_t* q = out + kMatMulTileRows * n * scale_bytes;  // [n][4][quant_bytes]
      for (int64_t r = 0; r < kMatMulTileRows; ++r) {
        for (int64_t j = 0; j < n; ++j) {
          const uint8_t* block = rows + r * row_bytes + (g + j) * block_bytes;
          std::memcpy(d + (r * n + j) * 2, block, 2);
          if (scale_bytes == 4) std::memcpy(m + (r * n + j) * 2, block + 2, 2);
          std::memcpy(q + (j * kMatMulTileRows + r) * quant_bytes, block + scale_bytes,
                      static_cast<size_t>(quant_bytes));
        }
      }
      out += kMatMulTileRows * n * block_bytes;
    }
  }
  SIGMA_CHECK(out == packed.data() + packed.size(), "PackMatMulTiles: layout size mismatch");
}

}  // namespace sigma
