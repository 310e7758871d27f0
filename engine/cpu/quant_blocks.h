// Portable decoding of weight rows: f32, f16, bf16 and the GGUF block-quantized types.
//
// Block layouts (GGUF / ggml, little-endian, no padding; sizes in engine/dtype.h):
//   Q8_0  [f16 d][i8 q[32]]                          x = d * q
//   Q4_0  [f16 d][u8 qs[16]]                         x[j] = d * (lo(qs[j]) - 8), x[j+16]: hi nibble
//   Q4_1  [f16 d][f16 m][u8 qs[16]]                  x = d * nibble + m (same nibble order)
//   Q5_0  [f16 d][u32 qh][u8 qs[16]]                 5th bit of e: bit e of qh; x = d * (q - 16)
//   Q5_1  [f16 d][f16 m][u32 qh][u8 qs[16]]          x = d * q + m
//   Q4_K  [f16 d][f16 dmin][u8 sc[12]][u8 qs[128]]   8 sub-blocks of 32, 6-bit scale and min
//   Q5_K  [f16 d][f16 dmin][u8 sc[12]][u8 qh[32]][u8 qs[128]]
//   Q6_K  [u8 ql[128]][u8 qh[64]][i8 sc[16]][f16 d]  16 sub-blocks of 16, x = d * sc * (q - 32)
//   Q8_K  [f32 d][i8 q[256]][i16 bsums[16]]          x = d * q
//   Q2_K  [u8 sc[16]][u8 qs[64]][f16 d][f16 dmin]    16 sub-blocks of 16, 4-bit scale and min
//   Q3_K  [u8 hmask[32]][u8 qs[64]][u8 sc[12]][f16 d]  16 sub-blocks of 16, 6-bit signed scales
//   MXFP4 [u8 e][u8 qs[16]]                          x[j] = kMxfp4Values[lo(qs[j])] * 2^(e - 128),
//                                                    x[j+16]: hi nibble (OCP MX: E2M1 values
//                                                    doubled, an E8M0 scale halved, as ggml)
//   IQ4_NL [f16 d][u8 qs[16]]                        x[j] = d * kIq4NlValues[lo(qs[j])], x[j+16]:
//                                                    hi nibble
//   IQ4_XS [f16 d][u16 sc_h][u8 sc_l[4]][u8 qs[128]]  8 sub-blocks of 32 (16 bytes of qs each, as
//                                                    IQ4_NL's), x = d * Iq4XsScale(j) * value
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

// The 256 6-bit quants q (0..63; x = d * sc[e / 16] * (q - 32)) of a Q6_K block: in half
// h = e / 128, element 32 i + l (i = 0..3, l = 0..31) takes its low 4 bits from
// ql[64 h + l + 32 (i & 1)] (the low nibble for i < 2, the high one for i >= 2) and its top 2 bits
// from qh[32 h + l] >> 2 i.
inline void UnpackQ6KQuants(const uint8_t* block, uint8_t q[256]) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = block + 64 * h;
    const uint8_t* qh = block + 128 + 32 * h;
    uint8_t* out = q + 128 * h;
    for (int l = 0; l < 32; ++l) {
      out[l] = static_cast<uint8_t>((ql[l] & 15) | (qh[l] & 3) << 4);
      out[32 + l] = static_cast<uint8_t>((ql[32 + l] & 15) | (qh[l] >> 2 & 3) << 4);
      out[64 + l] = static_cast<uint8_t>((ql[l] >> 4) | (qh[l] >> 4 & 3) << 4);
      out[96 + l] = static_cast<uint8_t>((ql[32 + l] >> 4) | (qh[l] >> 6) << 4);
    }
  }
}

// The signed scale (-32..31) of sub-block s (0..15) of a Q3_K block's 12 packed scale bytes: its
// low 4 bits are the low (s < 8) or high nibble of sc[s % 8], its top 2 bits are bits
// 2 (s / 4) .. 2 (s / 4) + 1 of sc[8 + s % 4].
inline int Q3KScale(const uint8_t* sc, int s) {
  const int low = s < 8 ? sc[s % 8] & 15 : sc[s % 8] >> 4;
  const int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | high << 4) - 32;
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

// The E2M1 values of MXFP4's nibbles, doubled (0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives).
inline constexpr int8_t kMxfp4Values[16] = {0, 1,  2,  3,  4,  6,  8,  12,
                                            0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e - 128): an MXFP4 block's E8M0 scale halved (ggml's GGML_E8M0_TO_FP32_HALF), denormal for e
// below 2; exact.
inline float Mxfp4HalfScale(uint8_t e) {
  const uint32_t bits = e < 2 ? uint32_t{0x00200000} << e : static_cast<uint32_t>(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// The non-linear 4-bit values of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl), by nibble.
inline constexpr int8_t kIq4NlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// The signed scale (-32..31) of sub-block j (0..7) of an IQ4_XS block: its low 4 bits are the
// low (j even) or high nibble of sc_l[j / 2] (block bytes 4..7), its top 2 bits are bits 2j, 2j + 1
// of the little-endian sc_h (bytes 2, 3).
inline int Iq4XsScale(const uint8_t* block, int j) {
  const int low = (block[4 + j / 2] >> (4 * (j % 2))) & 15;
  const int high = (block[2 + j / 4] >> (2 * (j % 4))) & 3;
  return (low | high << 4) - 32;
}

// Reads a little-endian f16 field at p (any alignment). Inline: the GEMV loaders call it once per
// block.
inline float LoadF16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return F16ToF32(h);
}

// The types whose 32-weight blocks are 16 bytes of nibbles indexing a 16-value table, times a
// scale: MXFP4, IQ4_NL, IQ4_XS (whose super-block holds 8 such blocks under 6-bit scales).
constexpr bool IsTableNibbleType(DType dtype) {
  return dtype == DType::kMXFP4 || dtype == DType::kIQ4_NL || dtype == DType::kIQ4_XS;
}

// Their tables: the values a nibble stands for.
template <DType kType>
constexpr const int8_t* TableNibbleValues() {
  static_assert(IsTableNibbleType(kType));
  return kType == DType::kMXFP4 ? kMxfp4Values : kIq4NlValues;
}

// Block k of 32 weights of a row of such a type: its 16 nibble bytes (element e the low nibble of
// byte e, e + 16 its high nibble), and in *scale what its table values are multiplied by.
template <DType kType>
[[gnu::always_inline]] inline const uint8_t* TableNibbleBlock(const uint8_t* row, int64_t k,
                                                              float* scale) {
  static_assert(IsTableNibbleType(kType));
  if constexpr (kType == DType::kMXFP4) {
    const uint8_t* b = row + 17 * k;
    *scale = Mxfp4HalfScale(b[0]);
    return b + 1;
  } else if constexpr (kType == DType::kIQ4_NL) {
    const uint8_t* b = row + 18 * k;
    *scale = LoadF16(b);
    return b + 2;
  } else {
    const uint8_t* b = row + 136 * (k / 8);
    const int j = static_cast<int>(k % 8);
    *scale = LoadF16(b) * static_cast<float>(Iq4XsScale(b, j));
    return b + 8 + 16 * j;
  }
}

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_QUANT_BLOCKS_H_
