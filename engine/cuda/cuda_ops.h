// Host-level entry points to each device op, for parity tests (tests/gpu/cuda_ops_test.cc) and
// tools: inputs and outputs are host vectors, every call allocates, uploads, runs one op on its
// own stream, synchronises and downloads. Slow by design; never used on the forward path.
// Free of CUDA headers. Thread safety: each call is self-contained.
#ifndef SIGMA_ENGINE_CUDA_CUDA_OPS_H_
#define SIGMA_ENGINE_CUDA_CUDA_OPS_H_

#include <cstdint>
#include <vector>

#include "engine/base/status.h"

namespace sigma::cuda {

// bf16: the op writes (or, for MatMul/Embedding, reads) bf16 instead of f32; the result is
// returned widened to f32.

// x: [rows][n]; weight: [n].
StatusOr<std::vector<float>> RmsNormOnDevice(const std::vector<float>& x,
                                             const std::vector<float>& weight, float eps,
                                             int rows, int n, bool bf16);

// gate, up: [rows][n] -> silu(gate) * up.
StatusOr<std::vector<float>> SiluMulOnDevice(const std::vector<float>& gate,
                                             const std::vector<float>& up, int rows, int n,
                                             bool bf16);

// w: [out][in]; x: [batch][in] -> [batch][out]. bf16: w and x rounded to bf16 first.
StatusOr<std::vector<float>> MatMulOnDevice(const std::vector<float>& w, int64_t out, int64_t in,
                                            const std::vector<float>& x, int batch, bool bf16);

// table: [vocab][hidden] -> rows of `tokens`.
StatusOr<std::vector<float>> EmbeddingOnDevice(const std::vector<float>& table, int64_t vocab,
                                               int64_t hidden, const std::vector<int32_t>& tokens,
                                               bool bf16);

// logits: [rows][vocab] -> argmax per row.
StatusOr<std::vector<int32_t>> ArgMaxOnDevice(const std::vector<float>& logits, int rows,
                                              int vocab);

// RoPE + KV append for rows of one sequence (slot 0) at `positions`.
struct RopeAppendResult {
  std::vector<float> q;        // [rows][n_q * hd] rotated
  std::vector<uint16_t> k;     // [n_k][capacity][hd] bf16 cache (unwritten cells: 0xffff)
  std::vector<uint16_t> v;     // [n_v][capacity][hd]
};
StatusOr<RopeAppendResult> RopeAppendOnDevice(const std::vector<float>& q,
                                              const std::vector<float>& k,
                                              const std::vector<float>& v,
                                              const std::vector<int32_t>& positions,
                                              const std::vector<float>& inv_freq, int n_q, int n_k,
                                              int n_v, int head_dim, int64_t capacity);

// Attention over bf16 caches of several sequences.
struct AttentionCase {
  int n_q = 0, n_k = 0, n_v = 0, head_dim = 0;
  float scale = 0.0f;
  int64_t capacity = 0;
  std::vector<uint16_t> k;  // [seqs][n_k][capacity][hd] bf16 bits
  std::vector<uint16_t> v;  // [seqs][n_v][capacity][hd]
  std::vector<float> q;     // [rows][n_q * hd]
  std::vector<int32_t> row_seq;  // [rows]
  std::vector<int32_t> row_ctx;  // [rows]
  int top_k = 0;
  int num_splits = 0;  // 0 = automatic
  int max_group = 0;
  bool bf16_out = false;
};
// Output [rows][n_q * hd].
StatusOr<std::vector<float>> AttentionOnDevice(const AttentionCase& c);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_CUDA_OPS_H_
