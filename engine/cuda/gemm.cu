#include "engine/cuda/gemm.cuh"

#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvUnroll = 8;  // 16-byte weight loads in flight per lane
constexpr int kGemvMaxBatch = 4;

// y[b][o] = beta * y[b][o] + W[o] . x[b] for b < kB. A CTA serves kGemvWarps / kSlices rows;
// each row's `in` is cut into kSlices slices, one warp each (short and few rows still put
// enough loads in flight), reduced in shared memory. Lanes read 16-byte pieces, kGemvUnroll at a
// time: W streaming (read once, evict-first), x (kB rows, shared by every warp) through L1.
template <int kB, int kSlices>
__global__ void __launch_bounds__(kGemvWarps * 32)
    GemvBf16Kernel(const bf16* __restrict__ w, int64_t in, int64_t out, const bf16* __restrict__ x,
                   int64_t ldx, float* __restrict__ y, int64_t ldy, float beta) {
  constexpr int kRows = kGemvWarps / kSlices;
  __shared__ float partial[kGemvWarps][kB];
  const int warp = threadIdx.x >> 5;
  const int lane = threadIdx.x & 31;
  const int slice = warp % kSlices;
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kRows + warp / kSlices;
  const int64_t pieces = in / 8;
  const int64_t begin = slice * pieces / kSlices;
  const int64_t end = (slice + 1) * pieces / kSlices;
  float acc[kB] = {};
  if (o < out) {
    const uint4* wr = reinterpret_cast<const uint4*>(w + o * in);
    for (int64_t base = begin + lane; base < end; base += kGemvUnroll * 32) {
      uint4 wraw[kGemvUnroll];
#pragma unroll
      for (int u = 0; u < kGemvUnroll; ++u) {
        const int64_t piece = base + u * 32;
        wraw[u] = piece < end ? __ldcs(wr + piece) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < kGemvUnroll; ++u) {
        const int64_t piece = base + u * 32;
        if (piece >= end) break;
        float wf[8];
        UnpackBf16x8(wraw[u], wf);
#pragma unroll
        for (int b = 0; b < kB; ++b) {
          float xf[8];
          UnpackBf16x8(LoadBf16x8Raw(x + b * ldx + piece * 8), xf);
#pragma unroll
          for (int d = 0; d < 8; ++d) acc[b] = fmaf(wf[d], xf[d], acc[b]);
        }
      }
    }
  }
#pragma unroll
  for (int b = 0; b < kB; ++b) acc[b] = WarpSum(acc[b]);
  if constexpr (kSlices > 1) {
    if (lane == 0) {
#pragma unroll
      for (int b = 0; b < kB; ++b) partial[warp][b] = acc[b];
    }
    __syncthreads();
    if (slice != 0 || lane != 0 || o >= out) return;
#pragma unroll
    for (int b = 0; b < kB; ++b) {
      for (int j = 1; j < kSlices; ++j) acc[b] += partial[warp + j][b];
    }
  } else {
    if (lane != 0 || o >= out) return;
  }
#pragma unroll
  for (int b = 0; b < kB; ++b) {
    float* dst = y + b * ldy + o;
    *dst = beta == 0.0f ? acc[b] : beta * *dst + acc[b];
  }
}

// Whether the GEMV kernel serves this product: bf16, at most kGemvMaxBatch rows, whole 16-byte
// pieces of every row of W and x.
bool UseGemv(const DeviceMatrix& w, const GemmArgs& a) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return w.type == ActType::kBF16 && a.batch <= kGemvMaxBatch && w.in % 8 == 0 && a.ldx % 8 == 0 &&
         aligned(w.data) && aligned(a.x);
}

template <int kSlices>
void LaunchGemv(const DeviceMatrix& w, const GemmArgs& a, cudaStream_t stream) {
  constexpr int kRows = kGemvWarps / kSlices;
  const dim3 grid(static_cast<unsigned>((w.out + kRows - 1) / kRows));
  const auto* wp = static_cast<const bf16*>(w.data);
  const auto* xp = static_cast<const bf16*>(a.x);
  switch (a.batch) {
    case 1: GemvBf16Kernel<1, kSlices><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    case 2: GemvBf16Kernel<2, kSlices><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    case 3: GemvBf16Kernel<3, kSlices><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
    default: GemvBf16Kernel<4, kSlices><<<grid, kGemvWarps * 32, 0, stream>>>(wp, w.in, w.out, xp, a.ldx, a.y, a.ldy, a.beta); break;
  }
}

Status Gemv(cublasHandle_t handle, const DeviceMatrix& w, const GemmArgs& a) {
  cudaStream_t stream = nullptr;
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasGetStream(handle, &stream));
  // Warps in flight: a 2048-row matrix alone gives 16 per multiprocessor of an H200; slices of
  // the rows raise that where rows are few.
  if (w.out <= 4096) {
    LaunchGemv<4>(w, a, stream);
  } else if (w.out <= 16384) {
    LaunchGemv<2>(w, a, stream);
  } else {
    LaunchGemv<1>(w, a, stream);
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
