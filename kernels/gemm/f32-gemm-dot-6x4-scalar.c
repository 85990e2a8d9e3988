/* The oracle dot-product edge tile: each value of C summed along k in one float. */
#include "kernels/scalar.h"

void thaw_f32_gemm_dot_ukernel_6x4__scalar(size_t mr, size_t nr, size_t kc, const float *a,
                                           ptrdiff_t a_row_stride, const float *b,
                                           ptrdiff_t b_column_stride, float *c,
                                           ptrdiff_t c_row_stride,
                                           const thaw_gemm_tile_args *args) {
  for (size_t i = 0; i < mr; i++) {
    const float *a_row = a + (ptrdiff_t)i * a_row_stride;
    for (size_t j = 0; j < nr; j++) {
      const float *b_column = b + (ptrdiff_t)j * b_column_stride;
      float product = 0.0f;
      for (size_t kk = 0; kk < kc; kk++) product += a_row[kk] * b_column[kk];
      thaw_gemm_store_value(args, i, j, product, c + (ptrdiff_t)i * c_row_stride + j);
    }
  }
}
