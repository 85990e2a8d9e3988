#include "kernels/scalar.h"

static const thaw_gemm_isa scalar_gemm = {
    .ukernel = thaw_f32_gemm_ukernel_6x16__scalar,
    .mr = 6,
    .gemv = thaw_f32_gemv_ukernel__scalar,
    .dot = thaw_f32_gemm_dot_ukernel_6x4__scalar,
    .unary = thaw_f32_unary__scalar,
};

void thaw_f32_gemm__scalar(const thaw_gemm_params *p, const float *a, const float *b,
                           const float *bias, float *c, void *scratch,
                           const thaw_parallel *parallel) {
  thaw_f32_gemm_drive(&scalar_gemm, p, a, b, bias, c, scratch, parallel);
}
