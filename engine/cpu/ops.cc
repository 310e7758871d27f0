#include "engine/cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cpu/ops_internal.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma {
namespace {

// weight as f32 (copied only when it is not f32 already).
const float* WeightAsF32(const TensorView& weight, int64_t n, std::vector<float>* storage) {
  SIGMA_CHECK(weight.valid() && weight.numel() == n, "RmsNorm: weight ", weight.name, " has ",
              weight.numel(), " elements, expected ", n);
  if (weight.dtype == DType::kF32) return static_cast<const float*>(weight.data);
  SIGMA_CHECK(!DTypeIsQuantized(weight.dtype), "RmsNorm: quantized weight ", weight.name);
  storage->resize(static_cast<size_t>(n));
  DecodeBlocks(weight.dtype, weight.data, n, storage->data());
  return storage->data();
}

}  // namespace

void RmsNorm(const float* x, const TensorView& weight, float eps, int64_t rows, int64_t n,
             float* out) {
  std::vector<float> storage;
  const float* w = WeightAsF32(weight, n, &storage);
  const bool avx2 = ActiveCpuIsa() != CpuIsa::kGeneric && CpuSupportsAvx2();
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = out + r * n;
    double sum = 0.0;
    if (avx2) {
      sum = internal::SumSquaresAvx2(xr, n);
    } else {
      for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] * inv) * w[i];
  }
}

void RopeAngles(int64_t position, const float* inv_freq, int half, float* cos_out, float* sin_out) {
  for (int j = 0; j < half; ++j) {
    // The angle is rounded to f32 first, as Hugging Face computes it.
    const float angle = static_cast<float>(position) * inv_freq[j];
    cos_out[j] = static_cast<float>(std::cos(static_cast<double>(angle)));
    sin_out[j] = static_cast<float>(std::sin(static_cast<double>(angle)));
  }
}

void RotateHalf(float* x, int n_heads, int head_dim, int rotary_dim, const float* cos_v,
                const float* sin_v) {
  SIGMA_CHECK(rotary_dim % 2 == 0 && rotary_dim <= head_dim, "RotateHalf: rotary_dim ", rotary_dim,
              " of head_dim ", head_dim);
  const int half = rotary_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int j = 0; j < half; ++j) {
      const float x0 = v[j];
      const float x1 = v[j + half];
      v[j] = x0 * cos_v[j] - x1 * sin_v[j];
      v[j + half] = x1 * cos_v[j] + x0 * sin_v[j];
    }
  }
}

void ApplyRope(float* x, int n_heads, int head_dim, int64_t position, const float* inv_freq) {
  SIGMA_CHECK(head_dim % 2 == 0, "ApplyRope: odd head_dim ", head_dim);
  const int half = head_dim / 2;
  constexpr int kMaxHalf = 512;
  SIGMA_CHECK(half <= kMaxHalf, "ApplyRope: head_dim ", head_dim, " too large");
  float cos_v[kMaxHalf];
  float sin_v[kMaxHalf];
  RopeAngles(position, inv_freq, half, cos_v, sin_v);
  RotateHalf(x, n_heads, head_dim, head_dim, cos_v, sin_v);
}

void SiluMul(float* gate, const float* up, int64_t n) {
  if (ActiveCpuIsa() != CpuIsa::kGeneric && CpuSupportsAvx2()) {
    return internal::SiluMulAvx2(gate, up, n);
  }
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void GeluTanhMul(float* gate, const float* up, int64_t n) {
  if (ActiveCpuIsa() != CpuIsa::kGeneric && CpuSupportsAvx2()) {
    return internal::GeluTanhMulAvx2(gate, up, n);
  }
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    const float inner = kSqrt2OverPi * (g + 0.044715f * g * g * g);
    gate[i] = 0.5f * g * (1.0f + std::tanh(inner)) * up[i];
  }
}

void GeluMul(float* gate, const float* up, int64_t n) {
  constexpr float kInvSqrt2 = 0.7071067811865476f;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = 0.5f * g * (1.0f + std::erf(g * kInvSqrt2)) * up[i];
  }
}

void ClampedSwigluMul(float* gate, const float* up, int64_t n, float alpha, float limit) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], limit);
    const float u = std::clamp(up[i], -limit, limit);
    const float glu = g * (1.0f / (1.0f + std::exp(-(g * alpha))));
    gate[i] = (u + 1.0f) * glu;
  }
}

void SoftCap(float* x, int64_t n, float cap) {
  if (ActiveCpuIsa() != CpuIsa::kGeneric && CpuSupportsAvx2()) {
    return internal::SoftCapAvx2(x, n, cap);
  }
  const float inverse = 1.0f / cap;
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] * inverse);
}

void AddInPlace(float* out, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += x[i];
}

void AddScaledInPlace(float* out, const float* x, float scale, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += x[i] * scale;  // -ffp-contract=off: no FMA
}

void StoreRow(const float* x, int64_t n, DType dtype, void* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = F32ToF16(x[i]);
      return;
    }
    case DType::kBF16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = F32ToBf16(x[i]);
      return;
    }
    default: SIGMA_CHECK(false, "StoreRow: unsupported cache dtype ", DTypeName(dtype));
  }
}

void EmbeddingRow(const TensorView& table, int64_t token, float* out) {
  SIGMA_CHECK(table.valid() && table.shape.size() == 2, "EmbeddingRow: ", table.name,
              " must be 2-D");
  SIGMA_CHECK(token >= 0 && token < table.rows(), "EmbeddingRow: token ", token, " outside [0, ",
              table.rows(), ")");
  const int64_t cols = table.cols();
  const auto* row =
      static_cast<const uint8_t*>(table.data) + token * static_cast<int64_t>(table.row_bytes());
  DecodeBlocks(table.dtype, row, cols / DTypeBlockSize(table.dtype), out);
}

}  // namespace sigma
