/*
 * The row functions of quantize-linear-driver.h on NEON, 8 values per step. Quantizing is
 * thaw_quantize_value lane by lane: FDIV, FRINTN (to nearest even, as nearbyintf in the default
 * rounding mode), the zero point added in f32, then FMAXNM with the lowest level, which returns
 * the lowest level for a NaN lane (the quotient of a division is never a signalling NaN); the
 * levels are then exact integers that truncating narrows keep unchanged. Include only from
 * *-neon.c files.
 */
#ifndef THAW_KERNELS_QUANTIZE_LINEAR_NEON_H
#define THAW_KERNELS_QUANTIZE_LINEAR_NEON_H

#include <arm_neon.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/neon.h"

/* The 4 levels of x[0..3] as int32. */
static inline int32x4_t quantize_step__neon(const float *x, float32x4_t scale,
                                            float32x4_t zero_point, float32x4_t lowest,
                                            float32x4_t highest) {
  const float32x4_t rounded = vrndnq_f32(vdivq_f32(vld1q_f32(x), scale));
  const float32x4_t level = vmaxnmq_f32(vaddq_f32(rounded, zero_point), lowest);
  return vcvtq_s32_f32(vminq_f32(level, highest));
}

/* Narrowing to 16 bits, then keeping the low byte, is exact for int8 and uint8 levels alike. */
static inline size_t thaw_quantize_row(size_t n, const float *x, float scale, float zero_point,
                                       float lowest, float highest, uint8_t *y) {
  const float32x4_t vscale = vdupq_n_f32(scale), vzero = vdupq_n_f32(zero_point);
  const float32x4_t vlowest = vdupq_n_f32(lowest), vhighest = vdupq_n_f32(highest);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const int16x8_t levels =
        vcombine_s16(vmovn_s32(quantize_step__neon(x + i, vscale, vzero, vlowest, vhighest)),
                     vmovn_s32(quantize_step__neon(x + i + 4, vscale, vzero, vlowest, vhighest)));
    vst1_u8(y + i, vmovn_u16(vreinterpretq_u16_s16(levels)));
  }
  return i;
}

/* (float(q) - zero_point) * scale of 4 int32 q. */
static inline void dequantize_step__neon(int32x4_t q, float32x4_t zero_point, float32x4_t scale,
                                         float *y) {
  vst1q_f32(y, vmulq_f32(vsubq_f32(vcvtq_f32_s32(q), zero_point), scale));
}

/* Bytes widened to 16 bits (0..255 is the same in u16 and s16), then to 32 in two halves. */
static inline __attribute__((always_inline)) size_t
thaw_dequantize_row_bytes(size_t n, const uint8_t *x, bool is_signed, float zero_point,
                          float scale, float *y) {
  const float32x4_t vzero = vdupq_n_f32(zero_point), vscale = vdupq_n_f32(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint8x8_t bytes = vld1_u8(x + i);
    const int16x8_t q = is_signed ? vmovl_s8(vreinterpret_s8_u8(bytes))
                                  : vreinterpretq_s16_u16(vmovl_u8(bytes));
    dequantize_step__neon(vmovl_s16(vget_low_s16(q)), vzero, vscale, y + i);
    dequantize_step__neon(vmovl_s16(vget_high_s16(q)), vzero, vscale, y + i + 4);
  }
  return i;
}

static inline size_t thaw_dequantize_row_i32(size_t n, const int32_t *x, float zero_point,
                                             float scale, float *y) {
  const float32x4_t vzero = vdupq_n_f32(zero_point), vscale = vdupq_n_f32(scale);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) dequantize_step__neon(vld1q_s32(x + i), vzero, vscale, y + i);
  return i;
}

static inline void thaw_quantize_range(size_t n, const float *x, float *min, float *max) {
  thaw_qs8_range__neon(n, x, min, max);
}

#endif /* THAW_KERNELS_QUANTIZE_LINEAR_NEON_H */
