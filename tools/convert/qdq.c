/*
 * Pre-quantized ONNX models onto the int8 kernels (DESIGN.md §5). QDQ graphs (ONNX Runtime's
 * quantize_static) and the lowered QLinearConv/QLinearMatMul both reach this pass as
 *
 *     x --QuantizeLinear(s, z)--> q --DequantizeLinear(s, z)--> Conv/MatMul <-- DequantizeLinear
 *                                                                 (constant int8 weights)
 *
 * (for MatMul the weights may pass through the Transpose of a Gemm's transB). With the
 * activation's scale and zero point per tensor and the weights' per tensor or per output
 * channel, the product is a QS8Conv/QS8MatMul with STATIC input quantization that reads x
 * itself: q - z is the kernel's qa - za, and a uint8 q is q - 128 with zero point z - 128,
 * exactly. The weights keep the model's own integers, less their zero point, which must leave
 * them within [-127, 127] (the kernels' range); otherwise the product stays f32. The quantize/
 * dequantize pairs stay as ops for any other reader and are dropped when none is left.
 *
 * Weight dequantizes that fuse into nothing are folded to f32 constants here, with any node
 * they made constant, as lowering would have folded them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

/* The node producing `value` if it is a live `op`, else NULL. */
static const cv_node *producer_of(const cv_graph *graph, uint32_t value, uint32_t op) {
  const uint32_t index = graph->values[value].producer;
  if (index == CV_NONE || graph->nodes[index].op != op) return NULL;
  return &graph->nodes[index];
}

static bool is_constant(const cv_graph *graph, uint32_t value) {
  return value != CV_NONE && graph->values[value].data != NULL;
}

static int32_t integer_at(const cv_value *value, uint64_t i) {
  return value->dtype == THAW_DTYPE_I8 ? (int32_t)(int8_t)value->data[i] : (int32_t)value->data[i];
}

static float float_at(const cv_value *value, uint64_t i) {
  float x;
  memcpy(&x, value->data + i * sizeof x, sizeof x);
  return x;
}

/* A quantize or dequantize node's constant per-tensor parameters; false when they are not. */
static bool per_tensor_parameters(const cv_graph *graph, const cv_node *node, float *scale,
                                  int32_t *zero_point) {
  const uint32_t scale_id = node->inputs[1];
  const uint32_t zero_id = node->input_count > 2 ? node->inputs[2] : CV_NONE;
  if (!is_constant(graph, scale_id) || graph->values[scale_id].element_count != 1) return false;
  if (zero_id != CV_NONE && !is_constant(graph, zero_id)) return false;
  *scale = float_at(&graph->values[scale_id], 0);
  *zero_point = zero_id == CV_NONE ? 0 : integer_at(&graph->values[zero_id], 0);
  return true;
}

/* The f32 tensor a product's input `a` quantizes and dequantizes (QuantizeLinear then
 * DequantizeLinear with the same constant per-tensor parameters), with the STATIC input
 * quantization of the int8 kernels; CV_NONE when `a` is not that. */
static uint32_t static_input(const cv_graph *graph, uint32_t a, thaw_qs8_input_attrs *input) {
  const cv_node *dequantize = producer_of(graph, a, THAW_OP_DEQUANTIZE_LINEAR);
  if (dequantize == NULL) return CV_NONE;
  const uint32_t levels = dequantize->inputs[0];
  const cv_node *quantize = producer_of(graph, levels, THAW_OP_QUANTIZE_LINEAR);
  float scale, quantize_scale;
  int32_t zero_point, quantize_zero_point;
  if (quantize == NULL || !per_tensor_parameters(graph, dequantize, &scale, &zero_point) ||
      !per_tensor_parameters(graph, quantize, &quantize_scale, &quantize_zero_point) ||
      scale != quantize_scale || zero_point != quantize_zero_point) {
    return CV_NONE;
  }
  if (!isfinite(scale) || !(scale > 0.0f) || !isfinite(1.0f / scale)) return CV_NONE;
  /* A u8 level q is the i8 level q - 128 with zero point z - 128. */
  const bool unsigned_levels = graph->values[levels].dtype == THAW_DTYPE_U8;
  *input = (thaw_qs8_input_attrs){THAW_QS8_INPUT_STATIC, scale,
                                  unsigned_levels ? zero_point - 128 : zero_point};
  return quantize->inputs[0];
}

/* Constant integer weights as the [k, n] B operand of a product: B(t, j) is levels[t *
 * row_stride + j * column_stride] less the zero point of column j, scaled by scale j. */
typedef struct int8_weights {
  const cv_value *levels, *scales, *zero_points; /* zero_points may be NULL */
  size_t k, n;
  ptrdiff_t row_stride, column_stride;
} int8_weights;

/* The weights `w` of a Conv (one group) or MatMul, when a DequantizeLinear of constant integers
 * makes them, per tensor or per output channel. */
static bool find_int8_weights(const cv_graph *graph, const cv_node *node, int8_weights *weights) {
  uint32_t w = node->inputs[1];
  bool transposed = false;
  const cv_node *transpose = producer_of(graph, w, THAW_OP_TRANSPOSE);
  if (node->op == THAW_OP_MATMUL && transpose != NULL && graph->values[w].rank == 2) {
    transposed = true;
    w = transpose->inputs[0];
  }
  const cv_node *dequantize = producer_of(graph, w, THAW_OP_DEQUANTIZE_LINEAR);
  if (dequantize == NULL || !is_constant(graph, dequantize->inputs[0]) ||
      !is_constant(graph, dequantize->inputs[1]))
    return false;
  const uint32_t zero_id = dequantize->input_count > 2 ? dequantize->inputs[2] : CV_NONE;
  if (zero_id != CV_NONE && !is_constant(graph, zero_id)) return false;
  const cv_value *levels = &graph->values[dequantize->inputs[0]];
  if (levels->dtype != THAW_DTYPE_I8 && levels->dtype != THAW_DTYPE_U8) return false;
  *weights = (int8_weights){.levels = levels,
                            .scales = &graph->values[dequantize->inputs[1]],
                            .zero_points = zero_id == CV_NONE ? NULL : &graph->values[zero_id]};
  /* The axis of `levels` that holds the output channels. */
  uint32_t channel_axis;
  if (node->op == THAW_OP_CONV && node->attrs.conv.groups == 1 && levels->rank == 4) {
    weights->n = (size_t)levels->shape[0];
    weights->k = (size_t)(levels->element_count / (uint64_t)levels->shape[0]);
    weights->row_stride = 1;
    weights->column_stride = (ptrdiff_t)weights->k;
    channel_axis = 0;
  } else if (node->op == THAW_OP_MATMUL && levels->rank == 2) {
    /* [K, N] as it comes, or [N, K] under a transpose. */
    const size_t rows = (size_t)levels->shape[0], columns = (size_t)levels->shape[1];
    weights->k = transposed ? columns : rows;
    weights->n = transposed ? rows : columns;
    weights->row_stride = transposed ? 1 : (ptrdiff_t)columns;
    weights->column_stride = transposed ? (ptrdiff_t)columns : 1;
    channel_axis = transposed ? 0 : 1;
  } else {
    return false;
  }
  if (weights->scales->element_count != 1 && dequantize->attrs.axis.axis != channel_axis)
    return false;
  return weights->k >= 1 && weights->k <= THAW_QS8_GEMM_MAX_K;
}

/* Pack the weights for the qs8 kernels as value `*packed` (shaped `shape`); *packed is CV_NONE
 * when a level less its zero point leaves [-127, 127] or a scale is not finite and > 0. */
static thaw_status pack_int8_weights(cv_graph *graph, const int8_weights *w, const char *name,
                                     uint32_t rank, const int64_t *shape, uint32_t *packed,
                                     thaw_error *error) {
  *packed = CV_NONE;
  const size_t count = w->k * w->n, packed_size = thaw_qs8_gemm_packed_b_size(w->k, w->n);
  int8_t *levels = malloc(count);
  float *scales = malloc(w->n * sizeof(float));
  uint8_t *bytes = packed_size == SIZE_MAX ? NULL : malloc(packed_size);
  bool representable = levels != NULL && scales != NULL && bytes != NULL;
  for (size_t j = 0; representable && j < w->n; j++) {
    /* A scale or zero point per column, or one for all. */
    scales[j] = float_at(w->scales, w->scales->element_count != 1 ? j : 0);
    const int32_t zero =
        w->zero_points ? integer_at(w->zero_points, w->zero_points->element_count != 1 ? j : 0)
                       : 0;
    representable = isfinite(scales[j]) && scales[j] > 0.0f;
    for (size_t t = 0; representable && t < w->k; t++) {
      const ptrdiff_t at = (ptrdiff_t)t * w->row_stride + (ptrdiff_t)j * w->column_stride;
      const int32_t level = integer_at(w->levels, (uint64_t)at) - zero;
      representable = level >= -127 && level <= 127;
      levels[at] = (int8_t)level;
    }
  }
  thaw_status status = THAW_OK;
  if (levels == NULL || scales == NULL || bytes == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "no memory to pack \"%s\"", name);
  } else if (representable) {
    thaw_qs8_gemm_pack_b(w->k, w->n, levels, w->row_stride, w->column_stride, scales, bytes);
    *packed = cv_add_derived_value(graph, name, "qs8", THAW_DTYPE_I8, rank, shape);
    if (*packed == CV_NONE) {
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    } else {
      graph->values[*packed].data = bytes;
      graph->values[*packed].layout = THAW_LAYOUT_QS8_GEMM_PANEL16;
      bytes = NULL;
      graph->report->quantized_ops++;
      graph->report->quantized_f32_bytes += count * sizeof(float);
      graph->report->quantized_int8_bytes += packed_size;
    }
  }
  free(levels);
  free(scales);
  free(bytes);
  return status;
}

thaw_status cv_pack_integer_weights(cv_graph *graph, uint32_t levels, uint32_t zero_points,
                                    uint32_t scales, uint32_t *packed, thaw_error *error) {
  *packed = CV_NONE;
  const cv_value *b = &graph->values[levels], *s = &graph->values[scales];
  const bool conv = b->rank == 4;
  if ((b->rank != 2 && !conv) || (b->dtype != THAW_DTYPE_I8 && b->dtype != THAW_DTYPE_U8) ||
      !b->data || b->element_count == 0 || !s->data || s->dtype != THAW_DTYPE_F32)
    return THAW_OK;
  /* MatMul: [K, N] as it comes; Conv: B(k, m) = W[m][k], k over (C, kh, kw). */
  const size_t n = (size_t)(conv ? b->shape[0] : b->shape[1]);
  const size_t k = (size_t)(b->element_count / n);
  if (k > THAW_QS8_GEMM_MAX_K) return THAW_OK;
  const cv_value *z = zero_points == CV_NONE ? NULL : &graph->values[zero_points];
  if ((s->element_count != 1 && s->element_count != n) ||
      (z != NULL && (!z->data || z->dtype != b->dtype ||
                     (z->element_count != 1 && z->element_count != n))))
    return THAW_OK;
  const int8_weights weights = {.levels = b, .scales = s, .zero_points = z, .k = k, .n = n,
                                .row_stride = conv ? 1 : (ptrdiff_t)n,
                                .column_stride = conv ? (ptrdiff_t)k : 1};
  /* The qs8 weights' logical shape: the Conv's W, or the MatMul's [K, N]. */
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, b->shape, sizeof(shape));
  return pack_int8_weights(graph, &weights, b->name, b->rank, shape, packed, error);
}

/* Node n as a QS8Conv/QS8MatMul when its input and weights are the QDQ pattern. */
static thaw_status fuse_product(cv_graph *graph, uint32_t n, thaw_error *error) {
  const cv_node *node = &graph->nodes[n];
  thaw_qs8_input_attrs input;
  int8_weights weights;
  const uint32_t x = static_input(graph, node->inputs[0], &input);
  if (x == CV_NONE || !find_int8_weights(graph, node, &weights)) return THAW_OK;
  /* The qs8 weight tensor's logical shape: the Conv's W, or the MatMul's [K, N]. */
  int64_t shape[THAW_MAX_RANK] = {(int64_t)weights.k, (int64_t)weights.n};
  uint32_t rank = 2;
  if (node->op == THAW_OP_CONV) {
    rank = 4;
    memcpy(shape, weights.levels->shape, sizeof shape);
  }
  uint32_t packed;
  thaw_status status = pack_int8_weights(graph, &weights, weights.levels->name, rank, shape,
                                         &packed, error);
  if (status != THAW_OK || packed == CV_NONE) return status;
  cv_node *fused = &graph->nodes[n];
  fused->inputs[0] = x;
  fused->inputs[1] = packed;
  if (fused->op == THAW_OP_MATMUL) {
    const thaw_unary_attrs activation = fused->attrs.matmul.activation;
    fused->attrs.qs8_matmul = (thaw_qs8_matmul_attrs){input, activation};
    fused->op = THAW_OP_QS8_MATMUL;
  } else {
    const thaw_conv_attrs conv = fused->attrs.conv;
    fused->attrs.qs8_conv = (thaw_qs8_conv_attrs){conv, input};
    fused->op = THAW_OP_QS8_CONV;
  }
  return THAW_OK;
}

/* Evaluate every node whose inputs are all constant: the weight dequantizes that fused into
 * nothing, and what they feed (a Gemm's transpose, say). */
static thaw_status fold_constant_nodes(cv_graph *graph, thaw_error *error) {
  for (uint32_t n = 0; n < graph->node_count; n++) {
    cv_node *node = &graph->nodes[n];
    bool constant = node->op != 0;
    for (uint32_t i = 0; constant && i < node->input_count; i++)
      constant = node->inputs[i] == CV_NONE || is_constant(graph, node->inputs[i]);
    if (!constant) continue;
    thaw_status status = cv_fold_node(graph, node, error);
    if (status != THAW_OK) return status;
    node = &graph->nodes[n];
    node->op = 0;
    for (uint32_t o = 0; o < node->output_count; o++)
      graph->values[node->outputs[o]].producer = CV_NONE;
  }
  return THAW_OK;
}

thaw_status cv_fuse_qdq(cv_graph *graph, thaw_error *error) {
  thaw_status status = THAW_OK;
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; n++) {
    const uint32_t op = graph->nodes[n].op;
    if (op == THAW_OP_CONV || op == THAW_OP_MATMUL) status = fuse_product(graph, n, error);
  }
  return status == THAW_OK ? fold_constant_nodes(graph, error) : status;
}
