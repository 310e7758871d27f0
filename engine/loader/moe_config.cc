#include "engine/loader/moe_config.h"

#include <algorithm>

namespace sigma {
namespace {

constexpr int64_t kMaxExperts = 1 << 12;
constexpr int64_t kMaxWidth = int64_t{1} << 26;

bool IsQwenMoe(Architecture arch) {
  return arch == Architecture::kQwen2Moe || arch == Architecture::kQwen3Moe;
}

// The families whose routers always renormalise the top experts' probabilities (no
// norm_topk_prob key): Mixtral's, and Granite MoE's and gpt-oss's softmax over the top logits.
bool RenormalisesAlways(Architecture arch) {
  return arch == Architecture::kMixtral || arch == Architecture::kGraniteMoe ||
         arch == Architecture::kGptOss;
}

// The expert count under num_experts or num_local_experts (transformers 5 writes a Qwen3-MoE's
// under the latter); both given must agree.
Status ReadExpertCount(JsonFields& fields, int64_t* count) {
  int64_t experts = -1, local = -1;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_experts", &experts));
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_local_experts", &local));
  if (experts >= 0 && local >= 0 && experts != local) {
    return InvalidArgumentError(fields.context(), ": num_experts (", experts,
                                ") and num_local_experts (", local, ") differ");
  }
  if (experts >= 0) *count = experts;
  if (local >= 0) *count = local;
  return Status::Ok();
}

// Qwen's dense layers: those in mlp_only_layers and those whose index + 1 is not a multiple of
// decoder_sparse_step.
Status ReadQwenDenseLayers(JsonFields& fields, ModelConfig* config) {
  int64_t step = 1;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("decoder_sparse_step", &step));
  if (step < 1) {
    return InvalidArgumentError(fields.context(), ": decoder_sparse_step ", step,
                                " (expected 1 or more)");
  }
  std::vector<int64_t> mlp_only;
  SIGMA_RETURN_IF_ERROR(fields.OptionalIntArray("mlp_only_layers", &mlp_only));
  std::vector<bool> dense(static_cast<size_t>(config->num_layers), false);
  for (size_t i = 0; i < dense.size(); ++i) dense[i] = (static_cast<int64_t>(i) + 1) % step != 0;
  for (const int64_t layer : mlp_only) {
    if (layer < 0 || layer >= config->num_layers) {
      return InvalidArgumentError(fields.context(), ": mlp_only_layers names layer ", layer, " of ",
                                  config->num_layers);
    }
    dense[static_cast<size_t>(layer)] = true;
  }
  if (std::find(dense.begin(), dense.end(), true) != dense.end()) {
    config->moe.dense_layers = std::move(dense);
  }
  return Status::Ok();
}

std::string LayerList(const std::vector<bool>& layers) {
  std::string out = "[";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i]) out += StrCat(out.size() > 1 ? ", " : "", i);
  }
  return out + "]";
}

}  // namespace

bool IsMoeArchitecture(Architecture arch) {
  return arch == Architecture::kMixtral || IsQwenMoe(arch) || arch == Architecture::kOlmoe ||
         arch == Architecture::kGraniteMoe || arch == Architecture::kGptOss;
}

Status ReadMoeConfig(JsonFields& fields, ModelConfig* config) {
  MoeConfig& moe = config->moe;
  switch (config->arch) {
    case Architecture::kGraniteMoe:  // top k of the logits, softmax over those: renormalised
    case Architecture::kMixtral:
      moe.num_experts = 8;
      moe.experts_per_token = 2;
      moe.norm_topk_prob = true;
      break;
    case Architecture::kQwen2Moe:
      moe.num_experts = 60;
      moe.experts_per_token = 4;
      moe.expert_intermediate_size = 1408;
      moe.shared_expert_intermediate_size = 5632;
      break;
    case Architecture::kQwen3Moe:
      moe.num_experts = 128;
      moe.experts_per_token = 8;
      moe.expert_intermediate_size = 768;
      break;
    case Architecture::kOlmoe:
      moe.num_experts = 64;
      moe.experts_per_token = 8;
      break;
    case Architecture::kGptOss:  // a softmax over the top logits: renormalised
      moe.num_experts = 128;
      moe.experts_per_token = 4;
      moe.norm_topk_prob = true;
      moe.biases = true;
      break;
    default: return Status::Ok();
  }
  SIGMA_RETURN_IF_ERROR(ReadExpertCount(fields, &moe.num_experts));
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("num_experts_per_tok", &moe.experts_per_token));
  if (!RenormalisesAlways(config->arch)) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalBool("norm_topk_prob", &moe.norm_topk_prob));
  }
  if (IsQwenMoe(config->arch)) {
    SIGMA_RETURN_IF_ERROR(
        fields.OptionalInt("moe_intermediate_size", &moe.expert_intermediate_size));
    SIGMA_RETURN_IF_ERROR(ReadQwenDenseLayers(fields, config));
  } else {
    moe.expert_intermediate_size = config->intermediate_size;
  }
  if (config->arch == Architecture::kQwen2Moe) {
    SIGMA_RETURN_IF_ERROR(fields.OptionalInt("shared_expert_intermediate_size",
                                             &moe.shared_expert_intermediate_size));
  }
  if (config->arch == Architecture::kOlmoe && fields.Has("clip_qkv")) {
    return UnimplementedError(fields.context(),
                              ": clip_qkv (OLMoE's clamped q, k and v) is not "
                              "supported");
  }
  return Status::Ok();
}

Status ValidateMoeConfig(const ModelConfig& c) {
  const MoeConfig& moe = c.moe;
  const bool moe_arch = IsMoeArchitecture(c.arch);
  if (!moe_arch) {
    if (moe.num_experts != 0 || moe.shared_expert_intermediate_size != 0 ||
        !moe.dense_layers.empty()) {
      return InvalidArgumentError("num_experts: model_type ", ArchitectureName(c.arch),
                                  " has no mixture of experts (mixtral, qwen2_moe, qwen3_moe and "
                                  "olmoe have)");
    }
    return Status::Ok();
  }
  // Qwen's may have none (every layer dense), as transformers allows.
  const int64_t min_experts = IsQwenMoe(c.arch) ? 0 : 1;
  if (moe.num_experts < min_experts || moe.num_experts > kMaxExperts) {
    return InvalidArgumentError("num_experts: expected an integer in [", min_experts, ", ",
                                kMaxExperts, "], got ", moe.num_experts);
  }
  if (moe.num_experts == 0) return Status::Ok();
  if (moe.experts_per_token < 1 || moe.experts_per_token > moe.num_experts) {
    return InvalidArgumentError("num_experts_per_tok: expected 1 to num_experts (", moe.num_experts,
                                "), got ", moe.experts_per_token);
  }
  if (moe.expert_intermediate_size < 1 || moe.expert_intermediate_size > kMaxWidth) {
    return InvalidArgumentError(IsQwenMoe(c.arch) ? "moe_intermediate_size" : "intermediate_size",
                                ": expected an integer in [1, ", kMaxWidth, "], got ",
                                moe.expert_intermediate_size);
  }
  if (moe.shared_expert_intermediate_size < 0 || moe.shared_expert_intermediate_size > kMaxWidth) {
    return InvalidArgumentError("shared_expert_intermediate_size: expected an integer in [0, ",
                                kMaxWidth, "], got ", moe.shared_expert_intermediate_size);
  }
  if (moe.shared_expert_intermediate_size > 0 && c.arch != Architecture::kQwen2Moe) {
    return InvalidArgumentError(
        "shared_expert_intermediate_size: only model_type qwen2_moe has a "
        "shared expert");
  }
  if (!moe.dense_layers.empty() &&
      (!IsQwenMoe(c.arch) || static_cast<int64_t>(moe.dense_layers.size()) != c.num_layers)) {
    return InvalidArgumentError("mlp_only_layers: ", moe.dense_layers.size(), " entries for ",
                                c.num_layers, " layers of a ", ArchitectureName(c.arch),
                                " (only qwen2_moe and qwen3_moe have dense layers among experts)");
  }
  if (moe.biases != (c.arch == Architecture::kGptOss)) {
    return InvalidArgumentError(
        "experts' biases: model_type gpt_oss, and only it, has biases on "
        "its router and experts");
  }
  if (RenormalisesAlways(c.arch) && !moe.norm_topk_prob) {
    return InvalidArgumentError("norm_topk_prob: ", ArchitectureName(c.arch),
                                " always renormalises its top experts' probabilities");
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> MoeConfigJson(const ModelConfig& c) {
  const MoeConfig& moe = c.moe;
  if (!IsMoeArchitecture(c.arch)) return {};
  std::vector<std::pair<std::string, std::string>> out;
  const bool local = RenormalisesAlways(c.arch);
  out.emplace_back(local ? "num_local_experts" : "num_experts", StrCat(moe.num_experts));
  out.emplace_back("num_experts_per_tok", StrCat(moe.experts_per_token));
  if (!local) out.emplace_back("norm_topk_prob", moe.norm_topk_prob ? "true" : "false");
  if (IsQwenMoe(c.arch)) {
    out.emplace_back("moe_intermediate_size", StrCat(moe.expert_intermediate_size));
    out.emplace_back("decoder_sparse_step", "1");
    out.emplace_back("mlp_only_layers", LayerList(moe.dense_layers));
  }
  if (c.arch == Architecture::kQwen2Moe) {
    out.emplace_back("shared_expert_intermediate_size",
                     StrCat(moe.shared_expert_intermediate_size));
  }
  return out;
}

}  // namespace sigma
