#include <arm_neon.h>
#include <math.h>

#include "kernels/math/f32-vmath-neon.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* The sum of the deviations from `mean` and the sum of their squares. */
static void row_deviations(size_t cols, const float *x, float mean, float *deviation_sum,
                           float *square_sum) {
  const float32x4_t mean_vector = vdupq_n_f32(mean);
  float32x4_t sum0 = vdupq_n_f32(0.0f), sum1 = vdupq_n_f32(0.0f);
  float32x4_t squares0 = vdupq_n_f32(0.0f), squares1 = vdupq_n_f32(0.0f);
  size_t c = 0;
  for (; c + 8 <= cols; c += 8) {
    const float32x4_t d0 = vsubq_f32(vld1q_f32(x + c), mean_vector);
    const float32x4_t d1 = vsubq_f32(vld1q_f32(x + c + 4), mean_vector);
    sum0 = vaddq_f32(sum0, d0);
    sum1 = vaddq_f32(sum1, d1);
    squares0 = vfmaq_f32(squares0, d0, d0);
    squares1 = vfmaq_f32(squares1, d1, d1);
  }
  for (; c + 4 <= cols; c += 4) {
    const float32x4_t d = vsubq_f32(vld1q_f32(x + c), mean_vector);
    sum0 = vaddq_f32(sum0, d);
    squares0 = vfmaq_f32(squares0, d, d);
  }
  if (c < cols) {
    /* Lanes past the row load 0, whose deviation -mean must not count. */
    const uint32x4_t in_row = thaw_tail_mask__neon(cols - c);
    const float32x4_t d = vreinterpretq_f32_u32(vandq_u32(
        vreinterpretq_u32_f32(vsubq_f32(thaw_load_f32__neon(x + c, cols - c), mean_vector)),
        in_row));
    sum1 = vaddq_f32(sum1, d);
    squares1 = vfmaq_f32(squares1, d, d);
  }
  *deviation_sum = vaddvq_f32(vaddq_f32(sum0, sum1));
  *square_sum = vaddvq_f32(vaddq_f32(squares0, squares1));
}

/* (x - mean) / deviation * scale + bias over `count` (<= 4) columns; inlined so that whole
 * blocks use plain loads and stores. */
static inline __attribute__((always_inline)) void
normalize_columns(size_t count, const float *x, float32x4_t mean, float32x4_t inverse_deviation,
                  const float *scale, const float *bias, float *y) {
  const float32x4_t normalized =
      vmulq_f32(vsubq_f32(thaw_load_f32__neon(x, count), mean), inverse_deviation);
  const float32x4_t shift = bias != NULL ? thaw_load_f32__neon(bias, count) : vdupq_n_f32(0.0f);
  thaw_store_f32__neon(y, count, vfmaq_f32(shift, normalized, thaw_load_f32__neon(scale, count)));
}

/* Two passes, the second around the first pass's mean and correcting it (the corrected
 * two-pass algorithm): the squares never see the mean, which would cancel when it dwarfs the
 * spread, and the small error left in the first mean is removed by the deviations' sum. */
void thaw_f32_layer_norm__neon(size_t rows, size_t cols, float epsilon, const float *x,
                               const float *scale, const float *bias, float *y) {
  const float inverse_cols = 1.0f / (float)cols;
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const float rough_mean = thaw_row_sum_f32__neon(cols, x) * inverse_cols;
    float deviation_sum, square_sum;
    row_deviations(cols, x, rough_mean, &deviation_sum, &square_sum);
    const float mean_correction = deviation_sum * inverse_cols;
    const float variance =
        fmaxf(square_sum * inverse_cols - mean_correction * mean_correction, 0.0f);
    const float32x4_t mean = vdupq_n_f32(rough_mean + mean_correction);
    const float32x4_t inverse_deviation = vdupq_n_f32(1.0f / sqrtf(variance + epsilon));
    size_t c = 0;
    for (; c + 4 <= cols; c += 4)
      normalize_columns(4, x + c, mean, inverse_deviation, scale + c,
                        bias != NULL ? bias + c : NULL, y + c);
    if (c < cols)
      normalize_columns(cols - c, x + c, mean, inverse_deviation, scale + c,
                        bias != NULL ? bias + c : NULL, y + c);
  }
}
