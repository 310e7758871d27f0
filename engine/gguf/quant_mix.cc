#include "engine/gguf/quant_mix.h"

#include <array>
#include <charconv>

namespace sigma {
namespace {

constexpr std::array<QuantMix, 7> kMixes = {QuantMix::kQ3_K_S, QuantMix::kQ3_K_M, QuantMix::kQ3_K_L,
                                            QuantMix::kQ4_K_S, QuantMix::kQ4_K_M, QuantMix::kQ5_K_S,
                                            QuantMix::kQ5_K_M};
constexpr std::array<std::string_view, 7> kNames = {"q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s",
                                                    "q4_k_m", "q5_k_s", "q5_k_m"};

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

// The V projections (and fused QKV): llama.cpp's attn_v rules.
DType AttnVType(QuantMix mix, const ModelConfig& config, int layer) {
  DType type = QuantMixBaseType(mix);
  switch (mix) {
    case QuantMix::kQ3_K_M: type = layer < 2 ? DType::kQ5_K : DType::kQ4_K; break;
    case QuantMix::kQ3_K_L: type = DType::kQ5_K; break;
    case QuantMix::kQ4_K_M:
    case QuantMix::kQ5_K_M:
      if (UseMoreBits(layer, static_cast<int>(config.num_layers))) type = DType::kQ6_K;
      break;
    case QuantMix::kQ4_K_S:
      if (layer < 4) type = DType::kQ5_K;
      break;
    default: break;
  }
  if (Is70B(config) && (type == DType::kQ3_K || type == DType::kQ4_K)) type = DType::kQ5_K;
  return config.moe.num_experts == 8 ? DType::kQ8_0 : type;
}

// The FFN down projections (an expert's, a shared expert's): llama.cpp's ffn_down rules.
DType FfnDownType(QuantMix mix, int layer, int layers) {
  switch (mix) {
    case QuantMix::kQ3_K_M: return layer < layers / 16 ? DType::kQ5_K : DType::kQ4_K;
    case QuantMix::kQ3_K_L: return DType::kQ5_K;
    case QuantMix::kQ4_K_M:
    case QuantMix::kQ5_K_M:
      return UseMoreBits(layer, layers) ? DType::kQ6_K : QuantMixBaseType(mix);
    case QuantMix::kQ4_K_S: return layer < layers / 8 ? DType::kQ5_K : DType::kQ4_K;
    default: return QuantMixBaseType(mix);
  }
}

// The attention output projections: llama.cpp's attn_output rules.
DType AttnOutputType(QuantMix mix, const ModelConfig& config) {
  if (config.moe.num_experts == 8) {
    const bool bumped = mix == QuantMix::kQ3_K_S || mix == QuantMix::kQ3_K_M ||
                        mix == QuantMix::kQ4_K_S || mix == QuantMix::kQ4_K_M;
    return bumped ? DType::kQ5_K : QuantMixBaseType(mix);
  }
  if (mix == QuantMix::kQ3_K_M) return DType::kQ4_K;
  if (mix == QuantMix::kQ3_K_L) return DType::kQ5_K;
  return QuantMixBaseType(mix);
}

}  // namespace

std::optional<QuantMix> QuantMixFromName(std::string_view name) {
  for (size_t i = 0; i < kMixes.size(); ++i) {
    if (name == kNames[i]) return kMixes[i];
  }
  return std::nullopt;
}

DType QuantMixBaseType(QuantMix mix) {
  switch (mix) {
    case QuantMix::kQ3_K_S:
    case QuantMix::kQ3_K_M:
    case QuantMix::kQ3_K_L: return DType::kQ3_K;
    case QuantMix::kQ4_K_S:
    case QuantMix::kQ4_K_M: return DType::kQ4_K;
    default: return DType::kQ5_K;
  }
}

DType QuantMixType(QuantMix mix, const ModelConfig& config, std::string_view name) {
  const int layer = LayerOf(name);
  // The output matrix (or the token embeddings standing in for it): Q6_K where its rows are
  // whole super-blocks, else Q8_0.
  if (name == "output.weight" || (config.tie_word_embeddings && name == "token_embd.weight")) {
    return config.hidden_size % 256 == 0 ? DType::kQ6_K : DType::kQ8_0;
  }
  if (Has(name, "attn_v.weight") || Has(name, "attn_qkv.weight")) {
    return AttnVType(mix, config, layer);
  }
  if (Has(name, "attn_k.weight") && config.moe.num_experts == 8) return DType::kQ8_0;
  if (Has(name, "attn_output.weight")) return AttnOutputType(mix, config);
  if (Has(name, "ffn_down")) return FfnDownType(mix, layer, static_cast<int>(config.num_layers));
  return QuantMixBaseType(mix);
}

}  // namespace sigma
