/*
 * The qs8 GEMM driver shared by every ISA: A is quantized THAW_QS8_GEMM_BLOCK_ROWS rows at a time
 * into scratch, then each 16-column panel of B (k4 x 16 bytes, in L1 for k up to ~2000) meets
 * every row tile of the block (64 rows of k4 bytes, in L2).
 *
 * Threads split C, never k: a task is a range of whole row blocks by a range of column panels,
 * quantizing its blocks into its own thread's scratch slice. Rows are split first; columns too
 * when there are fewer blocks than wanted tasks (a block is then quantized once per column
 * range, work proportional to m * k against the product's m * n * k). Each row's quantization
 * and each tile's product are the same whatever the split, so results are bit-identical for any
 * thread count.
 */
#include <string.h>

#include "kernels/elementwise/unary-clamp.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"
#include "kernels/quantize/quantize-linear.h"

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

/* Multiply `rows` quantized rows by columns [first_column, end_column) of the packed B into C,
 * bias and activation included; first_column is a multiple of 16. */
static void multiply_block(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *p,
                           size_t rows, const int8_t *qa, const thaw_qs8_row_quantization *rows_q,
                           const thaw_qs8_packed_b *b, const float *bias, size_t first_column,
                           size_t end_column, float *c) {
  const size_t k4 = thaw_qs8_round_k(p->k);
  const thaw_qs8_gemm_ukernel_fn ukernel =
      p->input.mode == THAW_QS8_DYNAMIC ? isa->gemm_unsigned7 : isa->gemm_signed;
  thaw_qs8_tile_args args;
  const bool fused = thaw_unary_as_clamp(&p->activation, &args.min, &args.max);
  for (size_t j = first_column; j < end_column; j += THAW_QS8_GEMM_NR) {
    const int8_t *panel = b->panels + j / THAW_QS8_GEMM_NR * b->panel_bytes;
    args.column_scales = b->column_scales + j;
    args.column_sums = b->column_sums + j;
    args.bias = bias != NULL ? bias + j : NULL;
    const size_t nr = min_size(THAW_QS8_GEMM_NR, end_column - j);
    for (size_t i = 0; i < rows; i += isa->mr) {
      args.rows = rows_q + i;
      ukernel(min_size(isa->mr, rows - i), nr, k4, qa + i * k4, k4, panel,
              c + (ptrdiff_t)i * p->c_row_stride + (ptrdiff_t)j, p->c_row_stride, &args);
    }
  }
  if (fused) return;
  for (size_t i = 0; i < rows; i++) {
    float *row = c + (ptrdiff_t)i * p->c_row_stride + (ptrdiff_t)first_column;
    isa->unary(&p->activation, end_column - first_column, row, row);
  }
}

/* What every task of one product shares. */
typedef struct qs8_gemm_run {
  const thaw_qs8_gemm_isa *isa;
  const thaw_qs8_gemm_params *p;
  const float *a, *bias;
  float *c;
  thaw_qs8_packed_b b;
  uint8_t *scratch;
  size_t scratch_stride; /* bytes between the threads' scratch slices */
  size_t blocks_per_task, column_chunks, columns_per_task; /* columns: a multiple of 16 */
} qs8_gemm_run;

static void gemm_task(void *context, size_t thread_index, size_t task_index) {
  const qs8_gemm_run *r = context;
  const thaw_qs8_gemm_params *p = r->p;
  uint8_t *slice = r->scratch + thread_index * r->scratch_stride;
  int8_t *qa = (int8_t *)slice;
  thaw_qs8_row_quantization *rows_q =
      (thaw_qs8_row_quantization *)(slice + quantized_rows_bytes(p->k));
  const size_t first_column = task_index % r->column_chunks * r->columns_per_task;
  const size_t end_column = min_size(first_column + r->columns_per_task, p->n);
  const size_t first_row =
      task_index / r->column_chunks * r->blocks_per_task * THAW_QS8_GEMM_BLOCK_ROWS;
  const size_t end_row =
      min_size(first_row + r->blocks_per_task * THAW_QS8_GEMM_BLOCK_ROWS, p->m);
  for (size_t i = first_row; i < end_row; i += THAW_QS8_GEMM_BLOCK_ROWS) {
    const size_t rows = min_size(THAW_QS8_GEMM_BLOCK_ROWS, end_row - i);
    quantize_rows(r->isa, p, rows, r->a + (ptrdiff_t)i * p->a_row_stride, qa, rows_q);
    multiply_block(r->isa, p, rows, qa, rows_q, &r->b, p->has_bias ? r->bias : NULL,
                   first_column, end_column, r->c + (ptrdiff_t)i * p->c_row_stride);
  }
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

thaw_qs8_input thaw_qs8_whole_tensor_input(const thaw_qs8_gemm_isa *isa, size_t rows,
                                           size_t length, ptrdiff_t row_stride, const float *x) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < rows; i++) {
    float row_min, row_max;
    isa->range(length, x + (ptrdiff_t)i * row_stride, &row_min, &row_max);
    lo = row_min < lo ? row_min : lo;
    hi = row_max > hi ? row_max : hi;
  }
  float scale, zero_point;
  /* Every level is then the zero point and every sum 0, whatever the scale. */
  if (!thaw_dynamic_quantization(lo, hi, &scale, &zero_point) || !isfinite(1.0f / scale))
    return (thaw_qs8_input){THAW_QS8_STATIC, 1.0f, -128};
  return (thaw_qs8_input){THAW_QS8_STATIC, scale, (int32_t)zero_point - 128};
}

void thaw_qs8_gemm_drive(const thaw_qs8_gemm_isa *isa, const thaw_qs8_gemm_params *params,
                         const float *a, const void *packed_b, const float *bias, float *c,
                         void *scratch, const thaw_parallel *parallel) {
  if (params->m == 0 || params->n == 0) return;
  thaw_qs8_gemm_params resolved = *params;
  if (params->input.mode == THAW_QS8_DYNAMIC_TENSOR)
    resolved.input = thaw_qs8_whole_tensor_input(isa, params->m, params->k, params->a_row_stride, a);
  const thaw_qs8_gemm_params *p = &resolved;
  qs8_gemm_run r = {.isa = isa, .p = p, .a = a, .bias = bias, .c = c, .scratch = scratch,
                    .scratch_stride = thaw_scratch_slice_bytes(thaw_qs8_gemm_scratch_size(p))};
  thaw_qs8_packed_b_parts(p->k, p->n, packed_b, &r.b);
  const size_t blocks = ceil_div(p->m, THAW_QS8_GEMM_BLOCK_ROWS);
  const size_t panels = ceil_div(p->n, THAW_QS8_GEMM_NR);
  const size_t tasks = thaw_parallel_task_count(
      parallel, ceil_div(p->m, isa->mr) * panels,
      2.0 * (double)(isa->mr * THAW_QS8_GEMM_NR * p->k));
  const size_t row_chunks = min_size(tasks, blocks);
  r.blocks_per_task = ceil_div(blocks, row_chunks);
  const size_t row_tasks = ceil_div(blocks, r.blocks_per_task);
  r.columns_per_task = ceil_div(panels, min_size(ceil_div(tasks, row_tasks), panels)) *
                       THAW_QS8_GEMM_NR;
  r.column_chunks = ceil_div(p->n, r.columns_per_task);
  parallel->run(parallel, row_tasks * r.column_chunks, gemm_task, &r);
}
