#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

void thaw_f32_gru_gates__avx2(size_t rows, size_t hidden_size, size_t candidate_column,
                              bool linear_before_reset, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, float *hidden) {
  const size_t h = hidden_size, c = candidate_column;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *state = hidden + b * h;
    for (size_t j = 0; j < h; j += 8) {
      const size_t n = h - j < 8 ? h - j : 8;
      const __m256 update = thaw_vsigmoid_f32__avx2(
          _mm256_add_ps(thaw_load_f32__avx2(p + j, n), thaw_load_f32__avx2(r + j, n)));
      __m256 recurrent_candidate = thaw_load_f32__avx2(r + c + j, n);
      if (linear_before_reset) {
        const __m256 reset = thaw_vsigmoid_f32__avx2(
            _mm256_add_ps(thaw_load_f32__avx2(p + h + j, n), thaw_load_f32__avx2(r + h + j, n)));
        recurrent_candidate = _mm256_mul_ps(reset, recurrent_candidate);
      }
      const __m256 candidate = thaw_vtanh_f32__avx2(
          _mm256_add_ps(thaw_load_f32__avx2(p + c + j, n), recurrent_candidate));
      /* (1 - z) * candidate + z * h = candidate + z * (h - candidate) */
      const __m256 previous = thaw_load_f32__avx2(state + j, n);
      thaw_store_f32__avx2(state + j, n,
                           _mm256_fmadd_ps(update, _mm256_sub_ps(previous, candidate), candidate));
    }
  }
}
