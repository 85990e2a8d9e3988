/* The NEON qs8 entry points for CPUs with the Armv8.2 dot product (HWCAP_ASIMDDP): the SDOT tiles
 * (exact for both input modes, so each serves both) bound to the shared drivers, with the
 * quantize, range and pack helpers of plain NEON. */
#include "kernels/neon.h"

static const thaw_qs8_gemm_isa neondot_qs8_gemm = {
    .gemm_unsigned7 = thaw_qs8_gemm_ukernel_4x16c4__neondot,
    .gemm_signed = thaw_qs8_gemm_ukernel_4x16c4__neondot,
    .mr = 4,
    .conv_unsigned7 = thaw_qs8_conv_ukernel_8x16c4__neondot,
    .conv_signed = thaw_qs8_conv_ukernel_8x16c4__neondot,
    .range = thaw_qs8_range__neon,
    .quantize = thaw_qs8_quantize__neon,
    .pack_panel = thaw_qs8_pack_panel__neon,
    .unary = thaw_f32_unary__neon,
};

void thaw_qs8_gemm__neondot(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                            const float *bias, float *c, void *scratch,
                            const thaw_parallel *parallel) {
  thaw_qs8_gemm_drive(&neondot_qs8_gemm, p, a, packed_b, bias, c, scratch, parallel);
}

void thaw_qs8_conv2d__neondot(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                              const float *x, const void *packed_w, const float *bias, float *y,
                              void *scratch, const thaw_parallel *parallel) {
  thaw_qs8_conv2d_drive(&neondot_qs8_gemm, p, input, x, packed_w, bias, y, scratch, parallel);
}
