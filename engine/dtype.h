// Element types of weights and caches, and scalar conversions between them.
//
// bf16 and f16 are stored as raw uint16_t bits. Conversions round to nearest even and keep NaN/Inf.
// Vectorised conversions live with the kernels (engine/cpu/); these scalar ones are the reference.
#ifndef SIGMA_ENGINE_DTYPE_H_
#define SIGMA_ENGINE_DTYPE_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace sigma {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kQ8_0,  // GGUF blocks of 32: f16 scale + 32 int8
  kQ4_0,  // GGUF blocks of 32: f16 scale + 16 bytes of nibbles
  kQ4_1,  // GGUF blocks of 32: f16 scale, f16 min + 16 bytes of nibbles
  kQ4_K,  // GGUF super-blocks of 256
  kQ5_0,
  kQ5_1,
  kQ5_K,
  kQ6_K,
  kQ8_K,
  kQ2_K,  // GGUF super-blocks of 256 (decoded by the float kernels, no tiles)
  kQ3_K,
  kMXFP4,   // GGUF blocks of 32: an E8M0 scale byte + 16 bytes of E2M1 nibbles (gpt-oss's experts)
  kIQ4_NL,  // GGUF blocks of 32: f16 scale + 16 bytes of nibbles indexing a non-linear table
  kIQ4_XS,  // GGUF super-blocks of 256: IQ4_NL's table, 6-bit scales of 8 sub-blocks of 32
};

std::string_view DTypeName(DType dtype);

// Elements per block and bytes per block (1 and sizeof(element) for plain types).
int64_t DTypeBlockSize(DType dtype);
int64_t DTypeBlockBytes(DType dtype);
inline bool DTypeIsQuantized(DType dtype) {
  return dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16;
}

inline float Bf16ToF32(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline uint16_t F32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // NaN
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      u = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    u = sign | 0x7f800000u | (mant << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

inline uint16_t F32ToF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> Inf
  if (abs < 0x38800000u) {  // subnormal or zero in f16
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14 + (113 - exp) ...
    const uint32_t half_ulp = 1u << (shift - 1);
    uint32_t result = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    if (rest > half_ulp || (rest == half_ulp && (result & 1u))) ++result;
    return static_cast<uint16_t>(sign | result);
  }
  uint32_t result = ((abs >> 13) - (112u << 10));
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (result & 1u))) ++result;
  return static_cast<uint16_t>(sign | result);
}

}  // namespace sigma

#endif  // SIGMA_ENGINE_DTYPE_H_
