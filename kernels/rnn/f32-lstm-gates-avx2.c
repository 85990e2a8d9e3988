#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* Eight hidden units at a time; the last n % 8 through masked loads and stores. */
void thaw_f32_lstm_gates__avx2(size_t rows, size_t hidden_size, const float *projected,
                               size_t projected_stride, const float *recurrent,
                               size_t recurrent_stride, float *cell, float *hidden) {
  const size_t h = hidden_size;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *c = cell + b * h, *out = hidden + b * h;
    for (size_t j = 0; j < h; j += 8) {
      const size_t n = h - j < 8 ? h - j : 8;
      const __m256 input = thaw_vsigmoid_f32__avx2(
          _mm256_add_ps(thaw_load_f32__avx2(p + j, n), thaw_load_f32__avx2(r + j, n)));
      const __m256 output = thaw_vsigmoid_f32__avx2(
          _mm256_add_ps(thaw_load_f32__avx2(p + h + j, n), thaw_load_f32__avx2(r + h + j, n)));
      const __m256 forget = thaw_vsigmoid_f32__avx2(_mm256_add_ps(
          thaw_load_f32__avx2(p + 2 * h + j, n), thaw_load_f32__avx2(r + 2 * h + j, n)));
      const __m256 candidate = thaw_vtanh_f32__avx2(_mm256_add_ps(
          thaw_load_f32__avx2(p + 3 * h + j, n), thaw_load_f32__avx2(r + 3 * h + j, n)));
      const __m256 new_cell = _mm256_fmadd_ps(forget, thaw_load_f32__avx2(c + j, n),
                                              _mm256_mul_ps(input, candidate));
      thaw_store_f32__avx2(c + j, n, new_cell);
      thaw_store_f32__avx2(out + j, n, _mm256_mul_ps(output, thaw_vtanh_f32__avx2(new_cell)));
    }
  }
}
