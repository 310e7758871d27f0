// Error plumbing of the CUDA backend: CUDA runtime and cuBLAS results turned into Status.
//
//   SIGMA_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, bytes));
//   Kernel<<<grid, block, 0, stream>>>(params);
//   SIGMA_CUDA_RETURN_IF_ERROR(cudaGetLastError());   // or SIGMA_CUDA_LAUNCH_CHECK()
//
// The message names the call text, file and line, and the driver's error string. Code that cannot
// return a Status (destructors) uses SIGMA_CUDA_WARN, which only logs.
// Thread safety: stateless macros.
#ifndef SIGMA_ENGINE_CUDA_CUDA_CHECK_CUH_
#define SIGMA_ENGINE_CUDA_CUDA_CHECK_CUH_

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>

#include "engine/base/status.h"

namespace sigma::cuda {

inline Status CudaStatus(cudaError_t err, const char* what, const char* file, int line) {
  if (err == cudaSuccess) return Status::Ok();
  const StatusCode code = err == cudaErrorMemoryAllocation ? StatusCode::kResourceExhausted
                          : err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver
                              ? StatusCode::kUnavailable
                              : StatusCode::kInternal;
  return Status(code, StrCat("CUDA: ", what, " failed at ", file, ":", line, ": ",
                             cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"));
}

inline Status CublasStatus(cublasStatus_t st, const char* what, const char* file, int line) {
  if (st == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return InternalError("cuBLAS: ", what, " failed at ", file, ":", line, ": ",
                       cublasGetStatusName(st), " (", cublasGetStatusString(st), ")");
}

}  // namespace sigma::cuda

#define SIGMA_CUDA_RETURN_IF_ERROR(expr) \
  SIGMA_RETURN_IF_ERROR(::sigma::cuda::CudaStatus((expr), #expr, __FILE__, __LINE__))

#define SIGMA_CUBLAS_RETURN_IF_ERROR(expr) \
  SIGMA_RETURN_IF_ERROR(::sigma::cuda::CublasStatus((expr), #expr, __FILE__, __LINE__))

// After a kernel launch: reports launch-configuration errors (the kernel's own faults surface at
// the next synchronising call).
#define SIGMA_CUDA_LAUNCH_CHECK() SIGMA_CUDA_RETURN_IF_ERROR(cudaGetLastError())

#define SIGMA_CUDA_WARN(expr)                                                          \
  do {                                                                                 \
    const cudaError_t sigma_cuda_err_ = (expr);                                        \
    if (sigma_cuda_err_ != cudaSuccess) {                                              \
      std::fprintf(stderr, "CUDA warning: %s at %s:%d: %s\n", #expr, __FILE__, __LINE__, \
                   cudaGetErrorString(sigma_cuda_err_));                               \
    }                                                                                  \
  } while (0)

#endif  // SIGMA_ENGINE_CUDA_CUDA_CHECK_CUH_
