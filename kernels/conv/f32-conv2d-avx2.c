#include "kernels/avx2.h"
#include "kernels/conv/conv-driver.h"

static const thaw_conv2d_isa avx2_conv2d = {
    .gemm = thaw_f32_gemm__avx2,
    .unary = thaw_f32_unary__avx2,
    .dwconv_3x3s1 = thaw_f32_dwconv2d_ukernel_3x3s1__avx2,
    .dwconv_3x3s2 = thaw_f32_dwconv2d_ukernel_3x3s2__avx2,
    .dwconv_5x5s1 = thaw_f32_dwconv2d_ukernel_5x5s1__avx2,
    .dwconv_5x5s2 = thaw_f32_dwconv2d_ukernel_5x5s2__avx2,
    .dwconv_generic = thaw_f32_dwconv2d_ukernel_generic__avx2,
};

size_t thaw_f32_conv2d_scratch_size__avx2(const thaw_conv2d_params *p) {
  return thaw_f32_conv2d_drive_scratch_size(p);
}

void thaw_f32_conv2d__avx2(const thaw_conv2d_params *p, const float *x, const float *w,
                           const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel) {
  thaw_f32_conv2d_drive(&avx2_conv2d, p, x, w, bias, y, scratch, parallel);
}
