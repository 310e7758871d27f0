// DiffQKV attention on the CPU: independent numbers of query, key and value heads.
//
// Query head i reads K head i / (n_q / n_k) and V head i / (n_q / n_v). Caches hold one row per
// position per head for one sequence and one layer, in f32, f16 or bf16 (KvLayerView): V laid out
// [head][pos][head_dim]; K in tiles of kKTileRows positions stored dimension-major (KElementIndex),
// so that a score pass holds 16 positions in one 512-bit vector and accumulates their dots with
// one FMA per dimension and query head, with no horizontal sums. Scores are q.k * scale in f32
// (with a bf16 cache, q rounded to bf16: AttentionShape::bf16_query); softmax in f32 with max
// subtraction.
//
// Decode (one query position per sequence): one task per (sequence, K head, sequence chunk)
// computes the scores of all query heads sharing that K head in one pass over K, then each V head
// accumulates its query heads' weighted rows; chunks merge by (max, sum, partial output) rescaling
// (flash-decoding). Selective V (top_k > 0): per query head keep the top_k largest probabilities
// over the whole window, renormalise them to sum 1 and read only those V rows; top_k >= window is
// exactly full attention (the dense path is taken). With a sliding window (AttentionShape::window)
// the window is its last `window` positions, and nothing before them is read.
#ifndef SIGMA_ENGINE_CPU_ATTENTION_H_
#define SIGMA_ENGINE_CPU_ATTENTION_H_

#include <cstdint>
#include <memory>
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
  // With a bf16 cache, the score products take q rounded to bf16 (nearest even) and sum in f32,
  // as a bf16 dot product does (FlashAttention's bf16 operands, llama.cpp's query converted to
  // the cache type): the query loses what the cache's keys already lost, and on AVX-512 BF16 one
  // vdpbf16ps then multiplies a dimension pair for a query head, twice the f32 FMA rate (Sigma's
  // 16K score pass was FMA-bound). engine/README.md has the figures. false: q stays f32 (the
  // CUDA kernels split q into two bf16 halves instead; their parity tests compare against this).
  // No effect on f32 and f16 caches.
  bool bf16_query = true;
  // Sliding-window attention (Mistral's sliding_window): the query at position p attends to the
  // `window` positions p - window + 1 .. p (those that exist); 0: to every position 0 .. p.
  int64_t window = 0;
  // Gemma 2's soft-capping: each score s = scale * q.k becomes softcap * tanh(s / softcap) before
  // the softmax; 0: none.
  float softcap = 0.0f;
  // gpt-oss's attention sinks: per query head a logit s_h that joins the head's softmax as one
  // more column without a value, so the weights are exp(score - m) / (sum + exp(s_h - m)) with
  // m the larger of the scores' and the sink's maximum; null: none. Dense attention only (not
  // with selective V).
  const float* sinks = nullptr;
};

// The first position a query at position n_ctx - 1 attends to.
inline int64_t FirstAttended(const AttentionShape& shape, int64_t n_ctx) {
  return shape.window > 0 && n_ctx > shape.window ? n_ctx - shape.window : 0;
}

// Positions per K tile.
inline constexpr int64_t kKTileRows = 16;

// Positions a K head holds for `capacity`: whole tiles.
inline int64_t KTilePositions(int64_t capacity) {
  return (capacity + kKTileRows - 1) / kKTileRows * kKTileRows;
}

// The element index of dimension d of position pos in one K head: the head's tiles one after
// another, each kKTileRows positions x head_dim. In a tile, f32 and f16 are [head_dim][16]
// (dimension d of the 16 positions together); bf16 is [head_dim / 2][16][2] (dimensions 2i and
// 2i + 1 of a position side by side, so that one 32-bit lane widens to both with a shift and a
// mask).
inline int64_t KElementIndex(DType dtype, int head_dim, int64_t pos, int d) {
  const int64_t tile = pos / kKTileRows * kKTileRows * head_dim, p = pos % kKTileRows;
  if (dtype == DType::kBF16) return tile + (d / 2) * 2 * kKTileRows + 2 * p + d % 2;
  return tile + d * kKTileRows + p;
}

// Writes a K row (head_dim floats, rounded to nearest even in `dtype`) as position `pos` of the K
// head whose first tile is `head`.
void StoreKRow(const float* row, int head_dim, DType dtype, void* head, int64_t pos);

// One sequence's cache for one layer.
struct KvLayerView {
  DType dtype = DType::kF32;  // f32, f16 or bf16
  const void* k = nullptr;    // [n_k][KTilePositions(capacity) positions as KElementIndex says]
  const void* v = nullptr;    // [n_v][capacity][head_dim]
  int64_t capacity = 0;       // positions per head
};

struct DecodeItem {
  const float* q = nullptr;  // [n_q][head_dim], RoPE already applied
  KvLayerView kv;            // positions [0, n_ctx) valid, including the current token
                             // (with a sliding window, those it attends to)
  int64_t n_ctx = 0;
  float* out = nullptr;      // [n_q][head_dim]
};

// Decode attention for a batch of sequences (each its own length). top_k <= 0: dense.
void DecodeAttention(const AttentionShape& shape, std::span<const DecodeItem> items, int top_k,
                     ThreadPool& pool);

// DecodeAttention of dense items (no selective V) for a team of threads that run together
// (Model's decode team, spin_barrier.h), layer after layer of one decode step. One member plans
// once a step, while no member runs: the tasks of items of these lengths and each member's share
// (about the same number of rows each). Then, per layer, every member calls Run with that layer's
// items (the same count and lengths as planned; its q and cache rows written before a barrier),
// and the outputs are complete once every member has returned (a barrier before the next Run).
// The same tasks, chunks and merge order as DecodeAttention, so the same results bit for bit.
class DecodeAttentionTeam {
 public:
  DecodeAttentionTeam();
  ~DecodeAttentionTeam();
  DecodeAttentionTeam(const DecodeAttentionTeam&) = delete;
  DecodeAttentionTeam& operator=(const DecodeAttentionTeam&) = delete;

  void Plan(const AttentionShape& shape, std::span<const DecodeItem> items, int members);
  // `sinks`: this layer's AttentionShape::sinks (the planned shape's are not used).
  void Run(int member, std::span<const DecodeItem> items, const float* sinks = nullptr);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Causal attention for n_new query positions start .. start+n_new-1 of one sequence, whose K/V rows
// for positions [0, start + n_new) are already in the cache.
// q: [n_new][n_q][head_dim]; out: [n_new][n_q][head_dim]. top_k as in DecodeAttention, applied per
// query position over its own causal window.
void PrefillAttention(const AttentionShape& shape, const float* q, const KvLayerView& kv,
                      int64_t start, int64_t n_new, int top_k, float* out, ThreadPool& pool);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_ATTENTION_H_
