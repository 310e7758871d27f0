// ModelWeights: typed views of every tensor the forward pass reads, checked against the config.
//
// The views point into memory owned by a WeightSource (memory-mapped safetensors shards, or a GGUF
// file), which must outlive them; Model keeps both together. Names follow Hugging Face
// (model.layers.N.self_attn.q_proj.weight ...); GGUF names are mapped to these on load.
// Thread safety: immutable after load; safe to read from any thread.
#ifndef SIGMA_ENGINE_LOADER_MODEL_WEIGHTS_H_
#define SIGMA_ENGINE_LOADER_MODEL_WEIGHTS_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/loader/model_config.h"
#include "engine/tensor.h"

namespace sigma {

// One gated FFN: act(gate . x) * (up . x), then down; gpt-oss's experts add a bias to each (f32
// vector views, invalid elsewhere).
struct FfnWeights {
  TensorView gate_proj;  // [width, hidden]
  TensorView up_proj;    // [width, hidden]
  TensorView down_proj;  // [hidden, width]
  TensorView gate_bias;  // [width]
  TensorView up_bias;    // [width]
  TensorView down_bias;  // [hidden]
};

struct LayerWeights {
  TensorView attn_norm;  // [hidden] or invalid (ModelConfig::pre_norms false: OLMo 2)
  TensorView q_proj;     // [n_q * head_dim, hidden]
  TensorView k_proj;     // [n_k * head_dim, hidden]
  TensorView v_proj;     // [n_v * head_dim, hidden]
  TensorView q_bias;     // [n_q * head_dim] f32 view or invalid (Qwen2)
  TensorView k_bias;     // [n_k * head_dim]
  TensorView v_bias;     // [n_v * head_dim]
  TensorView q_norm;     // [head_dim] f32 view or invalid (ModelConfig::qk_norm, Qwen3, Gemma 3);
                         // OLMo 2's [n_q * head_dim] (qk_norm_per_head false)
  TensorView k_norm;     // [head_dim] or [n_k * head_dim]
  TensorView q_gate;     // [aug_q, n_q * head_dim] (augmented Q) or invalid
  TensorView q_up;       // [aug_q, n_q * head_dim]
  TensorView q_down;     // [n_q * head_dim, aug_q]
  TensorView o_proj;     // [hidden, n_q * head_dim]
  TensorView o_bias;     // [hidden] f32 view or invalid (ModelConfig::o_bias)
  TensorView sinks;      // [n_q] f32 view or invalid (ModelConfig::attention_sinks: gpt-oss)
  TensorView attn_post_norm;  // [hidden] or invalid (ModelConfig::post_norms: Gemma 2 / 3, OLMo 2)
  TensorView ffn_norm;        // [hidden] or invalid (pre_norms false)
  TensorView gate_proj;       // [ffn, hidden] or invalid (a layer of experts)
  TensorView up_proj;    // [ffn, hidden]
  TensorView down_proj;  // [hidden, ffn]
  // A layer of experts (ModelConfig::MoeLayer): the router [num_experts, hidden] and each
  // expert's FFN ([expert_intermediate_size, hidden] ...); Qwen2-MoE's shared expert and its gate
  // ([1, hidden] f32 vector view) where the config has one; gpt-oss's router bias ([num_experts]
  // f32 view).
  TensorView router;
  TensorView router_bias;
  std::vector<FfnWeights> experts;
  FfnWeights shared_expert;
  TensorView shared_expert_gate;
  TensorView ffn_post_norm;  // [hidden] or invalid (post_norms)
};

// Owner of the bytes behind the views (mappings, converted buffers).
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // All tensors by Hugging Face name.
  virtual const std::map<std::string, TensorView>& tensors() const = 0;
  // Files the weights came from (for fingerprints).
  virtual std::vector<std::string> files() const = 0;
  // When the files hold `name` in a type that tensors() cannot show (say I64), that type's name
  // ("I64"), so a caller can say why the tensor is missing; "" otherwise.
  virtual std::string UnsupportedDType(const std::string& name) const { return {}; }
  // The bytes under [p, p + bytes) have been copied elsewhere and will not be read here again
  // soon: where they are in a file this source maps, their pages leave the resident set (they stay
  // in the page cache and map again if read). Does nothing for memory the source does not map.
  virtual void ReleasePages(const void* p, size_t bytes) const {}
  // Whether the RMSNorm weights here already include ModelConfig::norm_weight_offset (llama.cpp's
  // Gemma files hold 1 + w), so that BindWeights does not add it again.
  virtual bool NormsIncludeOffset() const { return false; }
};

struct ModelWeights {
  ModelConfig config;
  TensorView embed_tokens;  // [vocab, hidden]
  TensorView final_norm;    // [hidden]
  TensorView lm_head;       // [vocab, hidden] (== embed_tokens when tied)
  std::vector<LayerWeights> layers;
  std::shared_ptr<WeightSource> source;  // keeps the bytes alive
  // Bias and norm vectors converted to f32 (views above point here when the file held f16/bf16,
  // or when norm weights were offset: the views hold what RMSNorm multiplies by).
  std::vector<std::vector<float>> owned_f32;
};

// Where a layer of experts' tensors are under "model.layers.N.": Mixtral's and Granite MoE's
// "block_sparse_moe", the others' "mlp"; the router's name there (gpt-oss's "router", the others'
// "gate"); and an expert's gate, up and down matrices' names (under "experts.E."): Mixtral's w1, w3
// and w2, the others' gate_proj, up_proj and down_proj.
std::string ExpertBlock(const ModelConfig& config);
const char* RouterName(const ModelConfig& config);
std::array<const char*, 3> ExpertMatrixNames(const ModelConfig& config);

// Every tensor a checkpoint of `config` holds, with Hugging Face names and the shapes BindWeights
// expects: embed_tokens, then per layer (norms, attention incl. biases and augmented Q when the
// config has them, FFN), then model.norm and lm_head (absent when tied). For writers and tests.
enum class TensorKind { kMatrix, kNorm, kBias };
struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  TensorKind kind = TensorKind::kMatrix;
  // The shape in config terms, for messages: "[num_key_heads*head_dim, hidden_size]".
  std::string dims;
};
std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config);

// Picks the tensors out of `source`, checking that each exists with the shape the config implies
// and a supported dtype; NOT_FOUND / INVALID_ARGUMENT name the tensor.
StatusOr<ModelWeights> BindWeights(const ModelConfig& config, std::shared_ptr<WeightSource> source);

// Opens a Hugging Face checkpoint folder: config.json + model.safetensors, or the shards listed in
// model.safetensors.index.json. Everything is validated before use (safetensors.h).
StatusOr<ModelWeights> LoadCheckpoint(const std::string& dir);

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_MODEL_WEIGHTS_H_
