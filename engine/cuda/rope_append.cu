#include "engine/cuda/rope_append.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ void Rotate(float* x, int j, int half, float c, float s, float* o0,
                                       float* o1) {
  const float x0 = x[j];
  const float x1 = x[j + half];
  *o0 = x0 * c - x1 * s;
  *o1 = x1 * c + x0 * s;
}

__global__ void __launch_bounds__(kThreads) RopeAppendKernel(const RopeAppendParams p) {
  const int row = blockIdx.x;
  const int hd = p.head_dim;
  const int half = hd / 2;
  const int64_t seq = p.row_seq[row];
  const int64_t pos = p.row_pos[row];
  const float posf = static_cast<float>(pos);
  float* q = p.q + row * p.q_stride;
  for (int i = threadIdx.x; i < p.n_q * half; i += kThreads) {
    const int h = i / half;
    const int j = i % half;
    float s, c;
    sincosf(posf * p.inv_freq[j], &s, &c);
    float* qh = q + h * hd;
    float o0, o1;
    Rotate(qh, j, half, c, s, &o0, &o1);
    qh[j] = o0;  // each thread owns its pair
    qh[j + half] = o1;
  }
  const float* k = p.k + row * p.kv_stride;
  for (int i = threadIdx.x; i < p.n_k * half; i += kThreads) {
    const int h = i / half;
    const int j = i % half;
    float s, c;
    sincosf(posf * p.inv_freq[j], &s, &c);
    float o0, o1;
    Rotate(const_cast<float*>(k) + h * hd, j, half, c, s, &o0, &o1);
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
  RopeAppendKernel<<<p.rows, kThreads, 0, stream>>>(p);
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace sigma::cuda
