#include "kernels/neon.h"

static const thaw_gemm_isa neon_gemm = {
    .ukernel = thaw_f32_gemm_ukernel_6x16__neon,
    .mr = 6,
    .gemv = thaw_f32_gemv_ukernel_4x16__neon,
    .dot = thaw_f32_gemm_dot_ukernel_6x4__neon,
    .unary = thaw_f32_unary__neon,
};

void thaw_f32_gemm__neon(const thaw_gemm_params *p, const float *a, const float *b,
                         const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel) {
  thaw_f32_gemm_drive(&neon_gemm, p, a, b, bias, c, scratch, parallel);
}
