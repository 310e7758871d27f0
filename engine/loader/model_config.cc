#include "engine/loader/model_config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <tuple>

#include "engine/base/json.h"
#include "engine/loader/moe_config.h"

namespace sigma {
namespace {

// Upper bounds that keep every product of two sizes (vocab * hidden, ...) far from int64 overflow.
constexpr int64_t kMaxDim = int64_t{1} << 26;
constexpr int64_t kMaxLayers = 4096;

constexpr double kPi = 3.14159265358979323846;

struct ArchInfo {
  Architecture arch;
  const char* model_type;
  const char* class_name;
};

constexpr ArchInfo kArchs[] = {
    {Architecture::kLlama, "llama", "LlamaForCausalLM"},
    {Architecture::kQwen2, "qwen2", "Qwen2ForCausalLM"},
    {Architecture::kQwen3, "qwen3", "Qwen3ForCausalLM"},
    {Architecture::kMistral, "mistral", "MistralForCausalLM"},
    {Architecture::kPhi3, "phi3", "Phi3ForCausalLM"},
    {Architecture::kGemma, "gemma", "GemmaForCausalLM"},
    {Architecture::kGemma2, "gemma2", "Gemma2ForCausalLM"},
    {Architecture::kGemma3, "gemma3_text", "Gemma3ForCausalLM"},
    {Architecture::kGranite, "granite", "GraniteForCausalLM"},
    {Architecture::kSmolLM3, "smollm3", "SmolLM3ForCausalLM"},
    {Architecture::kOlmo2, "olmo2", "Olmo2ForCausalLM"},
    {Architecture::kOlmo3, "olmo3", "Olmo3ForCausalLM"},
    {Architecture::kMixtral, "mixtral", "MixtralForCausalLM"},
    {Architecture::kQwen2Moe, "qwen2_moe", "Qwen2MoeForCausalLM"},
    {Architecture::kQwen3Moe, "qwen3_moe", "Qwen3MoeForCausalLM"},
    {Architecture::kOlmoe, "olmoe", "OlmoeForCausalLM"},
    {Architecture::kGraniteMoe, "granitemoe", "GraniteMoeForCausalLM"},
    {Architecture::kGptOss, "gpt_oss", "GptOssForCausalLM"},
    {Architecture::kSigma, "sigma", "SigmaForCausalLM"},
};

const ArchInfo& InfoOf(Architecture arch) {
  for (const ArchInfo& info : kArchs) {
    if (info.arch == arch) return info;
  }
  SIGMA_CHECK(false, "unknown Architecture value ", static_cast<int>(arch));
  return kArchs[0];
}

// model_type when present, else the first entry of "architectures".
Status ReadArchitecture(JsonFields& fields, Architecture* arch) {
  std::string model_type;
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("model_type", &model_type));
  std::vector<std::string> classes;
  SIGMA_RETURN_IF_ERROR(fields.OptionalStringArray("architectures", &classes));
  for (const ArchInfo& info : kArchs) {
    if (!model_type.empty() ? model_type == info.model_type
                            : (!classes.empty() && classes[0] == info.class_name)) {
      *arch = info.arch;
      return Status::Ok();
    }
  }
  if (model_type.empty() && classes.empty()) {
    return InvalidArgumentError(fields.context(),
                                ": missing 'model_type' (and no 'architectures' to infer it from)");
  }
  if (model_type == "gemma3") {  // ReadConfig reads its text_config where it has one
    return UnimplementedError(fields.context(),
                              ": model_type gemma3 (Gemma 3 with its vision tower) without a "
                              "text_config object: the engine reads a Gemma 3's language model");
  }
  std::string supported;
  for (const ArchInfo& info : kArchs)
    supported += (supported.empty() ? "" : ", ") + std::string(info.model_type);
  return UnimplementedError(fields.context(), ": unsupported model_type '",
                            model_type.empty() ? classes[0] : model_type,
                            "' (supported: ", supported, ")");
}

// partial_rotary_factor (top level, or in rope_parameters): RoPE on a share of each head's
// dimensions, which Phi-3's attention does (Phi-4-mini); another architecture's must be 1.
Status ReadPartialRotary(JsonFields& fields, ModelConfig* config) {
  double share = config->partial_rotary_factor;
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("partial_rotary_factor", &share));
  if (share != 1.0 && config->arch != Architecture::kPhi3) {
    return UnimplementedError(fields.context(), ": partial_rotary_factor ", share,
                              " (RoPE on part of each head) is supported for model_type phi3 only");
  }
  config->partial_rotary_factor = share;
  return Status::Ok();
}

// A JSON array of numbers into *out (absent or null: left alone).
Status ReadDoubles(JsonFields& fields, const char* key, std::vector<double>* out) {
  const rapidjson::Value* v = fields.Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsArray()) return fields.TypeError(key, "an array of numbers", *v);
  out->clear();
  for (const rapidjson::Value& x : v->GetArray()) {
    if (!x.IsNumber()) return fields.TypeError(key, "an array of numbers", x);
    out->push_back(x.GetDouble());
  }
  return Status::Ok();
}

// The scaling fields shared by transformers 4 rope_scaling and transformers 5 rope_parameters.
Status ReadRopeScalingFields(JsonFields& fields, ModelConfig* config) {
  RopeScaling* scaling = &config->rope_scaling;
  SIGMA_RETURN_IF_ERROR(ReadPartialRotary(fields, config));
  SIGMA_RETURN_IF_ERROR(ReadDoubles(fields, "short_factor", &scaling->short_factor));
  SIGMA_RETURN_IF_ERROR(ReadDoubles(fields, "long_factor", &scaling->long_factor));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("attention_factor", &scaling->attention_factor));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("beta_fast", &scaling->beta_fast));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("beta_slow", &scaling->beta_slow));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("mscale", &scaling->mscale));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("mscale_all_dim", &scaling->mscale_all_dim));
  SIGMA_RETURN_IF_ERROR(fields.OptionalBool("truncate", &scaling->truncate));
  std::string type;
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("rope_type", &type));
  if (type.empty()) SIGMA_RETURN_IF_ERROR(fields.OptionalString("type", &type));
  if (!type.empty()) scaling->type = type;
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("factor", &scaling->factor));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("low_freq_factor", &scaling->low_freq_factor));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("high_freq_factor", &scaling->high_freq_factor));
  return fields.OptionalInt("original_max_position_embeddings",
                            &scaling->original_max_position_embeddings);
}

// Gemma 3's and OLMo 3's two RoPEs: rope_theta (Gemma 3's default 1e6, OLMo 3's 5e5) and
// rope_scaling for the full-attention layers; for the sliding ones an unscaled RoPE with base
// rope_local_base_freq (Gemma 3, default 1e4) or rope_theta (OLMo 3); in transformers 5's form,
// rope_parameters holds one dict for each ("full_attention", "sliding_attention").
Status ReadRopeByLayerType(JsonFields& fields, ModelConfig* config) {
  const bool gemma3 = config->arch == Architecture::kGemma3;
  config->rope_theta = gemma3 ? 1e6 : 5e5;
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("rope_theta", &config->rope_theta));
  config->local_rope_theta = gemma3 ? 1e4 : config->rope_theta;
  if (gemma3) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("rope_local_base_freq", &config->local_rope_theta));
  }
  // yarn's original context where its dict names none, and its factor where not given (0).
  config->rope_scaling.original_max_position_embeddings = config->max_position_embeddings;
  bool factor_given = false;
  const auto read_scaling = [&](JsonFields& sub) {
    factor_given = factor_given || sub.Has("factor");
    return ReadRopeScalingFields(sub, config);
  };
  const auto derive_yarn_factor = [&] {
    if (config->rope_scaling.type == "yarn" && !factor_given) config->rope_scaling.factor = 0;
    return Status::Ok();
  };
  if (const rapidjson::Value* v = fields.Find("rope_scaling"); v != nullptr) {
    if (!v->IsObject()) return fields.TypeError("rope_scaling", "an object or null", *v);
    JsonFields sub(*v, StrCat(fields.context(), ": rope_scaling"));
    SIGMA_RETURN_IF_ERROR(read_scaling(sub));
  }
  const rapidjson::Value* params = fields.Find("rope_parameters");
  if (params == nullptr) return derive_yarn_factor();
  if (!params->IsObject()) return fields.TypeError("rope_parameters", "an object or null", *params);
  JsonFields by_type(*params, StrCat(fields.context(), ": rope_parameters"));
  if (!by_type.Present("full_attention") && !by_type.Present("sliding_attention")) {
    SIGMA_RETURN_IF_ERROR(by_type.OptionalDouble("rope_theta", &config->rope_theta));
    SIGMA_RETURN_IF_ERROR(read_scaling(by_type));
    return derive_yarn_factor();
  }
  if (const rapidjson::Value* full = by_type.Find("full_attention"); full != nullptr) {
    if (!full->IsObject()) return by_type.TypeError("full_attention", "an object", *full);
    JsonFields sub(*full, StrCat(by_type.context(), ".full_attention"));
    SIGMA_RETURN_IF_ERROR(sub.OptionalDouble("rope_theta", &config->rope_theta));
    SIGMA_RETURN_IF_ERROR(read_scaling(sub));
  }
  if (const rapidjson::Value* local = by_type.Find("sliding_attention"); local != nullptr) {
    if (!local->IsObject()) return by_type.TypeError("sliding_attention", "an object", *local);
    JsonFields sub(*local, StrCat(by_type.context(), ".sliding_attention"));
    SIGMA_RETURN_IF_ERROR(sub.OptionalDouble("rope_theta", &config->local_rope_theta));
    std::string type = "default";
    SIGMA_RETURN_IF_ERROR(sub.OptionalString("rope_type", &type));
    if (type != "default") {
      return UnimplementedError(sub.context(), ": rope_type '", type,
                                "' (the sliding layers' RoPE is read unscaled only)");
    }
  }
  return derive_yarn_factor();
}

Status ReadRope(JsonFields& fields, ModelConfig* config) {
  if (config->arch == Architecture::kGemma3 || config->arch == Architecture::kOlmo3) {
    return ReadRopeByLayerType(fields, config);
  }
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("rope_theta", &config->rope_theta));
  SIGMA_RETURN_IF_ERROR(ReadPartialRotary(fields, config));
  if (config->arch == Architecture::kGptOss && !fields.Has("rope_scaling") &&
      !fields.Has("rope_parameters")) {
    return Status::Ok();  // GptOssConfig's YaRN (SetGptOssDefaults)
  }
  if (config->arch == Architecture::kGptOss) config->rope_scaling = RopeScaling{};  // as given
  // longrope's original context: in the rope dict (transformers 5), else at the top level (Phi-3's
  // configs; Phi3Config's default 4096), else max_position_embeddings.
  int64_t original = config->arch == Architecture::kPhi3 ? 4096 : config->max_position_embeddings;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("original_max_position_embeddings", &original));
  bool original_in_dict = false, factor_in_dict = false;
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    const rapidjson::Value* value = fields.Find(key);
    if (value == nullptr) continue;
    if (!value->IsObject()) return fields.TypeError(key, "an object or null", *value);
    JsonFields sub(*value, StrCat(fields.context(), ": ", key));
    if (std::string_view(key) == "rope_parameters") {
      SIGMA_RETURN_IF_ERROR(sub.OptionalDouble("rope_theta", &config->rope_theta));
    }
    original_in_dict = original_in_dict || sub.Has("original_max_position_embeddings");
    factor_in_dict = factor_in_dict || sub.Has("factor");
    SIGMA_RETURN_IF_ERROR(ReadRopeScalingFields(sub, config));
  }
  RopeScaling& s = config->rope_scaling;
  // Phi-3's older names of longrope, as transformers' Phi3Config maps them.
  if (config->arch == Architecture::kPhi3 && (s.type == "su" || s.type == "yarn")) {
    s.type = "longrope";
  }
  if (s.type != "longrope" && s.type != "yarn") return Status::Ok();
  // yarn: the top-level key has priority, as transformers gives it.
  if (!original_in_dict || (s.type == "yarn" && fields.Has("original_max_position_embeddings"))) {
    s.original_max_position_embeddings = original;
  }
  if (!factor_in_dict) s.factor = 0;  // derived: max_position_embeddings / original
  return Status::Ok();
}

// A size config.json must give, except where the model_type's config class has a default for it
// (Gemma3TextConfig has one for each: Gemma 3's checkpoints leave them out).
Status ReadSize(JsonFields& fields, const char* key, const ModelConfig& config,
                int64_t gemma3_default, int64_t* out) {
  if (config.arch != Architecture::kGemma3) return fields.RequireInt(key, out);
  *out = gemma3_default;
  return fields.OptionalInt(key, out);
}

// Head counts: Sigma has separate K and V counts; Llama-family configs one KV count.
Status ReadHeads(JsonFields& fields, ModelConfig* config) {
  SIGMA_RETURN_IF_ERROR(ReadSize(fields, "num_attention_heads", *config, 8, &config->n_q_heads));
  int64_t n_kv = config->arch == Architecture::kGemma3 ? 4 : config->n_q_heads;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_key_value_heads", &n_kv));
  config->n_k_heads = n_kv;
  config->n_v_heads = n_kv;
  if (config->arch == Architecture::kSigma) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_key_heads", &config->n_k_heads));
    SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_value_heads", &config->n_v_heads));
    SIGMA_RETURN_IF_ERROR(
        fields.OptionalInt("aug_q_intermediate_size", &config->aug_q_intermediate_size));
  }
  // Absent or null: hidden_size / num_attention_heads (Qwen3's: 128, Gemma's: 256, as transformers'
  // configs have it). A given 0 is not "absent": Validate refuses it.
  const bool head_dim_given = fields.Has("head_dim");
  config->head_dim = 0;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("head_dim", &config->head_dim));
  if (!head_dim_given && config->arch == Architecture::kQwen3) {
    config->head_dim = 128;
  } else if (!head_dim_given && config->gemma()) {
    config->head_dim = 256;  // GemmaConfig's, Gemma2Config's and Gemma3TextConfig's default
  } else if (!head_dim_given && config->n_q_heads > 0) {
    if (config->hidden_size % config->n_q_heads != 0) {
      return InvalidArgumentError(fields.context(), ": hidden_size (", config->hidden_size,
                                  ") is not divisible by num_attention_heads (", config->n_q_heads,
                                  ") and no head_dim is given");
    }
    config->head_dim = config->hidden_size / config->n_q_heads;
  }
  return Status::Ok();
}

// eos_token_id: integer, list of integers, or null (*ids left alone).
Status ReadEosIds(JsonFields& fields, std::vector<int64_t>* ids) {
  const rapidjson::Value* eos = fields.Find("eos_token_id");
  if (eos != nullptr && eos->IsArray()) return fields.OptionalIntArray("eos_token_id", ids);
  if (eos != nullptr) {
    int64_t id = -1;
    Status status = fields.OptionalInt("eos_token_id", &id);
    if (!status.ok()) return fields.TypeError("eos_token_id", "an integer or a list", *eos);
    *ids = {id};
  }
  return Status::Ok();
}

// bos_token_id: integer or null; eos_token_id as ReadEosIds.
Status ReadSpecialTokens(JsonFields& fields, ModelConfig* config) {
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("bos_token_id", &config->bos_token_id));
  return ReadEosIds(fields, &config->eos_token_ids);
}

// The FFN's activation: hidden_act, or Gemma 2's and 3's hidden_activation (transformers reads
// no hidden_act for those); Gemma's "gelu" is the tanh approximation, as GemmaConfig maps it. A
// GELU only in the Gemma family, whose models are checked with it.
Status ReadActivation(JsonFields& fields, ModelConfig* config) {
  const char* key = config->gemma2_or_3() ? "hidden_activation" : "hidden_act";
  std::string name = config->gemma() ? "gelu_pytorch_tanh" : "silu";
  SIGMA_RETURN_IF_ERROR(fields.OptionalString(key, &name));
  if (name == "silu" || name == "swish") {
    config->activation = Activation::kSilu;
  } else if (!config->gemma()) {
    return UnimplementedError(fields.context(), ": ", key, " '", name, "' (only silu)");
  } else if (name == "gelu_pytorch_tanh" || name == "gelu_new" ||
             (name == "gelu" && config->arch == Architecture::kGemma)) {
    config->activation = Activation::kGeluTanh;
  } else if (name == "gelu") {
    config->activation = Activation::kGelu;
  } else {
    return UnimplementedError(fields.context(), ": ", key, " '", name,
                              "' (supported: gelu_pytorch_tanh, gelu_new, gelu, silu)");
  }
  return Status::Ok();
}

// A number or null (0) at `key`; absent: `absent`.
Status ReadOptionalNumber(JsonFields& fields, const char* key, double absent, double* out) {
  *out = fields.Present(key) ? 0 : absent;
  return fields.OptionalDouble(key, out);
}

// Gemma 2's and 3's attention scale and soft-capping, with their configs' defaults (the scalar
// 256; Gemma 2's caps 50 for scores and 30 for logits, Gemma 3's none).
Status ReadGemmaAttention(JsonFields& fields, ModelConfig* config) {
  if (!config->gemma2_or_3()) return Status::Ok();
  const bool gemma2 = config->arch == Architecture::kGemma2;
  SIGMA_RETURN_IF_ERROR(
      ReadOptionalNumber(fields, "query_pre_attn_scalar", 256, &config->query_pre_attn_scalar));
  SIGMA_RETURN_IF_ERROR(ReadOptionalNumber(fields, "attn_logit_softcapping", gemma2 ? 50 : 0,
                                           &config->attn_logit_softcapping));
  SIGMA_RETURN_IF_ERROR(ReadOptionalNumber(fields, "final_logit_softcapping", gemma2 ? 30 : 0,
                                           &config->final_logit_softcapping));
  bool bidirectional = false;
  SIGMA_RETURN_IF_ERROR(fields.OptionalBool("use_bidirectional_attention", &bidirectional));
  if (bidirectional) {
    return UnimplementedError(fields.context(),
                              ": use_bidirectional_attention true (an embedding model's "
                              "attention) is not supported");
  }
  return Status::Ok();
}

// Granite's four scalars (GraniteConfig's defaults: 1).
Status ReadGraniteMultipliers(JsonFields& fields, ModelConfig* config) {
  if (!config->granite()) return Status::Ok();
  config->attention_multiplier = 1.0;
  SIGMA_RETURN_IF_ERROR(
      fields.OptionalDouble("embedding_multiplier", &config->embedding_multiplier));
  SIGMA_RETURN_IF_ERROR(
      fields.OptionalDouble("attention_multiplier", &config->attention_multiplier));
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("residual_multiplier", &config->residual_multiplier));
  return fields.OptionalDouble("logits_scaling", &config->logits_scaling);
}

// SmolLM3's no_rope_layers (1 = the layer rotates, 0 = NoPE), else every
// no_rope_layer_interval-th layer NoPE (SmolLM3Config's default 4).
Status ReadNopeLayers(JsonFields& fields, ModelConfig* config) {
  if (config->arch != Architecture::kSmolLM3) return Status::Ok();
  std::vector<int64_t> rope;
  SIGMA_RETURN_IF_ERROR(fields.OptionalIntArray("no_rope_layers", &rope));
  int64_t interval = 4;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("no_rope_layer_interval", &interval));
  if (rope.empty()) {
    if (interval < 1) {
      return InvalidArgumentError(fields.context(), ": no_rope_layer_interval ", interval,
                                  " (expected 1 or more)");
    }
    for (const bool rotates : AllButEveryNth(config->num_layers, interval)) {
      rope.push_back(rotates ? 1 : 0);
    }
  }
  if (static_cast<int64_t>(rope.size()) != config->num_layers) {
    return InvalidArgumentError(fields.context(), ": no_rope_layers has ", rope.size(),
                                " entries for ", config->num_layers, " layers");
  }
  std::vector<bool> nope;
  for (size_t i = 0; i < rope.size(); ++i) {  // given: 1 = RoPE, 0 = none
    if (rope[i] != 0 && rope[i] != 1) {
      return InvalidArgumentError(fields.context(), ": no_rope_layers[", i, "] is ", rope[i],
                                  " (expected 1, RoPE, or 0, none)");
    }
    nope.push_back(rope[i] == 0);
  }
  if (std::find(nope.begin(), nope.end(), true) != nope.end()) config->nope_layers = nope;
  return Status::Ok();
}

// GptOssConfig's defaults where config.json may leave a field out: RoPE base 150000 with YaRN
// (factor 32 over an original 4096 positions, beta_fast 32, beta_slow 1, not truncated), the
// clamped SwiGLU's limit 7.
void SetGptOssDefaults(ModelConfig* config) {
  config->rope_theta = 150000;
  RopeScaling& yarn = config->rope_scaling;
  yarn.type = "yarn";
  yarn.factor = 32;
  yarn.beta_fast = 32;
  yarn.beta_slow = 1;
  yarn.truncate = false;
  yarn.original_max_position_embeddings = 4096;
  config->swiglu_limit = 7;
}

// Features of HF configs that this engine does not implement: refuse rather than run wrongly.
Status RejectUnsupportedFeatures(JsonFields& fields, const ModelConfig& config) {
  bool flag = false;
  SIGMA_RETURN_IF_ERROR(fields.OptionalBool("mlp_bias", &flag));
  if (flag) return UnimplementedError(fields.context(), ": mlp_bias true is not supported");
  return Status::Ok();
}

// config.json's sliding_window where the key may be absent (`absent`), null (0) or a number.
Status ReadWindowSize(JsonFields& fields, int64_t absent, int64_t* window) {
  *window = fields.Present("sliding_window") ? 0 : absent;
  return fields.OptionalInt("sliding_window", window);
}

// Sliding-window attention as transformers reads it: Mistral's in every layer; Qwen2's and Qwen3's
// only with use_sliding_window, in the layers layer_types (transformers 5) names
// "sliding_attention", else in those from max_window_layers on (their configs' defaults: window
// 4096, from layer 28).
Status ReadSlidingWindow(JsonFields& fields, ModelConfig* config) {
  if (config->arch == Architecture::kMistral) {
    return ReadWindowSize(fields, 4096, &config->sliding_window);
  }
  if (config->arch == Architecture::kPhi3 || config->arch == Architecture::kMixtral)
    return ReadWindowSize(fields, 0, &config->sliding_window);
  if (config->arch == Architecture::kQwen3Moe) {  // every layer, with use_sliding_window
    bool use = false;
    SIGMA_RETURN_IF_ERROR(fields.OptionalBool("use_sliding_window", &use));
    int64_t window = 0;
    SIGMA_RETURN_IF_ERROR(ReadWindowSize(fields, 4096, &window));
    if (use) config->sliding_window = window;
    return Status::Ok();
  }
  const bool qwen = config->arch == Architecture::kQwen2 || config->arch == Architecture::kQwen3 ||
                    config->arch == Architecture::kQwen2Moe;
  const bool smollm3 = config->arch == Architecture::kSmolLM3;
  const bool olmo3 = config->arch == Architecture::kOlmo3;
  const bool gpt_oss = config->arch == Architecture::kGptOss;
  if (!qwen && !smollm3 && !olmo3 && !gpt_oss && !config->gemma2_or_3()) return Status::Ok();
  // Qwen's: with use_sliding_window, layers from max_window_layers on. SmolLM3's: with
  // use_sliding_window, its NoPE layers. Gemma 2's and 3's, OLMo 3's and gpt-oss's: always, every
  // layer but each pattern-th (Gemma 2 and gpt-oss: 2; Gemma 3: sliding_window_pattern, default 6;
  // OLMo 3: 4); gpt-oss's window 128 where not named.
  bool use = !qwen && !smollm3;
  int64_t window = 0;
  int64_t max_window_layers = 28;
  int64_t pattern = config->arch == Architecture::kGemma2 || gpt_oss ? 2 : olmo3 ? 4 : 6;
  std::vector<std::string> layer_types;
  if (qwen || smollm3) SIGMA_RETURN_IF_ERROR(fields.OptionalBool("use_sliding_window", &use));
  SIGMA_RETURN_IF_ERROR(ReadWindowSize(fields, smollm3 ? 0 : gpt_oss ? 128 : 4096, &window));
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("max_window_layers", &max_window_layers));
  if (config->arch == Architecture::kGemma3) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalInt("sliding_window_pattern", &pattern));
    if (pattern < 1) {
      return InvalidArgumentError(fields.context(), ": sliding_window_pattern ", pattern,
                                  " (expected 1 or more)");
    }
  }
  SIGMA_RETURN_IF_ERROR(fields.OptionalStringArray("layer_types", &layer_types));
  if (!layer_types.empty() && static_cast<int64_t>(layer_types.size()) != config->num_layers) {
    return InvalidArgumentError(fields.context(), ": layer_types has ", layer_types.size(),
                                " entries for ", config->num_layers, " layers");
  }
  std::vector<bool> sliding = AllButEveryNth(config->num_layers, pattern);
  for (size_t i = 0; i < sliding.size(); ++i) {
    if (layer_types.empty()) {
      if (qwen) sliding[i] = static_cast<int64_t>(i) >= max_window_layers;
      if (smollm3) sliding[i] = !config->RotatesLayer(static_cast<int64_t>(i));
    } else if (layer_types[i] == "sliding_attention" || layer_types[i] == "full_attention") {
      sliding[i] = layer_types[i] == "sliding_attention";
    } else {
      return InvalidArgumentError(fields.context(), ": layer_types[", i, "] '", layer_types[i],
                                  "' (expected full_attention or sliding_attention)");
    }
  }
  const auto slides = std::count(sliding.begin(), sliding.end(), true);
  if (config->arch == Architecture::kGemma3 && slides > 0 && window <= 0) {
    return InvalidArgumentError(fields.context(),
                                ": sliding_window is null but layer_types has sliding layers");
  }
  if (use) config->SetSlidingLayers(window, std::move(sliding));
  return Status::Ok();
}

Status ReadConfig(const rapidjson::Value& root, std::string_view source, ModelConfig* config,
                  bool arch_given = false);

// Gemma 3 with its vision tower (model_type gemma3, Gemma3ForConditionalGeneration): the language
// model its text_config describes (as gemma3_text, whether it says so or not), stopping also at
// the top level's eos_token_id. Its tensors are the language model's under a prefix
// (SafetensorsWeightSource::SelectLanguageModel).
Status ReadGemma3LanguageModel(JsonFields& fields, ModelConfig* config) {
  const rapidjson::Value* text = fields.Find("text_config");
  if (text == nullptr || !text->IsObject()) return Status::Ok();  // ReadArchitecture refuses
  config->arch = Architecture::kGemma3;
  SIGMA_RETURN_IF_ERROR(
      ReadConfig(*text, StrCat(fields.context(), ": text_config"), config, /*arch_given=*/true));
  std::vector<int64_t> stop;
  SIGMA_RETURN_IF_ERROR(ReadEosIds(fields, &stop));
  for (const int64_t id : stop) {
    if (std::find(config->eos_token_ids.begin(), config->eos_token_ids.end(), id) ==
        config->eos_token_ids.end()) {
      config->eos_token_ids.push_back(id);
    }
  }
  return Status::Ok();
}

// arch_given: config->arch is the caller's (a nested text_config's), not read from root.
Status ReadConfig(const rapidjson::Value& root, std::string_view source, ModelConfig* config,
                  bool arch_given) {
  if (!root.IsObject()) {
    return InvalidArgumentError(source, ": expected a JSON object, got ", JsonTypeName(root));
  }
  JsonFields fields(root, std::string(source));
  if (!arch_given) {
    std::string model_type;
    SIGMA_RETURN_IF_ERROR(fields.OptionalString("model_type", &model_type));
    if (model_type == "gemma3" && fields.Has("text_config")) {
      return ReadGemma3LanguageModel(fields, config);
    }
    SIGMA_RETURN_IF_ERROR(ReadArchitecture(fields, &config->arch));
  }
  SIGMA_RETURN_IF_ERROR(ReadSize(fields, "vocab_size", *config, 262208, &config->vocab_size));
  SIGMA_RETURN_IF_ERROR(ReadSize(fields, "hidden_size", *config, 2304, &config->hidden_size));
  SIGMA_RETURN_IF_ERROR(
      ReadSize(fields, "intermediate_size", *config, 9216, &config->intermediate_size));
  SIGMA_RETURN_IF_ERROR(ReadSize(fields, "num_hidden_layers", *config, 26, &config->num_layers));
  SIGMA_RETURN_IF_ERROR(ReadHeads(fields, config));
  SIGMA_RETURN_IF_ERROR(
      fields.OptionalInt("max_position_embeddings", &config->max_position_embeddings));
  if (config->olmo() || config->arch == Architecture::kMixtral ||
      config->arch == Architecture::kOlmoe || config->arch == Architecture::kGptOss) {
    config->rms_norm_eps = 1e-5;  // Olmo2Config's, MixtralConfig's, OlmoeConfig's, GptOssConfig's
  }
  if (config->arch == Architecture::kMixtral) config->rope_theta = 1e6;  // MixtralConfig's
  if (config->arch == Architecture::kGptOss) SetGptOssDefaults(config);
  SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("rms_norm_eps", &config->rms_norm_eps));
  SIGMA_RETURN_IF_ERROR(ReadRope(fields, config));  // after max_position_embeddings (longrope)
  // Gemma's and SmolLM3's configs' default
  config->tie_word_embeddings = config->gemma() || config->arch == Architecture::kSmolLM3;
  SIGMA_RETURN_IF_ERROR(fields.OptionalBool("tie_word_embeddings", &config->tie_word_embeddings));
  SIGMA_RETURN_IF_ERROR(ReadNopeLayers(fields, config));  // before the window: SmolLM3's default
  SIGMA_RETURN_IF_ERROR(ReadSlidingWindow(fields, config));
  SIGMA_RETURN_IF_ERROR(ReadActivation(fields, config));
  SIGMA_RETURN_IF_ERROR(ReadGemmaAttention(fields, config));
  SIGMA_RETURN_IF_ERROR(ReadGraniteMultipliers(fields, config));
  SIGMA_RETURN_IF_ERROR(ReadMoeConfig(fields, config));
  if (config->arch == Architecture::kQwen2) {
    config->qkv_bias = true;  // Qwen2 always has q/k/v biases; no flag says so.
  } else if (config->arch == Architecture::kQwen2Moe) {
    config->qkv_bias = true;  // Qwen2MoeConfig's default
    SIGMA_RETURN_IF_ERROR(fields.OptionalBool("qkv_bias", &config->qkv_bias));
  } else {
    config->qkv_bias = config->arch == Architecture::kGptOss;  // GptOssConfig's default
    SIGMA_RETURN_IF_ERROR(fields.OptionalBool("attention_bias", &config->qkv_bias));
  }
  if (config->arch == Architecture::kGptOss) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("swiglu_limit", &config->swiglu_limit));
    SIGMA_RETURN_IF_ERROR(fields.OptionalDouble("swiglu_alpha", &config->swiglu_alpha));
  }
  if (config->gemma()) {  // GemmaConfig's defaults
    config->bos_token_id = 2;
    config->eos_token_ids = {1};
  }
  SIGMA_RETURN_IF_ERROR(ReadSpecialTokens(fields, config));
  return RejectUnsupportedFeatures(fields, *config);
}

// Shortest text that parses back to the same double, always with a '.' or exponent.
void AppendDouble(double value, std::string* out) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  std::string text(buf, result.ptr);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  out->append(text);
}

class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string* out, int indent) : out_(out), indent_(indent) {
    out_->append("{");
  }
  void Key(const char* key) {
    out_->append(first_ ? "\n" : ",\n");
    first_ = false;
    out_->append(indent_ + 2, ' ');
    AppendJsonString(key, out_);
    out_->append(": ");
  }
  void Int(const char* key, int64_t v) {
    Key(key);
    out_->append(std::to_string(v));
  }
  void Double(const char* key, double v) {
    Key(key);
    AppendDouble(v, out_);
  }
  void Bool(const char* key, bool v) {
    Key(key);
    out_->append(v ? "true" : "false");
  }
  void String(const char* key, std::string_view v) {
    Key(key);
    AppendJsonString(v, out_);
  }
  void Raw(const char* key, std::string_view v) {
    Key(key);
    out_->append(v);
  }
  void Close() {
    out_->append("\n");
    out_->append(indent_, ' ');
    out_->append("}");
  }

 private:
  std::string* out_;
  int indent_;
  bool first_ = true;
};

std::string DoublesJson(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    AppendJsonDouble(values[i], &out);
  }
  return out + "]";
}

// The rope_scaling object ("null" without scaling); with `theta` (above 0) a rope_parameters dict
// of transformers 5, which names its base too (and "default" scaling).
std::string RopeScalingJson(const RopeScaling& scaling, double theta = 0) {
  if (scaling.type == "default" && theta == 0) return "null";
  std::string out;
  JsonObjectWriter w(&out, 2);
  w.String("rope_type", scaling.type);
  if (theta > 0) w.Double("rope_theta", theta);
  if (scaling.type == "default") {
    w.Close();
    return out;
  }
  if (scaling.type == "longrope") {
    w.Raw("short_factor", DoublesJson(scaling.short_factor));
    w.Raw("long_factor", DoublesJson(scaling.long_factor));
    if (scaling.attention_factor > 0) w.Double("attention_factor", scaling.attention_factor);
    if (scaling.factor > 0) w.Double("factor", scaling.factor);
    w.Close();
    return out;
  }
  w.Double("factor", scaling.factor);
  if (scaling.type == "yarn") {
    w.Int("original_max_position_embeddings", scaling.original_max_position_embeddings);
    w.Double("beta_fast", scaling.beta_fast);
    w.Double("beta_slow", scaling.beta_slow);
    if (scaling.attention_factor > 0) w.Double("attention_factor", scaling.attention_factor);
    if (scaling.mscale != 0) w.Double("mscale", scaling.mscale);
    if (scaling.mscale_all_dim != 0) w.Double("mscale_all_dim", scaling.mscale_all_dim);
    if (!scaling.truncate) w.Bool("truncate", false);
  }
  if (scaling.type == "llama3") {
    w.Double("low_freq_factor", scaling.low_freq_factor);
    w.Double("high_freq_factor", scaling.high_freq_factor);
    w.Int("original_max_position_embeddings", scaling.original_max_position_embeddings);
  }
  w.Close();
  return out;
}

Status CheckSize(const char* field, int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    return InvalidArgumentError(field, ": expected an integer in [", min, ", ", max, "], got ",
                                value);
  }
  return Status::Ok();
}

Status CheckPositive(const char* field, double value) {
  if (!std::isfinite(value) || value <= 0) {
    return InvalidArgumentError(field, ": expected a finite positive number, got ", value);
  }
  return Status::Ok();
}

// The unscaled inverse frequency of dimension pair j.
double BaseInvFreq(double theta, int64_t j, int64_t head_dim) {
  return 1.0 / std::pow(theta, static_cast<double>(2 * j) / static_cast<double>(head_dim));
}

// How much of dimension pair j yarn keeps extrapolated (unscaled): 1 below the correction
// dimension of beta_fast rotations, 0 above that of beta_slow, a linear ramp between.
double YarnExtrapolated(const RopeScaling& s, double theta, int64_t dim, int64_t j) {
  const auto correction_dim = [&](double rotations) {
    return static_cast<double>(dim) *
           std::log(static_cast<double>(s.original_max_position_embeddings) /
                    (rotations * 2.0 * kPi)) /
           (2.0 * std::log(theta));
  };
  double low = correction_dim(s.beta_fast);
  double high = correction_dim(s.beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // as transformers: no zero-width ramp
  const double ramp = std::clamp((static_cast<double>(j) - low) / (high - low), 0.0, 1.0);
  return 1.0 - ramp;
}

// How much of inverse frequency `inv` llama3 scaling keeps unscaled: 1 for wavelengths under
// original_max_position_embeddings / high_freq_factor, 0 for those over
// original_max_position_embeddings / low_freq_factor, the smoothing weight between.
double Llama3Kept(const RopeScaling& s, double inv) {
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double wavelen = 2.0 * kPi / inv;
  if (wavelen > old_len / s.low_freq_factor) return 0.0;
  if (wavelen < old_len / s.high_freq_factor) return 1.0;
  return (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
}

Status ValidateRopeFreqFactors(const std::vector<float>& factors, const RopeScaling& scaling,
                               int64_t head_dim) {
  if (factors.empty()) return Status::Ok();
  if (static_cast<int64_t>(factors.size()) != head_dim / 2) {
    return InvalidArgumentError("rope_freq_factors: ", factors.size(), " values for head_dim ",
                                head_dim, " (expected ", head_dim / 2, ")");
  }
  for (size_t j = 0; j < factors.size(); ++j) {
    if (!std::isfinite(factors[j]) || factors[j] <= 0.0f) {
      return InvalidArgumentError("rope_freq_factors[", j, "] = ", factors[j],
                                  " (expected a finite value above 0)");
    }
  }
  if (scaling.type == "linear") {
    return InvalidArgumentError("rope_freq_factors: not with linear rope_scaling");
  }
  return Status::Ok();
}

}  // namespace

Status RopeScaling::Validate() const {
  if (type == "default") return Status::Ok();
  if (type != "linear" && type != "llama3" && type != "longrope" && type != "yarn") {
    return InvalidArgumentError("rope_scaling.rope_type: unsupported '", type,
                                "' (supported: default, linear, llama3, longrope, yarn)");
  }
  if (type == "yarn") {
    if (factor != 0) SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.factor", factor));
    SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.beta_fast", beta_fast));
    SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.beta_slow", beta_slow));
    if (attention_factor != 0) {
      SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.attention_factor", attention_factor));
    }
    return CheckSize("rope_scaling.original_max_position_embeddings",
                     original_max_position_embeddings, 1, kMaxDim);
  }
  if (type == "longrope") {
    for (const auto* factors : {&short_factor, &long_factor}) {
      for (const double f : *factors) {
        SIGMA_RETURN_IF_ERROR(CheckPositive(
            factors == &short_factor ? "rope_scaling.short_factor" : "rope_scaling.long_factor",
            f));
      }
    }
    if (attention_factor != 0) {
      SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.attention_factor", attention_factor));
    }
    if (factor != 0) SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.factor", factor));
    return CheckSize("original_max_position_embeddings", original_max_position_embeddings, 1,
                     kMaxDim);
  }
  SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.factor", factor));
  if (type != "llama3") return Status::Ok();
  SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.low_freq_factor", low_freq_factor));
  SIGMA_RETURN_IF_ERROR(CheckPositive("rope_scaling.high_freq_factor", high_freq_factor));
  if (high_freq_factor <= low_freq_factor) {
    return InvalidArgumentError("rope_scaling.high_freq_factor (", high_freq_factor,
                                ") must exceed low_freq_factor (", low_freq_factor, ")");
  }
  return CheckSize("rope_scaling.original_max_position_embeddings",
                   original_max_position_embeddings, 1, kMaxDim);
}

namespace {

// The fields of one family or a few (Gemma 2 / 3's, Granite's, SmolLM3's, a local RoPE): positive
// where set, and set only for the models that have them.
Status ValidateFamilyFields(const ModelConfig& c) {
  for (const auto& [field, value] :
       {std::pair{"query_pre_attn_scalar", c.query_pre_attn_scalar},
        std::pair{"attn_logit_softcapping", c.attn_logit_softcapping},
        std::pair{"final_logit_softcapping", c.final_logit_softcapping}}) {
    if (value == 0) continue;
    SIGMA_RETURN_IF_ERROR(CheckPositive(field, value));
    if (!c.gemma2_or_3()) {
      return InvalidArgumentError(field, ": only model_types gemma2 and gemma3_text have one");
    }
  }
  if (c.arch == Architecture::kGptOss) {
    SIGMA_RETURN_IF_ERROR(CheckPositive("swiglu_limit", c.swiglu_limit));
    SIGMA_RETURN_IF_ERROR(CheckPositive("swiglu_alpha", c.swiglu_alpha));
  } else if (c.swiglu_limit != 0) {
    return InvalidArgumentError("swiglu_limit: only model_type gpt_oss has a clamped SwiGLU");
  }
  if (c.activation != Activation::kSilu && !c.gemma()) {
    return InvalidArgumentError("hidden_act: ", ActivationName(c.activation),
                                " only in the Gemma family here");
  }
  for (const auto& [field, value, unset] :
       {std::tuple{"embedding_multiplier", c.embedding_multiplier, 1.0},
        std::tuple{"attention_multiplier", c.attention_multiplier, 0.0},
        std::tuple{"residual_multiplier", c.residual_multiplier, 1.0},
        std::tuple{"logits_scaling", c.logits_scaling, 1.0}}) {
    if (value == unset) continue;
    SIGMA_RETURN_IF_ERROR(CheckPositive(field, value));
    if (!c.granite()) {
      return InvalidArgumentError(field, ": only model_types granite and granitemoe have one");
    }
  }
  if (!c.nope_layers.empty() && (c.arch != Architecture::kSmolLM3 ||
                                 static_cast<int64_t>(c.nope_layers.size()) != c.num_layers)) {
    return InvalidArgumentError("no_rope_layers: ", c.nope_layers.size(), " entries for ",
                                c.num_layers, " layers of a ", ArchitectureName(c.arch),
                                " (only model_type smollm3 has NoPE layers)");
  }
  if (c.local_rope_theta != 0) {
    SIGMA_RETURN_IF_ERROR(CheckPositive("rope_local_base_freq", c.local_rope_theta));
  }
  if (c.local_rope_theta != 0 && c.arch != Architecture::kGemma3 &&
      c.arch != Architecture::kOlmo3) {
    return InvalidArgumentError(
        "rope_local_base_freq: only model_types gemma3_text and olmo3 have a RoPE of their own in "
        "the sliding layers");
  }
  if (c.local_rope_theta != 0 && c.local_rope_theta <= 1.0) {
    return InvalidArgumentError("rope_local_base_freq: must exceed 1, got ", c.local_rope_theta);
  }
  return Status::Ok();
}

}  // namespace

std::string_view ArchitectureName(Architecture arch) { return InfoOf(arch).model_type; }

Status ModelConfig::Validate() const {
  const bool sigma = arch == Architecture::kSigma;
  const char* k_field = sigma ? "num_key_heads" : "num_key_value_heads";
  const char* v_field = sigma ? "num_value_heads" : "num_key_value_heads";
  SIGMA_RETURN_IF_ERROR(CheckSize("vocab_size", vocab_size, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("hidden_size", hidden_size, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("intermediate_size", intermediate_size, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("num_hidden_layers", num_layers, 1, kMaxLayers));
  SIGMA_RETURN_IF_ERROR(CheckSize("num_attention_heads", n_q_heads, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize(k_field, n_k_heads, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize(v_field, n_v_heads, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("head_dim", head_dim, 2, 1 << 16));
  SIGMA_RETURN_IF_ERROR(CheckSize("aug_q_intermediate_size", aug_q_intermediate_size, 0, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("max_position_embeddings", max_position_embeddings, 1, kMaxDim));
  SIGMA_RETURN_IF_ERROR(CheckSize("sliding_window", sliding_window, 0, kMaxDim));
  if (sliding_window > 0 && arch != Architecture::kMistral && arch != Architecture::kQwen2 &&
      arch != Architecture::kQwen3 && arch != Architecture::kPhi3 && !gemma2_or_3() &&
      arch != Architecture::kSmolLM3 && arch != Architecture::kOlmo3 &&
      arch != Architecture::kMixtral && arch != Architecture::kQwen2Moe &&
      arch != Architecture::kQwen3Moe && arch != Architecture::kGptOss) {
    return InvalidArgumentError(
        "sliding_window: only model_types mistral, phi3, qwen2, qwen3, gemma2, gemma3_text, "
        "smollm3, olmo3, mixtral, qwen2_moe, qwen3_moe and gpt_oss have one here");
  }
  SIGMA_RETURN_IF_ERROR(ValidateFamilyFields(*this));
  SIGMA_RETURN_IF_ERROR(ValidateMoeConfig(*this));
  if (!sliding_layers.empty() &&
      (sliding_window == 0 || static_cast<int64_t>(sliding_layers.size()) != num_layers)) {
    return InvalidArgumentError("sliding layers: ", sliding_layers.size(), " for ", num_layers,
                                " layers with sliding_window ", sliding_window);
  }
  if (head_dim % 2 != 0) return InvalidArgumentError("head_dim: must be even, got ", head_dim);
  if (!(partial_rotary_factor > 0 && partial_rotary_factor <= 1) || rotary_dim() < 2 ||
      rotary_dim() % 2 != 0) {
    return InvalidArgumentError("partial_rotary_factor ", partial_rotary_factor, ": head_dim ",
                                head_dim, " x it must be an even number of dimensions, at least 2");
  }
  if (rope_scaling.type == "longrope" &&
      (rope_scaling.short_factor.size() != static_cast<size_t>(rotary_dim() / 2) ||
       rope_scaling.long_factor.size() != static_cast<size_t>(rotary_dim() / 2))) {
    return InvalidArgumentError("rope_scaling: longrope needs ", rotary_dim() / 2,
                                " short_factor and long_factor entries (one a frequency), got ",
                                rope_scaling.short_factor.size(), " and ",
                                rope_scaling.long_factor.size());
  }
  if (q_dim() > kMaxDim) {
    return InvalidArgumentError("num_attention_heads * head_dim (", q_dim(), ") is too large");
  }
  if (n_q_heads % n_k_heads != 0) {
    return InvalidArgumentError("num_attention_heads (", n_q_heads, ") must be divisible by ",
                                k_field, " (", n_k_heads, ")");
  }
  if (n_q_heads % n_v_heads != 0) {
    return InvalidArgumentError("num_attention_heads (", n_q_heads, ") must be divisible by ",
                                v_field, " (", n_v_heads, ")");
  }
  if (!sigma && n_k_heads != n_v_heads) {
    return InvalidArgumentError("num_key_value_heads: ", ArchitectureName(arch),
                                " needs equal K and V head counts (got ", n_k_heads, " and ",
                                n_v_heads, "); use model_type sigma");
  }
  if (!sigma && aug_q_intermediate_size != 0) {
    return InvalidArgumentError("aug_q_intermediate_size: only model_type sigma has augmented Q");
  }
  if (fused_projections() && qkv_bias) {
    return InvalidArgumentError("attention_bias: phi3's fused q/k/v projection has no bias here");
  }
  if (arch == Architecture::kQwen2 && !qkv_bias) {
    return InvalidArgumentError("attention_bias: Qwen2 always has q/k/v biases");
  }
  SIGMA_RETURN_IF_ERROR(CheckPositive("rms_norm_eps", rms_norm_eps));
  SIGMA_RETURN_IF_ERROR(CheckPositive("rope_theta", rope_theta));
  if (rope_theta <= 1.0) return InvalidArgumentError("rope_theta: must exceed 1, got ", rope_theta);
  SIGMA_RETURN_IF_ERROR(rope_scaling.Validate());
  return ValidateRopeFreqFactors(rope_freq_factors, rope_scaling, head_dim);
}

float ModelConfig::embedding_scale() const {
  return gemma() ? static_cast<float>(std::sqrt(static_cast<double>(hidden_size)))
                 : static_cast<float>(embedding_multiplier);
}

float ModelConfig::AttentionScale() const {
  if (attention_multiplier > 0) return static_cast<float>(attention_multiplier);
  const double scalar =
      query_pre_attn_scalar > 0 ? query_pre_attn_scalar : static_cast<double>(head_dim);
  return static_cast<float>(1.0 / std::sqrt(scalar));
}

std::vector<float> ModelConfig::LocalRopeInvFreq() const {
  if (local_rope_theta == 0) return {};
  std::vector<float> out(static_cast<size_t>(rotary_dim() / 2));
  for (size_t j = 0; j < out.size(); ++j) {
    out[j] =
        static_cast<float>(BaseInvFreq(local_rope_theta, static_cast<int64_t>(j), rotary_dim()));
  }
  return out;
}

std::string_view ActivationName(Activation act) {
  switch (act) {
    case Activation::kSilu: return "silu";
    case Activation::kGeluTanh: return "gelu_pytorch_tanh";
    case Activation::kGelu: return "gelu";
  }
  return "?";
}

std::vector<float> ModelConfig::RopeInvFreq() const {
  const int64_t half = rotary_dim() / 2;
  std::vector<float> out(static_cast<size_t>(half));
  const RopeScaling& s = rope_scaling;
  for (int64_t j = 0; j < half; ++j) {
    double inv = BaseInvFreq(rope_theta, j, rotary_dim());
    if (s.type == "longrope") {
      inv /= s.short_factor[static_cast<size_t>(j)];
    } else if (!rope_freq_factors.empty()) {
      inv /= rope_freq_factors[static_cast<size_t>(j)];
    } else if (s.type == "linear") {
      inv /= s.factor;
    } else if (s.type == "llama3") {
      // Hugging Face's form: the long wavelengths divided by factor, the short ones kept, the
      // band between interpolated.
      const double kept = Llama3Kept(s, inv);
      inv = (1.0 - kept) * inv / s.factor + kept * inv;
    } else if (s.type == "yarn") {
      const double extrapolated = YarnExtrapolated(s, rope_theta, rotary_dim(), j);
      inv = inv / RopeScalingFactor() * (1.0 - extrapolated) + inv * extrapolated;
    }
    out[static_cast<size_t>(j)] = static_cast<float>(inv);
  }
  return out;
}

std::vector<float> ModelConfig::RopeFreqFactors() const {
  if (!rope_freq_factors.empty() || rope_scaling.type != "llama3") return rope_freq_factors;
  const int64_t half = head_dim / 2;
  std::vector<float> out(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j) {
    // llama.cpp's form (convert_hf_to_gguf.py): the same scaling as a divisor.
    const double kept = Llama3Kept(rope_scaling, BaseInvFreq(rope_theta, j, head_dim));
    out[static_cast<size_t>(j)] =
        static_cast<float>(1.0 / ((1.0 - kept) / rope_scaling.factor + kept));
  }
  return out;
}

double ModelConfig::RopeScalingFactor() const {
  return rope_scaling.factor > 0
             ? rope_scaling.factor
             : static_cast<double>(max_position_embeddings) /
                   static_cast<double>(rope_scaling.original_max_position_embeddings);
}

double ModelConfig::RopeAttentionFactor() const {
  if (rope_scaling.type == "yarn") {
    const RopeScaling& s = rope_scaling;
    if (s.attention_factor > 0) return s.attention_factor;
    const double factor = RopeScalingFactor();
    const auto mscale = [&](double m) {
      return factor <= 1.0 ? 1.0 : 0.1 * m * std::log(factor) + 1.0;
    };
    return s.mscale != 0 && s.mscale_all_dim != 0 ? mscale(s.mscale) / mscale(s.mscale_all_dim)
                                                  : mscale(1.0);
  }
  if (rope_scaling.type != "longrope") return 1.0;
  if (rope_scaling.attention_factor > 0) return rope_scaling.attention_factor;
  const double original = static_cast<double>(rope_scaling.original_max_position_embeddings);
  const double scale = RopeScalingFactor();
  return scale <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(scale) / std::log(original));
}

std::vector<float> ModelConfig::LongRopeInvFreq() const {
  if (rope_scaling.type != "longrope") return {};
  std::vector<float> out(static_cast<size_t>(rotary_dim() / 2));
  for (size_t j = 0; j < out.size(); ++j) {
    out[j] = static_cast<float>(BaseInvFreq(rope_theta, static_cast<int64_t>(j), rotary_dim()) /
                                rope_scaling.long_factor[j]);
  }
  return out;
}

void ModelConfig::SetSlidingLayers(int64_t window, std::vector<bool> sliding) {
  const auto slides = std::count(sliding.begin(), sliding.end(), true);
  sliding_window = window > 0 && slides > 0 ? window : 0;
  sliding_layers.clear();
  if (sliding_window > 0 && slides < static_cast<int64_t>(sliding.size())) {
    sliding_layers = std::move(sliding);
  }
}

std::vector<bool> AllButEveryNth(int64_t num_layers, int64_t n) {
  std::vector<bool> out(static_cast<size_t>(std::max<int64_t>(num_layers, 0)));
  for (size_t i = 0; i < out.size(); ++i) out[i] = (static_cast<int64_t>(i) + 1) % n != 0;
  return out;
}

int64_t ModelConfig::AttentionWindow(int64_t layer) const {
  if (sliding_window == 0) return 0;
  if (sliding_layers.empty()) return sliding_window;
  return sliding_layers[static_cast<size_t>(layer)] ? sliding_window : 0;
}

Status ModelConfig::CheckContextLength(int64_t max_context) const {
  if (sliding_window == 0 || max_context <= sliding_window) return Status::Ok();
  return InvalidArgumentError("--max-context ", max_context, " exceeds the model's sliding_window ",
                              sliding_window,
                              ": this backend attends to every position, which is sliding-window "
                              "attention only within the window; use --max-context ",
                              sliding_window, " or less, or the CPU");
}

std::string ModelConfig::ToJson(
    const std::vector<std::pair<std::string, std::string>>& extra) const {
  const bool sigma = arch == Architecture::kSigma;
  std::string out;
  JsonObjectWriter w(&out, 0);
  std::string classes = "[";
  AppendJsonString(InfoOf(arch).class_name, &classes);
  w.Raw("architectures", classes + "]");
  w.String("model_type", ArchitectureName(arch));
  w.Int("vocab_size", vocab_size);
  w.Int("hidden_size", hidden_size);
  w.Int("intermediate_size", intermediate_size);
  w.Int("num_hidden_layers", num_layers);
  w.Int("num_attention_heads", n_q_heads);
  if (sigma) {
    w.Int("num_key_heads", n_k_heads);
    w.Int("num_value_heads", n_v_heads);
    w.Int("aug_q_intermediate_size", aug_q_intermediate_size);
  } else {
    w.Int("num_key_value_heads", n_k_heads);
  }
  w.Int("head_dim", head_dim);
  w.Int("max_position_embeddings", max_position_embeddings);
  w.Double("rms_norm_eps", rms_norm_eps);
  w.Double("rope_theta", rope_theta);
  if (local_rope_theta > 0 && arch == Architecture::kGemma3) {
    w.Double("rope_local_base_freq", local_rope_theta);
  }
  RopeScaling scaling = rope_scaling;
  if (scaling.type == "yarn") scaling.factor = RopeScalingFactor();  // the factor it amounts to
  w.Raw("rope_scaling", RopeScalingJson(scaling));
  if (arch == Architecture::kOlmo3 && local_rope_theta != rope_theta) {
    // Olmo3Config reads rope_theta for both layer types; one of their own in transformers 5's form.
    w.Raw("rope_parameters", StrCat("{\"full_attention\": ", RopeScalingJson(scaling, rope_theta),
                                    ", \"sliding_attention\": ",
                                    RopeScalingJson(RopeScaling{}, local_rope_theta), "}"));
  }
  if (partial_rotary_factor != 1.0) w.Double("partial_rotary_factor", partial_rotary_factor);
  if (rope_scaling.type == "longrope") {
    w.Int("original_max_position_embeddings", rope_scaling.original_max_position_embeddings);
  }
  if (arch == Architecture::kMistral || arch == Architecture::kPhi3 ||
      arch == Architecture::kMixtral) {
    w.Raw("sliding_window", sliding_window > 0 ? std::to_string(sliding_window) : "null");
  }
  if (arch == Architecture::kQwen3Moe) {
    w.Bool("use_sliding_window", sliding_window > 0);
    w.Raw("sliding_window", sliding_window > 0 ? std::to_string(sliding_window) : "null");
  }
  std::string layer_types = "[";
  for (int64_t i = 0; i < num_layers; ++i) {
    layer_types += i ? ", " : "";
    layer_types += AttentionWindow(i) > 0 ? "\"sliding_attention\"" : "\"full_attention\"";
  }
  layer_types += "]";
  if (arch == Architecture::kQwen2 || arch == Architecture::kQwen3 ||
      arch == Architecture::kQwen2Moe || arch == Architecture::kSmolLM3) {
    // Both forms: layer_types (transformers 5) and, for Qwen, max_window_layers where the sliding
    // layers are the last ones (as older readers take it).
    w.Bool("use_sliding_window", sliding_window > 0);
    w.Raw("sliding_window", sliding_window > 0 ? std::to_string(sliding_window) : "null");
    if (sliding_window > 0) {
      int64_t first = num_layers;
      while (first > 0 && AttentionWindow(first - 1) > 0) --first;
      if (arch != Architecture::kSmolLM3) w.Int("max_window_layers", first);
      w.Raw("layer_types", layer_types);
    }
  }
  if (gemma2_or_3() || arch == Architecture::kOlmo3 ||
      arch == Architecture::kGptOss) {  // always a window, in the named layers
    w.Raw("sliding_window", sliding_window > 0 ? std::to_string(sliding_window) : "null");
    w.Raw("layer_types", layer_types);
  }
  if (gemma2_or_3()) {
    // An integer where it is one (Gemma2Config's field is an int); 0 stands for head_dim.
    const double scalar =
        query_pre_attn_scalar > 0 ? query_pre_attn_scalar : static_cast<double>(head_dim);
    if (scalar == std::floor(scalar)) {
      w.Int("query_pre_attn_scalar", static_cast<int64_t>(scalar));
    } else {
      w.Double("query_pre_attn_scalar", scalar);
    }
    for (const auto& [key, cap] : {std::pair{"attn_logit_softcapping", attn_logit_softcapping},
                                   std::pair{"final_logit_softcapping", final_logit_softcapping}}) {
      if (cap > 0) {
        w.Double(key, cap);
      } else {
        w.Raw(key, "null");
      }
    }
  }
  if (granite()) {
    w.Double("embedding_multiplier", embedding_multiplier);
    w.Double("attention_multiplier", attention_multiplier > 0
                                         ? attention_multiplier
                                         : 1.0 / std::sqrt(static_cast<double>(head_dim)));
    w.Double("residual_multiplier", residual_multiplier);
    w.Double("logits_scaling", logits_scaling);
  }
  if (arch == Architecture::kGptOss) {
    w.Double("swiglu_limit", swiglu_limit);
    w.Double("swiglu_alpha", swiglu_alpha);
  }
  if (arch == Architecture::kSmolLM3) {
    std::string rope = "[";
    for (int64_t i = 0; i < num_layers; ++i) rope += StrCat(i ? ", " : "", RotatesLayer(i) ? 1 : 0);
    w.Raw("no_rope_layers", rope + "]");
  }
  for (const auto& [key, value] : MoeConfigJson(*this)) w.Raw(key.c_str(), value);
  w.Bool("tie_word_embeddings", tie_word_embeddings);
  if (arch == Architecture::kQwen2Moe) {
    w.Bool("qkv_bias", qkv_bias);
  } else if (arch != Architecture::kQwen2) {
    w.Bool("attention_bias", qkv_bias);
  }
  w.String(gemma2_or_3() ? "hidden_activation" : "hidden_act", ActivationName(activation));
  w.Raw("bos_token_id", bos_token_id >= 0 ? std::to_string(bos_token_id) : "null");
  std::string eos = eos_token_ids.empty() ? "null" : "[";
  for (size_t i = 0; i < eos_token_ids.size(); ++i) {
    eos += (i ? ", " : "") + std::to_string(eos_token_ids[i]);
  }
  w.Raw("eos_token_id", eos_token_ids.empty() ? eos : eos + "]");
  for (const auto& [key, value] : extra) w.Raw(key.c_str(), value);
  w.Close();
  out += "\n";
  return out;
}

Status AddGenerationConfigStopIds(std::string_view json_text, std::string_view source,
                                  ModelConfig* config) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<rapidjson::Document> doc, ParseJson(json_text, source));
  if (!doc->IsObject()) {
    return InvalidArgumentError(source, ": expected a JSON object, got ", JsonTypeName(*doc));
  }
  JsonFields fields(*doc, std::string(source));
  std::vector<int64_t> ids;
  SIGMA_RETURN_IF_ERROR(ReadEosIds(fields, &ids));
  for (int64_t id : ids) {
    if (id < 0 || id >= config->vocab_size) {
      return InvalidArgumentError(source, ": eos_token_id ", id, " is not a token id (vocab_size ",
                                  config->vocab_size, ")");
    }
    if (std::find(config->eos_token_ids.begin(), config->eos_token_ids.end(), id) ==
        config->eos_token_ids.end()) {
      config->eos_token_ids.push_back(id);
    }
  }
  return Status::Ok();
}

StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view source) {
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<rapidjson::Document> doc, ParseJson(json_text, source));
  ModelConfig config;
  SIGMA_RETURN_IF_ERROR(ReadConfig(*doc, source, &config));
  Status valid = config.Validate();
  if (!valid.ok()) return valid.WithContext(source);
  return config;
}

namespace {

ModelConfig Sigma15B() {
  ModelConfig c;
  c.arch = Architecture::kSigma;
  c.vocab_size = 128256;
  c.hidden_size = 2048;
  c.intermediate_size = 6144;
  c.num_layers = 26;
  c.n_q_heads = 32;
  c.n_k_heads = 4;
  c.n_v_heads = 16;
  c.head_dim = 64;
  c.aug_q_intermediate_size = 3072;
  c.max_position_embeddings = 131072;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 50000.0;
  c.tie_word_embeddings = false;
  c.bos_token_id = 128000;
  c.eos_token_ids = {128001};
  return c;
}

// Same shapes as tests/data/oracle/sigma-diffqkv-tiny.
ModelConfig SigmaTiny() {
  ModelConfig c;
  c.arch = Architecture::kSigma;
  c.vocab_size = 256;
  c.hidden_size = 64;
  c.intermediate_size = 192;
  c.num_layers = 2;
  c.n_q_heads = 8;
  c.n_k_heads = 2;
  c.n_v_heads = 4;
  c.head_dim = 16;
  c.aug_q_intermediate_size = 96;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 50000.0;
  return c;
}

// Same shapes as tests/data/oracle/llama-gqa-tiny.
ModelConfig LlamaTiny() {
  ModelConfig c;
  c.arch = Architecture::kLlama;
  c.vocab_size = 384;
  c.hidden_size = 96;
  c.intermediate_size = 256;
  c.num_layers = 3;
  c.n_q_heads = 6;
  c.n_k_heads = 2;
  c.n_v_heads = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

// A small mixture of experts for speed runs (`bench --models mixtral-mini`): 8 layers of hidden
// 1024, 16 Q / 4 KV heads of 64, 32 experts of FFN 512, 4 a token (0.21 GB of bf16 weights a
// decode step of 0.98 GB).
ModelConfig MixtralMini() {
  ModelConfig c;
  c.arch = Architecture::kMixtral;
  c.vocab_size = 32000;
  c.hidden_size = 1024;
  c.intermediate_size = 512;
  c.num_layers = 8;
  c.n_q_heads = 16;
  c.n_k_heads = 4;
  c.n_v_heads = 4;
  c.head_dim = 64;
  c.max_position_embeddings = 32768;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 1e6;
  c.moe.num_experts = 32;
  c.moe.experts_per_token = 4;
  c.moe.expert_intermediate_size = 512;
  c.moe.norm_topk_prob = true;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

}  // namespace

StatusOr<ModelConfig> ModelConfigPreset(std::string_view name) {
  if (name == "sigma-1.5b") return Sigma15B();
  if (name == "gqa16") {
    ModelConfig c = Sigma15B();
    c.arch = Architecture::kLlama;
    c.n_k_heads = 16;
    c.n_v_heads = 16;
    c.aug_q_intermediate_size = 0;
    return c;
  }
  if (name == "sigma-tiny") return SigmaTiny();
  if (name == "llama-tiny") return LlamaTiny();
  if (name == "mixtral-mini") return MixtralMini();
  return NotFoundError("unknown model preset '", name, "' (known: ", ModelConfigPresetList(), ")");
}

std::vector<std::string> ModelConfigPresetNames() {
  return {"sigma-1.5b", "gqa16", "sigma-tiny", "llama-tiny", "mixtral-mini"};
}

std::string ModelConfigPresetList() {
  std::string names;
  for (const std::string& n : ModelConfigPresetNames()) names += (names.empty() ? "" : ", ") + n;
  return names;
}

}  // namespace sigma
