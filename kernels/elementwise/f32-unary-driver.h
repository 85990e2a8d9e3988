/*
 * The unary elementwise driver, one source for every vector ISA: the walk over the elements and
 * the choice of function. The bodies are written here with the f32 vector interface, all but
 * those whose NaN and sign handling is the ISA's own: an ISA's f32-unary-<isa>.c includes its
 * interface (kernels/math/f32-vector-<isa>.h), then this header, defines those bodies, and
 * binds them with thaw_f32_unary_drive.
 *
 * Compiled per ISA rather than calling bodies through a table: each function's body is inlined
 * into its own copy of the loop, so the cheap functions (ReLU, Clip) stay one load, one or two
 * instructions and one store per vector.
 */
#ifndef THAW_KERNELS_ELEMENTWISE_F32_UNARY_DRIVER_H
#define THAW_KERNELS_ELEMENTWISE_F32_UNARY_DRIVER_H

#include <stddef.h>

#include "kernels/kernels.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* alpha and beta of thaw_unary_params, broadcast once per call. */
typedef struct thaw_unary_constants {
  thaw_f32v alpha, beta;
} thaw_unary_constants;

/* The bodies that depend on the ISA's handling of NaN and signs, from the ISA's file, each as
 * the reference in f32-unary-scalar.c defines it (NaN included). */
static inline thaw_f32v vector_relu(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_clip(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_hard_sigmoid(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_hard_swish(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_leaky_relu(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_neg(thaw_f32v x, const thaw_unary_constants *c);
static inline thaw_f32v vector_abs(thaw_f32v x, const thaw_unary_constants *c);

/* The others, the same on every ISA, through the f32 vector interface. */
static inline thaw_f32v vector_identity(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return x;
}

static inline thaw_f32v vector_sigmoid(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_sigmoid(x);
}

static inline thaw_f32v vector_tanh(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_tanh(x);
}

static inline thaw_f32v vector_erf(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_erf(x);
}

/* x/2 * (1 + erf(x / sqrt 2)) as x/2 * erf(...) + x/2, one rounding fewer. */
static inline thaw_f32v vector_gelu(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  const thaw_f32v half_x = thaw_f32v_mul(x, thaw_f32v_dup(0.5f));
  const thaw_f32v erf = thaw_f32v_erf(thaw_f32v_mul(x, thaw_f32v_dup(0x1.6a09e6p-1f)));
  return thaw_f32v_fmadd(half_x, erf, half_x);
}

static inline thaw_f32v vector_silu(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_mul(x, thaw_f32v_sigmoid(x));
}

static inline thaw_f32v vector_sqrt(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_sqrt(x);
}

static inline thaw_f32v vector_exp(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_exp(x);
}

static inline thaw_f32v vector_reciprocal(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_div(thaw_f32v_dup(1.0f), x);
}

static inline thaw_f32v vector_log(thaw_f32v x, const thaw_unary_constants *c) {
  (void)c;
  return thaw_f32v_log(x);
}

typedef thaw_f32v (*thaw_unary_vector_fn)(thaw_f32v x, const thaw_unary_constants *c);

/* Two vectors at a time (two independent dependency chains for the long polynomial bodies),
 * then one, then the last n % lanes through a partial load and store so nothing past the end
 * is touched. Always inlined with a constant `apply`, so each function gets its own loop with
 * the body inlined into it. Reading a block before writing it makes x == y safe. */
static inline __attribute__((always_inline)) void
thaw_unary_loop(size_t n, const float *x, float *y, const thaw_unary_constants *c,
                thaw_unary_vector_fn apply) {
  const size_t lanes = THAW_F32V_LANES;
  for (; n >= 2 * lanes; n -= 2 * lanes, x += 2 * lanes, y += 2 * lanes) {
    const thaw_f32v low = apply(thaw_f32v_load(x), c);
    const thaw_f32v high = apply(thaw_f32v_load(x + lanes), c);
    thaw_f32v_store(y, low);
    thaw_f32v_store(y + lanes, high);
  }
  for (; n >= lanes; n -= lanes, x += lanes, y += lanes)
    thaw_f32v_store(y, apply(thaw_f32v_load(x), c));
  if (n != 0) thaw_f32v_store_partial(y, n, apply(thaw_f32v_load_partial(x, n), c));
}

static inline void thaw_f32_unary_drive(const thaw_unary_params *p, size_t n, const float *x,
                                        float *y) {
  if (p->func == THAW_KERNEL_IDENTITY && x == y) return;
  const thaw_unary_constants c = {thaw_f32v_dup(p->alpha), thaw_f32v_dup(p->beta)};
  switch (p->func) {
  case THAW_KERNEL_IDENTITY: thaw_unary_loop(n, x, y, &c, vector_identity); return;
  case THAW_KERNEL_RELU: thaw_unary_loop(n, x, y, &c, vector_relu); return;
  case THAW_KERNEL_CLIP: thaw_unary_loop(n, x, y, &c, vector_clip); return;
  case THAW_KERNEL_SIGMOID: thaw_unary_loop(n, x, y, &c, vector_sigmoid); return;
  case THAW_KERNEL_HARD_SIGMOID: thaw_unary_loop(n, x, y, &c, vector_hard_sigmoid); return;
  case THAW_KERNEL_HARD_SWISH: thaw_unary_loop(n, x, y, &c, vector_hard_swish); return;
  case THAW_KERNEL_TANH: thaw_unary_loop(n, x, y, &c, vector_tanh); return;
  case THAW_KERNEL_ERF: thaw_unary_loop(n, x, y, &c, vector_erf); return;
  case THAW_KERNEL_GELU: thaw_unary_loop(n, x, y, &c, vector_gelu); return;
  case THAW_KERNEL_SILU: thaw_unary_loop(n, x, y, &c, vector_silu); return;
  case THAW_KERNEL_LEAKY_RELU: thaw_unary_loop(n, x, y, &c, vector_leaky_relu); return;
  case THAW_KERNEL_SQRT: thaw_unary_loop(n, x, y, &c, vector_sqrt); return;
  case THAW_KERNEL_EXP: thaw_unary_loop(n, x, y, &c, vector_exp); return;
  case THAW_KERNEL_NEG: thaw_unary_loop(n, x, y, &c, vector_neg); return;
  case THAW_KERNEL_ABS: thaw_unary_loop(n, x, y, &c, vector_abs); return;
  case THAW_KERNEL_RECIPROCAL: thaw_unary_loop(n, x, y, &c, vector_reciprocal); return;
  case THAW_KERNEL_LOG: thaw_unary_loop(n, x, y, &c, vector_log); return;
  }
  /* The runtime validates the function code when the model is opened. */
}

#endif /* THAW_KERNELS_ELEMENTWISE_F32_UNARY_DRIVER_H */
