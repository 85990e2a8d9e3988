/*
 * The epilogue both NEON qs8 flavours (sdot and the widening fallback) share: int32 accumulators
 * of 4 consecutive outputs to clamped floats, the same arithmetic as thaw_qs8_requantize (a
 * multiply, then the bias added: no fused multiply-add), so every variant agrees to the bit.
 */
#ifndef THAW_KERNELS_QGEMM_QS8_REQUANTIZE_NEON_H
#define THAW_KERNELS_QGEMM_QS8_REQUANTIZE_NEON_H

#include <arm_neon.h>

#include "kernels/math/x32-tail-neon.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"

/* float(corrected) * scales + bias, clamped to [vmin, vmax] with NaN passing through (FMAX and
 * FMIN propagate it). */
static inline float32x4_t thaw_qs8_scale4__neon(int32x4_t vcorrected, float32x4_t vscales,
                                                float32x4_t vbias, float32x4_t vmin,
                                                float32x4_t vmax) {
  const float32x4_t vvalue = vaddq_f32(vmulq_f32(vcvtq_f32_s32(vcorrected), vscales), vbias);
  return vminq_f32(vmax, vmaxq_f32(vmin, vvalue));
}

/* float(acc - zero_point * sums) * scales + bias, clamped as thaw_qs8_scale4__neon. */
static inline float32x4_t thaw_qs8_requantize4__neon(int32x4_t vacc, int32x4_t vzero_point,
                                                     int32x4_t vsums, float32x4_t vscales,
                                                     float32x4_t vbias, float32x4_t vmin,
                                                     float32x4_t vmax) {
  return thaw_qs8_scale4__neon(vmlsq_s32(vacc, vzero_point, vsums), vscales, vbias, vmin, vmax);
}

/* One GEMM row of the tile (columns 4q .. 4q+3 in vacc[q]) requantized with the row's
 * quantization and stored, nr (<= 16) columns. Column scales and sums are padded to whole panels
 * in the packed B, the bias is not: it is read for the nr columns only. */
static inline void thaw_qs8_store_gemm_row__neon(const int32x4_t vacc[4],
                                                 const thaw_qs8_row_quantization *row,
                                                 const thaw_qs8_tile_args *args, size_t nr,
                                                 float *c) {
  const int32x4_t vzero_point = vdupq_n_s32(row->zero_point);
  const float32x4_t vrow_scale = vdupq_n_f32(row->scale);
  const float32x4_t vmin = vdupq_n_f32(args->min), vmax = vdupq_n_f32(args->max);
  for (size_t q = 0; q < 4 && 4 * q < nr; q++) {
    const size_t columns = thaw_panel_quarter_columns(nr, q);
    const float32x4_t vbias = args->bias != NULL ? thaw_load_f32__neon(args->bias + 4 * q, columns)
                                                 : vdupq_n_f32(0.0f);
    const float32x4_t vscales = vmulq_f32(vrow_scale, vld1q_f32(args->column_scales + 4 * q));
    const float32x4_t vvalue = thaw_qs8_requantize4__neon(
        vacc[q], vzero_point, vld1q_s32(args->column_sums + 4 * q), vscales, vbias, vmin, vmax);
    thaw_store_f32__neon(c + 4 * q, columns, vvalue);
  }
}

/* One convolution channel's run of pixels (4 per vector in vacc, `pixels` of them stored)
 * requantized with the channel's offset, scale and bias. */
static inline void thaw_qs8_store_conv_channel__neon(const int32x4_t *vacc, size_t pixels,
                                                     const thaw_qs8_conv_tile_args *args,
                                                     size_t channel, float *c) {
  const int32x4_t voffset = vdupq_n_s32(args->offsets[channel]);
  const float32x4_t vscale = vdupq_n_f32(args->scales[channel]);
  const float32x4_t vbias = vdupq_n_f32(args->biases[channel]);
  const float32x4_t vmin = vdupq_n_f32(args->min), vmax = vdupq_n_f32(args->max);
  for (size_t q = 0; 4 * q < pixels; q++) {
    const float32x4_t vvalue =
        thaw_qs8_scale4__neon(vsubq_s32(vacc[q], voffset), vscale, vbias, vmin, vmax);
    thaw_store_f32__neon(c + 4 * q, thaw_panel_quarter_columns(pixels, q), vvalue);
  }
}

#endif /* THAW_KERNELS_QGEMM_QS8_REQUANTIZE_NEON_H */
