/*
 * Depthwise convolution (groups == in_channels == out_channels, NCHW) through row microkernels.
 * Each input plane is first copied into scratch with its zero padding made real, so the
 * microkernels have no border cases. The columns of a padded row are laid out in one of two ways
 * (thaw_dwconv2d_columns), as the microkernel asks:
 * - by phase: column c of the padded plane goes to phase c % stride_w at position c / stride_w.
 *   Every tap of any 8 consecutive outputs is then one contiguous load at any stride and
 *   dilation, but the copy gathers strided columns: about half of a stride-2 layer's time.
 * - in order: the padded row as it is, a plain copy; the microkernel separates the columns of a
 *   stride itself (two loads and a shuffle per tap pair at stride 2).
 * Internal to kernels/.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_H

#include "kernels/kernels.h"

/* Outputs one microkernel step produces along a row; the padded rows are sized so that a step
 * starting at any output column reads inside them. */
#define THAW_DWCONV2D_TILE 8

typedef enum thaw_dwconv2d_columns {
  THAW_DWCONV2D_COLUMNS_BY_PHASE,
  THAW_DWCONV2D_COLUMNS_IN_ORDER,
} thaw_dwconv2d_columns;

typedef struct thaw_dwconv2d_geometry {
  size_t out_height, out_width;
  size_t kernel_height, kernel_width, stride_h, stride_w, dilation_h, dilation_w;
  size_t padded_height, padded_width; /* the padded plane the windows cover */
  /* Column phases of a padded row: stride_w by phase, 1 in order. */
  size_t phases;
  size_t phase_width; /* floats per phase of a padded row */
  size_t row_stride; /* floats per padded row: phases * phase_width */
  /* Every output is clamped to [output_min, output_max] in registers: a fused ReLU or Clip.
   * NaN passes through. */
  float output_min, output_max;
} thaw_dwconv2d_geometry;

/* Computes one output plane, bias included, from a plane prepared by the driver. filter holds
 * kernel_height * kernel_width taps, row-major. */
typedef void (*thaw_f32_dwconv2d_ukernel)(const thaw_dwconv2d_geometry *g, const float *input,
                                          const float *filter, float bias, float *output);

/* Bytes of the padded plane in either column layout, or SIZE_MAX when that does not fit in
 * size_t. */
size_t thaw_f32_dwconv2d_scratch_size(const thaw_conv2d_params *p);

/* Runs the whole convolution, plane by plane, the planes (and tall planes' output rows) split
 * over the threads of `parallel`,
 * with padded planes laid out as `columns` says the microkernel reads them. ReLU and Clip are
 * applied by the microkernel, other activations with `unary` on each finished plane. scratch
 * holds one slice of thaw_f32_dwconv2d_scratch_size(p) bytes per thread (see thaw_parallel),
 * 32-byte aligned. */
void thaw_f32_dwconv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                       const float *bias, float *y, void *scratch,
                       thaw_f32_dwconv2d_ukernel ukernel, thaw_dwconv2d_columns columns,
                       void (*unary)(const thaw_unary_params *, size_t, const float *, float *),
                       const thaw_parallel *parallel);

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_H */
