/*
 * The walk shared by the vector packers of quantized activation panels (qs8-gemm-ukernel.h,
 * thaw_qs8_pack_panel_fn): the k rows (channel by tap) are taken four at a time and each ISA's
 * interleave turns four 16-byte rows into one 64-byte group; a last, short group reads zeros
 * for the k past the end.
 *
 * Always inlined with the ISA's interleave as a constant, so that the interleave is inlined
 * into the loop as if each ISA had written the walk itself.
 */
#ifndef THAW_KERNELS_QGEMM_QS8_PACK_PANEL_DRIVER_H
#define THAW_KERNELS_QGEMM_QS8_PACK_PANEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/qgemm/qs8-gemm-ukernel.h"

/* Rows k, k+1, k+2, k+3 (16 bytes each) into one 64-byte group. */
typedef void (*thaw_qs8_interleave_group_fn)(const int8_t *const rows[THAW_QS8_GEMM_KR],
                                             int8_t *group);

static inline __attribute__((always_inline)) void thaw_qs8_pack_panel_drive(
    size_t channels, size_t taps, const int8_t *x, size_t channel_stride,
    const ptrdiff_t *tap_offsets, int8_t *panel, thaw_qs8_interleave_group_fn interleave_group) {
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

#endif
