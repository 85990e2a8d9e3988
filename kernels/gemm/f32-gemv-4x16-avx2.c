/*
 * GEMV for m <= 4 rows over a packed B, in one pass over B. Reading B is the cost (a k x n
 * matrix for 2*m*k*n flops), so the kernel must keep enough independent FMA chains in flight
 * for the loads to stream. It works on four lanes at once (f32-gemv-lanes.h), each lane one
 * (row, panel) pair with two ymm accumulators: eight accumulators hide the FMA latency for any
 * m.
 */
#include "kernels/avx2.h"
#include "kernels/gemm/f32-gemv-lanes.h"
#include "kernels/math/x32-tail-mask-avx2.h"

static void lane_initial(const thaw_gemv_lane *l, const thaw_gemm_tile_args *args,
                         __m256i vmask0, __m256i vmask1, __m256 *vacc0, __m256 *vacc1) {
  switch (args->init) {
  case THAW_GEMM_TILE_BIAS_PER_ROW:
    *vacc0 = *vacc1 = _mm256_broadcast_ss(args->bias + l->row);
    break;
  case THAW_GEMM_TILE_BIAS_PER_COLUMN:
    *vacc0 = _mm256_maskload_ps(args->bias + l->column, vmask0);
    *vacc1 = _mm256_maskload_ps(args->bias + l->column + 8, vmask1);
    break;
  case THAW_GEMM_TILE_ZERO:
  case THAW_GEMM_TILE_ACCUMULATE:
  default:
    *vacc0 = *vacc1 = _mm256_setzero_ps();
    break;
  }
}

static void lane_store(const thaw_gemv_lane *l, const thaw_gemm_tile_args *args,
                       __m256i vmask0, __m256i vmask1, __m256 vacc0, __m256 vacc1) {
  /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
  const __m256 vmin = _mm256_set1_ps(args->min);
  const __m256 vmax = _mm256_set1_ps(args->max);
  vacc0 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vacc0));
  vacc1 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vacc1));
  _mm256_maskstore_ps(l->c, vmask0, vacc0);
  _mm256_maskstore_ps(l->c + 8, vmask1, vacc1);
}

void thaw_f32_gemv_ukernel_4x16__avx2(size_t m, size_t n, size_t k, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args) {
  const size_t panel_count = (n + THAW_GEMM_NR - 1) / THAW_GEMM_NR;
  for (size_t first_panel = 0; first_panel < panel_count;
       first_panel += thaw_gemv_step_panels(m)) {
    thaw_gemv_lane lanes[THAW_GEMV_LANES];
    thaw_gemv_deal_lanes(m, n, k, first_panel, a, a_row_stride, packed_b, c, c_row_stride,
                         lanes);
    __m256i vmask[THAW_GEMV_LANES][2];
    for (size_t l = 0; l < THAW_GEMV_LANES; l++)
      thaw_column_masks(lanes[l].columns, &vmask[l][0], &vmask[l][1]);
    __m256 vacc0x0, vacc0x1, vacc1x0, vacc1x1, vacc2x0, vacc2x1, vacc3x0, vacc3x1;
    lane_initial(&lanes[0], args, vmask[0][0], vmask[0][1], &vacc0x0, &vacc0x1);
    lane_initial(&lanes[1], args, vmask[1][0], vmask[1][1], &vacc1x0, &vacc1x1);
    lane_initial(&lanes[2], args, vmask[2][0], vmask[2][1], &vacc2x0, &vacc2x1);
    lane_initial(&lanes[3], args, vmask[3][0], vmask[3][1], &vacc3x0, &vacc3x1);

    const float *a0 = lanes[0].a, *a1 = lanes[1].a, *a2 = lanes[2].a, *a3 = lanes[3].a;
    const float *b0 = lanes[0].b, *b1 = lanes[1].b, *b2 = lanes[2].b, *b3 = lanes[3].b;
    ptrdiff_t a_offset = 0;
    size_t b_offset = 0;
    for (size_t kk = 0; kk < k; kk++) {
      const __m256 va0 = _mm256_broadcast_ss(a0 + a_offset);
      vacc0x0 = _mm256_fmadd_ps(va0, _mm256_loadu_ps(b0 + b_offset), vacc0x0);
      vacc0x1 = _mm256_fmadd_ps(va0, _mm256_loadu_ps(b0 + b_offset + 8), vacc0x1);
      const __m256 va1 = _mm256_broadcast_ss(a1 + a_offset);
      vacc1x0 = _mm256_fmadd_ps(va1, _mm256_loadu_ps(b1 + b_offset), vacc1x0);
      vacc1x1 = _mm256_fmadd_ps(va1, _mm256_loadu_ps(b1 + b_offset + 8), vacc1x1);
      const __m256 va2 = _mm256_broadcast_ss(a2 + a_offset);
      vacc2x0 = _mm256_fmadd_ps(va2, _mm256_loadu_ps(b2 + b_offset), vacc2x0);
      vacc2x1 = _mm256_fmadd_ps(va2, _mm256_loadu_ps(b2 + b_offset + 8), vacc2x1);
      const __m256 va3 = _mm256_broadcast_ss(a3 + a_offset);
      vacc3x0 = _mm256_fmadd_ps(va3, _mm256_loadu_ps(b3 + b_offset), vacc3x0);
      vacc3x1 = _mm256_fmadd_ps(va3, _mm256_loadu_ps(b3 + b_offset + 8), vacc3x1);
      a_offset += a_k_stride;
      b_offset += THAW_GEMM_NR;
    }
    lane_store(&lanes[0], args, vmask[0][0], vmask[0][1], vacc0x0, vacc0x1);
    lane_store(&lanes[1], args, vmask[1][0], vmask[1][1], vacc1x0, vacc1x1);
    lane_store(&lanes[2], args, vmask[2][0], vmask[2][1], vacc2x0, vacc2x1);
    lane_store(&lanes[3], args, vmask[3][0], vmask[3][1], vacc3x0, vacc3x1);
  }
}
