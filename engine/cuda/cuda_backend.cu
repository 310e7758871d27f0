// Build with CUDA: device discovery. Kernels, the model and the benchmarks live beside this file.
#include <cuda_runtime.h>

#include "engine/cuda/cuda_backend.h"

namespace sigma::cuda {

bool Compiled() { return true; }

int DeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error of a missing driver
    return 0;
  }
  return count;
}

StatusOr<std::string> DescribeDevice() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    return UnavailableError("CUDA: cudaGetDeviceCount failed: ", cudaGetErrorString(err));
  }
  if (count == 0) return UnavailableError("CUDA: no device visible");
  cudaDeviceProp prop;
  const cudaError_t perr = cudaGetDeviceProperties(&prop, 0);
  if (perr != cudaSuccess) {
    return UnavailableError("CUDA: cudaGetDeviceProperties failed: ", cudaGetErrorString(perr));
  }
  return StrCat(prop.name, ", ", prop.totalGlobalMem >> 30, " GiB, sm_", prop.major, prop.minor);
}

}  // namespace sigma::cuda
