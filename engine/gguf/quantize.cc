#include "engine/gguf/quantize.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "engine/base/check.h"
#include "engine/cpu/quant_blocks.h"
#include "engine/gguf/quantize_internal.h"

namespace sigma {
namespace {

using internal::AppendF16;
using internal::NearestInt;

void QuantizeQ8_0(const float* x, std::string* out) {
  float amax = 0.0f;
  for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float inv = d != 0.0f ? 1.0f / d : 0.0f;
  char block[34];
  AppendF16(d, block);
  for (int i = 0; i < 32; ++i) {
    const float q = std::round(x[i] * inv);
    block[2 + i] = static_cast<char>(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
  }
  out->append(block, sizeof(block));
}

// Q4_0, Q4_1, Q5_0, Q5_1 (kBits, kMin) as ggml's reference quantizer writes them (and the gguf
// package, bit for bit): without a minimum, d maps the value of largest magnitude to -2^(kBits-1)
// and q = trunc(x / d + 2^(kBits-1) + 0.5); with one, d is the range / (2^kBits - 1) above the
// minimum m and q = trunc((x - m) / d + 0.5); both with the f32 d and m (their f16s only stored),
// q clamped to 2^kBits - 1; Q5's fifth bits in a u32 qh, element j's at bit j.
template <int kBits, bool kMin>
void QuantizeLegacy(const float* x, std::string* out) {
  constexpr int kMax = (1 << kBits) - 1;
  float d, m = 0;
  if constexpr (kMin) {
    const auto [lo_it, hi_it] = std::minmax_element(x, x + 32);
    m = *lo_it;
    d = (*hi_it - m) / kMax;
  } else {
    d = internal::LargestMagnitude(x, 32) / -(1 << (kBits - 1));
  }
  const float id = d != 0 ? 1 / d : 0;
  constexpr int kHeader = (kMin ? 4 : 2) + (kBits == 5 ? 4 : 0);
  char block[kHeader + 16] = {};
  AppendF16(d, block);
  if constexpr (kMin) AppendF16(m, block + 2);
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) {
    const float v = kMin ? (x[j] - m) * id + 0.5f : x[j] * id + ((1 << (kBits - 1)) + 0.5f);
    const int q = std::min(static_cast<int>(v), kMax);  // v >= 0: truncation is the floor
    qh |= static_cast<uint32_t>(q >> 4) << j;
    char& byte = block[kHeader + j % 16];
    byte = static_cast<char>(static_cast<uint8_t>(byte) | (q & 15) << (j < 16 ? 0 : 4));
  }
  if constexpr (kBits == 5) std::memcpy(block + kHeader - 4, &qh, 4);
  out->append(block, sizeof(block));
}

void QuantizeMxfp4(const float* x, std::string* out) {
  float amax = 0;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  // floor(log2(amax)) - 2 + 127 as the gguf package computes it (uint8, 0 for an all-zero block).
  const int e =
      amax > 0 ? std::clamp(static_cast<int>(std::floor(std::log2(amax))) + 125, 0, 255) : 0;
  const float d = Mxfp4HalfScale(static_cast<uint8_t>(e));
  const auto nearest = [&](float v) {
    int best = 0;
    float best_err = std::fabs(d * static_cast<float>(kMxfp4Values[0]) - v);
    for (int i = 1; i < 16; ++i) {
      const float err = std::fabs(d * static_cast<float>(kMxfp4Values[i]) - v);
      if (err < best_err) {
        best = i;
        best_err = err;
      }
    }
    return best;
  };
  char block[17];
  block[0] = static_cast<char>(e);
  for (int j = 0; j < 16; ++j) {
    block[1 + j] = static_cast<char>(nearest(x[j]) | nearest(x[j + 16]) << 4);
  }
  out->append(block, sizeof(block));
}

// For each integer k from -127 to 112, the index of the largest IQ4 value <= k: as the values are
// integers, that of the largest <= v for any v in [k, k + 1).
constexpr std::array<uint8_t, 240> kIq4Below = [] {
  std::array<uint8_t, 240> below{};
  for (int k = -127, i = 0; k <= 112; ++k) {
    while (kIq4NlValues[i + 1] <= k) ++i;
    below[static_cast<size_t>(k + 127)] = static_cast<uint8_t>(i);
  }
  return below;
}();

// The index of the IQ4 table value nearest to v; on a tie the larger. Without branches: the scale
// search calls it 16 times per weight on data whose every comparison is a coin toss. v is first
// clamped into [-127, the float below 113], which picks the same value.
int NearestIq4(float v) {
  const int8_t* values = kIq4NlValues;
  v = std::min(std::max(v, -127.0f), 112.99999f);
  int k = static_cast<int>(v);  // floor(v) without a libm call (no SSE4.1 round here)
  k -= static_cast<float>(k) > v ? 1 : 0;
  const int lower = kIq4Below[static_cast<size_t>(k + 127)];
  const bool up =
      v - static_cast<float>(values[lower]) >= static_cast<float>(values[lower + 1]) - v;
  return lower + (up ? 1 : 0);
}

// sum_j w_j q_j x_j and sum_j w_j q_j^2 over a block of 32, q_j the table value nearest x_j * id.
void Iq4Sums(const float* x, const float* w, float id, float* sumqx, float* sumq2) {
  *sumqx = *sumq2 = 0;
  for (int j = 0; j < 32; ++j) {
    const auto q = static_cast<float>(kIq4NlValues[NearestIq4(id * x[j])]);
    *sumqx += w[j] * q * x[j];
    *sumq2 += w[j] * q * q;
  }
}

// The scale of an IQ4 block of 32 (0 if all of it is ~0): with each x weighted by x^2, the least
// squares fit to the values picked for the largest magnitude mapped to the table's first value,
// then for 15 mappings around it, keeping the best.
float Iq4BlockScale(const float* x) {
  const float max = internal::LargestMagnitude(x, 32);
  if (std::fabs(max) < 1e-15f) return 0;
  float w[32];
  for (int j = 0; j < 32; ++j) w[j] = x[j] * x[j];
  const auto first = static_cast<float>(kIq4NlValues[0]);
  float sumqx, sumq2;
  Iq4Sums(x, w, 1 / (-max / first), &sumqx, &sumq2);
  float d = sumq2 > 0 ? sumqx / sumq2 : 0;
  float best = d * sumqx;
  for (int step = -7; step <= 7; ++step) {
    Iq4Sums(x, w, static_cast<float>(step + kIq4NlValues[0]) / max, &sumqx, &sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// Block k's 16 bytes of nibbles: x's nearest table values at x * id.
void PackIq4Nibbles(const float* x, float id, char* qs) {
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<char>(NearestIq4(id * x[j]) | NearestIq4(id * x[j + 16]) << 4);
  }
}

void QuantizeIq4Nl(const float* x, std::string* out) {
  const float d = Iq4BlockScale(x);
  char block[18];
  AppendF16(d, block);
  PackIq4Nibbles(x, d != 0 ? 1 / d : 0, block + 2);
  out->append(block, sizeof(block));
}

// IQ4_XS: each block's scale as IQ4_NL's, then the 8 as 6-bit signed multiples of d = -(the one
// of largest magnitude) / 32, and each block's values picked again for its rounded scale.
void QuantizeIq4Xs(const float* x, std::string* out) {
  float scales[8], max_scale = 0, amax_scale = 0;
  for (int k = 0; k < 8; ++k) {
    scales[k] = Iq4BlockScale(x + 32 * k);
    if (std::fabs(scales[k]) > amax_scale) {
      amax_scale = std::fabs(scales[k]);
      max_scale = scales[k];
    }
  }
  const float d = -max_scale / 32;  // -0 for an all-zero super-block, as llama.cpp writes it
  const float id = d != 0 ? 1 / d : 0;
  char block[136] = {};
  AppendF16(d, block);
  uint16_t scales_h = 0;
  for (int k = 0; k < 8; ++k) {
    const int l = std::clamp(NearestInt(id * scales[k]), -32, 31);
    const float dl = d * static_cast<float>(l);
    PackIq4Nibbles(x + 32 * k, dl != 0 ? 1 / dl : 0, block + 8 + 16 * k);
    block[4 + k / 2] = static_cast<char>(block[4 + k / 2] | ((l + 32) & 15) << (4 * (k % 2)));
    scales_h = static_cast<uint16_t>(scales_h | ((l + 32) >> 4) << (2 * k));
  }
  std::memcpy(block + 2, &scales_h, 2);
  out->append(block, sizeof(block));
}

}  // namespace

bool CanQuantize(DType dtype) {
  switch (dtype) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kMXFP4:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS: return true;
    default: return false;
  }
}

void QuantizeRow(DType dtype, const float* x, int64_t n, std::string* out) {
  SIGMA_CHECK(CanQuantize(dtype), "QuantizeRow: ", DTypeName(dtype));
  const int64_t block = DTypeBlockSize(dtype);
  SIGMA_CHECK(n % block == 0, "QuantizeRow: ", n, " is not a multiple of the ", DTypeName(dtype),
              " block (", block, ")");
  for (int64_t b = 0; b < n; b += block) {
    switch (dtype) {
      case DType::kQ8_0: QuantizeQ8_0(x + b, out); break;
      case DType::kQ4_0: QuantizeLegacy<4, false>(x + b, out); break;
      case DType::kQ4_1: QuantizeLegacy<4, true>(x + b, out); break;
      case DType::kQ5_0: QuantizeLegacy<5, false>(x + b, out); break;
      case DType::kQ5_1: QuantizeLegacy<5, true>(x + b, out); break;
      case DType::kQ2_K: internal::QuantizeQ2K(x + b, out); break;
      case DType::kQ3_K: internal::QuantizeQ3K(x + b, out); break;
      case DType::kQ4_K: internal::QuantizeK45<4>(x + b, out); break;
      case DType::kQ5_K: internal::QuantizeK45<5>(x + b, out); break;
      case DType::kMXFP4: QuantizeMxfp4(x + b, out); break;
      case DType::kIQ4_NL: QuantizeIq4Nl(x + b, out); break;
      case DType::kIQ4_XS: QuantizeIq4Xs(x + b, out); break;
      default: internal::QuantizeQ6K(x + b, out); break;
    }
  }
}

}  // namespace sigma
