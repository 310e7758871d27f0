// Model loading from GGUF: the ModelConfig from metadata, a WeightSource that shows GGUF tensors
// under Hugging Face names, and the reverse (HF config and tensors into a GgufWriter, for convert).
//
// Names: token_embd -> model.embed_tokens, output_norm -> model.norm, output -> lm_head (absent:
// tied embeddings), blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_up, ffn_down} -> model.layers.N.{input_layernorm, self_attn.q_proj, k_proj, v_proj, o_proj,
// post_attention_layernorm, mlp.gate_proj, up_proj, down_proj}, with .weight or .bias kept; Sigma's
// augmented Q: blk.N.attn_q_gate / attn_q_up / attn_q_down -> self_attn.q_gate_proj / q_up_proj /
// q_down_proj; Qwen3's q/k norms: blk.N.attn_q_norm / attn_k_norm -> self_attn.q_norm / k_norm.
// Phi-3's fused matrices: blk.N.attn_qkv -> self_attn.qkv_proj and, in a phi3 file,
// blk.N.ffn_up -> mlp.gate_up_proj. Gemma 2's and 3's four norms a layer (GgufNames::
// post_norms): attn_norm, post_attention_norm, ffn_norm, post_ffw_norm -> input_layernorm,
// post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm (OLMo 2: the
// second and fourth only). Names we do not know pass through unchanged (BindWeights judges
// them).
//
// Gemma (general.architecture gemma, gemma2, gemma3) as llama.cpp's converter writes it: every
// RMSNorm weight holds 1 + w (GgufWeightSource::NormsIncludeOffset; convert adds and removes the
// 1); gemma2.attn_logit_softcapping / final_logit_softcapping (defaults 50 and 30, llama.cpp's),
// gemma3.final_logit_softcapping (default none), <arch>.attention.sliding_window. What llama.cpp
// does not store it derives, and so does this reader where this project's keys are absent:
//   sigma.attention.query_pre_attn_scalar  (f32) else head_dim, or hidden / heads for the 27B
//                                          models (gemma2 with 46 layers, gemma3 with 62)
//   sigma.attention.sliding_window_pattern (u32) every pattern-th layer attends to all
//                                          positions, the others slide; else 2 (gemma2), 6 (gemma3)
//   sigma.rope.local_freq_base             (f32) Gemma 3's sliding layers' RoPE base, else 10000
//
// OLMo 3: general.architecture olmo2 with olmo2.attention.sliding_window (every 4th layer full).
// Granite's scalars: granite.embedding_scale, attention.scale, residual_scale, logit_scale.
// SmolLM3's NoPE layers: every 4th, as llama.cpp has them (no key says so).
//
// Q/K row permutation (general.architecture "llama" and "granite" only): llama.cpp's
// convert_hf_to_gguf.py reorders the rows of q_proj (and its bias) per Q head and of k_proj per K
// head so that its adjacent-pair ("normal") RoPE equals HF's rotate-half RoPE: within a head of d
// rows, HF row i*(d/2) + j (half i in {0,1}, j < d/2) is stored at GGUF row 2*j + i. We undo it on
// load (a copy of those two tensors per layer, whole rows, so quantized rows stay valid since
// blocks lie along rows) and redo it in AddHfTensorToGguf. Qwen2, Qwen3 and Sigma files are not
// permuted.
//
// Metadata: llama.* / qwen2.* / qwen3.* keys as llama.cpp writes them (embedding_length,
// block_count, feed_forward_length, context_length, attention.head_count, attention.head_count_kv,
// attention.key_length, attention.layer_norm_rms_epsilon, rope.freq_base, rope.dimension_count,
// rope.scaling.type / factor; llama3 scaling as llama.cpp writes it: a divisor for each frequency
// in the f32 tensor rope_freqs.weight [head_dim / 2], plus this project's sigma.rope.llama3.factor
// / low_freq_factor / high_freq_factor / original_context_length, which name the parameters for a
// config.json and which llama.cpp ignores; attention.sliding_window, written for a Mistral with a
// window, whose llama-architecture file then reads back as Mistral (a Qwen2 with sliding-window
// layers is refused: llama.cpp's qwen2 has none); expert_count above 0 makes a llama file
// Mixtral's, a mixture of experts: gguf_experts.h, which also reads qwen2moe, qwen3moe and olmoe
// files). Sigma (DiffQKV) files use general.architecture "sigma"
// and the same keys under "sigma.", except that attention.head_count_kv is replaced by
//   sigma.attention.key_head_count    (u32) K heads
//   sigma.attention.value_head_count  (u32) V heads
//   sigma.aug_q_intermediate_size     (u32) augmented-Q width, 0 or absent = none
// and sigma.attention.key_length is the shared head_dim. Tokenizer keys: tokenizer.ggml.*.
// Thread safety: GgufWeightSource is immutable after Open.
#ifndef SIGMA_ENGINE_GGUF_GGUF_MODEL_H_
#define SIGMA_ENGINE_GGUF_GGUF_MODEL_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/gguf/gguf_experts.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"

namespace sigma {

// The architecture-dependent parts of the name mapping.
struct GgufNames {
  bool fused_ffn = false;       // Phi-3 (ModelConfig::fused_projections): ffn_up is gate_up_proj
  bool post_norms = false;      // Gemma 2 / 3, OLMo 2 (ModelConfig::post_norms)
  // Mixtral, Granite MoE (ExpertBlock): ffn_gate_inp is block_sparse_moe.gate (else mlp.gate)
  bool block_sparse_moe = false;
  // gpt-oss: post_attention_norm is the FFN's input norm, ffn_gate_inp mlp.router, attn_sinks
  // self_attn.sinks
  bool gpt_oss = false;
};
GgufNames GgufNamesOf(const ModelConfig& config);

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; unknown names unchanged.
std::string GgufToHfTensorName(std::string_view gguf_name, GgufNames names = {});
// The inverse; unknown names unchanged.
std::string HfToGgufTensorName(std::string_view hf_name, GgufNames names = {});

// Reads the hyperparameters (and bos/eos ids) of a llama (Mixtral's too), qwen2, qwen3, phi3, gemma,
// gemma2, gemma3, granite, smollm3, olmo2, qwen2moe, qwen3moe, olmoe or sigma GGUF file;
// a phi3 file's rope.dimension_count below head_dim is partial RoPE, its rope_factors_short /
// long.weight tensors with rope.scaling.attn_factor and rope.scaling.original_context_length
// longrope.
StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& file);

// Rows of a [rows, ...] tensor (`row_bytes` each), heads of `head_dim` rows: permute == true goes
// HF -> GGUF order, false undoes it. INVALID_ARGUMENT when rows is not n_heads * head_dim or
// head_dim is odd.
Status PermuteQkRows(std::span<const uint8_t> in, int64_t rows, size_t row_bytes, int64_t n_heads,
                     bool to_gguf, std::vector<uint8_t>* out);

class GgufWeightSource : public WeightSource {
 public:
  // Maps every tensor of `file` to its HF name, undoing the Q/K permutation for llama files.
  static StatusOr<std::shared_ptr<GgufWeightSource>> Create(std::shared_ptr<const GgufFile> file,
                                                            const ModelConfig& config);

  const std::map<std::string, TensorView>& tensors() const override { return tensors_; }
  std::vector<std::string> files() const override { return {file_->path()}; }
  const GgufFile& file() const { return *file_; }
  void ReleasePages(const void* p, size_t bytes) const override { file_->ReleasePages(p, bytes); }
  bool NormsIncludeOffset() const override { return true; }

 private:
  GgufWeightSource() = default;
  // One view per expert of a stacked tensor of matrices or (`bias`) biases (gguf_experts.h).
  Status AddExperts(const GgufTensorInfo& info, int64_t layer, ExpertMatrix matrix, bool bias,
                    const ModelConfig& config);
  std::shared_ptr<const GgufFile> file_;
  std::map<std::string, TensorView> tensors_;
  std::vector<std::vector<uint8_t>> owned_;  // un-permuted copies of q/k tensors
};

// Opens a GGUF model file: config from metadata, weights bound with BindWeights.
StatusOr<ModelWeights> LoadGguf(const std::string& path);

// Writes `config` as GGUF metadata (general.architecture and the arch.* keys above), and llama3
// rope scaling as tensor rope_freqs.weight with its parameters under sigma.rope.llama3.*.
Status AddModelConfigToGguf(const ModelConfig& config, GgufWriter* writer);
// Adds one HF-named tensor under its GGUF name, permuting q/k rows for llama configs.
Status AddHfTensorToGguf(const ModelConfig& config, const TensorView& view, GgufWriter* writer);

// The GGUF tensor AddHfTensorToGguf writes the checkpoint tensor `hf_name` into (an expert's
// matrix: its layer's stack, "blk.3.ffn_down_exps.weight").
std::string GgufTensorNameOf(const ModelConfig& config, const std::string& hf_name);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_GGUF_MODEL_H_
