// KvCache: the K and V caches of every layer for a fixed number of sequence slots.
//
// K and V live in separate buffers with their own head counts (DiffQKV: n_k != n_v), one row per
// token per head, laid out [layer][seq][head][positions]: V as [pos][head_dim], so that a
// selective-V gather reads whole contiguous rows; K in tiles of 16 positions stored
// dimension-major (attention.h, KElementIndex; a head holds KTilePositions(capacity) positions),
// which the score kernels read 16 positions to a vector.
// Measured and left (2-core Zen 4, paired A/B in one process): storing the V heads that share a K
// head interleaved in blocks of 32-512 positions, so that a decode task reads its V rows as one
// forward stream instead of one stream per head. Plainly reading a Sigma 16K layer in task order
// that way took 97% of a sequential read's bandwidth against 89.5% head by head (host fast), but
// the attention itself was no faster: 1.01-1.03x the time with blocks of 128-512 (fast and slow
// host), 1.09-1.12x with 32 (each block's accumulator flush), at 4K and 16K.
// Memory is reserved with an anonymous mapping, so untouched capacity costs no RAM. A cache whose
// whole reservation is at most a quarter of the usable memory (UsableMemoryBytes: RAM, or a
// container's cgroup limit) is put on transparent huge pages (LargeBuffer: 8% off a SmolLM2 decode
// step at 4K positions), which commits it in 2 MiB pieces (all of it when it is created, where each
// head's positions fit in one piece: a slot's first token would commit the slot); a larger one
// stays on 4 KiB pages, so a long --max-context costs only what the sequences use.
// Ownership: owns its buffers. Thread safety: thread-compatible; distinct rows may be written from
// different threads.
#ifndef SIGMA_ENGINE_KV_CACHE_H_
#define SIGMA_ENGINE_KV_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/base/large_buffer.h"
#include "engine/base/status.h"
#include "engine/cpu/attention.h"
#include "engine/dtype.h"

namespace sigma {

struct KvCacheShape {
  int64_t num_layers = 0;
  int64_t num_seqs = 0;
  int64_t capacity = 0;  // positions per sequence
  int64_t n_k_heads = 0;
  int64_t n_v_heads = 0;
  int64_t head_dim = 0;
  DType dtype = DType::kF32;  // f32, f16 or bf16
};

class KvCache {
 public:
  static StatusOr<KvCache> Create(const KvCacheShape& shape);

  KvCache() = default;

  const KvCacheShape& shape() const { return shape_; }
  KvLayerView View(int64_t layer, int64_t seq) const;

  // Writes head_dim floats (rounded to nearest even in dtype) as the K or V row of `head` at `pos`.
  void StoreK(int64_t layer, int64_t seq, int64_t head, int64_t pos, const float* row);
  void StoreV(int64_t layer, int64_t seq, int64_t head, int64_t pos, const float* row);
  // Reads a row back as floats.
  void LoadK(int64_t layer, int64_t seq, int64_t head, int64_t pos, float* row) const;
  void LoadV(int64_t layer, int64_t seq, int64_t head, int64_t pos, float* row) const;

  // Copies positions [0, length) of every layer from one slot to another (K in whole tiles: up to
  // the end of the tile holding position length - 1, which in the target lies past its length and
  // is rewritten before it is read).
  void CopyPrefix(int64_t from_seq, int64_t to_seq, int64_t length);

  // Bytes one token occupies across all layers (K + V).
  size_t BytesPerToken() const;
  size_t TotalBytes() const { return k_.size() + v_.size(); }
  // Whether the buffers were asked for huge pages (the kernel may still use 4 KiB pages).
  bool huge_pages() const { return huge_pages_; }

 private:
  size_t ElementBytes() const;
  size_t KHeadOffset(int64_t layer, int64_t seq, int64_t head) const;  // its first tile
  size_t VOffset(int64_t layer, int64_t seq, int64_t head, int64_t pos) const;

  KvCacheShape shape_;
  LargeBuffer k_;  // [layer][seq][n_k_heads][KTilePositions(capacity) positions in tiles]
  LargeBuffer v_;  // [layer][seq][n_v_heads][capacity][head_dim]
  bool huge_pages_ = false;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_KV_CACHE_H_
