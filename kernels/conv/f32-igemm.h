/*
 * Implicit GEMM for convolutions with few taps per output (k = in_channels / groups * kernel
 * height * kernel width) over wide output rows, a 3-channel image's stem above all. The im2col
 * path copies the padded input into k rows of packed columns (2.25 times the image for a 3x3
 * stride-2 stem) and then runs GEMM tiles of only k = 27 steps; here a tile reads each of its k
 * rows straight from the phase-split padded input rows that im2col pads into
 * (thaw_f32_im2col_pad), at one fixed offset per tap (thaw_f32_im2col_taps): consecutive pixels
 * of an output row are consecutive floats there at any stride. Internal to kernels/.
 */
#ifndef THAW_KERNELS_CONV_F32_IGEMM_H
#define THAW_KERNELS_CONV_F32_IGEMM_H

#include <stddef.h>

/* A tile is THAW_IGEMM_MR output channels by THAW_IGEMM_NR consecutive pixels of one output
 * row. */
#define THAW_IGEMM_MR 6
#define THAW_IGEMM_NR 16

/* One tile of mr <= THAW_IGEMM_MR output channels by THAW_IGEMM_NR pixels:
 *   y[i * y_row_stride + j] = clamp(bias[i] + sum_kk w[i * k + kk] * input[tap_offsets[kk] + j])
 * to [min, max] (NaN passes through), with bias NULL for none. No row of w or y at or past mr
 * is touched. A tile is always full width: the driver ends an output row with a tile that
 * overlaps the one before it, which stores the same values again. */
typedef void (*thaw_f32_igemm_ukernel)(size_t mr, size_t k, const float *w, const float *input,
                                       const ptrdiff_t *tap_offsets, const float *bias, float *y,
                                       ptrdiff_t y_row_stride, float min, float max);

#endif /* THAW_KERNELS_CONV_F32_IGEMM_H */
