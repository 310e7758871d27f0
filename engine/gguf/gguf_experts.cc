#include "engine/gguf/gguf_experts.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "engine/loader/model_weights.h"

namespace sigma {
namespace {

constexpr char kExpertWeightsNormKey[] = "sigma.expert_weights_norm";

constexpr std::array<const char*, 3> kStackedNames = {"ffn_gate_exps", "ffn_up_exps",
                                                      "ffn_down_exps"};

// Whether llama.cpp renormalises the chosen experts' probabilities in files of `arch`'s family
// (as its logits of tests/data/moe show).
bool LlamaCppNormalises(Architecture arch) {
  return arch == Architecture::kMixtral || arch == Architecture::kQwen3Moe ||
         arch == Architecture::kGraniteMoe || arch == Architecture::kGptOss;
}

// The digits of a layer or expert index at the front of `s`, and the rest after the dot.
bool TakeIndex(std::string_view* s, int64_t* index) {
  const auto [end, error] = std::from_chars(s->data(), s->data() + s->size(), *index);
  if (error != std::errc() || end == s->data() || end == s->data() + s->size() || *end != '.' ||
      *index < 0) {
    return false;
  }
  s->remove_prefix(static_cast<size_t>(end - s->data()) + 1);
  return true;
}

bool TakePrefix(std::string_view* s, std::string_view prefix) {
  if (!s->starts_with(prefix)) return false;
  s->remove_prefix(prefix.size());
  return true;
}

}  // namespace

bool MoeArchitectureOfGguf(std::string_view gguf_arch, Architecture* arch) {
  for (const Architecture a :
       {Architecture::kQwen2Moe, Architecture::kQwen3Moe, Architecture::kOlmoe,
        Architecture::kGraniteMoe, Architecture::kGptOss}) {
    if (gguf_arch == GgufArchitectureOfMoe(a)) {
      *arch = a;
      return true;
    }
  }
  return false;
}

std::string_view GgufArchitectureOfMoe(Architecture arch) {
  switch (arch) {
    case Architecture::kMixtral: return "llama";
    case Architecture::kQwen2Moe: return "qwen2moe";
    case Architecture::kQwen3Moe: return "qwen3moe";
    case Architecture::kOlmoe: return "olmoe";
    case Architecture::kGraniteMoe: return "granitemoe";
    case Architecture::kGptOss: return "gpt-oss";
    default: return "";
  }
}

Status ReadGgufExperts(const GgufFile& f, const std::string& p, ModelConfig* c) {
  MoeConfig& moe = c->moe;
  constexpr int64_t kMaxExperts = 1 << 12;
  constexpr int64_t kMaxWidth = int64_t{1} << 24;
  int64_t experts = 0;
  if (f.Find(p + "expert_count") != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(uint64_t count, f.GetUint(p + "expert_count"));
    if (count > static_cast<uint64_t>(kMaxExperts)) {
      return InvalidArgumentError(f.path(), ": ", p, "expert_count = ", count, " (expected 0 to ",
                                  kMaxExperts, ")");
    }
    experts = static_cast<int64_t>(count);
  }
  if (c->arch == Architecture::kLlama && experts > 0) c->arch = Architecture::kMixtral;
  if (GgufArchitectureOfMoe(c->arch).empty()) {
    if (experts > 0) {
      return UnimplementedError(f.path(), ": ", p, "expert_count ", experts, ": a ",
                                ArchitectureName(c->arch),
                                " file with experts (mixtures are read from llama, qwen2moe, "
                                "qwen3moe and olmoe files)");
    }
    return Status::Ok();
  }
  if (experts == 0) {
    return InvalidArgumentError(f.path(), ": ", p, "expert_count is missing or 0 in a ",
                                ArchitectureName(c->arch), " file");
  }
  const auto read = [&](const std::string& key, bool required, int64_t max, int64_t* out) {
    if (!required && f.Find(key) == nullptr) return Status::Ok();
    SIGMA_ASSIGN_OR_RETURN(uint64_t v, f.GetUint(key));
    if (v < 1 || v > static_cast<uint64_t>(max)) {
      return InvalidArgumentError(f.path(), ": ", key, " = ", v, " (expected 1 to ", max, ")");
    }
    *out = static_cast<int64_t>(v);
    return Status::Ok();
  };
  moe.num_experts = experts;
  SIGMA_RETURN_IF_ERROR(read(p + "expert_used_count", true, experts, &moe.experts_per_token));
  moe.expert_intermediate_size = c->intermediate_size;
  const bool qwen = c->arch == Architecture::kQwen2Moe || c->arch == Architecture::kQwen3Moe;
  SIGMA_RETURN_IF_ERROR(
      read(p + "expert_feed_forward_length", qwen, kMaxWidth, &moe.expert_intermediate_size));
  if (c->arch == Architecture::kQwen2Moe) {
    SIGMA_RETURN_IF_ERROR(read(p + "expert_shared_feed_forward_length", false, kMaxWidth,
                               &moe.shared_expert_intermediate_size));
  }
  moe.norm_topk_prob = LlamaCppNormalises(c->arch);
  moe.biases = c->arch == Architecture::kGptOss;
  if (f.Find(kExpertWeightsNormKey) != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(moe.norm_topk_prob, f.GetBool(kExpertWeightsNormKey));
  }
  return Status::Ok();
}

Status AddGgufExpertKeys(const ModelConfig& c, const std::string& p, GgufWriter* w) {
  const MoeConfig& moe = c.moe;
  if (GgufArchitectureOfMoe(c.arch).empty()) return Status::Ok();
  if (moe.num_experts == 0 || !moe.dense_layers.empty()) {
    return UnimplementedError("a ", ArchitectureName(c.arch),
                              " with dense layers among its experts has no GGUF form (llama.cpp's "
                              "files have experts in every layer)");
  }
  w->SetU32(p + "expert_count", static_cast<uint32_t>(moe.num_experts));
  w->SetU32(p + "expert_used_count", static_cast<uint32_t>(moe.experts_per_token));
  if (c.arch == Architecture::kQwen2Moe || c.arch == Architecture::kQwen3Moe ||
      c.arch == Architecture::kGptOss) {
    w->SetU32(p + "expert_feed_forward_length",
              static_cast<uint32_t>(moe.expert_intermediate_size));
  }
  if (moe.shared_expert_intermediate_size > 0) {
    w->SetU32(p + "expert_shared_feed_forward_length",
              static_cast<uint32_t>(moe.shared_expert_intermediate_size));
  }
  if (moe.norm_topk_prob != LlamaCppNormalises(c.arch)) {
    w->SetBool(kExpertWeightsNormKey, moe.norm_topk_prob);
  }
  return Status::Ok();
}

bool ParseStackedExpertsName(std::string_view name, int64_t* layer, ExpertMatrix* matrix,
                             bool* bias) {
  if (!TakePrefix(&name, "blk.") || !TakeIndex(&name, layer)) return false;
  for (size_t i = 0; i < kStackedNames.size(); ++i) {
    for (const bool b : {false, true}) {
      if (name == StrCat(kStackedNames[i], b ? ".bias" : ".weight")) {
        *matrix = static_cast<ExpertMatrix>(i);
        *bias = b;
        return true;
      }
    }
  }
  return false;
}

std::string HfExpertName(const ModelConfig& c, int64_t layer, int64_t expert, ExpertMatrix matrix,
                         bool bias) {
  return StrCat("model.layers.", layer, ".", ExpertBlock(c), ".experts.", expert, ".",
                ExpertMatrixNames(c)[static_cast<size_t>(matrix)], bias ? ".bias" : ".weight");
}

bool ParseHfExpertName(const ModelConfig& c, std::string_view name, std::string* stacked,
                       int64_t* expert) {
  int64_t layer = 0;
  if (!TakePrefix(&name, "model.layers.") || !TakeIndex(&name, &layer) ||
      !TakePrefix(&name, ExpertBlock(c)) || !TakePrefix(&name, ".experts.") ||
      !TakeIndex(&name, expert)) {
    return false;
  }
  const std::array<const char*, 3> names = ExpertMatrixNames(c);
  for (size_t i = 0; i < names.size(); ++i) {
    for (const char* suffix : {".weight", ".bias"}) {
      if (name == StrCat(names[i], suffix)) {
        *stacked = StrCat("blk.", layer, ".", kStackedNames[i], suffix);
        return true;
      }
    }
  }
  return false;
}

}  // namespace sigma
