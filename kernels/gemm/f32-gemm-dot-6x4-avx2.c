/* The GEMM's dot-product edge tile on AVX2: the shared driver, compiled with this ISA's f32
 * vector interface. */
#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/gemm/f32-gemm-dot-driver.h"

void thaw_f32_gemm_dot_ukernel_6x4__avx2(size_t mr, size_t nr, size_t kc, const float *a,
                                         ptrdiff_t a_row_stride, const float *b,
                                         ptrdiff_t b_column_stride, float *c,
                                         ptrdiff_t c_row_stride,
                                         const thaw_gemm_tile_args *args) {
  thaw_f32_gemm_dot_drive(mr, nr, kc, a, a_row_stride, b, b_column_stride, c, c_row_stride,
                          args);
}
