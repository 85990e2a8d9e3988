/* Convolution on AVX2: defines thaw_f32_conv2d__avx2 and thaw_f32_conv2d_scratch_size__avx2. */
#include "kernels/avx2.h"
#include "kernels/conv/f32-conv2d-binding.h"

THAW_F32_CONV2D_BINDING(avx2)
