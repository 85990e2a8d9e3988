/*
 * The dot-product edge tile of the GEMM (thaw_f32_gemm_dot_ukernel_fn in gemm-ukernel.h), one
 * source for every vector ISA, written with the f32 vector interface: an ISA's
 * f32-gemm-dot-6x4-<isa>.c includes its interface (kernels/math/f32-vector-<isa>.h), then this
 * header, and binds thaw_f32_gemm_dot_drive.
 *
 * Columns go in pairs: per vector of k steps, two loads of B and six of A feed twelve FMAs
 * into twelve accumulators. A lone last column keeps two accumulators per row as well, for
 * even and odd vectors of k, so that six FMA chains do not wait on the FMA latency.
 */
#ifndef THAW_KERNELS_GEMM_F32_GEMM_DOT_DRIVER_H
#define THAW_KERNELS_GEMM_F32_GEMM_DOT_DRIVER_H

#include <stddef.h>

#include "kernels/gemm/gemm-ukernel.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

enum { THAW_GEMM_DOT_MR = 6 };

/* sums[i][0] and sums[i][1]: row i of A times columns b0 and b1 over kc steps. */
static inline __attribute__((always_inline)) void
thaw_gemm_dot_pair(const float *const a_rows[THAW_GEMM_DOT_MR], size_t kc, const float *b0,
                   const float *b1, float sums[THAW_GEMM_DOT_MR][2]) {
  const size_t lanes = THAW_F32V_LANES;
  thaw_f32v acc0[THAW_GEMM_DOT_MR], acc1[THAW_GEMM_DOT_MR];
#pragma GCC unroll 6
  for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) acc0[i] = acc1[i] = thaw_f32v_zero();
  size_t kk = 0;
  for (; kk + lanes <= kc; kk += lanes) {
    const thaw_f32v vb0 = thaw_f32v_load(b0 + kk);
    const thaw_f32v vb1 = thaw_f32v_load(b1 + kk);
#pragma GCC unroll 6
    for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) {
      const thaw_f32v va = thaw_f32v_load(a_rows[i] + kk);
      acc0[i] = thaw_f32v_fmadd(va, vb0, acc0[i]);
      acc1[i] = thaw_f32v_fmadd(va, vb1, acc1[i]);
    }
  }
  if (kk < kc) {
    const thaw_f32v vb0 = thaw_f32v_load_partial(b0 + kk, kc - kk);
    const thaw_f32v vb1 = thaw_f32v_load_partial(b1 + kk, kc - kk);
#pragma GCC unroll 6
    for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) {
      const thaw_f32v va = thaw_f32v_load_partial(a_rows[i] + kk, kc - kk);
      acc0[i] = thaw_f32v_fmadd(va, vb0, acc0[i]);
      acc1[i] = thaw_f32v_fmadd(va, vb1, acc1[i]);
    }
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) {
    sums[i][0] = thaw_f32v_reduce_add(acc0[i]);
    sums[i][1] = thaw_f32v_reduce_add(acc1[i]);
  }
}

/* sums[i]: row i of A times column b over kc steps. */
static inline __attribute__((always_inline)) void
thaw_gemm_dot_single(const float *const a_rows[THAW_GEMM_DOT_MR], size_t kc, const float *b,
                     float sums[THAW_GEMM_DOT_MR]) {
  const size_t lanes = THAW_F32V_LANES;
  thaw_f32v acc_even[THAW_GEMM_DOT_MR], acc_odd[THAW_GEMM_DOT_MR];
#pragma GCC unroll 6
  for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) acc_even[i] = acc_odd[i] = thaw_f32v_zero();
  size_t kk = 0;
  for (; kk + 2 * lanes <= kc; kk += 2 * lanes) {
    const thaw_f32v vb_even = thaw_f32v_load(b + kk);
    const thaw_f32v vb_odd = thaw_f32v_load(b + kk + lanes);
#pragma GCC unroll 6
    for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++) {
      acc_even[i] = thaw_f32v_fmadd(thaw_f32v_load(a_rows[i] + kk), vb_even, acc_even[i]);
      acc_odd[i] = thaw_f32v_fmadd(thaw_f32v_load(a_rows[i] + kk + lanes), vb_odd, acc_odd[i]);
    }
  }
  for (; kk < kc; kk += lanes) {
    const size_t count = kc - kk < lanes ? kc - kk : lanes;
    const thaw_f32v vb = thaw_f32v_load_partial(b + kk, count);
#pragma GCC unroll 6
    for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++)
      acc_even[i] =
          thaw_f32v_fmadd(thaw_f32v_load_partial(a_rows[i] + kk, count), vb, acc_even[i]);
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++)
    sums[i] = thaw_f32v_reduce_add(thaw_f32v_add(acc_even[i], acc_odd[i]));
}

static inline void thaw_f32_gemm_dot_drive(size_t mr, size_t nr, size_t kc, const float *a,
                                           ptrdiff_t a_row_stride, const float *b,
                                           ptrdiff_t b_column_stride, float *c,
                                           ptrdiff_t c_row_stride,
                                           const thaw_gemm_tile_args *args) {
  /* Rows past mr read the last real row again and are not stored. */
  const float *a_rows[THAW_GEMM_DOT_MR];
  for (size_t i = 0; i < THAW_GEMM_DOT_MR; i++)
    a_rows[i] = a + (ptrdiff_t)(i < mr ? i : mr - 1) * a_row_stride;
  size_t j = 0;
  for (; j + 2 <= nr; j += 2) {
    float sums[THAW_GEMM_DOT_MR][2];
    const float *b0 = b + (ptrdiff_t)j * b_column_stride;
    thaw_gemm_dot_pair(a_rows, kc, b0, b0 + b_column_stride, sums);
    for (size_t i = 0; i < mr; i++) {
      float *c_row = c + (ptrdiff_t)i * c_row_stride;
      thaw_gemm_store_value(args, i, j, sums[i][0], c_row + j);
      thaw_gemm_store_value(args, i, j + 1, sums[i][1], c_row + j + 1);
    }
  }
  if (j < nr) {
    float sums[THAW_GEMM_DOT_MR];
    thaw_gemm_dot_single(a_rows, kc, b + (ptrdiff_t)j * b_column_stride, sums);
    for (size_t i = 0; i < mr; i++)
      thaw_gemm_store_value(args, i, j, sums[i], c + (ptrdiff_t)i * c_row_stride + j);
  }
}

#endif /* THAW_KERNELS_GEMM_F32_GEMM_DOT_DRIVER_H */
