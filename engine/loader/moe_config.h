// The mixture-of-experts fields of a config.json (ModelConfig::moe), read, checked and written
// for the families that have them (Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, Granite MoE, gpt-oss),
// with their transformers configs' defaults. Called by model_config.cc; in a file of its own so
// that the dense families' reader stays readable. Thread safety: free functions without shared
// state.
#ifndef SIGMA_ENGINE_LOADER_MOE_CONFIG_H_
#define SIGMA_ENGINE_LOADER_MOE_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "engine/base/json.h"
#include "engine/base/status.h"
#include "engine/loader/model_config.h"

namespace sigma {

// Whether `arch` is one of the mixture-of-experts families.
bool IsMoeArchitecture(Architecture arch);

// config->moe from `fields` (after num_hidden_layers and intermediate_size): Mixtral's and Granite
// MoE's num_local_experts (8) and num_experts_per_tok (2), each expert intermediate_size wide, top
// probabilities always renormalised (Granite MoE's softmax over the top logits is that);
// Qwen2-MoE's and Qwen3-MoE's num_experts (60, 128; also under transformers 5's num_local_experts),
// num_experts_per_tok (4, 8), moe_intermediate_size (1408, 768), norm_topk_prob (false),
// decoder_sparse_step (1) and mlp_only_layers (none), and Qwen2-MoE's
// shared_expert_intermediate_size (5632); OLMoE's num_experts (64), num_experts_per_tok (8) and
// norm_topk_prob (false), its experts intermediate_size wide, and clip_qkv refused; gpt-oss's
// num_local_experts (128) and num_experts_per_tok (4), each expert intermediate_size wide, always
// renormalised, with biases. Nothing for the other families.
Status ReadMoeConfig(JsonFields& fields, ModelConfig* config);

// INVALID_ARGUMENT naming the field: experts in a family without them (or none in Mixtral and
// OLMoE), experts_per_token outside 1..num_experts, a non-positive width, a shared expert or
// dense layers where the family has none, Mixtral or Granite MoE without renormalisation.
Status ValidateMoeConfig(const ModelConfig& config);

// config.json's keys and values (JSON text) for config.moe, in the family's names; empty for a
// dense family.
std::vector<std::pair<std::string, std::string>> MoeConfigJson(const ModelConfig& config);

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_MOE_CONFIG_H_
