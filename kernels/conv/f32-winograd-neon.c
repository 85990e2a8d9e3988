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

#include "kernels/conv/f32-winograd-driver.h"

THAW_F32_WINOGRAD_TRANSFORMS(neon)
