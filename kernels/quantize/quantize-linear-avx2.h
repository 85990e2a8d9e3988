/*
 * The row functions of quantize-linear-driver.h on AVX2, 8 values per step. Quantizing is
 * thaw_quantize_value lane by lane: vdivps, vroundps to nearest even (what nearbyintf does in
 * the default rounding mode), the zero point added in f32, then vmaxps with the lowest level as
 * its second operand, which is what vmaxps returns for a NaN lane; the levels are then exact
 * integers, and their low bytes are the int8 or uint8 results. Include only from *-avx2.c files.
 */
#ifndef THAW_KERNELS_QUANTIZE_LINEAR_AVX2_H
#define THAW_KERNELS_QUANTIZE_LINEAR_AVX2_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/avx2.h"

/* The 8 levels of x[0..7] as int32. */
static inline __m256i quantize_step__avx2(const float *x, __m256 scale, __m256 zero_point,
                                          __m256 lowest, __m256 highest) {
  const __m256 quotient = _mm256_div_ps(_mm256_loadu_ps(x), scale);
  const __m256 rounded = _mm256_round_ps(quotient, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 level = _mm256_max_ps(_mm256_add_ps(rounded, zero_point), lowest);
  return _mm256_cvtps_epi32(_mm256_min_ps(level, highest));
}

static inline size_t thaw_quantize_row(size_t n, const float *x, float scale, float zero_point,
                                       float lowest, float highest, uint8_t *y) {
  const __m256 vscale = _mm256_set1_ps(scale), vzero = _mm256_set1_ps(zero_point);
  const __m256 vlowest = _mm256_set1_ps(lowest), vhighest = _mm256_set1_ps(highest);
  /* Byte 0 of each of the 8 int16: the levels' bytes, whether they are int8 or uint8. */
  const __m128i low_bytes =
      _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i levels = quantize_step__avx2(x + i, vscale, vzero, vlowest, vhighest);
    const __m128i halves =
        _mm_packs_epi32(_mm256_castsi256_si128(levels), _mm256_extracti128_si256(levels, 1));
    _mm_storel_epi64((__m128i *)(y + i), _mm_shuffle_epi8(halves, low_bytes));
  }
  return i;
}

/* (float(q) - zero_point) * scale of 8 int32 q. */
static inline void dequantize_step__avx2(__m256i q, __m256 zero_point, __m256 scale, float *y) {
  _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(q), zero_point), scale));
}

static inline __attribute__((always_inline)) size_t
thaw_dequantize_row_bytes(size_t n, const uint8_t *x, bool is_signed, float zero_point,
                          float scale, float *y) {
  const __m256 vzero = _mm256_set1_ps(zero_point), vscale = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64((const __m128i *)(x + i));
    const __m256i q = is_signed ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    dequantize_step__avx2(q, vzero, vscale, y + i);
  }
  return i;
}

static inline size_t thaw_dequantize_row_i32(size_t n, const int32_t *x, float zero_point,
                                             float scale, float *y) {
  const __m256 vzero = _mm256_set1_ps(zero_point), vscale = _mm256_set1_ps(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    dequantize_step__avx2(_mm256_loadu_si256((const __m256i *)(x + i)), vzero, vscale, y + i);
  return i;
}

static inline void thaw_quantize_range(size_t n, const float *x, float *min, float *max) {
  thaw_qs8_range__avx2(n, x, min, max);
}

#endif /* THAW_KERNELS_QUANTIZE_LINEAR_AVX2_H */
