#include <arm_neon.h>

#include "kernels/math/f32-vmath-neon.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* alpha and beta of thaw_unary_params, broadcast once per call. */
typedef struct unary_constants {
  float32x4_t alpha, beta;
} unary_constants;

typedef float32x4_t (*unary_vector_fn)(float32x4_t x, const unary_constants *c);

/* Eight floats (two quads, for two independent dependency chains) at a time, then quads, then
 * the last n % 4 through a partial load and store so nothing past the end is touched. Always
 * inlined with a constant `apply`, so each function gets its own loop with the math inlined
 * into it. Reading a block before writing it makes x == y safe. */
static inline __attribute__((always_inline)) void unary_loop(size_t n, const float *x, float *y,
                                                             const unary_constants *c,
                                                             unary_vector_fn apply) {
  for (; n >= 8; n -= 8, x += 8, y += 8) {
    const float32x4_t low = apply(vld1q_f32(x), c);
    const float32x4_t high = apply(vld1q_f32(x + 4), c);
    vst1q_f32(y, low);
    vst1q_f32(y + 4, high);
  }
  for (; n >= 4; n -= 4, x += 4, y += 4) vst1q_f32(y, apply(vld1q_f32(x), c));
  if (n != 0) thaw_store_f32__neon(y, n, apply(thaw_load_f32__neon(x, n), c));
}

static inline float32x4_t vector_relu(float32x4_t x, const unary_constants *c) {
  (void)c;
  /* x > 0 ? x : 0, NaN to 0 as in the reference (FMAX would keep the NaN). */
  return vreinterpretq_f32_u32(
      vandq_u32(vreinterpretq_u32_f32(x), vcgtq_f32(x, vdupq_n_f32(0.0f))));
}

/* FMAXNM/FMINNM return the number when one operand is NaN, as fmaxf/fminf do. */
static inline float32x4_t vector_clip(float32x4_t x, const unary_constants *c) {
  return vminnmq_f32(vmaxnmq_f32(x, c->alpha), c->beta);
}

static inline float32x4_t vector_sigmoid(float32x4_t x, const unary_constants *c) {
  (void)c;
  return thaw_vsigmoid_f32__neon(x);
}

/* max(0, min(1, x)) in the reference's order. */
static inline float32x4_t clamp_unit(float32x4_t x) {
  return vmaxnmq_f32(vdupq_n_f32(0.0f), vminnmq_f32(vdupq_n_f32(1.0f), x));
}

static inline float32x4_t vector_hard_sigmoid(float32x4_t x, const unary_constants *c) {
  return clamp_unit(vfmaq_f32(c->beta, c->alpha, x));
}

static inline float32x4_t vector_hard_swish(float32x4_t x, const unary_constants *c) {
  (void)c;
  const float32x4_t gate = vfmaq_f32(vdupq_n_f32(0.5f), x, vdupq_n_f32(1.0f / 6.0f));
  return vmulq_f32(x, clamp_unit(gate));
}

static inline float32x4_t vector_tanh(float32x4_t x, const unary_constants *c) {
  (void)c;
  return thaw_vtanh_f32__neon(x);
}

static inline float32x4_t vector_erf(float32x4_t x, const unary_constants *c) {
  (void)c;
  return thaw_verf_f32__neon(x);
}

static inline float32x4_t vector_gelu(float32x4_t x, const unary_constants *c) {
  (void)c;
  const float32x4_t half_x = vmulq_f32(x, vdupq_n_f32(0.5f));
  const float32x4_t erf = thaw_verf_f32__neon(vmulq_f32(x, vdupq_n_f32(0x1.6a09e6p-1f)));
  return vfmaq_f32(half_x, half_x, erf);
}

static inline float32x4_t vector_silu(float32x4_t x, const unary_constants *c) {
  (void)c;
  return vmulq_f32(x, thaw_vsigmoid_f32__neon(x));
}

static inline float32x4_t vector_leaky_relu(float32x4_t x, const unary_constants *c) {
  const uint32x4_t negative = vcltq_f32(x, vdupq_n_f32(0.0f));
  return vbslq_f32(negative, vmulq_f32(x, c->alpha), x);
}

static inline float32x4_t vector_sqrt(float32x4_t x, const unary_constants *c) {
  (void)c;
  return vsqrtq_f32(x);
}

static inline float32x4_t vector_exp(float32x4_t x, const unary_constants *c) {
  (void)c;
  return thaw_vexp_f32__neon(x);
}

static inline float32x4_t vector_neg(float32x4_t x, const unary_constants *c) {
  (void)c;
  return vnegq_f32(x);
}

static inline float32x4_t vector_abs(float32x4_t x, const unary_constants *c) {
  (void)c;
  return vabsq_f32(x);
}

static inline float32x4_t vector_reciprocal(float32x4_t x, const unary_constants *c) {
  (void)c;
  return vdivq_f32(vdupq_n_f32(1.0f), x);
}

static inline float32x4_t vector_log(float32x4_t x, const unary_constants *c) {
  (void)c;
  return thaw_vlog_f32__neon(x);
}

static inline float32x4_t vector_identity(float32x4_t x, const unary_constants *c) {
  (void)c;
  return x;
}

void thaw_f32_unary__neon(const thaw_unary_params *p, size_t n, const float *x, float *y) {
  if (p->func == THAW_KERNEL_IDENTITY && x == y) return;
  const unary_constants c = {vdupq_n_f32(p->alpha), vdupq_n_f32(p->beta)};
  switch (p->func) {
  case THAW_KERNEL_IDENTITY: unary_loop(n, x, y, &c, vector_identity); return;
  case THAW_KERNEL_RELU: unary_loop(n, x, y, &c, vector_relu); return;
  case THAW_KERNEL_CLIP: unary_loop(n, x, y, &c, vector_clip); return;
  case THAW_KERNEL_SIGMOID: unary_loop(n, x, y, &c, vector_sigmoid); return;
  case THAW_KERNEL_HARD_SIGMOID: unary_loop(n, x, y, &c, vector_hard_sigmoid); return;
  case THAW_KERNEL_HARD_SWISH: unary_loop(n, x, y, &c, vector_hard_swish); return;
  case THAW_KERNEL_TANH: unary_loop(n, x, y, &c, vector_tanh); return;
  case THAW_KERNEL_ERF: unary_loop(n, x, y, &c, vector_erf); return;
  case THAW_KERNEL_GELU: unary_loop(n, x, y, &c, vector_gelu); return;
  case THAW_KERNEL_SILU: unary_loop(n, x, y, &c, vector_silu); return;
  case THAW_KERNEL_LEAKY_RELU: unary_loop(n, x, y, &c, vector_leaky_relu); return;
  case THAW_KERNEL_SQRT: unary_loop(n, x, y, &c, vector_sqrt); return;
  case THAW_KERNEL_EXP: unary_loop(n, x, y, &c, vector_exp); return;
  case THAW_KERNEL_NEG: unary_loop(n, x, y, &c, vector_neg); return;
  case THAW_KERNEL_ABS: unary_loop(n, x, y, &c, vector_abs); return;
  case THAW_KERNEL_RECIPROCAL: unary_loop(n, x, y, &c, vector_reciprocal); return;
  case THAW_KERNEL_LOG: unary_loop(n, x, y, &c, vector_log); return;
  }
  /* The runtime validates the function code when the model is opened. */
}
