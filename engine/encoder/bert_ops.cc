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

// The row loops below are plain axpy loops (no reductions), which the compiler vectorises; GCC
// function multi-versioning picks the AVX-512, AVX2 or baseline clone at load time.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define SIGMA_ENCODER_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIGMA_ENCODER_CLONES
#endif

// One query row of one head. qi: [head_dim]; kt: [head_dim, tokens] (this head's keys,
// transposed); v: [tokens, width] at this head's column offset; scores: [tokens]; oi: [head_dim].
SIGMA_ENCODER_CLONES
void AttendRow(const float* qi, const float* kt, const float* v, int64_t tokens, int64_t width,
               int head_dim, float scale, float* scores, float* oi) {
  std::fill(scores, scores + tokens, 0.0f);
  for (int d = 0; d < head_dim; ++d) {
    const float qd = qi[d] * scale;
    const float* krow = kt + d * tokens;
    for (int64_t j = 0; j < tokens; ++j) scores[j] += qd * krow[j];
  }
  float max_score = -INFINITY;
  for (int64_t j = 0; j < tokens; ++j) max_score = std::max(max_score, scores[j]);
  float sum = 0.0f;
  for (int64_t j = 0; j < tokens; ++j) {
    scores[j] = std::exp(scores[j] - max_score);
    sum += scores[j];
  }
  const float inv = 1.0f / sum;
  for (int d = 0; d < head_dim; ++d) oi[d] = 0.0f;
  for (int64_t j = 0; j < tokens; ++j) {
    const float p = scores[j] * inv;
    const float* vj = v + j * width;
    for (int d = 0; d < head_dim; ++d) oi[d] += p * vj[d];
  }
}

}  // namespace

void AttentionForward(const float* q, const float* k, const float* v, int64_t tokens, int heads,
                      int head_dim, float* out, float* scratch, ThreadPool& pool) {
  constexpr int64_t kRowsPerTask = 16;
  const int64_t width = static_cast<int64_t>(heads) * head_dim;
  float* kt = scratch;  // [width, tokens]: K transposed, so score rows are contiguous axpys
  for (int64_t j = 0; j < tokens; ++j) {
    for (int64_t c = 0; c < width; ++c) kt[c * tokens + j] = k[j * width + c];
  }
  float* score_rows = scratch + width * tokens;  // [pool.size(), tokens]
  const int64_t blocks = (tokens + kRowsPerTask - 1) / kRowsPerTask;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  pool.ParallelFor(heads * blocks, [&](int64_t task, int worker) {
    const int64_t h = task / blocks;
    const int64_t row_begin = (task % blocks) * kRowsPerTask;
    const int64_t row_end = std::min(tokens, row_begin + kRowsPerTask);
    for (int64_t i = row_begin; i < row_end; ++i) {
      AttendRow(q + i * width + h * head_dim, kt + h * head_dim * tokens, v + h * head_dim, tokens,
                width, head_dim, scale, score_rows + worker * tokens, out + i * width + h * head_dim);
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
