// Elementwise and row ops of the forward pass, f32 in and out. Each has a scalar reference in the
// tests; the vectorised versions here must match it within float rounding.
#ifndef SIGMA_ENGINE_CPU_OPS_H_
#define SIGMA_ENGINE_CPU_OPS_H_

#include <cstdint>

#include "engine/dtype.h"
#include "engine/tensor.h"

namespace sigma {

// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i], for each of `rows` rows of length n.
// weight is [n] in f32, f16 or bf16 (a TensorView). out may alias x.
void RmsNorm(const float* x, const TensorView& weight, float eps, int64_t rows, int64_t n,
             float* out);

// Rotary embedding, Hugging Face rotate-half pairing: for each head, element j pairs with
// j + head_dim/2, angle = position * inv_freq[j]. x: [n_heads][head_dim], in place.
// inv_freq: [head_dim / 2] (already scaled by any rope scaling).
void ApplyRope(float* x, int n_heads, int head_dim, int64_t position, const float* inv_freq);

// ApplyRope in two steps, for a position whose angles serve many calls (every layer of a forward
// pass): RopeAngles writes cos and sin of position * inv_freq[j], j < head_dim / 2, and
// RotateHalf applies them. Together they give ApplyRope's result bit for bit.
// RotateHalf turns the first rotary_dim values of each head (element j with j + rotary_dim / 2;
// partial RoPE where rotary_dim < head_dim) and leaves the rest.
void RopeAngles(int64_t position, const float* inv_freq, int half, float* cos_out, float* sin_out);
void RotateHalf(float* x, int n_heads, int head_dim, int rotary_dim, const float* cos_v,
                const float* sin_v);

// gate[i] = silu(gate[i]) * up[i]. Vectorised (ops_avx2.cc) where the AVX2 or AVX-512 kernel
// family is active: within a few f32 ulps of the portable std::exp version.
void SiluMul(float* gate, const float* up, int64_t n);

// gate[i] = gelu(gate[i]) * up[i] with GELU's tanh approximation, 0.5 g (1 + tanh(sqrt(2 / pi)
// (g + 0.044715 g^3))) (transformers' gelu_pytorch_tanh; Gemma's GeGLU). Vectorised as SiluMul
// is, as g * sigmoid(2 sqrt(2 / pi) (g + 0.044715 g^3)), the same function: within a few f32 ulps.
void GeluTanhMul(float* gate, const float* up, int64_t n);

// gate[i] = gelu(gate[i]) * up[i], the exact GELU 0.5 g (1 + erf(g / sqrt(2))).
void GeluMul(float* gate, const float* up, int64_t n);

// gpt-oss's clamped SwiGLU: with g = min(gate[i], limit) and u = up[i] clamped to [-limit, limit],
// gate[i] = (u + 1) * g * sigmoid(alpha * g), in transformers' order of operations.
void ClampedSwigluMul(float* gate, const float* up, int64_t n, float alpha, float limit);

// x[i] = cap * tanh(x[i] / cap): Gemma 2's soft-capping of attention scores and logits.
// Vectorised (ops_avx2.cc) where the AVX2 or AVX-512 family is active: within a few f32 ulps of
// std::tanh.
void SoftCap(float* x, int64_t n, float cap);

// out[i] += x[i].
void AddInPlace(float* out, const float* x, int64_t n);
// out[i] += x[i] * scale (the product rounded, then the sum: as transformers' Granite adds).
void AddScaledInPlace(float* out, const float* x, float scale, int64_t n);

// Converts n floats into a cache row of `dtype` (f32, f16, bf16), rounding to nearest even.
void StoreRow(const float* x, int64_t n, DType dtype, void* dst);

// Embedding row `token` of table [vocab, hidden] (any supported dtype) into out[hidden].
void EmbeddingRow(const TensorView& table, int64_t token, float* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_OPS_H_
