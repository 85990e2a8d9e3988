#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

/* SIZE_MAX when the packed matrix would not fit in size_t: a caller allocating that fails. */
size_t thaw_f32_gemm_packed_b_size(size_t k, size_t n) {
  const size_t panel_count = n / THAW_GEMM_NR + (n % THAW_GEMM_NR != 0);
  size_t bytes;
  if (__builtin_mul_overflow(panel_count, k, &bytes) ||
      __builtin_mul_overflow(bytes, THAW_GEMM_NR * sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

/* A full panel of a B whose columns are contiguous in k (b_row_stride 1: attention's
 * transposed keys Kᵀ, packed at every run), in blocks of four rows of four columns: the four
 * floats of a column are one contiguous read, and a block's sixteen writes are fixed offsets.
 * Element by element, every row of the panel read sixteen floats a column stride apart (a cache
 * line each) through a loop of unknown trip count: 1.6 times as long for MiniLM's Kᵀ (k = 32,
 * columns 1536 bytes apart). */
static void pack_panel_of_columns(size_t k, const float *column, ptrdiff_t column_stride,
                                  float *packed) {
  size_t kk = 0;
  for (; kk + 4 <= k; kk += 4, packed += 4 * THAW_GEMM_NR)
    for (size_t j = 0; j < THAW_GEMM_NR; j += 4) {
      float block[4][4]; /* block[c][r] is B(kk + r, j + c) */
      for (size_t c = 0; c < 4; c++)
        memcpy(block[c], column + (ptrdiff_t)(j + c) * column_stride + (ptrdiff_t)kk,
               sizeof block[c]);
      for (size_t r = 0; r < 4; r++)
        for (size_t c = 0; c < 4; c++) packed[r * THAW_GEMM_NR + j + c] = block[c][r];
    }
  for (; kk < k; kk++, packed += THAW_GEMM_NR)
    for (size_t j = 0; j < THAW_GEMM_NR; j++)
      packed[j] = column[(ptrdiff_t)j * column_stride + (ptrdiff_t)kk];
}

void thaw_f32_gemm_pack_b(size_t k, size_t n, const float *b, ptrdiff_t b_row_stride,
                          ptrdiff_t b_column_stride, float *packed) {
  for (size_t panel_start = 0; panel_start < n; panel_start += THAW_GEMM_NR) {
    const size_t width = n - panel_start < THAW_GEMM_NR ? n - panel_start : THAW_GEMM_NR;
    const float *column = b + (ptrdiff_t)panel_start * b_column_stride;
    /* A full panel of a row-major B (a 1x1 convolution's input, packed at every run) is k
     * runs of 16 contiguous floats: copied with a fixed size, which compiles to vector moves
     * instead of sixteen scalar ones at a stride unknown to the compiler (measured on
     * MobileNetV2's 1x1 inputs, read from L3: 3 to 4 times faster). */
    if (width == THAW_GEMM_NR && b_column_stride == 1) {
      for (size_t kk = 0; kk < k; kk++) {
        memcpy(packed, column + (ptrdiff_t)kk * b_row_stride, THAW_GEMM_NR * sizeof(float));
        packed += THAW_GEMM_NR;
      }
      continue;
    }
    if (width == THAW_GEMM_NR && b_row_stride == 1) {
      pack_panel_of_columns(k, column, b_column_stride, packed);
      packed += k * THAW_GEMM_NR;
      continue;
    }
    for (size_t kk = 0; kk < k; kk++) {
      const float *row = column + (ptrdiff_t)kk * b_row_stride;
      for (size_t j = 0; j < width; j++) packed[j] = row[(ptrdiff_t)j * b_column_stride];
      memset(packed + width, 0, (THAW_GEMM_NR - width) * sizeof(float));
      packed += THAW_GEMM_NR;
    }
  }
}
