// Portable decoding of weight rows: f32, f16, bf16 and the GGUF block-quantized types.
//
// Block layouts (GGUF / ggml, little-endian, no padding; sizes in engine/dtype.h):
//   Q8_0  [f16 d][i8 q[32]]                            x = d * q
//   Q4_0  [f16 d][u8 qs[16]]                           x[j] = d * (lo(qs[j]) - 8), x[j+16]: hi nibble
//   Q4_1  [f16 d][f16 m][u8 qs[16]]                    x = d * nibble + m (same nibble order)
//   Q5_0  [f16 d][u32 qh][u8 qs[16]]                   5th bit of element e is bit e of qh; x = d*(q-16)
//   Q5_1  [f16 d][f16 m][u32 qh][u8 qs[16]]            x = d * q + m
//   Q4_K  [f16 d][f16 dmin][u8 sc[12]][u8 qs[128]]     8 sub-blocks of 32 with 6-bit scale/min
//   Q5_K  [f16 d][f16 dmin][u8 sc[12]][u8 qh[32]][u8 qs[128]]
//   Q6_K  [u8 ql[128]][u8 qh[64]][i8 sc[16]][f16 d]    16 sub-blocks of 16, x = d * sc * (q - 32)
//   Q8_K  [f32 d][i8 q[256]][i16 bsums[16]]            x = d * q
// These are the reference decoders; the AVX-512 GEMV decodes the same layouts in registers.
// Thread safety: pure functions.
#ifndef SIGMA_ENGINE_CPU_QUANT_BLOCKS_H_
#define SIGMA_ENGINE_CPU_QUANT_BLOCKS_H_

#include <cstdint>

#include <cstring>

#include "engine/dtype.h"

namespace sigma {

// Decodes n_blocks consecutive blocks of `dtype` (block size 1 for f32/f16/bf16) from src into
// out[n_blocks * DTypeBlockSize(dtype)].
void DecodeBlocks(DType dtype, const void* src, int64_t n_blocks, float* out);

// The 6-bit quant q (0..63; x = d * sc[e / 16] * (q - 32)) of element e (0..255) of a Q6_K block:
// in half h = e / 128, element 32 i + l (i = 0..3, l = 0..31) takes its low 4 bits from
// ql[64 h + l + 32 (i & 1)] (the low nibble for i < 2, the high one for i >= 2) and its top 2 bits
// from qh[32 h + l] >> 2 i.
inline int Q6KQuant(const uint8_t* block, int e) {
  const int h = e / 128, i = e % 128 / 32, l = e % 32;
  const uint8_t low_byte = block[64 * h + l + 32 * (i & 1)];
  const int low = i < 2 ? (low_byte & 0x0f) : (low_byte >> 4);
  return low | ((block[128 + 32 * h + l] >> (2 * i)) & 3) << 4;
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block's 12 packed scale bytes.
// Inline: the GEMV loaders call it once per 32 weights.
inline void UnpackKScaleMin(const uint8_t* scales, int j, int* scale, int* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4);
    *min = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

// Element i of a row of a plain dtype (f32, f16, bf16): the GEMV kernels' tail columns past their
// last whole chunk.
inline float PlainAt(DType dtype, const uint8_t* row, int64_t i) {
  if (dtype == DType::kF32) {
    float v;
    std::memcpy(&v, row + 4 * i, 4);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, row + 2 * i, 2);
  return dtype == DType::kF16 ? F16ToF32(bits) : Bf16ToF32(bits);
}

// Reads a little-endian f16 field at p (any alignment).
float LoadF16(const uint8_t* p);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_QUANT_BLOCKS_H_
