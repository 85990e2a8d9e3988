/* The F(4x4, 3x3) transforms on NEON, four tile slots or input channels per vector. */
#include "kernels/math/f32-vector-neon.h"

/* The 6 columns of the patches of a quad of 4 neighbouring tiles from its padded row: d[j]
 * lane t = quads[0][4 t + j]; LD4 splits the 4 phases. */
static inline void winograd_load_patch_row(const float *const *quads, float32x4_t *d) {
  const float32x4x4_t phases = vld4q_f32(quads[0]), next = vld4q_f32(quads[0] + 4);
  d[0] = phases.val[0];
  d[1] = phases.val[1];
  d[2] = phases.val[2];
  d[3] = phases.val[3];
  d[4] = next.val[0];
  d[5] = next.val[1];
}

/* quads[0][4 t + q] = phases[q] lane t for the 4 tiles (ST4). */
static inline void winograd_store_tile_row(float *const *quads, const float32x4_t *phases) {
  const float32x4x4_t interleaved = {{phases[0], phases[1], phases[2], phases[3]}};
  vst4q_f32(quads[0], interleaved);
}

/* The 9 taps of 4 consecutive 3x3 filters (36 floats), tap-major: taps[t] lane l =
 * filters[9 l + t]. Taps 0-3 and 4-7 of each filter are loads and rows of two 4 x 4
 * transposes, tap 8 lane by lane. */
static inline void winograd_load_filter_taps(const float *filters, float32x4_t *taps) {
  for (int first = 0; first < 8; first += 4) {
    const float32x4_t r0 = vld1q_f32(filters + first), r1 = vld1q_f32(filters + 9 + first);
    const float32x4_t r2 = vld1q_f32(filters + 18 + first), r3 = vld1q_f32(filters + 27 + first);
    const float64x2_t even01 = vreinterpretq_f64_f32(vtrn1q_f32(r0, r1));
    const float64x2_t odd01 = vreinterpretq_f64_f32(vtrn2q_f32(r0, r1));
    const float64x2_t even23 = vreinterpretq_f64_f32(vtrn1q_f32(r2, r3));
    const float64x2_t odd23 = vreinterpretq_f64_f32(vtrn2q_f32(r2, r3));
    taps[first] = vreinterpretq_f32_f64(vtrn1q_f64(even01, even23));
    taps[first + 1] = vreinterpretq_f32_f64(vtrn1q_f64(odd01, odd23));
    taps[first + 2] = vreinterpretq_f32_f64(vtrn2q_f64(even01, even23));
    taps[first + 3] = vreinterpretq_f32_f64(vtrn2q_f64(odd01, odd23));
  }
  float32x4_t last = vdupq_n_f32(filters[8]);
  last = vsetq_lane_f32(filters[17], last, 1);
  last = vsetq_lane_f32(filters[26], last, 2);
  taps[8] = vsetq_lane_f32(filters[35], last, 3);
}

#include "kernels/conv/f32-winograd-driver.h"

THAW_F32_WINOGRAD_TRANSFORMS(neon)
