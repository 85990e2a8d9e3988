/*
 * GEMV for m <= 4 rows over a packed B, in one pass over B: the twin of f32-gemv-4x16-avx2.c.
 * Reading B is the cost (a k x n matrix for 2*m*k*n flops), so the kernel keeps enough
 * independent FMA chains in flight for the loads to stream. It works on four lanes at once
 * (f32-gemv-lanes.h), each lane one (row, panel) pair with four quad accumulators: sixteen
 * accumulators hide the FMLA latency for any m and leave room for the B loads in the 32
 * registers.
 */
#include <arm_neon.h>

#include "kernels/gemm/f32-gemv-lanes.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* A lane's 16 columns as four quads. */
typedef struct lane_acc {
  float32x4_t q0, q1, q2, q3;
} lane_acc;

static inline __attribute__((always_inline)) lane_acc
lane_initial(const thaw_gemv_lane *l, const thaw_gemm_tile_args *args) {
  switch (args->init) {
  case THAW_GEMM_TILE_BIAS_PER_ROW: {
    const float32x4_t bias = vld1q_dup_f32(args->bias + l->row);
    return (lane_acc){bias, bias, bias, bias};
  }
  case THAW_GEMM_TILE_BIAS_PER_COLUMN: {
    const float *bias = args->bias + l->column;
    return (lane_acc){
        thaw_load_f32__neon(bias, thaw_panel_quarter_columns(l->columns, 0)),
        thaw_load_f32__neon(bias + 4, thaw_panel_quarter_columns(l->columns, 1)),
        thaw_load_f32__neon(bias + 8, thaw_panel_quarter_columns(l->columns, 2)),
        thaw_load_f32__neon(bias + 12, thaw_panel_quarter_columns(l->columns, 3)),
    };
  }
  case THAW_GEMM_TILE_ZERO:
  case THAW_GEMM_TILE_ACCUMULATE:
  default: {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    return (lane_acc){zero, zero, zero, zero};
  }
  }
}

static inline __attribute__((always_inline)) void lane_fma(lane_acc *acc, float32x4_t a,
                                                           const float *b) {
  acc->q0 = vfmaq_f32(acc->q0, a, vld1q_f32(b));
  acc->q1 = vfmaq_f32(acc->q1, a, vld1q_f32(b + 4));
  acc->q2 = vfmaq_f32(acc->q2, a, vld1q_f32(b + 8));
  acc->q3 = vfmaq_f32(acc->q3, a, vld1q_f32(b + 12));
}

/* Clamped (FMAX/FMIN propagate NaN, so NaN passes through), then only the lane's real
 * columns stored. */
static void lane_store(const thaw_gemv_lane *l, const thaw_gemm_tile_args *args,
                       const lane_acc *acc) {
  const float32x4_t vmin = vdupq_n_f32(args->min);
  const float32x4_t vmax = vdupq_n_f32(args->max);
  const float32x4_t quads[4] = {acc->q0, acc->q1, acc->q2, acc->q3};
  for (size_t q = 0; q < 4; q++) {
    const size_t count = thaw_panel_quarter_columns(l->columns, q);
    if (count == 0) break;
    thaw_store_f32__neon(l->c + 4 * q, count, vminq_f32(vmax, vmaxq_f32(vmin, quads[q])));
  }
}

void thaw_f32_gemv_ukernel_4x16__neon(size_t m, size_t n, size_t k, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args) {
  const size_t panel_count = (n + THAW_GEMM_NR - 1) / THAW_GEMM_NR;
  for (size_t first_panel = 0; first_panel < panel_count;
       first_panel += thaw_gemv_step_panels(m)) {
    thaw_gemv_lane lanes[THAW_GEMV_LANES];
    thaw_gemv_deal_lanes(m, n, k, first_panel, a, a_row_stride, packed_b, c, c_row_stride,
                         lanes);
    lane_acc acc0 = lane_initial(&lanes[0], args);
    lane_acc acc1 = lane_initial(&lanes[1], args);
    lane_acc acc2 = lane_initial(&lanes[2], args);
    lane_acc acc3 = lane_initial(&lanes[3], args);

    const float *a0 = lanes[0].a, *a1 = lanes[1].a, *a2 = lanes[2].a, *a3 = lanes[3].a;
    const float *b0 = lanes[0].b, *b1 = lanes[1].b, *b2 = lanes[2].b, *b3 = lanes[3].b;
    ptrdiff_t a_offset = 0;
    size_t b_offset = 0;
    for (size_t kk = 0; kk < k; kk++) {
      lane_fma(&acc0, vld1q_dup_f32(a0 + a_offset), b0 + b_offset);
      lane_fma(&acc1, vld1q_dup_f32(a1 + a_offset), b1 + b_offset);
      lane_fma(&acc2, vld1q_dup_f32(a2 + a_offset), b2 + b_offset);
      lane_fma(&acc3, vld1q_dup_f32(a3 + a_offset), b3 + b_offset);
      a_offset += a_k_stride;
      b_offset += THAW_GEMM_NR;
    }
    lane_store(&lanes[0], args, &acc0);
    lane_store(&lanes[1], args, &acc1);
    lane_store(&lanes[2], args, &acc2);
    lane_store(&lanes[3], args, &acc3);
  }
}
