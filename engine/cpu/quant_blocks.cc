#include "engine/cpu/quant_blocks.h"

#include <cstring>

#include "engine/base/check.h"

namespace sigma {
namespace {

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Q4_0 / Q4_1: element j is the low nibble of qs[j], element j + 16 its high nibble.
void DecodeQ4(const uint8_t* qs, float d, float offset, float* out) {
  for (int j = 0; j < 16; ++j) {
    out[j] = d * static_cast<float>(qs[j] & 0x0f) + offset;
    out[j + 16] = d * static_cast<float>(qs[j] >> 4) + offset;
  }
}

// Q5_0 / Q5_1: as Q4 plus a fifth (high) bit from qh: bit e for element e.
void DecodeQ5(const uint8_t* qh_bytes, const uint8_t* qs, float d, float offset, int bias,
              float* out) {
  const uint32_t qh = LoadU32(qh_bytes);
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    out[j] = d * static_cast<float>(lo - bias) + offset;
    out[j + 16] = d * static_cast<float>(hi - bias) + offset;
  }
}

// Q4_K / Q5_K: 4 groups of 64 elements; group g uses qs[32g .. 32g+32): low nibbles are sub-block
// 2g, high nibbles sub-block 2g+1. Q5_K adds bit (2g) / (2g+1) of qh[l] as the fifth bit.
void DecodeK45(const uint8_t* block, bool five_bit, float* out) {
  const float d = LoadF16(block);
  const float dmin = LoadF16(block + 2);
  const uint8_t* scales = block + 4;
  const uint8_t* qh = five_bit ? block + 16 : nullptr;
  const uint8_t* qs = block + (five_bit ? 48 : 16);
  for (int g = 0; g < 4; ++g) {
    int sc_lo, m_lo, sc_hi, m_hi;
    UnpackKScaleMin(scales, 2 * g, &sc_lo, &m_lo);
    UnpackKScaleMin(scales, 2 * g + 1, &sc_hi, &m_hi);
    for (int l = 0; l < 32; ++l) {
      int lo = qs[32 * g + l] & 0x0f;
      int hi = qs[32 * g + l] >> 4;
      if (five_bit) {
        lo |= ((qh[l] >> (2 * g)) & 1) << 4;
        hi |= ((qh[l] >> (2 * g + 1)) & 1) << 4;
      }
      out[64 * g + l] = d * sc_lo * lo - dmin * m_lo;
      out[64 * g + 32 + l] = d * sc_hi * hi - dmin * m_hi;
    }
  }
}

// Q6_K: element e is d * sc[e / 16] * (q - 32), q as UnpackQ6KQuants reads it.
void DecodeQ6K(const uint8_t* block, float* out) {
  const auto* sc = reinterpret_cast<const int8_t*>(block + 192);
  const float d = LoadF16(block + 208);
  uint8_t q[256];
  UnpackQ6KQuants(block, q);
  for (int e = 0; e < 256; ++e) {
    out[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>(q[e] - 32);
  }
}

// Q2_K and Q3_K place their 2-bit quants alike: element e, in half h = e / 128, group
// j = (e % 128) / 32 and place l = e % 32, is bits 2j..2j+1 of qs[32 h + l] and takes the scale of
// sub-block 8 h + 2 j + l / 16. The loops below walk (h, j, sub-block, l) so that the innermost,
// over 16 elements, vectorises.

// Q2_K: x = d * (sc & 15) * q - dmin * (sc >> 4), sc = scales[sub-block].
void DecodeQ2K(const uint8_t* block, float* out) {
  const uint8_t* scales = block;
  const float d = LoadF16(block + 80);
  const float dmin = LoadF16(block + 82);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qs = block + 16 + 32 * h;
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = scales[8 * h + 2 * j + half];
        const float scale = d * static_cast<float>(sc & 15);
        const float min = dmin * static_cast<float>(sc >> 4);
        float* y = out + 128 * h + 32 * j + 16 * half;
        for (int l = 0; l < 16; ++l) {
          y[l] = scale * static_cast<float>((qs[16 * half + l] >> (2 * j)) & 3) - min;
        }
      }
    }
  }
}

// Q3_K: x = d * Q3KScale(sub-block) * (q - 4 * (1 - hbit)), q the 2 low bits, hbit = bit
// 4 h + j of hmask[l].
void DecodeQ3K(const uint8_t* block, float* out) {
  const uint8_t* hmask = block;
  const uint8_t* sc = block + 96;
  const float d = LoadF16(block + 108);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* qs = block + 32 + 32 * h;
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half) {
        const float scale = d * static_cast<float>(Q3KScale(sc, 8 * h + 2 * j + half));
        const int bit = 4 * h + j;
        float* y = out + 128 * h + 32 * j + 16 * half;
        for (int l = 0; l < 16; ++l) {
          const int i = 16 * half + l;
          const int q = ((qs[i] >> (2 * j)) & 3) - (((hmask[i] >> bit) & 1) ? 0 : 4);
          y[l] = scale * static_cast<float>(q);
        }
      }
    }
  }
}

// One block of MXFP4 / IQ4_NL / IQ4_XS (8 blocks of 32 in one).
template <DType kType>
void DecodeTableNibbles(const uint8_t* block, float* out) {
  const int8_t* values = TableNibbleValues<kType>();
  for (int64_t k = 0; k < (kType == DType::kIQ4_XS ? 8 : 1); ++k, out += 32) {
    float d;
    const uint8_t* qs = TableNibbleBlock<kType>(block, k, &d);
    for (int j = 0; j < 16; ++j) {
      out[j] = d * static_cast<float>(values[qs[j] & 15]);
      out[j + 16] = d * static_cast<float>(values[qs[j] >> 4]);
    }
  }
}

void DecodeOneBlock(DType dtype, const uint8_t* b, float* out) {
  switch (dtype) {
    case DType::kQ8_0: {
      const float d = LoadF16(b);
      for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(static_cast<int8_t>(b[2 + j]));
      return;
    }
    case DType::kQ4_0: return DecodeQ4(b + 2, LoadF16(b), -8.0f * LoadF16(b), out);
    case DType::kQ4_1: return DecodeQ4(b + 4, LoadF16(b), LoadF16(b + 2), out);
    case DType::kQ5_0: return DecodeQ5(b + 2, b + 6, LoadF16(b), 0.0f, 16, out);
    case DType::kQ5_1: return DecodeQ5(b + 4, b + 8, LoadF16(b), LoadF16(b + 2), 0, out);
    case DType::kQ4_K: return DecodeK45(b, false, out);
    case DType::kQ5_K: return DecodeK45(b, true, out);
    case DType::kQ6_K: return DecodeQ6K(b, out);
    case DType::kQ2_K: return DecodeQ2K(b, out);
    case DType::kQ3_K: return DecodeQ3K(b, out);
    case DType::kMXFP4: return DecodeTableNibbles<DType::kMXFP4>(b, out);
    case DType::kIQ4_NL: return DecodeTableNibbles<DType::kIQ4_NL>(b, out);
    case DType::kIQ4_XS: return DecodeTableNibbles<DType::kIQ4_XS>(b, out);
    case DType::kQ8_K: {
      float d;
      std::memcpy(&d, b, sizeof(d));
      for (int j = 0; j < 256; ++j) out[j] = d * static_cast<float>(static_cast<int8_t>(b[4 + j]));
      return;
    }
    default: SIGMA_CHECK(false, "DecodeOneBlock: not a block type: ", DTypeName(dtype));
  }
}

}  // namespace

void DecodeBlocks(DType dtype, const void* src, int64_t n_blocks, float* out) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(out, src, static_cast<size_t>(n_blocks) * sizeof(float));
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n_blocks; ++i) out[i] = LoadF16(bytes + 2 * i);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n_blocks; ++i) {
        uint16_t bits;
        std::memcpy(&bits, bytes + 2 * i, sizeof(bits));
        out[i] = Bf16ToF32(bits);
      }
      return;
    default: break;
  }
  const int64_t block_size = DTypeBlockSize(dtype);
  const int64_t block_bytes = DTypeBlockBytes(dtype);
  for (int64_t i = 0; i < n_blocks; ++i) {
    DecodeOneBlock(dtype, bytes + i * block_bytes, out + i * block_size);
  }
}

}  // namespace sigma
