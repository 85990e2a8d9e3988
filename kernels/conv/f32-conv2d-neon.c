#include "kernels/conv/conv-driver.h"
#include "kernels/neon.h"

static const thaw_conv2d_isa neon_conv2d = {
    .gemm = thaw_f32_gemm__neon,
    .unary = thaw_f32_unary__neon,
    .dwconv_3x3s1 = thaw_f32_dwconv2d_ukernel_3x3s1__neon,
    .dwconv_3x3s2 = thaw_f32_dwconv2d_ukernel_3x3s2__neon,
    .dwconv_5x5s1 = thaw_f32_dwconv2d_ukernel_5x5s1__neon,
    .dwconv_5x5s2 = thaw_f32_dwconv2d_ukernel_5x5s2__neon,
    .dwconv_generic = thaw_f32_dwconv2d_ukernel_generic__neon,
};

size_t thaw_f32_conv2d_scratch_size__neon(const thaw_conv2d_params *p) {
  return thaw_f32_conv2d_drive_scratch_size(p);
}

void thaw_f32_conv2d__neon(const thaw_conv2d_params *p, const float *x, const float *w,
                           const float *bias, float *y, void *scratch) {
  thaw_f32_conv2d_drive(&neon_conv2d, p, x, w, bias, y, scratch);
}
