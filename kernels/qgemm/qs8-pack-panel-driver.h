/*
 * The walk shared by the vector packers of quantized activation panels (qs8-gemm-ukernel.h,
 * thaw_qs8_pack_panel_fn): the k rows are taken four at a time and each ISA's interleave turns
 * four 16-byte rows into one 64-byte group; a last, short group reads zeros for the k past the
 * end.
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
    size_t k, const int8_t *x, const ptrdiff_t *row_offsets, int8_t *panel,
    thaw_qs8_interleave_group_fn interleave_group) {
  size_t kk = 0;
  for (; kk + THAW_QS8_GEMM_KR <= k; kk += THAW_QS8_GEMM_KR) {
    const int8_t *const rows[THAW_QS8_GEMM_KR] = {x + row_offsets[kk], x + row_offsets[kk + 1],
                                                  x + row_offsets[kk + 2],
                                                  x + row_offsets[kk + 3]};
    interleave_group(rows, panel);
    panel += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
  }
  if (kk == k) return;
  static const int8_t zeros[THAW_QS8_GEMM_NR];
  const int8_t *rows[THAW_QS8_GEMM_KR];
  for (size_t r = 0; r < THAW_QS8_GEMM_KR; r++)
    rows[r] = kk + r < k ? x + row_offsets[kk + r] : zeros; /* zeros: k past the end */
  interleave_group(rows, panel);
}

#endif
