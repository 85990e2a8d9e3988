/*
 * What the NEON max and average pools share, the twin of f32-pool2d-avx2.h: the walk over output
 * rows computes 4 outputs at once wherever their whole windows lie inside the input and leaves
 * the outputs near the borders (and a row's last few) to a per-output function with bounds
 * checks. Include only from *-neon.c files.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_NEON_H
#define THAW_KERNELS_POOL_F32_POOL2D_NEON_H

#include <arm_neon.h>

#include "kernels/kernels.h"

/* Outputs one vector step produces along a row. */
#define THAW_POOL_NEON_STEP 4

/* Taps [begin, end) of a window. */
typedef struct thaw_pool_tap_range {
  size_t begin, end;
} thaw_pool_tap_range;

/* The taps of a window starting at `origin`, stepping by `dilation`, that land in [0, limit):
 * the ones that read real input. */
static inline thaw_pool_tap_range thaw_pool_taps_inside(ptrdiff_t origin, size_t taps,
                                                        size_t dilation, size_t limit) {
  thaw_pool_tap_range range = {0, taps};
  while (range.begin < taps && origin + (ptrdiff_t)(range.begin * dilation) < 0) range.begin++;
  while (range.end > range.begin &&
         origin + (ptrdiff_t)((range.end - 1) * dilation) >= (ptrdiff_t)limit)
    range.end--;
  return range;
}

/* Input columns ow*stride + offset for ow in [0, 4): stride 1 is one load, stride 2 one
 * de-interleaving LD2 (reading one float past the last column used), any other stride four
 * lane loads. */
static inline float32x4_t thaw_pool_load_columns_neon(const float *row, size_t stride) {
  if (stride == 1) return vld1q_f32(row);
  if (stride == 2) return vld2q_f32(row).val[0];
  float32x4_t columns = vld1q_dup_f32(row);
  columns = vld1q_lane_f32(row + stride, columns, 1);
  columns = vld1q_lane_f32(row + 2 * stride, columns, 2);
  return vld1q_lane_f32(row + 3 * stride, columns, 3);
}

/* Whether outputs [ow, ow + 4) of a row can be one vector step: every column their windows read,
 * including the extra one of the stride-2 load, is inside the input. */
static inline bool thaw_pool_vector_step_fits(const thaw_pool2d_params *p, size_t ow) {
  if (ow + THAW_POOL_NEON_STEP > p->out_width || ow * p->stride_w < p->pad_left) return false;
  const size_t reach = (p->kernel_width - 1) * p->dilation_w + (p->stride_w == 2 ? 1 : 0);
  return (ow + THAW_POOL_NEON_STEP - 1) * p->stride_w + reach < p->in_width + p->pad_left;
}

#endif /* THAW_KERNELS_POOL_F32_POOL2D_NEON_H */
