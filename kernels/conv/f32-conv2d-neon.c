/* Convolution on NEON: defines thaw_f32_conv2d__neon and thaw_f32_conv2d_scratch_size__neon. */
#include "kernels/neon.h"
#include "kernels/conv/f32-conv2d-binding.h"

THAW_F32_CONV2D_BINDING(neon)
