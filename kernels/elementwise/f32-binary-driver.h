/*
 * The binary elementwise driver, one source for every vector ISA: the broadcast walk, the
 * choice of a row loop by how each operand advances, the row's tail, and the choice of
 * function. The bodies are written here with the f32 vector interface, all but Max and Min:
 * an ISA's f32-binary-<isa>.c includes its interface (kernels/math/f32-vector-<isa>.h), then
 * this header, defines those two, and binds them with thaw_f32_binary_drive.
 *
 * Compiled per ISA rather than calling bodies through a table: Add and Mul over a broadcast
 * channel are one instruction per vector, which a call per vector would dwarf.
 */
#ifndef THAW_KERNELS_ELEMENTWISE_F32_BINARY_DRIVER_H
#define THAW_KERNELS_ELEMENTWISE_F32_BINARY_DRIVER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/kernels.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* Max and Min, the bodies whose NaN handling differs by ISA, from the ISA's file: ONNX's
 * propagate NaN from either operand, as the reference in f32-binary-scalar.c does. */
static inline thaw_f32v vector_max(thaw_f32v a, thaw_f32v b);
static inline thaw_f32v vector_min(thaw_f32v a, thaw_f32v b);

static inline thaw_f32v vector_add(thaw_f32v a, thaw_f32v b) { return thaw_f32v_add(a, b); }
static inline thaw_f32v vector_sub(thaw_f32v a, thaw_f32v b) { return thaw_f32v_sub(a, b); }
static inline thaw_f32v vector_mul(thaw_f32v a, thaw_f32v b) { return thaw_f32v_mul(a, b); }
static inline thaw_f32v vector_div(thaw_f32v a, thaw_f32v b) { return thaw_f32v_div(a, b); }

/* powf lane by lane: its special cases (negative bases with integral exponents, zeros,
 * infinities) and its accuracy for large results are not worth a vector re-implementation for
 * an op that models use rarely and mostly with a constant exponent. */
static inline thaw_f32v vector_pow(thaw_f32v a, thaw_f32v b) {
  float a_lanes[THAW_F32V_LANES], b_lanes[THAW_F32V_LANES];
  thaw_f32v_store(a_lanes, a);
  thaw_f32v_store(b_lanes, b);
  for (size_t i = 0; i < THAW_F32V_LANES; i++) a_lanes[i] = powf(a_lanes[i], b_lanes[i]);
  return thaw_f32v_load(a_lanes);
}

/* Pow by a constant 2 (b is ignored), exact to the last bit as powf(a, 2) should be:
 * decomposed LayerNorm and L2 norms square through Pow. */
static inline thaw_f32v vector_square(thaw_f32v a, thaw_f32v b) {
  (void)b;
  return thaw_f32v_mul(a, a);
}

typedef thaw_f32v (*thaw_binary_vector_fn)(thaw_f32v a, thaw_f32v b);

/* How an operand advances along the innermost axis. */
typedef enum thaw_operand_walk {
  THAW_WALK_CONTIGUOUS, /* step 1 */
  THAW_WALK_BROADCAST,  /* step 0: one value for the whole row */
  THAW_WALK_STRIDED,    /* any other step, read element by element */
} thaw_operand_walk;

/* Elements [i, i + count) of an operand, count <= lanes. */
static inline __attribute__((always_inline)) thaw_f32v
thaw_binary_load_operand(thaw_operand_walk walk, const float *row, ptrdiff_t step, size_t i,
                         size_t count) {
  switch (walk) {
  case THAW_WALK_CONTIGUOUS: return thaw_f32v_load_partial(row + i, count);
  case THAW_WALK_BROADCAST: return thaw_f32v_dup(row[0]);
  case THAW_WALK_STRIDED: break;
  }
  float lanes[THAW_F32V_LANES] = {0.0f};
  for (size_t lane = 0; lane < count; lane++) lanes[lane] = row[(ptrdiff_t)(i + lane) * step];
  return thaw_f32v_load(lanes);
}

/* One output row; inlined with constant walks and function so each combination gets its own
 * loop without per-element branches. */
static inline __attribute__((always_inline)) void
thaw_binary_row(thaw_binary_vector_fn apply, thaw_operand_walk a_walk,
                thaw_operand_walk b_walk, size_t length, const float *a, ptrdiff_t a_step,
                const float *b, ptrdiff_t b_step, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  size_t i = 0;
  for (; i + lanes <= length; i += lanes) {
    const thaw_f32v a_values = thaw_binary_load_operand(a_walk, a, a_step, i, lanes);
    const thaw_f32v b_values = thaw_binary_load_operand(b_walk, b, b_step, i, lanes);
    thaw_f32v_store(y + i, apply(a_values, b_values));
  }
  if (i < length) {
    const size_t count = length - i;
    const thaw_f32v a_values = thaw_binary_load_operand(a_walk, a, a_step, i, count);
    const thaw_f32v b_values = thaw_binary_load_operand(b_walk, b, b_step, i, count);
    thaw_f32v_store_partial(y + i, count, apply(a_values, b_values));
  }
}

static inline __attribute__((always_inline)) void
thaw_binary_broadcast(thaw_binary_vector_fn apply, const thaw_broadcast *iter, const float *a,
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
      thaw_binary_row(apply, THAW_WALK_CONTIGUOUS, THAW_WALK_CONTIGUOUS, length, a_row, 1, b_row,
                      1, y);
    else if (a_step == 1 && b_step == 0)
      thaw_binary_row(apply, THAW_WALK_CONTIGUOUS, THAW_WALK_BROADCAST, length, a_row, 1, b_row,
                      0, y);
    else if (a_step == 0 && b_step == 1)
      thaw_binary_row(apply, THAW_WALK_BROADCAST, THAW_WALK_CONTIGUOUS, length, a_row, 0, b_row,
                      1, y);
    else
      thaw_binary_row(apply, THAW_WALK_STRIDED, THAW_WALK_STRIDED, length, a_row, a_step, b_row,
                      b_step, y);
    y += length;
    thaw_broadcast_cursor_advance(iter, 2, &cursor);
  }
}

/* One value of operand k serves every element (a scalar, possibly stored with broadcast dims). */
static inline bool thaw_binary_operand_is_scalar(const thaw_broadcast *iter, size_t k) {
  for (uint32_t d = 0; d < iter->rank; d++)
    if (iter->strides[k][d] != 0 && iter->shape[d] != 1) return false;
  return true;
}

static inline void thaw_f32_binary_drive(const thaw_binary_params *p, const float *a,
                                         const float *b, float *y) {
  switch (p->func) {
  case THAW_KERNEL_ADD: thaw_binary_broadcast(vector_add, &p->iter, a, b, y); return;
  case THAW_KERNEL_SUB: thaw_binary_broadcast(vector_sub, &p->iter, a, b, y); return;
  case THAW_KERNEL_MUL: thaw_binary_broadcast(vector_mul, &p->iter, a, b, y); return;
  case THAW_KERNEL_DIV: thaw_binary_broadcast(vector_div, &p->iter, a, b, y); return;
  case THAW_KERNEL_POW:
    if (thaw_binary_operand_is_scalar(&p->iter, 1) && b[0] == 2.0f)
      thaw_binary_broadcast(vector_square, &p->iter, a, b, y);
    else
      thaw_binary_broadcast(vector_pow, &p->iter, a, b, y);
    return;
  case THAW_KERNEL_MAX: thaw_binary_broadcast(vector_max, &p->iter, a, b, y); return;
  case THAW_KERNEL_MIN: thaw_binary_broadcast(vector_min, &p->iter, a, b, y); return;
  }
  /* The runtime validates the function code when the model is opened. */
}

#endif /* THAW_KERNELS_ELEMENTWISE_F32_BINARY_DRIVER_H */
