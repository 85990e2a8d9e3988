/* The 8x16 qs8 convolution tile for activations anywhere in int8 (STATIC inputs). */
#include "kernels/qgemm/qs8-conv-8x16c4-avx2.h"

void thaw_qs8_conv_ukernel_8x16c4__avx2(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                        const int8_t *panel, float *c, size_t c_row_stride,
                                        const thaw_qs8_conv_tile_args *args) {
  qs8_conv_8x16c4_avx2(mr, nr, k4, w, panel, c, c_row_stride, args, true);
}
