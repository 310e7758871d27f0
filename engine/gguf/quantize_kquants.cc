// The K-quants as ggml's reference quantizers (quantize_row_q4_K_ref, _q5_K_ref, _q6_K_ref) write
// them without an importance matrix, bit for bit (tests/engine/gguf/quantize_test.cc against
// llama.cpp's ggml_quantize_chunk): each sub-block's scale (and minimum) is fitted by weighted
// least squares over a few candidate mappings, then the scales are quantized against the
// super-block's f16 d (and dmin) and the values picked again for the quantized scales. Every
// operation is the reference's, in its order, so that the floats round as they do there.
#include <algorithm>
#include <cmath>

#include "engine/cpu/quant_blocks.h"
#include "engine/gguf/quantize_internal.h"

namespace sigma::internal {
namespace {

// Values below this are taken as zero (ggml's GROUP_MAX_EPS).
constexpr float kGroupEps = 1e-15f;

// x (n values, weights w) ~ scale * L + min with L in [0, nmax] and min <= 0: the plain mapping of
// [min(x, 0), max(x)] onto [0, nmax], then nstep + 1 more whose nmax is stretched by rmin +
// rdelta * step, each fitted by least squares (the minimum kept at or below 0); the one of least
// weighted squared error (absolute error: kAbsolute) wins. L gets its values, *neg_min -min;
// returns the scale (ggml's make_qkx2_quants; kAbsolute its use_mad).
template <bool kAbsolute = false>
float FitScaleAndMin(int n, int nmax, const float* x, const float* w, float rmin, float rdelta,
                     int nstep, uint8_t* L, float* neg_min) {
  const auto loss = [](float diff) { return kAbsolute ? std::fabs(diff) : diff * diff; };
  float min = x[0], max = x[0], sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    *neg_min = -min;
    return 0;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax));
    best_error += w[i] * loss(scale * L[i] + min - x[i]);
  }
  uint8_t trial[32];
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) error += w[i] * loss(this_scale * trial[i] + this_min - x[i]);
    if (error < best_error) {
      std::copy(trial, trial + n, L);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
}

// x (n values) ~ scale * (L - nmax) with L - nmax in [-nmax, nmax - 1], weighted by x^2: the
// value of largest magnitude mapped to -nmax, then 18 mappings around it, keeping the least
// squares fit of the best (ggml's make_qx_quants with rmse_type 1). L gets L; returns the scale.
float FitSymmetricScale(int n, int nmax, const float* x, int8_t* L) {
  const float max = LargestMagnitude(x, n);
  if (std::fabs(max) < kGroupEps) {
    std::fill(L, L + n, 0);
    return 0;
  }
  const auto level = [&](float iscale, int i) {
    return std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
  };
  const auto sums = [&](float iscale, float* sumlx, float* suml2) {
    *sumlx = *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, i);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float iscale = -nmax / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + level(iscale, i));
  float sumlx, suml2;
  sums(iscale, &sumlx, &suml2);
  float scale = suml2 != 0 ? sumlx / suml2 : 0;
  float best = scale * sumlx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sums(iscale, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(nmax + level(iscale, i));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// x (n values) ~ scale * L with L in [-nmax, nmax - 1], weighted by x^2: the value of largest
// magnitude mapped to -nmax, then up to 5 rounds that move single values to the level that raises
// the fit's sum_lx^2 / sum_l2 (ggml's make_q3_quants with do_rmse). L gets L + nmax (0 for an
// all-zero x); returns the scale.
float FitQ3Scale(int n, int nmax, const float* x, int8_t* L) {
  const float max = LargestMagnitude(x, n);
  if (std::fabs(max) < kGroupEps) {
    std::fill(L, L + n, 0);
    return 0;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int round = 0; round < 5; ++round) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (!(slx > 0)) continue;
      float sl2 = suml2 - w * L[i] * L[i];
      const int l = std::clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (l == L[i]) continue;
      slx += w * x[i] * l;
      sl2 += w * l * l;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0 ? sumlx / suml2 : 0;
}

}  // namespace

void QuantizeQ3K(const float* x, std::string* out) {
  int8_t L[256];
  float scales[16], max_scale = 0, amax = 0;
  for (int g = 0; g < 16; ++g) {
    scales[g] = FitQ3Scale(16, 4, x + 16 * g, L + 16 * g);
    if (std::fabs(scales[g]) > amax) {
      amax = std::fabs(scales[g]);
      max_scale = scales[g];
    }
  }
  char block[110] = {};
  auto* hmask = reinterpret_cast<uint8_t*>(block);
  auto* qs = reinterpret_cast<uint8_t*>(block + 32);
  auto* sc = reinterpret_cast<uint8_t*>(block + 96);  // 16 6-bit scales: Q3KScale's packing
  if (max_scale != 0) {
    const float iscale = -32.0f / max_scale;
    for (int g = 0; g < 16; ++g) {
      const int l = std::clamp(NearestInt(iscale * scales[g]), -32, 31) + 32;
      sc[g % 8] |= static_cast<uint8_t>((l & 15) << (g < 8 ? 0 : 4));
      sc[8 + g % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (g / 4)));
    }
    AppendF16(1 / iscale, block + 108);
  }
  uint16_t d16;
  std::memcpy(&d16, block + 108, 2);
  for (int g = 0; g < 16; ++g) {  // the values again, for the stored scales
    const float step = F16ToF32(d16) * static_cast<float>(Q3KScale(sc, g));
    if (step == 0) continue;  // keeps the fit's
    for (int k = 0; k < 16; ++k) {
      L[16 * g + k] = static_cast<int8_t>(std::clamp(NearestInt(x[16 * g + k] / step), -4, 3) + 4);
    }
  }
  for (int e = 0; e < 256; ++e) {  // the third bit of element e at bit e / 32 of hmask[e % 32]
    if (L[e] > 3) hmask[e % 32] |= static_cast<uint8_t>(1 << (e / 32));
    const int low = L[e] & 3;
    const int h = e / 128, i = e % 128 / 32, l = e % 32;  // 2-bit pair i of qs[32 h + l]
    qs[32 * h + l] |= static_cast<uint8_t>(low << (2 * i));
  }
  out->append(block, sizeof(block));
}

template <int kBits>
void QuantizeK45(const float* x, std::string* out) {
  constexpr int kMax = (1 << kBits) - 1;
  uint8_t L[256];
  float scales[8], mins[8], max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xj = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xj[l] * xj[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    float w[32];
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xj[l]);
    scales[j] = kBits == 4 ? FitScaleAndMin(32, kMax, xj, w, -1.0f, 0.1f, 20, L + 32 * j, &mins[j])
                           : FitScaleAndMin(32, kMax, xj, w, -0.5f, 0.1f, 15, L + 32 * j, &mins[j]);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0;
  int sc[8], m[8];
  for (int j = 0; j < 8; ++j) {  // as uint8_t, then at most 63, as ggml stores them
    sc[j] = std::min(63, static_cast<int>(static_cast<uint8_t>(NearestInt(inv_scale * scales[j]))));
    m[j] = std::min(63, static_cast<int>(static_cast<uint8_t>(NearestInt(inv_min * mins[j]))));
  }
  constexpr int kBytes = kBits == 4 ? 144 : 176;
  char block[kBytes] = {};
  AppendF16(max_scale / 63.0f, block);
  AppendF16(max_min / 63.0f, block + 2);
  auto* packed = reinterpret_cast<uint8_t*>(block + 4);  // the inverse of UnpackKScaleMin
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(sc[j] | (sc[j + 4] >> 4) << 6);
    packed[j + 4] = static_cast<uint8_t>(m[j] | (m[j + 4] >> 4) << 6);
    packed[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
  uint16_t bits[2];
  std::memcpy(bits, block, 4);
  const float d = F16ToF32(bits[0]), dmin = F16ToF32(bits[1]);
  for (int j = 0; j < 8; ++j) {  // the values again, for the stored scales
    const float step = d * static_cast<float>(sc[j]);
    if (step == 0) continue;  // keeps the fit's
    const float offset = dmin * static_cast<float>(m[j]);
    for (int l = 0; l < 32; ++l) {
      L[32 * j + l] =
          static_cast<uint8_t>(std::clamp(NearestInt((x[32 * j + l] + offset) / step), 0, kMax));
    }
  }
  auto* qh = reinterpret_cast<uint8_t*>(block + 16);  // Q5_K's fifth bits
  auto* qs = reinterpret_cast<uint8_t*>(block + (kBits == 4 ? 16 : 48));
  for (int j = 0; j < 8; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int q = L[32 * j + l];
      qs[32 * (j / 2) + l] |= static_cast<uint8_t>((q & 15) << (4 * (j % 2)));
      if constexpr (kBits == 5) qh[l] |= static_cast<uint8_t>((q >> 4) << j);
    }
  }
  out->append(block, sizeof(block));
}

void QuantizeQ2K(const float* x, std::string* out) {
  uint8_t L[256];
  float scales[16], mins[16], max_scale = 0, max_min = 0;
  for (int g = 0; g < 16; ++g) {
    float w[16];
    for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * g + l]);
    scales[g] = FitScaleAndMin<true>(16, 3, x + 16 * g, w, -0.5f, 0.1f, 15, L + 16 * g, &mins[g]);
    if (scales[g] > max_scale) max_scale = scales[g];
    if (mins[g] > max_min) max_min = mins[g];
  }
  char block[84] = {};
  auto* sc = reinterpret_cast<uint8_t*>(block);  // scale in the low nibble, min in the high
  auto* qs = reinterpret_cast<uint8_t*>(block + 16);
  if (max_scale > 0) {
    const float iscale = 15.0f / max_scale;
    for (int g = 0; g < 16; ++g) sc[g] = static_cast<uint8_t>(NearestInt(iscale * scales[g]));
    AppendF16(max_scale / 15.0f, block + 80);
  }
  if (max_min > 0) {
    const float iscale = 15.0f / max_min;
    for (int g = 0; g < 16; ++g) sc[g] |= static_cast<uint8_t>(NearestInt(iscale * mins[g]) << 4);
    AppendF16(max_min / 15.0f, block + 82);
  }
  uint16_t bits[2];
  std::memcpy(bits, block + 80, 4);
  for (int g = 0; g < 16; ++g) {  // the values again, for the stored scales
    const float step = F16ToF32(bits[0]) * static_cast<float>(sc[g] & 15);
    if (step == 0) continue;  // keeps the fit's
    const float offset = F16ToF32(bits[1]) * static_cast<float>(sc[g] >> 4);
    for (int k = 0; k < 16; ++k) {
      L[16 * g + k] =
          static_cast<uint8_t>(std::clamp(NearestInt((x[16 * g + k] + offset) / step), 0, 3));
    }
  }
  for (int e = 0; e < 256; ++e) {  // 2-bit pair e % 128 / 32 of qs[32 (e / 128) + e % 32]
    qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>(L[e] << (2 * (e % 128 / 32)));
  }
  out->append(block, sizeof(block));
}

template void QuantizeK45<4>(const float* x, std::string* out);
template void QuantizeK45<5>(const float* x, std::string* out);

void QuantizeQ6K(const float* x, std::string* out) {
  int8_t L[256];
  float scales[16], max_scale = 0, max_abs_scale = 0;
  for (int g = 0; g < 16; ++g) {
    scales[g] = FitSymmetricScale(16, 32, x + 16 * g, L + 16 * g);
    if (std::fabs(scales[g]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[g]);
      max_scale = scales[g];
    }
  }
  char block[210] = {};
  if (max_abs_scale < kGroupEps) {  // all zero
    out->append(block, sizeof(block));
    return;
  }
  const float iscale = -128.0f / max_scale;
  AppendF16(1 / iscale, block + 208);
  uint16_t d16;
  std::memcpy(&d16, block + 208, 2);
  for (int g = 0; g < 16; ++g) {
    const int sc = std::min(127, NearestInt(iscale * scales[g]));
    block[192 + g] = static_cast<char>(static_cast<int8_t>(sc));
    const float step = F16ToF32(d16) * static_cast<float>(static_cast<int8_t>(sc));
    if (step == 0) continue;  // keeps the fit's
    for (int k = 0; k < 16; ++k) {
      L[16 * g + k] =
          static_cast<int8_t>(std::clamp(NearestInt(x[16 * g + k] / step), -32, 31) + 32);
    }
  }
  auto* ql = reinterpret_cast<uint8_t*>(block);
  auto* qh = reinterpret_cast<uint8_t*>(block + 128);
  for (int e = 0; e < 256; ++e) {
    const int q = L[e];
    const int h = e / 128, i = e % 128 / 32, l = e % 32;  // where UnpackQ6KQuants reads e
    ql[64 * h + l + 32 * (i & 1)] |= static_cast<uint8_t>((q & 15) << (i < 2 ? 0 : 4));
    qh[32 * h + l] |= static_cast<uint8_t>((q >> 4) << (2 * i));
  }
  out->append(block, sizeof(block));
}

}  // namespace sigma::internal
