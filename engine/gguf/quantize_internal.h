// What the quantizers (quantize.cc, quantize_kquants.cc) share.
// Thread safety: pure functions.
#ifndef SIGMA_ENGINE_GGUF_QUANTIZE_INTERNAL_H_
#define SIGMA_ENGINE_GGUF_QUANTIZE_INTERNAL_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/dtype.h"

namespace sigma::internal {

// x as an f16 at dst (any alignment).
inline void AppendF16(float x, char* dst) {
  const uint16_t bits = F32ToF16(x);
  std::memcpy(dst, &bits, 2);
}

// ggml's nearest_int: v rounded to the nearest integer, ties to even, by adding 1.5 * 2^23 so
// that the sum's low mantissa bits are the integer (|v| < 2^22).
inline int NearestInt(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// The value of largest magnitude among x[0..n) (the first of equal ones; 0 for none).
inline float LargestMagnitude(const float* x, int n) {
  float extreme = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  return extreme;
}

// One super-block of 256 floats as a Q4_K / Q5_K (kBits 4 / 5), Q6_K, Q3_K or Q2_K block
// appended to *out, as ggml's reference quantizers write them (quantize_kquants.cc).
template <int kBits>
void QuantizeK45(const float* x, std::string* out);
void QuantizeQ6K(const float* x, std::string* out);
void QuantizeQ3K(const float* x, std::string* out);
void QuantizeQ2K(const float* x, std::string* out);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_GGUF_QUANTIZE_INTERNAL_H_
