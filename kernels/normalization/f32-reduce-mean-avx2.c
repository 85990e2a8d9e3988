#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* `count` (<= 8) neighbouring columns, each summed down the reduced axis in a register, so
 * every load is a contiguous row slice. Inlined so that whole blocks use plain loads. */
static inline __attribute__((always_inline)) void
column_means(size_t reduce, size_t inner, size_t count, const float *x, float inverse_count,
             float *y) {
  __m256 sum = _mm256_setzero_ps();
  for (size_t r = 0; r < reduce; r++)
    sum = _mm256_add_ps(sum, thaw_load_f32__avx2(x + r * inner, count));
  thaw_store_f32__avx2(y, count, _mm256_mul_ps(sum, _mm256_set1_ps(inverse_count)));
}

/* A contiguous row per output when inner == 1 (the mean over the last axis), else columns
 * eight at a time. */
void thaw_f32_reduce_mean__avx2(size_t outer, size_t reduce, size_t inner, const float *x,
                                float *y) {
  const float inverse_count = 1.0f / (float)reduce;
  for (size_t o = 0; o < outer; o++, x += reduce * inner, y += inner) {
    if (inner == 1) {
      y[0] = thaw_row_sum_f32__avx2(reduce, x) * inverse_count;
      continue;
    }
    size_t j = 0;
    for (; j + 8 <= inner; j += 8) column_means(reduce, inner, 8, x + j, inverse_count, y + j);
    if (j < inner) column_means(reduce, inner, inner - j, x + j, inverse_count, y + j);
  }
}
