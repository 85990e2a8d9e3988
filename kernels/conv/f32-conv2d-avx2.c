/* Convolution on AVX2: defines thaw_f32_conv2d__avx2 and thaw_f32_conv2d_scratch_size__avx2. */
#include "kernels/avx2.h"
#include "kernels/conv/f32-conv2d-binding.h"

/* The stride-2 microkernels split even and odd columns in registers: cheaper than the copy's
 * gather of each phase. */
#define THAW_F32_DWCONV2D_STRIDE2_COLUMNS__avx2 THAW_DWCONV2D_COLUMNS_IN_ORDER

THAW_F32_CONV2D_BINDING(avx2)
