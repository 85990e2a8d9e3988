/*
 * The convolution driver shared by every ISA: it picks a path by shape and runs it with one ISA's
 * GEMM, activation and depthwise microkernels. Internal to kernels/.
 *
 * - depthwise (groups == in_channels == out_channels): the depthwise microkernels;
 * - 1x1, stride 1, no padding: per group, one GEMM of the weights (m = group outputs, k = group
 *   inputs) by the image rows read in place (k rows of H*W);
 * - anything else: per group, im2col of a chunk of output pixels into scratch, then one GEMM.
 */
#ifndef THAW_KERNELS_CONV_DRIVER_H
#define THAW_KERNELS_CONV_DRIVER_H

#include "kernels/conv/f32-dwconv2d.h"

typedef struct thaw_conv2d_isa {
  void (*gemm)(const thaw_gemm_params *p, const float *a, const float *b, const float *bias,
               float *c, void *scratch, const thaw_parallel *parallel);
  void (*unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
  thaw_f32_dwconv2d_ukernel dwconv_3x3s1, dwconv_3x3s2, dwconv_5x5s1, dwconv_5x5s2;
  thaw_f32_dwconv2d_ukernel dwconv_generic; /* every other window, stride or dilation */
  /* The padded rows dwconv_3x3s2 and dwconv_5x5s2 read; the others read them by phase. */
  thaw_dwconv2d_columns dwconv_stride2_columns;
} thaw_conv2d_isa;

/* Bytes of scratch per thread the path chosen for p needs, or SIZE_MAX when that overflows. */
size_t thaw_f32_conv2d_drive_scratch_size(const thaw_conv2d_params *p);
/* scratch holds one slice of thaw_f32_conv2d_drive_scratch_size(p) bytes per thread of
 * `parallel` (see thaw_parallel), 64-byte aligned. */
void thaw_f32_conv2d_drive(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel);

/* im2col of one group: row (c, kh, kw) of the k x pixel_count result (k = in_channels/groups *
 * kh * kw) holds, for output pixels [first_pixel, first_pixel + pixel_count) in row-major order,
 * the input value that tap multiplies (0 in the padding). x_group points at the group's first
 * input channel of one image. The result is stored in panels of panel_width pixels, each panel
 * k rows of panel_width floats, lanes past pixel_count 0: panel_width = pixel_count gives a
 * plain row-major matrix, THAW_GEMM_NR the GEMM's packed B (THAW_GEMM_PANEL16). */
void thaw_f32_im2col(const thaw_conv2d_params *p, const float *x_group, size_t first_pixel,
                     size_t pixel_count, size_t panel_width, float *columns);

#endif /* THAW_KERNELS_CONV_DRIVER_H */
