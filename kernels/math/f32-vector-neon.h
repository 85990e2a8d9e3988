/*
 * The f32 vector interface on AArch64 Advanced SIMD: four floats as a thaw_f32v, with the names
 * and meanings that f32-vector-avx2.h documents, for the ISA-neutral drivers. Include only from
 * *-neon.c files.
 */
#ifndef THAW_KERNELS_MATH_F32_VECTOR_NEON_H
#define THAW_KERNELS_MATH_F32_VECTOR_NEON_H

#include <arm_neon.h>
#include <stddef.h>

#include "kernels/math/f32-vmath-neon.h"
#include "kernels/math/x32-tail-neon.h"

typedef float32x4_t thaw_f32v;
#define THAW_F32V_LANES 4

static inline thaw_f32v thaw_f32v_load(const float *p) { return vld1q_f32(p); }
static inline void thaw_f32v_store(float *p, thaw_f32v v) { vst1q_f32(p, v); }
static inline thaw_f32v thaw_f32v_load_partial(const float *p, size_t count) {
  return thaw_load_f32__neon(p, count);
}
static inline void thaw_f32v_store_partial(float *p, size_t count, thaw_f32v v) {
  thaw_store_f32__neon(p, count, v);
}

static inline void thaw_f32v_store_interleaved(float *p, thaw_f32v even, thaw_f32v odd) {
  vst2q_f32(p, (float32x4x2_t){{even, odd}});
}

static inline thaw_f32v thaw_f32v_dup(float value) { return vdupq_n_f32(value); }
static inline thaw_f32v thaw_f32v_zero(void) { return vdupq_n_f32(0.0f); }

static inline thaw_f32v thaw_f32v_add(thaw_f32v a, thaw_f32v b) { return vaddq_f32(a, b); }
static inline thaw_f32v thaw_f32v_sub(thaw_f32v a, thaw_f32v b) { return vsubq_f32(a, b); }
static inline thaw_f32v thaw_f32v_mul(thaw_f32v a, thaw_f32v b) { return vmulq_f32(a, b); }
static inline thaw_f32v thaw_f32v_div(thaw_f32v a, thaw_f32v b) { return vdivq_f32(a, b); }
static inline thaw_f32v thaw_f32v_fmadd(thaw_f32v a, thaw_f32v b, thaw_f32v c) {
  return vfmaq_f32(c, a, b);
}
/* FMAX: NaN from either operand. */
static inline thaw_f32v thaw_f32v_max(thaw_f32v a, thaw_f32v b) { return vmaxq_f32(a, b); }
/* FMIN: NaN from either operand. */
static inline thaw_f32v thaw_f32v_min(thaw_f32v a, thaw_f32v b) { return vminq_f32(a, b); }

/* v in the lanes where x >= limit or x is NaN, 0 in the others. */
static inline thaw_f32v thaw_f32v_zero_below(thaw_f32v v, thaw_f32v x, thaw_f32v limit) {
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), vcltq_f32(x, limit)));
}

static inline thaw_f32v thaw_f32v_first_lanes_or(thaw_f32v v, size_t count, thaw_f32v fill) {
  return vbslq_f32(thaw_tail_mask__neon(count), v, fill);
}

static inline float thaw_f32v_reduce_add(thaw_f32v v) { return thaw_vreduce_add_f32__neon(v); }
static inline float thaw_f32v_reduce_max(thaw_f32v v) { return thaw_vreduce_max_f32__neon(v); }

static inline thaw_f32v thaw_f32v_sqrt(thaw_f32v x) { return vsqrtq_f32(x); }
static inline thaw_f32v thaw_f32v_exp(thaw_f32v x) { return thaw_vexp_f32__neon(x); }
/* e^x for x in [-87, 88] only (a normal result), cheaper than thaw_f32v_exp. */
static inline thaw_f32v thaw_f32v_exp_normal(thaw_f32v x) { return thaw_vexp_normal_f32__neon(x); }
static inline thaw_f32v thaw_f32v_log(thaw_f32v x) { return thaw_vlog_f32__neon(x); }
static inline thaw_f32v thaw_f32v_tanh(thaw_f32v x) { return thaw_vtanh_f32__neon(x); }
static inline thaw_f32v thaw_f32v_erf(thaw_f32v x) { return thaw_verf_f32__neon(x); }
static inline thaw_f32v thaw_f32v_sigmoid(thaw_f32v x) { return thaw_vsigmoid_f32__neon(x); }
static inline float thaw_f32v_row_sum(size_t n, const float *x) {
  return thaw_row_sum_f32__neon(n, x);
}

#endif /* THAW_KERNELS_MATH_F32_VECTOR_NEON_H */
