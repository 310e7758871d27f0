#include "engine/cuda/gemm.cuh"

#include "engine/cuda/cuda_check.cuh"

namespace sigma::cuda {

Status Gemm(cublasHandle_t handle, const DeviceMatrix& w, const GemmArgs& a) {
  if (a.batch == 0) return Status::Ok();
  const cudaDataType_t type = w.type == ActType::kF32 ? CUDA_R_32F : CUDA_R_16BF;
  const float alpha = 1.0f;
  // Column-major view: W^T is W read as [in][out] with ld = in; x is [in][batch] with ld = ldx;
  // y is [out][batch] with ld = ldy.
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasGemmEx(
      handle, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.out), a.batch, static_cast<int>(w.in),
      &alpha, w.data, type, static_cast<int>(w.in), a.x, type, static_cast<int>(a.ldx), &a.beta,
      a.y, CUDA_R_32F, static_cast<int>(a.ldy), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return Status::Ok();
}

}  // namespace sigma::cuda
