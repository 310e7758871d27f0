#include "engine/encoder/bert_ops.h"

#include <algorithm>
#include <cmath>

namespace sigma::bert {

void AddLayerNorm(float* x, const float* residual, const float* gamma, const float* beta,
                  float eps, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    if (residual != nullptr) {
      const float* res = residual + r * n;
      for (int64_t i = 0; i < n; ++i) row[i] += res[i];
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += row[i];
    const double mean = sum / static_cast<double>(n);
    double var = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = row[i] - mean;
      var += d * d;
    }
    var /= static_cast<double>(n);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < n; ++i) row[i] = (row[i] - m) * inv * gamma[i] + beta[i];
  }
}

void Gelu(float* x, int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752440f;
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}

namespace {

float Dot(const float* a, const float* b, int n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) partial[j] += a[i + j] * b[i + j];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int j = 0; j < 8; ++j) sum += partial[j];
  return sum;
}

}  // namespace

void AttentionForward(const float* q, const float* k, const float* v, int64_t tokens, int heads,
                      int head_dim, float* out, float* scratch, ThreadPool& pool) {
  constexpr int64_t kRowsPerTask = 16;
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  const int64_t blocks = (tokens + kRowsPerTask - 1) / kRowsPerTask;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  pool.ParallelFor(heads * blocks, [&](int64_t task, int worker) {
    const int64_t h = task / blocks;
    const int64_t row_begin = (task % blocks) * kRowsPerTask;
    const int64_t row_end = std::min(tokens, row_begin + kRowsPerTask);
    float* scores = scratch + worker * tokens;  // [tokens]
    for (int64_t i = row_begin; i < row_end; ++i) {
      const float* qi = q + i * width + h * head_dim;
      float max_score = -INFINITY;
      for (int64_t j = 0; j < tokens; ++j) {
        scores[j] = Dot(qi, k + j * width + h * head_dim, head_dim) * scale;
        max_score = std::max(max_score, scores[j]);
      }
      float sum = 0.0f;
      for (int64_t j = 0; j < tokens; ++j) {
        scores[j] = std::exp(scores[j] - max_score);
        sum += scores[j];
      }
      const float inv = 1.0f / sum;
      float* oi = out + i * width + h * head_dim;
      std::fill(oi, oi + head_dim, 0.0f);
      for (int64_t j = 0; j < tokens; ++j) {
        const float p = scores[j] * inv;
        const float* vj = v + j * width + h * head_dim;
        for (int d = 0; d < head_dim; ++d) oi[d] += p * vj[d];
      }
    }
  });
}

void MeanPool(const float* x, int64_t rows, int64_t n, float* out) {
  std::fill(out, out + n, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) out[i] += x[r * n + i];
  }
  const float inv = 1.0f / static_cast<float>(rows);
  for (int64_t i = 0; i < n; ++i) out[i] *= inv;
}

void L2Normalize(std::span<float> x) {
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  if (sum <= 0.0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& v : x) v *= inv;
}

}  // namespace sigma::bert
