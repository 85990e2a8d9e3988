/*
 * Depthwise convolution (groups == in_channels == out_channels, NCHW) through plane
 * microkernels that read each input plane in place: a window row above or below the plane is
 * skipped, and a step whose columns cross the left or right edge loads them with the
 * columns outside the plane as zeros (f32-dwconv2d-plane.h). Planes at most two vectors wide
 * at stride 1, whose every step would cross an edge, are read from a flat copy instead.
 * Internal to kernels/.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_H

#include "kernels/kernels.h"

typedef struct thaw_dwconv2d_geometry {
  size_t in_height, in_width, out_height, out_width;
  size_t kernel_height, kernel_width, stride_h, stride_w, dilation_h, dilation_w;
  size_t pad_top, pad_left;
  /* The output rows a call computes, [first_row, first_row + rows): a band of the plane. */
  size_t first_row, rows;
  /* Every output is clamped to [output_min, output_max] in registers: a fused ReLU or Clip.
   * NaN passes through. */
  float output_min, output_max;
} thaw_dwconv2d_geometry;

/* Computes output rows [g->first_row, + g->rows) of one output plane (`output` is the whole
 * plane), bias included, from the whole input plane `input`. filter holds kernel_height *
 * kernel_width taps, row-major. */
typedef void (*thaw_f32_dwconv2d_ukernel)(const thaw_dwconv2d_geometry *g, const float *input,
                                          const float *filter, float bias, float *output);

/* Whether the microkernels take p: every column a step addresses must fit in 32 bits, in
 * which the vector edge loads count them. */
bool thaw_f32_dwconv2d_supports(const thaw_conv2d_params *p);

/* Runs the whole convolution, plane by plane, the planes (and tall planes' output rows) split
 * over the threads of `parallel`; it needs no scratch. ReLU and Clip are applied by the
 * microkernel, other activations with `unary` on each finished band of a plane. */
void thaw_f32_dwconv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                       const float *bias, float *y, thaw_f32_dwconv2d_ukernel ukernel,
                       void (*unary)(const thaw_unary_params *, size_t, const float *, float *),
                       const thaw_parallel *parallel);

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_H */
