// Internal to engine/cpu: the per-ISA row kernels behind MatMul (matmul.h).
//
// A row kernel computes y[b][r] = dot(x[b], w[r]) (+ bias[r]) for rows r in [row_begin, row_end)
// and every batch row b; MatMul splits the rows across the pool. Kernels keep no state and may run
// concurrently on disjoint row ranges.
#ifndef SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_
#define SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_

#include <cstdint>

#include "engine/tensor.h"

namespace sigma::internal {

struct MatMulArgs {
  const uint8_t* w = nullptr;  // [out][row_bytes]
  DType dtype = DType::kF32;
  int64_t in = 0;              // elements per weight row
  int64_t row_bytes = 0;
  const float* x = nullptr;    // [batch][in] (for AVX-512 bf16: see x_prepared)
  const float* x_prepared = nullptr;  // [batch][in] as PrepareX wrote it (AVX-512 only)
  int64_t batch = 0;
  const float* bias = nullptr;  // [out] or null
  float* y = nullptr;           // [batch][out]
  int64_t out = 0;
};

void MatMulRowsGeneric(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

// AVX-512 (+BF16) kernels, defined in matmul_avx512.cc. MatMulAvx512Supports says whether a dtype
// and width have a kernel. PrepareX writes the activation layout the kernel expects into
// x_prepared[batch][in] (bf16 weights pair with even/odd-split activations).
bool MatMulAvx512Supports(DType dtype, int64_t in);
void MatMulPrepareXAvx512(DType dtype, const float* x, int64_t batch, int64_t in, float* prepared);
void MatMulRowsAvx512(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_
