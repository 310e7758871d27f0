// Model: the forward pass of a Llama-family or Sigma (DiffQKV) model on the CPU, with a KV cache of
// several sequence slots; the CPU implementation of ForwardModel (engine/forward_model.h) and the
// reference every other backend is tested against. EngineOptions also carries the device choice
// that LoadForwardModel (engine/language_model.h) reads.
//
// One Forward() call runs any set of token rows: a whole prompt of one sequence (prefill), one new
// token for each of several sequences of different lengths (batched decode), or a mix. Rows of one
// sequence must be consecutive and in position order; each row's position is the sequence's current
// length, which advances as rows are run. Per layer: RMSNorm -> q_proj (-> augmented-Q gated MLP)
// -> RoPE on q and k -> cache append -> DiffQKV attention (optional selective V) -> o_proj ->
// residual -> RMSNorm -> SwiGLU (or a mixture's chosen experts) -> residual (DESIGN.md §3, paper
// App. E order).
//
//   SIGMA_ASSIGN_OR_RETURN(auto model, Model::Load("ckpt/", EngineOptions{}));
//   std::vector<float> logits;
//   SIGMA_RETURN_IF_ERROR(model->Prefill(0, prompt_ids, LogitsMode::kLast, &logits));
//
// Ownership: owns the weights (and their memory maps), KV cache, thread pool and scratch.
// Thread safety: not thread-safe; one caller at a time.
#ifndef SIGMA_ENGINE_MODEL_H_
#define SIGMA_ENGINE_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/large_buffer.h"
#include "engine/base/status.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/thread_pool.h"
#include "engine/forward_model.h"
#include "engine/kv_cache.h"
#include "engine/loader/model_weights.h"
#include "engine/moe_routing.h"

namespace sigma {

// kAuto: the team where the pool has no more threads than the CPUs this process may use, except
// for a while after a team step stalled (Model::kDecodeTeamBackoff); kAlways: the team for every
// decode step (tests, A/B runs); kNever: the parallel loops.
enum class DecodeTeam { kAuto, kAlways, kNever };

struct EngineOptions {
  int threads = 0;                   // <= 0: all cores
  std::string kv_dtype = "auto";     // "f32", "f16", "bf16"; auto: f32 for f32 weights, else bf16
  int selective_v_top_k = 0;         // 0: dense attention
  int64_t max_context = 4096;        // positions per sequence slot
  int max_sequences = 1;             // KV cache slots
  std::string device = "cpu";  // "cpu" (Model) or "cuda" (cuda::CudaModel); see LoadForwardModel
  // Copy the weight matrices a decode step streams into huge pages at load when they fit in a
  // quarter of the usable memory (Model::PlaceDecodeWeights); false: read them from the file
  // mapping (loads faster, decodes slower).
  bool copy_weights = true;
  // How decode steps (one row per sequence, dense attention) run their layers: as a team of the
  // pool's threads with barriers between phases (engine/model_decode_team.cc), or as a parallel
  // loop per projection and attention, as prefill does. Both give the same logits bit for bit.
  DecodeTeam decode_team = DecodeTeam::kAuto;
};

// Where the time of Forward() calls went since the last ResetProfile(), in milliseconds.
// "Attention layer" in the paper's sense (its KET/CEET figures) is attention_ms + aug_q_ms:
// RoPE, KV-cache write and read, the attention kernels, and the augmented-Q MLP.
struct ForwardProfile {
  double attention_ms = 0;   // RoPE, KV write, attention kernels
  double aug_q_ms = 0;       // augmented-Q gated MLP
  double projection_ms = 0;  // q/k/v/o projections, FFN, norms and residuals
  double lm_head_ms = 0;     // final norm + vocabulary projection
  double total_ms = 0;
  int64_t calls = 0;
  int64_t team_steps = 0;   // Forward calls run as a decode team
  int64_t team_stalls = 0;  // of which a member waited for another past SpinBarrier::kStallAfter
};

// The weights of `path`: a Hugging Face checkpoint folder (config.json + safetensors) or a .gguf
// file; NOT_FOUND / INVALID_ARGUMENT naming the path otherwise.
StatusOr<ModelWeights> LoadModelWeights(const std::string& path);

class Model final : public ForwardModel {
 public:
  // `path`: a Hugging Face checkpoint folder (config.json + safetensors) or a .gguf file.
  static StatusOr<std::unique_ptr<Model>> Load(const std::string& path, const EngineOptions& options);
  static StatusOr<std::unique_ptr<Model>> FromWeights(ModelWeights weights,
                                                      const EngineOptions& options);

  const ModelConfig& config() const override { return weights_.config; }
  const ModelWeights& weights() const { return weights_; }
  const EngineOptions& options() const { return options_; }
  int num_sequences() const override { return options_.max_sequences; }
  int64_t capacity() const override { return kv_.shape().capacity; }
  DType kv_dtype() const override { return kv_.shape().dtype; }
  size_t kv_bytes_per_token() const override { return kv_.BytesPerToken(); }
  ThreadPool& pool() { return *pool_; }

  int64_t SequenceLength(int seq) const override { return lengths_.at(static_cast<size_t>(seq)); }
  // As ForwardModel (engine/forward_model.h).
  Status TruncateSequence(int seq, int64_t length) override;
  Status CopySequence(int from, int to, int64_t length) override;
  Status Forward(std::span<const TokenRow> rows, LogitsMode mode,
                 std::vector<float>* logits) override;
  Status Prefill(int seq, std::span<const int32_t> tokens, LogitsMode mode,
                 std::vector<float>* logits) override;
  Status FillSyntheticContext(int seq, int64_t length, uint64_t seed) override;

  const ForwardProfile& profile() const { return profile_; }
  void ResetProfile() { profile_ = ForwardProfile(); }

  // Whether `rows` may run as a decode team (EngineOptions::decode_team): one row per sequence,
  // at most kMaxDecodeTeamRows, dense attention, two threads or more, and with kAuto no more
  // threads than the CPUs this process may use. Forward then runs them so unless (kAuto) recent
  // team steps stalled (kDecodeTeamStallWindow).
  static constexpr size_t kMaxDecodeTeamRows = 8;
  bool UsesDecodeTeam(std::span<const TokenRow> rows) const;

  // Selective V top-k for later calls (0 = dense).
  void set_selective_v_top_k(int top_k) { options_.selective_v_top_k = top_k; }

 private:
  Model() = default;
  Status Validate(std::span<const TokenRow> rows) const;
  void RunLayer(int64_t layer, std::span<const TokenRow> rows, std::span<const int64_t> positions);
  void Attention(int64_t layer, std::span<const TokenRow> rows, std::span<const int64_t> positions);
  // Layer `layer`'s FFN on h_ ([rows, hidden]), its output into h_: the dense gated FFN, or the
  // mixture of experts (model_moe.cc).
  void Ffn(int64_t layer, int64_t rows);
  void MoeFfn(const LayerWeights& w, int64_t rows);
  // Layer `layer`'s attention: the config's heads, scale (ModelConfig::AttentionScale), sliding
  // window and soft-capping.
  AttentionShape LayerAttentionShape(int64_t layer) const;
  // Row r's RoPE cos and sin in layer `layer` (rope_cos_ / rope_sin_, or the local ones in Gemma
  // 3's sliding layers).
  const float* RopeCos(int64_t layer, int64_t r) const;
  const float* RopeSin(int64_t layer, int64_t r) const;
  // All layers of `rows` as a decode team (model_decode_team.cc).
  void RunDecodeTeam(std::span<const TokenRow> rows, std::span<const int64_t> positions);
  // When a team step stalls within kDecodeTeamStallWindow team steps of the last stall (one
  // alone is a member preempted once, as a VM's vCPU sometimes is), the next kDecodeTeamBackoff
  // decode steps take the parallel loops instead, and each stall of the team's next try twice as
  // many as the last (to kDecodeTeamMaxBackoff); a team step without a stall resets that.
  static constexpr int64_t kDecodeTeamStallWindow = 16;
  static constexpr int64_t kDecodeTeamBackoff = 32;
  static constexpr int64_t kDecodeTeamMaxBackoff = 4096;
  void EnsureScratch(int64_t rows);
  Status PlaceDecodeWeights();

  ModelWeights weights_;
  // The matrices a decode step streams, as tiles or plain copies (PlaceDecodeWeights); the views
  // in weights_ point into it.
  LargeBuffer decode_weights_;
  EngineOptions options_;
  KvCache kv_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<float> inv_freq_;   // [rotary_dim / 2]
  std::vector<float> local_inv_freq_;  // [rotary_dim / 2] (ModelConfig::LocalRope) or empty
  std::vector<float> long_inv_freq_;   // [rotary_dim / 2] (ModelConfig::UsesLongRope) or empty
  std::vector<int64_t> lengths_;  // per sequence slot
  ForwardProfile profile_;

  // Scratch, sized for the largest row count seen. Shapes per row.
  int64_t scratch_rows_ = 0;
  std::vector<float> x_;      // [rows, hidden] residual stream
  std::vector<float> h_;      // [rows, hidden] normed
  std::vector<float> q0_;     // [rows, q_dim] q_proj output (input of augmented Q)
  std::vector<float> q_;      // [rows, q_dim]
  std::vector<float> k_;      // [rows, k_dim]
  std::vector<float> v_;      // [rows, v_dim]
  std::vector<float> aug_g_;  // [rows, aug_q]
  std::vector<float> aug_u_;  // [rows, aug_q]
  std::vector<float> attn_;   // [rows, q_dim]
  std::vector<float> ffn_g_;  // [rows, ffn]
  std::vector<float> ffn_u_;  // [rows, ffn]
  // A layer of experts' (ModelConfig::moe): the router's logits [rows, num_experts], the rows of
  // one expert gathered [rows, hidden], and for every routed row (rows * experts_per_token, then
  // the shared expert's rows) the experts' gate/up [.., width] and outputs [.., hidden]; the
  // shared expert's gate logits [rows].
  std::vector<float> router_logits_;
  std::vector<float> moe_x_;
  std::vector<float> moe_g_;
  std::vector<float> moe_u_;
  std::vector<float> moe_y_;
  std::vector<float> shared_gate_;
  std::vector<ExpertBatch> expert_batches_;
  std::vector<float> rope_cos_;  // [rows, head_dim / 2] of the row's position, once per Forward
  std::vector<float> rope_sin_;  // [rows, head_dim / 2]
  std::vector<float> local_rope_cos_;  // [rows, head_dim / 2] with local_inv_freq_, or empty
  std::vector<float> local_rope_sin_;
  // The decode team's: each member's residual stream and normed activations ([members][rows,
  // hidden], a cache line apart), and its attention plans: [0] for the layers that attend to
  // every position, [1] for the sliding-window layers (ModelConfig::AttentionWindow).
  std::vector<float> team_x_;
  std::vector<float> team_h_;
  DecodeAttentionTeam attention_teams_[2];
  bool team_fits_ = false;           // the pool has at most AvailableCpus() threads
  int64_t team_backoff_left_ = 0;    // decode steps to run without the team
  int64_t team_backoff_next_ = kDecodeTeamBackoff;  // for the next stall
  int64_t team_steps_since_stall_ = kDecodeTeamStallWindow;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_MODEL_H_
