// Device helpers shared by the kernels: 16-byte bf16x8 loads and stores, f32 <-> bf16 conversion,
// storing an f32 value as the activation type (f32 or bf16), warp reductions.
// Thread safety: pure device functions.
#ifndef SIGMA_ENGINE_CUDA_VEC_CUH_
#define SIGMA_ENGINE_CUDA_VEC_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace sigma::cuda {

using bf16 = __nv_bfloat16;

// Unpacks 8 bf16 held in a 16-byte word into f32 (a bf16 is the top half of an f32).
__device__ __forceinline__ void UnpackBf16x8(const uint4& raw, float (&out)[8]) {
  out[0] = __uint_as_float(raw.x << 16);
  out[1] = __uint_as_float(raw.x & 0xffff0000u);
  out[2] = __uint_as_float(raw.y << 16);
  out[3] = __uint_as_float(raw.y & 0xffff0000u);
  out[4] = __uint_as_float(raw.z << 16);
  out[5] = __uint_as_float(raw.z & 0xffff0000u);
  out[6] = __uint_as_float(raw.w << 16);
  out[7] = __uint_as_float(raw.w & 0xffff0000u);
}

// One 16-byte load of 8 bf16 through the read-only path. p must be 16-byte aligned.
__device__ __forceinline__ uint4 LoadBf16x8Raw(const bf16* p) {
  return __ldg(reinterpret_cast<const uint4*>(p));
}

__device__ __forceinline__ uint32_t PackBf16x2(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// Stores 8 floats as 8 bf16 with one 16-byte store (round to nearest even).
__device__ __forceinline__ void StoreBf16x8(bf16* p, const float (&v)[8]) {
  uint4 raw;
  raw.x = PackBf16x2(v[0], v[1]);
  raw.y = PackBf16x2(v[2], v[3]);
  raw.z = PackBf16x2(v[4], v[5]);
  raw.w = PackBf16x2(v[6], v[7]);
  *reinterpret_cast<uint4*>(p) = raw;
}

template <typename T>
__device__ __forceinline__ void StoreAs(T* p, float v);
template <>
__device__ __forceinline__ void StoreAs<float>(float* p, float v) {
  *p = v;
}
template <>
__device__ __forceinline__ void StoreAs<bf16>(bf16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

template <typename T>
__device__ __forceinline__ float LoadAsFloat(const T* p);
template <>
__device__ __forceinline__ float LoadAsFloat<float>(const float* p) {
  return *p;
}
template <>
__device__ __forceinline__ float LoadAsFloat<bf16>(const bf16* p) {
  return __bfloat162float(*p);
}

__device__ __forceinline__ float WarpSum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024). All threads get the result.
// `scratch` holds 32 floats of shared memory; the call ends with a barrier before returning.
__device__ __forceinline__ float BlockSum(float v, float* scratch) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = WarpSum(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += scratch[w];
  return total;
}

__device__ __forceinline__ float BlockMax(float v, float* scratch) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  v = WarpMax(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  float m = -INFINITY;
  for (int w = 0; w < warps; ++w) m = fmaxf(m, scratch[w]);
  return m;
}

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_VEC_CUH_
