// In-register 8 x 8 float transpose for the AVX2 kernels (attention scores, prefill GEMM panels).
// Include only from translation units compiled with -mavx2 (the *_avx2.cc files).
#ifndef SIGMA_ENGINE_CPU_TRANSPOSE_AVX2_H_
#define SIGMA_ENGINE_CPU_TRANSPOSE_AVX2_H_

#include <immintrin.h>

namespace sigma::internal {

// r[i] lane j <- r[j] lane i: unpacks, then shuffles, then 128-bit lane swaps (24 shuffles).
inline void Transpose8(__m256* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_TRANSPOSE_AVX2_H_
