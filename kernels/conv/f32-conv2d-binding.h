/*
 * One ISA's convolution entry points, thaw_f32_conv2d__<isa> and
 * thaw_f32_conv2d_scratch_size__<isa>: the shared driver (conv-driver.h) run with that ISA's
 * GEMM, activation, depthwise microkernels, Winograd transforms and implicit-GEMM tile, found
 * by their names (thaw_f32_gemm__<isa>, thaw_f32_unary__<isa>,
 * thaw_f32_dwconv2d_ukernel_<tile>__<isa>, thaw_f32_winograd_<transform>__<isa>,
 * thaw_f32_igemm_ukernel_6x16__<isa>). An ISA's f32-conv2d-<isa>.c is its header of
 * declarations and THAW_F32_CONV2D_BINDING(<isa>), so a new ISA brings its microkernels and
 * nothing of the convolution itself.
 */
#ifndef THAW_KERNELS_CONV_F32_CONV2D_BINDING_H
#define THAW_KERNELS_CONV_F32_CONV2D_BINDING_H

#include "kernels/conv/conv-driver.h"

#define THAW_F32_CONV2D_BINDING(isa)                                                          \
  static const thaw_conv2d_isa conv2d_ukernels__##isa = {                                     \
      .gemm = thaw_f32_gemm__##isa,                                                           \
      .unary = thaw_f32_unary__##isa,                                                         \
      .dwconv_3x3s1 = thaw_f32_dwconv2d_ukernel_3x3s1__##isa,                                 \
      .dwconv_3x3s2 = thaw_f32_dwconv2d_ukernel_3x3s2__##isa,                                 \
      .dwconv_5x5s1 = thaw_f32_dwconv2d_ukernel_5x5s1__##isa,                                 \
      .dwconv_5x5s2 = thaw_f32_dwconv2d_ukernel_5x5s2__##isa,                                 \
      .dwconv_3x3s2x1 = thaw_f32_dwconv2d_ukernel_3x3s2x1__##isa,                             \
      .dwconv_5x5s2x1 = thaw_f32_dwconv2d_ukernel_5x5s2x1__##isa,                             \
      .dwconv_3x3s1x2 = thaw_f32_dwconv2d_ukernel_3x3s1x2__##isa,                             \
      .dwconv_generic = thaw_f32_dwconv2d_ukernel_generic__##isa,                             \
      .winograd_weights = thaw_f32_winograd_weights__##isa,                                   \
      .winograd_input = thaw_f32_winograd_input__##isa,                                       \
      .winograd_output = thaw_f32_winograd_output__##isa,                                     \
      .igemm = thaw_f32_igemm_ukernel_6x16__##isa,                                            \
  };                                                                                          \
                                                                                              \
  size_t thaw_f32_conv2d_scratch_size__##isa(const thaw_conv2d_params *p) {                   \
    return thaw_f32_conv2d_drive_scratch_size(p);                                             \
  }                                                                                           \
                                                                                              \
  void thaw_f32_conv2d__##isa(const thaw_conv2d_params *p, const float *x, const float *w,    \
                              const float *bias, float *y, void *scratch,                     \
                              const thaw_parallel *parallel) {                                \
    thaw_f32_conv2d_drive(&conv2d_ukernels__##isa, p, x, w, bias, y, scratch, parallel);      \
  }                                                                                           \
                                                                                              \
  void thaw_f32_conv2d_im2col__##isa(const thaw_conv2d_params *p, const float *x,             \
                                     const float *w, const float *bias, float *y,             \
                                     void *scratch, const thaw_parallel *parallel) {          \
    thaw_f32_conv2d_drive_im2col(&conv2d_ukernels__##isa, p, x, w, bias, y, scratch,         \
                                 parallel);                                                   \
  }                                                                                           \
                                                                                              \
  void thaw_f32_conv2d_winograd__##isa(const thaw_conv2d_params *p, const float *x,           \
                                       const float *w, const float *bias, float *y,           \
                                       void *scratch, const thaw_parallel *parallel) {        \
    thaw_f32_winograd_run(&conv2d_ukernels__##isa, p, x, w, bias, y, scratch, parallel);      \
  }                                                                                           \
                                                                                              \
  void thaw_f32_conv2d_igemm__##isa(const thaw_conv2d_params *p, const float *x,              \
                                    const float *w, const float *bias, float *y,              \
                                    void *scratch, const thaw_parallel *parallel) {           \
    thaw_f32_igemm_run(&conv2d_ukernels__##isa, p, x, w, bias, y, scratch, parallel);         \
  }

#endif /* THAW_KERNELS_CONV_F32_CONV2D_BINDING_H */
