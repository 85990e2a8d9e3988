#include "kernels/avx2.h"

static const thaw_gemm_isa avx2_gemm = {
    .ukernel = thaw_f32_gemm_ukernel_6x16__avx2,
    .mr = 6,
    .gemv = thaw_f32_gemv_ukernel_4x16__avx2,
    .dot = thaw_f32_gemm_dot_ukernel_6x4__avx2,
    .unary = thaw_f32_unary__avx2,
};

void thaw_f32_gemm__avx2(const thaw_gemm_params *p, const float *a, const float *b,
                         const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel) {
  thaw_f32_gemm_drive(&avx2_gemm, p, a, b, bias, c, scratch, parallel);
}
