/*
 * Layer normalization, one source for every vector ISA, written with the f32 vector interface:
 * an ISA's f32-layer-norm-<isa>.c includes its interface (kernels/math/f32-vector-<isa>.h),
 * then this header, and binds thaw_f32_layer_norm_drive. Compiled per ISA so that the row
 * passes stay free of calls.
 */
#ifndef THAW_KERNELS_NORMALIZATION_F32_LAYER_NORM_DRIVER_H
#define THAW_KERNELS_NORMALIZATION_F32_LAYER_NORM_DRIVER_H

#include <math.h>
#include <stddef.h>

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* The sum of the deviations from `mean` and the sum of their squares, in two pairs of
 * accumulators so that consecutive vectors do not wait on each other. */
static inline void thaw_layer_norm_deviations(size_t cols, const float *x, float mean,
                                              float *deviation_sum, float *square_sum) {
  const size_t lanes = THAW_F32V_LANES;
  const thaw_f32v mean_vector = thaw_f32v_dup(mean);
  thaw_f32v sum0 = thaw_f32v_zero(), sum1 = thaw_f32v_zero();
  thaw_f32v squares0 = thaw_f32v_zero(), squares1 = thaw_f32v_zero();
  size_t c = 0;
  for (; c + 2 * lanes <= cols; c += 2 * lanes) {
    const thaw_f32v d0 = thaw_f32v_sub(thaw_f32v_load(x + c), mean_vector);
    const thaw_f32v d1 = thaw_f32v_sub(thaw_f32v_load(x + c + lanes), mean_vector);
    sum0 = thaw_f32v_add(sum0, d0);
    sum1 = thaw_f32v_add(sum1, d1);
    squares0 = thaw_f32v_fmadd(d0, d0, squares0);
    squares1 = thaw_f32v_fmadd(d1, d1, squares1);
  }
  for (; c + lanes <= cols; c += lanes) {
    const thaw_f32v d = thaw_f32v_sub(thaw_f32v_load(x + c), mean_vector);
    sum0 = thaw_f32v_add(sum0, d);
    squares0 = thaw_f32v_fmadd(d, d, squares0);
  }
  if (c < cols) {
    const size_t count = cols - c;
    /* Lanes past the row load 0, whose deviation -mean must not count. */
    const thaw_f32v d = thaw_f32v_first_lanes_or(
        thaw_f32v_sub(thaw_f32v_load_partial(x + c, count), mean_vector), count, thaw_f32v_zero());
    sum1 = thaw_f32v_add(sum1, d);
    squares1 = thaw_f32v_fmadd(d, d, squares1);
  }
  *deviation_sum = thaw_f32v_reduce_add(thaw_f32v_add(sum0, sum1));
  *square_sum = thaw_f32v_reduce_add(thaw_f32v_add(squares0, squares1));
}

/* (x - mean) / deviation * scale + bias over `count` (<= lanes) columns; inlined so that whole
 * blocks use plain loads and stores. */
static inline __attribute__((always_inline)) void
thaw_layer_norm_columns(size_t count, const float *x, thaw_f32v mean, thaw_f32v inverse_deviation,
                        const float *scale, const float *bias, float *y) {
  const thaw_f32v normalized =
      thaw_f32v_mul(thaw_f32v_sub(thaw_f32v_load_partial(x, count), mean), inverse_deviation);
  const thaw_f32v shift = bias != NULL ? thaw_f32v_load_partial(bias, count) : thaw_f32v_zero();
  thaw_f32v_store_partial(
      y, count, thaw_f32v_fmadd(normalized, thaw_f32v_load_partial(scale, count), shift));
}

/* Two passes, the second around the first pass's mean and correcting it (the corrected
 * two-pass algorithm): the squares never see the mean, which would cancel when it dwarfs the
 * spread, and the small error left in the first mean is removed by the deviations' sum. */
static inline void thaw_f32_layer_norm_drive(size_t rows, size_t cols, float epsilon,
                                             const float *x, const float *scale,
                                             const float *bias, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const float inverse_cols = 1.0f / (float)cols;
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const float rough_mean = thaw_f32v_row_sum(cols, x) * inverse_cols;
    float deviation_sum, square_sum;
    thaw_layer_norm_deviations(cols, x, rough_mean, &deviation_sum, &square_sum);
    const float mean_correction = deviation_sum * inverse_cols;
    const float variance =
        fmaxf(square_sum * inverse_cols - mean_correction * mean_correction, 0.0f);
    const thaw_f32v mean = thaw_f32v_dup(rough_mean + mean_correction);
    const thaw_f32v inverse_deviation = thaw_f32v_dup(1.0f / sqrtf(variance + epsilon));
    size_t c = 0;
    for (; c + lanes <= cols; c += lanes)
      thaw_layer_norm_columns(lanes, x + c, mean, inverse_deviation, scale + c,
                              bias != NULL ? bias + c : NULL, y + c);
    if (c < cols)
      thaw_layer_norm_columns(cols - c, x + c, mean, inverse_deviation, scale + c,
                              bias != NULL ? bias + c : NULL, y + c);
  }
}

#endif /* THAW_KERNELS_NORMALIZATION_F32_LAYER_NORM_DRIVER_H */
