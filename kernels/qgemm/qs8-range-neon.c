/* min and max of a row and 0, 8 floats per step. NaN is skipped as the scalar reference skips it,
 * by comparing and selecting: FMINNM would skip a quiet NaN but turn a signalling one into NaN. */
#include <arm_neon.h>

#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

static inline float32x4_t select_min(float32x4_t vx, float32x4_t vmin) {
  return vbslq_f32(vcltq_f32(vx, vmin), vx, vmin);
}

static inline float32x4_t select_max(float32x4_t vx, float32x4_t vmax) {
  return vbslq_f32(vcgtq_f32(vx, vmax), vx, vmax);
}

void thaw_qs8_range__neon(size_t n, const float *x, float *min, float *max) {
  float32x4_t vmin0 = vdupq_n_f32(0.0f), vmax0 = vdupq_n_f32(0.0f);
  float32x4_t vmin1 = vdupq_n_f32(0.0f), vmax1 = vdupq_n_f32(0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t vx0 = vld1q_f32(x + i), vx1 = vld1q_f32(x + i + 4);
    vmin0 = select_min(vx0, vmin0);
    vmax0 = select_max(vx0, vmax0);
    vmin1 = select_min(vx1, vmin1);
    vmax1 = select_max(vx1, vmax1);
  }
  for (; i < n; i += 4) {
    const float32x4_t vx = thaw_load_f32__neon(x + i, n - i < 4 ? n - i : 4); /* zeros past n */
    vmin0 = select_min(vx, vmin0);
    vmax0 = select_max(vx, vmax0);
  }
  /* No lane is NaN by now, so FMINV and FMAXV reduce them as they are. */
  *min = vminvq_f32(vminq_f32(vmin0, vmin1));
  *max = vmaxvq_f32(vmaxq_f32(vmax0, vmax1));
}
