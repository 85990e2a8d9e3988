/*
 * The body shared by the NEON depthwise microkernels, the twin of f32-dwconv2d-plane-avx2.h:
 * each step computes THAW_DWCONV2D_TILE (8) outputs of a row as two quad registers. Each
 * microkernel calls it with its window shape as constants, and always_inline lets the compiler
 * unroll the taps and keep the filter in registers; the general microkernel passes the
 * geometry's values. Include only from *-neon.c files.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H

#include <arm_neon.h>

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/math/x32-tail-neon.h"

/* Windows of up to this many taps (5x5) keep their weights in a local array. */
#define THAW_DWCONV2D_HOISTED_TAPS_NEON 25

static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_neon(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t kernel_height, size_t kernel_width, size_t stride_h,
    size_t stride_w, size_t dilation_h, size_t dilation_w) {
  const size_t out_width = g->out_width, row_stride = g->row_stride;
  const float32x4_t bias_vector = vdupq_n_f32(bias);
  const float32x4_t output_min = vdupq_n_f32(g->output_min);
  const float32x4_t output_max = vdupq_n_f32(g->output_max);
  /* Loaded once per plane: the output stores would otherwise make the compiler reload them (it
   * cannot tell that output does not alias filter). FMLA takes a scalar operand by lane, so the
   * weights stay scalars. */
  const size_t taps = kernel_height * kernel_width;
  const bool hoisted = taps <= THAW_DWCONV2D_HOISTED_TAPS_NEON;
  float weights[THAW_DWCONV2D_HOISTED_TAPS_NEON];
  for (size_t t = 0; hoisted && t < taps; t++) weights[t] = filter[t];

  for (size_t oh = 0; oh < g->out_height; oh++) {
    const float *window_top = input + oh * stride_h * row_stride;
    float *output_row = output + oh * out_width;
    for (size_t ow = 0; ow < out_width; ow += THAW_DWCONV2D_TILE) {
      float32x4_t sum_low = bias_vector, sum_high = bias_vector;
      for (size_t kh = 0; kh < kernel_height; kh++) {
        const float *row = window_top + kh * dilation_h * row_stride + ow;
        for (size_t kw = 0; kw < kernel_width; kw++) {
          const size_t column = kw * dilation_w;
          const float *row_taps = row + (column % stride_w) * g->phase_width + column / stride_w;
          const size_t t = kh * kernel_width + kw;
          const float weight = hoisted ? weights[t] : filter[t];
          /* The driver pads every row so that a whole step reads inside it. */
          sum_low = vfmaq_n_f32(sum_low, vld1q_f32(row_taps), weight);
          sum_high = vfmaq_n_f32(sum_high, vld1q_f32(row_taps + 4), weight);
        }
      }
      /* FMAX/FMIN propagate NaN, as the clamp's contract asks. */
      sum_low = vminq_f32(output_max, vmaxq_f32(output_min, sum_low));
      sum_high = vminq_f32(output_max, vmaxq_f32(output_min, sum_high));
      const size_t count = out_width - ow < THAW_DWCONV2D_TILE ? out_width - ow
                                                               : THAW_DWCONV2D_TILE;
      if (count == THAW_DWCONV2D_TILE) {
        vst1q_f32(output_row + ow, sum_low);
        vst1q_f32(output_row + ow + 4, sum_high);
      } else {
        thaw_store_f32__neon(output_row + ow, count < 4 ? count : 4, sum_low);
        if (count > 4) thaw_store_f32__neon(output_row + ow + 4, count - 4, sum_high);
      }
    }
  }
}

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H */
