/*
 * --quantize int8 (DESIGN.md §5): the weights of every Conv with one group and every MatMul
 * (Gemm is lowered to it) whose weights are known offline become symmetric per-output-channel
 * int8 (scale = max |w| / 127 per channel), packed with their scales and column sums for the
 * qs8 kernels; the node becomes QS8_CONV or QS8_MATMUL, which quantizes its f32 input at run
 * time (per row, per image for a convolution) and requantizes its output to f32. An embedding
 * table (a constant f32 table of rank >= 2 that a Gather reads on axis 0) becomes int8 with one
 * scale per row, and the node QS8_GATHER: a MiniLM's token table is half its file. Depthwise and
 * grouped convolutions, excluded nodes and everything else stay f32.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

static bool excluded(const thaw_convert_options *options, const char *node_name) {
  for (size_t i = 0; i < options->quantize_exclude_count; i++)
    if (strcmp(options->quantize_exclude[i], node_name) == 0) return true;
  return false;
}

/* Channel j of an f32 matrix with n channels of k values, value t of channel j at
 * w[t * value_stride + j * channel_stride], into q (same indexing) and scales[j]; false when a
 * weight is not finite. A channel of zeros gets scale 1. */
static bool quantize_channels(size_t k, size_t n, const float *w, ptrdiff_t value_stride,
                              ptrdiff_t channel_stride, int8_t *q, float *scales) {
  for (size_t j = 0; j < n; j++) {
    float max = 0.0f;
    for (size_t t = 0; t < k; t++) {
      const float magnitude = fabsf(w[(ptrdiff_t)t * value_stride + (ptrdiff_t)j * channel_stride]);
      if (!isfinite(magnitude)) return false;
      max = magnitude > max ? magnitude : max;
    }
    const float scale = max > 0.0f ? max / 127.0f : 1.0f;
    scales[j] = scale;
    for (size_t t = 0; t < k; t++) {
      const ptrdiff_t at = (ptrdiff_t)t * value_stride + (ptrdiff_t)j * channel_stride;
      const float level = nearbyintf(w[at] / scale);
      q[at] = (int8_t)(level > 127.0f ? 127.0f : (level < -127.0f ? -127.0f : level));
    }
  }
  return true;
}

/* What a quantizable node reads as its weights: [k, n] with the strides of the GEMM's B. */
typedef struct weight_view {
  size_t k, n;
  ptrdiff_t row_stride, column_stride;
} weight_view;

/* True when node's weights can become int8 (constant, f32, plain, within the kernels' k). */
static bool quantizable(const cv_graph *graph, const cv_node *node, weight_view *view) {
  if (node->input_count < 2) return false;
  const cv_value *w = &graph->values[node->inputs[1]];
  if (w->data == NULL || w->dtype != THAW_DTYPE_F32 || w->layout != THAW_LAYOUT_PLAIN) return false;
  if (node->op == THAW_OP_MATMUL && w->rank == 2) {
    /* B [K, N] row-major. */
    *view = (weight_view){(size_t)w->shape[0], (size_t)w->shape[1], (ptrdiff_t)w->shape[1], 1};
  } else if (node->op == THAW_OP_CONV && w->rank == 4 && node->attrs.conv.groups == 1) {
    /* W [M, C, KH, KW]: B(k, m) = W[m][k] with k over (C, KH, KW). */
    const size_t k = (size_t)(w->element_count / (uint64_t)w->shape[0]);
    *view = (weight_view){k, (size_t)w->shape[0], 1, (ptrdiff_t)k};
  } else {
    return false;
  }
  return view->k <= THAW_QS8_GEMM_MAX_K;
}

/* A packed int8 copy of weights `source` as value `*quantized`; false (and no value) when a
 * weight is not finite. */
static thaw_status add_quantized_weights(cv_graph *graph, uint32_t source, const weight_view *view,
                                         uint32_t *quantized, thaw_error *error) {
  *quantized = CV_NONE;
  const size_t count = view->k * view->n;
  const size_t packed_size = thaw_qs8_gemm_packed_b_size(view->k, view->n);
  int8_t *levels = malloc(count ? count : 1);
  float *scales = malloc((view->n ? view->n : 1) * sizeof(float));
  uint8_t *packed = packed_size == SIZE_MAX ? NULL : malloc(packed_size);
  thaw_status status = THAW_OK;
  if (levels == NULL || scales == NULL || packed == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "no memory to quantize \"%s\"",
                            graph->values[source].name);
  } else if (quantize_channels(view->k, view->n, (const float *)graph->values[source].data,
                               view->row_stride, view->column_stride, levels, scales)) {
    thaw_qs8_gemm_pack_b(view->k, view->n, levels, view->row_stride, view->column_stride, scales,
                         packed);
    /* Copied out: adding a value may move graph->values. */
    const cv_value weights = graph->values[source];
    *quantized = cv_add_derived_value(graph, weights.name, "qs8", THAW_DTYPE_I8, weights.rank,
                                      weights.shape);
    if (*quantized == CV_NONE) {
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    } else {
      graph->values[*quantized].data = packed;
      graph->values[*quantized].layout = THAW_LAYOUT_QS8_GEMM_PANEL16;
      packed = NULL;
      graph->report->quantized_f32_bytes += count * sizeof(float);
      graph->report->quantized_int8_bytes += packed_size;
    }
  }
  free(levels);
  free(scales);
  free(packed);
  return status;
}

/* True when node gathers rows of a constant f32 table: k values a row, n rows. */
static bool quantizable_table(const cv_graph *graph, const cv_node *node, weight_view *view) {
  if (node->op != THAW_OP_GATHER || node->attrs.axis.axis != 0) return false;
  const cv_value *table = &graph->values[node->inputs[0]];
  if (table->data == NULL || table->dtype != THAW_DTYPE_F32 || table->layout != THAW_LAYOUT_PLAIN ||
      table->rank < 2 || table->element_count == 0)
    return false;
  const size_t rows = (size_t)table->shape[0];
  const size_t k = (size_t)(table->element_count / (uint64_t)rows);
  *view = (weight_view){k, rows, 1, (ptrdiff_t)k};
  return true;
}

/* An int8 copy of table `source` with its row scales, as values `*quantized` and `*scales`;
 * both CV_NONE when a value is not finite. */
static thaw_status add_quantized_table(cv_graph *graph, uint32_t source, const weight_view *view,
                                       uint32_t *quantized, uint32_t *scales,
                                       thaw_error *error) {
  *quantized = *scales = CV_NONE;
  const size_t count = view->k * view->n;
  int8_t *levels = malloc(count);
  float *row_scales = malloc(view->n * sizeof(float));
  thaw_status status = THAW_OK;
  if (levels == NULL || row_scales == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "no memory to quantize \"%s\"",
                            graph->values[source].name);
  } else if (quantize_channels(view->k, view->n, (const float *)graph->values[source].data,
                               view->row_stride, view->column_stride, levels, row_scales)) {
    /* Copied out: adding a value may move graph->values. */
    const cv_value table = graph->values[source];
    const int64_t rows = (int64_t)view->n;
    *quantized = cv_add_derived_value(graph, table.name, "qs8", THAW_DTYPE_I8, table.rank,
                                      table.shape);
    if (*quantized != CV_NONE) {
      graph->values[*quantized].data = (uint8_t *)levels;
      levels = NULL;
      *scales = cv_add_constant(graph, table.name, THAW_DTYPE_F32, 1, &rows, row_scales);
    }
    if (*scales == CV_NONE) {
      *quantized = CV_NONE;
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    } else {
      graph->report->quantized_f32_bytes += count * sizeof(float);
      graph->report->quantized_int8_bytes += count + view->n * sizeof(float);
    }
  }
  free(levels);
  free(row_scales);
  return status;
}

static void make_quantized_node(cv_node *node) {
  const thaw_qs8_input_attrs dynamic = {THAW_QS8_INPUT_DYNAMIC, 0.0f, 0};
  if (node->op == THAW_OP_MATMUL) {
    const thaw_unary_attrs activation = node->attrs.matmul.activation;
    node->attrs.qs8_matmul = (thaw_qs8_matmul_attrs){dynamic, activation};
    node->op = THAW_OP_QS8_MATMUL;
  } else {
    const thaw_conv_attrs conv = node->attrs.conv;
    node->attrs.qs8_conv = (thaw_qs8_conv_attrs){conv, dynamic};
    node->op = THAW_OP_QS8_CONV;
  }
}

/* A Gather of an embedding table becomes QS8_GATHER reading table_of[table] and
 * scales_of[table], made at its first reader. */
static thaw_status quantize_gather(cv_graph *graph, uint32_t n, const weight_view *view,
                                   uint32_t *table_of, uint32_t *scales_of, thaw_error *error) {
  const uint32_t table = graph->nodes[n].inputs[0];
  thaw_status status = THAW_OK;
  if (table_of[table] == CV_NONE)
    status = add_quantized_table(graph, table, view, &table_of[table], &scales_of[table], error);
  if (status != THAW_OK || table_of[table] == CV_NONE) return status;
  cv_node *node = &graph->nodes[n];
  node->inputs[0] = table_of[table];
  node->inputs[2] = scales_of[table]; /* cv_add_node leaves a spare input slot */
  node->input_count = 3;
  node->op = THAW_OP_QS8_GATHER;
  graph->report->quantized_ops++;
  return THAW_OK;
}

thaw_status cv_quantize(cv_graph *graph, const thaw_convert_options *options, thaw_error *error) {
  /* One int8 copy per weight tensor, however many nodes read it: packed for the products,
   * plain rows with their scales for the gathers (a tied embedding has one of each). */
  const size_t slots = (size_t)graph->value_count + 1;
  uint32_t *quantized_of = malloc(3 * slots * sizeof(uint32_t));
  if (quantized_of == NULL) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  memset(quantized_of, 0xff, 3 * slots * sizeof(uint32_t));
  uint32_t *table_of = quantized_of + slots, *scales_of = table_of + slots;
  thaw_status status = THAW_OK;
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; n++) {
    cv_node *node = &graph->nodes[n];
    weight_view view;
    if (!node->op || excluded(options, node->name)) continue;
    if (quantizable_table(graph, node, &view)) {
      status = quantize_gather(graph, n, &view, table_of, scales_of, error);
      continue;
    }
    if (!quantizable(graph, node, &view)) continue;
    const uint32_t weights = node->inputs[1];
    if (quantized_of[weights] == CV_NONE)
      status = add_quantized_weights(graph, weights, &view, &quantized_of[weights], error);
    if (status != THAW_OK || quantized_of[weights] == CV_NONE) continue;
    node = &graph->nodes[n];
    node->inputs[1] = quantized_of[weights];
    make_quantized_node(node);
    graph->report->quantized_ops++;
  }
  free(quantized_of);
  return status;
}
