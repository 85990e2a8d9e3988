/* A panel of quantized activations (qs8-pack-panel-driver.h): four rows of 16 bytes become one
 * group of 64 (4 consecutive k per pixel) through one ST4, which interleaves 4 registers byte
 * by byte. */
#include <arm_neon.h>

#include "kernels/neon.h"
#include "kernels/qgemm/qs8-pack-panel-driver.h"

static inline void interleave_group(const int8_t *const rows[THAW_QS8_GEMM_KR], int8_t *group) {
  const int8x16x4_t vrows = {
      {vld1q_s8(rows[0]), vld1q_s8(rows[1]), vld1q_s8(rows[2]), vld1q_s8(rows[3])}};
  vst4q_s8(group, vrows);
}

void thaw_qs8_pack_panel__neon(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                               int8_t *panel) {
  thaw_qs8_pack_panel_drive(k, x, row_offsets, panel, interleave_group);
}
