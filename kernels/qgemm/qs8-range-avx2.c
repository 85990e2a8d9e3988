/* min and max of a row and 0, 16 floats per step; NaN is skipped (vminps and vmaxps return their
 * second operand when the first is NaN). */
#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

static float horizontal_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

static float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

void thaw_qs8_range__avx2(size_t n, const float *x, float *min, float *max) {
  __m256 vmin0 = _mm256_setzero_ps(), vmax0 = _mm256_setzero_ps();
  __m256 vmin1 = _mm256_setzero_ps(), vmax1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 vx0 = _mm256_loadu_ps(x + i), vx1 = _mm256_loadu_ps(x + i + 8);
    vmin0 = _mm256_min_ps(vx0, vmin0);
    vmax0 = _mm256_max_ps(vx0, vmax0);
    vmin1 = _mm256_min_ps(vx1, vmin1);
    vmax1 = _mm256_max_ps(vx1, vmax1);
  }
  for (; i < n; i += 8) {
    const __m256 vx = thaw_load_f32__avx2(x + i, n - i < 8 ? n - i : 8); /* zeros past n */
    vmin0 = _mm256_min_ps(vx, vmin0);
    vmax0 = _mm256_max_ps(vx, vmax0);
  }
  *min = horizontal_min(_mm256_min_ps(vmin0, vmin1));
  *max = horizontal_max(_mm256_max_ps(vmax0, vmax1));
}
