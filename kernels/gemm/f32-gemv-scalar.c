/* The oracle GEMV: every row of A against each packed panel in turn, so B is read once. */
#include "kernels/scalar.h"

void thaw_f32_gemv_ukernel__scalar(size_t m, size_t n, size_t k, const float *a,
                                   ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                   const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                   const thaw_gemm_tile_args *args) {
  float acc[THAW_GEMV_MAX_M][THAW_GEMM_NR];
  for (size_t j0 = 0; j0 < n; j0 += THAW_GEMM_NR) {
    const size_t nr = n - j0 < THAW_GEMM_NR ? n - j0 : THAW_GEMM_NR;
    const float *panel = packed_b + j0 * k;
    for (size_t i = 0; i < m; i++) {
      for (size_t j = 0; j < nr; j++) {
        switch (args->init) {
        case THAW_GEMM_TILE_BIAS_PER_ROW: acc[i][j] = args->bias[i]; break;
        case THAW_GEMM_TILE_BIAS_PER_COLUMN: acc[i][j] = args->bias[j0 + j]; break;
        case THAW_GEMM_TILE_ZERO:
        case THAW_GEMM_TILE_ACCUMULATE: acc[i][j] = 0.0f; break;
        }
      }
    }
    for (size_t kk = 0; kk < k; kk++) {
      const float *b_row = panel + kk * THAW_GEMM_NR;
      for (size_t i = 0; i < m; i++) {
        const float a_value = a[(ptrdiff_t)i * a_row_stride + (ptrdiff_t)kk * a_k_stride];
        for (size_t j = 0; j < nr; j++) acc[i][j] += a_value * b_row[j];
      }
    }
    for (size_t i = 0; i < m; i++) {
      float *c_row = c + (ptrdiff_t)i * c_row_stride + j0;
      for (size_t j = 0; j < nr; j++)
        c_row[j] = thaw_gemm_clamp(acc[i][j], args->min, args->max);
    }
  }
}
