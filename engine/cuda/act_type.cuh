// ActType: the element type of GEMM operands (weights and the activations fed to them), f32 or
// bf16; every producer kernel of a GEMM input is instantiated for both.
// Thread safety: a value type.
#ifndef SIGMA_ENGINE_CUDA_ACT_TYPE_CUH_
#define SIGMA_ENGINE_CUDA_ACT_TYPE_CUH_

#include <cstddef>

namespace sigma::cuda {

enum class ActType { kF32, kBF16 };

inline size_t ActBytes(ActType t) { return t == ActType::kF32 ? 4 : 2; }

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_ACT_TYPE_CUH_
