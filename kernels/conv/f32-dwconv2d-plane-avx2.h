/*
 * The body shared by the AVX2 depthwise microkernels. Each microkernel calls it with its window
 * shape as constants, and always_inline lets the compiler unroll the taps and keep the filter in
 * registers; the general microkernel passes the geometry's values. Include only from *-avx2.c
 * files.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H

#include <immintrin.h>

#include "kernels/conv/f32-dwconv2d.h"

/* Windows of up to this many taps (5x5) keep their broadcast weights in a local array. */
#define THAW_DWCONV2D_HOISTED_TAPS 25

/* Lanes [0, count) set: a mask for the last, partial step of a row. */
static inline __m256i thaw_dwconv2d_tail_mask_avx2(size_t count) {
  static const int32_t mask_table[2 * THAW_DWCONV2D_TILE] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                             0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256((const __m256i *)&mask_table[THAW_DWCONV2D_TILE - count]);
}

static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_avx2(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t kernel_height, size_t kernel_width, size_t stride_h,
    size_t stride_w, size_t dilation_h, size_t dilation_w) {
  const size_t out_width = g->out_width, row_stride = g->row_stride;
  const size_t full_width = out_width - out_width % THAW_DWCONV2D_TILE;
  const __m256i tail_mask = thaw_dwconv2d_tail_mask_avx2(out_width % THAW_DWCONV2D_TILE);
  const __m256 bias_vector = _mm256_set1_ps(bias);
  const __m256 output_min = _mm256_set1_ps(g->output_min);
  const __m256 output_max = _mm256_set1_ps(g->output_max);
  /* Broadcast once per plane. With a constant window of up to 9 taps they all stay in registers;
   * the output stores would otherwise make the compiler reload them (it cannot tell that output
   * does not alias filter). */
  const size_t taps = kernel_height * kernel_width;
  const bool hoisted = taps <= THAW_DWCONV2D_HOISTED_TAPS;
  __m256 weights[THAW_DWCONV2D_HOISTED_TAPS];
  for (size_t t = 0; hoisted && t < taps; t++) weights[t] = _mm256_broadcast_ss(&filter[t]);

  for (size_t oh = 0; oh < g->out_height; oh++) {
    const float *window_top = input + oh * stride_h * row_stride;
    float *output_row = output + oh * out_width;
    for (size_t ow = 0; ow < out_width; ow += THAW_DWCONV2D_TILE) {
      __m256 sum = bias_vector;
      for (size_t kh = 0; kh < kernel_height; kh++) {
        const float *row = window_top + kh * dilation_h * row_stride + ow;
        for (size_t kw = 0; kw < kernel_width; kw++) {
          const size_t column = kw * dilation_w;
          const float *row_taps = row + (column % stride_w) * g->phase_width + column / stride_w;
          const size_t t = kh * kernel_width + kw;
          const __m256 weight = hoisted ? weights[t] : _mm256_broadcast_ss(&filter[t]);
          sum = _mm256_fmadd_ps(_mm256_loadu_ps(row_taps), weight, sum);
        }
      }
      /* max_ps and min_ps return their second operand when either is NaN. */
      sum = _mm256_min_ps(output_max, _mm256_max_ps(output_min, sum));
      if (ow < full_width)
        _mm256_storeu_ps(output_row + ow, sum);
      else
        _mm256_maskstore_ps(output_row + ow, tail_mask, sum);
    }
  }
}

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H */
