// The CUDA backend's entry points as seen by the rest of the engine. In a build without CUDA
// (cuda_backend_none.cc) every function reports UNAVAILABLE, so callers need no #ifdefs.
#ifndef SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_
#define SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_

#include <string>

#include "engine/base/status.h"

namespace sigma::cuda {

// True when this binary was built with the CUDA backend.
bool Compiled();

// Describes the first visible device ("NVIDIA H200, 139 GiB, sm_90"), or UNAVAILABLE naming why
// (not compiled, no device, driver error).
StatusOr<std::string> DescribeDevice();

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_
