#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/conv/f32-conv-transpose2d-driver.h"

void thaw_f32_conv_transpose2d__avx2(const thaw_conv2d_params *p, const float *x,
                                     const float *w, const float *bias, float *y,
                                     const thaw_parallel *parallel) {
  thaw_f32_conv_transpose2d_drive(p, x, w, bias, y, parallel, thaw_f32_unary__avx2);
}
