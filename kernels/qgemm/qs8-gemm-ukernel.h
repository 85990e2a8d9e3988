/*
 * The contract between the qs8 drivers (qs8-gemm-driver.c, qs8-conv2d-driver.c) and their
 * per-ISA kernels. Internal to kernels/.
 *
 * The GEMM driver quantizes A a block of rows at a time into scratch, then calls the
 * microkernel on tiles of mr <= MR rows by nr <= 16 columns over all of k; the convolution
 * driver quantizes each input image once and multiplies the weights by panels of its patches.
 * The accumulators stay int32 from the first k to the last, and the epilogue requantizes in
 * f32.
 */
#ifndef THAW_KERNELS_QGEMM_QS8_GEMM_UKERNEL_H
#define THAW_KERNELS_QGEMM_QS8_GEMM_UKERNEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* How one row of A was quantized: A(i, k) ~ scale * (qa(i, k) - zero_point). */
typedef struct thaw_qs8_row_quantization {
  float scale;
  int32_t zero_point;
} thaw_qs8_row_quantization;

/* DYNAMIC quantizes A to [0, THAW_QS8_UNSIGNED7_MAX] (thaw_qs8_input): vpmaddubsw then multiplies
 * it, as its unsigned operand, by int8 weights in [-127, 127] without the sign trick, and a pair
 * of products (at most 2 * 127 * 127 < 2^15) cannot saturate. */
#define THAW_QS8_UNSIGNED7_MAX 127

/* The DYNAMIC quantization of values that lie in [min, max] (thaw_qs8_input). */
static inline thaw_qs8_row_quantization thaw_qs8_dynamic_quantization(float min, float max) {
  const float lo = min < 0.0f ? min : 0.0f, hi = max > 0.0f ? max : 0.0f;
  if (!(hi > lo)) return (thaw_qs8_row_quantization){1.0f, 0};
  const float scale = (hi - lo) / (float)THAW_QS8_UNSIGNED7_MAX;
  /* fmaxf before fminf: an infinite range makes -lo / scale NaN, and fmaxf maps NaN to 0. */
  const float zero_point =
      fminf(fmaxf(nearbyintf(-lo / scale), 0.0f), (float)THAW_QS8_UNSIGNED7_MAX);
  return (thaw_qs8_row_quantization){scale, (int32_t)zero_point};
}

/* One value: clamp(round(x * inverse_scale) + zero_point, lowest, 127), NaN to lowest. Every
 * variant multiplies by the same inverse_scale = 1 / scale, so they agree to the bit. */
static inline int8_t thaw_qs8_quantize_value(float x, float inverse_scale, float zero_point,
                                             float lowest) {
  const float q = nearbyintf(x * inverse_scale) + zero_point;
  if (!(q >= lowest)) return (int8_t)lowest; /* NaN too */
  return (int8_t)(q < 127.0f ? q : 127.0f);
}

/* The smallest quantized value of a mode: 0 for DYNAMIC, -128 for STATIC. */
static inline float thaw_qs8_lowest(thaw_qs8_quantization mode) {
  return mode == THAW_QS8_DYNAMIC ? 0.0f : -128.0f;
}

/* min and max of n floats and 0 (NaN is skipped), for DYNAMIC quantization. */
typedef void (*thaw_qs8_range_fn)(size_t n, const float *x, float *min, float *max);

/* Quantize n floats with quantization q, clamped to [lowest, 127] (thaw_qs8_quantize_value). */
typedef void (*thaw_qs8_quantize_fn)(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                                     float lowest, int8_t *y);

/* What the epilogue of one tile reads, each pointer at the tile's first row or column. */
typedef struct thaw_qs8_tile_args {
  const thaw_qs8_row_quantization *rows;
  const float *column_scales;
  const int32_t *column_sums;
  const float *bias; /* NULL for none */
  float min, max;    /* every stored value is clamped to [min, max]; NaN passes unchanged */
} thaw_qs8_tile_args;

/* One tile: C(i, j) = clamp(float(acc - za_i * sum_j) * (sa_i * sb_j) + bias_j) with acc the
 * exact int32 sum over k4 (a multiple of THAW_QS8_GEMM_KR) of qa(i, k) * qb(k, j). qa row i is
 * a + i * a_row_stride; packed_b is one panel (k4 / 4 groups of 64 bytes). Touches no row of A
 * or C at or past mr and no column of C at or past nr. */
typedef void (*thaw_qs8_gemm_ukernel_fn)(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                         size_t a_row_stride, const int8_t *packed_b, float *c,
                                         ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args);

/* What the epilogue of one convolution tile reads. Rows are output channels, columns pixels.
 * The driver folds the image's quantization into per-channel values once per image, so that a
 * tile reads three numbers per channel: each array holds THAW_QS8_CONV_MR values from the
 * tile's first channel (zeros past the last real one). */
typedef struct thaw_qs8_conv_tile_args {
  const float *scales;    /* input scale * the channel's weight scale */
  const int32_t *offsets; /* input zero point * the sum of the channel's weights */
  const float *biases;    /* the channel's bias, 0 without one */
  float min, max; /* every stored value is clamped to [min, max]; NaN passes unchanged */
} thaw_qs8_conv_tile_args;

/* A convolution computes Y = W P per image: W the packed weights read as rows (one per output
 * channel), P the quantized input patches packed in panels of 16 pixels, so that each tile
 * lands in the NCHW output as it is. Channels come in tiles of THAW_QS8_CONV_MR inside one
 * 16-channel panel of the weights. */
#define THAW_QS8_CONV_MR 8

/* One tile: C(i, j) = clamp(float(acc - offsets[i]) * scales[i] + biases[i]) with acc the exact
 * int32 sum over k4 (> 0) of qw(i, k) * qx(k, j). w points at the tile's first channel inside its
 * weight panel, so qw(i, k) = w[k / 4 * 64 + i * 4 + k % 4]; panel is k4 / 4 groups of 64 bytes,
 * qx(k, j) = panel[k / 4 * 64 + j * 4 + k % 4]. Row i of C is c + i * c_row_stride. Touches no
 * row of C at or past mr (<= THAW_QS8_CONV_MR) and no column at or past nr (<= 16); may read
 * the weights and epilogue values of all THAW_QS8_CONV_MR channels. */
typedef void (*thaw_qs8_conv_ukernel_fn)(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                         const int8_t *panel, float *c, size_t c_row_stride,
                                         const thaw_qs8_conv_tile_args *args);

/* Pack one panel of 16 pixels of quantized activations: row kk < k of the patches (kk = channel *
 * taps + tap) is the 16 bytes at x + row_offsets[kk]; the panel takes the packed B layout
 * (k4 / 4 groups of 64 bytes, 4 consecutive k per pixel) with zeros past k. One flat table for
 * every row, rather than a channel stride and the taps' offsets, leaves the packer four loads
 * of offsets per group of 4 rows instead of a walk over channels and taps (a 3x3 convolution
 * packs in a third of the instructions). */
typedef void (*thaw_qs8_pack_panel_fn)(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                                       int8_t *panel);

/* The scalar form of the epilogue, which every variant computes (FMA or not). */
static inline float thaw_qs8_requantize(int32_t accumulator, const thaw_qs8_row_quantization *row,
                                        float column_scale, int32_t column_sum) {
  return (float)(accumulator - row->zero_point * column_sum) * (row->scale * column_scale);
}

/* What one ISA brings to the shared drivers. The *_unsigned7 ukernels take the quantized
 * activations in [0, 127] (DYNAMIC), the *_signed ones anywhere in int8 (STATIC). */
typedef struct thaw_qs8_gemm_isa {
  thaw_qs8_gemm_ukernel_fn gemm_unsigned7, gemm_signed;
  size_t mr; /* the GEMM ukernels' MR */
  thaw_qs8_conv_ukernel_fn conv_unsigned7, conv_signed;
  thaw_qs8_range_fn range;
  thaw_qs8_quantize_fn quantize;
  thaw_qs8_pack_panel_fn pack_panel;
  /* The same table's f32_unary, for activations that are not a clamp. */
  void (*unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
} thaw_qs8_gemm_isa;

/* Rows of A quantized and multiplied per block; blocks are independent of each other. */
#define THAW_QS8_GEMM_BLOCK_ROWS 64

/* k rounded up to THAW_QS8_GEMM_KR; k <= THAW_QS8_GEMM_MAX_K keeps it far from overflow. */
static inline size_t thaw_qs8_round_k(size_t k) {
  return (k + THAW_QS8_GEMM_KR - 1) / THAW_QS8_GEMM_KR * THAW_QS8_GEMM_KR;
}

/* Where the parts of a packed B lie (kernels.h, "Packed B"). */
typedef struct thaw_qs8_packed_b {
  const float *column_scales;
  const int32_t *column_sums;
  const int8_t *panels;
  size_t panel_bytes;
} thaw_qs8_packed_b;

void thaw_qs8_packed_b_parts(size_t k, size_t n, const void *packed, thaw_qs8_packed_b *parts);

/* scratch holds one slice of the scratch size (kernels.h) per thread of `parallel`. */
/* DYNAMIC_TENSOR (kernels.h) as the STATIC input it amounts to once the range of the whole
 * tensor is known, `rows` rows of `length` floats `row_stride` apart: one pass before the
 * product, so that every task quantizes with the same scale. */
thaw_qs8_input thaw_qs8_whole_tensor_input(const thaw_qs8_gemm_isa *isa, size_t rows,
                                           size_t length, ptrdiff_t row_stride, const float *x);
void thaw_qs8_gemm_drive(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                         const float *a, const void *packed_b, const float *bias, float *c,
                         void *scratch, const thaw_parallel *parallel);
void thaw_qs8_conv2d_drive(const thaw_qs8_gemm_isa *isa, const thaw_conv2d_params *p,
                           const thaw_qs8_input *input, const float *x, const void *packed_w,
                           const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel);

#endif /* THAW_KERNELS_QGEMM_QS8_GEMM_UKERNEL_H */
