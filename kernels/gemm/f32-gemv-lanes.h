/*
 * How the 4x16 GEMV microkernels of every ISA deal their work to four lanes. A lane is one
 * (row, panel) pair with its own accumulators: one row across four panels, two rows across two
 * panels, or up to four rows on one panel, so that four independent pairs stream B whatever m
 * is (m <= 4).
 */
#ifndef THAW_KERNELS_GEMM_F32_GEMV_LANES_H
#define THAW_KERNELS_GEMM_F32_GEMV_LANES_H

#include <stddef.h>

#include "kernels/kernels.h"

enum { THAW_GEMV_LANES = 4 };

typedef struct thaw_gemv_lane {
  const float *a, *b;
  float *c;
  size_t row, column, columns;
} thaw_gemv_lane;

/* Panels one step covers for m rows. */
static inline size_t thaw_gemv_step_panels(size_t m) { return THAW_GEMV_LANES / m; }

/* The lanes of the step starting at panel first_panel. Lanes without a (row, panel) pair of
 * their own repeat the last one: same values to the same place, and no branch in the loop. */
static inline void thaw_gemv_deal_lanes(size_t m, size_t n, size_t k, size_t first_panel,
                                        const float *a, ptrdiff_t a_row_stride,
                                        const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                        thaw_gemv_lane lanes[THAW_GEMV_LANES]) {
  const size_t panel_count = (n + THAW_GEMM_NR - 1) / THAW_GEMM_NR;
  const size_t panels_per_step = thaw_gemv_step_panels(m);
  const size_t step_panels = panel_count - first_panel < panels_per_step
                                 ? panel_count - first_panel
                                 : panels_per_step;
  for (size_t l = 0; l < THAW_GEMV_LANES; l++) {
    size_t row = l / panels_per_step, panel = l % panels_per_step;
    if (row >= m) row = m - 1;
    if (panel >= step_panels) panel = step_panels - 1;
    const size_t column = (first_panel + panel) * THAW_GEMM_NR;
    lanes[l] = (thaw_gemv_lane){
        .a = a + (ptrdiff_t)row * a_row_stride,
        .b = packed_b + column * k,
        .c = c + (ptrdiff_t)row * c_row_stride + column,
        .row = row,
        .column = column,
        .columns = n - column < THAW_GEMM_NR ? n - column : THAW_GEMM_NR,
    };
  }
}

#endif
