#include <arm_neon.h>
#include <math.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

typedef float32x4_t (*binary_vector_fn)(float32x4_t a, float32x4_t b);

static inline float32x4_t vector_add(float32x4_t a, float32x4_t b) { return vaddq_f32(a, b); }
static inline float32x4_t vector_sub(float32x4_t a, float32x4_t b) { return vsubq_f32(a, b); }
static inline float32x4_t vector_mul(float32x4_t a, float32x4_t b) { return vmulq_f32(a, b); }
static inline float32x4_t vector_div(float32x4_t a, float32x4_t b) { return vdivq_f32(a, b); }

/* powf lane by lane: its special cases (negative bases with integral exponents, zeros,
 * infinities) and its accuracy for large results are not worth a vector re-implementation for
 * an op that models use rarely and mostly with a constant exponent. */
static inline float32x4_t vector_pow(float32x4_t a, float32x4_t b) {
  float a_lanes[4], b_lanes[4];
  vst1q_f32(a_lanes, a);
  vst1q_f32(b_lanes, b);
  for (int i = 0; i < 4; i++) a_lanes[i] = powf(a_lanes[i], b_lanes[i]);
  return vld1q_f32(a_lanes);
}

/* a^2, exact to the last bit as powf(a, 2) should be: decomposed LayerNorm and L2 norms square
 * through Pow with a constant 2. */
static inline float32x4_t vector_square(float32x4_t a, float32x4_t b) {
  (void)b;
  return vmulq_f32(a, a);
}

/* ONNX Max/Min propagate NaN from either side, which is what FMAX/FMIN do. */
static inline float32x4_t vector_max(float32x4_t a, float32x4_t b) { return vmaxq_f32(a, b); }
static inline float32x4_t vector_min(float32x4_t a, float32x4_t b) { return vminq_f32(a, b); }

/* How an operand advances along the innermost axis. */
enum operand_walk {
  WALK_CONTIGUOUS, /* step 1 */
  WALK_BROADCAST,  /* step 0: one value for the whole row */
  WALK_STRIDED,    /* any other step, read element by element */
};

/* Elements [i, i + count) of an operand, count <= 4. */
static inline __attribute__((always_inline)) float32x4_t
load_operand(enum operand_walk walk, const float *row, ptrdiff_t step, size_t i, size_t count) {
  switch (walk) {
  case WALK_CONTIGUOUS: return thaw_load_f32__neon(row + i, count);
  case WALK_BROADCAST: return vld1q_dup_f32(row);
  case WALK_STRIDED: break;
  }
  float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t lane = 0; lane < count; lane++) lanes[lane] = row[(ptrdiff_t)(i + lane) * step];
  return vld1q_f32(lanes);
}

/* One output row; inlined with constant walks and function so each combination gets its own
 * loop without per-element branches. */
static inline __attribute__((always_inline)) void
binary_row(binary_vector_fn apply, enum operand_walk a_walk, enum operand_walk b_walk,
           size_t length, const float *a, ptrdiff_t a_step, const float *b, ptrdiff_t b_step,
           float *y) {
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    const float32x4_t a_values = load_operand(a_walk, a, a_step, i, 4);
    const float32x4_t b_values = load_operand(b_walk, b, b_step, i, 4);
    vst1q_f32(y + i, apply(a_values, b_values));
  }
  if (i < length) {
    const size_t count = length - i;
    const float32x4_t a_values = load_operand(a_walk, a, a_step, i, count);
    const float32x4_t b_values = load_operand(b_walk, b, b_step, i, count);
    thaw_store_f32__neon(y + i, count, apply(a_values, b_values));
  }
}

static inline __attribute__((always_inline)) void
binary_broadcast(binary_vector_fn apply, const thaw_broadcast *iter, const float *a,
                 const float *b, float *y) {
  const size_t rows = thaw_broadcast_rows(iter);
  const size_t length = thaw_broadcast_row_length(iter);
  const ptrdiff_t a_step = iter->strides[0][iter->rank - 1];
  const ptrdiff_t b_step = iter->strides[1][iter->rank - 1];
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t row = 0; row < rows; row++) {
    const float *a_row = a + cursor.offset[0];
    const float *b_row = b + cursor.offset[1];
    if (a_step == 1 && b_step == 1)
      binary_row(apply, WALK_CONTIGUOUS, WALK_CONTIGUOUS, length, a_row, 1, b_row, 1, y);
    else if (a_step == 1 && b_step == 0)
      binary_row(apply, WALK_CONTIGUOUS, WALK_BROADCAST, length, a_row, 1, b_row, 0, y);
    else if (a_step == 0 && b_step == 1)
      binary_row(apply, WALK_BROADCAST, WALK_CONTIGUOUS, length, a_row, 0, b_row, 1, y);
    else
      binary_row(apply, WALK_STRIDED, WALK_STRIDED, length, a_row, a_step, b_row, b_step, y);
    y += length;
    thaw_broadcast_cursor_advance(iter, 2, &cursor);
  }
}

/* One value of operand k serves every element (a scalar, possibly stored with broadcast dims). */
static bool operand_is_scalar(const thaw_broadcast *iter, size_t k) {
  for (uint32_t d = 0; d < iter->rank; d++)
    if (iter->strides[k][d] != 0 && iter->shape[d] != 1) return false;
  return true;
}

void thaw_f32_binary__neon(const thaw_binary_params *p, const float *a, const float *b,
                           float *y) {
  switch (p->func) {
  case THAW_KERNEL_ADD: binary_broadcast(vector_add, &p->iter, a, b, y); return;
  case THAW_KERNEL_SUB: binary_broadcast(vector_sub, &p->iter, a, b, y); return;
  case THAW_KERNEL_MUL: binary_broadcast(vector_mul, &p->iter, a, b, y); return;
  case THAW_KERNEL_DIV: binary_broadcast(vector_div, &p->iter, a, b, y); return;
  case THAW_KERNEL_POW:
    if (operand_is_scalar(&p->iter, 1) && b[0] == 2.0f)
      binary_broadcast(vector_square, &p->iter, a, b, y);
    else
      binary_broadcast(vector_pow, &p->iter, a, b, y);
    return;
  case THAW_KERNEL_MAX: binary_broadcast(vector_max, &p->iter, a, b, y); return;
  case THAW_KERNEL_MIN: binary_broadcast(vector_min, &p->iter, a, b, y); return;
  }
  /* The runtime validates the function code when the model is opened. */
}
