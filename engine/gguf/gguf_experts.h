// Mixtures of experts (ModelConfig::moe) in GGUF files, as llama.cpp's converter writes them:
//   general.architecture   llama (Mixtral: a llama file whose expert_count is above 0),
//                          qwen2moe, qwen3moe, olmoe, granitemoe, gpt-oss (gguf_gpt_oss.h)
//   <arch>.expert_count, <arch>.expert_used_count                   (u32)
//   <arch>.expert_feed_forward_length (qwen2moe, qwen3moe, gpt-oss; feed_forward_length is then
//   the dense FFN's), <arch>.expert_shared_feed_forward_length (qwen2moe)     (u32)
//   blk.N.ffn_gate_inp                   the router [num_experts, hidden]
//   blk.N.ffn_gate_exps / ffn_up_exps    every expert's gate / up stacked, [num_experts, width,
//   / ffn_down_exps                      hidden] and down [num_experts, hidden, width]; gpt-oss's
//                                        biases beside them (.bias, [num_experts, width] ...)
//   blk.N.ffn_gate_shexp / ffn_up_shexp / ffn_down_shexp, ffn_gate_inp_shexp ([hidden])
//                                        Qwen2-MoE's shared expert and its gate
// The stacked tensors are shown to BindWeights as one view per expert under its Hugging Face name
// (model.layers.N.mlp.experts.E.gate_proj.weight, Mixtral's block_sparse_moe.experts.E.w1 ...,
// ExpertBlock and ExpertMatrixNames).
// llama.cpp renormalises the chosen experts' probabilities in llama (Mixtral), qwen3moe,
// granitemoe and gpt-oss files and not in qwen2moe and olmoe ones; a config that differs says so
// under sigma.expert_weights_norm (bool). Dense layers among the experts (Qwen's mlp_only_layers)
// have no GGUF form (llama.cpp's files have experts in every layer). Thread safety: free functions
// without shared state.
#ifndef SIGMA_ENGINE_GGUF_GGUF_EXPERTS_H_
#define SIGMA_ENGINE_GGUF_GGUF_EXPERTS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/loader/model_config.h"

namespace sigma {

// The architecture of a general.architecture that names a mixture (qwen2moe, qwen3moe, olmoe,
// granitemoe);
// false for others.
bool MoeArchitectureOfGguf(std::string_view gguf_arch, Architecture* arch);
// The general.architecture of a mixture's file ("llama" for Mixtral); "" for a dense family.
std::string_view GgufArchitectureOfMoe(Architecture arch);

// c->moe from the keys under `prefix` ("llama."); a llama file with experts becomes Mixtral.
// INVALID_ARGUMENT / UNIMPLEMENTED naming the key.
Status ReadGgufExperts(const GgufFile& f, const std::string& prefix, ModelConfig* c);

// The keys above for c.moe; UNIMPLEMENTED for a config they cannot state (dense layers).
Status AddGgufExpertKeys(const ModelConfig& c, const std::string& prefix, GgufWriter* w);

// Which matrix of every expert a stacked tensor holds.
enum class ExpertMatrix { kGate, kUp, kDown };

// "blk.3.ffn_up_exps.weight" -> layer 3, kUp, bias false ("...bias": true); false for any other
// name.
bool ParseStackedExpertsName(std::string_view gguf_name, int64_t* layer, ExpertMatrix* matrix,
                             bool* bias);

// Expert `expert`'s matrix (or its bias) in layer `layer` under its Hugging Face name for c's
// family.
std::string HfExpertName(const ModelConfig& c, int64_t layer, int64_t expert, ExpertMatrix matrix,
                         bool bias = false);

// Whether `hf_name` is one expert's matrix or bias (of c's family); if so its stacked GGUF name
// and the expert's index.
bool ParseHfExpertName(const ModelConfig& c, std::string_view hf_name, std::string* stacked,
                       int64_t* expert);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_GGUF_EXPERTS_H_
