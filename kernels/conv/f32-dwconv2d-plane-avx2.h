/*
 * The body shared by the AVX2 depthwise microkernels. Each microkernel calls it with its window
 * shape as constants, and always_inline lets the compiler unroll the taps and keep the filter in
 * registers; the general microkernel passes the geometry's values. Include only from *-avx2.c
 * files.
 *
 * Outputs are computed in blocks of several rows by 8 columns. Every input row of a block's
 * windows is loaded once per tap column and feeds all the output rows whose windows contain
 * it: at 3x3 stride 1, four output rows read six input rows (18 loads for 36 FMAs instead of
 * 36 for 36), and the four accumulators are independent FMA chains.
 *
 * The stride-2 microkernels read padded rows in order (THAW_DWCONV2D_COLUMNS_IN_ORDER): taps
 * kw = 2j and 2j + 1 share two loads of 8 columns from column 2j, and one shuffle each picks
 * their even or odd columns. The shuffle works within 128-bit lanes, so the sums hold outputs
 * 0 1 4 5 2 3 6 7; one permute per stored vector restores the order, instead of one per tap.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H

#include <immintrin.h>

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* Windows of up to this many taps (5x5) keep their broadcast weights in a local array. */
#define THAW_DWCONV2D_HOISTED_TAPS 25
/* Output rows per block in the microkernels with a constant window. */
#define THAW_DWCONV2D_BLOCK_ROWS 4

/* Whether the sums of a step hold its outputs in the shuffled order (see above). */
static inline __attribute__((always_inline)) bool thaw_f32_dwconv2d_deinterleaves_avx2(
    thaw_dwconv2d_columns columns, size_t stride_w) {
  return columns == THAW_DWCONV2D_COLUMNS_IN_ORDER && stride_w == 2;
}

/* The inputs of tap column kw for 8 outputs from `row`, the window row at the step's first
 * output. In order, only strides 1 and 2 without dilation are supported. */
static inline __attribute__((always_inline)) __m256 thaw_f32_dwconv2d_tap_avx2(
    const thaw_dwconv2d_geometry *g, const float *restrict row, size_t kw, size_t stride_w,
    size_t dilation_w, thaw_dwconv2d_columns columns) {
  if (thaw_f32_dwconv2d_deinterleaves_avx2(columns, stride_w)) {
    const float *pair = row + kw / 2 * 2;
    const __m256 low = _mm256_loadu_ps(pair), high = _mm256_loadu_ps(pair + 8);
    return kw % 2 == 0 ? _mm256_shuffle_ps(low, high, _MM_SHUFFLE(2, 0, 2, 0))
                       : _mm256_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 3, 1));
  }
  const size_t column = kw * dilation_w;
  return _mm256_loadu_ps(row + (column % stride_w) * g->phase_width + column / stride_w);
}

/* The sums of block_rows output rows (starting at the window top `input`) by 8 columns, bias
 * included: input row r of the block's windows serves output row o when r - o * stride_h is a
 * multiple of dilation_h below kernel_height * dilation_h. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_block_avx2(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const __m256 *weights,
    const float *restrict filter, __m256 bias, __m256 *sums, size_t block_rows,
    size_t kernel_height, size_t kernel_width, size_t stride_h, size_t stride_w,
    size_t dilation_h, size_t dilation_w, thaw_dwconv2d_columns columns) {
  const size_t taps = kernel_height * kernel_width;
  const bool hoisted = taps <= THAW_DWCONV2D_HOISTED_TAPS;
#pragma GCC unroll 4
  for (size_t o = 0; o < block_rows; o++) sums[o] = bias;
  const size_t input_rows = (block_rows - 1) * stride_h + (kernel_height - 1) * dilation_h + 1;
#pragma GCC unroll 16
  for (size_t r = 0; r < input_rows; r++) {
    const float *row = input + r * g->row_stride;
#pragma GCC unroll 8
    for (size_t kw = 0; kw < kernel_width; kw++) {
      const __m256 values = thaw_f32_dwconv2d_tap_avx2(g, row, kw, stride_w, dilation_w, columns);
#pragma GCC unroll 4
      for (size_t o = 0; o < block_rows; o++) {
        if (r < o * stride_h) continue;
        const size_t offset = r - o * stride_h;
        if (offset % dilation_h != 0 || offset / dilation_h >= kernel_height) continue;
        const size_t t = offset / dilation_h * kernel_width + kw;
        const __m256 weight = hoisted ? weights[t] : _mm256_broadcast_ss(&filter[t]);
        sums[o] = _mm256_fmadd_ps(values, weight, sums[o]);
      }
    }
  }
}

/* A step's sums, clamped and in output order. */
static inline __attribute__((always_inline)) __m256 thaw_f32_dwconv2d_result_avx2(
    __m256 sum, __m256 output_min, __m256 output_max, size_t stride_w,
    thaw_dwconv2d_columns columns) {
  /* max_ps and min_ps return their second operand when either is NaN. */
  const __m256 clamped = _mm256_min_ps(output_max, _mm256_max_ps(output_min, sum));
  if (!thaw_f32_dwconv2d_deinterleaves_avx2(columns, stride_w)) return clamped;
  return _mm256_castpd_ps(
      _mm256_permute4x64_pd(_mm256_castps_pd(clamped), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* block_rows output rows from output row `oh`: full 8-column steps with plain stores, then the
 * row's last partial step with masked ones. The padded plane makes every load in bounds. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_rows_avx2(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const __m256 *weights,
    const float *restrict filter, __m256 bias, float *restrict output, size_t oh,
    size_t block_rows, size_t kernel_height, size_t kernel_width, size_t stride_h,
    size_t stride_w, size_t dilation_h, size_t dilation_w, thaw_dwconv2d_columns columns) {
  const size_t out_width = g->out_width;
  /* Padded columns a step advances by: outputs are positions in a phase, or every stride_w-th
   * column in order. */
  const size_t step_stride = columns == THAW_DWCONV2D_COLUMNS_IN_ORDER ? stride_w : 1;
  const float *window_top = input + oh * stride_h * g->row_stride;
  float *output_row = output + oh * out_width;
  const __m256 output_min = _mm256_set1_ps(g->output_min);
  const __m256 output_max = _mm256_set1_ps(g->output_max);
  __m256 sums[THAW_DWCONV2D_BLOCK_ROWS];
  size_t ow = 0;
  for (; ow + THAW_DWCONV2D_TILE <= out_width; ow += THAW_DWCONV2D_TILE) {
    thaw_f32_dwconv2d_block_avx2(g, window_top + ow * step_stride, weights, filter, bias, sums,
                                 block_rows, kernel_height, kernel_width, stride_h, stride_w,
                                 dilation_h, dilation_w, columns);
#pragma GCC unroll 4
    for (size_t o = 0; o < block_rows; o++)
      _mm256_storeu_ps(output_row + o * out_width + ow,
                       thaw_f32_dwconv2d_result_avx2(sums[o], output_min, output_max, stride_w,
                                                     columns));
  }
  if (ow < out_width) {
    const __m256i tail_mask = thaw_tail_mask__avx2(out_width - ow);
    thaw_f32_dwconv2d_block_avx2(g, window_top + ow * step_stride, weights, filter, bias, sums,
                                 block_rows, kernel_height, kernel_width, stride_h, stride_w,
                                 dilation_h, dilation_w, columns);
#pragma GCC unroll 4
    for (size_t o = 0; o < block_rows; o++)
      _mm256_maskstore_ps(output_row + o * out_width + ow, tail_mask,
                          thaw_f32_dwconv2d_result_avx2(sums[o], output_min, output_max,
                                                        stride_w, columns));
  }
}

/* The whole plane: blocks of block_rows output rows, then the rows left over one at a time. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_avx2(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t block_rows, size_t kernel_height,
    size_t kernel_width, size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w,
    thaw_dwconv2d_columns columns) {
  const __m256 bias_vector = _mm256_set1_ps(bias);
  /* Broadcast once per plane. With a constant window of up to 9 taps they all stay in registers;
   * the output stores would otherwise make the compiler reload them (it cannot tell that output
   * does not alias filter). */
  const size_t taps = kernel_height * kernel_width;
  __m256 weights[THAW_DWCONV2D_HOISTED_TAPS];
  for (size_t t = 0; taps <= THAW_DWCONV2D_HOISTED_TAPS && t < taps; t++)
    weights[t] = _mm256_broadcast_ss(&filter[t]);

  size_t oh = 0;
  for (; oh + block_rows <= g->out_height; oh += block_rows)
    thaw_f32_dwconv2d_rows_avx2(g, input, weights, filter, bias_vector, output, oh, block_rows,
                                kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                dilation_w, columns);
  for (; oh < g->out_height; oh++)
    thaw_f32_dwconv2d_rows_avx2(g, input, weights, filter, bias_vector, output, oh, 1,
                                kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                dilation_w, columns);
}

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_AVX2_H */
