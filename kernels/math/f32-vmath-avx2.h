/*
 * Vector math on eight floats (AVX2 + FMA): exp, log, tanh, erf and sigmoid, and horizontal
 * sums and maxima, for the kernels in files named *-avx2.c (only they are compiled with
 * -mavx2 -mfma).
 *
 * Accuracy: tests/unit/test_kernels_vector_math.c measures every function against SLEEF over
 * the whole float range, gradual underflow included (results in the denormal range are rounded
 * once, not flushed), and holds it to a bound: 1.5 ulp for exp, erf and log, 2 for tanh, 3 for
 * sigmoid (measured: 0.98, 0.94, 0.90, 1.40, 2.24). ±inf and NaN go through as the C
 * library's functions treat them. The range-limited exp (thaw_vexp_normal_f32__avx2) is tested
 * through erf and softmax, which call it; on its own it measured 0.99 ulp against glibc's exp
 * (every 25th float of [-87, 88]).
 *
 * The polynomial coefficients are weighted minimax fits (Lawson iterations on a least-squares
 * fit, in double) of the function named next to them, rounded to float.
 */
#ifndef THAW_KERNELS_MATH_F32_VMATH_AVX2_H
#define THAW_KERNELS_MATH_F32_VMATH_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#include "kernels/math/x32-tail-mask-avx2.h"

/* Sum and maximum of the eight lanes. */
static inline float thaw_vreduce_add_f32__avx2(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

static inline float thaw_vreduce_max_f32__avx2(__m256 v) {
  __m128 maximum = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  maximum = _mm_max_ps(maximum, _mm_movehl_ps(maximum, maximum));
  maximum = _mm_max_ss(maximum, _mm_movehdup_ps(maximum));
  return _mm_cvtss_f32(maximum);
}

/* Sum of a contiguous row in 32 float lanes: each lane adds only n/32 values, which keeps
 * the rounding of a sum of large values small without any double arithmetic. */
static inline float thaw_row_sum_f32__avx2(size_t n, const float *x) {
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  __m256 sum2 = _mm256_setzero_ps(), sum3 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 32 <= n; c += 32) {
    sum0 = _mm256_add_ps(sum0, _mm256_loadu_ps(x + c));
    sum1 = _mm256_add_ps(sum1, _mm256_loadu_ps(x + c + 8));
    sum2 = _mm256_add_ps(sum2, _mm256_loadu_ps(x + c + 16));
    sum3 = _mm256_add_ps(sum3, _mm256_loadu_ps(x + c + 24));
  }
  for (; c + 8 <= n; c += 8) sum0 = _mm256_add_ps(sum0, _mm256_loadu_ps(x + c));
  if (c < n) sum1 = _mm256_add_ps(sum1, thaw_load_f32__avx2(x + c, n - c));
  return thaw_vreduce_add_f32__avx2(
      _mm256_add_ps(_mm256_add_ps(sum0, sum1), _mm256_add_ps(sum2, sum3)));
}

/* Only the sign bit of a float. */
static inline __m256 thaw_vsign_mask_f32__avx2(void) { return _mm256_set1_ps(-0.0f); }

/* e^r - 1 for |r| <= ln(2)/2, the reduced argument of both exps below. */
static inline __m256 thaw_vexpm1_reduced_f32__avx2(__m256 r) {
  /* (exp(r) - 1 - r) / r^2 */
  __m256 q = _mm256_set1_ps(0x1.6a244cp-10f);
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0x1.1239d4p-7f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0x1.5558f2p-5f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0x1.555492p-3f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0x1.fffffcp-2f));
  return _mm256_fmadd_ps(_mm256_mul_ps(r, r), q, r);
}

/* exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2.
 * ln 2 is split so that n * ln2_hi is exact and x - n * ln2_hi cancels exactly. 2^n is applied
 * as two factors 2^(n - n/2) and 2^(n/2), each a normal float: the product then overflows to
 * inf or rounds into the denormals exactly once, with no special case for either end. Clamping
 * x to ±150 keeps both factors normal and is far beyond where exp overflows or underflows. */
static inline __m256 thaw_vexp_f32__avx2(__m256 x) {
  const __m256 log2e = _mm256_set1_ps(0x1.715476p+0f);
  const __m256 ln2_hi = _mm256_set1_ps(0x1.62e400p-1f);
  const __m256 ln2_lo = _mm256_set1_ps(0x1.7f7d1cp-20f);
  /* max/min return their second operand when one is NaN: x, so NaN stays NaN. */
  x = _mm256_max_ps(_mm256_set1_ps(-150.0f), x);
  x = _mm256_min_ps(_mm256_set1_ps(150.0f), x);
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
  r = _mm256_fnmadd_ps(n, ln2_lo, r);

  const __m256 exp_r = _mm256_add_ps(thaw_vexpm1_reduced_f32__avx2(r), _mm256_set1_ps(1.0f));

  const __m256i exponent = _mm256_cvtps_epi32(n);
  const __m256i half_exponent = _mm256_srai_epi32(exponent, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 scale_a = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(exponent, half_exponent), bias), 23));
  const __m256 scale_b =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half_exponent, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(exp_r, scale_a), scale_b);
}

/* exp(x) for x in [-87, 88], where the result is a normal float (NaN stays NaN): the callers
 * that know their range (softmax after its maximum, erf's e^(-x^2) with |x| <= 4, tanh's
 * e^(2|x|) with |x| <= 9.5) skip the clamps and the two-factor scaling of thaw_vexp_f32__avx2,
 * 13 operations instead of 24.
 * Adding 1.5 * 2^23 + 127 to x * log2(e) rounds it to the integer n + 127 in the low mantissa
 * bits, which shifted into the exponent field are 2^n; the last step scales and adds 1 in one
 * rounding. */
static inline __m256 thaw_vexp_normal_f32__avx2(__m256 x) {
  const __m256 biased_rounder = _mm256_set1_ps(0x1.8000fep+23f);
  const __m256 biased_n = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), biased_rounder);
  const __m256 n = _mm256_sub_ps(biased_n, biased_rounder);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e400p-1f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), r);

  const __m256 expm1_r = thaw_vexpm1_reduced_f32__avx2(r);
  const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(biased_n), 23));
  return _mm256_fmadd_ps(expm1_r, scale, scale);
}

/* log(x) = e * ln 2 + log(1 + f), with x = 2^e * (1 + f) and 1 + f in [sqrt(1/2), sqrt(2)).
 * Denormal inputs are scaled by 2^23 first so their exponent field is meaningful. */
static inline __m256 thaw_vlog_f32__avx2(__m256 x) {
  const __m256 smallest_normal = _mm256_set1_ps(0x1p-126f);
  const __m256 is_denormal = _mm256_cmp_ps(x, smallest_normal, _CMP_LT_OQ);
  const __m256 scaled =
      _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(0x1p23f)), is_denormal);
  const __m256 exponent_adjust = _mm256_and_ps(is_denormal, _mm256_set1_ps(-23.0f));

  /* Subtracting the bits of sqrt(1/2) makes the exponent field round 1 + f into the interval. */
  const __m256i bits =
      _mm256_sub_epi32(_mm256_castps_si256(scaled), _mm256_set1_epi32(0x3f3504f3));
  const __m256i exponent_bits = _mm256_srai_epi32(bits, 23);
  const __m256 mantissa = _mm256_castsi256_ps(
      _mm256_sub_epi32(_mm256_castps_si256(scaled), _mm256_slli_epi32(exponent_bits, 23)));
  const __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(exponent_bits), exponent_adjust);
  const __m256 f = _mm256_sub_ps(mantissa, _mm256_set1_ps(1.0f));

  /* (log(1 + f) - f) / f^2 */
  __m256 q = _mm256_set1_ps(-0x1.3833a2p-4f);
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0x1.0849c4p-3f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(-0x1.0f3758p-3f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0x1.22715cp-3f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(-0x1.542766p-3f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0x1.99a3f6p-3f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(-0x1.000426p-2f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0x1.555550p-2f));
  q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(-0x1.fffff8p-2f));
  const __m256 log_mantissa = _mm256_fmadd_ps(_mm256_mul_ps(f, f), q, f);
  __m256 y = _mm256_fmadd_ps(e, _mm256_set1_ps(0x1.7f7d1cp-20f), log_mantissa);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(0x1.62e400p-1f), y);

  /* log(+inf) = +inf and log(NaN) = NaN return x itself; log(±0) = -inf; log(x < 0) = NaN. */
  const __m256 infinity = _mm256_set1_ps(__builtin_inff());
  const __m256 returns_x = _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                                        _mm256_cmp_ps(x, infinity, _CMP_EQ_OQ));
  y = _mm256_blendv_ps(y, x, returns_x);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_nanf("")),
                       _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, _mm256_sub_ps(_mm256_setzero_ps(), infinity),
                          _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
}

/* tanh is odd: computed on |x| and given x's sign. Below 0.5493 (where tanh = 1/2) an odd
 * polynomial keeps the relative accuracy that 1 - 2/(e^2|x| + 1) would lose to cancellation;
 * above it that formula is accurate. From 9.5 on it rounds to 1, so |x| is clamped there for
 * the exponential, which then stays normal (this also takes inf to 1). */
static inline __m256 thaw_vtanh_f32__avx2(__m256 x) {
  const __m256 sign_mask = thaw_vsign_mask_f32__avx2();
  const __m256 sign = _mm256_and_ps(x, sign_mask);
  const __m256 magnitude = _mm256_andnot_ps(sign_mask, x);

  /* (tanh(x) - x) / x^3 as a polynomial in x^2 */
  const __m256 square = _mm256_mul_ps(magnitude, magnitude);
  __m256 p = _mm256_set1_ps(-0x1.9b88ccp-8f);
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(0x1.594bb8p-6f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(-0x1.b92a24p-5f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(0x1.110d30p-3f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(-0x1.55554ap-2f));
  const __m256 near_zero = _mm256_fmadd_ps(_mm256_mul_ps(magnitude, square), p, magnitude);

  const __m256 one = _mm256_set1_ps(1.0f);
  /* min returns its second operand, so NaN survives the clamp. */
  const __m256 saturating = _mm256_min_ps(_mm256_set1_ps(9.5f), magnitude);
  const __m256 exp_2x = thaw_vexp_normal_f32__avx2(_mm256_add_ps(saturating, saturating));
  const __m256 far =
      _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp_2x, one)));

  const __m256 use_polynomial = _mm256_cmp_ps(magnitude, _mm256_set1_ps(0.5493f), _CMP_LT_OQ);
  return _mm256_or_ps(_mm256_blendv_ps(far, near_zero, use_polynomial), sign);
}

/* erf is odd: computed on |x| and given x's sign. Below 0.921875 an odd polynomial; above,
 * erf = 1 - e^(-x^2) * g(x) where g = erfc * e^(x^2) is smooth enough for a polynomial. From
 * 4 on, erf rounds to 1, so |x| is clamped there (which also takes inf to 1). */
static inline __m256 thaw_verf_f32__avx2(__m256 x) {
  const __m256 sign_mask = thaw_vsign_mask_f32__avx2();
  const __m256 sign = _mm256_and_ps(x, sign_mask);
  /* min returns its second operand, so NaN survives the clamp. */
  const __m256 magnitude = _mm256_min_ps(_mm256_set1_ps(4.0f), _mm256_andnot_ps(sign_mask, x));
  const __m256 square = _mm256_mul_ps(magnitude, magnitude);

  /* erf(x) / x - 1 as a polynomial in x^2 */
  __m256 p = _mm256_set1_ps(0x1.5f11b2p-14f);
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(-0x1.aae9acp-11f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(0x1.54dadcp-8f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(-0x1.b8107cp-6f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(0x1.ce2e20p-4f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(-0x1.812744p-2f));
  p = _mm256_fmadd_ps(p, square, _mm256_set1_ps(0x1.06eba8p-3f));
  const __m256 near_zero = _mm256_fmadd_ps(magnitude, p, magnitude);

  /* erfc(x) * e^(x^2) around the middle of [0.921875, 4] */
  const __m256 t = _mm256_sub_ps(magnitude, _mm256_set1_ps(2.4609375f));
  __m256 g = _mm256_set1_ps(0x1.0c73f0p-13f);
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(0x1.38468ep-12f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(0x1.62d67ap-11f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(-0x1.5a1c58p-11f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(0x1.3bb9dcp-9f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(-0x1.192728p-7f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(0x1.a7b76ep-6f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(-0x1.38a232p-4f));
  g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(0x1.b5c304p-3f));
  const __m256 exp_minus_square =
      thaw_vexp_normal_f32__avx2(_mm256_sub_ps(_mm256_setzero_ps(), square));
  const __m256 far = _mm256_fnmadd_ps(exp_minus_square, g, _mm256_set1_ps(1.0f));

  const __m256 use_polynomial = _mm256_cmp_ps(magnitude, _mm256_set1_ps(0.921875f), _CMP_LT_OQ);
  return _mm256_or_ps(_mm256_blendv_ps(far, near_zero, use_polynomial), sign);
}

/* sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0: with e = e^-|x| <= 1
 * neither form overflows, and for very negative x the result is e itself, denormals
 * included. */
static inline __m256 thaw_vsigmoid_f32__avx2(__m256 x) {
  const __m256 minus_magnitude = _mm256_or_ps(x, thaw_vsign_mask_f32__avx2());
  const __m256 e = thaw_vexp_f32__avx2(minus_magnitude);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 numerator = _mm256_blendv_ps(one, e, x);
  return _mm256_div_ps(numerator, _mm256_add_ps(one, e));
}

#endif /* THAW_KERNELS_MATH_F32_VMATH_AVX2_H */
