/*
 * The mean over the middle axis of [outer][reduce][inner], one source for every vector ISA,
 * written with the f32 vector interface: an ISA's f32-reduce-mean-<isa>.c includes its
 * interface (kernels/math/f32-vector-<isa>.h), then this header, and binds
 * thaw_f32_reduce_mean_drive.
 */
#ifndef THAW_KERNELS_NORMALIZATION_F32_REDUCE_MEAN_DRIVER_H
#define THAW_KERNELS_NORMALIZATION_F32_REDUCE_MEAN_DRIVER_H

#include <stddef.h>

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* `count` (<= lanes) neighbouring columns, each summed down the reduced axis in a register, so
 * every load is a contiguous row slice. Inlined so that whole blocks use plain loads. */
static inline __attribute__((always_inline)) void
thaw_reduce_mean_columns(size_t reduce, size_t inner, size_t count, const float *x,
                         float inverse_count, float *y) {
  thaw_f32v sum = thaw_f32v_zero();
  for (size_t r = 0; r < reduce; r++)
    sum = thaw_f32v_add(sum, thaw_f32v_load_partial(x + r * inner, count));
  thaw_f32v_store_partial(y, count, thaw_f32v_mul(sum, thaw_f32v_dup(inverse_count)));
}

/* A contiguous row per output when inner == 1 (the mean over the last axis), else columns a
 * vector at a time. */
static inline void thaw_f32_reduce_mean_drive(size_t outer, size_t reduce, size_t inner,
                                              const float *x, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const float inverse_count = 1.0f / (float)reduce;
  for (size_t o = 0; o < outer; o++, x += reduce * inner, y += inner) {
    if (inner == 1) {
      y[0] = thaw_f32v_row_sum(reduce, x) * inverse_count;
      continue;
    }
    size_t j = 0;
    for (; j + lanes <= inner; j += lanes)
      thaw_reduce_mean_columns(reduce, inner, lanes, x + j, inverse_count, y + j);
    if (j < inner) thaw_reduce_mean_columns(reduce, inner, inner - j, x + j, inverse_count, y + j);
  }
}

#endif /* THAW_KERNELS_NORMALIZATION_F32_REDUCE_MEAN_DRIVER_H */
