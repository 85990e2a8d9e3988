/*
 * The depthwise plane body (f32-dwconv2d-plane.h) on NEON, with its edge loads and stride-2
 * column split. Include only from *-neon.c files.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H

#include <arm_neon.h>

#include "kernels/math/f32-vector-neon.h"

/* The bytes each lane takes, for a table lookup (TBL); the lanes outside the row look up index
 * 0xff, which TBL turns into zeros. */
typedef uint8x16_t thaw_f32_dwconv2d_lanes;

#include "kernels/conv/f32-dwconv2d-plane.h"

/* The lanes' columns are counted in 32 bits: the driver takes only rows whose columns fit
 * (thaw_f32_dwconv2d_supports). */
static inline __attribute__((always_inline)) thaw_f32_dwconv2d_lanes thaw_f32_dwconv2d_lanes_at(
    ptrdiff_t column, ptrdiff_t nearest, size_t width) {
  const int32x4_t lanes = {0, 1, 2, 3};
  const int32x4_t columns = vaddq_s32(lanes, vdupq_n_s32((int32_t)column));
  const uint32x4_t inside = vandq_u32(vcgeq_s32(columns, vdupq_n_s32(0)),
                                      vcltq_s32(columns, vdupq_n_s32((int32_t)width)));
  /* Lane j takes bytes 4 * (column + j - nearest) + 0..3 of the loaded vector. */
  const uint32x4_t first_bytes =
      vreinterpretq_u32_s32(vshlq_n_s32(vsubq_s32(columns, vdupq_n_s32((int32_t)nearest)), 2));
  const uint32x4_t byte_sources =
      vaddq_u32(vmulq_n_u32(first_bytes, 0x01010101u), vdupq_n_u32(0x03020100u));
  return vreinterpretq_u8_u32(vorrq_u32(byte_sources, vmvnq_u32(inside)));
}

static inline __attribute__((always_inline)) thaw_f32v thaw_f32_dwconv2d_move_lanes(
    thaw_f32v loaded, const thaw_f32_dwconv2d_lanes *lanes) {
  return vreinterpretq_f32_u8(vqtbl1q_u8(vreinterpretq_u8_f32(loaded), *lanes));
}

/* UZP1 and UZP2 keep the columns in order. */
static inline thaw_f32v thaw_f32_dwconv2d_even_columns(thaw_f32v low, thaw_f32v high) {
  return vuzp1q_f32(low, high);
}

static inline thaw_f32v thaw_f32_dwconv2d_odd_columns(thaw_f32v low, thaw_f32v high) {
  return vuzp2q_f32(low, high);
}

static inline thaw_f32v thaw_f32_dwconv2d_in_output_order(thaw_f32v sums) { return sums; }

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_NEON_H */
