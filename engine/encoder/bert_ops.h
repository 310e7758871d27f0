// Row ops of the BERT encoder forward pass (engine/encoder/bert_encoder.cc), f32 in and out:
// residual + LayerNorm, exact (erf) GELU, bidirectional multi-head attention, mean pooling and
// L2 normalisation. Projections use the engine's MatMul (engine/cpu/matmul.h).
// Thread safety: functions; AttentionForward uses the pool it is given (one caller per pool).
#ifndef SIGMA_ENGINE_ENCODER_BERT_OPS_H_
#define SIGMA_ENGINE_ENCODER_BERT_OPS_H_

#include <cstdint>
#include <span>

#include "engine/cpu/thread_pool.h"

namespace sigma::bert {

// x[r] = LayerNorm(x[r] + residual[r]) * gamma + beta for `rows` rows of length n (residual may be
// null). Mean and variance are accumulated in double. x: [rows, n]; gamma, beta: [n].
void AddLayerNorm(float* x, const float* residual, const float* gamma, const float* beta,
                  float eps, int64_t rows, int64_t n);

// x[i] = 0.5 x (1 + erf(x / sqrt 2)), in place over n values.
void Gelu(float* x, int64_t n);

// Scaled dot-product attention over all positions (no mask, no causality) per head.
// q, k, v: [tokens, heads * head_dim]; out: [tokens, heads * head_dim] (overwritten).
// scratch: AttentionScratchFloats(tokens, heads * head_dim, pool.size()) floats (K transposed,
// then one score row per worker).
void AttentionForward(const float* q, const float* k, const float* v, int64_t tokens, int heads,
                      int head_dim, float* out, float* scratch, ThreadPool& pool);

inline int64_t AttentionScratchFloats(int64_t tokens, int64_t width, int workers) {
  return (width + workers) * tokens;
}

// out[d] = mean over rows of x[r][d]; x: [rows, n]; out: [n].
void MeanPool(const float* x, int64_t rows, int64_t n, float* out);

// Scales x to unit L2 norm (left as is when the norm is 0).
void L2Normalize(std::span<float> x);

}  // namespace sigma::bert

#endif  // SIGMA_ENGINE_ENCODER_BERT_OPS_H_
