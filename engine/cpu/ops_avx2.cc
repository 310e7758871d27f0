// AVX2 + FMA element-wise ops (see ops_internal.h). Compiled with -mavx2 -mfma -mf16c.
//
// SumSquares (RmsNorm's): the scalar loop's one chain of double additions took 0.55 us for 576
// elements (SmolLM2's width; two norms a layer per decode member, and serial in prefill); four
// chains of 4-lane FMAs take a quarter of that with the scaling pass (0.15 us). SmolLM2's decode at
// 512 positions (in-process A/B, medians of 10-40 rounds): 2.337 against 2.389 ms a step in fast
// minutes, 2.991-3.011 against 2.998-3.060 in slow ones.
//
// SiluMul: silu(g) = g * sigmoid(g); GeluTanhMul: g * sigmoid(2u) (ops.h). sigmoid(z) with
// t = exp(-|z|) in (0, 1], so that the exponential never overflows: 1 / (1 + t) for z >= 0 and
// t / (1 + t) for z < 0 (one division each).
// Relative error a few f32 ulps (ExpNonPositive's 2.3e-7 plus the rounding of 1 + t, the division
// and the products); where |g| > 87.3 the exp is clamped at 1.2e-38, so silu of such a negative
// g is about g * 1e-38 instead of g * exp(g) -- both zero to anything they are added to.
#include <immintrin.h>

#include "engine/cpu/exp_avx2.h"
#include "engine/cpu/ops_internal.h"

namespace sigma::internal {
namespace {

inline __m256 Sigmoid(__m256 z) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = ExpNonPositive(_mm256_or_ps(z, sign));  // exp(-|z|)
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 negative = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
  const __m256 numerator = _mm256_blendv_ps(one, t, negative);
  return _mm256_div_ps(numerator, _mm256_add_ps(one, t));
}

struct SiluTimes {
  __m256 operator()(__m256 g, __m256 up) const {
    return _mm256_mul_ps(_mm256_mul_ps(g, Sigmoid(g)), up);
  }
};

// 0.5 g (1 + tanh(u)) = g * sigmoid(2u), u = sqrt(2 / pi) (g + 0.044715 g^3).
struct GeluTanhTimes {
  __m256 operator()(__m256 g, __m256 up) const {
    const __m256 g3 = _mm256_mul_ps(_mm256_mul_ps(g, g), g);
    const __m256 u = _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), g3, g);
    const __m256 z = _mm256_mul_ps(_mm256_set1_ps(2.0f * 0.7978845608028654f), u);
    return _mm256_mul_ps(_mm256_mul_ps(g, Sigmoid(z)), up);
  }
};

// gate[i] = times(gate[i], up[i]), 8 lanes at a time, the tail masked.
template <class Times>
void GatedMul(float* gate, const float* up, int64_t n) {
  const Times times;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(gate + i, times(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    const int64_t rest = n - i;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rest)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 result =
        times(_mm256_maskload_ps(gate + i, mask), _mm256_maskload_ps(up + i, mask));
    _mm256_maskstore_ps(gate + i, mask, result);
  }
}

// cap * tanh(x / cap). tanh(y) = sign(y) (1 - t) / (1 + t), t = exp(-2|y|), where |y| >= 1/4
// (1 - t >= 0.39, so t's 2.3e-7 stays a few ulps); below, tanh's odd Taylor series to y^11,
// whose next term is under 1e-9 of y there.
inline __m256 SoftCapOf(__m256 x, __m256 cap, __m256 inverse) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 y = _mm256_mul_ps(x, inverse);
  const __m256 a = _mm256_andnot_ps(sign, y);  // |y|
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = ExpNonPositive(_mm256_mul_ps(_mm256_set1_ps(-2.0f), a));
  const __m256 large = _mm256_div_ps(_mm256_sub_ps(one, t), _mm256_add_ps(one, t));
  const __m256 a2 = _mm256_mul_ps(a, a);
  __m256 p = _mm256_set1_ps(-1382.0f / 155925.0f);
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(62.0f / 2835.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-17.0f / 315.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(2.0f / 15.0f));
  p = _mm256_fmadd_ps(p, a2, _mm256_set1_ps(-1.0f / 3.0f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, a2), a, a);
  const __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(0.25f), _CMP_LT_OQ);
  const __m256 magnitude = _mm256_blendv_ps(large, small, is_small);
  return _mm256_mul_ps(cap, _mm256_or_ps(magnitude, _mm256_and_ps(sign, y)));
}

}  // namespace

void SoftCapAvx2(float* x, int64_t n, float cap) {
  const __m256 c = _mm256_set1_ps(cap);
  const __m256 inverse = _mm256_set1_ps(1.0f / cap);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, SoftCapOf(_mm256_loadu_ps(x + i), c, inverse));
  if (i < n) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(x + i, mask, SoftCapOf(_mm256_maskload_ps(x + i, mask), c, inverse));
  }
}

double SumSquaresAvx2(const float* x, int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 4; ++k) {
      const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * k));
      acc[k] = _mm256_fmadd_pd(v, v, acc[k]);
    }
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]),
                                       _mm256_add_pd(acc[2], acc[3])));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

void SiluMulAvx2(float* gate, const float* up, int64_t n) { GatedMul<SiluTimes>(gate, up, n); }

void GeluTanhMulAvx2(float* gate, const float* up, int64_t n) {
  GatedMul<GeluTanhTimes>(gate, up, n);
}

}  // namespace sigma::internal
