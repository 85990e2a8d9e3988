/* 6x16 tile in 24 quad-register accumulators, the same tile as the AVX2 kernel (so the driver
 * blocks both alike). AArch64 has 32 vector registers: 24 hold the tile, 4 the k step's row of
 * the packed B panel, and the six A values (FMLA by element takes each from lane 0 of a scalar
 * register) need the rest. 8x16 would need 32 accumulators alone, and the 16-wide panel (fixed
 * by the file format: four NEON registers) rules out a narrower, taller tile. Per k step: 2 LDP
 * of B, 6 scalar loads of A and 24 FMLA, 192 flops. GCC 12 keeps 21 accumulators in registers
 * and moves 3 through the stack (4 loads/stores per k step, objdump of the inner loop: 40
 * instructions); A is read through two strides, so it cannot be loaded several k steps per
 * register to free them. */
#include <arm_neon.h>

#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* One row of the tile: columns 0-3, 4-7, 8-11, 12-15. */
typedef struct tile_row {
  float32x4_t q0, q1, q2, q3;
} tile_row;

static inline __attribute__((always_inline)) void row_set(tile_row *row, float32x4_t q0,
                                                          float32x4_t q1, float32x4_t q2,
                                                          float32x4_t q3) {
  row->q0 = q0;
  row->q1 = q1;
  row->q2 = q2;
  row->q3 = q3;
}

static inline __attribute__((always_inline)) void row_fma(tile_row *row, float32x4_t a,
                                                          float32x4_t b0, float32x4_t b1,
                                                          float32x4_t b2, float32x4_t b3) {
  row->q0 = vfmaq_f32(row->q0, a, b0);
  row->q1 = vfmaq_f32(row->q1, a, b1);
  row->q2 = vfmaq_f32(row->q2, a, b2);
  row->q3 = vfmaq_f32(row->q3, a, b3);
}

/* `nr` (<= 16) columns starting at p, zeros past them. */
static inline __attribute__((always_inline)) void row_load(tile_row *row, const float *p,
                                                           size_t nr) {
  if (nr == THAW_GEMM_NR) {
    row_set(row, vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12));
    return;
  }
  row_set(row, thaw_load_f32__neon(p, thaw_panel_quarter_columns(nr, 0)),
          thaw_load_f32__neon(p + 4, thaw_panel_quarter_columns(nr, 1)),
          thaw_load_f32__neon(p + 8, thaw_panel_quarter_columns(nr, 2)),
          thaw_load_f32__neon(p + 12, thaw_panel_quarter_columns(nr, 3)));
}

static inline __attribute__((always_inline)) void row_add(tile_row *row, const tile_row *other) {
  row->q0 = vaddq_f32(row->q0, other->q0);
  row->q1 = vaddq_f32(row->q1, other->q1);
  row->q2 = vaddq_f32(row->q2, other->q2);
  row->q3 = vaddq_f32(row->q3, other->q3);
}

/* Clamps to [min, max] (FMAX/FMIN propagate NaN, so NaN passes through) and stores nr columns. */
static inline __attribute__((always_inline)) void row_store(const tile_row *row, float *p,
                                                            size_t nr, float32x4_t vmin,
                                                            float32x4_t vmax) {
  const float32x4_t q0 = vminq_f32(vmax, vmaxq_f32(vmin, row->q0));
  const float32x4_t q1 = vminq_f32(vmax, vmaxq_f32(vmin, row->q1));
  const float32x4_t q2 = vminq_f32(vmax, vmaxq_f32(vmin, row->q2));
  const float32x4_t q3 = vminq_f32(vmax, vmaxq_f32(vmin, row->q3));
  if (nr == THAW_GEMM_NR) {
    vst1q_f32(p, q0);
    vst1q_f32(p + 4, q1);
    vst1q_f32(p + 8, q2);
    vst1q_f32(p + 12, q3);
    return;
  }
  thaw_store_f32__neon(p, thaw_panel_quarter_columns(nr, 0), q0);
  if (nr > 4) thaw_store_f32__neon(p + 4, thaw_panel_quarter_columns(nr, 1), q1);
  if (nr > 8) thaw_store_f32__neon(p + 8, thaw_panel_quarter_columns(nr, 2), q2);
  if (nr > 12) thaw_store_f32__neon(p + 12, thaw_panel_quarter_columns(nr, 3), q3);
}

void thaw_f32_gemm_ukernel_6x16__neon(size_t mr, size_t nr, size_t kc, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args) {
  /* Rows past mr alias the last real row: they compute and store its values again, which
   * keeps one code path for every tile height without touching memory outside the tile. */
  const float *a0 = a;
  const float *a1 = mr > 1 ? a0 + a_row_stride : a0;
  const float *a2 = mr > 2 ? a1 + a_row_stride : a1;
  const float *a3 = mr > 3 ? a2 + a_row_stride : a2;
  const float *a4 = mr > 4 ? a3 + a_row_stride : a3;
  const float *a5 = mr > 5 ? a4 + a_row_stride : a4;
  float *c0 = c;
  float *c1 = mr > 1 ? c0 + c_row_stride : c0;
  float *c2 = mr > 2 ? c1 + c_row_stride : c1;
  float *c3 = mr > 3 ? c2 + c_row_stride : c2;
  float *c4 = mr > 4 ? c3 + c_row_stride : c3;
  float *c5 = mr > 5 ? c4 + c_row_stride : c4;

  tile_row acc0, acc1, acc2, acc3, acc4, acc5;
  switch (args->init) {
  case THAW_GEMM_TILE_BIAS_PER_ROW: {
    const float *bias = args->bias;
    const float32x4_t b0 = vld1q_dup_f32(bias);
    const float32x4_t b1 = vld1q_dup_f32(mr > 1 ? bias + 1 : bias);
    const float32x4_t b2 = vld1q_dup_f32(mr > 2 ? bias + 2 : bias);
    const float32x4_t b3 = vld1q_dup_f32(mr > 3 ? bias + 3 : bias);
    const float32x4_t b4 = vld1q_dup_f32(mr > 4 ? bias + 4 : bias);
    const float32x4_t b5 = vld1q_dup_f32(mr > 5 ? bias + 5 : bias);
    row_set(&acc0, b0, b0, b0, b0);
    row_set(&acc1, b1, b1, b1, b1);
    row_set(&acc2, b2, b2, b2, b2);
    row_set(&acc3, b3, b3, b3, b3);
    row_set(&acc4, b4, b4, b4, b4);
    row_set(&acc5, b5, b5, b5, b5);
    break;
  }
  case THAW_GEMM_TILE_BIAS_PER_COLUMN:
    row_load(&acc0, args->bias, nr);
    acc1 = acc2 = acc3 = acc4 = acc5 = acc0;
    break;
  case THAW_GEMM_TILE_ZERO:
  case THAW_GEMM_TILE_ACCUMULATE:
  default: {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    row_set(&acc0, zero, zero, zero, zero);
    acc1 = acc2 = acc3 = acc4 = acc5 = acc0;
    break;
  }
  }

  const float *w = packed_b;
  ptrdiff_t a_offset = 0;
  for (size_t kk = 0; kk < kc; kk++) {
    const float32x4_t b0 = vld1q_f32(w);
    const float32x4_t b1 = vld1q_f32(w + 4);
    const float32x4_t b2 = vld1q_f32(w + 8);
    const float32x4_t b3 = vld1q_f32(w + 12);
    w += THAW_GEMM_NR;
    row_fma(&acc0, vld1q_dup_f32(a0 + a_offset), b0, b1, b2, b3);
    row_fma(&acc1, vld1q_dup_f32(a1 + a_offset), b0, b1, b2, b3);
    row_fma(&acc2, vld1q_dup_f32(a2 + a_offset), b0, b1, b2, b3);
    row_fma(&acc3, vld1q_dup_f32(a3 + a_offset), b0, b1, b2, b3);
    row_fma(&acc4, vld1q_dup_f32(a4 + a_offset), b0, b1, b2, b3);
    row_fma(&acc5, vld1q_dup_f32(a5 + a_offset), b0, b1, b2, b3);
    a_offset += a_k_stride;
  }

  if (args->init == THAW_GEMM_TILE_ACCUMULATE) {
    tile_row previous;
    row_load(&previous, c0, nr);
    row_add(&acc0, &previous);
    row_load(&previous, c1, nr);
    row_add(&acc1, &previous);
    row_load(&previous, c2, nr);
    row_add(&acc2, &previous);
    row_load(&previous, c3, nr);
    row_add(&acc3, &previous);
    row_load(&previous, c4, nr);
    row_add(&acc4, &previous);
    row_load(&previous, c5, nr);
    row_add(&acc5, &previous);
  }

  const float32x4_t vmin = vdupq_n_f32(args->min);
  const float32x4_t vmax = vdupq_n_f32(args->max);
  row_store(&acc5, c5, nr, vmin, vmax);
  row_store(&acc4, c4, nr, vmin, vmax);
  row_store(&acc3, c3, nr, vmin, vmax);
  row_store(&acc2, c2, nr, vmin, vmax);
  row_store(&acc1, c1, nr, vmin, vmax);
  row_store(&acc0, c0, nr, vmin, vmax);
}
