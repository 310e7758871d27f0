#include "engine/gguf/gguf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <utility>

#include "engine/gguf/gguf_gpt_oss.h"

namespace sigma {
namespace {

// The llama3 rope scaling parameters sigma-eval writes beside rope_freqs.weight (llama.cpp reads
// no such keys): factor, low_freq_factor, high_freq_factor (f32), original_context_length (u32).
constexpr char kLlama3KeyPrefix[] = "sigma.rope.llama3.";
// Gemma's hyperparameters that llama.cpp derives instead of storing (gguf_model.h).
constexpr char kQueryPreAttnScalarKey[] = "sigma.attention.query_pre_attn_scalar";
constexpr char kSlidingWindowPatternKey[] = "sigma.attention.sliding_window_pattern";
constexpr char kLocalRopeBaseKey[] = "sigma.rope.local_freq_base";

struct NamePair {
  const char* gguf;
  const char* hf;
};

// Per-layer suffixes (without .weight/.bias).
constexpr NamePair kLayerNames[] = {
    {"attn_norm", "input_layernorm"},
    {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_qkv", "self_attn.qkv_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"attn_q_gate", "self_attn.q_gate_proj"},
    {"attn_q_up", "self_attn.q_up_proj"},
    {"attn_q_down", "self_attn.q_down_proj"},
    {"attn_q_norm", "self_attn.q_norm"},
    {"attn_k_norm", "self_attn.k_norm"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"ffn_gate_inp", "mlp.gate"},
    {"ffn_gate_inp_shexp", "mlp.shared_expert_gate"},
    {"ffn_gate_shexp", "mlp.shared_expert.gate_proj"},
    {"ffn_up_shexp", "mlp.shared_expert.up_proj"},
    {"ffn_down_shexp", "mlp.shared_expert.down_proj"},
};

// Gemma 2's and 3's norms, before kLayerNames (whose ffn_norm is post_attention_layernorm).
constexpr NamePair kSandwichNormNames[] = {
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_norm", "pre_feedforward_layernorm"},
    {"post_ffw_norm", "post_feedforward_layernorm"},
};

// gpt-oss's, before kLayerNames: its FFN's input norm is post_attention_norm, its router
// mlp.router.
constexpr NamePair kGptOssNames[] = {
    {"post_attention_norm", "post_attention_layernorm"},
    {"ffn_gate_inp", "mlp.router"},
};

constexpr NamePair kGlobalNames[] = {
    {"token_embd", "model.embed_tokens"},
    {"output_norm", "model.norm"},
    {"output", "lm_head"},
};

// Splits "stem.weight" / "stem.bias"; false for other endings.
bool SplitParamSuffix(std::string_view name, std::string_view* stem, std::string_view* suffix) {
  for (std::string_view s : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.size() > s.size() && name.substr(name.size() - s.size()) == s) {
      *stem = name.substr(0, name.size() - s.size());
      *suffix = s;
      return true;
    }
  }
  return false;
}

// Parses "<prefix><digits>." at the front of `name`; returns the layer digits and the rest.
bool SplitLayer(std::string_view name, std::string_view prefix, std::string_view* layer,
                std::string_view* rest) {
  if (name.substr(0, prefix.size()) != prefix) return false;
  name.remove_prefix(prefix.size());
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 6) return false;
  for (size_t k = 0; k < dot; ++k) {
    if (name[k] < '0' || name[k] > '9') return false;
  }
  *layer = name.substr(0, dot);
  *rest = name.substr(dot + 1);
  return true;
}

// names.fused_ffn: Phi-3's files, whose ffn_up is the fused gate_up_proj (gate rows, then up rows,
// as llama.cpp's SwiGLU of a fused matrix reads them) and which have no ffn_gate.
std::string MapName(std::string_view name, bool to_hf, GgufNames names) {
  std::string_view stem, suffix, layer, rest;
  // gpt-oss's sinks: a parameter of the attention in transformers (no suffix), a tensor in GGUF.
  if (names.gpt_oss && to_hf && SplitLayer(name, "blk.", &layer, &rest) &&
      rest == "attn_sinks.weight") {
    return StrCat("model.layers.", layer, ".self_attn.sinks");
  }
  if (names.gpt_oss && !to_hf && SplitLayer(name, "model.layers.", &layer, &rest) &&
      rest == "self_attn.sinks") {
    return StrCat("blk.", layer, ".attn_sinks.weight");
  }
  if (!SplitParamSuffix(name, &stem, &suffix)) return std::string(name);
  for (const NamePair& p : kGlobalNames) {
    if (stem == (to_hf ? p.gguf : p.hf)) return StrCat(to_hf ? p.hf : p.gguf, suffix);
  }
  if (!SplitLayer(stem, to_hf ? "blk." : "model.layers.", &layer, &rest)) return std::string(name);
  if (names.block_sparse_moe && rest == (to_hf ? "ffn_gate_inp" : "block_sparse_moe.gate")) {
    return to_hf ? StrCat("model.layers.", layer, ".block_sparse_moe.gate", suffix)
                 : StrCat("blk.", layer, ".ffn_gate_inp", suffix);
  }
  if (names.fused_ffn && rest == (to_hf ? "ffn_up" : "mlp.gate_up_proj")) {
    return to_hf ? StrCat("model.layers.", layer, ".mlp.gate_up_proj", suffix)
                 : StrCat("blk.", layer, ".ffn_up", suffix);
  }
  const std::span<const NamePair> tables[] = {
      names.post_norms ? std::span<const NamePair>(kSandwichNormNames)
      : names.gpt_oss  ? std::span<const NamePair>(kGptOssNames)
                       : std::span<const NamePair>(),
      kLayerNames};
  for (const std::span<const NamePair> table : tables) {
    for (const NamePair& p : table) {
      if (rest == (to_hf ? p.gguf : p.hf)) {
        return to_hf ? StrCat("model.layers.", layer, ".", p.hf, suffix)
                     : StrCat("blk.", layer, ".", p.gguf, suffix);
      }
    }
  }
  return std::string(name);
}

// Which Q/K tensor an HF name is, for the permutation: 1 = q, 2 = k, 0 = neither.
int QkKind(std::string_view hf_name) {
  std::string_view stem, suffix, layer, rest;
  if (!SplitParamSuffix(hf_name, &stem, &suffix)) return 0;
  if (!SplitLayer(stem, "model.layers.", &layer, &rest)) return 0;
  if (rest == "self_attn.q_proj") return 1;
  if (rest == "self_attn.k_proj") return 2;
  return 0;
}

// Files of general.architecture "llama": Llama, Mistral and Mixtral (written as llama; see
// ReadWindow, gguf_experts.h); and "granite", "granitemoe" and "smollm3", whose converters are
// Llama's.
bool IsPermuted(const ModelConfig& config) {
  return config.arch == Architecture::kLlama || config.arch == Architecture::kMistral ||
         config.arch == Architecture::kMixtral || config.granite() ||
         config.arch == Architecture::kSmolLM3;
}

// Reads `key` as an unsigned integer in [min, max] into *out; `required` false leaves *out alone
// when absent.
Status ReadInt(const GgufFile& f, const std::string& key, bool required, int64_t min, int64_t max,
               int64_t* out) {
  if (!required && f.Find(key) == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
  if (v < static_cast<uint64_t>(min) || v > static_cast<uint64_t>(max)) {
    return InvalidArgumentError(f.path(), ": ", key, " = ", v, " (expected ", min, " to ", max,
                                ")");
  }
  *out = static_cast<int64_t>(v);
  return Status::Ok();
}

Status ReadDouble(const GgufFile& f, const std::string& key, double* out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(*out, f.GetFloat(key));
  return Status::Ok();
}

Status ReadArch(const GgufFile& f, ModelConfig* c, std::string* prefix) {
  SIGMA_ASSIGN_OR_RETURN(std::string_view arch, f.GetString("general.architecture"));
  if (arch == "llama") {
    c->arch = Architecture::kLlama;
  } else if (arch == "qwen2") {
    c->arch = Architecture::kQwen2;
    c->qkv_bias = true;
  } else if (arch == "qwen3") {
    c->arch = Architecture::kQwen3;
  } else if (arch == "phi3") {
    c->arch = Architecture::kPhi3;
  } else if (arch == "gemma") {
    c->arch = Architecture::kGemma;
  } else if (arch == "gemma2") {
    c->arch = Architecture::kGemma2;
  } else if (arch == "gemma3") {
    c->arch = Architecture::kGemma3;
  } else if (arch == "granite") {
    c->arch = Architecture::kGranite;
    c->attention_multiplier = 1.0;  // as llama.cpp's: GraniteConfig's default where no key
  } else if (arch == "olmo2") {
    c->arch = Architecture::kOlmo2;
  } else if (arch == "smollm3") {
    c->arch = Architecture::kSmolLM3;
    c->tie_word_embeddings = true;
  } else if (arch == "sigma") {
    c->arch = Architecture::kSigma;
  } else if (!MoeArchitectureOfGguf(arch, &c->arch)) {
    return UnimplementedError(
        f.path(), ": general.architecture '", arch,
        "' is not supported (llama, phi3, qwen2, qwen3, gemma, gemma2, gemma3, granite, smollm3, "
        "olmo2, qwen2moe, qwen3moe, olmoe, granitemoe, gpt-oss, sigma)");
  }
  if (c->arch == Architecture::kGraniteMoe) c->attention_multiplier = 1.0;  // as granite's
  if (c->gemma()) {
    c->activation = Activation::kGeluTanh;
    c->tie_word_embeddings = true;
  }
  *prefix = StrCat(arch, ".");
  return Status::Ok();
}

Status ReadHeads(const GgufFile& f, const std::string& p, ModelConfig* c) {
  constexpr int64_t kMaxHeads = 4096;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "attention.head_count", true, 1, kMaxHeads, &c->n_q_heads));
  if (c->arch == Architecture::kSigma) {
    SIGMA_RETURN_IF_ERROR(
        ReadInt(f, p + "attention.key_head_count", true, 1, kMaxHeads, &c->n_k_heads));
    SIGMA_RETURN_IF_ERROR(
        ReadInt(f, p + "attention.value_head_count", true, 1, kMaxHeads, &c->n_v_heads));
    SIGMA_RETURN_IF_ERROR(
        ReadInt(f, p + "aug_q_intermediate_size", false, 0, 1 << 20, &c->aug_q_intermediate_size));
  } else {
    c->n_k_heads = c->n_q_heads;
    SIGMA_RETURN_IF_ERROR(
        ReadInt(f, p + "attention.head_count_kv", false, 1, kMaxHeads, &c->n_k_heads));
    c->n_v_heads = c->n_k_heads;
  }
  c->head_dim = c->n_q_heads > 0 ? c->hidden_size / c->n_q_heads : 0;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "attention.key_length", false, 2, 1 << 16, &c->head_dim));
  int64_t value_length = c->head_dim;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "attention.value_length", false, 2, 1 << 16, &value_length));
  if (value_length != c->head_dim) {
    return UnimplementedError(f.path(), ": ", p, "attention.value_length ", value_length,
                              " differs from key_length ", c->head_dim);
  }
  int64_t rope_dims = c->head_dim;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "rope.dimension_count", false, 1, 1 << 16, &rope_dims));
  if (rope_dims == c->head_dim) return Status::Ok();
  if (c->arch != Architecture::kPhi3 || rope_dims > c->head_dim) {
    return UnimplementedError(f.path(), ": ", p, "rope.dimension_count ", rope_dims,
                              " != head_dim ", c->head_dim,
                              " (partial rotary is supported for phi3 files only)");
  }
  // RoPE on the first rope_dims dimensions: the factor whose int(head_dim * factor) they are.
  c->partial_rotary_factor = static_cast<double>(rope_dims) / static_cast<double>(c->head_dim);
  if (c->rotary_dim() != rope_dims) {
    c->partial_rotary_factor = std::nextafter(c->partial_rotary_factor, 2.0);
  }
  return Status::Ok();
}

// A longrope factor tensor (f32 [rotary_dim / 2]) into *out; absent: *found false.
Status ReadRopeFactors(const GgufFile& f, const char* name, const ModelConfig& c,
                       std::vector<double>* out, bool* found) {
  const GgufTensorInfo* t = f.FindTensor(name);
  *found = t != nullptr;
  if (t == nullptr) return Status::Ok();
  const int64_t half = c.rotary_dim() / 2;
  if (t->dtype != DType::kF32 || t->shape.size() != 1 || t->shape[0] != half) {
    return InvalidArgumentError(f.path(), ": tensor '", name, "' must be f32 [", half,
                                "] (rope dimensions / 2)");
  }
  std::vector<float> values(static_cast<size_t>(half));
  std::memcpy(values.data(), f.TensorData(*t).data(), values.size() * sizeof(float));
  out->assign(values.begin(), values.end());
  return Status::Ok();
}

// Phi-3's longrope as llama.cpp's converter stores it: tensors rope_factors_short.weight and
// rope_factors_long.weight, <arch>.rope.scaling.attn_factor and
// <arch>.rope.scaling.original_context_length.
Status ReadLongRope(const GgufFile& f, const std::string& p, ModelConfig* c) {
  RopeScaling& s = c->rope_scaling;
  bool has_short = false, has_long = false;
  SIGMA_RETURN_IF_ERROR(
      ReadRopeFactors(f, "rope_factors_short.weight", *c, &s.short_factor, &has_short));
  SIGMA_RETURN_IF_ERROR(
      ReadRopeFactors(f, "rope_factors_long.weight", *c, &s.long_factor, &has_long));
  if (!has_short && !has_long) return Status::Ok();
  if (!has_short || !has_long || s.type != "default") {
    return InvalidArgumentError(f.path(),
                                ": longrope needs both rope_factors_short.weight and "
                                "rope_factors_long.weight, and no other rope scaling");
  }
  s.type = "longrope";
  s.factor = 0;
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "rope.scaling.attn_factor", &s.attention_factor));
  s.original_max_position_embeddings = c->max_position_embeddings;
  return ReadInt(f, p + "rope.scaling.original_context_length", false, 1, int64_t{1} << 26,
                 &s.original_max_position_embeddings);
}

Status ReadRope(const GgufFile& f, const std::string& p, ModelConfig* c) {
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "rope.freq_base", &c->rope_theta));
  if (f.Find(p + "rope.scaling.type") != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(std::string_view type, f.GetString(p + "rope.scaling.type"));
    if (type == "linear") {
      c->rope_scaling.type = "linear";
      SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "rope.scaling.factor", &c->rope_scaling.factor));
    } else if (type == "yarn") {  // llama.cpp's defaults: beta 32 / 1, attention factor derived
      c->rope_scaling.type = "yarn";
      SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "rope.scaling.factor", &c->rope_scaling.factor));
      c->rope_scaling.original_max_position_embeddings = c->max_position_embeddings;
      SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "rope.scaling.original_context_length", false, 1,
                                    int64_t{1} << 26,
                                    &c->rope_scaling.original_max_position_embeddings));
    } else if (type != "none") {
      return UnimplementedError(f.path(), ": ", p, "rope.scaling.type '", type, "'");
    }
  }
  return ReadLongRope(f, p, c);
}

// Whether `scaling` makes c's divisors (c->rope_freq_factors), to float precision: llama.cpp
// computes its frequencies in f32, this project in f64.
bool ScalingMakesTheDivisors(const ModelConfig& c, const RopeScaling& scaling) {
  ModelConfig scaled = c;
  scaled.rope_freq_factors.clear();
  scaled.rope_scaling = scaling;
  const std::vector<float> want = scaled.RopeFreqFactors();
  const std::vector<float>& have = c.rope_freq_factors;
  if (want.size() != have.size()) return false;
  for (size_t j = 0; j < want.size(); ++j) {
    if (std::fabs(want[j] - have[j]) > 1e-5f * std::fabs(have[j])) return false;
  }
  return true;
}

// The llama3 parameters under kLlama3KeyPrefix, which must make the file's divisors.
Status ReadLlama3Keys(const GgufFile& f, ModelConfig* c) {
  RopeScaling s;
  s.type = "llama3";
  for (auto [key, value] :
       {std::pair{"factor", &s.factor}, std::pair{"low_freq_factor", &s.low_freq_factor},
        std::pair{"high_freq_factor", &s.high_freq_factor}}) {
    const std::string name = StrCat(kLlama3KeyPrefix, key);
    if (f.Find(name) == nullptr) return NotFoundError(f.path(), ": ", name, " is missing");
    SIGMA_RETURN_IF_ERROR(ReadDouble(f, name, value));
  }
  SIGMA_RETURN_IF_ERROR(ReadInt(f, StrCat(kLlama3KeyPrefix, "original_context_length"), true, 1,
                                1 << 26, &s.original_max_position_embeddings));
  Status valid = s.Validate();
  if (!valid.ok()) return valid.WithContext(StrCat(f.path(), ": ", kLlama3KeyPrefix, "*"));
  if (!ScalingMakesTheDivisors(*c, s)) {
    return InvalidArgumentError(f.path(),
                                ": tensor 'rope_freqs.weight' disagrees with the llama3 "
                                "scaling of ",
                                kLlama3KeyPrefix, "*");
  }
  c->rope_scaling = s;
  return Status::Ok();
}

// Llama 3 rope scaling as llama.cpp stores it: a divisor for each frequency in tensor
// rope_freqs.weight (f32, [head_dim / 2]), and no key naming the parameters that made them.
// sigma-eval's converter also writes those (kLlama3KeyPrefix), so that its files convert back to
// a config.json; a file without them is given llama3 rope_scaling where its divisors are those
// of Llama 3.x (factor = the largest divisor, low_freq_factor 1, high_freq_factor 4, original
// context 8192, which llama.cpp's converter assumes), and else only the divisors.
Status ReadRopeFreqs(const GgufFile& f, ModelConfig* c) {
  const GgufTensorInfo* t = f.FindTensor("rope_freqs.weight");
  const bool keys = f.Find(StrCat(kLlama3KeyPrefix, "factor")) != nullptr;
  if (t == nullptr) {
    if (!keys) return Status::Ok();
    return NotFoundError(f.path(), ": ", kLlama3KeyPrefix,
                         "factor without tensor 'rope_freqs.weight'");
  }
  const int64_t half = c->head_dim / 2;
  if (half < 1 || t->dtype != DType::kF32 || t->shape.size() != 1 || t->shape[0] != half) {
    return InvalidArgumentError(f.path(), ": tensor 'rope_freqs.weight' must be f32 [", half,
                                "] (head_dim / 2), got ", DTypeName(t->dtype), " of ", t->numel,
                                " values in ", t->shape.size(), " dimensions");
  }
  if (c->rope_scaling.type != "default") {
    return InvalidArgumentError(f.path(), ": tensor 'rope_freqs.weight' and rope.scaling.type '",
                                c->rope_scaling.type, "' together");
  }
  c->rope_freq_factors.resize(static_cast<size_t>(half));
  std::memcpy(c->rope_freq_factors.data(), f.TensorData(*t).data(),
              static_cast<size_t>(half) * sizeof(float));
  for (int64_t j = 0; j < half; ++j) {
    const float v = c->rope_freq_factors[static_cast<size_t>(j)];
    if (!std::isfinite(v) || v <= 0.0f) {
      return InvalidArgumentError(f.path(), ": tensor 'rope_freqs.weight' value ", j, " is ", v,
                                  " (a frequency divisor must be finite and above 0)");
    }
  }
  if (keys) return ReadLlama3Keys(f, c);
  const RopeScaling llama3 = {
      "llama3", *std::max_element(c->rope_freq_factors.begin(), c->rope_freq_factors.end()), 1.0,
      4.0, 8192};
  if (llama3.factor > 1.0 && ScalingMakesTheDivisors(*c, llama3)) c->rope_scaling = llama3;
  return Status::Ok();
}

// Gemma 2's and 3's attention as llama.cpp reads it, or as this project's keys state it where
// llama.cpp derives a value (gguf_model.h).
Status ReadGemmaAttention(const GgufFile& f, const std::string& p, ModelConfig* c) {
  const bool gemma2 = c->arch == Architecture::kGemma2;
  c->attn_logit_softcapping = gemma2 ? 50 : 0;
  c->final_logit_softcapping = gemma2 ? 30 : 0;
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "attn_logit_softcapping", &c->attn_logit_softcapping));
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "final_logit_softcapping", &c->final_logit_softcapping));
  const bool is_27b = c->num_layers == (gemma2 ? 46 : 62);
  c->query_pre_attn_scalar =
      static_cast<double>(is_27b ? c->hidden_size / c->n_q_heads : c->head_dim);
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, kQueryPreAttnScalarKey, &c->query_pre_attn_scalar));
  if (c->arch == Architecture::kGemma3) {
    c->local_rope_theta = 10000;
    SIGMA_RETURN_IF_ERROR(ReadDouble(f, kLocalRopeBaseKey, &c->local_rope_theta));
  }
  int64_t pattern = gemma2 ? 2 : 6;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, kSlidingWindowPatternKey, false, 1, 1 << 20, &pattern));
  c->SetSlidingLayers(c->sliding_window, AllButEveryNth(c->num_layers, pattern));
  return Status::Ok();
}

// An olmo2 file with a window is OLMo 3, as llama.cpp reads it: every 4th layer attends to every
// position. Its sliding layers rotate unscaled with rope_theta, as transformers' Olmo3 does
// (llama.cpp applies a file's rope scaling to them too).
void ReadOlmo3Window(ModelConfig* c) {
  c->arch = Architecture::kOlmo3;
  c->local_rope_theta = c->rope_theta;
  c->SetSlidingLayers(c->sliding_window, AllButEveryNth(c->num_layers, 4));
}

// <arch>.attention.sliding_window, which sigma-eval writes for a Mistral with a window (in a file
// of architecture "llama", as llama.cpp writes Mistral): such a file reads back as Mistral.
Status ReadWindow(const GgufFile& f, const std::string& p, ModelConfig* c) {
  SIGMA_RETURN_IF_ERROR(
      ReadInt(f, p + "attention.sliding_window", false, 1, int64_t{1} << 26, &c->sliding_window));
  if (c->gemma2_or_3()) return ReadGemmaAttention(f, p, c);
  if (c->arch == Architecture::kOlmo2 && c->sliding_window > 0) {
    ReadOlmo3Window(c);
    return Status::Ok();
  }
  if (c->sliding_window == 0 || c->arch == Architecture::kPhi3 ||
      c->arch == Architecture::kMixtral || c->arch == Architecture::kGptOss) {
    return Status::Ok();
  }
  if (c->arch != Architecture::kLlama) {
    return UnimplementedError(f.path(), ": ", p, "attention.sliding_window ", c->sliding_window,
                              " (sliding-window attention is read for llama-architecture files)");
  }
  c->arch = Architecture::kMistral;
  return Status::Ok();
}

// SmolLM3's NoPE layers as llama.cpp has them (no key: every 4th layer); none elsewhere.
std::vector<bool> SmolLM3NopeLayers(const ModelConfig& c) {
  if (c.arch != Architecture::kSmolLM3 || c.num_layers < 4) return {};
  std::vector<bool> nope = AllButEveryNth(c.num_layers, 4);
  nope.flip();
  return nope;
}

// Granite's scalars, as llama.cpp's converter writes them.
Status ReadGraniteScales(const GgufFile& f, const std::string& p, ModelConfig* c) {
  if (!c->granite()) return Status::Ok();
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "embedding_scale", &c->embedding_multiplier));
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "attention.scale", &c->attention_multiplier));
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "residual_scale", &c->residual_multiplier));
  return ReadDouble(f, p + "logit_scale", &c->logits_scaling);
}

Status ReadTokenIds(const GgufFile& f, ModelConfig* c) {
  int64_t id = -1;
  SIGMA_RETURN_IF_ERROR(
      ReadInt(f, "tokenizer.ggml.bos_token_id", false, 0, c->vocab_size - 1, &id));
  c->bos_token_id = id;
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    id = -1;
    SIGMA_RETURN_IF_ERROR(ReadInt(f, key, false, 0, c->vocab_size - 1, &id));
    if (id >= 0 && (c->eos_token_ids.empty() || c->eos_token_ids[0] != id)) {
      c->eos_token_ids.push_back(id);
    }
  }
  return Status::Ok();
}

}  // namespace

GgufNames GgufNamesOf(const ModelConfig& config) {
  return {config.fused_projections(), config.post_norms(),
          ExpertBlock(config) == "block_sparse_moe", config.arch == Architecture::kGptOss};
}
std::string GgufToHfTensorName(std::string_view gguf_name, GgufNames names) {
  return MapName(gguf_name, true, names);
}
std::string HfToGgufTensorName(std::string_view hf_name, GgufNames names) {
  return MapName(hf_name, false, names);
}

StatusOr<ModelConfig> ModelConfigFromGguf(const GgufFile& f) {
  ModelConfig c;
  std::string p;
  SIGMA_RETURN_IF_ERROR(ReadArch(f, &c, &p));
  constexpr int64_t kMaxSize = int64_t{1} << 24;
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "embedding_length", true, 1, kMaxSize, &c.hidden_size));
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "block_count", true, 1, 1024, &c.num_layers));
  SIGMA_RETURN_IF_ERROR(
      ReadInt(f, p + "feed_forward_length", true, 1, kMaxSize, &c.intermediate_size));
  SIGMA_RETURN_IF_ERROR(
      ReadInt(f, p + "context_length", false, 1, 1 << 24, &c.max_position_embeddings));
  SIGMA_RETURN_IF_ERROR(ReadHeads(f, p, &c));
  SIGMA_RETURN_IF_ERROR(ReadGgufExperts(f, p, &c));  // before the window: Mixtral's is llama's
  SIGMA_RETURN_IF_ERROR(ReadDouble(f, p + "attention.layer_norm_rms_epsilon", &c.rms_norm_eps));
  SIGMA_RETURN_IF_ERROR(ReadRope(f, p, &c));
  SIGMA_RETURN_IF_ERROR(ReadRopeFreqs(f, &c));
  SIGMA_RETURN_IF_ERROR(ReadWindow(f, p, &c));
  SIGMA_RETURN_IF_ERROR(ReadGraniteScales(f, p, &c));
  SIGMA_RETURN_IF_ERROR(ReadGgufGptOss(f, &c));
  c.nope_layers = SmolLM3NopeLayers(c);
  const GgufTensorInfo* embed = f.FindTensor("token_embd.weight");
  if (embed == nullptr) return NotFoundError(f.path(), ": tensor 'token_embd.weight' is missing");
  if (embed->shape.size() != 2) {
    return InvalidArgumentError(f.path(), ": tensor 'token_embd.weight' is not 2-D");
  }
  c.vocab_size = embed->shape[0];
  SIGMA_RETURN_IF_ERROR(ReadInt(f, p + "vocab_size", false, 1, kMaxSize, &c.vocab_size));
  c.tie_word_embeddings = f.FindTensor("output.weight") == nullptr;
  if (f.FindTensor("blk.0.attn_q.bias") != nullptr) c.qkv_bias = true;
  SIGMA_RETURN_IF_ERROR(ReadTokenIds(f, &c));
  return c;
}

Status PermuteQkRows(std::span<const uint8_t> in, int64_t rows, size_t row_bytes, int64_t n_heads,
                     bool to_gguf, std::vector<uint8_t>* out) {
  if (n_heads <= 0 || rows % n_heads != 0 || (rows / n_heads) % 2 != 0) {
    return InvalidArgumentError("q/k permutation: ", rows, " rows do not split into ", n_heads,
                                " heads of an even size");
  }
  if (in.size() != static_cast<size_t>(rows) * row_bytes) {
    return InvalidArgumentError("q/k permutation: ", in.size(), " bytes for ", rows, " rows of ",
                                row_bytes);
  }
  const int64_t d = rows / n_heads, half = d / 2;
  out->resize(in.size());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t i = 0; i < 2; ++i) {
      for (int64_t j = 0; j < half; ++j) {
        const int64_t hf_row = h * d + i * half + j;
        const int64_t gguf_row = h * d + 2 * j + i;
        const int64_t src = to_gguf ? hf_row : gguf_row;
        const int64_t dst = to_gguf ? gguf_row : hf_row;
        std::memcpy(out->data() + dst * row_bytes, in.data() + src * row_bytes, row_bytes);
      }
    }
  }
  return Status::Ok();
}

namespace {

size_t RowBytes(const TensorView& v) {
  if (v.shape.size() < 2) return static_cast<size_t>(DTypeBlockBytes(v.dtype));
  return v.row_bytes();
}

// Rows of the view for the permutation (elements of a 1-D bias).
int64_t PermRows(const TensorView& v) { return v.shape.empty() ? 0 : v.shape[0]; }

}  // namespace

StatusOr<std::shared_ptr<GgufWeightSource>> GgufWeightSource::Create(
    std::shared_ptr<const GgufFile> file, const ModelConfig& config) {
  std::shared_ptr<GgufWeightSource> source(new GgufWeightSource());
  source->file_ = file;
  for (const GgufTensorInfo& info : file->tensors()) {
    int64_t layer = 0;
    ExpertMatrix matrix;
    bool bias = false;
    if (ParseStackedExpertsName(info.name, &layer, &matrix, &bias)) {
      SIGMA_RETURN_IF_ERROR(source->AddExperts(info, layer, matrix, bias, config));
      continue;
    }
    TensorView view;
    view.name = GgufToHfTensorName(info.name, GgufNamesOf(config));
    view.dtype = info.dtype;
    view.shape = info.shape;
    const std::span<const uint8_t> bytes = file->TensorData(info);
    view.data = bytes.data();
    view.nbytes = bytes.size();
    if (info.name.ends_with(".ffn_gate_inp_shexp.weight") && view.shape.size() == 1) {
      view.shape = {1, view.shape[0]};  // llama.cpp's [hidden]: transformers' Linear(hidden, 1)
    }
    const int kind = IsPermuted(config) ? QkKind(view.name) : 0;
    if (kind != 0) {
      if (view.shape.size() == 1 && DTypeIsQuantized(view.dtype)) {
        return InvalidArgumentError(file->path(), ": tensor '", info.name, "': quantized 1-D");
      }
      std::vector<uint8_t> copy;
      const int64_t heads = kind == 1 ? config.n_q_heads : config.n_k_heads;
      Status s = PermuteQkRows(bytes, PermRows(view), RowBytes(view), heads, false, &copy);
      if (!s.ok()) return s.WithContext(StrCat(file->path(), ": tensor '", info.name, "'"));
      view.data = copy.data();
      source->owned_.push_back(std::move(copy));
    }
    if (!source->tensors_.emplace(view.name, view).second) {
      return InvalidArgumentError(file->path(), ": two tensors map to '", view.name, "'");
    }
  }
  return source;
}

Status GgufWeightSource::AddExperts(const GgufTensorInfo& info, int64_t layer, ExpertMatrix matrix,
                                    bool bias, const ModelConfig& config) {
  if (info.shape.size() != (bias ? 2u : 3u)) {
    return InvalidArgumentError(file_->path(), ": tensor '", info.name, "': ", info.shape.size(),
                                " dims (a stack of experts' ",
                                bias ? "biases has 2" : "matrices has 3", ")");
  }
  const std::span<const uint8_t> bytes = file_->TensorData(info);
  const auto experts = static_cast<size_t>(info.shape[0]);
  const size_t each = bytes.size() / experts;  // GgufFile checked the size of the whole
  for (size_t e = 0; e < experts; ++e) {
    TensorView view;
    view.name = HfExpertName(config, layer, static_cast<int64_t>(e), matrix, bias);
    view.dtype = info.dtype;
    view.shape = std::vector<int64_t>(info.shape.begin() + 1, info.shape.end());
    view.data = bytes.data() + e * each;
    view.nbytes = each;
    if (!tensors_.emplace(view.name, view).second) {
      return InvalidArgumentError(file_->path(), ": two tensors map to '", view.name, "'");
    }
  }
  return Status::Ok();
}

StatusOr<ModelWeights> LoadGguf(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> opened, GgufFile::Open(path));
  std::shared_ptr<const GgufFile> file = std::move(opened);
  SIGMA_ASSIGN_OR_RETURN(ModelConfig config, ModelConfigFromGguf(*file));
  SIGMA_ASSIGN_OR_RETURN(std::shared_ptr<GgufWeightSource> source,
                         GgufWeightSource::Create(file, config));
  StatusOr<ModelWeights> weights = BindWeights(config, source);
  if (!weights.ok()) return weights.status().WithContext(path);
  return weights;
}

namespace {

// The general.architecture of a config's file: Mistral's is llama's, Gemma 3's gemma3, OLMo 3's
// olmo2 (with a window).
std::string GgufArchitecture(const ModelConfig& c) {
  if (const std::string_view moe = GgufArchitectureOfMoe(c.arch); !moe.empty()) {
    return std::string(moe);
  }
  if (c.arch == Architecture::kMistral) return "llama";
  if (c.arch == Architecture::kGemma3) return "gemma3";
  if (c.arch == Architecture::kOlmo3) return "olmo2";
  return std::string(ArchitectureName(c.arch));
}

// The smallest pattern p with AllButEveryNth(layers, p) c's sliding layers; 0 if none is.
int64_t SlidingWindowPattern(const ModelConfig& c) {
  for (int64_t p = 1; p <= c.num_layers + 1; ++p) {
    ModelConfig patterned = c;
    patterned.SetSlidingLayers(c.sliding_window, AllButEveryNth(c.num_layers, p));
    if (patterned.sliding_window == c.sliding_window &&
        patterned.sliding_layers == c.sliding_layers) {
      return p;
    }
  }
  return 0;
}

// Gemma 2's and 3's keys (gguf_model.h).
Status AddGemmaKeys(const ModelConfig& c, const std::string& p, GgufWriter* w) {
  if (c.arch == Architecture::kGemma2 || c.attn_logit_softcapping > 0) {
    w->SetF32(p + "attn_logit_softcapping", static_cast<float>(c.attn_logit_softcapping));
  }
  if (c.arch == Architecture::kGemma2 || c.final_logit_softcapping > 0) {
    w->SetF32(p + "final_logit_softcapping", static_cast<float>(c.final_logit_softcapping));
  }
  const double scalar =
      c.query_pre_attn_scalar > 0 ? c.query_pre_attn_scalar : static_cast<double>(c.head_dim);
  w->SetF32(kQueryPreAttnScalarKey, static_cast<float>(scalar));
  if (c.local_rope_theta > 0) w->SetF32(kLocalRopeBaseKey, static_cast<float>(c.local_rope_theta));
  if (c.sliding_window == 0) return Status::Ok();
  const int64_t pattern = SlidingWindowPattern(c);
  if (pattern == 0) {
    return UnimplementedError("a ", ArchitectureName(c.arch),
                              " whose sliding layers are not every layer but each n-th has no "
                              "GGUF form (llama.cpp's files name a pattern, not the layers)");
  }
  w->SetU32(kSlidingWindowPatternKey, static_cast<uint32_t>(pattern));
  return Status::Ok();
}

}  // namespace

Status AddModelConfigToGguf(const ModelConfig& c, GgufWriter* w) {
  if (c.arch == Architecture::kOlmo3) {
    ModelConfig olmo3 = c;
    ReadOlmo3Window(&olmo3);  // what llama.cpp reads back
    if (c.sliding_window == 0 || olmo3.sliding_layers != c.sliding_layers ||
        c.rope_scaling.type != "default" || c.local_rope_theta != c.rope_theta) {
      return UnimplementedError(
          "an olmo3 has a GGUF form (llama.cpp's olmo2 with a window) only with a window in three "
          "layers of four and one unscaled RoPE: llama.cpp's file names no more, and it scales "
          "the sliding layers' RoPE too");
    }
  }
  if (c.sliding_window > 0 && c.arch != Architecture::kMistral && c.arch != Architecture::kPhi3 &&
      c.arch != Architecture::kMixtral && !c.gemma2_or_3() && c.arch != Architecture::kOlmo3 &&
      c.arch != Architecture::kGptOss) {
    return UnimplementedError("a ", ArchitectureName(c.arch),
                              " model with sliding-window layers has no GGUF form here (llama.cpp "
                              "reads a window only for other architectures)");
  }
  const Activation file_activation = c.gemma() ? Activation::kGeluTanh : Activation::kSilu;
  if (c.activation != file_activation) {
    return UnimplementedError("a ", ArchitectureName(c.arch), " with a ",
                              ActivationName(c.activation),
                              " FFN has no GGUF form (llama.cpp's file names no activation: this "
                              "architecture's is ",
                              ActivationName(file_activation), ")");
  }
  if (c.nope_layers != SmolLM3NopeLayers(c)) {
    return UnimplementedError(
        "a smollm3 whose NoPE layers are not every 4th has no GGUF form "
        "(llama.cpp's files name none: every 4th layer is NoPE)");
  }
  const std::string arch = GgufArchitecture(c);
  const std::string p = arch + ".";
  w->SetString("general.architecture", arch);
  w->SetU32(p + "vocab_size", static_cast<uint32_t>(c.vocab_size));
  w->SetU32(p + "context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w->SetU32(p + "embedding_length", static_cast<uint32_t>(c.hidden_size));
  w->SetU32(p + "block_count", static_cast<uint32_t>(c.num_layers));
  w->SetU32(p + "feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w->SetU32(p + "attention.head_count", static_cast<uint32_t>(c.n_q_heads));
  if (c.arch == Architecture::kSigma) {
    w->SetU32(p + "attention.key_head_count", static_cast<uint32_t>(c.n_k_heads));
    w->SetU32(p + "attention.value_head_count", static_cast<uint32_t>(c.n_v_heads));
    w->SetU32(p + "aug_q_intermediate_size", static_cast<uint32_t>(c.aug_q_intermediate_size));
  } else {
    w->SetU32(p + "attention.head_count_kv", static_cast<uint32_t>(c.n_k_heads));
  }
  w->SetU32(p + "attention.key_length", static_cast<uint32_t>(c.head_dim));
  w->SetU32(p + "attention.value_length", static_cast<uint32_t>(c.head_dim));
  w->SetU32(p + "rope.dimension_count", static_cast<uint32_t>(c.rotary_dim()));
  w->SetF32(p + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w->SetF32(p + "rope.freq_base", static_cast<float>(c.rope_theta));
  if (c.rope_scaling.type == "linear") {
    w->SetString(p + "rope.scaling.type", "linear");
    w->SetF32(p + "rope.scaling.factor", static_cast<float>(c.rope_scaling.factor));
  }
  if (c.rope_scaling.type == "yarn") {
    const RopeScaling& s = c.rope_scaling;
    if (s.beta_fast != 32 || s.beta_slow != 1 || s.attention_factor != 0 || s.mscale != 0 ||
        s.mscale_all_dim != 0 || (!s.truncate && c.arch != Architecture::kGptOss)) {
      return UnimplementedError(
          "yarn rope scaling with beta_fast / beta_slow other than 32 / 1, an attention_factor, "
          "mscale or truncate false (but in a gpt_oss) has no GGUF form here (llama.cpp's file "
          "names the factor and the original context only)");
    }
    w->SetString(p + "rope.scaling.type", "yarn");
    w->SetF32(p + "rope.scaling.factor", static_cast<float>(c.RopeScalingFactor()));
    w->SetU32(p + "rope.scaling.original_context_length",
              static_cast<uint32_t>(s.original_max_position_embeddings));
  }
  if (c.sliding_window > 0) {
    w->SetU32(p + "attention.sliding_window", static_cast<uint32_t>(c.sliding_window));
  }
  if (c.gemma2_or_3()) SIGMA_RETURN_IF_ERROR(AddGemmaKeys(c, p, w));
  SIGMA_RETURN_IF_ERROR(AddGgufExpertKeys(c, p, w));
  SIGMA_RETURN_IF_ERROR(AddGgufGptOssKeys(c, w));
  if (c.granite()) {
    w->SetF32(p + "embedding_scale", static_cast<float>(c.embedding_multiplier));
    w->SetF32(p + "attention.scale", c.AttentionScale());
    w->SetF32(p + "residual_scale", static_cast<float>(c.residual_multiplier));
    w->SetF32(p + "logit_scale", static_cast<float>(c.logits_scaling));
  }
  if (c.rope_scaling.type == "llama3") {
    const RopeScaling& s = c.rope_scaling;
    w->SetF32(StrCat(kLlama3KeyPrefix, "factor"), static_cast<float>(s.factor));
    w->SetF32(StrCat(kLlama3KeyPrefix, "low_freq_factor"), static_cast<float>(s.low_freq_factor));
    w->SetF32(StrCat(kLlama3KeyPrefix, "high_freq_factor"), static_cast<float>(s.high_freq_factor));
    w->SetU32(StrCat(kLlama3KeyPrefix, "original_context_length"),
              static_cast<uint32_t>(s.original_max_position_embeddings));
  }
  if (c.bos_token_id >= 0) {
    w->SetU32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_token_id));
  }
  if (!c.eos_token_ids.empty()) {
    w->SetU32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_ids[0]));
  }
  if (c.eos_token_ids.size() > 1) {
    w->SetU32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(c.eos_token_ids[1]));
  }
  if (c.rope_scaling.type == "longrope") {  // as llama.cpp's converter writes Phi-3's
    w->SetF32(p + "rope.scaling.attn_factor", static_cast<float>(c.RopeAttentionFactor()));
    w->SetU32(p + "rope.scaling.original_context_length",
              static_cast<uint32_t>(c.rope_scaling.original_max_position_embeddings));
    for (const auto& [name, values] :
         {std::pair{"rope_factors_long.weight", &c.rope_scaling.long_factor},
          std::pair{"rope_factors_short.weight", &c.rope_scaling.short_factor}}) {
      const std::vector<float> f32(values->begin(), values->end());
      SIGMA_RETURN_IF_ERROR(w->AddTensor(
          name, DType::kF32, {static_cast<int64_t>(f32.size())},
          std::string_view(reinterpret_cast<const char*>(f32.data()), f32.size() * sizeof(float))));
    }
  }
  const std::vector<float> factors = c.RopeFreqFactors();
  if (factors.empty()) return Status::Ok();
  return w->AddTensor("rope_freqs.weight", DType::kF32, {static_cast<int64_t>(factors.size())},
                      std::string_view(reinterpret_cast<const char*>(factors.data()),
                                       factors.size() * sizeof(float)));
}

std::string GgufTensorNameOf(const ModelConfig& config, const std::string& hf_name) {
  std::string stacked;
  int64_t expert = 0;
  if (ParseHfExpertName(config, hf_name, &stacked, &expert)) return stacked;
  return HfToGgufTensorName(hf_name, GgufNamesOf(config));
}

Status AddHfTensorToGguf(const ModelConfig& config, const TensorView& view, GgufWriter* writer) {
  const std::string_view data(static_cast<const char*>(view.data), view.nbytes);
  std::string stacked;
  int64_t expert = 0;
  if (ParseHfExpertName(config, view.name, &stacked, &expert)) {
    return writer->AddTensorSlice(stacked, view.dtype, view.shape, expert, data);
  }
  const std::string name = HfToGgufTensorName(view.name, GgufNamesOf(config));
  if (name.ends_with(".ffn_gate_inp_shexp.weight")) {  // llama.cpp's form: [hidden]
    return writer->AddTensor(name, view.dtype, {view.cols()}, data);
  }
  std::span<const uint8_t> bytes(static_cast<const uint8_t*>(view.data), view.nbytes);
  std::vector<uint8_t> copy;
  const int kind = IsPermuted(config) ? QkKind(view.name) : 0;
  if (kind != 0) {
    const int64_t heads = kind == 1 ? config.n_q_heads : config.n_k_heads;
    Status s = PermuteQkRows(bytes, PermRows(view), RowBytes(view), heads, true, &copy);
    if (!s.ok()) return s.WithContext(StrCat("tensor '", view.name, "'"));
    bytes = copy;
  }
  return writer->AddTensor(
      name, view.dtype, view.shape,
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace sigma
