/*
 * Preparation of the quantized ops (QS8_MATMUL, QS8_CONV; QUANTIZE_LINEAR, DEQUANTIZE_LINEAR and
 * DYNAMIC_QUANTIZE_LINEAR at the end): their shape and dtype contract,
 * and the numbers inside their packed weights that the kernels trust. The reader proved the
 * weight blob's size; this file proves its column scales are usable and its column sums small
 * enough that the int32 zero-point correction cannot overflow (kernels.h, THAW_QS8_GEMM_MAX_K).
 * It reads 8 bytes per output channel at open, never the weights themselves.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/prepare_internal.h"

typedef struct quant_node {
  const thaw_model *model;
  const thaw_prepared_node *node;
  thaw_error *error;
} quant_node;

static const thaw_format_tensor *operand(const quant_node *q, uint32_t i) {
  return &q->model->tensors[q->model->operand_tensors[q->node->first_operand + i]];
}

static thaw_status node_fail(const quant_node *q, thaw_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static thaw_status node_fail(const quant_node *q, thaw_status status, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  const thaw_status result = thaw_node_vfail(q->node, q->error, status, format, arguments);
  va_end(arguments);
  return result;
}

static thaw_status require_f32(const quant_node *q, const thaw_format_tensor *tensor,
                               const char *role) {
  if (tensor->dtype == THAW_DTYPE_F32 && tensor->layout == THAW_LAYOUT_PLAIN) return THAW_OK;
  return node_fail(q, THAW_STATUS_UNSUPPORTED, "%s \"%s\" is %s in layout %s; this op reads f32",
                   role, tensor->name, thaw_dtype_name(tensor->dtype),
                   thaw_layout_name(tensor->layout));
}

static thaw_status require_bias(const quant_node *q, uint64_t n) {
  if (q->node->input_count < 3) return THAW_OK;
  const thaw_format_tensor *bias = operand(q, 2);
  thaw_status status = require_f32(q, bias, "bias");
  if (status != THAW_OK) return status;
  if (bias->rank == 1 && (uint64_t)bias->shape[0] == n) return THAW_OK;
  return node_fail(q, THAW_STATUS_CORRUPT, "bias shape %s does not match %" PRIu64 " columns",
                   thaw_tensor_shape_text(bias).text, n);
}

/* The weights: an i8 constant in the qs8 layout, k within the kernels' limit, every real
 * column's scale finite and > 0 and its sum within what k int8 values in [-127, 127] can add
 * up to. */
static thaw_status check_weights(const quant_node *q, const thaw_format_tensor *w, uint64_t *k,
                                 uint64_t *n) {
  uint64_t size;
  if (w->kind != THAW_TENSOR_CONSTANT || w->dtype != THAW_DTYPE_I8 ||
      w->layout != THAW_LAYOUT_QS8_GEMM_PANEL16 ||
      !thaw_layout_qs8_panel16_size(w->rank, w->shape, k, n, &size)) {
    return node_fail(q, THAW_STATUS_CORRUPT,
                     "weights \"%s\" must be an i8 constant in layout qs8_gemm_panel16, not %s %s "
                     "in layout %s",
                     w->name, thaw_dtype_name(w->dtype), thaw_tensor_shape_text(w).text,
                     thaw_layout_name(w->layout));
  }
  if (*k > THAW_QS8_GEMM_MAX_K) {
    return node_fail(q, THAW_STATUS_UNSUPPORTED,
                     "weights \"%s\": K = %" PRIu64 " exceeds the quantized kernels' limit %d",
                     w->name, *k, THAW_QS8_GEMM_MAX_K);
  }
  const uint8_t *scales = q->model->view.bytes + w->offset;
  const uint8_t *sums = scales + (*n + 15) / 16 * 16 * sizeof(float);
  const int64_t sum_limit = 127 * (int64_t)*k;
  for (uint64_t j = 0; j < *n; j++) {
    float scale;
    int32_t sum;
    memcpy(&scale, scales + j * sizeof scale, sizeof scale);
    memcpy(&sum, sums + j * sizeof sum, sizeof sum);
    if (!isfinite(scale) || !(scale > 0.0f)) {
      return node_fail(q, THAW_STATUS_CORRUPT,
                       "weights \"%s\": column %" PRIu64 " has scale %g, must be finite and > 0",
                       w->name, j, (double)scale);
    }
    if (sum < -sum_limit || sum > sum_limit) {
      return node_fail(q, THAW_STATUS_CORRUPT,
                       "weights \"%s\": column %" PRIu64 " has sum %" PRId32
                       ", outside +-127*K = %" PRId64,
                       w->name, j, sum, sum_limit);
    }
  }
  return THAW_OK;
}

/* The attributes were checked against the op contract when the file was opened. */
static thaw_qs8_input map_input(const thaw_qs8_input_attrs *attrs) {
  thaw_qs8_quantization mode = THAW_QS8_DYNAMIC;
  if (attrs->mode == THAW_QS8_INPUT_STATIC) mode = THAW_QS8_STATIC;
  if (attrs->mode == THAW_QS8_INPUT_DYNAMIC_TENSOR) mode = THAW_QS8_DYNAMIC_TENSOR;
  return (thaw_qs8_input){.mode = mode, .scale = attrs->scale, .zero_point = attrs->zero_point};
}

/* A[..., K] W[K, N] -> Y[..., N]: every leading dim of A is a row of one product. */
thaw_status thaw_prepare_qs8_matmul(thaw_model *model, thaw_prepared_node *node,
                                    const uint8_t *attrs_blob, thaw_error *error) {
  const quant_node q = {model, node, error};
  thaw_qs8_matmul_attrs attrs;
  thaw_op_attrs_decode(THAW_OP_QS8_MATMUL, attrs_blob, &attrs);
  const thaw_format_tensor *a = operand(&q, 0), *w = operand(&q, 1);
  const thaw_format_tensor *y = operand(&q, node->input_count);
  uint64_t k, n;
  thaw_status status = require_f32(&q, a, "input");
  if (status == THAW_OK) status = require_f32(&q, y, "output");
  if (status == THAW_OK) status = check_weights(&q, w, &k, &n);
  if (status == THAW_OK) status = require_bias(&q, n);
  if (status != THAW_OK) return status;
  if (w->rank != 2) {
    return node_fail(&q, THAW_STATUS_CORRUPT, "weights \"%s\" have shape %s, expected [K,N]",
                     w->name, thaw_tensor_shape_text(w).text);
  }
  bool output_fits = y->rank == a->rank && (uint64_t)a->shape[a->rank - 1] == k &&
                     (uint64_t)y->shape[y->rank - 1] == n;
  for (uint32_t d = 0; output_fits && d + 1 < a->rank; d++) output_fits = a->shape[d] == y->shape[d];
  if (!output_fits) {
    return node_fail(&q, THAW_STATUS_CORRUPT,
                     "input %s, weights [K=%" PRIu64 ",N=%" PRIu64 "] and output %s do not match",
                     thaw_tensor_shape_text(a).text, k, n, thaw_tensor_shape_text(y).text);
  }
  /* Both element counts were bounded by the reader, so m * k and m * n fit. */
  const size_t m = (size_t)(a->element_count / k);
  thaw_qs8_gemm_params *params = &node->u.qs8_matmul;
  *params = (thaw_qs8_gemm_params){
      .m = m,
      .n = (size_t)n,
      .k = (size_t)k,
      .a_row_stride = (ptrdiff_t)k,
      .c_row_stride = (ptrdiff_t)n,
      .input = map_input(&attrs.input),
      .has_bias = node->input_count > 2,
  };
  status = thaw_map_unary_attrs(&attrs.activation, &params->activation);
  if (status != THAW_OK) {
    return node_fail(&q, status, "unknown elementwise function %" PRIu32, attrs.activation.func);
  }
  node->scratch_bytes = thaw_qs8_gemm_scratch_size(params);
  return THAW_OK;
}

/* X[N,C,H,W] W[M,C,KH,KW] -> Y[N,M,OH,OW], one group. */
thaw_status thaw_prepare_qs8_conv(thaw_model *model, thaw_prepared_node *node,
                                  const uint8_t *attrs_blob, thaw_error *error) {
  const quant_node q = {model, node, error};
  thaw_qs8_conv_attrs attrs;
  thaw_op_attrs_decode(THAW_OP_QS8_CONV, attrs_blob, &attrs);
  const thaw_format_tensor *x = operand(&q, 0), *w = operand(&q, 1);
  const thaw_format_tensor *y = operand(&q, node->input_count);
  uint64_t k, n;
  thaw_status status = require_f32(&q, x, "input");
  if (status == THAW_OK) status = require_f32(&q, y, "output");
  if (status == THAW_OK) status = check_weights(&q, w, &k, &n);
  if (status == THAW_OK) status = require_bias(&q, n);
  if (status != THAW_OK) return status;
  if (x->rank != 4 || w->rank != 4 || w->shape[1] != x->shape[1]) {
    return node_fail(&q, THAW_STATUS_CORRUPT, "weights %s do not fit input %s",
                     thaw_tensor_shape_text(w).text, thaw_tensor_shape_text(x).text);
  }
  const thaw_conv_attrs *conv = &attrs.conv;
  const uint64_t kernel_h = (uint64_t)w->shape[2], kernel_w = (uint64_t)w->shape[3];
  uint64_t out_h = 0, out_w = 0; /* read into `expected` even when the window does not fit */
  const bool window_fits =
      thaw_sliding_output_size((uint64_t)x->shape[2], conv->pad_top, conv->pad_bottom, kernel_h,
                               conv->stride_h, conv->dilation_h, false, &out_h) &&
      thaw_sliding_output_size((uint64_t)x->shape[3], conv->pad_left, conv->pad_right, kernel_w,
                               conv->stride_w, conv->dilation_w, false, &out_w);
  const int64_t expected[4] = {x->shape[0], (int64_t)n, (int64_t)out_h, (int64_t)out_w};
  bool output_fits = window_fits && y->rank == 4;
  for (uint32_t d = 0; output_fits && d < 4; d++) output_fits = y->shape[d] == expected[d];
  if (!output_fits) {
    return node_fail(&q, THAW_STATUS_CORRUPT,
                     "output %s does not follow from input %s, weights %s, stride %" PRIu32
                     "x%" PRIu32 ", dilation %" PRIu32 "x%" PRIu32 ", pads %" PRIu32 ",%" PRIu32
                     ",%" PRIu32 ",%" PRIu32,
                     thaw_tensor_shape_text(y).text, thaw_tensor_shape_text(x).text,
                     thaw_tensor_shape_text(w).text, conv->stride_h, conv->stride_w,
                     conv->dilation_h, conv->dilation_w, conv->pad_top, conv->pad_left,
                     conv->pad_bottom, conv->pad_right);
  }
  thaw_conv2d_params *params = &node->u.qs8_conv.conv2d;
  *params = (thaw_conv2d_params){
      .batch = (size_t)x->shape[0],
      .in_channels = (size_t)x->shape[1],
      .in_height = (size_t)x->shape[2],
      .in_width = (size_t)x->shape[3],
      .out_channels = (size_t)n,
      .out_height = (size_t)out_h,
      .out_width = (size_t)out_w,
      .kernel_height = (size_t)kernel_h,
      .kernel_width = (size_t)kernel_w,
      .groups = 1,
      .stride_h = conv->stride_h,
      .stride_w = conv->stride_w,
      .dilation_h = conv->dilation_h,
      .dilation_w = conv->dilation_w,
      .pad_top = conv->pad_top,
      .pad_left = conv->pad_left,
  };
  node->u.qs8_conv.input = map_input(&attrs.input);
  status = thaw_map_unary_attrs(&conv->activation, &params->activation);
  if (status != THAW_OK) {
    return node_fail(&q, status, "unknown elementwise function %" PRIu32, conv->activation.func);
  }
  node->scratch_bytes = thaw_qs8_conv2d_scratch_size(params);
  return THAW_OK;
}

/* ---- ONNX linear quantization ---- */

static thaw_status require_dtype_in(const quant_node *q, const thaw_format_tensor *tensor,
                                    const char *role, bool allowed, const char *expected) {
  if (allowed && tensor->layout == THAW_LAYOUT_PLAIN) return THAW_OK;
  return node_fail(q, THAW_STATUS_UNSUPPORTED, "%s \"%s\" is %s in layout %s; expected %s", role,
                   tensor->name, thaw_dtype_name(tensor->dtype), thaw_layout_name(tensor->layout),
                   expected);
}

static bool same_dims(const thaw_format_tensor *a, const thaw_format_tensor *b) {
  if (a->rank != b->rank) return false;
  for (uint32_t d = 0; d < a->rank; d++)
    if (a->shape[d] != b->shape[d]) return false;
  return true;
}

/* Dims [first, last) of `tensor` multiplied; the reader bounded the product of all of them. */
static size_t dims_product(const thaw_format_tensor *tensor, uint32_t first, uint32_t last) {
  size_t product = 1;
  for (uint32_t d = first; d < last; d++) product *= (size_t)tensor->shape[d];
  return product;
}

/* X scale [zero_point] -> Y, Y shaped like X. `quantized` is the integer side (Y of a
 * quantize, X of a dequantize). Scale holds one element, or one per index of X's `axis`. */
thaw_status thaw_prepare_quantize_linear(thaw_model *model, thaw_prepared_node *node,
                                         const uint8_t *attrs_blob, thaw_error *error) {
  const quant_node q = {model, node, error};
  thaw_axis_attrs attrs;
  thaw_op_attrs_decode(node->op, attrs_blob, &attrs);
  const bool quantizes = node->op == THAW_OP_QUANTIZE_LINEAR;
  const thaw_format_tensor *x = operand(&q, 0), *scale = operand(&q, 1);
  const thaw_format_tensor *y = operand(&q, node->input_count);
  const thaw_format_tensor *real = quantizes ? x : y, *quantized = quantizes ? y : x;
  const thaw_dtype integer = quantized->dtype;
  const bool integer_allowed = integer == THAW_DTYPE_I8 || integer == THAW_DTYPE_U8 ||
                               (!quantizes && integer == THAW_DTYPE_I32);
  thaw_status status = require_f32(&q, real, quantizes ? "input" : "output");
  if (status == THAW_OK) status = require_f32(&q, scale, "scale");
  if (status == THAW_OK) {
    status = require_dtype_in(&q, quantized, quantizes ? "output" : "input", integer_allowed,
                              quantizes ? "i8 or u8" : "i8, u8 or i32");
  }
  if (status != THAW_OK) return status;
  if (!same_dims(x, y)) {
    return node_fail(&q, THAW_STATUS_CORRUPT, "output shape %s differs from input shape %s",
                     thaw_tensor_shape_text(y).text, thaw_tensor_shape_text(x).text);
  }
  const bool per_tensor = scale->element_count == 1;
  if (!per_tensor && (scale->rank != 1 || scale->shape[0] != x->shape[attrs.axis])) {
    return node_fail(&q, THAW_STATUS_CORRUPT,
                     "scale shape %s is neither one element nor [%" PRId64 "], input %s's dim "
                     "%" PRIu32,
                     thaw_tensor_shape_text(scale).text, x->shape[attrs.axis],
                     thaw_tensor_shape_text(x).text, attrs.axis);
  }
  if (node->input_count > 2) {
    const thaw_format_tensor *zero_point = operand(&q, 2);
    if (zero_point->dtype != integer || !same_dims(zero_point, scale)) {
      return node_fail(&q, THAW_STATUS_CORRUPT,
                       "zero point \"%s\" is %s %s; it must be %s shaped like scale %s",
                       zero_point->name, thaw_dtype_name(zero_point->dtype),
                       thaw_tensor_shape_text(zero_point).text, thaw_dtype_name(integer),
                       thaw_tensor_shape_text(scale).text);
    }
  }
  node->u.quantize = (thaw_quantize_params){
      .outer = per_tensor ? 1 : dims_product(x, 0, attrs.axis),
      .channels = per_tensor ? 1 : (size_t)x->shape[attrs.axis],
      .inner = per_tensor ? (size_t)x->element_count : dims_product(x, attrs.axis + 1, x->rank),
      .quantized = integer,
  };
  return THAW_OK;
}

/* X(f32) -> Y(u8, X's shape) scale(f32, one element) zero_point(u8, one element). */
thaw_status thaw_prepare_dynamic_quantize_linear(thaw_model *model, thaw_prepared_node *node,
                                                 thaw_error *error) {
  const quant_node q = {model, node, error};
  const thaw_format_tensor *x = operand(&q, 0), *y = operand(&q, 1);
  const thaw_format_tensor *scale = operand(&q, 2), *zero_point = operand(&q, 3);
  thaw_status status = require_f32(&q, x, "input");
  if (status == THAW_OK) status = require_f32(&q, scale, "scale");
  if (status == THAW_OK) {
    status = require_dtype_in(&q, y, "output", y->dtype == THAW_DTYPE_U8, "u8");
  }
  if (status == THAW_OK) {
    status = require_dtype_in(&q, zero_point, "zero point", zero_point->dtype == THAW_DTYPE_U8,
                              "u8");
  }
  if (status != THAW_OK) return status;
  if (!same_dims(x, y) || scale->element_count != 1 || zero_point->element_count != 1) {
    return node_fail(&q, THAW_STATUS_CORRUPT,
                     "outputs %s, %s and %s must be shaped like input %s, then one element each",
                     thaw_tensor_shape_text(y).text, thaw_tensor_shape_text(scale).text,
                     thaw_tensor_shape_text(zero_point).text, thaw_tensor_shape_text(x).text);
  }
  node->u.dynamic_quantize_count = (size_t)x->element_count;
  return THAW_OK;
}
