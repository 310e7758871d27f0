#include "engine/gguf/gguf_gpt_oss.h"

#include <vector>

namespace sigma {
namespace {

constexpr char kSwigluAlphaKey[] = "sigma.swiglu_alpha";
constexpr char kSwigluLimitKey[] = "sigma.swiglu_limit";
constexpr char kYarnTruncateKey[] = "sigma.rope.scaling.yarn_truncate";

// llama.cpp's constants (its SwiGLU-OAI in build_moe_ffn).
constexpr double kLlamaCppAlpha = 1.702;
constexpr double kLlamaCppLimit = 7.0;

// llama.cpp's sliding layers of a gpt-oss: every other layer from layer 0.
std::vector<bool> LlamaCppSlidingLayers(const ModelConfig& c) {
  return AllButEveryNth(c.num_layers, 2);
}

Status ReadPositive(const GgufFile& f, const char* key, double* out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  SIGMA_ASSIGN_OR_RETURN(*out, f.GetFloat(key));
  if (!(*out > 0)) return InvalidArgumentError(f.path(), ": ", key, " = ", *out, " (expected > 0)");
  return Status::Ok();
}

}  // namespace

Status ReadGgufGptOss(const GgufFile& f, ModelConfig* c) {
  if (c->arch != Architecture::kGptOss) return Status::Ok();
  c->qkv_bias = true;  // llama.cpp's gpt-oss has q, k, v and o biases
  if (c->sliding_window > 0) c->SetSlidingLayers(c->sliding_window, LlamaCppSlidingLayers(*c));
  c->swiglu_alpha = kLlamaCppAlpha;
  c->swiglu_limit = kLlamaCppLimit;
  SIGMA_RETURN_IF_ERROR(ReadPositive(f, kSwigluAlphaKey, &c->swiglu_alpha));
  SIGMA_RETURN_IF_ERROR(ReadPositive(f, kSwigluLimitKey, &c->swiglu_limit));
  if (f.Find(kYarnTruncateKey) != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(c->rope_scaling.truncate, f.GetBool(kYarnTruncateKey));
  }
  return Status::Ok();
}

Status AddGgufGptOssKeys(const ModelConfig& c, GgufWriter* w) {
  if (c.arch != Architecture::kGptOss) return Status::Ok();
  if (c.sliding_window > 0) {
    ModelConfig llama_cpp = c;
    llama_cpp.SetSlidingLayers(c.sliding_window, LlamaCppSlidingLayers(c));
    if (llama_cpp.sliding_layers != c.sliding_layers ||
        llama_cpp.sliding_window != c.sliding_window) {
      return UnimplementedError(
          "a gpt_oss whose sliding layers are not every other layer from layer 0 has no GGUF form "
          "(llama.cpp's files name no layers: it fixes that pattern)");
    }
  }
  if (c.swiglu_alpha != kLlamaCppAlpha)
    w->SetF32(kSwigluAlphaKey, static_cast<float>(c.swiglu_alpha));
  if (c.swiglu_limit != kLlamaCppLimit)
    w->SetF32(kSwigluLimitKey, static_cast<float>(c.swiglu_limit));
  if (c.rope_scaling.type == "yarn" && !c.rope_scaling.truncate)
    w->SetBool(kYarnTruncateKey, false);
  return Status::Ok();
}

}  // namespace sigma
