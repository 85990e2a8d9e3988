/* Lane masks and partial loads/stores for the last n % 8 elements of a row of 32-bit values,
 * so that vector kernels finish a row without reading or writing past it. */
#ifndef THAW_KERNELS_MATH_X32_TAIL_MASK_AVX2_H
#define THAW_KERNELS_MATH_X32_TAIL_MASK_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* The first `count` lanes set, for count in [0, 8]. */
static inline __m256i thaw_tail_mask__avx2(size_t count) {
  static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(lanes + 8 - count));
}

/* The masks of the low and high 8 lanes of a 16-wide row (a GEMM panel) with `columns` real
 * columns; more than 16 counts as 16. */
static inline void thaw_column_masks(size_t columns, __m256i *low, __m256i *high) {
  *low = thaw_tail_mask__avx2(columns < 8 ? columns : 8);
  *high = thaw_tail_mask__avx2(columns > 16 ? 8 : (columns > 8 ? columns - 8 : 0));
}

/* The first `count` (<= 8) floats at p, zeros in the other lanes. A whole vector is a plain
 * load: masked moves are much slower on some CPUs (AMD Zen), so callers pass a constant 8 in
 * their main loops and keep the mask for the tail. */
static inline __m256 thaw_load_f32__avx2(const float *p, size_t count) {
  return count == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, thaw_tail_mask__avx2(count));
}

static inline void thaw_store_f32__avx2(float *p, size_t count, __m256 v) {
  if (count == 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, thaw_tail_mask__avx2(count), v);
}

#endif /* THAW_KERNELS_MATH_X32_TAIL_MASK_AVX2_H */
