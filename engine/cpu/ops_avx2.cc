// AVX2 + FMA element-wise ops (see ops_internal.h). Compiled with -mavx2 -mfma -mf16c.
//
// SiluMul: silu(g) = g * sigmoid(g) with t = exp(-|g|) in (0, 1], so that the exponential never
// overflows: sigmoid(g) = 1 / (1 + t) for g >= 0 and t / (1 + t) for g < 0 (one division each).
// Relative error a few f32 ulps (ExpNonPositive's 2.3e-7 plus the rounding of 1 + t, the division
// and the products); where |g| > 87.3 the exp is clamped at 1.2e-38, so silu of such a negative
// g is about g * 1e-38 instead of g * exp(g) -- both zero to anything they are added to.
#include <immintrin.h>

#include "engine/cpu/exp_avx2.h"
#include "engine/cpu/ops_internal.h"

namespace sigma::internal {
namespace {

inline __m256 SiluTimes(__m256 g, __m256 up) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = ExpNonPositive(_mm256_or_ps(g, sign));  // exp(-|g|)
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 negative = _mm256_cmp_ps(g, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 numerator = _mm256_blendv_ps(one, t, negative);
  const __m256 sigmoid = _mm256_div_ps(numerator, _mm256_add_ps(one, t));
  return _mm256_mul_ps(_mm256_mul_ps(g, sigmoid), up);
}

}  // namespace

void SiluMulAvx2(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(gate + i, SiluTimes(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    const int64_t rest = n - i;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rest)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 result =
        SiluTimes(_mm256_maskload_ps(gate + i, mask), _mm256_maskload_ps(up + i, mask));
    _mm256_maskstore_ps(gate + i, mask, result);
  }
}

}  // namespace sigma::internal
