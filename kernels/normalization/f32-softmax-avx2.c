#include <immintrin.h>
#include <math.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vmath-avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* A contiguous line (inner == 1), the attention and classifier case: maximum, then e^(x - max)
 * written to y and summed, then y scaled by 1/sum while it is still in cache. Lanes past the
 * end of the line are -inf for the maximum and 0 for the sum. */
static void softmax_line(size_t length, const float *x, float *y) {
  const __m256 minus_infinity = _mm256_set1_ps(-INFINITY);
  __m256 maximum = minus_infinity;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) maximum = _mm256_max_ps(maximum, _mm256_loadu_ps(x + i));
  const size_t tail = length - i;
  const __m256i tail_mask = thaw_tail_mask__avx2(tail);
  if (tail != 0) {
    const __m256 values = _mm256_maskload_ps(x + i, tail_mask);
    maximum = _mm256_max_ps(maximum, _mm256_blendv_ps(minus_infinity, values,
                                                      _mm256_castsi256_ps(tail_mask)));
  }
  const __m256 line_maximum = _mm256_set1_ps(thaw_vreduce_max_f32__avx2(maximum));

  __m256 sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= length; i += 8) {
    const __m256 e = thaw_vexp_f32__avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), line_maximum));
    _mm256_storeu_ps(y + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (tail != 0) {
    const __m256 values = _mm256_maskload_ps(x + i, tail_mask);
    const __m256 e = _mm256_and_ps(thaw_vexp_f32__avx2(_mm256_sub_ps(values, line_maximum)),
                                   _mm256_castsi256_ps(tail_mask));
    _mm256_maskstore_ps(y + i, tail_mask, e);
    sum = _mm256_add_ps(sum, e);
  }

  const __m256 inverse = _mm256_set1_ps(1.0f / thaw_vreduce_add_f32__avx2(sum));
  for (i = 0; i + 8 <= length; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), inverse));
  if (tail != 0)
    _mm256_maskstore_ps(y + i, tail_mask,
                        _mm256_mul_ps(_mm256_maskload_ps(y + i, tail_mask), inverse));
}

/* Up to eight neighbouring lines of a [axis_size][inner] block at once, one per lane: the
 * same three passes with every load a row of `count` contiguous floats. Inlined so that the
 * whole blocks (count 8) use plain loads and stores. */
static inline __attribute__((always_inline)) void
softmax_columns(size_t axis_size, size_t inner, size_t count, const float *x, float *y) {
  __m256 maximum = _mm256_set1_ps(-INFINITY);
  for (size_t a = 0; a < axis_size; a++)
    maximum = _mm256_max_ps(maximum, thaw_load_f32__avx2(x + a * inner, count));
  __m256 sum = _mm256_setzero_ps();
  for (size_t a = 0; a < axis_size; a++) {
    const __m256 values = thaw_load_f32__avx2(x + a * inner, count);
    const __m256 e = thaw_vexp_f32__avx2(_mm256_sub_ps(values, maximum));
    thaw_store_f32__avx2(y + a * inner, count, e);
    sum = _mm256_add_ps(sum, e);
  }
  const __m256 inverse = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
  for (size_t a = 0; a < axis_size; a++)
    thaw_store_f32__avx2(y + a * inner, count,
                         _mm256_mul_ps(thaw_load_f32__avx2(y + a * inner, count), inverse));
}

void thaw_f32_softmax__avx2(size_t outer, size_t axis_size, size_t inner, const float *x,
                            float *y) {
  const size_t block = axis_size * inner;
  for (size_t o = 0; o < outer; o++, x += block, y += block) {
    if (inner == 1) {
      softmax_line(axis_size, x, y);
      continue;
    }
    size_t j = 0;
    for (; j + 8 <= inner; j += 8) softmax_columns(axis_size, inner, 8, x + j, y + j);
    if (j < inner) softmax_columns(axis_size, inner, inner - j, x + j, y + j);
  }
}
