#include <immintrin.h>
#include <math.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* The sum of the deviations from `mean` and the sum of their squares. */
static void row_deviations(size_t cols, const float *x, float mean, float *deviation_sum,
                           float *square_sum) {
  const __m256 mean_vector = _mm256_set1_ps(mean);
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  __m256 squares0 = _mm256_setzero_ps(), squares1 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + c), mean_vector);
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + c + 8), mean_vector);
    sum0 = _mm256_add_ps(sum0, d0);
    sum1 = _mm256_add_ps(sum1, d1);
    squares0 = _mm256_fmadd_ps(d0, d0, squares0);
    squares1 = _mm256_fmadd_ps(d1, d1, squares1);
  }
  for (; c + 8 <= cols; c += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + c), mean_vector);
    sum0 = _mm256_add_ps(sum0, d);
    squares0 = _mm256_fmadd_ps(d, d, squares0);
  }
  if (c < cols) {
    const __m256i mask = thaw_tail_mask__avx2(cols - c);
    /* Lanes past the row load 0, whose deviation -mean must not count. */
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + c, mask), mean_vector),
                                   _mm256_castsi256_ps(mask));
    sum1 = _mm256_add_ps(sum1, d);
    squares1 = _mm256_fmadd_ps(d, d, squares1);
  }
  *deviation_sum = thaw_vreduce_add_f32__avx2(_mm256_add_ps(sum0, sum1));
  *square_sum = thaw_vreduce_add_f32__avx2(_mm256_add_ps(squares0, squares1));
}

/* (x - mean) / deviation * scale + bias over `count` (<= 8) columns; inlined so that
 * whole blocks use plain loads and stores. */
static inline __attribute__((always_inline)) void
normalize_columns(size_t count, const float *x, __m256 mean, __m256 inverse_deviation,
                  const float *scale, const float *bias, float *y) {
  const __m256 normalized =
      _mm256_mul_ps(_mm256_sub_ps(thaw_load_f32__avx2(x, count), mean), inverse_deviation);
  const __m256 shift = bias != NULL ? thaw_load_f32__avx2(bias, count) : _mm256_setzero_ps();
  thaw_store_f32__avx2(y, count,
                       _mm256_fmadd_ps(normalized, thaw_load_f32__avx2(scale, count), shift));
}

/* Two passes, the second around the first pass's mean and correcting it (the corrected
 * two-pass algorithm): the squares never see the mean, which would cancel when it dwarfs the
 * spread, and the small error left in the first mean is removed by the deviations' sum. */
void thaw_f32_layer_norm__avx2(size_t rows, size_t cols, float epsilon, const float *x,
                               const float *scale, const float *bias, float *y) {
  const float inverse_cols = 1.0f / (float)cols;
  for (size_t r = 0; r < rows; r++, x += cols, y += cols) {
    const float rough_mean = thaw_row_sum_f32__avx2(cols, x) * inverse_cols;
    float deviation_sum, square_sum;
    row_deviations(cols, x, rough_mean, &deviation_sum, &square_sum);
    const float mean_correction = deviation_sum * inverse_cols;
    const float variance =
        fmaxf(square_sum * inverse_cols - mean_correction * mean_correction, 0.0f);
    const __m256 mean = _mm256_set1_ps(rough_mean + mean_correction);
    const __m256 inverse_deviation = _mm256_set1_ps(1.0f / sqrtf(variance + epsilon));
    size_t c = 0;
    for (; c + 8 <= cols; c += 8)
      normalize_columns(8, x + c, mean, inverse_deviation, scale + c,
                        bias != NULL ? bias + c : NULL, y + c);
    if (c < cols)
      normalize_columns(cols - c, x + c, mean, inverse_deviation, scale + c,
                        bias != NULL ? bias + c : NULL, y + c);
  }
}
