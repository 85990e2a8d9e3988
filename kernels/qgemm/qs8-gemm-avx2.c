#include "kernels/avx2.h"

static const thaw_qs8_gemm_isa avx2_qs8_gemm = {
    .gemm_unsigned7 = thaw_qs8_gemm_ukernel_4x16c4_u7__avx2,
    .gemm_signed = thaw_qs8_gemm_ukernel_4x16c4__avx2,
    .mr = 4,
    .conv_unsigned7 = thaw_qs8_conv_ukernel_8x16c4_u7__avx2,
    .conv_signed = thaw_qs8_conv_ukernel_8x16c4__avx2,
    .range = thaw_qs8_range__avx2,
    .quantize = thaw_qs8_quantize__avx2,
    .pack_panel = thaw_qs8_pack_panel__avx2,
    .unary = thaw_f32_unary__avx2,
};

void thaw_qs8_gemm__avx2(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                         const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel) {
  thaw_qs8_gemm_drive(&avx2_qs8_gemm, p, a, packed_b, bias, c, scratch, parallel);
}

void thaw_qs8_conv2d__avx2(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                           const float *x, const void *packed_w, const float *bias, float *y,
                           void *scratch, const thaw_parallel *parallel) {
  thaw_qs8_conv2d_drive(&avx2_qs8_gemm, p, input, x, packed_w, bias, y, scratch, parallel);
}
