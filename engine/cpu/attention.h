// DiffQKV attention on the CPU: independent numbers of query, key and value heads.
//
// Query head i reads K head i / (n_q / n_k) and V head i / (n_q / n_v). Caches hold one row per
// position per head, laid out [head][pos][head_dim] for one sequence and one layer, in f32, f16 or
// bf16 (KvLayerView). Scores are q.k * scale in f32; softmax in f32 with max subtraction.
//
// Decode (one query position per sequence): one task per (sequence, K head, sequence chunk) computes
// the scores of all query heads sharing that K head in one pass over K, then each V head accumulates
// its query heads' weighted rows; chunks merge by (max, sum, partial output) rescaling
// (flash-decoding). Selective V (top_k > 0): per query head keep the top_k largest probabilities over
// the whole window, renormalise them to sum 1 and read only those V rows; top_k >= window is exactly
// full attention (the dense path is taken).
#ifndef SIGMA_ENGINE_CPU_ATTENTION_H_
#define SIGMA_ENGINE_CPU_ATTENTION_H_

#include <cstdint>
#include <span>

#include "engine/cpu/thread_pool.h"
#include "engine/dtype.h"

namespace sigma {

struct AttentionShape {
  int n_q = 0;
  int n_k = 0;
  int n_v = 0;
  int head_dim = 0;
  float scale = 0.0f;  // usually 1 / sqrt(head_dim)
};

// One sequence's cache for one layer.
struct KvLayerView {
  DType dtype = DType::kF32;  // f32, f16 or bf16
  const void* k = nullptr;    // [n_k][capacity][head_dim]
  const void* v = nullptr;    // [n_v][capacity][head_dim]
  int64_t capacity = 0;       // positions per head (row stride between heads = capacity * head_dim)
};

struct DecodeItem {
  const float* q = nullptr;  // [n_q][head_dim], RoPE already applied
  KvLayerView kv;            // positions [0, n_ctx) valid, including the current token
  int64_t n_ctx = 0;
  float* out = nullptr;      // [n_q][head_dim]
};

// Decode attention for a batch of sequences (each its own length). top_k <= 0: dense.
void DecodeAttention(const AttentionShape& shape, std::span<const DecodeItem> items, int top_k,
                     ThreadPool& pool);

// Causal attention for n_new query positions start .. start+n_new-1 of one sequence, whose K/V rows
// for positions [0, start + n_new) are already in the cache.
// q: [n_new][n_q][head_dim]; out: [n_new][n_q][head_dim]. top_k as in DecodeAttention, applied per
// query position over its own causal window.
void PrefillAttention(const AttentionShape& shape, const float* q, const KvLayerView& kv,
                      int64_t start, int64_t n_new, int top_k, float* out, ThreadPool& pool);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_ATTENTION_H_
