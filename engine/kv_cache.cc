#include "engine/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "engine/base/system_memory.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma {

StatusOr<KvCache> KvCache::Create(const KvCacheShape& shape) {
  if (shape.dtype != DType::kF32 && shape.dtype != DType::kF16 && shape.dtype != DType::kBF16) {
    return InvalidArgumentError("KV cache dtype must be f32, f16 or bf16, got ", DTypeName(shape.dtype));
  }
  if (shape.num_layers <= 0 || shape.num_seqs <= 0 || shape.capacity <= 0 || shape.n_k_heads <= 0 ||
      shape.n_v_heads <= 0 || shape.head_dim <= 0) {
    return InvalidArgumentError("KV cache: every dimension must be positive");
  }
  KvCache cache;
  cache.shape_ = shape;
  const auto slots = static_cast<size_t>(shape.num_layers * shape.num_seqs);
  const size_t row = static_cast<size_t>(shape.head_dim) * cache.ElementBytes();
  const size_t k_bytes =
      slots * static_cast<size_t>(shape.n_k_heads * KTilePositions(shape.capacity)) * row;
  const size_t v_bytes = slots * static_cast<size_t>(shape.n_v_heads * shape.capacity) * row;
  cache.huge_pages_ = k_bytes + v_bytes <= UsableMemoryBytes() / 4;
  StatusOr<LargeBuffer> k = LargeBuffer::Allocate(k_bytes, cache.huge_pages_);
  StatusOr<LargeBuffer> v = LargeBuffer::Allocate(v_bytes, cache.huge_pages_);
  if (!k.ok() || !v.ok()) {
    return ResourceExhaustedError("KV cache: cannot reserve ", (k_bytes + v_bytes) >> 20, " MiB (",
                                  shape.num_seqs, " sequences x ", shape.capacity,
                                  " positions); lower --max-context or the batch size");
  }
  cache.k_ = std::move(k).value();
  cache.v_ = std::move(v).value();
  // Committed now where a slot's first token commits the whole slot anyway (huge pages, each
  // head's positions within one 2 MiB page), so that the first prefill's time is the model's.
  // Measured (2-core Zen 4 KVM guest, SmolLM2 `generate` of a 2-token prompt, 4096-position
  // cache, alternating runs): time to first token 3.5-4.8 ms against 11.8-14.3 ms in most runs and
  // 110-290 ms in about one of five (the guest kernel's time in these faults moves a lot; such a
  // run now loads slower instead); the whole command 0.23-0.27 s either way but for those. Slots a
  // run leaves unused are committed too (a --batch larger than its documents); a longer
  // --max-context or a larger cache is not.
  const size_t head_bytes =
      static_cast<size_t>(std::max(KTilePositions(shape.capacity), shape.capacity)) * row;
  if (cache.huge_pages_ && head_bytes <= LargeBuffer::kHugePageBytes) {
    cache.k_.Commit(0, cache.k_.size());
    cache.v_.Commit(0, cache.v_.size());
  }
  return cache;
}

size_t KvCache::ElementBytes() const { return shape_.dtype == DType::kF32 ? 4 : 2; }

size_t KvCache::KHeadOffset(int64_t layer, int64_t seq, int64_t head) const {
  const int64_t index = ((layer * shape_.num_seqs + seq) * shape_.n_k_heads + head) *
                        KTilePositions(shape_.capacity);
  return static_cast<size_t>(index * shape_.head_dim) * ElementBytes();
}

size_t KvCache::VOffset(int64_t layer, int64_t seq, int64_t head, int64_t pos) const {
  const int64_t index =
      ((layer * shape_.num_seqs + seq) * shape_.n_v_heads + head) * shape_.capacity + pos;
  return static_cast<size_t>(index * shape_.head_dim) * ElementBytes();
}

KvLayerView KvCache::View(int64_t layer, int64_t seq) const {
  SIGMA_DCHECK(layer < shape_.num_layers && seq < shape_.num_seqs);
  KvLayerView view;
  view.dtype = shape_.dtype;
  view.k = k_.data() + KHeadOffset(layer, seq, 0);
  view.v = v_.data() + VOffset(layer, seq, 0, 0);
  view.capacity = shape_.capacity;
  return view;
}

void KvCache::StoreK(int64_t layer, int64_t seq, int64_t head, int64_t pos, const float* row) {
  SIGMA_DCHECK(pos < shape_.capacity);
  StoreKRow(row, static_cast<int>(shape_.head_dim), shape_.dtype,
            k_.data() + KHeadOffset(layer, seq, head), pos);
}

void KvCache::StoreV(int64_t layer, int64_t seq, int64_t head, int64_t pos, const float* row) {
  SIGMA_DCHECK(pos < shape_.capacity);
  StoreRow(row, shape_.head_dim, shape_.dtype, v_.data() + VOffset(layer, seq, head, pos));
}

void KvCache::LoadK(int64_t layer, int64_t seq, int64_t head, int64_t pos, float* row) const {
  const uint8_t* base = k_.data() + KHeadOffset(layer, seq, head);
  const int hd = static_cast<int>(shape_.head_dim);
  for (int d = 0; d < hd; ++d) {
    DecodeBlocks(shape_.dtype, base + KElementIndex(shape_.dtype, hd, pos, d) * ElementBytes(), 1,
                 row + d);
  }
}

void KvCache::LoadV(int64_t layer, int64_t seq, int64_t head, int64_t pos, float* row) const {
  DecodeBlocks(shape_.dtype, v_.data() + VOffset(layer, seq, head, pos), shape_.head_dim, row);
}

void KvCache::CopyPrefix(int64_t from_seq, int64_t to_seq, int64_t length) {
  SIGMA_CHECK(length <= shape_.capacity, "CopyPrefix past capacity");
  if (from_seq == to_seq || length <= 0) return;
  const size_t row = static_cast<size_t>(shape_.head_dim) * ElementBytes();
  const size_t k_bytes = static_cast<size_t>(KTilePositions(length)) * row;
  const size_t v_bytes = static_cast<size_t>(length) * row;
  for (int64_t layer = 0; layer < shape_.num_layers; ++layer) {
    for (int64_t h = 0; h < shape_.n_k_heads; ++h) {
      std::memcpy(k_.data() + KHeadOffset(layer, to_seq, h),
                  k_.data() + KHeadOffset(layer, from_seq, h), k_bytes);
    }
    for (int64_t h = 0; h < shape_.n_v_heads; ++h) {
      std::memcpy(v_.data() + VOffset(layer, to_seq, h, 0),
                  v_.data() + VOffset(layer, from_seq, h, 0), v_bytes);
    }
  }
}

size_t KvCache::BytesPerToken() const {
  return static_cast<size_t>(shape_.num_layers * (shape_.n_k_heads + shape_.n_v_heads) *
                             shape_.head_dim) * ElementBytes();
}

}  // namespace sigma
