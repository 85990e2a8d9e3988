/*
 * The portable scalar kernels: the reference every vectorised variant is tested against.
 * Internal to kernels/; everyone else reaches them through thaw_kernels_scalar().
 */
#ifndef THAW_KERNELS_SCALAR_H
#define THAW_KERNELS_SCALAR_H

#include "kernels/gemm/gemm-ukernel.h"
#include "kernels/kernels.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"

/* May run in place (x == y): the conv and GEMM epilogues apply their activation that way. */
void thaw_f32_unary__scalar(const thaw_unary_params *p, size_t n, const float *x, float *y);
void thaw_f32_binary__scalar(const thaw_binary_params *p, const float *a, const float *b,
                             float *y);

void thaw_f32_conv2d__scalar(const thaw_conv2d_params *p, const float *x, const float *w,
                             const float *bias, float *y, void *scratch,
                             const thaw_parallel *parallel);
/* The direct reference convolution needs no scratch. */
size_t thaw_f32_conv2d_scratch_size__scalar(const thaw_conv2d_params *p);
/* The reference runs on the caller's thread only. */
void thaw_f32_conv_transpose2d__scalar(const thaw_conv2d_params *p, const float *x,
                                       const float *w, const float *bias, float *y,
                                       const thaw_parallel *parallel);

void thaw_f32_gemm__scalar(const thaw_gemm_params *p, const float *a, const float *b,
                           const float *bias, float *c, void *scratch,
                           const thaw_parallel *parallel);
/* Scratch of the shared GEMM driver, the same for every ISA: KC x NC floats for packing a plain
 * B, none for a packed one. */
size_t thaw_f32_gemm_scratch_size(const thaw_gemm_params *p);
void thaw_f32_gemm_ukernel_6x16__scalar(size_t mr, size_t nr, size_t kc, const float *a,
                                        ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                        const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                        const thaw_gemm_tile_args *args);
void thaw_f32_gemm_dot_ukernel_6x4__scalar(size_t mr, size_t nr, size_t kc, const float *a,
                                           ptrdiff_t a_row_stride, const float *b,
                                           ptrdiff_t b_column_stride, float *c,
                                           ptrdiff_t c_row_stride, const thaw_gemm_tile_args *args);
void thaw_f32_gemv_ukernel__scalar(size_t m, size_t n, size_t k, const float *a,
                                   ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                   const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                   const thaw_gemm_tile_args *args);

void thaw_f32_max_pool2d__scalar(const thaw_pool2d_params *p, const float *x, float *y);
void thaw_f32_average_pool2d__scalar(const thaw_pool2d_params *p, const float *x, float *y);
void thaw_f32_global_average_pool__scalar(size_t channels, size_t spatial, const float *x,
                                          float *y);

void thaw_f32_softmax__scalar(size_t outer, size_t axis_size, size_t inner, const float *x,
                              float *y);
void thaw_f32_layer_norm__scalar(size_t rows, size_t cols, float epsilon, const float *x,
                                 const float *scale, const float *bias, float *y);
void thaw_f32_reduce_mean__scalar(size_t outer, size_t reduce, size_t inner, const float *x,
                                  float *y);
void thaw_f32_channel_affine__scalar(size_t outer, size_t channels, size_t inner,
                                     const float *x, const float *scale, const float *shift,
                                     float *y);

void thaw_f32_pad__scalar(const thaw_pad_params *p, const float *x, float *y);
void thaw_f32_resize__scalar(const thaw_resize_params *p, const float *x, float *y);
void thaw_x_strided_copy__scalar(const thaw_strided_copy_params *p, const void *x, void *y);
void thaw_x_concat__scalar(size_t count, const size_t *row_bytes, const void *const *x, void *y,
                           size_t first_byte, size_t end_byte);
void thaw_x_split__scalar(size_t outer, size_t count, const size_t *row_bytes, const void *x,
                          void *const *y);
bool thaw_x_gather__scalar(const thaw_gather_params *p, const void *x, const void *indices,
                           void *y, int64_t *bad_index);
bool thaw_qs8_gather__scalar(const thaw_gather_params *p, const int8_t *x, const void *indices,
                             const float *scales, float *y, int64_t *bad_index);
void thaw_x_cast__scalar(thaw_dtype from, thaw_dtype to, size_t n, const void *x, void *y);
void thaw_x_where__scalar(size_t element_size, const thaw_broadcast *iter, const uint8_t *cond,
                          const void *x, const void *y, void *z);

/* ONNX linear quantization (kernels/quantize/). */
void thaw_f32_quantize_linear__scalar(const thaw_quantize_params *p, const float *x,
                                      const float *scale, const void *zero_point, void *y);
void thaw_x_dequantize_linear__scalar(const thaw_quantize_params *p, const void *x,
                                      const float *scale, const void *zero_point, float *y);
void thaw_f32_dynamic_quantize_linear__scalar(size_t n, const float *x, uint8_t *y, float *scale,
                                              uint8_t *zero_point);

/* Quantized GEMM and convolution (kernels/qgemm/); the scratch sizes are the drivers'. */
void thaw_qs8_gemm_ukernel_4x16c4__scalar(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                          size_t a_row_stride, const int8_t *packed_b, float *c,
                                          ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args);
void thaw_qs8_conv_ukernel_8x16c4__scalar(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                          const int8_t *panel, float *c, size_t c_row_stride,
                                          const thaw_qs8_conv_tile_args *args);
void thaw_qs8_range__scalar(size_t n, const float *x, float *min, float *max);
void thaw_qs8_quantize__scalar(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                               float lowest, int8_t *y);
void thaw_qs8_pack_panel__scalar(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                                 int8_t *panel);
void thaw_qs8_gemm__scalar(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                           const float *bias, float *c, void *scratch,
                           const thaw_parallel *parallel);
void thaw_qs8_conv2d__scalar(const thaw_conv2d_params *p, const thaw_qs8_input *input,
                             const float *x, const void *packed_w, const float *bias, float *y,
                             void *scratch, const thaw_parallel *parallel);
/* LSTM and GRU (kernels/rnn/): the gate kernels of rnn-driver.h and the entry point binding
 * them to the shared driver; the scratch size is the driver's, the same for every ISA. */
void thaw_f32_lstm_gates__scalar(size_t rows, size_t hidden_size, const float *projected,
                                 size_t projected_stride, const float *recurrent,
                                 size_t recurrent_stride, float *cell, float *hidden);
void thaw_f32_gru_reset__scalar(size_t rows, size_t hidden_size, const float *projected,
                                size_t projected_stride, const float *recurrent,
                                size_t recurrent_stride, const float *hidden,
                                float *reset_hidden);
void thaw_f32_gru_gates__scalar(size_t rows, size_t hidden_size, size_t candidate_column,
                                bool linear_before_reset, const float *projected,
                                size_t projected_stride, const float *recurrent,
                                size_t recurrent_stride, float *hidden);
void thaw_f32_rnn__scalar(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch);
size_t thaw_f32_rnn_scratch_size(const thaw_rnn_params *p);

#endif /* THAW_KERNELS_SCALAR_H */
