#include "engine/cuda/rope_append.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ void Rotate(float* x, int j, int half, float c, float s, float* o0,
                                       float* o1) {
  const float x0 = x[j];
  const float x1 = x[j + half];
  *o0 = x0 * c - x1 * s;
  *o1 = x1 * c + x0 * s;
}

constexpr int kMaxHalf = 128;  // head_dim up to 256

// One CTA per row. The row's cos/sin per frequency are computed once into shared memory (not
// once per head: sincosf of a large angle takes the slow range reduction, and one decode row of
// Sigma has 36 heads to rotate).
__global__ void __launch_bounds__(kThreads) RopeAppendKernel(const RopeAppendParams p) {
  __shared__ float cos_j[kMaxHalf];
  __shared__ float sin_j[kMaxHalf];
  const int row = blockIdx.x;
  const int hd = p.head_dim;
  const int half = hd / 2;
  const int64_t seq = p.row_seq[row];
  const int64_t pos = p.row_pos[row];
  const float posf = static_cast<float>(pos);
  for (int j = threadIdx.x; j < half; j += kThreads) sincosf(posf * p.inv_freq[j], &sin_j[j], &cos_j[j]);
  __syncthreads();
  float* q = p.q + row * p.q_stride;
  for (int i = threadIdx.x; i < p.n_q * half; i += kThreads) {
    const int h = i / half;
    const int j = i % half;
    float* qh = q + h * hd;
    float o0, o1;
    Rotate(qh, j, half, cos_j[j], sin_j[j], &o0, &o1);
    qh[j] = o0;  // each thread owns its pair
    qh[j + half] = o1;
  }
  const float* k = p.k + row * p.kv_stride;
  for (int i = threadIdx.x; i < p.n_k * half; i += kThreads) {
    const int h = i / half;
    const int j = i % half;
    float o0, o1;
    Rotate(const_cast<float*>(k) + h * hd, j, half, cos_j[j], sin_j[j], &o0, &o1);
    bf16* dst = p.k_cache + ((seq * p.n_k + h) * p.capacity + pos) * hd;
    dst[j] = __float2bfloat16_rn(o0);
    dst[j + half] = __float2bfloat16_rn(o1);
  }
  const float* v = p.v + row * p.kv_stride;
  for (int i = threadIdx.x; i < p.n_v * hd; i += kThreads) {
    const int h = i / hd;
    const int d = i % hd;
    p.v_cache[((seq * p.n_v + h) * p.capacity + pos) * hd + d] = __float2bfloat16_rn(v[i]);
  }
}

}  // namespace

Status LaunchRopeAppend(const RopeAppendParams& p, cudaStream_t stream) {
  if (p.rows == 0) return Status::Ok();
  if (p.head_dim > 2 * kMaxHalf || p.head_dim % 2 != 0) {
    return InvalidArgumentError("CUDA RoPE: head_dim ", p.head_dim, " (even, at most ", 2 * kMaxHalf, ")");
  }
  RopeAppendKernel<<<p.rows, kThreads, 0, stream>>>(p);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
