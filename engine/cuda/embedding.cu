#include "engine/cuda/embedding.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void EmbeddingKernel(const EmbeddingParams p) {
  const int row = blockIdx.x;
  const T* src = static_cast<const T*>(p.table) + static_cast<int64_t>(p.tokens[row]) * p.hidden;
  float* dst = p.x + static_cast<int64_t>(row) * p.hidden;
  for (int i = threadIdx.x; i < p.hidden; i += kThreads) dst[i] = LoadAsFloat(src + i);
}

}  // namespace

Status LaunchEmbedding(const EmbeddingParams& p, cudaStream_t stream) {
  if (p.rows == 0) return Status::Ok();
  if (p.table_type == ActType::kF32) {
    EmbeddingKernel<float><<<p.rows, kThreads, 0, stream>>>(p);
  } else {
    EmbeddingKernel<bf16><<<p.rows, kThreads, 0, stream>>>(p);
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
