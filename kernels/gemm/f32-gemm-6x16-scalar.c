/* The oracle microkernel: plain loops over the tile, for checking the vector ones and for CPUs
 * without them. */
#include "kernels/scalar.h"

enum { MR = 6 };

void thaw_f32_gemm_ukernel_6x16__scalar(size_t mr, size_t nr, size_t kc, const float *a,
                                        ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                        const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                        const thaw_gemm_tile_args *args) {
  float acc[MR][THAW_GEMM_NR];
  for (size_t i = 0; i < mr; i++) {
    const float *c_row = c + (ptrdiff_t)i * c_row_stride;
    for (size_t j = 0; j < nr; j++) {
      switch (args->init) {
      case THAW_GEMM_TILE_ZERO: acc[i][j] = 0.0f; break;
      case THAW_GEMM_TILE_ACCUMULATE: acc[i][j] = c_row[j]; break;
      case THAW_GEMM_TILE_BIAS_PER_ROW: acc[i][j] = args->bias[i]; break;
      case THAW_GEMM_TILE_BIAS_PER_COLUMN: acc[i][j] = args->bias[j]; break;
      }
    }
  }
  for (size_t kk = 0; kk < kc; kk++) {
    const float *b_row = packed_b + kk * THAW_GEMM_NR;
    for (size_t i = 0; i < mr; i++) {
      const float a_value = a[(ptrdiff_t)i * a_row_stride + (ptrdiff_t)kk * a_k_stride];
      for (size_t j = 0; j < nr; j++) acc[i][j] += a_value * b_row[j];
    }
  }
  for (size_t i = 0; i < mr; i++) {
    float *c_row = c + (ptrdiff_t)i * c_row_stride;
    for (size_t j = 0; j < nr; j++) c_row[j] = thaw_gemm_clamp(acc[i][j], args->min, args->max);
  }
}
