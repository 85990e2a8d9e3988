/* The AArch64 Advanced SIMD kernels (files named *-neon.c, built only for aarch64, where NEON is
 * part of the base architecture; kernels/dispatch.c picks them when getauxval(AT_HWCAP) reports
 * ASIMD). Same signatures as their scalar references. */
#ifndef THAW_KERNELS_NEON_H
#define THAW_KERNELS_NEON_H

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/conv/f32-igemm.h"
#include "kernels/gemm/gemm-ukernel.h"
#include "kernels/kernels.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"

/* Convolution (kernels/conv/): depthwise microkernels for the shared driver, and the entry
 * points, which choose depthwise, 1x1-as-GEMM or im2col + GEMM by shape. */
void thaw_f32_dwconv2d_ukernel_3x3s1__neon(const thaw_dwconv2d_geometry *g, const float *input,
                                           const float *filter, float bias, float *output);
void thaw_f32_dwconv2d_ukernel_3x3s2__neon(const thaw_dwconv2d_geometry *g, const float *input,
                                           const float *filter, float bias, float *output);
void thaw_f32_dwconv2d_ukernel_5x5s1__neon(const thaw_dwconv2d_geometry *g, const float *input,
                                           const float *filter, float bias, float *output);
void thaw_f32_dwconv2d_ukernel_5x5s2__neon(const thaw_dwconv2d_geometry *g, const float *input,
                                           const float *filter, float bias, float *output);
void thaw_f32_dwconv2d_ukernel_3x3s2x1__neon(const thaw_dwconv2d_geometry *g,
                                             const float *input, const float *filter, float bias,
                                             float *output);
void thaw_f32_dwconv2d_ukernel_5x5s2x1__neon(const thaw_dwconv2d_geometry *g,
                                             const float *input, const float *filter, float bias,
                                             float *output);
void thaw_f32_dwconv2d_ukernel_3x3s1x2__neon(const thaw_dwconv2d_geometry *g,
                                             const float *input, const float *filter, float bias,
                                             float *output);
void thaw_f32_dwconv2d_ukernel_generic__neon(const thaw_dwconv2d_geometry *g,
                                             const float *input, const float *filter, float bias,
                                             float *output);
/* The implicit-GEMM tile of small-k convolutions (f32-igemm.h). */
void thaw_f32_igemm_ukernel_6x16__neon(size_t mr, size_t k, const float *w, const float *input,
                                       const ptrdiff_t *tap_offsets, const float *bias, float *y,
                                       ptrdiff_t y_row_stride, float min, float max);
void thaw_f32_conv2d__neon(const thaw_conv2d_params *p, const float *x, const float *w,
                           const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel);
size_t thaw_f32_conv2d_scratch_size__neon(const thaw_conv2d_params *p);
void thaw_f32_conv_transpose2d__neon(const thaw_conv2d_params *p, const float *x,
                                     const float *w, const float *bias, float *y,
                                     const thaw_parallel *parallel);

/* Pooling (kernels/pool/). */
void thaw_f32_max_pool2d__neon(const thaw_pool2d_params *p, const float *x, float *y);
void thaw_f32_average_pool2d__neon(const thaw_pool2d_params *p, const float *x, float *y);
void thaw_f32_global_average_pool__neon(size_t channels, size_t spatial, const float *x,
                                        float *y);

/* GEMM (kernels/gemm/): the microkernels and the entry point binding them to the shared
 * driver; the scratch size is the driver's, thaw_f32_gemm_scratch_size. */
void thaw_f32_gemm_ukernel_6x16__neon(size_t mr, size_t nr, size_t kc, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args);
void thaw_f32_gemm_dot_ukernel_6x4__neon(size_t mr, size_t nr, size_t kc, const float *a,
                                         ptrdiff_t a_row_stride, const float *b,
                                         ptrdiff_t b_column_stride, float *c,
                                         ptrdiff_t c_row_stride, const thaw_gemm_tile_args *args);
void thaw_f32_gemv_ukernel_4x16__neon(size_t m, size_t n, size_t k, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args);
void thaw_f32_gemm__neon(const thaw_gemm_params *p, const float *a, const float *b,
                         const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel);

/* Elementwise and normalisation (kernels/elementwise/, kernels/normalization/), built on the
 * vector math of kernels/math/f32-vmath-neon.h. */
void thaw_f32_unary__neon(const thaw_unary_params *p, size_t n, const float *x, float *y);
void thaw_f32_binary__neon(const thaw_binary_params *p, const float *a, const float *b,
                           float *y);
void thaw_f32_softmax__neon(size_t outer, size_t axis_size, size_t inner, const float *x,
                            float *y);
void thaw_f32_layer_norm__neon(size_t rows, size_t cols, float epsilon, const float *x,
                               const float *scale, const float *bias, float *y);
void thaw_f32_reduce_mean__neon(size_t outer, size_t reduce, size_t inner, const float *x,
                                float *y);
void thaw_f32_channel_affine__neon(size_t outer, size_t channels, size_t inner, const float *x,
                                   const float *scale, const float *shift, float *y);

/* Quantized int8 (kernels/qgemm/): microkernels and helpers for the shared qs8 drivers, and
 * the entry points binding them, in two flavours. *__neon run on every AArch64 CPU (widening
 * multiplies); *__neondot need the Armv8.2 dot product (SDOT, HWCAP_ASIMDDP), are compiled with
 * it (files named *-neondot.c) and are reached only through the table dispatch.c selects when
 * the CPU has it. The scratch sizes are the drivers', the same for every ISA. */
void thaw_qs8_gemm_ukernel_2x16c4__neon(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                        size_t a_row_stride, const int8_t *packed_b, float *c,
                                        ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args);
void thaw_qs8_conv_ukernel_8x16c4__neon(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                        const int8_t *panel, float *c, size_t c_row_stride,
                                        const thaw_qs8_conv_tile_args *args);
void thaw_qs8_gemm_ukernel_4x16c4__neondot(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                           size_t a_row_stride, const int8_t *packed_b, float *c,
                                           ptrdiff_t c_row_stride,
                                           const thaw_qs8_tile_args *args);
void thaw_qs8_conv_ukernel_8x16c4__neondot(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                           const int8_t *panel, float *c, size_t c_row_stride,
                                           const thaw_qs8_conv_tile_args *args);
void thaw_qs8_range__neon(size_t n, const float *x, float *min, float *max);
void thaw_qs8_quantize__neon(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                             float lowest, int8_t *y);
void thaw_qs8_pack_panel__neon(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                               int8_t *panel);
void thaw_qs8_gemm__neon(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                         const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel);
void thaw_qs8_conv2d__neon(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                           const float *x, const void *packed_w, const float *bias, float *y,
                           void *scratch, const thaw_parallel *parallel);
void thaw_qs8_gemm__neondot(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                            const float *bias, float *c, void *scratch,
                            const thaw_parallel *parallel);
void thaw_qs8_conv2d__neondot(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                              const float *x, const void *packed_w, const float *bias, float *y,
                              void *scratch, const thaw_parallel *parallel);

/* ONNX linear quantization (kernels/quantize/): the shared driver with vector rows. */
void thaw_f32_quantize_linear__neon(const thaw_quantize_params *p, const float *x,
                                    const float *scale, const void *zero_point, void *y);
void thaw_x_dequantize_linear__neon(const thaw_quantize_params *p, const void *x,
                                    const float *scale, const void *zero_point, float *y);
void thaw_f32_dynamic_quantize_linear__neon(size_t n, const float *x, uint8_t *y, float *scale,
                                            uint8_t *zero_point);
/* LSTM and GRU (kernels/rnn/): gate kernels on the vector sigmoid and tanh, bound to the shared
 * driver with the NEON GEMM. */
void thaw_f32_lstm_gates__neon(size_t rows, size_t hidden_size, const float *projected,
                               size_t projected_stride, const float *recurrent,
                               size_t recurrent_stride, float *cell, float *hidden);
void thaw_f32_gru_reset__neon(size_t rows, size_t hidden_size, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, const float *hidden, float *reset_hidden);
void thaw_f32_gru_gates__neon(size_t rows, size_t hidden_size, size_t candidate_column,
                              bool linear_before_reset, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, float *hidden);
void thaw_f32_rnn__neon(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch);
/* Data movement (kernels/data/). */
void thaw_f32_resize__neon(const thaw_resize_params *p, const float *x, float *y);
void thaw_x_strided_copy__neon(const thaw_strided_copy_params *p, const void *x, void *y);

#endif /* THAW_KERNELS_NEON_H */
