#include "engine/cpu/matmul_tiles.h"

#include <cstring>

#include "engine/base/check.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma {
namespace {

constexpr int64_t kR = kMatMulTileRows;

// Element e (0..31) of a Q4 block's 16 quant bytes as GGUF stores them: low nibbles 0..15, high
// nibbles 16..31.
uint8_t Nibble(const uint8_t* qs, int64_t e) {
  return e < 16 ? qs[e] & 0x0f : qs[e - 16] >> 4;
}

// The quants of block j of the tile's rows (rows[r]: row r's GGUF block j, after its scales).
void PackQ4Quants(const uint8_t* const rows[kR], uint8_t* out) {
  for (int64_t k = 0; k < 4; ++k) {
    for (int64_t r = 0; r < kR; ++r) {
      for (int64_t i = 0; i < 4; ++i) {
        const uint8_t lo = Nibble(rows[r], 4 * k + i), hi = Nibble(rows[r], 16 + 4 * k + i);
        out[4 * kR * k + 4 * r + i] = static_cast<uint8_t>(lo | hi << 4);
      }
    }
  }
}

void PackQ8Quants(const uint8_t* const rows[kR], uint8_t* out) {
  for (int64_t c = 0; c < 16; ++c) {
    for (int64_t r = 0; r < kR; ++r) {
      for (int64_t i = 0; i < 2; ++i) out[2 * kR * c + 2 * r + i] = rows[r][2 * c + i];
    }
  }
}

// The fifth bits of a 32-weight block of the tile's rows (bit e of fifth(r, e) for element e of
// row r) as a piece of 64 bytes: byte 4r + i holds those of elements 4k + i at bit k and of
// elements 16 + 4k + i at bit 4 + k.
template <class Fifth>
void PackFifthBits(const Fifth& fifth, uint8_t* out) {
  for (int64_t r = 0; r < kR; ++r) {
    for (int64_t i = 0; i < 4; ++i) {
      int bits = 0;
      for (int64_t k = 0; k < 4; ++k)
        bits |= fifth(r, 4 * k + i) << k | fifth(r, 16 + 4 * k + i) << (4 + k);
      out[4 * r + i] = static_cast<uint8_t>(bits);
    }
  }
}

// Q4_K / Q5_K: one super-block of 256 weights of the tile's rows (rows[r]: row r's GGUF block).
void PackK45SuperBlock(const uint8_t* const rows[kR], bool five_bit, uint8_t* out) {
  for (int64_t r = 0; r < kR; ++r) {
    std::memcpy(out + 2 * r, rows[r], 2);               // d
    std::memcpy(out + 2 * kR + 2 * r, rows[r] + 2, 2);  // dmin
    for (int64_t k = 0; k < 12; ++k) out[4 * kR + kR * k + r] = rows[r][4 + k];
  }
  uint8_t* sub_out = out + 16 * kR;
  for (int64_t j = 0; j < 8; ++j, sub_out += (five_bit ? 20 : 16) * kR) {
    // Sub-block j of each row as a Q4_0-style 16-byte block (element e < 16 in the low nibble of
    // byte e, element 16 + e in its high nibble), then laid out like a Q4 tile block; Q5_K's
    // fifth bits after it.
    uint8_t sub[kR][16];
    const uint8_t* sub_rows[kR];
    for (int64_t r = 0; r < kR; ++r) {
      const uint8_t* qs = rows[r] + (five_bit ? 48 : 16) + 32 * (j / 2);
      const int shift = 4 * static_cast<int>(j % 2);
      for (int64_t e = 0; e < 16; ++e) {
        const int lo = (qs[e] >> shift) & 0x0f, hi = (qs[e + 16] >> shift) & 0x0f;
        sub[r][e] = static_cast<uint8_t>(lo | hi << 4);
      }
      sub_rows[r] = sub[r];
    }
    PackQ4Quants(sub_rows, sub_out);
    if (five_bit) {
      PackFifthBits([&](int64_t r, int64_t e) { return (rows[r][16 + e] >> j) & 1; },
                    sub_out + 16 * kR);
    }
  }
}

// Q6_K: one super-block of 256 weights of the tile's rows (rows[r]: row r's GGUF block).
void PackQ6KSuperBlock(const uint8_t* const rows[kR], uint8_t* out) {
  uint8_t q[kR][256];  // each row's 6-bit quants, decoded once
  for (int64_t r = 0; r < kR; ++r) {
    std::memcpy(out + 2 * r, rows[r] + 208, 2);  // d
    for (int64_t j = 0; j < 16; ++j) out[2 * kR + kR * j + r] = rows[r][192 + j];
    UnpackQ6KQuants(rows[r], q[r]);
  }
  uint8_t* sub = out + 18 * kR;
  for (int j = 0; j < 8; ++j, sub += 24 * kR) {
    uint8_t low[kR][16];  // the sub-block's low 4 bits as a Q4 block's 16 bytes
    const uint8_t* low_rows[kR];
    for (int64_t r = 0; r < kR; ++r) {
      const uint8_t* qj = q[r] + 32 * j;
      for (int e = 0; e < 16; ++e) {
        low[r][e] = static_cast<uint8_t>((qj[e] & 15) | (qj[16 + e] & 15) << 4);
      }
      low_rows[r] = low[r];
      for (int half = 0; half < 2; ++half) {  // elements 4k + i, then 16 + 4k + i
        for (int i = 0; i < 4; ++i) {
          int top = 0;
          for (int k = 0; k < 4; ++k) top |= (qj[16 * half + 4 * k + i] >> 4) << (2 * k);
          sub[16 * kR + 4 * kR * half + 4 * r + i] = static_cast<uint8_t>(top);
        }
      }
    }
    PackQ4Quants(low_rows, sub);
  }
}

// IQ4_XS: one super-block of 256 weights of the tile's rows (rows[r]: row r's GGUF block).
void PackIq4XsSuperBlock(const uint8_t* const rows[kR], uint8_t* out) {
  for (int64_t r = 0; r < kR; ++r) {
    std::memcpy(out + 2 * r, rows[r], 2);                                       // d
    for (int64_t k = 0; k < 6; ++k) out[2 * kR + kR * k + r] = rows[r][2 + k];  // scales_h, _l
  }
  for (int64_t j = 0; j < 8; ++j) {
    const uint8_t* quants[kR];
    for (int64_t r = 0; r < kR; ++r) quants[r] = rows[r] + 8 + 16 * j;
    PackQ4Quants(quants, out + 8 * kR + 16 * kR * j);
  }
}

}  // namespace

bool MatMulTilesSupported(const TensorView& w) {
  const bool quantized = w.dtype == DType::kQ4_0 || w.dtype == DType::kQ4_1 ||
                         w.dtype == DType::kQ8_0 || MatMulTilesOnly(w.dtype);
  return quantized && w.valid() && w.shape.size() == 2 &&
         w.cols() % DTypeBlockSize(w.dtype) == 0 && w.cols() % 32 == 0 && w.rows() >= kR;
}

size_t MatMulTilesBytes(const TensorView& w) {
  return static_cast<size_t>(w.rows() / kR * kR) * w.row_bytes();
}

void PackMatMulTiles(const TensorView& w, std::span<uint8_t> packed) {
  SIGMA_CHECK(MatMulTilesSupported(w), "PackMatMulTiles: ", w.name, " (", DTypeName(w.dtype),
              ") has no tile layout");
  SIGMA_CHECK(packed.size() == MatMulTilesBytes(w), "PackMatMulTiles: ", w.name, " needs ",
              MatMulTilesBytes(w), " bytes, got ", packed.size());
  const int64_t block_bytes = DTypeBlockBytes(w.dtype);
  // d (MXFP4: the exponent byte), then m for Q4_1
  const int64_t d_bytes = w.dtype == DType::kMXFP4 ? 1 : 2;
  const int64_t scale_bytes = w.dtype == DType::kQ4_1 || w.dtype == DType::kQ5_1 ? 4 : d_bytes;
  const bool five_bit = w.dtype == DType::kQ5_0 || w.dtype == DType::kQ5_1;  // a u32 qh, then qs
  const int64_t blocks = w.cols() / DTypeBlockSize(w.dtype);
  const auto row_bytes = static_cast<int64_t>(w.row_bytes());
  const auto* src = static_cast<const uint8_t*>(w.data);
  uint8_t* out = packed.data();
  const bool super_blocks = DTypeBlockSize(w.dtype) == 256;
  for (int64_t t = 0; t < w.rows() / kR && super_blocks; ++t) {
    for (int64_t j = 0; j < blocks; ++j) {
      const uint8_t* rows[kR];
      for (int64_t r = 0; r < kR; ++r) rows[r] = src + (t * kR + r) * row_bytes + j * block_bytes;
      if (w.dtype == DType::kQ6_K) {
        PackQ6KSuperBlock(rows, out);
      } else if (w.dtype == DType::kIQ4_XS) {
        PackIq4XsSuperBlock(rows, out);
      } else {
        PackK45SuperBlock(rows, w.dtype == DType::kQ5_K, out);
      }
      out += kR * block_bytes;
    }
  }
  for (int64_t t = 0; t < w.rows() / kR && !super_blocks; ++t) {
    for (int64_t j = 0; j < blocks; ++j) {
      const uint8_t* quants[kR];
      uint32_t qh[kR];
      for (int64_t r = 0; r < kR; ++r) {
        const uint8_t* block = src + (t * kR + r) * row_bytes + j * block_bytes;
        std::memcpy(out + d_bytes * r, block, static_cast<size_t>(d_bytes));
        if (scale_bytes == 4) std::memcpy(out + 2 * kR + 2 * r, block + 2, 2);
        if (five_bit) std::memcpy(&qh[r], block + scale_bytes, 4);
        quants[r] = block + scale_bytes + (five_bit ? 4 : 0);
      }
      if (w.dtype == DType::kQ8_0) {
        PackQ8Quants(quants, out + kR * scale_bytes);
      } else {
        PackQ4Quants(quants, out + kR * scale_bytes);
      }
      if (five_bit) {
        PackFifthBits([&](int64_t r, int64_t e) { return static_cast<int>(qh[r] >> e & 1); },
                      out + kR * scale_bytes + 16 * kR);
      }
      out += kR * block_bytes;
    }
  }
  SIGMA_CHECK(out == packed.data() + packed.size(), "PackMatMulTiles: layout size mismatch");
}

}  // namespace sigma
