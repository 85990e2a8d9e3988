/*
 * The convolution driver shared by every ISA: it picks a path by shape and runs it with one ISA's
 * GEMM, activation and depthwise microkernels. Internal to kernels/.
 *
 * - depthwise (groups == in_channels == out_channels): the depthwise microkernels;
 * - 1x1, stride 1, no padding: per group, one GEMM of the weights (m = group outputs, k = group
 *   inputs) by the image rows read in place (k rows of H*W);
 * - 1x1 with a stride, no padding that a tap reads: the pixels read sampled into a dense image
 *   in scratch, then the same GEMMs;
 * - 3x3, stride 1, dilation 1, ungrouped, where its cost rule says it beats im2col: Winograd
 *   F(4x4, 3x3) (f32-winograd.h);
 * - few taps per output over wide output rows (a 3-channel image's stem): implicit GEMM from
 *   the padded input rows, nothing gathered (f32-igemm.h);
 * - anything else: per group, im2col of a chunk of output pixels into scratch (packed for the
 *   GEMM), then one GEMM.
 */
#ifndef THAW_KERNELS_CONV_DRIVER_H
#define THAW_KERNELS_CONV_DRIVER_H

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/conv/f32-igemm.h"
#include "kernels/conv/f32-winograd.h"

typedef struct thaw_conv2d_isa {
  void (*gemm)(const thaw_gemm_params *p, const float *a, const float *b, const float *bias,
               float *c, void *scratch, const thaw_parallel *parallel);
  void (*unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
  thaw_f32_dwconv2d_ukernel dwconv_3x3s1, dwconv_3x3s2, dwconv_5x5s1, dwconv_5x5s2;
  /* Stride 2 down the rows, 1 along them: the text-line models' vertical downsampling. */
  thaw_f32_dwconv2d_ukernel dwconv_3x3s2x1, dwconv_5x5s2x1;
  /* Stride 1 down the rows, 2 along them: PP-OCR rec's horizontal downsampling. */
  thaw_f32_dwconv2d_ukernel dwconv_3x3s1x2;
  thaw_f32_dwconv2d_ukernel dwconv_generic; /* every other window, stride or dilation */
  thaw_f32_winograd_weights_fn winograd_weights;
  thaw_f32_winograd_input_fn winograd_input;
  thaw_f32_winograd_output_fn winograd_output;
  thaw_f32_igemm_ukernel igemm;
} thaw_conv2d_isa;

/* Bytes of scratch per thread the path chosen for p needs, or SIZE_MAX when that overflows. */
size_t thaw_f32_conv2d_drive_scratch_size(const thaw_conv2d_params *p);
/* scratch holds one slice of thaw_f32_conv2d_drive_scratch_size(p) bytes per thread of
 * `parallel` (see thaw_parallel), 64-byte aligned. */
void thaw_f32_conv2d_drive(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel);

/* The im2col path whatever the shape (for benches that compare it with Winograd on the layers
 * Winograd takes), with its scratch per thread; same contract as thaw_f32_conv2d_drive. */
size_t thaw_f32_conv2d_im2col_scratch_size(const thaw_conv2d_params *p);
void thaw_f32_conv2d_drive_im2col(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                                  const float *x, const float *w, const float *bias, float *y,
                                  void *scratch, const thaw_parallel *parallel);

/* The Winograd path: whether p takes it, its scratch per thread (SIZE_MAX on overflow) and the
 * run, with the same scratch contract as thaw_f32_conv2d_drive. Any 3x3, stride 1, dilation 1,
 * groups 1 convolution can run it, whether it pays or not. */
bool thaw_f32_winograd_pays(const thaw_conv2d_params *p);
size_t thaw_f32_winograd_scratch_size(const thaw_conv2d_params *p);
void thaw_f32_winograd_run(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                           const float *x, const float *w, const float *bias, float *y,
                           void *scratch, const thaw_parallel *parallel);

/* The implicit-GEMM path: whether p takes it, its scratch per thread (SIZE_MAX on overflow) and
 * the run, with the same scratch contract as thaw_f32_conv2d_drive. Any convolution can run
 * it, whether it pays or not. */
bool thaw_f32_igemm_pays(const thaw_conv2d_params *p);
size_t thaw_f32_igemm_scratch_size(const thaw_conv2d_params *p);
void thaw_f32_igemm_run(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                        const float *w, const float *bias, float *y, void *scratch,
                        const thaw_parallel *parallel);

/* im2col of one group in two steps. First the input rows that output rows [first_out_row,
 * + out_rows) read, zero-padded on every side (channels [first_channel, + channel_count) of
 * the group's in_channels / groups; x_group points at the group's first input channel of one
 * image), into `padded`, which holds thaw_f32_im2col_padded_size(p, out_rows) bytes. */
size_t thaw_f32_im2col_padded_size(const thaw_conv2d_params *p, size_t out_rows);
void thaw_f32_im2col_pad(const thaw_conv2d_params *p, const float *x_group, size_t first_out_row,
                         size_t out_rows, size_t first_channel, size_t channel_count,
                         float *padded);
/* Then the columns of output pixels [first_pixel, + pixel_count), which lie in those output
 * rows, gathered from `padded` in the GEMM's packed B layout (THAW_GEMM_PANEL16): row (c, kh,
 * kw) of the k x pixel_count matrix (k = in_channels / groups * kh * kw) holds, in row-major
 * pixel order, the input value that tap multiplies (0 in the padding); panels of
 * THAW_GEMM_NR pixels, each k rows of THAW_GEMM_NR floats, lanes past pixel_count 0. */
void thaw_f32_im2col(const thaw_conv2d_params *p, const float *padded, size_t first_out_row,
                     size_t out_rows, size_t first_pixel, size_t pixel_count, float *columns);
/* Or, for an implicit GEMM, where each tap reads in `padded` (prepared for out_rows output
 * rows): tap (c, kh, kw), row (c * kernel_height + kh) * kernel_width + kw of the im2col
 * matrix, of output pixel (first_out_row + r, ow) multiplies
 * padded[r * step + ow + tap_offsets[row]], where step is the return value. Consecutive pixels
 * of an output row read consecutive floats; THAW_IGEMM_NR floats read from any pixel's tap stay
 * inside `padded`. */
size_t thaw_f32_im2col_taps(const thaw_conv2d_params *p, size_t out_rows,
                            ptrdiff_t *tap_offsets);

/* One ISA's im2col, Winograd and implicit-GEMM paths forced, as THAW_F32_CONV2D_BINDING defines
 * them, for benches; scratch of thaw_f32_conv2d_im2col_scratch_size,
 * thaw_f32_winograd_scratch_size or thaw_f32_igemm_scratch_size bytes per thread. */
#define THAW_F32_CONV2D_FORCED_PATHS(isa)                                                     \
  void thaw_f32_conv2d_im2col__##isa(const thaw_conv2d_params *p, const float *x,            \
                                     const float *w, const float *bias, float *y,            \
                                     void *scratch, const thaw_parallel *parallel);          \
  void thaw_f32_conv2d_winograd__##isa(const thaw_conv2d_params *p, const float *x,          \
                                       const float *w, const float *bias, float *y,          \
                                       void *scratch, const thaw_parallel *parallel);        \
  void thaw_f32_conv2d_igemm__##isa(const thaw_conv2d_params *p, const float *x,             \
                                    const float *w, const float *bias, float *y,             \
                                    void *scratch, const thaw_parallel *parallel);
THAW_F32_CONV2D_FORCED_PATHS(avx2)
THAW_F32_CONV2D_FORCED_PATHS(neon)

#endif /* THAW_KERNELS_CONV_DRIVER_H */
