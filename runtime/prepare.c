/*
 * Per-node preparation: the shape and dtype contract of every op, checked against the tensor
 * directory, and the kernel parameters derived from it. This is the security boundary of
 * DESIGN §3 for execution: thaw_format_open proved every tensor lies inside its memory; this
 * file proves each kernel, run with the parameters made here, touches only its own tensors.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/model.h"
#include "runtime/prepare_internal.h"

typedef struct preparation {
  thaw_model *model;
  thaw_prepared_node *node;
  const uint8_t *attrs; /* thaw_op_attrs_size(node->op) bytes inside the file */
  thaw_error *error;
} preparation;

static const thaw_format_tensor *input_tensor(const preparation *p, uint32_t i) {
  return &p->model->tensors[p->model->operand_tensors[p->node->first_operand + i]];
}

static const thaw_format_tensor *output_tensor(const preparation *p, uint32_t i) {
  return input_tensor(p, p->node->input_count + i);
}

static thaw_status node_fail(const preparation *p, thaw_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

thaw_status thaw_node_vfail(const thaw_prepared_node *node, thaw_error *error, thaw_status status,
                            const char *format, va_list arguments) {
  char detail[sizeof(((thaw_error *)0)->message)];
  vsnprintf(detail, sizeof detail, format, arguments);
  return thaw_error_set(error, status, "node \"%s\" (%s): %s", node->name,
                        thaw_op_name(node->op), detail);
}

static thaw_status node_fail(const preparation *p, thaw_status status, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  const thaw_status result = thaw_node_vfail(p->node, p->error, status, format, arguments);
  va_end(arguments);
  return result;
}

typedef thaw_shape_text shape_text;

static shape_text format_dims(uint32_t rank, const int64_t *dims) {
  shape_text result;
  thaw_dims_text(result.text, sizeof result.text, rank, dims);
  return result;
}

static shape_text format_shape(const thaw_format_tensor *tensor) {
  return format_dims(tensor->rank, tensor->shape);
}

thaw_shape_text thaw_tensor_shape_text(const thaw_format_tensor *tensor) {
  return format_shape(tensor);
}

static bool dims_equal(uint32_t rank_a, const int64_t *a, uint32_t rank_b, const int64_t *b) {
  if (rank_a != rank_b) return false;
  for (uint32_t d = 0; d < rank_a; d++) {
    if (a[d] != b[d]) return false;
  }
  return true;
}

static bool same_shape(const thaw_format_tensor *a, const thaw_format_tensor *b) {
  return dims_equal(a->rank, a->shape, b->rank, b->shape);
}

/* Product of dims [first, last). It never overflows: the format checked that the product of
 * all dims (each >= 1) fits. */
static size_t dims_product(const thaw_format_tensor *tensor, uint32_t first, uint32_t last) {
  size_t product = 1;
  for (uint32_t d = first; d < last; d++) product *= (size_t)tensor->shape[d];
  return product;
}

/* ---- Checks shared by the ops ---- */

static thaw_status require_dtype(const preparation *p, const thaw_format_tensor *tensor,
                                 const char *role, thaw_dtype dtype) {
  if (tensor->dtype == dtype) return THAW_OK;
  return node_fail(p, THAW_STATUS_UNSUPPORTED, "%s \"%s\" is %s; this op runs on %s only", role,
                   tensor->name, thaw_dtype_name(tensor->dtype), thaw_dtype_name(dtype));
}

static thaw_status require_f32(const preparation *p, uint32_t count,
                               const thaw_format_tensor *const *tensors, const char *const *roles) {
  for (uint32_t i = 0; i < count; i++) {
    thaw_status status = require_dtype(p, tensors[i], roles[i], THAW_DTYPE_F32);
    if (status != THAW_OK) return status;
  }
  return THAW_OK;
}

static thaw_status require_rank(const preparation *p, const thaw_format_tensor *tensor,
                                const char *role, uint32_t rank) {
  if (tensor->rank == rank) return THAW_OK;
  return node_fail(p, THAW_STATUS_CORRUPT,
                   "%s \"%s\" has rank %" PRIu32 " (shape %s), expected %" PRIu32, role,
                   tensor->name, tensor->rank, format_shape(tensor).text, rank);
}

static thaw_status require_same_shape(const preparation *p, const thaw_format_tensor *tensor,
                                      const char *role, const thaw_format_tensor *reference,
                                      const char *reference_role) {
  if (same_shape(tensor, reference)) return THAW_OK;
  return node_fail(p, THAW_STATUS_CORRUPT, "%s shape %s does not match %s shape %s", role,
                   format_shape(tensor).text, reference_role, format_shape(reference).text);
}

/* Data-movement ops keep the dtype; a mismatch means the file is inconsistent. */
static thaw_status require_same_dtype(const preparation *p, const thaw_format_tensor *tensor,
                                      const char *role, const thaw_format_tensor *reference,
                                      const char *reference_role) {
  if (tensor->dtype == reference->dtype) return THAW_OK;
  return node_fail(p, THAW_STATUS_CORRUPT, "%s dtype %s does not match %s dtype %s", role,
                   thaw_dtype_name(tensor->dtype), reference_role,
                   thaw_dtype_name(reference->dtype));
}

static thaw_status require_axis(const preparation *p, uint32_t axis,
                                const thaw_format_tensor *tensor) {
  if (axis < tensor->rank) return THAW_OK;
  return node_fail(p, THAW_STATUS_CORRUPT, "axis %" PRIu32 " is outside input shape %s", axis,
                   format_shape(tensor).text);
}

thaw_status thaw_map_unary_attrs(const thaw_unary_attrs *attrs, thaw_unary_params *params) {
  static const thaw_kernel_unary kernel_funcs[THAW_UNARY_FUNC_MAX + 1] = {
      [THAW_UNARY_IDENTITY] = THAW_KERNEL_IDENTITY,
      [THAW_UNARY_RELU] = THAW_KERNEL_RELU,
      [THAW_UNARY_CLIP] = THAW_KERNEL_CLIP,
      [THAW_UNARY_SIGMOID] = THAW_KERNEL_SIGMOID,
      [THAW_UNARY_HARD_SIGMOID] = THAW_KERNEL_HARD_SIGMOID,
      [THAW_UNARY_HARD_SWISH] = THAW_KERNEL_HARD_SWISH,
      [THAW_UNARY_TANH] = THAW_KERNEL_TANH,
      [THAW_UNARY_ERF] = THAW_KERNEL_ERF,
      [THAW_UNARY_GELU] = THAW_KERNEL_GELU,
      [THAW_UNARY_SILU] = THAW_KERNEL_SILU,
      [THAW_UNARY_LEAKY_RELU] = THAW_KERNEL_LEAKY_RELU,
      [THAW_UNARY_SQRT] = THAW_KERNEL_SQRT,
      [THAW_UNARY_EXP] = THAW_KERNEL_EXP,
      [THAW_UNARY_NEG] = THAW_KERNEL_NEG,
      [THAW_UNARY_ABS] = THAW_KERNEL_ABS,
      [THAW_UNARY_RECIPROCAL] = THAW_KERNEL_RECIPROCAL,
      [THAW_UNARY_LOG] = THAW_KERNEL_LOG,
  };
  if (attrs->func > THAW_UNARY_FUNC_MAX) return THAW_STATUS_UNSUPPORTED;
  params->func = kernel_funcs[attrs->func];
  params->alpha = attrs->alpha;
  params->beta = attrs->beta;
  return THAW_OK;
}

static thaw_status map_unary(const preparation *p, const thaw_unary_attrs *attrs,
                             thaw_unary_params *params) {
  if (thaw_map_unary_attrs(attrs, params) == THAW_OK) return THAW_OK;
  return node_fail(p, THAW_STATUS_UNSUPPORTED, "unknown elementwise function %" PRIu32,
                   attrs->func);
}

static thaw_status map_binary(const preparation *p, uint32_t func, thaw_kernel_binary *kernel) {
  static const thaw_kernel_binary kernel_funcs[THAW_BINARY_FUNC_MAX + 1] = {
      [THAW_BINARY_ADD] = THAW_KERNEL_ADD, [THAW_BINARY_SUB] = THAW_KERNEL_SUB,
      [THAW_BINARY_MUL] = THAW_KERNEL_MUL, [THAW_BINARY_DIV] = THAW_KERNEL_DIV,
      [THAW_BINARY_POW] = THAW_KERNEL_POW, [THAW_BINARY_MAX] = THAW_KERNEL_MAX,
      [THAW_BINARY_MIN] = THAW_KERNEL_MIN,
  };
  if (func < THAW_BINARY_ADD || func > THAW_BINARY_FUNC_MAX) {
    return node_fail(p, THAW_STATUS_UNSUPPORTED, "unknown binary function %" PRIu32, func);
  }
  *kernel = kernel_funcs[func];
  return THAW_OK;
}

/* ---- Broadcasting ---- */

/* The NumPy broadcast of `count` shapes (right-aligned; equal dims or 1), or false. */
static bool broadcast_shape(const thaw_format_tensor *const *operands, uint32_t count,
                            uint32_t *rank, int64_t *dims) {
  *rank = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (operands[i]->rank > *rank) *rank = operands[i]->rank;
  }
  for (uint32_t d = 0; d < *rank; d++) dims[d] = 1;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t offset = *rank - operands[i]->rank;
    for (uint32_t d = 0; d < operands[i]->rank; d++) {
      const int64_t dim = operands[i]->shape[d];
      if (dim == dims[offset + d] || dim == 1) continue;
      if (dims[offset + d] != 1) return false;
      dims[offset + d] = dim;
    }
  }
  return true;
}

/* Drop size-1 axes and merge neighbours every operand walks contiguously, so the kernel's
 * loop nest is as shallow as the data allows. */
static void simplify_iteration(thaw_broadcast *iter, uint32_t operand_count) {
  uint32_t rank = 0;
  for (uint32_t d = 0; d < iter->rank; d++) {
    if (iter->shape[d] == 1) continue;
    bool mergeable = rank > 0;
    for (uint32_t i = 0; mergeable && i < operand_count; i++) {
      mergeable = iter->strides[i][rank - 1] == iter->strides[i][d] * (ptrdiff_t)iter->shape[d];
    }
    if (mergeable) {
      iter->shape[rank - 1] *= iter->shape[d];
      for (uint32_t i = 0; i < operand_count; i++) iter->strides[i][rank - 1] = iter->strides[i][d];
      continue;
    }
    iter->shape[rank] = iter->shape[d];
    for (uint32_t i = 0; i < operand_count; i++) iter->strides[i][rank] = iter->strides[i][d];
    rank++;
  }
  if (rank == 0) {
    iter->shape[0] = 1;
    for (uint32_t i = 0; i < operand_count; i++) iter->strides[i][0] = 0;
    rank = 1;
  }
  iter->rank = rank;
}

/* An iteration over `output` reading each operand through element strides (0 on the axes it
 * is broadcast along), or false when an operand does not broadcast to the output's shape. */
static bool broadcast_to(const thaw_format_tensor *output,
                         const thaw_format_tensor *const *operands, uint32_t count,
                         thaw_broadcast *iter) {
  memset(iter, 0, sizeof *iter);
  iter->rank = output->rank;
  for (uint32_t d = 0; d < output->rank; d++) iter->shape[d] = (size_t)output->shape[d];
  for (uint32_t i = 0; i < count; i++) {
    if (operands[i]->rank > output->rank) return false;
    const uint32_t offset = output->rank - operands[i]->rank;
    ptrdiff_t stride = 1;
    for (uint32_t d = output->rank; d-- > offset;) {
      const int64_t dim = operands[i]->shape[d - offset];
      if (dim == output->shape[d]) {
        iter->strides[i][d] = stride;
      } else if (dim != 1) {
        return false;
      }
      stride *= (ptrdiff_t)dim;
    }
  }
  simplify_iteration(iter, count);
  return true;
}

/* The output of an elementwise op must have exactly the broadcast shape of its inputs. */
static thaw_status prepare_broadcast(const preparation *p, const thaw_format_tensor *const *inputs,
                                     uint32_t count, const thaw_format_tensor *output,
                                     thaw_broadcast *iter) {
  uint32_t rank;
  int64_t dims[THAW_MAX_RANK];
  if (!broadcast_shape(inputs, count, &rank, dims)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "input shapes %s and %s%s%s do not broadcast",
                     format_shape(inputs[0]).text, format_shape(inputs[1]).text,
                     count > 2 ? " and " : "", count > 2 ? format_shape(inputs[2]).text : "");
  }
  if (!dims_equal(rank, dims, output->rank, output->shape)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "output shape %s does not match broadcast shape %s",
                     format_shape(output).text, format_dims(rank, dims).text);
  }
  /* Cannot fail now: every input broadcasts to the shape just checked. */
  broadcast_to(output, inputs, count, iter);
  return THAW_OK;
}

/* ---- Ops ---- */

static thaw_status prepare_unary(const preparation *p) {
  thaw_unary_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status == THAW_OK) status = require_same_shape(p, y, "output", x, "input");
  if (status == THAW_OK) status = map_unary(p, &attrs, &p->node->u.unary.params);
  p->node->u.unary.count = (size_t)x->element_count;
  return status;
}

static thaw_status prepare_binary(const preparation *p) {
  thaw_binary_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *inputs[2] = {input_tensor(p, 0), input_tensor(p, 1)};
  const thaw_format_tensor *y = output_tensor(p, 0);
  thaw_binary_params *params = &p->node->u.binary;
  thaw_status status = require_f32(p, 3, (const thaw_format_tensor *[]){inputs[0], inputs[1], y},
                                   (const char *[]){"input A", "input B", "output"});
  if (status == THAW_OK) status = map_binary(p, attrs.func, &params->func);
  if (status == THAW_OK) status = prepare_broadcast(p, inputs, 2, y, &params->iter);
  return status;
}

static thaw_status prepare_where(const preparation *p) {
  const thaw_format_tensor *inputs[3] = {input_tensor(p, 0), input_tensor(p, 1),
                                         input_tensor(p, 2)};
  const thaw_format_tensor *z = output_tensor(p, 0);
  thaw_status status = require_dtype(p, inputs[0], "condition", THAW_DTYPE_BOOL);
  if (status == THAW_OK) status = require_same_dtype(p, inputs[2], "input Y", inputs[1], "input X");
  if (status == THAW_OK) status = require_same_dtype(p, z, "output", inputs[1], "input X");
  if (status == THAW_OK) status = prepare_broadcast(p, inputs, 3, z, &p->node->u.where.iter);
  p->node->u.where.element_size = thaw_dtype_size(z->dtype);
  return status;
}

static thaw_status prepare_expand(const preparation *p) {
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status = require_same_dtype(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  if (!broadcast_to(y, &x, 1, &p->node->u.strided_copy.params.iter)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "input shape %s does not broadcast to output shape %s",
                     format_shape(x).text, format_shape(y).text);
  }
  p->node->u.strided_copy.params.element_size = thaw_dtype_size(x->dtype);
  p->node->u.strided_copy.input_byte_offset = 0;
  return THAW_OK;
}

bool thaw_sliding_output_size(uint64_t input, uint64_t pad_begin, uint64_t pad_end,
                              uint64_t kernel, uint64_t stride, uint64_t dilation, bool ceil_mode,
                              uint64_t *output) {
  uint64_t span, padded;
  if (kernel == 0 || stride == 0 || dilation == 0) return false;
  if (__builtin_mul_overflow(dilation, kernel - 1, &span) ||
      __builtin_add_overflow(span, 1, &span)) {
    return false;
  }
  if (__builtin_add_overflow(input, pad_begin, &padded) ||
      __builtin_add_overflow(padded, pad_end, &padded) || padded < span) {
    return false;
  }
  uint64_t steps = (padded - span) / stride;
  if (ceil_mode && (padded - span) % stride != 0) {
    steps++;
    if (steps * stride >= input + pad_begin) steps--;
  }
  *output = steps + 1;
  return true;
}

/* ConvTranspose: stride*(input-1) + output_padding + dilation*(kernel-1) + 1 - pads. */
static bool transposed_output_size(uint64_t input, uint64_t pad_begin, uint64_t pad_end,
                                   uint64_t kernel, uint64_t stride, uint64_t dilation,
                                   uint64_t output_padding, uint64_t *output) {
  uint64_t size, span;
  if (kernel == 0 || stride == 0 || dilation == 0) return false;
  if (__builtin_mul_overflow(stride, input - 1, &size) ||
      __builtin_mul_overflow(dilation, kernel - 1, &span) ||
      __builtin_add_overflow(size, span, &size) ||
      __builtin_add_overflow(size, output_padding + 1, &size)) {
    return false;
  }
  const uint64_t pads = pad_begin + pad_end;
  if (size <= pads) return false;
  *output = size - pads;
  return true;
}

static thaw_status prepare_conv(const preparation *p) {
  thaw_conv_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const bool transposed = p->node->op == THAW_OP_CONV_TRANSPOSE;
  const thaw_format_tensor *x = input_tensor(p, 0), *w = input_tensor(p, 1);
  const thaw_format_tensor *bias = p->node->input_count > 2 ? input_tensor(p, 2) : NULL;
  const thaw_format_tensor *y = output_tensor(p, 0);

  thaw_status status = require_f32(p, 3, (const thaw_format_tensor *[]){x, w, y},
                                   (const char *[]){"input", "weight", "output"});
  if (status == THAW_OK && bias != NULL) status = require_dtype(p, bias, "bias", THAW_DTYPE_F32);
  if (status == THAW_OK) status = require_rank(p, x, "input", 4);
  if (status == THAW_OK) status = require_rank(p, w, "weight", 4);
  if (status != THAW_OK) return status;

  const uint64_t groups = attrs.groups;
  const uint64_t in_channels = (uint64_t)x->shape[1];
  /* Conv weights are [M, C/g, kh, kw]; ConvTranspose weights are [C, M/g, kh, kw]. */
  const uint64_t out_channels = transposed ? (uint64_t)w->shape[1] * groups : (uint64_t)w->shape[0];
  const bool grouping_fits = groups != 0 && in_channels % groups == 0 && out_channels % groups == 0;
  const bool weight_fits =
      grouping_fits && (transposed ? (uint64_t)w->shape[0] == in_channels
                                   : (uint64_t)w->shape[1] == in_channels / groups);
  if (!weight_fits) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "weight shape %s does not fit input %s with %" PRIu64 " groups",
                     format_shape(w).text, format_shape(x).text, groups);
  }

  const uint64_t kernel_h = (uint64_t)w->shape[2], kernel_w = (uint64_t)w->shape[3];
  uint64_t out_h, out_w;
  bool fits;
  if (transposed) {
    fits =
        transposed_output_size((uint64_t)x->shape[2], attrs.pad_top, attrs.pad_bottom, kernel_h,
                               attrs.stride_h, attrs.dilation_h, attrs.output_padding_h, &out_h) &&
        transposed_output_size((uint64_t)x->shape[3], attrs.pad_left, attrs.pad_right, kernel_w,
                               attrs.stride_w, attrs.dilation_w, attrs.output_padding_w, &out_w);
  } else {
    fits = thaw_sliding_output_size((uint64_t)x->shape[2], attrs.pad_top, attrs.pad_bottom,
                                    kernel_h, attrs.stride_h, attrs.dilation_h, false, &out_h) &&
           thaw_sliding_output_size((uint64_t)x->shape[3], attrs.pad_left, attrs.pad_right,
                                    kernel_w, attrs.stride_w, attrs.dilation_w, false, &out_w);
  }
  if (!fits) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "kernel %" PRIu64 "x%" PRIu64 " (dilation %" PRIu32 "x%" PRIu32
                     ", stride %" PRIu32 "x%" PRIu32
                     ") does not fit input %s with pads "
                     "%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32,
                     kernel_h, kernel_w, attrs.dilation_h, attrs.dilation_w, attrs.stride_h,
                     attrs.stride_w, format_shape(x).text, attrs.pad_top, attrs.pad_left,
                     attrs.pad_bottom, attrs.pad_right);
  }
  const int64_t expected[4] = {x->shape[0], (int64_t)out_channels, (int64_t)out_h, (int64_t)out_w};
  if (!dims_equal(y->rank, y->shape, 4, expected)) {
    char stride[32];
    if (attrs.stride_h == attrs.stride_w) {
      snprintf(stride, sizeof stride, "%" PRIu32, attrs.stride_h);
    } else {
      snprintf(stride, sizeof stride, "%" PRIu32 "x%" PRIu32, attrs.stride_h, attrs.stride_w);
    }
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "output shape %s does not match %s computed from input %s, kernel %" PRIu64
                     "x%" PRIu64 ", stride %s, pads %" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32,
                     format_shape(y).text, format_dims(4, expected).text, format_shape(x).text,
                     kernel_h, kernel_w, stride, attrs.pad_top, attrs.pad_left, attrs.pad_bottom,
                     attrs.pad_right);
  }
  if (bias != NULL && !dims_equal(bias->rank, bias->shape, 1, &expected[1])) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "bias shape %s does not match %" PRIu64 " output channels",
                     format_shape(bias).text, out_channels);
  }

  thaw_conv2d_params *params = &p->node->u.conv2d;
  *params = (thaw_conv2d_params){
      .batch = (size_t)x->shape[0],
      .in_channels = (size_t)in_channels,
      .in_height = (size_t)x->shape[2],
      .in_width = (size_t)x->shape[3],
      .out_channels = (size_t)out_channels,
      .out_height = (size_t)out_h,
      .out_width = (size_t)out_w,
      .kernel_height = (size_t)kernel_h,
      .kernel_width = (size_t)kernel_w,
      .groups = (size_t)groups,
      .stride_h = attrs.stride_h,
      .stride_w = attrs.stride_w,
      .dilation_h = attrs.dilation_h,
      .dilation_w = attrs.dilation_w,
      .pad_top = attrs.pad_top,
      .pad_left = attrs.pad_left,
  };
  status = map_unary(p, &attrs.activation, &params->activation);
  if (!transposed) p->node->scratch_bytes = p->model->kernels->f32_conv2d_scratch_size(params);
  return status;
}

/* An operand of a matrix product as the product reads it: `rank` dims, the last two the matrix
 * (rows, columns) and the others batch dims; dim d has shape[d] elements stride[d] elements
 * apart in the stored tensor. */
typedef struct matrix_view {
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  ptrdiff_t stride[THAW_MAX_RANK];
} matrix_view;

/* `tensor` read through Transpose(tensor, perm): dim d is the tensor's dim perm[d]. The
 * strides are partial products of the dims, which the format checked fit. */
static matrix_view permuted_view(const thaw_format_tensor *tensor, const uint32_t *perm) {
  ptrdiff_t stored_stride[THAW_MAX_RANK];
  ptrdiff_t running = 1;
  for (uint32_t d = tensor->rank; d-- > 0;) {
    stored_stride[d] = running;
    running *= (ptrdiff_t)tensor->shape[d];
  }
  matrix_view view = {.rank = tensor->rank};
  for (uint32_t d = 0; d < tensor->rank; d++) {
    view.shape[d] = tensor->shape[perm[d]];
    view.stride[d] = stored_stride[perm[d]];
  }
  return view;
}

static const uint32_t kIdentityPerm[THAW_MAX_RANK] = {0, 1, 2, 3, 4, 5, 6, 7};

/* A MatMul operand as stored; numpy.matmul reads a rank-1 A as a row [1, K] and a rank-1 B
 * as a column [K, 1]. */
static matrix_view plain_view(const thaw_format_tensor *tensor, bool is_b) {
  if (tensor->rank >= 2) return permuted_view(tensor, kIdentityPerm);
  const int64_t k = tensor->shape[0];
  if (is_b) return (matrix_view){.rank = 2, .shape = {k, 1}, .stride = {1, 1}};
  return (matrix_view){.rank = 2, .shape = {1, k}, .stride = {(ptrdiff_t)k, 1}};
}

/* Where a PermutedMatMul writes: the product's dims (batch..., M, N) at the strides of Y's
 * dims they become, and the single step between consecutive batches the executor walks Y by
 * (the batch dims above 1 must be evenly strided, FORMAT.md). */
static thaw_status permuted_output(const preparation *p, const thaw_format_tensor *y,
                                   const uint32_t *y_perm, uint32_t rank,
                                   const int64_t *product_dims, thaw_matmul_plan *plan) {
  if (y->rank != rank) {
    return node_fail(p, THAW_STATUS_CORRUPT, "output %s does not have the operands' rank %" PRIu32,
                     format_shape(y).text, rank);
  }
  const matrix_view y_view = permuted_view(y, y_perm);
  if (!dims_equal(rank, y_view.shape, rank, product_dims)) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "output shape %s, transposed back, is %s; the product is %s",
                     format_shape(y).text, format_dims(rank, y_view.shape).text,
                     format_dims(rank, product_dims).text);
  }
  ptrdiff_t batch_step = 0, expected_stride = 0;
  for (uint32_t d = rank - 2; d-- > 0;) {
    if (product_dims[d] == 1) continue;
    if (batch_step == 0) batch_step = expected_stride = y_view.stride[d];
    if (y_view.stride[d] != expected_stride) {
      return node_fail(p, THAW_STATUS_UNSUPPORTED,
                       "output %s: its batch dims are not evenly strided after y_perm",
                       format_shape(y).text);
    }
    expected_stride *= (ptrdiff_t)product_dims[d];
  }
  plan->y_batch_stride = (size_t)batch_step;
  plan->gemm.c_row_stride = y_view.stride[rank - 2];
  return THAW_OK;
}

/* numpy.matmul: A[...,M,K]·B[...,K,N] with broadcast batch dims, and a rank-1 A or B dropping
 * its unit dim from the result (MatMul), or the same with A, B and Y read and written through
 * transposes (PermutedMatMul). A MatMul's B may be a GEMM-packed [K,N] constant (the reader
 * checked its rank and size). */
static thaw_status prepare_matmul(const preparation *p) {
  const bool permuted = p->node->op == THAW_OP_PERMUTED_MATMUL;
  thaw_permuted_matmul_attrs attrs;
  memset(&attrs, 0, sizeof attrs);
  memcpy(&attrs, p->attrs, thaw_op_attrs_size(p->node->op));
  const thaw_format_tensor *a = input_tensor(p, 0), *b = input_tensor(p, 1);
  const thaw_format_tensor *bias = p->node->input_count > 2 ? input_tensor(p, 2) : NULL;
  const thaw_format_tensor *y = output_tensor(p, 0);
  thaw_status status = require_f32(p, 3, (const thaw_format_tensor *[]){a, b, y},
                                   (const char *[]){"input A", "input B", "output"});
  if (status == THAW_OK && bias != NULL) status = require_dtype(p, bias, "bias", THAW_DTYPE_F32);
  if (status == THAW_OK && permuted && b->rank != a->rank) {
    status = node_fail(p, THAW_STATUS_CORRUPT, "A %s and B %s differ in rank",
                       format_shape(a).text, format_shape(b).text);
  }
  if (status != THAW_OK) return status;

  const matrix_view a_view = permuted ? permuted_view(a, attrs.a_perm) : plain_view(a, false);
  const matrix_view b_view = permuted ? permuted_view(b, attrs.b_perm) : plain_view(b, true);
  const int64_t m = a_view.shape[a_view.rank - 2], k = a_view.shape[a_view.rank - 1];
  const int64_t b_k = b_view.shape[b_view.rank - 2], n = b_view.shape[b_view.rank - 1];
  if (k != b_k) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "inner dims of A %s and B %s differ: %" PRId64 " vs %" PRId64,
                     format_shape(a).text, format_shape(b).text, k, b_k);
  }

  const uint32_t a_batch_rank = a_view.rank - 2, b_batch_rank = b_view.rank - 2;
  const uint32_t batch_rank = a_batch_rank > b_batch_rank ? a_batch_rank : b_batch_rank;
  thaw_matmul_plan *plan = &p->node->u.matmul;
  memset(plan, 0, sizeof *plan);
  int64_t product_dims[THAW_MAX_RANK + 2];
  size_t batch_count = 1;
  bool b_shared = true; /* every batch index reads the same B */
  for (uint32_t d = 0; d < batch_rank; d++) {
    const uint32_t a_d = d + a_batch_rank - batch_rank, b_d = d + b_batch_rank - batch_rank;
    const bool a_has = d + a_batch_rank >= batch_rank, b_has = d + b_batch_rank >= batch_rank;
    const int64_t a_dim = a_has ? a_view.shape[a_d] : 1, b_dim = b_has ? b_view.shape[b_d] : 1;
    if (a_dim != b_dim && a_dim != 1 && b_dim != 1) {
      return node_fail(p, THAW_STATUS_CORRUPT, "batch dims of A %s and B %s do not broadcast",
                       format_shape(a).text, format_shape(b).text);
    }
    const int64_t dim = a_dim == 1 ? b_dim : a_dim;
    product_dims[d] = dim;
    plan->batch_shape[d] = (size_t)dim;
    plan->a_batch_stride[d] = a_dim == 1 ? 0 : a_view.stride[a_d];
    plan->b_batch_stride[d] = b_dim == 1 ? 0 : b_view.stride[b_d];
    b_shared = b_shared && b_dim == 1;
    batch_count *= (size_t)dim;
  }
  product_dims[batch_rank] = m;
  product_dims[batch_rank + 1] = n;
  /* A PermutedMatMul's bias may keep leading unit dims: an attention mask [1, 1, 1, N]. */
  const bool bias_fits =
      bias == NULL || (bias->shape[bias->rank - 1] == n &&
                       (permuted ? dims_product(bias, 0, bias->rank - 1) == 1 : bias->rank == 1));
  if (!bias_fits) {
    return node_fail(p, THAW_STATUS_CORRUPT, "bias shape %s does not match N = %" PRId64,
                     format_shape(bias).text, n);
  }

  /* The output's element count bounds every product below: no size computed here overflows. */
  if (permuted) {
    status = permuted_output(p, y, attrs.y_perm, batch_rank + 2, product_dims, plan);
    if (status != THAW_OK) return status;
    /* Batches read through transposes are not the consecutive rows of one product. */
    b_shared = false;
  } else {
    int64_t expected[THAW_MAX_RANK + 2];
    uint32_t expected_rank = batch_rank;
    memcpy(expected, product_dims, batch_rank * sizeof *expected);
    if (a->rank >= 2) expected[expected_rank++] = m;
    if (b->rank >= 2) expected[expected_rank++] = n;
    if (expected_rank == 0) expected[expected_rank++] = 1; /* vector·vector: shape [1] */
    if (!dims_equal(y->rank, y->shape, expected_rank, expected)) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "output shape %s does not match %s computed from A %s and B %s",
                       format_shape(y).text, format_dims(expected_rank, expected).text,
                       format_shape(a).text, format_shape(b).text);
    }
    plan->y_batch_stride = (size_t)(m * n);
    plan->gemm.c_row_stride = (ptrdiff_t)n;
  }

  /* With one B for all batches, A's batches (then dense, since only A has batch dims > 1)
   * stack into the rows of a single product. */
  plan->batch_rank = b_shared ? 0 : batch_rank;
  plan->batch_count = b_shared ? 1 : batch_count;
  plan->gemm.m = b_shared ? batch_count * (size_t)m : (size_t)m;
  plan->gemm.n = (size_t)n;
  plan->gemm.k = (size_t)k;
  plan->gemm.a_row_stride = a_view.stride[a_view.rank - 2];
  plan->gemm.a_k_stride = a_view.stride[a_view.rank - 1];
  plan->gemm.b_packed = b->layout == THAW_LAYOUT_F32_GEMM_PANEL16;
  plan->gemm.b_row_stride = b_view.stride[b_view.rank - 2];
  plan->gemm.b_column_stride = b_view.stride[b_view.rank - 1];
  plan->gemm.bias = bias != NULL ? THAW_GEMM_BIAS_PER_COLUMN : THAW_GEMM_BIAS_NONE;
  status = map_unary(p, &attrs.activation, &plan->gemm.activation);
  p->node->scratch_bytes = p->model->kernels->f32_gemm_scratch_size(&plan->gemm);
  return status;
}

static thaw_status prepare_softmax(const preparation *p) {
  thaw_axis_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status == THAW_OK) status = require_axis(p, attrs.axis, x);
  if (status == THAW_OK) status = require_same_shape(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  p->node->u.axis.outer = dims_product(x, 0, attrs.axis);
  p->node->u.axis.axis_size = (size_t)x->shape[attrs.axis];
  p->node->u.axis.inner = dims_product(x, attrs.axis + 1, x->rank);
  return THAW_OK;
}

static thaw_status prepare_layer_norm(const preparation *p) {
  thaw_layer_norm_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *scale = input_tensor(p, 1);
  const thaw_format_tensor *bias = p->node->input_count > 2 ? input_tensor(p, 2) : NULL;
  const thaw_format_tensor *y = output_tensor(p, 0);
  thaw_status status = require_f32(p, 3, (const thaw_format_tensor *[]){x, scale, y},
                                   (const char *[]){"input", "scale", "output"});
  if (status == THAW_OK && bias != NULL) status = require_dtype(p, bias, "bias", THAW_DTYPE_F32);
  if (status == THAW_OK) status = require_axis(p, attrs.axis, x);
  if (status == THAW_OK) status = require_same_shape(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  const uint32_t normalized_rank = x->rank - attrs.axis;
  const int64_t *normalized = &x->shape[attrs.axis];
  if (!dims_equal(scale->rank, scale->shape, normalized_rank, normalized) ||
      (bias != NULL && !dims_equal(bias->rank, bias->shape, normalized_rank, normalized))) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "scale %s and bias %s must have shape %s (input dims from axis %" PRIu32 ")",
                     format_shape(scale).text, bias ? format_shape(bias).text : "none",
                     format_dims(normalized_rank, normalized).text, attrs.axis);
  }
  p->node->u.layer_norm.rows = dims_product(x, 0, attrs.axis);
  p->node->u.layer_norm.cols = dims_product(x, attrs.axis, x->rank);
  p->node->u.layer_norm.epsilon = attrs.epsilon;
  return THAW_OK;
}

static thaw_status prepare_pool(const preparation *p) {
  thaw_pool_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status == THAW_OK) status = require_rank(p, x, "input", 4);
  if (status != THAW_OK) return status;
  uint64_t out_h, out_w;
  if (!thaw_sliding_output_size((uint64_t)x->shape[2], attrs.pad_top, attrs.pad_bottom,
                                attrs.kernel_h, attrs.stride_h, attrs.dilation_h,
                                attrs.ceil_mode != 0, &out_h) ||
      !thaw_sliding_output_size((uint64_t)x->shape[3], attrs.pad_left, attrs.pad_right,
                                attrs.kernel_w, attrs.stride_w, attrs.dilation_w,
                                attrs.ceil_mode != 0, &out_w)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "window %" PRIu32 "x%" PRIu32 " does not fit input %s",
                     attrs.kernel_h, attrs.kernel_w, format_shape(x).text);
  }
  const int64_t expected[4] = {x->shape[0], x->shape[1], (int64_t)out_h, (int64_t)out_w};
  if (!dims_equal(y->rank, y->shape, 4, expected)) {
    return node_fail(
        p, THAW_STATUS_CORRUPT,
        "output shape %s does not match %s computed from input %s, window %" PRIu32 "x%" PRIu32
        ", stride %" PRIu32 "x%" PRIu32 ", pads %" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 "%s",
        format_shape(y).text, format_dims(4, expected).text, format_shape(x).text, attrs.kernel_h,
        attrs.kernel_w, attrs.stride_h, attrs.stride_w, attrs.pad_top, attrs.pad_left,
        attrs.pad_bottom, attrs.pad_right, attrs.ceil_mode ? ", ceil mode" : "");
  }
  p->node->u.pool2d = (thaw_pool2d_params){
      .batch_channels = (size_t)(x->shape[0] * x->shape[1]),
      .in_height = (size_t)x->shape[2],
      .in_width = (size_t)x->shape[3],
      .out_height = (size_t)out_h,
      .out_width = (size_t)out_w,
      .kernel_height = attrs.kernel_h,
      .kernel_width = attrs.kernel_w,
      .stride_h = attrs.stride_h,
      .stride_w = attrs.stride_w,
      .dilation_h = attrs.dilation_h,
      .dilation_w = attrs.dilation_w,
      .pad_top = attrs.pad_top,
      .pad_left = attrs.pad_left,
      .pad_bottom = attrs.pad_bottom,
      .pad_right = attrs.pad_right,
      .count_include_pad = attrs.count_include_pad != 0,
  };
  return THAW_OK;
}

static thaw_status prepare_global_average_pool(const preparation *p) {
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status != THAW_OK) return status;
  if (x->rank < 3) {
    return node_fail(p, THAW_STATUS_CORRUPT, "input shape %s is not [N,C,spatial...]",
                     format_shape(x).text);
  }
  int64_t expected[THAW_MAX_RANK] = {x->shape[0], x->shape[1]};
  for (uint32_t d = 2; d < x->rank; d++) expected[d] = 1;
  if (!dims_equal(y->rank, y->shape, x->rank, expected)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "output shape %s does not match %s for input %s",
                     format_shape(y).text, format_dims(x->rank, expected).text,
                     format_shape(x).text);
  }
  p->node->u.global_pool.channels = dims_product(x, 0, 2);
  p->node->u.global_pool.spatial = dims_product(x, 2, x->rank);
  return THAW_OK;
}

/* Concat and Split relate one whole tensor to its parts along an axis; the parts' operands
 * are consecutive starting at `first_part`. */
static thaw_status prepare_concat_or_split(const preparation *p, const thaw_format_tensor *whole,
                                           const char *whole_role, uint32_t first_part,
                                           uint32_t part_count) {
  thaw_axis_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  thaw_status status = require_axis(p, attrs.axis, whole);
  if (status != THAW_OK) return status;
  const size_t inner_bytes =
      dims_product(whole, attrs.axis + 1, whole->rank) * thaw_dtype_size(whole->dtype);
  size_t *row_bytes = &p->model->operand_row_bytes[p->node->first_operand + first_part];
  uint64_t axis_total = 0;
  for (uint32_t i = 0; i < part_count; i++) {
    const thaw_format_tensor *part = input_tensor(p, first_part + i);
    status = require_same_dtype(p, part, "part", whole, whole_role);
    if (status != THAW_OK) return status;
    bool compatible = part->rank == whole->rank;
    for (uint32_t d = 0; compatible && d < whole->rank; d++) {
      compatible = d == attrs.axis || part->shape[d] == whole->shape[d];
    }
    if (!compatible) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "part %" PRIu32 " shape %s differs from %s outside axis %" PRIu32, i,
                       format_shape(part).text, format_shape(whole).text, attrs.axis);
    }
    axis_total += (uint64_t)part->shape[attrs.axis]; /* each dim < 2^63 / 8, count < 2^32 */
    row_bytes[i] = (size_t)part->shape[attrs.axis] * inner_bytes;
  }
  if (axis_total != (uint64_t)whole->shape[attrs.axis]) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "parts add up to %" PRIu64 " along axis %" PRIu32 ", not %" PRId64 " as in %s",
                     axis_total, attrs.axis, whole->shape[attrs.axis], format_shape(whole).text);
  }
  p->node->u.concat.outer = dims_product(whole, 0, attrs.axis);
  p->node->u.concat.row_bytes = row_bytes;
  return THAW_OK;
}

/* A CONCAT_IN_PLACE is a Concat whose producers already wrote its output: every part must be
 * an activation at its own slice of the output, and the slices contiguous (nothing before the
 * axis but 1s). */
static thaw_status prepare_concat_in_place(const preparation *p, uint32_t part_count) {
  const thaw_format_tensor *whole = output_tensor(p, 0);
  thaw_status status = prepare_concat_or_split(p, whole, "output", 0, part_count);
  if (status != THAW_OK) return status;
  if (p->node->u.concat.outer != 1) {
    thaw_axis_attrs attrs;
    memcpy(&attrs, p->attrs, sizeof attrs);
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "output %s along axis %" PRIu32 " is not one slice per part",
                     format_shape(whole).text, attrs.axis);
  }
  uint64_t slice = whole->offset; /* offsets and sizes are at most 2^40 */
  for (uint32_t i = 0; i < part_count; i++) {
    const thaw_format_tensor *part = input_tensor(p, i);
    if (part->kind != THAW_TENSOR_ACTIVATION || part->offset != slice) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "part %" PRIu32 " \"%s\" is not at its slice of output \"%s\" (arena offset "
                       "%" PRIu64 ")",
                       i, part->name, whole->name, slice);
    }
    slice += part->size;
  }
  return THAW_OK;
}

/* Row-major element strides of a tensor. */
static void dense_strides(const thaw_format_tensor *tensor, ptrdiff_t *strides) {
  ptrdiff_t stride = 1;
  for (uint32_t d = tensor->rank; d-- > 0;) {
    strides[d] = stride;
    stride *= (ptrdiff_t)tensor->shape[d];
  }
}

static thaw_status prepare_slice(const preparation *p) {
  thaw_slice_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status = require_same_dtype(p, y, "output", x, "input");
  if (status == THAW_OK) status = require_rank(p, y, "output", x->rank);
  if (status != THAW_OK) return status;
  ptrdiff_t x_strides[THAW_MAX_RANK];
  dense_strides(x, x_strides);
  thaw_strided_copy_params *params = &p->node->u.strided_copy.params;
  memset(params, 0, sizeof *params);
  params->element_size = thaw_dtype_size(x->dtype);
  params->iter.rank = x->rank;
  ptrdiff_t first_element = 0;
  for (uint32_t d = 0; d < x->rank; d++) {
    /* Every index read on this axis, start + i*step for i < y dim, must lie in [0, x dim). */
    const int64_t start = attrs.starts[d], step = attrs.steps[d];
    int64_t last;
    if (start < 0 || start >= x->shape[d] || __builtin_mul_overflow(y->shape[d] - 1, step, &last) ||
        __builtin_add_overflow(last, start, &last) || last < 0 || last >= x->shape[d]) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "axis %" PRIu32 ": %" PRId64 " elements from %" PRId64 " by step %" PRId64
                       " leave input shape %s",
                       d, y->shape[d], start, step, format_shape(x).text);
    }
    params->iter.shape[d] = (size_t)y->shape[d];
    params->iter.strides[0][d] = (ptrdiff_t)step * x_strides[d];
    first_element += (ptrdiff_t)start * x_strides[d];
  }
  simplify_iteration(&params->iter, 1);
  p->node->u.strided_copy.input_byte_offset = first_element * (ptrdiff_t)params->element_size;
  return THAW_OK;
}

static thaw_status prepare_transpose(const preparation *p) {
  thaw_transpose_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status = require_same_dtype(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  /* A repeated axis would make the copy read past the input, so check the permutation here
   * even though the format checks it too. */
  bool seen[THAW_MAX_RANK] = {false};
  int64_t expected[THAW_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; d++) {
    if (attrs.perm[d] >= x->rank || seen[attrs.perm[d]]) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "perm is not a permutation of the %" PRIu32 " input axes", x->rank);
    }
    seen[attrs.perm[d]] = true;
    expected[d] = x->shape[attrs.perm[d]];
  }
  if (!dims_equal(y->rank, y->shape, x->rank, expected)) {
    return node_fail(
        p, THAW_STATUS_CORRUPT, "output shape %s does not match %s, the input %s permuted",
        format_shape(y).text, format_dims(x->rank, expected).text, format_shape(x).text);
  }
  ptrdiff_t x_strides[THAW_MAX_RANK];
  dense_strides(x, x_strides);
  thaw_strided_copy_params *params = &p->node->u.strided_copy.params;
  memset(params, 0, sizeof *params);
  params->element_size = thaw_dtype_size(x->dtype);
  params->iter.rank = x->rank;
  for (uint32_t d = 0; d < x->rank; d++) {
    params->iter.shape[d] = (size_t)y->shape[d];
    params->iter.strides[0][d] = x_strides[attrs.perm[d]];
  }
  simplify_iteration(&params->iter, 1);
  p->node->u.strided_copy.input_byte_offset = 0;
  return THAW_OK;
}

static thaw_status prepare_reshape(const preparation *p) {
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status = require_same_dtype(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  if (x->element_count != y->element_count) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "output shape %s does not hold the %" PRIu64 " elements of input %s",
                     format_shape(y).text, x->element_count, format_shape(x).text);
  }
  p->node->u.reshape.is_view = x->kind == THAW_TENSOR_ACTIVATION && x->offset == y->offset;
  p->node->u.reshape.size = (size_t)x->size;
  return THAW_OK;
}

/* The shape and index rules Gather and QS8Gather share; the dtypes are the caller's. */
static thaw_status prepare_gather_shape(const preparation *p) {
  thaw_axis_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *data = input_tensor(p, 0), *indices = input_tensor(p, 1);
  const thaw_format_tensor *y = output_tensor(p, 0);
  thaw_status status = require_axis(p, attrs.axis, data);
  if (status != THAW_OK) return status;
  if (indices->dtype != THAW_DTYPE_I32 && indices->dtype != THAW_DTYPE_I64) {
    return node_fail(p, THAW_STATUS_UNSUPPORTED, "indices \"%s\" are %s, not i32 or i64",
                     indices->name, thaw_dtype_name(indices->dtype));
  }
  /* data[:axis] + indices.shape + data[axis+1:]; a single index stored as shape [1] may also
   * drop the axis, as ONNX does for a scalar index. */
  int64_t expected[2 * THAW_MAX_RANK];
  uint32_t rank = 0;
  for (uint32_t d = 0; d < attrs.axis; d++) expected[rank++] = data->shape[d];
  const uint32_t indices_at = rank;
  for (uint32_t d = 0; d < indices->rank; d++) expected[rank++] = indices->shape[d];
  for (uint32_t d = attrs.axis + 1; d < data->rank; d++) expected[rank++] = data->shape[d];
  bool matches = dims_equal(y->rank, y->shape, rank, expected);
  if (!matches && indices->rank == 1 && indices->shape[0] == 1 && data->rank > 1) {
    memmove(&expected[indices_at], &expected[indices_at + 1],
            (rank - indices_at - 1) * sizeof expected[0]);
    matches = dims_equal(y->rank, y->shape, rank - 1, expected);
  }
  if (!matches) {
    return node_fail(
        p, THAW_STATUS_CORRUPT,
        "output shape %s does not match data %s gathered on axis %" PRIu32 " by indices %s",
        format_shape(y).text, format_shape(data).text, attrs.axis, format_shape(indices).text);
  }
  p->node->u.gather = (thaw_gather_params){
      .element_size = thaw_dtype_size(data->dtype),
      .outer = dims_product(data, 0, attrs.axis),
      .axis_size = (size_t)data->shape[attrs.axis],
      .inner = dims_product(data, attrs.axis + 1, data->rank),
      .index_count = (size_t)indices->element_count,
      .indices_are_i64 = indices->dtype == THAW_DTYPE_I64,
  };
  return THAW_OK;
}

static thaw_status prepare_gather(const preparation *p) {
  thaw_status status =
      require_same_dtype(p, output_tensor(p, 0), "output", input_tensor(p, 0), "input");
  return status == THAW_OK ? prepare_gather_shape(p) : status;
}

/* i8 data, one f32 scale per slice along the axis, f32 out. */
static thaw_status prepare_qs8_gather(const preparation *p) {
  const thaw_format_tensor *data = input_tensor(p, 0), *scales = input_tensor(p, 2);
  const thaw_format_tensor *y = output_tensor(p, 0);
  thaw_status status = require_dtype(p, data, "data", THAW_DTYPE_I8);
  if (status == THAW_OK) status = require_dtype(p, scales, "scales", THAW_DTYPE_F32);
  if (status == THAW_OK) status = require_dtype(p, y, "output", THAW_DTYPE_F32);
  if (status == THAW_OK) status = prepare_gather_shape(p);
  if (status != THAW_OK) return status;
  if ((uint64_t)scales->element_count != p->node->u.gather.axis_size) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "scales %s must hold one scale per slice of data %s along the axis (%zu)",
                     format_shape(scales).text, format_shape(data).text,
                     p->node->u.gather.axis_size);
  }
  return THAW_OK;
}

static thaw_status prepare_resize(const preparation *p) {
  thaw_resize_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status == THAW_OK) status = require_rank(p, y, "output", x->rank);
  if (status != THAW_OK) return status;
  thaw_resize_params *params = &p->node->u.resize;
  memset(params, 0, sizeof *params);
  params->rank = x->rank;
  for (uint32_t d = 0; d < x->rank; d++) {
    /* ONNX: out = floor(in * scale), or scale = out / in when sizes are given. */
    const double scaled = (double)x->shape[d] * attrs.scales[d];
    if (!(attrs.scales[d] > 0.0f) || !isfinite(attrs.scales[d]) ||
        fabs(scaled - (double)y->shape[d]) >= 1.0) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "axis %" PRIu32 ": output %s does not follow from input %s and scale %g", d,
                       format_shape(y).text, format_shape(x).text, (double)attrs.scales[d]);
    }
    params->in_shape[d] = (size_t)x->shape[d];
    params->out_shape[d] = (size_t)y->shape[d];
    params->scales[d] = attrs.scales[d];
  }
  params->mode = (int)attrs.mode;
  params->coordinates = (int)attrs.coordinates;
  params->nearest = (int)attrs.nearest;
  return THAW_OK;
}

static thaw_status prepare_pad(const preparation *p) {
  thaw_pad_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status == THAW_OK) status = require_rank(p, y, "output", x->rank);
  if (status != THAW_OK) return status;
  thaw_pad_params *params = &p->node->u.pad;
  memset(params, 0, sizeof *params);
  for (uint32_t d = 0; d < x->rank; d++) {
    const int64_t begin = attrs.begin[d];
    const int64_t end = y->shape[d] - x->shape[d] - begin;
    /* Reflection mirrors without repeating the edge, so it reaches at most dim - 1 out. */
    const bool reflect_fits =
        attrs.mode != THAW_PAD_REFLECT || (begin < x->shape[d] && end < x->shape[d]);
    if (end < 0 || !reflect_fits) {
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "axis %" PRIu32
                       ": output %s does not follow from input %s padded by %" PRId64 " before",
                       d, format_shape(y).text, format_shape(x).text, begin);
    }
    params->in_shape[d] = (size_t)x->shape[d];
    params->out_shape[d] = (size_t)y->shape[d];
    params->begin[d] = (size_t)begin;
  }
  params->rank = x->rank;
  params->mode = (int)attrs.mode;
  params->value = attrs.value;
  return THAW_OK;
}

static thaw_status prepare_reduce_mean(const preparation *p) {
  thaw_reduce_attrs attrs;
  memcpy(&attrs, p->attrs, sizeof attrs);
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status =
      require_f32(p, 2, (const thaw_format_tensor *[]){x, y}, (const char *[]){"input", "output"});
  if (status != THAW_OK) return status;
  const uint64_t end = (uint64_t)attrs.first_axis + attrs.axis_count;
  if (attrs.axis_count == 0 || end > x->rank) {
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "axes [%" PRIu32 ", %" PRIu64 ") are not a non-empty range of input %s",
                     attrs.first_axis, end, format_shape(x).text);
  }
  /* The reduced axes are kept as 1s (keepdims) or dropped. */
  int64_t kept[THAW_MAX_RANK], dropped[THAW_MAX_RANK];
  uint32_t dropped_rank = 0;
  for (uint32_t d = 0; d < x->rank; d++) {
    const bool reduced = d >= attrs.first_axis && d < end;
    kept[d] = reduced ? 1 : x->shape[d];
    if (!reduced) dropped[dropped_rank++] = x->shape[d];
  }
  if (dropped_rank == 0) dropped[dropped_rank++] = 1;
  if (!dims_equal(y->rank, y->shape, x->rank, kept) &&
      !dims_equal(y->rank, y->shape, dropped_rank, dropped)) {
    return node_fail(p, THAW_STATUS_CORRUPT, "output shape %s is neither %s nor %s",
                     format_shape(y).text, format_dims(x->rank, kept).text,
                     format_dims(dropped_rank, dropped).text);
  }
  p->node->u.axis.outer = dims_product(x, 0, attrs.first_axis);
  p->node->u.axis.axis_size = dims_product(x, attrs.first_axis, (uint32_t)end);
  p->node->u.axis.inner = dims_product(x, (uint32_t)end, x->rank);
  return THAW_OK;
}

static thaw_status prepare_cast(const preparation *p) {
  const thaw_format_tensor *x = input_tensor(p, 0), *y = output_tensor(p, 0);
  thaw_status status = require_same_shape(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  p->node->u.cast.from = x->dtype;
  p->node->u.cast.to = y->dtype;
  p->node->u.cast.count = (size_t)x->element_count;
  return THAW_OK;
}

static thaw_status prepare_channel_affine(const preparation *p) {
  const thaw_format_tensor *x = input_tensor(p, 0), *scale = input_tensor(p, 1);
  const thaw_format_tensor *shift = input_tensor(p, 2), *y = output_tensor(p, 0);
  thaw_status status = require_f32(p, 4, (const thaw_format_tensor *[]){x, scale, shift, y},
                                   (const char *[]){"input", "scale", "shift", "output"});
  if (status == THAW_OK) status = require_same_shape(p, y, "output", x, "input");
  if (status != THAW_OK) return status;
  if (x->rank < 2) {
    return node_fail(p, THAW_STATUS_CORRUPT, "input shape %s has no channel axis",
                     format_shape(x).text);
  }
  if (!dims_equal(scale->rank, scale->shape, 1, &x->shape[1]) ||
      !dims_equal(shift->rank, shift->shape, 1, &x->shape[1])) {
    return node_fail(
        p, THAW_STATUS_CORRUPT,
        "scale %s and shift %s must have shape [%" PRId64 "], the channels of input %s",
        format_shape(scale).text, format_shape(shift).text, x->shape[1], format_shape(x).text);
  }
  p->node->u.axis.outer = (size_t)x->shape[0];
  p->node->u.axis.axis_size = (size_t)x->shape[1];
  p->node->u.axis.inner = dims_product(x, 2, x->rank);
  return THAW_OK;
}

/* ---- Memory safety of the plan ---- */

static bool bytes_overlap(const thaw_format_tensor *a, const thaw_format_tensor *b) {
  return a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

/* Ops whose kernels read element i before writing element i and nothing else there. */
static bool works_in_place(uint32_t op) {
  return op == THAW_OP_UNARY || op == THAW_OP_BINARY || op == THAW_OP_WHERE ||
         op == THAW_OP_CHANNEL_AFFINE;
}

/* Outputs go to the arena; each may share bytes with an input only when the kernel works in
 * place over exactly that buffer, and a run never writes a model input. */
static thaw_status check_output_memory(const preparation *p) {
  const thaw_prepared_node *node = p->node;
  const thaw_format_view *view = &p->model->view;
  if (node->op == THAW_OP_RESHAPE && node->u.reshape.is_view) return THAW_OK;
  for (uint32_t o = 0; o < node->output_count; o++) {
    const thaw_format_tensor *output = output_tensor(p, o);
    if (output->kind != THAW_TENSOR_ACTIVATION) {
      return node_fail(p, THAW_STATUS_CORRUPT, "output \"%s\" is a constant", output->name);
    }
    for (uint32_t i = 0; i < node->input_count; i++) {
      const thaw_format_tensor *input = input_tensor(p, i);
      if (input->kind != THAW_TENSOR_ACTIVATION || !bytes_overlap(input, output)) continue;
      if (works_in_place(node->op) && input->offset == output->offset &&
          same_shape(input, output)) {
        continue;
      }
      /* Its preparation checked that each part is exactly at its slice. */
      if (node->op == THAW_OP_CONCAT_IN_PLACE) continue;
      return node_fail(
          p, THAW_STATUS_CORRUPT,
          "output \"%s\" (arena bytes %" PRIu64 "+%" PRIu64 ") overlaps input \"%s\" (%" PRIu64
          "+%" PRIu64 ") and the op cannot work in place",
          output->name, output->offset, output->size, input->name, input->offset, input->size);
    }
    for (uint32_t other = 0; other < o; other++) {
      if (bytes_overlap(output_tensor(p, other), output)) {
        return node_fail(p, THAW_STATUS_CORRUPT, "outputs \"%s\" and \"%s\" overlap",
                         output_tensor(p, other)->name, output->name);
      }
    }
    for (uint32_t m = 0; m < view->input_count; m++) {
      const thaw_format_tensor *model_input = &p->model->tensors[thaw_format_model_input(view, m)];
      if (bytes_overlap(model_input, output)) {
        return node_fail(p, THAW_STATUS_CORRUPT, "output \"%s\" overwrites model input \"%s\"",
                         output->name, model_input->name);
      }
    }
  }
  return THAW_OK;
}

/* Only a MATMUL's B operand is read through the GEMM-packed layout, and only the weights of a
 * quantized op through the qs8 one; anywhere else a packed constant would be read as if it
 * were row-major. */
static thaw_status check_input_layouts(const preparation *p) {
  for (uint32_t i = 0; i < p->node->input_count; i++) {
    const thaw_format_tensor *input = input_tensor(p, i);
    if (input->layout == THAW_LAYOUT_PLAIN) continue;
    if (input->layout == THAW_LAYOUT_QS8_GEMM_PANEL16) {
      const uint32_t op = p->node->op;
      if ((op == THAW_OP_QS8_MATMUL || op == THAW_OP_QS8_CONV) && i == 1) continue;
      return node_fail(p, THAW_STATUS_CORRUPT,
                       "input %" PRIu32 " \"%s\" is stored in layout %s, which only a quantized "
                       "op's weights may use",
                       i, input->name, thaw_layout_name(input->layout));
    }
    if (p->node->op == THAW_OP_MATMUL && i == 1) continue;
    const bool recurrent = p->node->op == THAW_OP_LSTM || p->node->op == THAW_OP_GRU;
    if (recurrent && (i == 1 || i == 2)) continue;
    return node_fail(p, THAW_STATUS_CORRUPT,
                     "input %" PRIu32 " \"%s\" is stored in layout %s, which only a MatMul's B "
                     "operand may use, or an LSTM's or GRU's W and R",
                     i, input->name, thaw_layout_name(input->layout));
  }
  return THAW_OK;
}

thaw_status thaw_prepare_node(thaw_model *model, uint32_t index, size_t first_operand,
                              thaw_error *error) {
  thaw_format_node format_node;
  thaw_format_get_node(&model->view, index, &format_node);
  thaw_prepared_node *node = &model->nodes[index];
  node->op = format_node.op;
  node->name = format_node.name;
  node->first_operand = first_operand;
  node->input_count = format_node.input_count;
  node->output_count = format_node.output_count;
  node->scratch_bytes = 0;
  for (uint32_t i = 0; i < format_node.input_count; i++) {
    model->operand_tensors[first_operand + i] = thaw_format_node_input(&format_node, i);
  }
  for (uint32_t i = 0; i < format_node.output_count; i++) {
    model->operand_tensors[first_operand + format_node.input_count + i] =
        thaw_format_node_output(&format_node, i);
  }
  const preparation p = {
      .model = model,
      .node = node,
      .attrs = format_node.attrs,
      .error = error,
  };
  thaw_status status = check_input_layouts(&p);
  if (status != THAW_OK) return status;
  switch (format_node.op) {
    case THAW_OP_CONV:
    case THAW_OP_CONV_TRANSPOSE:
      status = prepare_conv(&p);
      break;
    case THAW_OP_MATMUL:
    case THAW_OP_PERMUTED_MATMUL:
      status = prepare_matmul(&p);
      break;
    case THAW_OP_BINARY:
      status = prepare_binary(&p);
      break;
    case THAW_OP_UNARY:
      status = prepare_unary(&p);
      break;
    case THAW_OP_SOFTMAX:
      status = prepare_softmax(&p);
      break;
    case THAW_OP_LAYER_NORM:
      status = prepare_layer_norm(&p);
      break;
    case THAW_OP_MAX_POOL:
    case THAW_OP_AVERAGE_POOL:
      status = prepare_pool(&p);
      break;
    case THAW_OP_GLOBAL_AVERAGE_POOL:
      status = prepare_global_average_pool(&p);
      break;
    case THAW_OP_CONCAT:
      status =
          prepare_concat_or_split(&p, output_tensor(&p, 0), "output", 0, format_node.input_count);
      break;
    case THAW_OP_SPLIT:
      status =
          prepare_concat_or_split(&p, input_tensor(&p, 0), "input", 1, format_node.output_count);
      break;
    case THAW_OP_CONCAT_IN_PLACE:
      status = prepare_concat_in_place(&p, format_node.input_count);
      break;
    case THAW_OP_SLICE:
      status = prepare_slice(&p);
      break;
    case THAW_OP_TRANSPOSE:
      status = prepare_transpose(&p);
      break;
    case THAW_OP_RESHAPE:
      status = prepare_reshape(&p);
      break;
    case THAW_OP_GATHER:
      status = prepare_gather(&p);
      break;
    case THAW_OP_QS8_GATHER:
      status = prepare_qs8_gather(&p);
      break;
    case THAW_OP_RESIZE:
      status = prepare_resize(&p);
      break;
    case THAW_OP_PAD:
      status = prepare_pad(&p);
      break;
    case THAW_OP_REDUCE_MEAN:
      status = prepare_reduce_mean(&p);
      break;
    case THAW_OP_CAST:
      status = prepare_cast(&p);
      break;
    case THAW_OP_WHERE:
      status = prepare_where(&p);
      break;
    case THAW_OP_CHANNEL_AFFINE:
      status = prepare_channel_affine(&p);
      break;
    case THAW_OP_EXPAND:
      status = prepare_expand(&p);
      break;
    case THAW_OP_QS8_MATMUL:
      status = thaw_prepare_qs8_matmul(model, node, format_node.attrs, error);
      break;
    case THAW_OP_QS8_CONV:
      status = thaw_prepare_qs8_conv(model, node, format_node.attrs, error);
      break;
    case THAW_OP_QUANTIZE_LINEAR:
    case THAW_OP_DEQUANTIZE_LINEAR:
      status = thaw_prepare_quantize_linear(model, node, format_node.attrs, error);
      break;
    case THAW_OP_DYNAMIC_QUANTIZE_LINEAR:
      status = thaw_prepare_dynamic_quantize_linear(model, node, error);
      break;
    case THAW_OP_LSTM:
    case THAW_OP_GRU:
      status = thaw_prepare_recurrent(model, node, format_node.attrs, error);
      break;
    default:
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "node \"%s\": op %" PRIu32 " is not supported", format_node.name,
                            format_node.op);
  }
  if (status != THAW_OK) return status;
  return check_output_memory(&p);
}
