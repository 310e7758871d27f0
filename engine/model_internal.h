// Helpers shared by Model's files (model.cc, model_decode_team.cc).
#ifndef SIGMA_ENGINE_MODEL_INTERNAL_H_
#define SIGMA_ENGINE_MODEL_INTERNAL_H_

#include <chrono>

#include "engine/tensor.h"

namespace sigma::internal {

using Clock = std::chrono::steady_clock;

inline double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline const float* BiasOrNull(const TensorView& bias) {
  return bias.valid() ? static_cast<const float*>(bias.data) : nullptr;
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_MODEL_INTERNAL_H_
