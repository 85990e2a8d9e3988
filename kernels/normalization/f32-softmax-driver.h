/*
 * Softmax, one source for every vector ISA, written with the f32 vector interface: an ISA's
 * f32-softmax-<isa>.c includes its interface (kernels/math/f32-vector-<isa>.h), then this
 * header, and binds thaw_f32_softmax_drive. Compiled per ISA so that the exp polynomial is
 * inlined into the passes that call it.
 */
#ifndef THAW_KERNELS_NORMALIZATION_F32_SOFTMAX_DRIVER_H
#define THAW_KERNELS_NORMALIZATION_F32_SOFTMAX_DRIVER_H

#include <math.h>
#include <stddef.h>

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* e^x for x <= 0 (a difference from the line's maximum), 0 where the result would fall below
 * the smallest normal float. A subnormal result would cost a microcode assist of some hundred
 * cycles per multiply on x86 (attention masks of -10000 put half the lines of a padded batch
 * there, which made softmax twice as slow); the lost terms are below 2^-125 against a maximum
 * of 1. Kept to [-87, 0], x also suits the range-limited exp, about half the work of the full
 * one. */
static inline thaw_f32v thaw_softmax_exp(thaw_f32v x) {
  const thaw_f32v normal_limit = thaw_f32v_dup(-87.0f);
  return thaw_f32v_zero_below(thaw_f32v_exp_normal(thaw_f32v_max(normal_limit, x)), x,
                              normal_limit);
}

/* A contiguous line (inner == 1), the attention and classifier case: maximum, then e^(x - max)
 * written to y and summed, then y scaled by 1/sum while it is still in cache. Lanes past the
 * end of the line are -inf for the maximum and 0 for the sum. The maximum runs in four chains:
 * with one, a line of 128 waited on 16 dependent max latencies. */
static inline void thaw_softmax_line(size_t length, const float *x, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const thaw_f32v minus_infinity = thaw_f32v_dup(-INFINITY);
  thaw_f32v maximum = minus_infinity, maximum1 = minus_infinity;
  thaw_f32v maximum2 = minus_infinity, maximum3 = minus_infinity;
  size_t i = 0;
  for (; i + 4 * lanes <= length; i += 4 * lanes) {
    maximum = thaw_f32v_max(maximum, thaw_f32v_load(x + i));
    maximum1 = thaw_f32v_max(maximum1, thaw_f32v_load(x + i + lanes));
    maximum2 = thaw_f32v_max(maximum2, thaw_f32v_load(x + i + 2 * lanes));
    maximum3 = thaw_f32v_max(maximum3, thaw_f32v_load(x + i + 3 * lanes));
  }
  maximum = thaw_f32v_max(thaw_f32v_max(maximum, maximum1), thaw_f32v_max(maximum2, maximum3));
  for (; i + lanes <= length; i += lanes) maximum = thaw_f32v_max(maximum, thaw_f32v_load(x + i));
  const size_t tail = length - i;
  if (tail != 0) {
    const thaw_f32v values = thaw_f32v_load_partial(x + i, tail);
    maximum = thaw_f32v_max(maximum, thaw_f32v_first_lanes_or(values, tail, minus_infinity));
  }
  const thaw_f32v line_maximum = thaw_f32v_dup(thaw_f32v_reduce_max(maximum));

  thaw_f32v sum = thaw_f32v_zero();
  for (i = 0; i + lanes <= length; i += lanes) {
    const thaw_f32v e = thaw_softmax_exp(thaw_f32v_sub(thaw_f32v_load(x + i), line_maximum));
    thaw_f32v_store(y + i, e);
    sum = thaw_f32v_add(sum, e);
  }
  if (tail != 0) {
    const thaw_f32v values = thaw_f32v_load_partial(x + i, tail);
    const thaw_f32v e = thaw_f32v_first_lanes_or(
        thaw_softmax_exp(thaw_f32v_sub(values, line_maximum)), tail, thaw_f32v_zero());
    thaw_f32v_store_partial(y + i, tail, e);
    sum = thaw_f32v_add(sum, e);
  }

  const thaw_f32v inverse = thaw_f32v_dup(1.0f / thaw_f32v_reduce_add(sum));
  for (i = 0; i + lanes <= length; i += lanes)
    thaw_f32v_store(y + i, thaw_f32v_mul(thaw_f32v_load(y + i), inverse));
  if (tail != 0)
    thaw_f32v_store_partial(y + i, tail,
                            thaw_f32v_mul(thaw_f32v_load_partial(y + i, tail), inverse));
}

/* Up to a vector's worth of neighbouring lines of a [axis_size][inner] block at once, one per
 * lane: the same three passes with every load a row of `count` contiguous floats. Inlined so
 * that the whole blocks (count = lanes) use plain loads and stores. */
static inline __attribute__((always_inline)) void
thaw_softmax_columns(size_t axis_size, size_t inner, size_t count, const float *x, float *y) {
  thaw_f32v maximum = thaw_f32v_dup(-INFINITY);
  for (size_t a = 0; a < axis_size; a++)
    maximum = thaw_f32v_max(maximum, thaw_f32v_load_partial(x + a * inner, count));
  thaw_f32v sum = thaw_f32v_zero();
  for (size_t a = 0; a < axis_size; a++) {
    const thaw_f32v values = thaw_f32v_load_partial(x + a * inner, count);
    const thaw_f32v e = thaw_softmax_exp(thaw_f32v_sub(values, maximum));
    thaw_f32v_store_partial(y + a * inner, count, e);
    sum = thaw_f32v_add(sum, e);
  }
  const thaw_f32v inverse = thaw_f32v_div(thaw_f32v_dup(1.0f), sum);
  for (size_t a = 0; a < axis_size; a++)
    thaw_f32v_store_partial(y + a * inner, count,
                            thaw_f32v_mul(thaw_f32v_load_partial(y + a * inner, count), inverse));
}

static inline void thaw_f32_softmax_drive(size_t outer, size_t axis_size, size_t inner,
                                          const float *x, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const size_t block = axis_size * inner;
  for (size_t o = 0; o < outer; o++, x += block, y += block) {
    if (inner == 1) {
      thaw_softmax_line(axis_size, x, y);
      continue;
    }
    size_t j = 0;
    for (; j + lanes <= inner; j += lanes)
      thaw_softmax_columns(axis_size, inner, lanes, x + j, y + j);
    if (j < inner) thaw_softmax_columns(axis_size, inner, inner - j, x + j, y + j);
  }
}

#endif /* THAW_KERNELS_NORMALIZATION_F32_SOFTMAX_DRIVER_H */
