/*
 * The 6x16 implicit-GEMM tile (f32-igemm.h), written once against the f32 vector interface
 * (kernels/math/f32-vector-<isa>.h, included first) and compiled per ISA: six rows of
 * 16 / THAW_F32V_LANES accumulators (12 ymm on AVX2, 24 q registers on NEON). Per tap: one
 * offset, 16 input floats, six broadcast weights and 6 x 16 multiply-adds, as the GEMM's 6x16
 * k step plus the offset load.
 */
#ifndef THAW_KERNELS_CONV_F32_IGEMM_6X16_H
#define THAW_KERNELS_CONV_F32_IGEMM_6X16_H

#include "kernels/conv/f32-igemm.h"

#define IGEMM_VECTORS (THAW_IGEMM_NR / THAW_F32V_LANES)

/* The tile of `rows` output channels, a constant at each call below: a 5-row tile does 10
 * multiply-adds per tap rather than 12 with a repeated row, which matters to MobileNetV2's
 * stem (32 channels: tiles of 6, 6, 5, 5, 5, 5). */
static inline __attribute__((always_inline)) void igemm_tile(
    size_t rows, size_t k, const float *restrict w, const float *restrict input,
    const ptrdiff_t *restrict tap_offsets, const float *restrict bias, float *restrict y,
    ptrdiff_t y_row_stride, float min, float max) {
  /* Start fetching the output lines of the next tile of these channels (the driver's next
   * block, 16 pixels on), which a cold output would otherwise make its stores wait on. Measured
   * on the stems with a cold output: faster than fetching this tile's own lines. A prefetch
   * past the end of the output never faults. */
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    __builtin_prefetch(y + (ptrdiff_t)i * y_row_stride + THAW_IGEMM_NR, 1);
    __builtin_prefetch(y + (ptrdiff_t)i * y_row_stride + 2 * THAW_IGEMM_NR - 1, 1);
  }

  thaw_f32v vacc[THAW_IGEMM_MR][IGEMM_VECTORS];
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    const thaw_f32v initial = bias != NULL ? thaw_f32v_dup(bias[i]) : thaw_f32v_zero();
#pragma GCC unroll 4
    for (size_t v = 0; v < IGEMM_VECTORS; v++) vacc[i][v] = initial;
  }

  for (size_t kk = 0; kk < k; kk++) {
    const float *x = input + tap_offsets[kk];
    thaw_f32v vx[IGEMM_VECTORS];
#pragma GCC unroll 4
    for (size_t v = 0; v < IGEMM_VECTORS; v++) vx[v] = thaw_f32v_load(x + v * THAW_F32V_LANES);
#pragma GCC unroll 6
    for (size_t i = 0; i < rows; i++) {
      const thaw_f32v vw = thaw_f32v_dup(w[i * k + kk]);
#pragma GCC unroll 4
      for (size_t v = 0; v < IGEMM_VECTORS; v++)
        vacc[i][v] = thaw_f32v_fmadd(vw, vx[v], vacc[i][v]);
    }
  }

  /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
  const thaw_f32v vmin = thaw_f32v_dup(min), vmax = thaw_f32v_dup(max);
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
#pragma GCC unroll 4
    for (size_t v = 0; v < IGEMM_VECTORS; v++)
      thaw_f32v_store(y + (ptrdiff_t)i * y_row_stride + v * THAW_F32V_LANES,
                      thaw_f32v_min(vmax, thaw_f32v_max(vmin, vacc[i][v])));
  }
}

static inline __attribute__((always_inline)) void thaw_f32_igemm_6x16(
    size_t mr, size_t k, const float *restrict w, const float *restrict input,
    const ptrdiff_t *restrict tap_offsets, const float *restrict bias, float *restrict y,
    ptrdiff_t y_row_stride, float min, float max) {
  switch (mr) {
  case 6: igemm_tile(6, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  case 5: igemm_tile(5, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  case 4: igemm_tile(4, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  case 3: igemm_tile(3, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  case 2: igemm_tile(2, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  default: igemm_tile(1, k, w, input, tap_offsets, bias, y, y_row_stride, min, max); break;
  }
}

#undef IGEMM_VECTORS

#endif /* THAW_KERNELS_CONV_F32_IGEMM_6X16_H */
