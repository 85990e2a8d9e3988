/* Partial loads and stores of the last n % 4 elements of a row of 32-bit values, so that NEON
 * kernels finish a row without reading or writing past it. NEON has no masked moves: a partial
 * vector goes through a small stack buffer, which costs a few cycles once per row. */
#ifndef THAW_KERNELS_MATH_X32_TAIL_NEON_H
#define THAW_KERNELS_MATH_X32_TAIL_NEON_H

#include <arm_neon.h>
#include <stddef.h>
#include <string.h>

/* The first `count` (<= 4) floats at p, zeros in the other lanes. Callers pass a constant 4 in
 * their main loops, which makes this a plain load. */
static inline float32x4_t thaw_load_f32__neon(const float *p, size_t count) {
  if (count == 4) return vld1q_f32(p);
  float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  memcpy(lanes, p, count * sizeof(float));
  return vld1q_f32(lanes);
}

static inline void thaw_store_f32__neon(float *p, size_t count, float32x4_t v) {
  if (count == 4) {
    vst1q_f32(p, v);
    return;
  }
  float lanes[4];
  vst1q_f32(lanes, v);
  memcpy(p, lanes, count * sizeof(float));
}

/* Lanes [0, count) set, for count in [0, 4]. */
static inline uint32x4_t thaw_tail_mask__neon(size_t count) {
  const uint32x4_t lane_index = {0, 1, 2, 3};
  return vcltq_u32(lane_index, vdupq_n_u32((uint32_t)count));
}

/* How many of the `columns` real columns fall in quarter q (columns 4q .. 4q+3) of a 16-wide
 * GEMM panel row; more than 16 columns count as 16. */
static inline size_t thaw_panel_quarter_columns(size_t columns, size_t q) {
  if (columns <= 4 * q) return 0;
  return columns - 4 * q >= 4 ? 4 : columns - 4 * q;
}

#endif /* THAW_KERNELS_MATH_X32_TAIL_NEON_H */
