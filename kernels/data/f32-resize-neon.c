/* Resize on Advanced SIMD: the shared driver (f32-resize-driver.h) with what it needs from this
 * ISA beyond the f32 vector interface: four input columns gathered lane by lane (there is no
 * gather instruction), and the lanes of a vector repeated for an integer upsampling. */
#include <arm_neon.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/neon.h"
#include "kernels/math/f32-vector-neon.h"

/* x[index[k]] for k in [0, 4). */
static inline float32x4_t thaw_resize_gather(const float *x, const int32_t *index) {
  float32x4_t v = vld1q_dup_f32(x + index[0]);
  v = vld1q_lane_f32(x + index[1], v, 1);
  v = vld1q_lane_f32(x + index[2], v, 2);
  return vld1q_lane_f32(x + index[3], v, 3);
}

/* Output vector `part` of v's lanes each repeated `factor` times, factor in {1, 2, 4}. */
static inline float32x4_t thaw_resize_repeat_lanes(float32x4_t v, size_t factor, size_t part) {
  if (factor == 1) return v;
  if (factor == 2) return part == 0 ? vzip1q_f32(v, v) : vzip2q_f32(v, v);
  switch (part) {
  case 0: return vdupq_laneq_f32(v, 0);
  case 1: return vdupq_laneq_f32(v, 1);
  case 2: return vdupq_laneq_f32(v, 2);
  default: return vdupq_laneq_f32(v, 3);
  }
}

#include "kernels/data/f32-resize-driver.h"

void thaw_f32_resize__neon(const thaw_resize_params *p, const float *x, float *y) {
  thaw_f32_resize_drive(p, x, y);
}
