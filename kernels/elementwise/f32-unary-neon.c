/* Unary elementwise ops on NEON: the bodies whose NaN and sign handling is the ISA's own
 * (ReLU, Clip, HardSigmoid, HardSwish, LeakyRelu, Neg, Abs), bound to the shared driver. */
#include <arm_neon.h>

#include "kernels/math/f32-vector-neon.h"
#include "kernels/neon.h"
#include "kernels/elementwise/f32-unary-driver.h"

static inline float32x4_t vector_relu(float32x4_t x, const thaw_unary_constants *c) {
  (void)c;
  /* x > 0 ? x : 0, NaN to 0 as in the reference (FMAX would keep the NaN). */
  return vreinterpretq_f32_u32(
      vandq_u32(vreinterpretq_u32_f32(x), vcgtq_f32(x, vdupq_n_f32(0.0f))));
}

/* FMAXNM/FMINNM return the number when one operand is NaN, as fmaxf/fminf do. */
static inline float32x4_t vector_clip(float32x4_t x, const thaw_unary_constants *c) {
  return vminnmq_f32(vmaxnmq_f32(x, c->alpha), c->beta);
}

/* max(0, min(1, x)) in the reference's order. */
static inline float32x4_t clamp_unit(float32x4_t x) {
  return vmaxnmq_f32(vdupq_n_f32(0.0f), vminnmq_f32(vdupq_n_f32(1.0f), x));
}

static inline float32x4_t vector_hard_sigmoid(float32x4_t x, const thaw_unary_constants *c) {
  return clamp_unit(vfmaq_f32(c->beta, c->alpha, x));
}

static inline float32x4_t vector_hard_swish(float32x4_t x, const thaw_unary_constants *c) {
  (void)c;
  const float32x4_t gate = vfmaq_f32(vdupq_n_f32(0.5f), x, vdupq_n_f32(1.0f / 6.0f));
  return vmulq_f32(x, clamp_unit(gate));
}

static inline float32x4_t vector_leaky_relu(float32x4_t x, const thaw_unary_constants *c) {
  const uint32x4_t negative = vcltq_f32(x, vdupq_n_f32(0.0f));
  return vbslq_f32(negative, vmulq_f32(x, c->alpha), x);
}

static inline float32x4_t vector_neg(float32x4_t x, const thaw_unary_constants *c) {
  (void)c;
  return vnegq_f32(x);
}

static inline float32x4_t vector_abs(float32x4_t x, const thaw_unary_constants *c) {
  (void)c;
  return vabsq_f32(x);
}

void thaw_f32_unary__neon(const thaw_unary_params *p, size_t n, const float *x, float *y) {
  thaw_f32_unary_drive(p, n, x, y);
}
