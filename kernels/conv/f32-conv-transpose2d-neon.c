#include "kernels/neon.h"
#include "kernels/math/f32-vector-neon.h"
#include "kernels/conv/f32-conv-transpose2d-driver.h"

void thaw_f32_conv_transpose2d__neon(const thaw_conv2d_params *p, const float *x,
                                     const float *w, const float *bias, float *y,
                                     const thaw_parallel *parallel) {
  thaw_f32_conv_transpose2d_drive(p, x, w, bias, y, parallel, thaw_f32_unary__neon);
}
