/*
 * Vector math on four floats (AArch64 Advanced SIMD): exp, log, tanh, erf and sigmoid, and
 * horizontal sums and maxima, for the kernels in files named *-neon.c. The twin of
 * f32-vmath-avx2.h: the same range reductions and the same polynomial coefficients (weighted
 * minimax fits, in double, of the function named next to them, rounded to float), so both
 * tables have the same accuracy; tests/unit/test_kernels_vector_math.c holds every vector table
 * to the same bounds against SLEEF.
 *
 * Where the AVX2 version leans on max_ps/min_ps returning their second operand for NaN, NEON's
 * FMAX/FMIN propagate NaN instead; every use below is one where either way keeps NaN a NaN.
 */
#ifndef THAW_KERNELS_MATH_F32_VMATH_NEON_H
#define THAW_KERNELS_MATH_F32_VMATH_NEON_H

#include <arm_neon.h>
#include <stddef.h>

#include "kernels/math/x32-tail-neon.h"

static inline float thaw_vreduce_add_f32__neon(float32x4_t v) { return vaddvq_f32(v); }
static inline float thaw_vreduce_max_f32__neon(float32x4_t v) { return vmaxvq_f32(v); }

/* Sum of a contiguous row in 16 float lanes: each lane adds only n/16 values, which keeps the
 * rounding of a sum of large values small without any double arithmetic. */
static inline float thaw_row_sum_f32__neon(size_t n, const float *x) {
  float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = vdupq_n_f32(0.0f);
  float32x4_t sum2 = vdupq_n_f32(0.0f), sum3 = vdupq_n_f32(0.0f);
  size_t c = 0;
  for (; c + 16 <= n; c += 16) {
    sum0 = vaddq_f32(sum0, vld1q_f32(x + c));
    sum1 = vaddq_f32(sum1, vld1q_f32(x + c + 4));
    sum2 = vaddq_f32(sum2, vld1q_f32(x + c + 8));
    sum3 = vaddq_f32(sum3, vld1q_f32(x + c + 12));
  }
  for (; c + 4 <= n; c += 4) sum0 = vaddq_f32(sum0, vld1q_f32(x + c));
  if (c < n) sum1 = vaddq_f32(sum1, thaw_load_f32__neon(x + c, n - c));
  return vaddvq_f32(vaddq_f32(vaddq_f32(sum0, sum1), vaddq_f32(sum2, sum3)));
}

/* Only the sign bit of a float. */
static inline uint32x4_t thaw_vsign_mask_f32__neon(void) { return vdupq_n_u32(0x80000000u); }

/* e^r - 1 for |r| <= ln(2)/2, the reduced argument of both exps below. */
static inline float32x4_t thaw_vexpm1_reduced_f32__neon(float32x4_t r) {
  /* (exp(r) - 1 - r) / r^2 */
  float32x4_t q = vdupq_n_f32(0x1.6a244cp-10f);
  q = vfmaq_f32(vdupq_n_f32(0x1.1239d4p-7f), q, r);
  q = vfmaq_f32(vdupq_n_f32(0x1.5558f2p-5f), q, r);
  q = vfmaq_f32(vdupq_n_f32(0x1.555492p-3f), q, r);
  q = vfmaq_f32(vdupq_n_f32(0x1.fffffcp-2f), q, r);
  return vfmaq_f32(r, vmulq_f32(r, r), q);
}

/* exp(x) = 2^n * exp(r), n = round(x / ln 2), |r| <= ln(2)/2, ln 2 split so that n * ln2_hi is
 * exact. 2^n is applied as two normal factors 2^(n - n/2) and 2^(n/2), so the product overflows
 * or rounds into the denormals exactly once; clamping x to ±150 keeps both factors normal. */
static inline float32x4_t thaw_vexp_f32__neon(float32x4_t x) {
  const float32x4_t log2e = vdupq_n_f32(0x1.715476p+0f);
  const float32x4_t ln2_hi = vdupq_n_f32(0x1.62e400p-1f);
  const float32x4_t ln2_lo = vdupq_n_f32(0x1.7f7d1cp-20f);
  /* FMAX/FMIN return NaN for a NaN x: NaN stays NaN. */
  x = vmaxq_f32(vdupq_n_f32(-150.0f), x);
  x = vminq_f32(vdupq_n_f32(150.0f), x);
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, log2e));
  float32x4_t r = vfmsq_f32(x, n, ln2_hi);
  r = vfmsq_f32(r, n, ln2_lo);

  const float32x4_t exp_r = vaddq_f32(thaw_vexpm1_reduced_f32__neon(r), vdupq_n_f32(1.0f));

  /* NaN converts to 0: the scale is then finite and exp_r carries the NaN. */
  const int32x4_t exponent = vcvtq_s32_f32(n);
  const int32x4_t half_exponent = vshrq_n_s32(exponent, 1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t scale_a = vreinterpretq_f32_s32(
      vshlq_n_s32(vaddq_s32(vsubq_s32(exponent, half_exponent), bias), 23));
  const float32x4_t scale_b =
      vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half_exponent, bias), 23));
  return vmulq_f32(vmulq_f32(exp_r, scale_a), scale_b);
}

/* exp(x) for x in [-87, 88], where the result is a normal float (NaN stays NaN), without the
 * clamps and the two-factor scaling: thaw_vexp_normal_f32__avx2's twin. */
static inline float32x4_t thaw_vexp_normal_f32__neon(float32x4_t x) {
  const float32x4_t biased_rounder = vdupq_n_f32(0x1.8000fep+23f);
  const float32x4_t biased_n = vfmaq_f32(biased_rounder, x, vdupq_n_f32(0x1.715476p+0f));
  const float32x4_t n = vsubq_f32(biased_n, biased_rounder);
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0x1.62e400p-1f));
  r = vfmsq_f32(r, n, vdupq_n_f32(0x1.7f7d1cp-20f));

  const float32x4_t expm1_r = thaw_vexpm1_reduced_f32__neon(r);
  const float32x4_t scale =
      vreinterpretq_f32_s32(vshlq_n_s32(vreinterpretq_s32_f32(biased_n), 23));
  return vfmaq_f32(scale, expm1_r, scale);
}

/* log(x) = e * ln 2 + log(1 + f), with x = 2^e * (1 + f) and 1 + f in [sqrt(1/2), sqrt(2)).
 * Denormal inputs are scaled by 2^23 first so their exponent field is meaningful. */
static inline float32x4_t thaw_vlog_f32__neon(float32x4_t x) {
  const uint32x4_t is_denormal = vcltq_f32(x, vdupq_n_f32(0x1p-126f));
  const float32x4_t scaled = vbslq_f32(is_denormal, vmulq_f32(x, vdupq_n_f32(0x1p23f)), x);
  const float32x4_t exponent_adjust = vreinterpretq_f32_u32(
      vandq_u32(is_denormal, vreinterpretq_u32_f32(vdupq_n_f32(-23.0f))));

  /* Subtracting the bits of sqrt(1/2) makes the exponent field round 1 + f into the interval. */
  const int32x4_t bits =
      vsubq_s32(vreinterpretq_s32_f32(scaled), vdupq_n_s32(0x3f3504f3));
  const int32x4_t exponent_bits = vshrq_n_s32(bits, 23);
  const float32x4_t mantissa = vreinterpretq_f32_s32(
      vsubq_s32(vreinterpretq_s32_f32(scaled), vshlq_n_s32(exponent_bits, 23)));
  const float32x4_t e = vaddq_f32(vcvtq_f32_s32(exponent_bits), exponent_adjust);
  const float32x4_t f = vsubq_f32(mantissa, vdupq_n_f32(1.0f));

  /* (log(1 + f) - f) / f^2 */
  float32x4_t q = vdupq_n_f32(-0x1.3833a2p-4f);
  q = vfmaq_f32(vdupq_n_f32(0x1.0849c4p-3f), q, f);
  q = vfmaq_f32(vdupq_n_f32(-0x1.0f3758p-3f), q, f);
  q = vfmaq_f32(vdupq_n_f32(0x1.22715cp-3f), q, f);
  q = vfmaq_f32(vdupq_n_f32(-0x1.542766p-3f), q, f);
  q = vfmaq_f32(vdupq_n_f32(0x1.99a3f6p-3f), q, f);
  q = vfmaq_f32(vdupq_n_f32(-0x1.000426p-2f), q, f);
  q = vfmaq_f32(vdupq_n_f32(0x1.555550p-2f), q, f);
  q = vfmaq_f32(vdupq_n_f32(-0x1.fffff8p-2f), q, f);
  const float32x4_t log_mantissa = vfmaq_f32(f, vmulq_f32(f, f), q);
  float32x4_t y = vfmaq_f32(log_mantissa, e, vdupq_n_f32(0x1.7f7d1cp-20f));
  y = vfmaq_f32(y, e, vdupq_n_f32(0x1.62e400p-1f));

  /* log(+inf) = +inf and log(NaN) = NaN return x itself; log(±0) = -inf; log(x < 0) = NaN. */
  const float32x4_t infinity = vdupq_n_f32(__builtin_inff());
  const uint32x4_t returns_x = vorrq_u32(vmvnq_u32(vceqq_f32(x, x)), vceqq_f32(x, infinity));
  y = vbslq_f32(returns_x, x, y);
  y = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), vdupq_n_f32(__builtin_nanf("")), y);
  return vbslq_f32(vceqq_f32(x, vdupq_n_f32(0.0f)), vnegq_f32(infinity), y);
}

/* tanh is odd: computed on |x| and given x's sign. Below 0.5493 (where tanh = 1/2) an odd
 * polynomial keeps the relative accuracy that 1 - 2/(e^2|x| + 1) would lose to cancellation;
 * above it that formula is accurate, and rounds to 1 from |x| = 9.5 on. */
static inline float32x4_t thaw_vtanh_f32__neon(float32x4_t x) {
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), thaw_vsign_mask_f32__neon());
  const float32x4_t magnitude = vabsq_f32(x);

  /* (tanh(x) - x) / x^3 as a polynomial in x^2 */
  const float32x4_t square = vmulq_f32(magnitude, magnitude);
  float32x4_t p = vdupq_n_f32(-0x1.9b88ccp-8f);
  p = vfmaq_f32(vdupq_n_f32(0x1.594bb8p-6f), p, square);
  p = vfmaq_f32(vdupq_n_f32(-0x1.b92a24p-5f), p, square);
  p = vfmaq_f32(vdupq_n_f32(0x1.110d30p-3f), p, square);
  p = vfmaq_f32(vdupq_n_f32(-0x1.55554ap-2f), p, square);
  const float32x4_t near_zero = vfmaq_f32(magnitude, vmulq_f32(magnitude, square), p);

  const float32x4_t one = vdupq_n_f32(1.0f);
  /* tanh rounds to 1 from 9.5 on: clamped there, the exponential stays normal. */
  const float32x4_t saturating = vminq_f32(vdupq_n_f32(9.5f), magnitude);
  const float32x4_t exp_2x = thaw_vexp_normal_f32__neon(vaddq_f32(saturating, saturating));
  const float32x4_t far = vsubq_f32(one, vdivq_f32(vdupq_n_f32(2.0f), vaddq_f32(exp_2x, one)));

  const uint32x4_t use_polynomial = vcltq_f32(magnitude, vdupq_n_f32(0.5493f));
  const float32x4_t unsigned_result = vbslq_f32(use_polynomial, near_zero, far);
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(unsigned_result), sign));
}

/* erf is odd: computed on |x| and given x's sign. Below 0.921875 an odd polynomial; above,
 * erf = 1 - e^(-x^2) * g(x) where g = erfc * e^(x^2) is smooth enough for a polynomial. From
 * 4 on, erf rounds to 1, so |x| is clamped there (which also takes inf to 1). */
static inline float32x4_t thaw_verf_f32__neon(float32x4_t x) {
  const uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(x), thaw_vsign_mask_f32__neon());
  /* FMIN propagates NaN, so NaN survives the clamp. */
  const float32x4_t magnitude = vminq_f32(vdupq_n_f32(4.0f), vabsq_f32(x));
  const float32x4_t square = vmulq_f32(magnitude, magnitude);

  /* erf(x) / x - 1 as a polynomial in x^2 */
  float32x4_t p = vdupq_n_f32(0x1.5f11b2p-14f);
  p = vfmaq_f32(vdupq_n_f32(-0x1.aae9acp-11f), p, square);
  p = vfmaq_f32(vdupq_n_f32(0x1.54dadcp-8f), p, square);
  p = vfmaq_f32(vdupq_n_f32(-0x1.b8107cp-6f), p, square);
  p = vfmaq_f32(vdupq_n_f32(0x1.ce2e20p-4f), p, square);
  p = vfmaq_f32(vdupq_n_f32(-0x1.812744p-2f), p, square);
  p = vfmaq_f32(vdupq_n_f32(0x1.06eba8p-3f), p, square);
  const float32x4_t near_zero = vfmaq_f32(magnitude, magnitude, p);

  /* erfc(x) * e^(x^2) around the middle of [0.921875, 4] */
  const float32x4_t t = vsubq_f32(magnitude, vdupq_n_f32(2.4609375f));
  float32x4_t g = vdupq_n_f32(0x1.0c73f0p-13f);
  g = vfmaq_f32(vdupq_n_f32(0x1.38468ep-12f), g, t);
  g = vfmaq_f32(vdupq_n_f32(0x1.62d67ap-11f), g, t);
  g = vfmaq_f32(vdupq_n_f32(-0x1.5a1c58p-11f), g, t);
  g = vfmaq_f32(vdupq_n_f32(0x1.3bb9dcp-9f), g, t);
  g = vfmaq_f32(vdupq_n_f32(-0x1.192728p-7f), g, t);
  g = vfmaq_f32(vdupq_n_f32(0x1.a7b76ep-6f), g, t);
  g = vfmaq_f32(vdupq_n_f32(-0x1.38a232p-4f), g, t);
  g = vfmaq_f32(vdupq_n_f32(0x1.b5c304p-3f), g, t);
  const float32x4_t exp_minus_square = thaw_vexp_normal_f32__neon(vnegq_f32(square));
  const float32x4_t far = vfmsq_f32(vdupq_n_f32(1.0f), exp_minus_square, g);

  const uint32x4_t use_polynomial = vcltq_f32(magnitude, vdupq_n_f32(0.921875f));
  const float32x4_t unsigned_result = vbslq_f32(use_polynomial, near_zero, far);
  return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(unsigned_result), sign));
}

/* sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0: with e = e^-|x| <= 1
 * neither form overflows, and for very negative x the result is e itself, denormals
 * included. */
static inline float32x4_t thaw_vsigmoid_f32__neon(float32x4_t x) {
  const float32x4_t e = thaw_vexp_f32__neon(vnegq_f32(vabsq_f32(x)));
  const float32x4_t one = vdupq_n_f32(1.0f);
  const float32x4_t numerator = vbslq_f32(vcltq_f32(x, vdupq_n_f32(0.0f)), e, one);
  return vdivq_f32(numerator, vaddq_f32(one, e));
}

#endif /* THAW_KERNELS_MATH_F32_VMATH_NEON_H */
