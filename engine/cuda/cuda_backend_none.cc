// Build without CUDA: the backend reports itself unavailable.
#include "engine/cuda/cuda_backend.h"

namespace sigma::cuda {

bool Compiled() { return false; }

StatusOr<std::string> DescribeDevice() {
  return UnavailableError("this sigma-eval was built without the CUDA backend (SIGMA_CUDA=OFF or "
                          "nvcc/cuBLAS not found at configure time)");
}

}  // namespace sigma::cuda
