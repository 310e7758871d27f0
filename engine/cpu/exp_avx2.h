// exp for the AVX2 + FMA kernels (attention softmax, SwiGLU). Include only from translation
// units compiled with -mavx2 -mfma (the *_avx2.cc files).
#ifndef SIGMA_ENGINE_CPU_EXP_AVX2_H_
#define SIGMA_ENGINE_CPU_EXP_AVX2_H_

#include <immintrin.h>

namespace sigma::internal {

// exp(x) for x <= 0: x = n ln2 + r, |r| <= ln2 / 2, degree-6 Taylor polynomial (truncation
// below 1.2e-7 relative, about one f32 ulp), scaled by 2^n built in the exponent bits. x is
// clamped at -87.3, where exp is still a normal f32 (1.2e-38): a softmax weight that small next
// to the row maximum's 1 is zero to every sum it enters. (Two fewer FMAs and one scaling step
// fewer than a degree-7, denormal-keeping version: 4% off Sigma's 16K decode attention here.)
// Measured worst relative error over [-87, 0] against double exp: 2.3e-7.
inline __m256 ExpNonPositive(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // n in [-126, 0]: 2^n is the normal float with biased exponent n + 127.
  const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
  const __m256i bits = _mm256_slli_epi32(biased, 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_EXP_AVX2_H_
