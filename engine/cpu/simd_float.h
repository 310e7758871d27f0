// The float vector operations the per-ISA kernel adapters share: the integer GEMV tiles'
// (matmul_int_avx512.cc, matmul_int16_avx2.cc) and the attention score pass's (attention_avx512.cc,
// attention_avx2.cc) derive from these and add what their kernels need. Include only from a
// translation unit compiled for the ISA (each struct is defined where the compiler targets it).
#ifndef SIGMA_ENGINE_CPU_SIMD_FLOAT_H_
#define SIGMA_ENGINE_CPU_SIMD_FLOAT_H_

#include <immintrin.h>

namespace sigma::internal {

#if defined(__AVX512F__)
struct ZmmFloat {
  using F = __m512;
  static F Zero() { return _mm512_setzero_ps(); }
  static F Set1(float x) { return _mm512_set1_ps(x); }
  static F Add(F a, F b) { return _mm512_add_ps(a, b); }
  static F Mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F Fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
struct YmmFloat {
  using F = __m256;
  static F Zero() { return _mm256_setzero_ps(); }
  static F Set1(float x) { return _mm256_set1_ps(x); }
  static F Add(F a, F b) { return _mm256_add_ps(a, b); }
  static F Mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F Fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
};
#endif

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_SIMD_FLOAT_H_
