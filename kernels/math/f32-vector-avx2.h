/*
 * The f32 vector interface on AVX2 + FMA: eight floats as a thaw_f32v. The ISA-neutral drivers
 * (kernels/<family>/f32-<op>-driver.h) are written once against this interface and compiled
 * per ISA: each ISA's file includes its own version of the interface, then the driver.
 * f32-vector-neon.h is the other implementation, with the same names and meanings. Include only
 * from *-avx2.c files.
 *
 * Partial loads and stores take count in [1, THAW_F32V_LANES]: lanes past count load as 0 and
 * are not stored, and nothing past p + count is touched. Drivers pass a constant
 * THAW_F32V_LANES in their main loops, which makes them plain loads and stores.
 */
#ifndef THAW_KERNELS_MATH_F32_VECTOR_AVX2_H
#define THAW_KERNELS_MATH_F32_VECTOR_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

typedef __m256 thaw_f32v;
#define THAW_F32V_LANES 8

static inline thaw_f32v thaw_f32v_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void thaw_f32v_store(float *p, thaw_f32v v) { _mm256_storeu_ps(p, v); }
static inline thaw_f32v thaw_f32v_load_partial(const float *p, size_t count) {
  return thaw_load_f32__avx2(p, count);
}
static inline void thaw_f32v_store_partial(float *p, size_t count, thaw_f32v v) {
  thaw_store_f32__avx2(p, count, v);
}

/* even[0], odd[0], even[1], odd[1]...: 2 * THAW_F32V_LANES floats from p. */
static inline void thaw_f32v_store_interleaved(float *p, thaw_f32v even, thaw_f32v odd) {
  const __m256 low_pairs = _mm256_unpacklo_ps(even, odd);   /* pairs 0, 1 | 4, 5 */
  const __m256 high_pairs = _mm256_unpackhi_ps(even, odd);  /* pairs 2, 3 | 6, 7 */
  _mm256_storeu_ps(p, _mm256_permute2f128_ps(low_pairs, high_pairs, 0x20));
  _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(low_pairs, high_pairs, 0x31));
}

static inline thaw_f32v thaw_f32v_dup(float value) { return _mm256_set1_ps(value); }
static inline thaw_f32v thaw_f32v_zero(void) { return _mm256_setzero_ps(); }

static inline thaw_f32v thaw_f32v_add(thaw_f32v a, thaw_f32v b) { return _mm256_add_ps(a, b); }
static inline thaw_f32v thaw_f32v_sub(thaw_f32v a, thaw_f32v b) { return _mm256_sub_ps(a, b); }
static inline thaw_f32v thaw_f32v_mul(thaw_f32v a, thaw_f32v b) { return _mm256_mul_ps(a, b); }
static inline thaw_f32v thaw_f32v_div(thaw_f32v a, thaw_f32v b) { return _mm256_div_ps(a, b); }
/* a * b + c, rounded once. */
static inline thaw_f32v thaw_f32v_fmadd(thaw_f32v a, thaw_f32v b, thaw_f32v c) {
  return _mm256_fmadd_ps(a, b, c);
}
/* The larger of a and b; for a NaN operand the result is b (NEON's is NaN): use it only where
 * either answer is acceptable. */
static inline thaw_f32v thaw_f32v_max(thaw_f32v a, thaw_f32v b) { return _mm256_max_ps(a, b); }
/* The smaller of a and b, with the same NaN rule as thaw_f32v_max. */
static inline thaw_f32v thaw_f32v_min(thaw_f32v a, thaw_f32v b) { return _mm256_min_ps(a, b); }

/* v in the lanes where x >= limit or x is NaN, 0 in the others. */
static inline thaw_f32v thaw_f32v_zero_below(thaw_f32v v, thaw_f32v x, thaw_f32v limit) {
  return _mm256_andnot_ps(_mm256_cmp_ps(x, limit, _CMP_LT_OQ), v);
}

/* Lanes [0, count) of v and `fill` in the others, count in [0, THAW_F32V_LANES]. */
static inline thaw_f32v thaw_f32v_first_lanes_or(thaw_f32v v, size_t count, thaw_f32v fill) {
  return _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(thaw_tail_mask__avx2(count)));
}

static inline float thaw_f32v_reduce_add(thaw_f32v v) { return thaw_vreduce_add_f32__avx2(v); }
static inline float thaw_f32v_reduce_max(thaw_f32v v) { return thaw_vreduce_max_f32__avx2(v); }

static inline thaw_f32v thaw_f32v_sqrt(thaw_f32v x) { return _mm256_sqrt_ps(x); }
/* The vector math of f32-vmath-avx2.h, with its accuracy. */
static inline thaw_f32v thaw_f32v_exp(thaw_f32v x) { return thaw_vexp_f32__avx2(x); }
/* e^x for x in [-87, 88] only (a normal result), cheaper than thaw_f32v_exp. */
static inline thaw_f32v thaw_f32v_exp_normal(thaw_f32v x) { return thaw_vexp_normal_f32__avx2(x); }
static inline thaw_f32v thaw_f32v_log(thaw_f32v x) { return thaw_vlog_f32__avx2(x); }
static inline thaw_f32v thaw_f32v_tanh(thaw_f32v x) { return thaw_vtanh_f32__avx2(x); }
static inline thaw_f32v thaw_f32v_erf(thaw_f32v x) { return thaw_verf_f32__avx2(x); }
static inline thaw_f32v thaw_f32v_sigmoid(thaw_f32v x) { return thaw_vsigmoid_f32__avx2(x); }
/* The sum of n contiguous floats, in as many lanes as keep its rounding small. */
static inline float thaw_f32v_row_sum(size_t n, const float *x) {
  return thaw_row_sum_f32__avx2(n, x);
}

#endif /* THAW_KERNELS_MATH_F32_VECTOR_AVX2_H */
