/*
 * The qs8 GEMM driver shared by every ISA: A is quantized THAW_QS8_GEMM_BLOCK_ROWS rows at a time
 * into scratch, then each 16-column panel of B (k4 x 16 bytes, in L1 for k up to ~2000) meets
 * every row tile of the block (64 rows of k4 bytes, in L2). Blocks of rows are independent, so
 * a thread pool can split them without changing a result.
 */
#include <string.h>

#include "kernels/elementwise/unary-clamp.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The row quantizations follow the int8 rows, at a 64-byte boundary. */
static size_t quantized_rows_bytes(size_t k) {
  const size_t bytes = THAW_QS8_GEMM_BLOCK_ROWS * thaw_qs8_round_k(k);
  return (bytes + 63) / 64 * 64;
}

size_t thaw_qs8_gemm_scratch_size(const thaw_qs8_gemm_params *p) {
  if (p->k > THAW_QS8_GEMM_MAX_K) return SIZE_MAX;
  return quantized_rows_bytes(p->k) + THAW_QS8_GEMM_BLOCK_ROWS * sizeof(thaw_qs8_row_quantization);
}

/* Quantize `rows` rows of A into rows of k4 bytes, zeros from k on (they meet the zero rows of
 * the packed B), each DYNAMIC row over its own range. */
static void quantize_rows(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                          size_t rows, const float *a, int8_t *qa,
                          thaw_qs8_row_quantization *rows_q) {
  const size_t k4 = thaw_qs8_round_k(p->k);
  const float lowest = thaw_qs8_lowest(p->input.mode);
  for (size_t r = 0; r < rows; r++) {
    const float *row = a + (ptrdiff_t)r * p->a_row_stride;
    thaw_qs8_row_quantization q = {p->input.scale, p->input.zero_point};
    if (p->input.mode == THAW_QS8_DYNAMIC) {
      float min, max;
      isa->range(p->k, row, &min, &max);
      q = thaw_qs8_dynamic_quantization(min, max);
    }
    isa->quantize(p->k, row, &q, lowest, qa + r * k4);
    memset(qa + r * k4 + p->k, 0, k4 - p->k);
    rows_q[r] = q;
  }
}

/* Multiply `rows` quantized rows by the packed B into C, bias and activation included. */
static void multiply_block(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                           size_t rows, const int8_t *qa, const thaw_qs8_row_quantization *rows_q,
                           const thaw_qs8_packed_b *b, const float *bias, float *c) {
  const size_t k4 = thaw_qs8_round_k(p->k);
  const thaw_qs8_gemm_ukernel_fn ukernel =
      p->input.mode == THAW_QS8_DYNAMIC ? isa->gemm_unsigned7 : isa->gemm_signed;
  thaw_qs8_tile_args args;
  const bool fused = thaw_unary_as_clamp(&p->activation, &args.min, &args.max);
  for (size_t j = 0; j < p->n; j += THAW_QS8_GEMM_NR) {
    const int8_t *panel = b->panels + j / THAW_QS8_GEMM_NR * b->panel_bytes;
    args.column_scales = b->column_scales + j;
    args.column_sums = b->column_sums + j;
    args.bias = bias != NULL ? bias + j : NULL;
    const size_t nr = min_size(THAW_QS8_GEMM_NR, p->n - j);
    for (size_t i = 0; i < rows; i += isa->mr) {
      args.rows = rows_q + i;
      ukernel(min_size(isa->mr, rows - i), nr, k4, qa + i * k4, k4, panel,
              c + (ptrdiff_t)i * p->c_row_stride + (ptrdiff_t)j, p->c_row_stride, &args);
    }
  }
  if (fused) return;
  for (size_t i = 0; i < rows; i++) {
    float *row = c + (ptrdiff_t)i * p->c_row_stride;
    isa->unary(&p->activation, p->n, row, row);
  }
}

void thaw_qs8_gemm_drive(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                         const float *a, const void *packed_b, const float *bias, float *c,
                         void *scratch) {
  if (p->m == 0 || p->n == 0) return;
  int8_t *qa = scratch;
  thaw_qs8_row_quantization *rows_q =
      (thaw_qs8_row_quantization *)((uint8_t *)scratch + quantized_rows_bytes(p->k));
  thaw_qs8_packed_b b;
  thaw_qs8_packed_b_parts(p->k, p->n, packed_b, &b);
  for (size_t i = 0; i < p->m; i += THAW_QS8_GEMM_BLOCK_ROWS) {
    const size_t rows = min_size(THAW_QS8_GEMM_BLOCK_ROWS, p->m - i);
    quantize_rows(isa, p, rows, a + (ptrdiff_t)i * p->a_row_stride, qa, rows_q);
    multiply_block(isa, p, rows, qa, rows_q, &b, p->has_bias ? bias : NULL,
                   c + (ptrdiff_t)i * p->c_row_stride);
  }
}
