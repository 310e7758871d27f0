// RoPE and KV-cache append, fused: for each token row, rotates its query heads in place (f32),
// rotates its key heads and writes them as bf16 to the K cache at (seq, head, pos), and writes its
// value heads (no RoPE) to the V cache. Hugging Face rotate-half pairing: element j pairs with
// j + head_dim/2, angle = float(pos) * inv_freq[j] rounded to f32 (as the CPU reference).
//
// Caches of one layer: K [seqs][n_k][capacity][head_dim], V [seqs][n_v][capacity][head_dim], bf16
// (DESIGN.md §4). One CTA per row. Thread safety: launches on the given stream; rows must write
// distinct (seq, pos) cells.
#ifndef SIGMA_ENGINE_CUDA_ROPE_APPEND_CUH_
#define SIGMA_ENGINE_CUDA_ROPE_APPEND_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"

namespace sigma::cuda {

struct RopeAppendParams {
  float* q = nullptr;             // [rows][q_stride]: n_q heads of head_dim, rotated in place
  int64_t q_stride = 0;
  const float* k = nullptr;       // [rows][kv_stride]: n_k heads
  const float* v = nullptr;       // [rows][kv_stride]: n_v heads
  int64_t kv_stride = 0;
  const int32_t* row_seq = nullptr;  // [rows] cache slot
  const int32_t* row_pos = nullptr;  // [rows] position
  const float* inv_freq = nullptr;   // [head_dim / 2]
  __nv_bfloat16* k_cache = nullptr;  // layer base, see above
  __nv_bfloat16* v_cache = nullptr;
  int64_t capacity = 0;
  int rows = 0;
  int n_q = 0;
  int n_k = 0;
  int n_v = 0;
  int head_dim = 0;
};

Status LaunchRopeAppend(const RopeAppendParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_ROPE_APPEND_CUH_
