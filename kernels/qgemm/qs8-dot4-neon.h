/*
 * The step the NEON qs8 tiles without the dot product repeat, and the broadcast of one group
 * that the NEON qs8 tiles share. A group is 4 consecutive k; a register of the packed layout
 * holds 4 columns (or pixels) x 1 group.
 * SMULL/SMULL2 multiply a broadcast group by a register's 4 columns into 16 int16 products,
 * SMLAL/SMLAL2 add those of the next group lane by lane, and SADALP adds adjacent int16 lanes
 * into the int32 accumulators. An int16 lane then holds two products of bytes of which one side
 * is the weights, in [-127, 127] (kernels.h): at most 2 * 128 * 127 < 2^15 in magnitude for
 * activations anywhere in int8, so nothing wraps and the sums are exact for DYNAMIC and STATIC
 * inputs alike. The accumulators hold 2 partial sums per column: acc[0] columns 0 and 1, acc[1]
 * columns 2 and 3, joined by one ADDP at the end.
 */
#ifndef THAW_KERNELS_QGEMM_QS8_DOT4_NEON_H
#define THAW_KERNELS_QGEMM_QS8_DOT4_NEON_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

/* The 4 bytes at p in every 32-bit lane. */
static inline int8x16_t thaw_qs8_broadcast4__neon(const int8_t *p) {
  int32_t group;
  memcpy(&group, p, sizeof group);
  return vreinterpretq_s8_s32(vdupq_n_s32(group));
}

/* acc + the 4-products of the group broadcast in va with the 4 columns of vb. */
static inline void thaw_qs8_dot4_add__neon(int32x4_t acc[2], int8x16_t va, int8x16_t vb) {
  acc[0] = vpadalq_s16(acc[0], vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
  acc[1] = vpadalq_s16(acc[1], vmull_high_s8(va, vb));
}

/* The same for two groups at once: va with vb, and va_next with vb_next. */
static inline void thaw_qs8_dot4x2_add__neon(int32x4_t acc[2], int8x16_t va, int8x16_t vb,
                                             int8x16_t va_next, int8x16_t vb_next) {
  const int16x8_t vlow = vmlal_s8(vmull_s8(vget_low_s8(va), vget_low_s8(vb)),
                                  vget_low_s8(va_next), vget_low_s8(vb_next));
  const int16x8_t vhigh = vmlal_high_s8(vmull_high_s8(va, vb), va_next, vb_next);
  acc[0] = vpadalq_s16(acc[0], vlow);
  acc[1] = vpadalq_s16(acc[1], vhigh);
}

/* The 4 columns' sums. */
static inline int32x4_t thaw_qs8_dot4_sums__neon(const int32x4_t acc[2]) {
  return vpaddq_s32(acc[0], acc[1]);
}

#endif /* THAW_KERNELS_QGEMM_QS8_DOT4_NEON_H */
