// ModelConfig: the hyperparameters of a Llama-family or Sigma (DiffQKV) model, parsed from a
// Hugging Face config.json (transformers 4 form with rope_theta/rope_scaling, or transformers 5 form
// with rope_parameters), from GGUF metadata, or from a named preset; validated before any use.
//
// Sigma schema (DESIGN.md §3): model_type "sigma", num_attention_heads = Q heads, num_key_heads,
// num_value_heads, head_dim, aug_q_intermediate_size (0 = no augmented Q). A Llama/Qwen2/Mistral
// config maps to n_k = n_v = num_key_value_heads.
// Thread safety: a value type.
#ifndef SIGMA_ENGINE_LOADER_MODEL_CONFIG_H_
#define SIGMA_ENGINE_LOADER_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"

namespace sigma {

// kQwen3: Llama's layers with an RMSNorm over each head's q and k before RoPE (ModelConfig::
// qk_norm). kPhi3: Llama's layers with q/k/v and gate/up each one matrix in the checkpoint
// (ModelConfig::fused_projections), often with partial RoPE and longrope scaling.
// The Gemma family: Llama's layers with the embeddings scaled by sqrt(hidden_size), each RMSNorm
// weight stored as w and applied as 1 + w (ModelConfig::norm_weight_offset) and a GELU-gated FFN
// (kGemma); kGemma2 adds a norm after the attention and after the FFN (post_norms), the
// attention scale from query_pre_attn_scalar, soft-capped attention scores and logits and sliding
// windows in alternate layers; kGemma3 (model_type gemma3_text) Gemma 2's layers with q/k norms,
// no soft-capping by default, and its own RoPE base in the sliding layers (local_rope_theta).
// kGranite: Llama's layers with four scalars (ModelConfig::embedding_multiplier, ...). kSmolLM3:
// Llama's layers, some without RoPE (ModelConfig::nope_layers). kOlmo2: ModelConfig::olmo; kOlmo3
// OLMo 2's layers with sliding windows in three of four, which rotate unscaled.
// The mixtures of experts (ModelConfig::moe): kMixtral Mistral's layers; kQwen2Moe Qwen2's, with a
// shared expert; kQwen3Moe Qwen3's; kOlmoe Llama's layers with OLMo 2's whole-row q/k norms;
// kGraniteMoe Granite's (its four scalars), each layer's experts stacked in the checkpoint.
// kGptOss (gpt-oss): Llama's layers with biases on q, k, v and o, attention sinks
// (ModelConfig::attention_sinks), sliding windows in alternate layers, YaRN, and experts whose
// router and FFNs carry biases and whose SwiGLU is clamped (ModelConfig::swiglu_limit).
enum class Architecture {
  kLlama,
  kQwen2,
  kQwen3,
  kMistral,
  kPhi3,
  kGemma,
  kGemma2,
  kGemma3,
  kGranite,
  kSmolLM3,
  kOlmo2,
  kOlmo3,
  kMixtral,
  kQwen2Moe,
  kQwen3Moe,
  kOlmoe,
  kGraniteMoe,
  kGptOss,
  kSigma
};
// "llama", "qwen2", "qwen3", "mistral", "phi3", "gemma", "gemma2", "gemma3_text", "granite",
// "smollm3", "olmo2", "olmo3", "mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "granitemoe",
// "gpt_oss", "sigma"
std::string_view ArchitectureName(Architecture arch);

// The FFN's gate activation: SiLU (SwiGLU), GELU's tanh approximation (transformers'
// gelu_pytorch_tanh and gelu_new: Gemma's GeGLU) or the exact, erf GELU (gelu).
enum class Activation { kSilu, kGeluTanh, kGelu };
// transformers' ACT2FN name: "silu", "gelu_pytorch_tanh", "gelu".
std::string_view ActivationName(Activation act);

struct RopeScaling {
  // "default", "linear", "llama3", "longrope", "yarn" ("dynamic" is rejected)
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;                       // llama3
  double high_freq_factor = 4.0;                      // llama3
  // llama3; longrope: the context the short factors serve (config.json's top-level key for Phi-3);
  // yarn: the pretraining context (the top-level key where there is one, as transformers gives
  // it priority, else the dict's, else max_position_embeddings)
  int64_t original_max_position_embeddings = 8192;
  // longrope (Phi-3.5, Phi-4-mini): a divisor per frequency for contexts up to
  // original_max_position_embeddings (short) and past it (long), and the factor RoPE's cos and
  // sin are multiplied by (0: transformers' default, sqrt(1 + ln(s) / ln(original)) with s =
  // `factor`, or where that is 0 (not given) max_position_embeddings / original; 1 where
  // s <= 1).
  std::vector<double> short_factor = {};
  std::vector<double> long_factor = {};
  double attention_factor = 0;
  // yarn (transformers' _compute_yarn_parameters): each frequency between its extrapolation
  // (unscaled) and interpolation (divided by `factor`; 0: max_position_embeddings / original)
  // by a linear ramp over the dimension pairs from the correction dimension of beta_fast
  // rotations to that of beta_slow (floored and ceiled where `truncate`); cos and sin times
  // attention_factor, or where that is 0, 0.1 ln(factor) + 1, or with mscale and mscale_all_dim
  // the ratio of (0.1 mscale ln(factor) + 1) to (0.1 mscale_all_dim ln(factor) + 1).
  double beta_fast = 32;
  double beta_slow = 1;
  double mscale = 0;
  double mscale_all_dim = 0;
  bool truncate = true;

  // INVALID_ARGUMENT naming the field: an unknown type, a non-positive factor, llama3's
  // high_freq_factor not above low_freq_factor.
  Status Validate() const;
};

// A mixture of experts in place of the FFN (Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE), as transformers
// computes it: the router (`gate`, [num_experts, hidden]) scores a token, a softmax over all the
// experts gives their probabilities, the experts_per_token most probable run (each a gated FFN of
// expert_intermediate_size) and their outputs are summed weighted by those probabilities,
// renormalised to sum 1 where norm_topk_prob (Mixtral's always). Qwen2-MoE adds a shared expert
// (shared_expert_intermediate_size) that every token runs, its output times
// sigmoid(shared_expert_gate . x). gpt-oss's router and experts carry biases (`biases`); its
// softmax over the top experts' logits is the renormalised top probabilities.
struct MoeConfig {
  int64_t num_experts = 0;  // 0: no experts, a dense FFN in every layer
  int64_t experts_per_token = 0;
  int64_t expert_intermediate_size = 0;
  bool norm_topk_prob = false;
  int64_t shared_expert_intermediate_size = 0;  // 0: none
  // Layers whose FFN is dense (intermediate_size) instead: Qwen's mlp_only_layers and those
  // decoder_sparse_step skips; num_layers entries, or empty = none.
  std::vector<bool> dense_layers;
  // The router and each expert's gate, up and down projections add a bias (gpt-oss).
  bool biases = false;
};

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;   // SwiGLU FFN width
  int64_t num_layers = 0;
  int64_t n_q_heads = 0;
  int64_t n_k_heads = 0;
  int64_t n_v_heads = 0;
  int64_t head_dim = 0;            // defaults to hidden_size / n_q_heads
  int64_t aug_q_intermediate_size = 0;  // 0 = no augmented Q
  int64_t max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  // Divisors of the RoPE inverse frequencies, one a frequency ([head_dim / 2]), as a GGUF file
  // carries Llama 3 scaling (tensor rope_freqs.weight); empty = none. Where set they replace
  // rope_scaling in RopeInvFreq (rope_scaling then only names the parameters that made them, for
  // config.json).
  std::vector<float> rope_freq_factors;
  // Sliding-window attention: in a sliding layer, the query at position p attends to positions
  // p - sliding_window + 1 .. p only; 0 = none. Mistral's sliding_window, every layer (4096 where
  // config.json does not name it, null = none, as transformers reads it); Phi-3's, every layer
  // (none where not named); Qwen2's and Qwen3's
  // with use_sliding_window, in the layers config.json's layer_types names "sliding_attention",
  // else in those from max_window_layers on; Gemma 2's and 3's in the layers layer_types names,
  // else in all but every second (Gemma 2) or sliding_window_pattern-th (Gemma 3, 6) layer.
  int64_t sliding_window = 0;
  // Which layers slide, num_layers entries; empty = every layer (where sliding_window > 0).
  std::vector<bool> sliding_layers;
  // A window of `window` positions in the layers `sliding` marks (num_layers entries): none where
  // no layer is marked or window is 0, every layer where all are.
  void SetSlidingLayers(int64_t window, std::vector<bool> sliding);
  bool tie_word_embeddings = false;
  bool qkv_bias = false;           // Qwen2, or attention_bias
  // Whether o_proj has a bias too: where attention_bias gives the q, k and v projections one, in
  // the families whose transformers attention gives o_proj one with them (Llama's and most
  // others; not Qwen2's, Mistral's, Mixtral's, Phi-3's or Sigma's).
  bool o_bias() const {
    return qkv_bias && arch != Architecture::kQwen2 && arch != Architecture::kQwen2Moe &&
           arch != Architecture::kMistral && arch != Architecture::kMixtral &&
           arch != Architecture::kPhi3 && arch != Architecture::kSigma;
  }
  // gpt-oss: each head's softmax has one more logit, a learned sink (self_attn.sinks, [n_q]),
  // that takes a share of the probability and brings no value.
  bool attention_sinks() const { return arch == Architecture::kGptOss; }
  // gpt-oss's experts' clamped SwiGLU: with the gate g clamped to at most swiglu_limit and the
  // up projection u to +-swiglu_limit, act = (u + 1) * g * sigmoid(swiglu_alpha * g); 0: the
  // plain gated activation (`activation`).
  double swiglu_limit = 0;
  double swiglu_alpha = 1.702;
  Activation activation = Activation::kSilu;
  // Gemma 2 and 3: the attention scale is query_pre_attn_scalar^-1/2 (0: head_dim^-1/2, as
  // everywhere else); scores and final logits pass through cap * tanh(x / cap) where the cap is
  // above 0; Gemma 3's and OLMo 3's sliding layers rotate with RoPE base local_rope_theta and no
  // scaling (rope_theta and rope_scaling serve the full-attention layers), 0 = one RoPE for every
  // layer.
  double query_pre_attn_scalar = 0;
  double attn_logit_softcapping = 0;
  double final_logit_softcapping = 0;
  double local_rope_theta = 0;
  // Granite's scalars: the token embeddings times embedding_multiplier, the attention scale
  // attention_multiplier (in place of 1 / sqrt(head_dim); 0 = unset), each block's output times
  // residual_multiplier before it joins the residual, the logits divided by logits_scaling.
  double embedding_multiplier = 1.0;
  double attention_multiplier = 0;
  double residual_multiplier = 1.0;
  double logits_scaling = 1.0;
  // SmolLM3's NoPE layers: those whose q and k are not rotated (num_layers entries; empty = every
  // layer rotates). config.json's no_rope_layers says the opposite per layer (1 = RoPE), as
  // transformers reads it; where absent, every no_rope_layer_interval-th layer (4) is NoPE.
  std::vector<bool> nope_layers;
  bool RotatesLayer(int64_t layer) const {
    return nope_layers.empty() || !nope_layers[static_cast<size_t>(layer)];
  }
  MoeConfig moe;
  // Whether layer `layer`'s FFN is the mixture of experts (else the dense FFN).
  bool MoeLayer(int64_t layer) const {
    return moe.num_experts > 0 &&
           (moe.dense_layers.empty() || !moe.dense_layers[static_cast<size_t>(layer)]);
  }
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;

  // INVALID_ARGUMENT naming the field: zero or negative sizes, n_q % n_k, n_q % n_v, odd head_dim,
  // non-positive eps/theta, unsupported rope scaling, rope_freq_factors of the wrong length or
  // not finite and positive.
  Status Validate() const;

  // Inverse RoPE frequencies [rotary_dim() / 2]: rope_freq_factors applied where set, else linear,
  // llama3 or longrope's short-factor scaling.
  std::vector<float> RopeInvFreq() const;

  // The divisors a GGUF file stores for this config's scaling (llama.cpp's rope_freqs.weight):
  // rope_freq_factors where set, else llama3 scaling's (1 for the short wavelengths, factor for
  // the long ones, 1 / ((1 - s) / factor + s) between), else empty.
  std::vector<float> RopeFreqFactors() const;

  // The window of layer `layer`'s attention (AttentionShape::window): sliding_window in a sliding
  // layer, else 0 (every position).
  int64_t AttentionWindow(int64_t layer) const;

  // RoPE turns the first rotary_dim() = int(head_dim * partial_rotary_factor) dimensions of each
  // head (rotate-half pairs within those) and leaves the rest (Phi-4-mini: 0.75); 1 = all.
  double partial_rotary_factor = 1.0;
  int64_t rotary_dim() const {
    return static_cast<int64_t>(static_cast<double>(head_dim) * partial_rotary_factor);
  }
  // What RoPE's cos and sin are multiplied by: longrope's or yarn's attention factor, else 1.
  double RopeAttentionFactor() const;
  // rope_scaling.factor, or for longrope and yarn where it is not given (0),
  // max_position_embeddings / original_max_position_embeddings.
  double RopeScalingFactor() const;
  // longrope's long factors, as transformers applies them: a forward pass over positions up to
  // seq_len - 1 rotates all of them with the long factors where seq_len exceeds
  // original_max_position_embeddings, else with the short ones (RopeInvFreq). So a prompt longer
  // than the original context is rotated long throughout, and in a generation that crosses it the
  // steps past it are, while the rows already cached keep their short rotation.
  bool UsesLongRope(int64_t seq_len) const {
    return rope_scaling.type == "longrope" &&
           seq_len > rope_scaling.original_max_position_embeddings;
  }
  // Inverse RoPE frequencies with the long factors ([rotary_dim() / 2]); empty without longrope.
  std::vector<float> LongRopeInvFreq() const;
  // Phi-3's checkpoints hold q, k and v as one matrix, self_attn.qkv_proj ([q; k; v] rows), and
  // gate and up as mlp.gate_up_proj ([gate; up]); the weights bind to row ranges of them.
  bool fused_projections() const { return arch == Architecture::kPhi3; }

  // Whether each head's q and k go through an RMSNorm of their own (weights
  // self_attn.q_norm / k_norm, [head_dim], eps rms_norm_eps) after the projections and before
  // RoPE: Qwen3, Gemma 3.
  bool qk_norm() const {
    return arch == Architecture::kQwen3 || arch == Architecture::kQwen3Moe ||
           arch == Architecture::kGemma3 || olmo() || arch == Architecture::kOlmoe;
  }
  // Whether those norms are one per head ([head_dim] weights) or, OLMo 2's and OLMoE's, one over
  // each row's whole q and k ([n_q * head_dim] and [n_k * head_dim] weights).
  bool qk_norm_per_head() const { return !olmo() && arch != Architecture::kOlmoe; }

  bool gemma() const {
    return arch == Architecture::kGemma || arch == Architecture::kGemma2 ||
           arch == Architecture::kGemma3;
  }
  // What a checkpoint's RMSNorm weights are offset by: Gemma's Hugging Face checkpoints store w
  // and multiply by 1 + w (llama.cpp's GGUF files store 1 + w); 0 elsewhere.
  float norm_weight_offset() const { return gemma() ? 1.0f : 0.0f; }
  // What the token embeddings are multiplied by: Gemma's sqrt(hidden_size) (in f32, as
  // transformers with f32 weights and llama.cpp have it), else embedding_multiplier.
  float embedding_scale() const;
  // Gemma 2 and 3: what they share beyond Gemma (query_pre_attn_scalar, soft-capping, windows in
  // a pattern of layers, hidden_activation).
  bool gemma2_or_3() const {
    return arch == Architecture::kGemma2 || arch == Architecture::kGemma3;
  }
  // OLMo 2 and 3: Llama's layers with the norms moved from the blocks' inputs to their outputs,
  // and q/k norms over the whole projection (qk_norm_per_head false).
  bool olmo() const { return arch == Architecture::kOlmo2 || arch == Architecture::kOlmo3; }
  // Granite and Granite MoE: the embedding, attention, residual and logit scalars.
  bool granite() const {
    return arch == Architecture::kGranite || arch == Architecture::kGraniteMoe;
  }
  // An RMSNorm on the attention's output (post_attention_layernorm) and on the FFN's
  // (post_feedforward_layernorm) before each joins the residual: Gemma 2 and 3 (whose FFN input
  // norm is then pre_feedforward_layernorm), OLMo 2.
  bool post_norms() const { return gemma2_or_3() || olmo(); }
  // An RMSNorm on each block's input (input_layernorm, and the FFN's): all but OLMo 2.
  bool pre_norms() const { return !olmo(); }
  // The attention's score scale: attention_multiplier where set, else
  // 1 / sqrt(query_pre_attn_scalar, else head_dim).
  float AttentionScale() const;
  // Whether layer `layer` rotates with local_rope_theta (Gemma 3's and OLMo 3's sliding layers).
  bool LocalRope(int64_t layer) const { return local_rope_theta > 0 && AttentionWindow(layer) > 0; }
  // Inverse RoPE frequencies of the local RoPE ([rotary_dim() / 2], no scaling); empty without.
  std::vector<float> LocalRopeInvFreq() const;

  // For a backend that attends to every position (CUDA's), which is sliding-window attention only
  // within the window: INVALID_ARGUMENT where a KV cache of max_context positions would reach past
  // sliding_window.
  Status CheckContextLength(int64_t max_context) const;

  // config.json text in this project's form (transformers 4 style fields; Sigma fields when
  // arch == kSigma), which ParseModelConfig reads back to an equal config; `extra`: more keys and
  // their JSON values, last (a checkpoint's quantization_config).
  std::string ToJson(const std::vector<std::pair<std::string, std::string>>& extra = {}) const;

  int64_t q_dim() const { return n_q_heads * head_dim; }
  int64_t k_dim() const { return n_k_heads * head_dim; }
  int64_t v_dim() const { return n_v_heads * head_dim; }
};

// `source` names the file in errors ("model/config.json").
StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view source);

// generation_config.json (Hugging Face's generation defaults): its eos_token_id (an integer or a
// list) are where generation stops, as transformers' generate() reads them; those not in
// config->eos_token_ids are appended. INVALID_ARGUMENT naming `source` for malformed JSON or an id
// outside the vocabulary.
Status AddGenerationConfigStopIds(std::string_view json_text, std::string_view source,
                                  ModelConfig* config);

// Layers 0 .. num_layers - 1 but each n-th ((i + 1) % n != 0): the sliding layers of Gemma 2
// (n = 2), Gemma 3 (6) and OLMo 3 (4), SmolLM3's layers with RoPE (4).
std::vector<bool> AllButEveryNth(int64_t num_layers, int64_t n);

// Presets: "sigma-1.5b", "gqa16" (its GQA16 twin), "sigma-tiny", "llama-tiny" (small, for tests),
// "mixtral-mini" (a small mixture of experts, for speed runs).
StatusOr<ModelConfig> ModelConfigPreset(std::string_view name);
std::vector<std::string> ModelConfigPresetNames();
// The preset names as one line for messages: "sigma-1.5b, gqa16, sigma-tiny, llama-tiny, ...".
std::string ModelConfigPresetList();

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_MODEL_CONFIG_H_
