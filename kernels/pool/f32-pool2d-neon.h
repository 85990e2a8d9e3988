/*
 * What the pool driver (f32-pool2d-driver.h) needs from NEON beyond the f32 vector interface:
 * loading a vector step's 4 input columns at the row's stride, and a running maximum that
 * keeps NaN. Include only from *-neon.c files, before the driver.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_NEON_H
#define THAW_KERNELS_POOL_F32_POOL2D_NEON_H

#include <arm_neon.h>
#include <math.h>
#include <stdbool.h>

#include "kernels/math/f32-vector-neon.h"

/* Loads of the columns stride apart that one vector step reads. */
typedef struct thaw_pool_columns {
  size_t stride;
  bool loadable;   /* whether vector steps can load columns at this stride */
  size_t overread; /* columns a load reads past the last one it uses */
} thaw_pool_columns;

/* Every stride loads; the stride-2 LD2 reads one float past its last column. */
static inline thaw_pool_columns thaw_pool_columns_for(size_t stride) {
  return (thaw_pool_columns){.stride = stride, .loadable = true, .overread = stride == 2};
}

/* Input columns i*stride for i in [0, 4): stride 1 is one load, stride 2 one de-interleaving
 * LD2, any other stride four lane loads. */
static inline float32x4_t thaw_pool_load_columns(const float *row,
                                                 const thaw_pool_columns *columns) {
  const size_t stride = columns->stride;
  if (stride == 1) return vld1q_f32(row);
  if (stride == 2) return vld2q_f32(row).val[0];
  float32x4_t values = vld1q_dup_f32(row);
  values = vld1q_lane_f32(row + stride, values, 1);
  values = vld1q_lane_f32(row + 2 * stride, values, 2);
  return vld1q_lane_f32(row + 3 * stride, values, 3);
}

/* Every load above is in column order already. */
static inline float32x4_t thaw_pool_columns_in_order(float32x4_t v,
                                                     const thaw_pool_columns *columns) {
  (void)columns;
  return v;
}

/* FMAX propagates NaN, so a NaN tap wins with no extra mask. */
typedef struct thaw_pool_maximum {
  float32x4_t maximum;
} thaw_pool_maximum;

static inline thaw_pool_maximum thaw_pool_maximum_start(void) {
  return (thaw_pool_maximum){vdupq_n_f32(-INFINITY)};
}

static inline void thaw_pool_maximum_add(thaw_pool_maximum *m, float32x4_t value) {
  m->maximum = vmaxq_f32(m->maximum, value);
}

static inline float32x4_t thaw_pool_maximum_result(const thaw_pool_maximum *m) {
  return m->maximum;
}

/* The separable max pool watches the inputs it folds in with plain maxima for NaN, two at a
 * time: `watch` gains the lanes where a or b is NaN. (FMAX keeps a NaN input, but the pool's
 * driver is shared with AVX2, whose maximum drops one.) */
static inline float32x4_t thaw_pool_watch_nan(float32x4_t watch, float32x4_t a, float32x4_t b) {
  const uint32x4_t ordered = vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b));
  return vreinterpretq_f32_u32(vornq_u32(vreinterpretq_u32_f32(watch), ordered));
}

static inline bool thaw_pool_nan_seen(float32x4_t watch) {
  return vmaxvq_u32(vreinterpretq_u32_f32(watch)) != 0;
}

#endif /* THAW_KERNELS_POOL_F32_POOL2D_NEON_H */
