#include "engine/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/base/file.h"
#include "engine/base/large_buffer.h"
#include "engine/base/system_memory.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_tiles.h"
#include "engine/cpu/ops.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/model_internal.h"

namespace sigma {
namespace {

StatusOr<DType> ResolveKvDtype(const std::string& name, const ModelWeights& weights) {
  if (name == "f32") return DType::kF32;
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  if (name == "auto") {
    return weights.layers.empty() || weights.layers[0].k_proj.dtype == DType::kF32 ? DType::kF32
                                                                                   : DType::kBF16;
  }
  return InvalidArgumentError("--kv-dtype: expected f32, f16, bf16 or auto, got '", name, "'");
}

using internal::AddResidual;
using internal::BiasOrNull;
using internal::BlockInput;
using internal::Clock;
using internal::GatedActivation;
using internal::MsBetween;

// Deterministic values in [-1, 1) for synthetic cache rows.
float HashToUnit(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<float>(x >> 40) * 0x1.0p-23f - 1.0f;
}

}  // namespace

StatusOr<ModelWeights> LoadModelWeights(const std::string& path) {
  if (IsGgufPath(path)) return LoadGguf(path);
  if (!IsDirectory(path)) {
    if (!FileExists(path)) return NotFoundError(path, ": no such model file or folder");
    return InvalidArgumentError(path, ": expected a checkpoint folder (config.json + safetensors) "
                                      "or a .gguf file");
  }
  return LoadCheckpoint(path);
}

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path, const EngineOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(ModelWeights weights, LoadModelWeights(path));
  return FromWeights(std::move(weights), options);
}

StatusOr<std::unique_ptr<Model>> Model::FromWeights(ModelWeights weights,
                                                    const EngineOptions& options) {
  SIGMA_RETURN_IF_ERROR(weights.config.Validate());
  if (options.max_sequences <= 0) return InvalidArgumentError("max_sequences must be positive");
  if (options.max_context <= 0) return InvalidArgumentError("--max-context must be positive");
  if (options.selective_v_top_k < 0) return InvalidArgumentError("--selective-v must be >= 0");
  if (options.selective_v_top_k > 0 && weights.config.attention_sinks()) {
    return InvalidArgumentError(
        "--selective-v: selective V renormalises the kept positions' "
        "probabilities, which a model with attention sinks (",
        ArchitectureName(weights.config.arch), ") does not define");
  }
  std::unique_ptr<Model> model(new Model());
  SIGMA_ASSIGN_OR_RETURN(DType kv_dtype, ResolveKvDtype(options.kv_dtype, weights));
  const ModelConfig& c = weights.config;
  KvCacheShape shape{c.num_layers, options.max_sequences, options.max_context, c.n_k_heads,
                     c.n_v_heads, c.head_dim, kv_dtype};
  SIGMA_ASSIGN_OR_RETURN(model->kv_, KvCache::Create(shape));
  model->weights_ = std::move(weights);
  model->options_ = options;
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  model->team_fits_ = model->pool_->size() <= AvailableCpus();
  model->inv_freq_ = model->weights_.config.RopeInvFreq();
  model->local_inv_freq_ = model->weights_.config.LocalRopeInvFreq();
  model->long_inv_freq_ = model->weights_.config.LongRopeInvFreq();
  model->lengths_.assign(static_cast<size_t>(options.max_sequences), 0);
  SIGMA_RETURN_IF_ERROR(model->PlaceDecodeWeights());
  return model;
}

// A decode step streams every layer matrix and the lm_head once. They are placed in one buffer on
// huge pages (LargeBuffer: fewer page walks on that stream), each piece starting on a cache line:
// - as 16-row tiles where the active kernels read quantized matrices that way
//   (engine/cpu/matmul_tiles.h; the integer kernels): as many bytes again, for one row per
//   vector lane (~2x fewer instructions per block than the GGUF rows); the mapped rows then
//   serve only the last rows % 16 and, on AVX2, prefill's batched kernels;
// - otherwise as a plain copy the view then reads instead of the file mapping (4 KiB pages), when
//   all such copies together are at most a quarter of the usable memory (UsableMemoryBytes).
//   Sigma-1.5B with bf16 weights (3.6 GB of matrices): decode steps at 1K positions took 0.93x
//   the time from the copy (in-process A/B, 24 paired rounds); the copy adds ~3 s to loading it
//   (mostly the kernel zeroing the new pages). The file's pages of a copied matrix leave the
//   resident set (WeightSource::ReleasePages); they stay in the page cache.
// Each matrix in one part per worker of the pool, as MatMulShared gives them out (MatMulPartRow):
// worker 0's parts of every matrix in the order a step reads them, then worker 1's, and so on
// (TensorView::parts), so that each worker streams one region through a step.
Status Model::PlaceDecodeWeights() {
  // Without copy_weights (--mmap-weights) nothing is copied, tiles neither: every kernel reads the
  // file mapping (the quantized types then take the float or row-layout kernels).
  if (!options_.copy_weights) return Status::Ok();
  std::vector<TensorView*> matrices;
  for (LayerWeights& l : weights_.layers) {
    for (TensorView* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.q_gate, &l.q_up, &l.q_down,
                          &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) {
      if (t->valid()) matrices.push_back(t);
    }
  }
  if (weights_.lm_head.valid()) matrices.push_back(&weights_.lm_head);
  // A mixture's experts, where all of them fit in a quarter of the usable memory: a step reads a
  // few of each layer's, which then stream from huge pages too, quantized ones as tiles (a mixture
  // of 32 experts, 4 a token, 8 layers of hidden 1024, at 512 positions, alternating runs of
  // `bench`: Q4_0 497-606 tok/s against 392-410 from the mapping, bf16 153-235 against 185-205,
  // 85-95% of the probe's read bandwidth against 68-73%). A larger mixture's are read from the
  // mapping.
  std::vector<TensorView*> experts;
  size_t expert_bytes = 0;
  for (LayerWeights& l : weights_.layers) {
    for (FfnWeights& e : l.experts) {
      for (TensorView* t : {&e.gate_proj, &e.up_proj, &e.down_proj}) {
        experts.push_back(t);
        expert_bytes += static_cast<size_t>(t->rows()) * t->row_bytes();
      }
    }
  }
  if (expert_bytes <= UsableMemoryBytes() / 4) {
    matrices.insert(matrices.end(), experts.begin(), experts.end());
  }

  size_t plain_bytes = 0;
  for (TensorView* t : matrices) {
    t->parts_are_tiles = MatMulUsesTiles(*t);
    if (!t->parts_are_tiles) plain_bytes += static_cast<size_t>(t->rows()) * t->row_bytes();
  }
  const bool copy_plain = plain_bytes <= UsableMemoryBytes() / 4;
  std::erase_if(matrices, [&](const TensorView* t) { return !t->parts_are_tiles && !copy_plain; });

  struct Placement {
    TensorView* view;
    int64_t part;
    TensorView rows;  // the part's rows of view, in the file mapping
    size_t bytes;     // of its copy
    size_t offset;    // in decode_weights_
  };
  const int64_t parts = pool_->size();
  std::vector<Placement> placements;
  constexpr size_t kLine = 64;
  size_t total = 0;
  for (int64_t p = 0; p < parts; ++p) {
    for (TensorView* t : matrices) {
      const int64_t first = MatMulPartRow(t->rows(), parts, p);
      const int64_t count = MatMulPartRow(t->rows(), parts, p + 1) - first;
      TensorView rows = *t;
      rows.shape = {count, t->cols()};
      const auto row_bytes = static_cast<int64_t>(t->row_bytes());
      rows.data = static_cast<const uint8_t*>(t->data) + first * row_bytes;
      rows.nbytes = static_cast<size_t>(count * row_bytes);
      const int64_t copied = t->parts_are_tiles ? count / kMatMulTileRows * kMatMulTileRows : count;
      const auto bytes = static_cast<size_t>(copied * row_bytes);
      placements.push_back({t, p, rows, bytes, total});
      total += (bytes + kLine - 1) / kLine * kLine;
    }
  }
  StatusOr<LargeBuffer> buffer = LargeBuffer::Allocate(total, /*huge_pages=*/true);
  if (!buffer.ok()) {
    return ResourceExhaustedError("decode copies of the weights: ", buffer.status().message());
  }
  decode_weights_ = std::move(buffer).value();
  for (TensorView* t : matrices) t->parts.assign(static_cast<size_t>(parts), nullptr);
  // Each plain copy's file pages are released as soon as it is made, so the resident set never
  // holds much more than the copies.
  pool_->ParallelFor(static_cast<int64_t>(placements.size()), [&](int64_t i, int) {
    const Placement& p = placements[static_cast<size_t>(i)];
    uint8_t* dst = decode_weights_.data() + p.offset;
    p.view->parts[static_cast<size_t>(p.part)] = dst;
    if (p.bytes == 0) return;
    if (p.view->parts_are_tiles) {
      PackMatMulTiles(p.rows, {dst, p.bytes});
    } else {
      PrefaultForRead(p.rows.data, p.bytes);
      std::memcpy(dst, p.rows.data, p.bytes);
      if (weights_.source != nullptr) weights_.source->ReleasePages(p.rows.data, p.bytes);
    }
  });
  return Status::Ok();
}

Status Model::TruncateSequence(int seq, int64_t length) {
  if (seq < 0 || seq >= num_sequences()) return OutOfRangeError("sequence slot ", seq, " out of range");
  int64_t& current = lengths_[static_cast<size_t>(seq)];
  if (length < 0 || length > current) {
    return OutOfRangeError("cannot truncate sequence ", seq, " of length ", current, " to ", length);
  }
  current = length;
  return Status::Ok();
}

Status Model::CopySequence(int from, int to, int64_t length) {
  if (from < 0 || from >= num_sequences() || to < 0 || to >= num_sequences()) {
    return OutOfRangeError("sequence slot out of range");
  }
  if (length < 0 || length > SequenceLength(from)) {
    return OutOfRangeError("cannot copy ", length, " positions of sequence ", from, " of length ",
                           SequenceLength(from));
  }
  kv_.CopyPrefix(from, to, length);
  lengths_[static_cast<size_t>(to)] = length;
  return Status::Ok();
}

Status Model::FillSyntheticContext(int seq, int64_t length, uint64_t seed) {
  if (seq < 0 || seq >= num_sequences()) return OutOfRangeError("sequence slot ", seq, " out of range");
  if (length < 0 || length > capacity()) {
    return OutOfRangeError("synthetic context of ", length, " positions exceeds the capacity of ",
                           capacity());
  }
  const ModelConfig& c = config();
  const int64_t head_dim = c.head_dim;
  const int64_t heads = c.n_k_heads + c.n_v_heads;
  // One task per (layer, head); K heads first, then V heads.
  pool_->ParallelFor(c.num_layers * heads, [&](int64_t task, int) {
    const int64_t layer = task / heads;
    const int64_t head = task % heads;
    std::vector<float> row(static_cast<size_t>(head_dim));
    for (int64_t pos = 0; pos < length; ++pos) {
      const uint64_t base = ((seed * 131 + static_cast<uint64_t>(task)) << 32) ^
                            static_cast<uint64_t>(pos * head_dim);
      for (int64_t d = 0; d < head_dim; ++d) row[static_cast<size_t>(d)] = HashToUnit(base + d);
      if (head < c.n_k_heads) {
        kv_.StoreK(layer, seq, head, pos, row.data());
      } else {
        kv_.StoreV(layer, seq, head - c.n_k_heads, pos, row.data());
      }
    }
  });
  lengths_[static_cast<size_t>(seq)] = length;
  return Status::Ok();
}

Status Model::Validate(std::span<const TokenRow> rows) const {
  std::vector<int64_t> added(lengths_.size(), 0);
  int last_seq = -1;
  std::vector<bool> closed(lengths_.size(), false);
  for (const TokenRow& row : rows) {
    if (row.seq < 0 || row.seq >= num_sequences()) {
      return OutOfRangeError("sequence slot ", row.seq, " out of range [0, ", num_sequences(), ")");
    }
    if (row.token < 0 || row.token >= vocab_size()) {
      return OutOfRangeError("token id ", row.token, " out of range [0, ", vocab_size(), ")");
    }
    const size_t s = static_cast<size_t>(row.seq);
    if (row.seq != last_seq) {
      if (closed[s]) return InvalidArgumentError("rows of sequence ", row.seq, " are not consecutive");
      if (last_seq >= 0) closed[static_cast<size_t>(last_seq)] = true;
      last_seq = row.seq;
    }
    if (lengths_[s] + ++added[s] > capacity()) {
      return ResourceExhaustedError("sequence ", row.seq, " would exceed the context capacity of ",
                                    capacity(), " tokens (raise --max-context)");
    }
  }
  return Status::Ok();
}

void Model::EnsureScratch(int64_t rows) {
  if (rows <= scratch_rows_) return;
  const ModelConfig& c = config();
  const auto n = static_cast<size_t>(rows);
  x_.resize(n * c.hidden_size);
  h_.resize(n * c.hidden_size);
  q0_.resize(n * c.q_dim());
  q_.resize(n * c.q_dim());
  k_.resize(n * c.k_dim());
  v_.resize(n * c.v_dim());
  aug_g_.resize(n * c.aug_q_intermediate_size);
  aug_u_.resize(n * c.aug_q_intermediate_size);
  attn_.resize(n * c.q_dim());
  ffn_g_.resize(n * c.intermediate_size);
  ffn_u_.resize(n * c.intermediate_size);
  if (c.moe.num_experts > 0) {
    const MoeConfig& moe = c.moe;
    const size_t routed = n * static_cast<size_t>(moe.experts_per_token + 1);
    const auto width = static_cast<size_t>(
        std::max(moe.expert_intermediate_size, moe.shared_expert_intermediate_size));
    router_logits_.resize(n * moe.num_experts);
    moe_x_.resize(n * c.hidden_size);
    moe_g_.resize(routed * width);
    moe_u_.resize(routed * width);
    moe_y_.resize(routed * c.hidden_size);
    shared_gate_.resize(n);
  }
  rope_cos_.resize(n * static_cast<size_t>(c.head_dim / 2));
  rope_sin_.resize(n * static_cast<size_t>(c.head_dim / 2));
  if (!local_inv_freq_.empty()) {
    local_rope_cos_.resize(n * static_cast<size_t>(c.head_dim / 2));
    local_rope_sin_.resize(n * static_cast<size_t>(c.head_dim / 2));
  }
  scratch_rows_ = rows;
}

Status Model::Forward(std::span<const TokenRow> rows, LogitsMode mode, std::vector<float>* logits) {
  SIGMA_RETURN_IF_ERROR(Validate(rows));
  if (rows.empty()) {
    if (logits != nullptr) logits->clear();
    return Status::Ok();
  }
  const ModelConfig& c = config();
  const auto n = static_cast<int64_t>(rows.size());
  const auto start = Clock::now();
  ++profile_.calls;
  EnsureScratch(n);
  std::vector<int64_t> positions(rows.size());
  {
    std::vector<int64_t> next(lengths_);
    for (size_t i = 0; i < rows.size(); ++i) positions[i] = next[static_cast<size_t>(rows[i].seq)]++;
  }
  const float embedding_scale = c.embedding_scale();
  for (int64_t r = 0; r < n; ++r) {
    float* x = &x_[r * c.hidden_size];
    EmbeddingRow(weights_.embed_tokens, rows[static_cast<size_t>(r)].token, x);
    if (embedding_scale != 1.0f) {
      for (int64_t i = 0; i < c.hidden_size; ++i) x[i] *= embedding_scale;
    }
  }
  // The rotary angles of each row's position, computed once for all layers (rows head_dim / 2
  // apart, the first rotary_dim / 2 of each used), times longrope's attention factor as
  // transformers multiplies its cos and sin. longrope's factors are the long ones for every row
  // of a sequence whose rows here reach past the original context (ModelConfig::UsesLongRope:
  // transformers decides per forward pass; here per sequence, so that a batch changes nothing).
  const int stride = static_cast<int>(c.head_dim / 2);
  const int half = static_cast<int>(c.rotary_dim() / 2);
  const auto rope_factor = static_cast<float>(c.RopeAttentionFactor());
  std::vector<int64_t> seq_end;  // longrope: each sequence's length after this pass
  if (!long_inv_freq_.empty()) {
    seq_end.assign(lengths_.size(), 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      seq_end[static_cast<size_t>(rows[i].seq)] = positions[i] + 1;
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    float* cos_r = &rope_cos_[r * stride];
    float* sin_r = &rope_sin_[r * stride];
    const int64_t pos = positions[static_cast<size_t>(r)];
    const bool long_rope =
        !seq_end.empty() && c.UsesLongRope(seq_end[static_cast<size_t>(rows[r].seq)]);
    RopeAngles(pos, long_rope ? long_inv_freq_.data() : inv_freq_.data(), half, cos_r, sin_r);
    if (rope_factor != 1.0f) {
      for (int j = 0; j < half; ++j) {
        cos_r[j] *= rope_factor;
        sin_r[j] *= rope_factor;
      }
    }
    if (!local_inv_freq_.empty()) {
      RopeAngles(pos, local_inv_freq_.data(), half, &local_rope_cos_[r * stride],
                 &local_rope_sin_[r * stride]);
    }
  }
  bool team = UsesDecodeTeam(rows);
  if (team && team_backoff_left_ > 0 && options_.decode_team == DecodeTeam::kAuto) {
    // A recent team step stalled.
    --team_backoff_left_;
    team = false;
  }
  if (team) {
    RunDecodeTeam(rows, positions);
  } else {
    for (int64_t layer = 0; layer < c.num_layers; ++layer) RunLayer(layer, rows, positions);
  }
  for (size_t i = 0; i < rows.size(); ++i) lengths_[static_cast<size_t>(rows[i].seq)] = positions[i] + 1;

  if (mode == LogitsMode::kNone || logits == nullptr) {
    profile_.total_ms += MsBetween(start, Clock::now());
    return Status::Ok();
  }
  const auto head_start = Clock::now();
  const int64_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  const int64_t count = n - first;
  RmsNorm(&x_[first * c.hidden_size], weights_.final_norm, static_cast<float>(c.rms_norm_eps), count,
          c.hidden_size, &h_[0]);
  logits->resize(static_cast<size_t>(count * c.vocab_size));
  MatMul(weights_.lm_head, h_.data(), count, nullptr, logits->data(), *pool_);
  if (c.final_logit_softcapping > 0) {
    SoftCap(logits->data(), count * c.vocab_size, static_cast<float>(c.final_logit_softcapping));
  }
  if (c.logits_scaling != 1.0) {  // Granite: divided, as transformers divides
    const auto s = static_cast<float>(c.logits_scaling);
    for (float& v : *logits) v /= s;
  }
  const auto end = Clock::now();
  profile_.lm_head_ms += MsBetween(head_start, end);
  profile_.total_ms += MsBetween(start, end);
  return Status::Ok();
}

Status Model::Prefill(int seq, std::span<const int32_t> tokens, LogitsMode mode,
                      std::vector<float>* logits) {
  std::vector<TokenRow> rows(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) rows[i] = TokenRow{seq, tokens[i]};
  return Forward(rows, mode, logits);
}

void Model::RunLayer(int64_t layer, std::span<const TokenRow> rows,
                     std::span<const int64_t> positions) {
  const ModelConfig& c = config();
  const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  const auto n = static_cast<int64_t>(rows.size());
  const auto eps = static_cast<float>(c.rms_norm_eps);
  ThreadPool& pool = *pool_;

  const auto t0 = Clock::now();
  BlockInput(c, x_.data(), w.attn_norm, n, h_.data());
  // q (or, with augmented Q, q0), k and v: three projections of h in one pass.
  const bool aug_q = c.aug_q_intermediate_size > 0;
  const Projection qkv[] = {{&w.q_proj, BiasOrNull(w.q_bias), aug_q ? q0_.data() : q_.data()},
                            {&w.k_proj, BiasOrNull(w.k_bias), k_.data()},
                            {&w.v_proj, BiasOrNull(w.v_bias), v_.data()}};
  // Measured and left: prefetching this layer's K/V cache spread over the pass below (SmolLM2,
  // 512 positions) cut its decode attention 0.72 -> 0.51-0.53 ms a step and slowed the
  // projections by as much (2.99-3.11 -> 3.37-3.45 ms): the bytes cost the same where they go.
  MatMulShared(qkv, h_.data(), n, pool);
  if (aug_q) {
    // Augmented Q (paper App. E): q = q_down(silu(q_gate(q0)) * q_up(q0)), q0 = q_proj(h).
    const auto aug_start = Clock::now();
    const Projection gate_up[] = {{&w.q_gate, nullptr, aug_g_.data()},
                                  {&w.q_up, nullptr, aug_u_.data()}};
    MatMulShared(gate_up, q0_.data(), n, pool);
    SiluMul(aug_g_.data(), aug_u_.data(), n * c.aug_q_intermediate_size);
    MatMul(w.q_down, aug_g_.data(), n, nullptr, q_.data(), pool);
    profile_.aug_q_ms += MsBetween(aug_start, Clock::now());
  }

  const auto attention_start = Clock::now();
  const int head_dim = static_cast<int>(c.head_dim);
  if (c.qk_norm() && c.qk_norm_per_head()) {  // each head's row of q and k, all rows at once
    RmsNorm(q_.data(), w.q_norm, eps, n * c.n_q_heads, head_dim, q_.data());
    RmsNorm(k_.data(), w.k_norm, eps, n * c.n_k_heads, head_dim, k_.data());
  } else if (c.qk_norm()) {  // OLMo 2: each row's whole q and k
    RmsNorm(q_.data(), w.q_norm, eps, n, c.q_dim(), q_.data());
    RmsNorm(k_.data(), w.k_norm, eps, n, c.k_dim(), k_.data());
  }
  for (int64_t r = 0; r < n; ++r) {
    const int64_t pos = positions[static_cast<size_t>(r)];
    const int64_t seq = rows[static_cast<size_t>(r)].seq;
    const float* cos_r = RopeCos(layer, r);
    const float* sin_r = RopeSin(layer, r);
    const int rotary = static_cast<int>(c.rotary_dim());
    if (c.RotatesLayer(layer)) {  // not SmolLM3's NoPE layers
      RotateHalf(&q_[r * c.q_dim()], static_cast<int>(c.n_q_heads), head_dim, rotary, cos_r, sin_r);
      RotateHalf(&k_[r * c.k_dim()], static_cast<int>(c.n_k_heads), head_dim, rotary, cos_r, sin_r);
    }
    for (int64_t h = 0; h < c.n_k_heads; ++h) {
      kv_.StoreK(layer, seq, h, pos, &k_[r * c.k_dim() + h * head_dim]);
    }
    for (int64_t h = 0; h < c.n_v_heads; ++h) {
      kv_.StoreV(layer, seq, h, pos, &v_[r * c.v_dim() + h * head_dim]);
    }
  }
  Attention(layer, rows, positions);
  const auto attention_end = Clock::now();
  profile_.attention_ms += MsBetween(attention_start, attention_end);

  // h = o_proj(attn); x += h (each through its post norm where the model has them); then the
  // gated FFN with its residual.
  MatMul(w.o_proj, attn_.data(), n, BiasOrNull(w.o_bias), h_.data(), pool);
  if (c.post_norms()) RmsNorm(h_.data(), w.attn_post_norm, eps, n, c.hidden_size, h_.data());
  AddResidual(c, h_.data(), n * c.hidden_size, x_.data());
  BlockInput(c, x_.data(), w.ffn_norm, n, h_.data());
  Ffn(layer, n);
  if (c.post_norms()) RmsNorm(h_.data(), w.ffn_post_norm, eps, n, c.hidden_size, h_.data());
  AddResidual(c, h_.data(), n * c.hidden_size, x_.data());
  // Projections = the layer's time minus attention and augmented Q (measured above).
  profile_.projection_ms += MsBetween(t0, attention_start) + MsBetween(attention_end, Clock::now());
}

// Runs of one row of a sequence go to the batched decode kernel together; longer runs (prompts)
// go to the causal prefill kernel one run at a time.
AttentionShape Model::LayerAttentionShape(int64_t layer) const {
  const ModelConfig& c = config();
  AttentionShape shape{static_cast<int>(c.n_q_heads), static_cast<int>(c.n_k_heads),
                       static_cast<int>(c.n_v_heads), static_cast<int>(c.head_dim),
                       c.AttentionScale()};
  shape.window = c.AttentionWindow(layer);
  shape.softcap = static_cast<float>(c.attn_logit_softcapping);
  shape.sinks = BiasOrNull(weights_.layers[static_cast<size_t>(layer)].sinks);
  return shape;
}

const float* Model::RopeCos(int64_t layer, int64_t r) const {
  const std::vector<float>& table = config().LocalRope(layer) ? local_rope_cos_ : rope_cos_;
  return &table[static_cast<size_t>(r * (config().head_dim / 2))];
}

const float* Model::RopeSin(int64_t layer, int64_t r) const {
  const std::vector<float>& table = config().LocalRope(layer) ? local_rope_sin_ : rope_sin_;
  return &table[static_cast<size_t>(r * (config().head_dim / 2))];
}

void Model::Attention(int64_t layer, std::span<const TokenRow> rows,
                      std::span<const int64_t> positions) {
  const ModelConfig& c = config();
  const AttentionShape shape = LayerAttentionShape(layer);
  const int top_k = options_.selective_v_top_k;
  std::vector<DecodeItem> singles;
  size_t begin = 0;
  while (begin < rows.size()) {
    size_t end = begin + 1;
    while (end < rows.size() && rows[end].seq == rows[begin].seq) ++end;
    const int64_t start = positions[begin];
    const KvLayerView view = kv_.View(layer, rows[begin].seq);
    float* out = &attn_[static_cast<int64_t>(begin) * c.q_dim()];
    const float* q = &q_[static_cast<int64_t>(begin) * c.q_dim()];
    if (end - begin == 1) {
      singles.push_back(DecodeItem{q, view, start + 1, out});
    } else {
      PrefillAttention(shape, q, view, start, static_cast<int64_t>(end - begin), top_k, out, *pool_);
    }
    begin = end;
  }
  if (!singles.empty()) DecodeAttention(shape, singles, top_k, *pool_);
}

}  // namespace sigma
