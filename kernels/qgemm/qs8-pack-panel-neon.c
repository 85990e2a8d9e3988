/* A panel of quantized activations (qs8-gemm-ukernel.h, thaw_qs8_pack_panel_fn): four rows of 16
 * bytes at a time become one group of 64 (4 consecutive k per pixel) through one ST4, which
 * interleaves 4 registers byte by byte. */
#include <arm_neon.h>

#include "kernels/neon.h"

/* Rows k, k+1, k+2, k+3 (16 bytes each) into one 64-byte group. */
static inline void interleave_group(const int8_t *const rows[THAW_QS8_GEMM_KR], int8_t *group) {
  const int8x16x4_t vrows = {
      {vld1q_s8(rows[0]), vld1q_s8(rows[1]), vld1q_s8(rows[2]), vld1q_s8(rows[3])}};
  vst4q_s8(group, vrows);
}

void thaw_qs8_pack_panel__neon(size_t channels, size_t taps, const int8_t *x,
                               size_t channel_stride, const ptrdiff_t *tap_offsets,
                               int8_t *panel) {
  static const int8_t zeros[THAW_QS8_GEMM_NR];
  const int8_t *rows[THAW_QS8_GEMM_KR];
  size_t filled = 0;
  for (size_t c = 0; c < channels; c++) {
    const int8_t *channel = x + c * channel_stride;
    for (size_t t = 0; t < taps; t++) {
      rows[filled++] = channel + tap_offsets[t];
      if (filled == THAW_QS8_GEMM_KR) {
        interleave_group(rows, panel);
        panel += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
        filled = 0;
      }
    }
  }
  if (filled == 0) return;
  for (size_t r = filled; r < THAW_QS8_GEMM_KR; r++) rows[r] = zeros; /* k past the end */
  interleave_group(rows, panel);
}
