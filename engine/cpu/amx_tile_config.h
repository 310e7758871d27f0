// The LDTILECFG operand of Intel AMX (palette 1), shared by the *_amx.cc kernels: the rows and
// bytes per row of each of the 8 tile registers. Set a register's shape with Shape, load the
// whole with _tile_loadconfig before the thread's first tile instruction, and _tile_release after
// its last (so that a context switch need not save the tile data).
#ifndef SIGMA_ENGINE_CPU_AMX_TILE_CONFIG_H_
#define SIGMA_ENGINE_CPU_AMX_TILE_CONFIG_H_

#include <cstdint>

namespace sigma::internal {

struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};

  void Shape(int reg, int row_count, int row_bytes) {
    rows[reg] = static_cast<uint8_t>(row_count);
    bytes_per_row[reg] = static_cast<uint16_t>(row_bytes);
  }
};
static_assert(sizeof(AmxTileConfig) == 64);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_AMX_TILE_CONFIG_H_
