/*
 * The depthwise plane body (f32-dwconv2d-plane.h) on AVX2, with its edge loads and stride-2
 * column split. Include only from *-avx2.c files.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H

#include <immintrin.h>

#include "kernels/math/f32-vector-avx2.h"

/* A permute that moves each column to its lane and a mask that zeroes the lanes outside the
 * row. */
typedef struct thaw_f32_dwconv2d_lanes {
  __m256i sources;
  __m256 inside;
} thaw_f32_dwconv2d_lanes;

#include "kernels/conv/f32-dwconv2d-plane.h"

/* The lanes' columns are counted in 32 bits: the driver takes only rows whose columns fit
 * (thaw_f32_dwconv2d_supports). */
static inline __attribute__((always_inline)) thaw_f32_dwconv2d_lanes thaw_f32_dwconv2d_lanes_at(
    ptrdiff_t column, ptrdiff_t nearest, size_t width) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i columns = _mm256_add_epi32(lanes, _mm256_set1_epi32((int32_t)column));
  const __m256i outside =
      _mm256_or_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), columns),
                      _mm256_cmpgt_epi32(columns, _mm256_set1_epi32((int32_t)width - 1)));
  return (thaw_f32_dwconv2d_lanes){
      .sources = _mm256_add_epi32(lanes, _mm256_set1_epi32((int32_t)(column - nearest))),
      .inside = _mm256_castsi256_ps(_mm256_xor_si256(outside, _mm256_set1_epi32(-1))),
  };
}

static inline __attribute__((always_inline)) thaw_f32v thaw_f32_dwconv2d_move_lanes(
    thaw_f32v loaded, const thaw_f32_dwconv2d_lanes *lanes) {
  return _mm256_and_ps(_mm256_permutevar8x32_ps(loaded, lanes->sources), lanes->inside);
}

/* shuffle_ps picks within 128-bit halves: the outputs come out as 0 1 4 5 2 3 6 7. */
static inline thaw_f32v thaw_f32_dwconv2d_even_columns(thaw_f32v low, thaw_f32v high) {
  return _mm256_shuffle_ps(low, high, _MM_SHUFFLE(2, 0, 2, 0));
}

static inline thaw_f32v thaw_f32_dwconv2d_odd_columns(thaw_f32v low, thaw_f32v high) {
  return _mm256_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 3, 1));
}

static inline thaw_f32v thaw_f32_dwconv2d_in_output_order(thaw_f32v sums) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(sums), _MM_SHUFFLE(3, 1, 2, 0)));
}

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H */
