#include "kernels/scalar.h"

/* The reference tiles are exact for any int8 input, so they serve both input modes. */
static const thaw_qs8_gemm_isa scalar_qs8_gemm = {
    .gemm_unsigned7 = thaw_qs8_gemm_ukernel_4x16c4__scalar,
    .gemm_signed = thaw_qs8_gemm_ukernel_4x16c4__scalar,
    .mr = 4,
    .conv_unsigned7 = thaw_qs8_conv_ukernel_8x16c4__scalar,
    .conv_signed = thaw_qs8_conv_ukernel_8x16c4__scalar,
    .range = thaw_qs8_range__scalar,
    .quantize = thaw_qs8_quantize__scalar,
    .pack_panel = thaw_qs8_pack_panel__scalar,
    .unary = thaw_f32_unary__scalar,
};

void thaw_qs8_gemm__scalar(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                           const float *bias, float *c, void *scratch,
                           const thaw_parallel *parallel) {
  thaw_qs8_gemm_drive(&scalar_qs8_gemm, p, a, packed_b, bias, c, scratch, parallel);
}

void thaw_qs8_conv2d__scalar(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                             const float *x, const void *packed_w, const float *bias, float *y,
                             void *scratch, const thaw_parallel *parallel) {
  thaw_qs8_conv2d_drive(&scalar_qs8_gemm, p, input, x, packed_w, bias, y, scratch, parallel);
}
