/* The 4x16 qs8 GEMM tile for A anywhere in int8 (STATIC inputs): the sign trick. */
#include "kernels/qgemm/qs8-gemm-4x16c4-avx2.h"

void thaw_qs8_gemm_ukernel_4x16c4__avx2(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                        size_t a_row_stride, const int8_t *packed_b, float *c,
                                        ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args) {
  qs8_gemm_4x16c4_avx2(mr, nr, k4, a, a_row_stride, packed_b, c, c_row_stride, args, true);
}
