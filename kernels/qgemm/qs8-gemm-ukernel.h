/*
 * The contract between the qs8 drivers (qs8-gemm-driver.c, qs8-conv2d-driver.c) and their
 * per-ISA kernels. Internal to kernels/.
 *
 * The drivers quantize A a block of rows at a time into scratch (the quantize-rows kernel),
 * then call the microkernel on tiles of mr <= MR rows by nr <= 16 columns over all of k: the
 * accumulators stay int32 from the first k to the last, and the epilogue requantizes in f32.
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

/* The DYNAMIC quantization of a row whose values lie in [min, max] (thaw_qs8_input). */
static inline thaw_qs8_row_quantization thaw_qs8_dynamic_quantization(float min, float max) {
  const float lo = min < 0.0f ? min : 0.0f, hi = max > 0.0f ? max : 0.0f;
  if (!(hi > lo)) return (thaw_qs8_row_quantization){1.0f, -128};
  const float scale = (hi - lo) / 255.0f;
  /* fmaxf before fminf: an infinite range makes -lo / scale NaN, and fmaxf maps NaN to 0. */
  const float zero_point = fminf(fmaxf(nearbyintf(-lo / scale), 0.0f), 255.0f);
  return (thaw_qs8_row_quantization){scale, (int32_t)zero_point - 128};
}

/* One value: clamp(round(x * inverse_scale) + zero_point, -128, 127), NaN to -128. Every
 * variant multiplies by the same inverse_scale = 1 / scale, so they agree to the bit. */
static inline int8_t thaw_qs8_quantize_value(float x, float inverse_scale, float zero_point) {
  const float q = nearbyintf(x * inverse_scale) + zero_point;
  return (int8_t)fminf(fmaxf(q, -128.0f), 127.0f);
}

/* Quantize `rows` rows of k floats (row r at x + r * x_row_stride) to int8 rows of y_row_stride
 * bytes, as thaw_qs8_input says, writing each row's quantization; the bytes from k up to k
 * rounded up to THAW_QS8_GEMM_KR are zeroed (they meet the zero rows of packed B). */
typedef void (*thaw_qs8_quantize_rows_fn)(size_t rows, size_t k, const float *x,
                                          ptrdiff_t x_row_stride, const thaw_qs8_input *input,
                                          int8_t *y, size_t y_row_stride,
                                          thaw_qs8_row_quantization *quantization);

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

/* The scalar form of the epilogue, which every variant computes (FMA or not). */
static inline float thaw_qs8_requantize(int32_t accumulator, const thaw_qs8_row_quantization *row,
                                        float column_scale, int32_t column_sum) {
  return (float)(accumulator - row->zero_point * column_sum) * (row->scale * column_scale);
}

/* What one ISA brings to the shared drivers. */
typedef struct thaw_qs8_gemm_isa {
  thaw_qs8_gemm_ukernel_fn ukernel;
  size_t mr; /* the ukernel's MR */
  thaw_qs8_quantize_rows_fn quantize_rows;
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

/* Multiply `rows` already quantized rows (qa rows of thaw_qs8_round_k(k) bytes) by the packed B
 * into C, bias and activation included: the part of a product both drivers share. */
void thaw_qs8_gemm_multiply_block(const thaw_qs8_gemm_isa *isa, size_t rows, size_t n, size_t k,
                                  const int8_t *qa, const thaw_qs8_row_quantization *rows_q,
                                  const thaw_qs8_packed_b *b, const float *bias,
                                  const thaw_unary_params *activation, float *c,
                                  ptrdiff_t c_row_stride);

void thaw_qs8_gemm_drive(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                         const float *a, const void *packed_b, const float *bias, float *c,
                         void *scratch);
void thaw_qs8_conv2d_drive(const thaw_qs8_gemm_isa *isa, const thaw_conv2d_params *p,
                           const thaw_qs8_input *input, const float *x, const void *packed_w,
                           const float *bias, float *y, void *scratch);

#endif /* THAW_KERNELS_QGEMM_QS8_GEMM_UKERNEL_H */
