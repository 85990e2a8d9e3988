/* Strided copy on Advanced SIMD: the shared driver (x-strided-copy-driver.h) with this ISA's 4x4
 * register transpose. */
#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/neon.h"

#define THAW_X32_TILE 4

/* y[a * y_stride + b] = x[a + b * x_stride] for a, b in [0, 4), strides in elements. */
static inline void thaw_x32_transpose_tile(const void *x, ptrdiff_t x_stride, void *y,
                                           size_t y_stride) {
  const uint32_t *x_row = x;
  uint32_t *y_row = y;
  const uint32x4_t r0 = vld1q_u32(x_row), r1 = vld1q_u32(x_row + x_stride);
  const uint32x4_t r2 = vld1q_u32(x_row + 2 * x_stride), r3 = vld1q_u32(x_row + 3 * x_stride);
  /* Element pairs first (t0 = r0[0] r1[0] r0[2] r1[2], ...), then 64-bit pairs of them. */
  const uint64x2_t t0 = vreinterpretq_u64_u32(vtrn1q_u32(r0, r1));
  const uint64x2_t t1 = vreinterpretq_u64_u32(vtrn2q_u32(r0, r1));
  const uint64x2_t t2 = vreinterpretq_u64_u32(vtrn1q_u32(r2, r3));
  const uint64x2_t t3 = vreinterpretq_u64_u32(vtrn2q_u32(r2, r3));
  vst1q_u32(y_row, vreinterpretq_u32_u64(vtrn1q_u64(t0, t2)));
  vst1q_u32(y_row + y_stride, vreinterpretq_u32_u64(vtrn1q_u64(t1, t3)));
  vst1q_u32(y_row + 2 * y_stride, vreinterpretq_u32_u64(vtrn2q_u64(t0, t2)));
  vst1q_u32(y_row + 3 * y_stride, vreinterpretq_u32_u64(vtrn2q_u64(t1, t3)));
}

#include "kernels/data/x-strided-copy-driver.h"

void thaw_x_strided_copy__neon(const thaw_strided_copy_params *p, const void *x, void *y) {
  thaw_x_strided_copy_drive(p, x, y);
}
