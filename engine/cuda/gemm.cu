#include "engine/cuda/gemm.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvUnroll = 4;          // 16-byte weight loads in flight per lane
constexpr int kGemvStep = 32 * 8;       // elements of `in` per warp load
constexpr int kGemvMaxBatch = 4;

// y[b][o] = beta * y[b][o] + W[o] . x[b] for b < kB: one warp per output row, 16-byte streaming
// loads of W (read once: evict-first), x (kB rows, reused by every warp) through L1.
template <int kB>
__global__ void __launch_bounds__(kGemvWarps * 32)
    GemvBf16Kernel(const bf16* __restrict__ w, int64_t in, int64_t out, const bf16* __restrict__ x,
                   int64_t ldx, float* __restrict__ y, int64_t ldy, float beta) {
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kGemvWarps + (threadIdx.x >> 5);
  if (o >= out) return;
  const int lane = threadIdx.x & 31;
  const bf16* wr = w + o * in;
  float acc[kB] = {};
  auto fma_piece = [&](const uint4& wraw, int64_t k) {
    float wf[8];
    UnpackBf16x8(wraw, wf);
#pragma unroll
    for (int b = 0; b < kB; ++b) {
      float xf[8];
      UnpackBf16x8(LoadBf16x8Raw(x + b * ldx + k), xf);
#pragma unroll
      for (int d = 0; d < 8; ++d) acc[b] = fmaf(wf[d], xf[d], acc[b]);
    }
  };
  int64_t k = lane * 8;
  for (; k + (kGemvUnroll - 1) * kGemvStep < in; k += kGemvUnroll * kGemvStep) {
    uint4 wraw[kGemvUnroll];
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) {
      wraw[u] = __ldcs(reinterpret_cast<const uint4*>(wr + k + u * kGemvStep));
    }
#pragma unroll
    for (int u = 0; u < kGemvUnroll; ++u) fma_piece(wraw[u], k + u * kGemvStep);
  }
  for (; k < in; k += kGemvStep) fma_piece(__ldcs(reinterpret_cast<const uint4*>(wr + k)), k);
#pragma unroll
  for (int b = 0; b < kB; ++b) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) acc[b] += __shfl_xor_sync(0xffffffffu, acc[b], off);
  }
  if (lane == 0) {
#pragma unroll
    for (int b = 0; b < kB; ++b) {
      float* dst = y + b * ldy + o;
      *dst = beta == 0.0f ? acc[b] : beta * *dst + acc[b];
    }
  }
}

// Whether the GEMV kernel serves this product: bf16, at most kGemvMaxBatch rows, whole 16-byte
// pieces of every row of W and x.
bool UseGemv(const DeviceMatrix& w, const GemmArgs& a) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return w.type == ActType::kBF16 && a.batch <= kGemvMaxBatch && w.in % 8 == 0 && a.ldx % 8 == 0 &&
         aligned(w.data) && aligned(a.x);
}

Status Gemv(cublasHandle_t handle, const DeviceMatrix& w, const GemmArgs& a) {
  cudaStream_t stream = nullptr;
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasGetStream(handle, &stream));
  const dim3 grid(static_cast<unsigned>((w.out + kGemvWarps - 1) / kGemvWarps));
  const auto* wp = static_cast<const bf16*>(w.data);
  const auto* xp = static_cast<const bf16*>(a.x);
  switch (a.batch) {
    case 1: GemvBf16Kernel<1><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    case 2: GemvBf16Kernel<2><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    case 3: GemvBf16Kernel<3><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    default: GemvBf16Kernel<4><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
  }
  SIGMA_CUDA_LAUNCH_CHECK();
  return Status::Ok();
}

}  // namespace

Status Gemm(cublasHandle_t handle, const DeviceMatrix& w, const GemmArgs& a) {
  if (a.batch == 0) return Status::Ok();
  if (UseGemv(w, a)) return Gemv(handle, w, a);
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
