/* Unary elementwise ops on AVX2: the bodies whose NaN and sign handling is the ISA's own
 * (ReLU, Clip, HardSigmoid, HardSwish, LeakyRelu, Neg, Abs), bound to the shared driver. */
#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/elementwise/f32-unary-driver.h"

static inline __m256 vector_relu(__m256 x, const thaw_unary_constants *c) {
  (void)c;
  /* max returns its second operand for NaN: 0, as the reference's x > 0 ? x : 0. */
  return _mm256_max_ps(x, _mm256_setzero_ps());
}

static inline __m256 vector_clip(__m256 x, const thaw_unary_constants *c) {
  return _mm256_min_ps(_mm256_max_ps(x, c->alpha), c->beta);
}

static inline __m256 clamp_unit(__m256 x) {
  return _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
}

static inline __m256 vector_hard_sigmoid(__m256 x, const thaw_unary_constants *c) {
  return clamp_unit(_mm256_fmadd_ps(c->alpha, x, c->beta));
}

static inline __m256 vector_hard_swish(__m256 x, const thaw_unary_constants *c) {
  (void)c;
  const __m256 gate = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
  return _mm256_mul_ps(x, clamp_unit(gate));
}

static inline __m256 vector_leaky_relu(__m256 x, const thaw_unary_constants *c) {
  const __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(x, _mm256_mul_ps(x, c->alpha), negative);
}

static inline __m256 vector_neg(__m256 x, const thaw_unary_constants *c) {
  (void)c;
  return _mm256_xor_ps(x, thaw_vsign_mask_f32__avx2());
}

static inline __m256 vector_abs(__m256 x, const thaw_unary_constants *c) {
  (void)c;
  return _mm256_andnot_ps(thaw_vsign_mask_f32__avx2(), x);
}

void thaw_f32_unary__avx2(const thaw_unary_params *p, size_t n, const float *x, float *y) {
  thaw_f32_unary_drive(p, n, x, y);
}
