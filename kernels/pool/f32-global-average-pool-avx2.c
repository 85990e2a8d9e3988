#include <immintrin.h>

#include "kernels/avx2.h"

/* Four independent sums per channel hide the add latency; the last partial vector is a masked load,
 * so nothing past the channel is read. */
void thaw_f32_global_average_pool__avx2(size_t channels, size_t spatial, const float *x, float *y) {
  static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  const __m256i tail_mask = _mm256_loadu_si256((const __m256i *)&mask_table[8 - spatial % 8]);
  const float scale = 1.0f / (float)spatial;
  for (size_t c = 0; c < channels; c++) {
    const float *x_channel = x + c * spatial;
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    __m256 sum2 = _mm256_setzero_ps(), sum3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= spatial; i += 32) {
      sum0 = _mm256_add_ps(sum0, _mm256_loadu_ps(x_channel + i));
      sum1 = _mm256_add_ps(sum1, _mm256_loadu_ps(x_channel + i + 8));
      sum2 = _mm256_add_ps(sum2, _mm256_loadu_ps(x_channel + i + 16));
      sum3 = _mm256_add_ps(sum3, _mm256_loadu_ps(x_channel + i + 24));
    }
    for (; i + 8 <= spatial; i += 8) sum0 = _mm256_add_ps(sum0, _mm256_loadu_ps(x_channel + i));
    if (i < spatial) sum1 = _mm256_add_ps(sum1, _mm256_maskload_ps(x_channel + i, tail_mask));
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(sum0, sum1), _mm256_add_ps(sum2, sum3));
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_movehdup_ps(half));
    y[c] = _mm_cvtss_f32(half) * scale;
  }
}
