// Helpers shared by Model's files (model.cc, model_decode_team.cc).
#ifndef SIGMA_ENGINE_MODEL_INTERNAL_H_
#define SIGMA_ENGINE_MODEL_INTERNAL_H_

#include <algorithm>
#include <chrono>

#include "engine/cpu/ops.h"
#include "engine/loader/model_config.h"
#include "engine/tensor.h"

namespace sigma::internal {

using Clock = std::chrono::steady_clock;

inline double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline const float* BiasOrNull(const TensorView& bias) {
  return bias.valid() ? static_cast<const float*>(bias.data) : nullptr;
}

// A block's input: RmsNorm(x) with `norm`, or x itself where the model has no input norms
// (ModelConfig::pre_norms false: OLMo 2).
inline void BlockInput(const ModelConfig& c, const float* x, const TensorView& norm, int64_t rows,
                       float* out) {
  if (c.pre_norms())
    return RmsNorm(x, norm, static_cast<float>(c.rms_norm_eps), rows, c.hidden_size, out);
  std::copy(x, x + rows * c.hidden_size, out);
}

// x += y, a block's output joining the residual stream (times Granite's residual_multiplier).
inline void AddResidual(const ModelConfig& c, const float* y, int64_t n, float* x) {
  if (c.residual_multiplier == 1.0) return AddInPlace(x, y, n);
  AddScaledInPlace(x, y, static_cast<float>(c.residual_multiplier), n);
}

// gate[i] = act(gate[i]) * up[i]: the FFN's gated activation.
inline void GatedActivation(Activation act, float* gate, const float* up, int64_t n) {
  switch (act) {
    case Activation::kSilu: return SiluMul(gate, up, n);
    case Activation::kGeluTanh: return GeluTanhMul(gate, up, n);
    case Activation::kGelu: return GeluMul(gate, up, n);
  }
}

// The FFN's gated activation as the model has it: gpt-oss's clamped SwiGLU where it has one
// (ModelConfig::swiglu_limit), else GatedActivation with its activation.
inline void FfnActivation(const ModelConfig& c, float* gate, const float* up, int64_t n) {
  if (c.swiglu_limit > 0) {
    return ClampedSwigluMul(gate, up, n, static_cast<float>(c.swiglu_alpha),
                            static_cast<float>(c.swiglu_limit));
  }
  GatedActivation(c.activation, gate, up, n);
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_MODEL_INTERNAL_H_
