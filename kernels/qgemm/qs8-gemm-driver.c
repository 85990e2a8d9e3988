/*
 * The qs8 GEMM driver shared by every ISA: A is quantized THAW_QS8_GEMM_BLOCK_ROWS rows at a time
 * into scratch, then each 16-column panel of B (k4 x 16 bytes, in L1 for k up to ~2000) meets
 * every row tile of the block (64 rows of k4 bytes, in L2). Blocks of rows are independent, so
 * a thread pool can split them without changing a result.
 */
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

void thaw_qs8_gemm_multiply_block(const thaw_qs8_gemm_isa *isa, size_t rows, size_t n, size_t k,
                                  const int8_t *qa, const thaw_qs8_row_quantization *rows_q,
                                  const thaw_qs8_packed_b *b, const float *bias,
                                  const thaw_unary_params *activation, float *c,
                                  ptrdiff_t c_row_stride) {
  const size_t k4 = thaw_qs8_round_k(k);
  thaw_qs8_tile_args args;
  const bool fused = thaw_unary_as_clamp(activation, &args.min, &args.max);
  for (size_t j = 0; j < n; j += THAW_QS8_GEMM_NR) {
    const int8_t *panel = b->panels + j / THAW_QS8_GEMM_NR * b->panel_bytes;
    args.column_scales = b->column_scales + j;
    args.column_sums = b->column_sums + j;
    args.bias = bias != NULL ? bias + j : NULL;
    const size_t nr = min_size(THAW_QS8_GEMM_NR, n - j);
    for (size_t i = 0; i < rows; i += isa->mr) {
      args.rows = rows_q + i;
      isa->ukernel(min_size(isa->mr, rows - i), nr, k4, qa + i * k4, k4, panel,
                   c + (ptrdiff_t)i * c_row_stride + (ptrdiff_t)j, c_row_stride, &args);
    }
  }
  if (fused) return;
  for (size_t i = 0; i < rows; i++) {
    float *row = c + (ptrdiff_t)i * c_row_stride;
    isa->unary(activation, n, row, row);
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
    isa->quantize_rows(rows, p->k, a + (ptrdiff_t)i * p->a_row_stride, p->a_row_stride,
                       &p->input, qa, thaw_qs8_round_k(p->k), rows_q);
    thaw_qs8_gemm_multiply_block(isa, rows, p->n, p->k, qa, rows_q, &b,
                                 p->has_bias ? bias : NULL, &p->activation,
                                 c + (ptrdiff_t)i * p->c_row_stride, p->c_row_stride);
  }
}
