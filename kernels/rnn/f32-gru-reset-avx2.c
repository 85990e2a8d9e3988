#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

void thaw_f32_gru_reset__avx2(size_t rows, size_t hidden_size, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, const float *hidden,
                              float *reset_hidden) {
  const size_t h = hidden_size;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    for (size_t j = 0; j < h; j += 8) {
      const size_t n = h - j < 8 ? h - j : 8;
      const __m256 reset = thaw_vsigmoid_f32__avx2(
          _mm256_add_ps(thaw_load_f32__avx2(p + h + j, n), thaw_load_f32__avx2(r + h + j, n)));
      thaw_store_f32__avx2(reset_hidden + b * h + j, n,
                           _mm256_mul_ps(reset, thaw_load_f32__avx2(hidden + b * h + j, n)));
    }
  }
}
