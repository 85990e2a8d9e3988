/* Strided copy on AVX2: the shared driver (x-strided-copy-driver.h) with this ISA's 8x8
 * register transpose. */
#include <immintrin.h>
#include <stddef.h>

#include "kernels/avx2.h"

#define THAW_X32_TILE 8

/* y[a * y_stride + b] = x[a + b * x_stride] for a, b in [0, 8), strides in elements. Float
 * shuffles only move bits, so any 32-bit type goes through unchanged. */
static inline void thaw_x32_transpose_tile(const void *x, ptrdiff_t x_stride, void *y,
                                           size_t y_stride) {
  const float *x_row = x;
  float *y_row = y;
  __m256 r[8], t[8];
  for (size_t b = 0; b < 8; b++) r[b] = _mm256_loadu_ps(x_row + (ptrdiff_t)b * x_stride);
  /* Pairs of rows interleaved, then pairs of pairs: the 128-bit halves of s hold columns a
   * and a + 4 of four consecutive rows. */
  for (size_t b = 0; b < 8; b += 2) {
    t[b] = _mm256_unpacklo_ps(r[b], r[b + 1]);
    t[b + 1] = _mm256_unpackhi_ps(r[b], r[b + 1]);
  }
  const __m256 s0 = _mm256_shuffle_ps(t[0], t[2], 0x44), s1 = _mm256_shuffle_ps(t[0], t[2], 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t[1], t[3], 0x44), s3 = _mm256_shuffle_ps(t[1], t[3], 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t[4], t[6], 0x44), s5 = _mm256_shuffle_ps(t[4], t[6], 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t[5], t[7], 0x44), s7 = _mm256_shuffle_ps(t[5], t[7], 0xEE);
  _mm256_storeu_ps(y_row + 0 * y_stride, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(y_row + 1 * y_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(y_row + 2 * y_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(y_row + 3 * y_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(y_row + 4 * y_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(y_row + 5 * y_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(y_row + 6 * y_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(y_row + 7 * y_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

#include "kernels/data/x-strided-copy-driver.h"

void thaw_x_strided_copy__avx2(const thaw_strided_copy_params *p, const void *x, void *y) {
  thaw_x_strided_copy_drive(p, x, y);
}
