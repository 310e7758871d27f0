// llama.cpp's quantization mixes: llama-quantize's Q3_K_S/M/L, Q4_K_S/M and Q5_K_S/M put most
// matrices in the base K-quant and some of the more sensitive ones in more bits (the output
// matrix in Q6_K; in Q4_K_M and Q5_K_M the V projections and FFN down projections of the first
// and last eighth of the layers and every third layer between, in Q6_K; in Q3_K_M the V, output
// and FFN down projections in Q4_K or Q5_K; ...). QuantMixType chooses
// as llama.cpp's llama_tensor_get_type does for them (without an importance matrix), so that with
// the same quantizers (engine/gguf/quantize.h, bit for bit) `convert --type q4_k_m` writes
// llama-quantize's file of a checkpoint (tests/engine/gguf/quant_mix_test.cc).
// Thread safety: pure functions.
#ifndef SIGMA_ENGINE_GGUF_QUANT_MIX_H_
#define SIGMA_ENGINE_GGUF_QUANT_MIX_H_

#include <optional>
#include <string_view>

#include "engine/dtype.h"
#include "engine/loader/model_config.h"

namespace sigma {

enum class QuantMix { kQ3_K_S, kQ3_K_M, kQ3_K_L, kQ4_K_S, kQ4_K_M, kQ5_K_S, kQ5_K_M };

// "q3_k_s" / "q3_k_m" / "q3_k_l" / "q4_k_s" / "q4_k_m" / "q5_k_s" / "q5_k_m"; nullopt for
// anything else.
std::optional<QuantMix> QuantMixFromName(std::string_view name);

// Q3_K, Q4_K or Q5_K: the type of the matrices the mix does not single out.
DType QuantMixBaseType(QuantMix mix);

// The type `mix` gives the matrix `gguf_name` ("blk.3.attn_v.weight", "output.weight", ...) of a
// model of `config`, before the fallback for rows that are not whole blocks of it. The token
// embeddings of a model whose lm_head is tied to them (config.tie_word_embeddings) are its output
// matrix.
DType QuantMixType(QuantMix mix, const ModelConfig& config, std::string_view gguf_name);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_QUANT_MIX_H_
