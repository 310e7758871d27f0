#include "engine/gguf/quant_mix.h"

#include <charconv>
#include <string>

namespace sigma {
namespace {

// The layer of "blk.<layer>.<...>" (-1 for other names).
int LayerOf(std::string_view name) {
  if (!name.starts_with("blk.")) return -1;
  int layer = -1;
  std::from_chars(name.data() + 4, name.data() + name.size(), layer);
  return layer;
}

bool Has(std::string_view name, std::string_view part) {
  return name.find(part) != std::string_view::npos;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between.
bool UseMoreBits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

// llama.cpp's LLM_TYPE_70B, the only model size its K-quant mixes look at: of the architectures
// here, 80 layers of a llama with grouped KV heads or of a qwen2.
bool Is70B(const ModelConfig& c) {
  if (c.num_layers != 80) return false;
  return (c.arch == Architecture::kLlama && c.n_q_heads != c.n_k_heads) ||
         c.arch == Architecture::kQwen2;
}

}  // namespace

std::optional<QuantMix> QuantMixFromName(std::string_view name) {
  for (QuantMix mix :
       {QuantMix::kQ4_K_S, QuantMix::kQ4_K_M, QuantMix::kQ5_K_S, QuantMix::kQ5_K_M}) {
    const std::string_view names[] = {"q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m"};
    if (name == names[static_cast<int>(mix)]) return mix;
  }
  return std::nullopt;
}

DType QuantMixBaseType(QuantMix mix) {
  return mix == QuantMix::kQ4_K_S || mix == QuantMix::kQ4_K_M ? DType::kQ4_K : DType::kQ5_K;
}

DType QuantMixType(QuantMix mix, const ModelConfig& config, std::string_view name) {
  const DType base = QuantMixBaseType(mix);
  const bool medium = mix == QuantMix::kQ4_K_M || mix == QuantMix::kQ5_K_M;
  const auto layers = static_cast<int>(config.num_layers);
  const int layer = LayerOf(name);
  const bool eight_experts = config.moe.num_experts == 8;
  // The output matrix (or the token embeddings standing in for it): Q6_K where its rows are
  // whole super-blocks, else Q8_0.
  if (name == "output.weight" || (config.tie_word_embeddings && name == "token_embd.weight")) {
    return config.hidden_size % 256 == 0 ? DType::kQ6_K : DType::kQ8_0;
  }
  if (name == "token_embd.weight") return base;
  if (Has(name, "attn_v.weight") || Has(name, "attn_qkv.weight")) {
    DType type = base;
    if (medium && UseMoreBits(layer, layers)) type = DType::kQ6_K;
    if (mix == QuantMix::kQ4_K_S && layer < 4) type = DType::kQ5_K;
    if (Is70B(config) && type == DType::kQ4_K) type = DType::kQ5_K;
    return eight_experts ? DType::kQ8_0 : type;
  }
  if (Has(name, "attn_k.weight")) return eight_experts ? DType::kQ8_0 : base;
  if (Has(name, "attn_q.weight")) return base;
  if (Has(name, "attn_output.weight")) {
    const bool q4 = mix == QuantMix::kQ4_K_S || mix == QuantMix::kQ4_K_M;
    return eight_experts && q4 ? DType::kQ5_K : base;
  }
  if (Has(name, "ffn_up") || Has(name, "ffn_gate")) return base;
  if (Has(name, "ffn_down")) {
    if (medium && UseMoreBits(layer, layers)) return DType::kQ6_K;
    if (mix == QuantMix::kQ4_K_S && layer < layers / 8) return DType::kQ5_K;
    return base;
  }
  return base;
}

}  // namespace sigma
