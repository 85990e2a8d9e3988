/* The 6x16 implicit-GEMM tile on AVX2 + FMA: the shared body (f32-igemm-6x16.h) with this ISA's
 * f32 vector interface. */
#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/conv/f32-igemm-6x16.h"

void thaw_f32_igemm_ukernel_6x16__avx2(size_t mr, size_t k, const float *w, const float *input,
                                       const ptrdiff_t *tap_offsets, const float *bias, float *y,
                                       ptrdiff_t y_row_stride, float min, float max) {
  thaw_f32_igemm_6x16(mr, k, w, input, tap_offsets, bias, y, y_row_stride, min, max);
}
