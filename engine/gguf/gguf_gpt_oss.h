// gpt-oss (Architecture::kGptOss) in GGUF files, as llama.cpp's converter writes them:
//   general.architecture                 "gpt-oss"
//   gpt-oss.attention.sliding_window     the window of the sliding layers, which llama.cpp fixes
//                                        as every other layer from layer 0
//   gpt-oss.expert_count, expert_used_count, expert_feed_forward_length (gguf_experts.h)
//   gpt-oss.rope.scaling.type "yarn", rope.scaling.factor, rope.scaling.original_context_length
//   blk.N.attn_q / attn_k / attn_v / attn_output (.weight, .bias), blk.N.attn_sinks.weight [n_q]
//   blk.N.post_attention_norm            the FFN's input norm (post_attention_layernorm)
//   blk.N.ffn_gate_inp (.weight, .bias)  the router
//   blk.N.ffn_gate_exps / ffn_up_exps / ffn_down_exps (.weight, .bias)  the experts, stacked
// What llama.cpp fixes rather than reads: the clamped SwiGLU's alpha 1.702 and limit 7, and YaRN's
// correction range rounded outwards (transformers' truncate true; gpt-oss's config.json says
// false). A config that differs says so under sigma.swiglu_alpha, sigma.swiglu_limit (f32) and
// sigma.rope.scaling.yarn_truncate (bool), which llama.cpp ignores; a file without them
// (llama.cpp's own) is read as llama.cpp computes it. Thread safety: free functions without shared
// state.
#ifndef SIGMA_ENGINE_GGUF_GGUF_GPT_OSS_H_
#define SIGMA_ENGINE_GGUF_GGUF_GPT_OSS_H_

#include <string>

#include "engine/base/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/loader/model_config.h"

namespace sigma {

inline constexpr char kGptOssGgufArchitecture[] = "gpt-oss";

// After the common keys (the window and RoPE included): a gpt-oss file's attention biases, sliding
// layers, clamped SwiGLU and YaRN truncation (llama.cpp's, or the sigma. keys above). Nothing for
// other architectures. INVALID_ARGUMENT naming a key of the wrong type or value.
Status ReadGgufGptOss(const GgufFile& f, ModelConfig* c);

// The sigma. keys above where c differs from llama.cpp's constants; UNIMPLEMENTED for sliding
// layers other than llama.cpp's pattern.
Status AddGgufGptOssKeys(const ModelConfig& c, GgufWriter* w);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_GGUF_GPT_OSS_H_
