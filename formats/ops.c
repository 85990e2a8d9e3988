/*
 * The op contract: one table row per op with its name, attribute blob size, input/output
 * arity and the attribute rules that need no shapes. The reader and the writer both check
 * nodes through thaw_op_check, so the rules exist once.
 */
#include <math.h>
#include <string.h>

#include "formats/format_internal.h"

/* Every attribute struct is a sequence of 4-byte words, which is what makes the word-wise
 * little-endian encoding below exact. */
_Static_assert(sizeof(thaw_unary_attrs) == 3 * 4, "unary attrs are 3 words");
_Static_assert(sizeof(thaw_conv_attrs) == 14 * 4, "conv attrs are 14 words");
_Static_assert(sizeof(thaw_matmul_attrs) == 3 * 4, "matmul attrs are 3 words");
_Static_assert(sizeof(thaw_permuted_matmul_attrs) == (3 + 3 * THAW_MAX_RANK) * 4,
               "permuted matmul attrs");
_Static_assert(sizeof(thaw_binary_attrs) == 4, "binary attrs are 1 word");
_Static_assert(sizeof(thaw_axis_attrs) == 4, "axis attrs are 1 word");
_Static_assert(sizeof(thaw_layer_norm_attrs) == 2 * 4, "layer norm attrs are 2 words");
_Static_assert(sizeof(thaw_pool_attrs) == 12 * 4, "pool attrs are 12 words");
_Static_assert(sizeof(thaw_slice_attrs) == 2 * THAW_MAX_RANK * 4, "slice attrs");
_Static_assert(sizeof(thaw_transpose_attrs) == THAW_MAX_RANK * 4, "transpose attrs");
_Static_assert(sizeof(thaw_resize_attrs) == (3 + THAW_MAX_RANK) * 4, "resize attrs");
_Static_assert(sizeof(thaw_pad_attrs) == (2 + THAW_MAX_RANK) * 4, "pad attrs");
_Static_assert(sizeof(thaw_reduce_attrs) == 2 * 4, "reduce attrs are 2 words");
_Static_assert(sizeof(thaw_qs8_matmul_attrs) == 6 * 4, "qs8 matmul attrs are 6 words");
_Static_assert(sizeof(thaw_qs8_conv_attrs) == 17 * 4, "qs8 conv attrs are 17 words");
_Static_assert(sizeof(thaw_recurrent_attrs) == 6 * 4, "recurrent attrs are 6 words");

/* What an attribute check knows about the node it is checking. */
typedef struct node_context {
  const char *name;
  const char *op_name;
  uint32_t op;
  uint32_t input_rank;
  uint32_t input_count, output_count;
  thaw_error *error;
} node_context;

typedef thaw_status (*attrs_check)(const node_context *node, const uint8_t *blob);

#define ANY_COUNT UINT32_MAX

typedef struct op_contract {
  const char *name;
  size_t attrs_size;
  uint32_t min_inputs, max_inputs;
  uint32_t min_outputs, max_outputs;
  attrs_check check_attrs; /* NULL for ops without attributes */
} op_contract;

static thaw_status corrupt(const node_context *node, const char *rule) {
  return thaw_error_set(node->error, THAW_STATUS_CORRUPT, "node '%s' (%s): %s", node->name,
                        node->op_name, rule);
}

static thaw_status require_at_least_one(const node_context *node, const char *field,
                                        uint32_t value) {
  if (value >= 1) return THAW_OK;
  return thaw_error_set(node->error, THAW_STATUS_CORRUPT, "node '%s' (%s): %s is 0, must be >= 1",
                        node->name, node->op_name, field);
}

static thaw_status require_axis(const node_context *node, const char *field, uint32_t axis) {
  if (axis < node->input_rank) return THAW_OK;
  return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                        "node '%s' (%s): %s %u is not below the input rank %u", node->name,
                        node->op_name, field, axis, node->input_rank);
}

static thaw_status require_flag(const node_context *node, const char *field, uint32_t value) {
  if (value <= 1) return THAW_OK;
  return thaw_error_set(node->error, THAW_STATUS_CORRUPT, "node '%s' (%s): %s is %u, must be 0 or 1",
                        node->name, node->op_name, field, value);
}

static thaw_status unsupported_code(const node_context *node, const char *field, uint32_t code) {
  return thaw_error_set(node->error, THAW_STATUS_UNSUPPORTED, "node '%s' (%s): unknown %s %u",
                        node->name, node->op_name, field, code);
}

/* The elementwise function of UNARY, or fused into CONV/MATMUL. */
static thaw_status check_unary_func(const node_context *node, const thaw_unary_attrs *unary) {
  if (thaw_unary_func_name(unary->func) == NULL) {
    return unsupported_code(node, "unary function", unary->func);
  }
  switch (unary->func) {
    case THAW_UNARY_CLIP:
      if (isnan(unary->alpha) || isnan(unary->beta) || unary->alpha > unary->beta) {
        return corrupt(node, "clip bounds must be ordered numbers (alpha <= beta)");
      }
      break;
    case THAW_UNARY_HARD_SIGMOID:
      if (!isfinite(unary->alpha) || !isfinite(unary->beta)) {
        return corrupt(node, "hard_sigmoid alpha and beta must be finite");
      }
      break;
    case THAW_UNARY_LEAKY_RELU:
      if (!isfinite(unary->alpha)) return corrupt(node, "leaky_relu alpha must be finite");
      break;
    default:
      break;
  }
  return THAW_OK;
}

static thaw_status check_unary(const node_context *node, const uint8_t *blob) {
  thaw_unary_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  return check_unary_func(node, &attrs);
}

static thaw_status check_matmul(const node_context *node, const uint8_t *blob) {
  thaw_matmul_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  return check_unary_func(node, &attrs.activation);
}

static thaw_status check_conv(const node_context *node, const uint8_t *blob) {
  thaw_conv_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  const struct {
    const char *field;
    uint32_t value;
  } at_least_one[] = {
      {"stride_h", attrs.stride_h},     {"stride_w", attrs.stride_w},
      {"dilation_h", attrs.dilation_h}, {"dilation_w", attrs.dilation_w},
      {"groups", attrs.groups},
  };
  for (size_t i = 0; i < sizeof at_least_one / sizeof at_least_one[0]; i++) {
    thaw_status status = require_at_least_one(node, at_least_one[i].field, at_least_one[i].value);
    if (status != THAW_OK) return status;
  }
  if (node->op == THAW_OP_CONV) {
    if (attrs.output_padding_h != 0 || attrs.output_padding_w != 0) {
      return corrupt(node, "output_padding must be 0 for Conv");
    }
  } else if ((attrs.output_padding_h >= attrs.stride_h &&
              attrs.output_padding_h >= attrs.dilation_h) ||
             (attrs.output_padding_w >= attrs.stride_w &&
              attrs.output_padding_w >= attrs.dilation_w)) {
    return corrupt(node, "output_padding must be below the stride or the dilation");
  }
  return check_unary_func(node, &attrs.activation);
}

static thaw_status check_binary(const node_context *node, const uint8_t *blob) {
  thaw_binary_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  if (thaw_binary_func_name(attrs.func) == NULL) {
    return unsupported_code(node, "binary function", attrs.func);
  }
  return THAW_OK;
}

static thaw_status check_axis(const node_context *node, const uint8_t *blob) {
  thaw_axis_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  return require_axis(node, "axis", attrs.axis);
}

static thaw_status check_layer_norm(const node_context *node, const uint8_t *blob) {
  thaw_layer_norm_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  if (!isfinite(attrs.epsilon) || attrs.epsilon < 0.0f) {
    return corrupt(node, "epsilon must be finite and >= 0");
  }
  return require_axis(node, "axis", attrs.axis);
}

static thaw_status check_pool(const node_context *node, const uint8_t *blob) {
  thaw_pool_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  const struct {
    const char *field;
    uint32_t value;
  } at_least_one[] = {
      {"kernel_h", attrs.kernel_h},     {"kernel_w", attrs.kernel_w},
      {"stride_h", attrs.stride_h},     {"stride_w", attrs.stride_w},
      {"dilation_h", attrs.dilation_h}, {"dilation_w", attrs.dilation_w},
  };
  for (size_t i = 0; i < sizeof at_least_one / sizeof at_least_one[0]; i++) {
    thaw_status status = require_at_least_one(node, at_least_one[i].field, at_least_one[i].value);
    if (status != THAW_OK) return status;
  }
  /* A pad as wide as the dilated window would make windows that see only padding. */
  uint64_t window_h = (uint64_t)(attrs.kernel_h - 1) * attrs.dilation_h + 1;
  uint64_t window_w = (uint64_t)(attrs.kernel_w - 1) * attrs.dilation_w + 1;
  if (attrs.pad_top >= window_h || attrs.pad_bottom >= window_h || attrs.pad_left >= window_w ||
      attrs.pad_right >= window_w) {
    return corrupt(node, "every pad must be smaller than the dilated kernel");
  }
  thaw_status status = require_flag(node, "ceil_mode", attrs.ceil_mode);
  if (status != THAW_OK) return status;
  return require_flag(node, "count_include_pad", attrs.count_include_pad);
}

static thaw_status check_slice(const node_context *node, const uint8_t *blob) {
  thaw_slice_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  for (uint32_t axis = 0; axis < node->input_rank && axis < THAW_MAX_RANK; axis++) {
    if (attrs.starts[axis] < 0) return corrupt(node, "slice starts must be >= 0");
    if (attrs.steps[axis] == 0) return corrupt(node, "slice steps must be non-zero");
  }
  return THAW_OK;
}

/* `perm` is a permutation of [0, input rank) followed by zeros. */
static thaw_status check_permutation(const node_context *node, const char *field,
                                     const uint32_t perm[THAW_MAX_RANK]) {
  uint32_t seen = 0;
  for (uint32_t axis = 0; axis < THAW_MAX_RANK; axis++) {
    uint32_t source = perm[axis];
    if (axis >= node->input_rank) {
      if (source != 0) {
        return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                              "node '%s' (%s): %s entries past the input rank must be 0",
                              node->name, node->op_name, field);
      }
      continue;
    }
    if (source >= node->input_rank || (seen & (1u << source)) != 0) {
      return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                            "node '%s' (%s): %s is not a permutation of the input axes",
                            node->name, node->op_name, field);
    }
    seen |= 1u << source;
  }
  return THAW_OK;
}

static thaw_status check_transpose(const node_context *node, const uint8_t *blob) {
  thaw_transpose_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  return check_permutation(node, "perm", attrs.perm);
}

static thaw_status check_permuted_matmul(const node_context *node, const uint8_t *blob) {
  thaw_permuted_matmul_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  thaw_status status = check_unary_func(node, &attrs.activation);
  if (status == THAW_OK && node->input_rank < 2) status = corrupt(node, "A has rank below 2");
  if (status == THAW_OK) status = check_permutation(node, "a_perm", attrs.a_perm);
  if (status == THAW_OK) status = check_permutation(node, "b_perm", attrs.b_perm);
  if (status == THAW_OK) status = check_permutation(node, "y_perm", attrs.y_perm);
  const uint32_t last = node->input_rank - 1;
  if (status == THAW_OK && attrs.y_perm[last] != last) {
    status = corrupt(node, "y_perm moves the last axis");
  }
  return status;
}

static thaw_status check_resize(const node_context *node, const uint8_t *blob) {
  thaw_resize_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  if (attrs.mode != THAW_RESIZE_NEAREST && attrs.mode != THAW_RESIZE_LINEAR) {
    return unsupported_code(node, "resize mode", attrs.mode);
  }
  if (attrs.coordinates < THAW_RESIZE_HALF_PIXEL ||
      attrs.coordinates > THAW_RESIZE_PYTORCH_HALF_PIXEL) {
    return unsupported_code(node, "resize coordinate transformation", attrs.coordinates);
  }
  if (attrs.mode == THAW_RESIZE_NEAREST &&
      (attrs.nearest < THAW_RESIZE_ROUND_PREFER_FLOOR || attrs.nearest > THAW_RESIZE_CEIL)) {
    return unsupported_code(node, "resize nearest rounding", attrs.nearest);
  }
  for (uint32_t axis = 0; axis < node->input_rank && axis < THAW_MAX_RANK; axis++) {
    if (!isfinite(attrs.scales[axis]) || attrs.scales[axis] <= 0.0f) {
      return corrupt(node, "resize scales must be finite and > 0");
    }
  }
  return THAW_OK;
}

static thaw_status check_pad(const node_context *node, const uint8_t *blob) {
  thaw_pad_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  if (attrs.mode < THAW_PAD_CONSTANT || attrs.mode > THAW_PAD_EDGE) {
    return unsupported_code(node, "pad mode", attrs.mode);
  }
  if (isnan(attrs.value)) return corrupt(node, "pad value is NaN");
  return THAW_OK;
}

static thaw_status check_reduce(const node_context *node, const uint8_t *blob) {
  thaw_reduce_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  thaw_status status = require_at_least_one(node, "axis_count", attrs.axis_count);
  if (status != THAW_OK) return status;
  if ((uint64_t)attrs.first_axis + attrs.axis_count > node->input_rank) {
    return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): axes [%u, %u + %u) exceed the input rank %u",
                          node->name, node->op_name, attrs.first_axis, attrs.first_axis,
                          attrs.axis_count, node->input_rank);
  }
  return THAW_OK;
}

/* How a quantized op quantizes its input: a dynamic mode carries no numbers, a static one a
 * usable scale and an int8 zero point. */
static thaw_status check_qs8_input(const node_context *node, const thaw_qs8_input_attrs *input) {
  switch (input->mode) {
    case THAW_QS8_INPUT_DYNAMIC:
    case THAW_QS8_INPUT_DYNAMIC_TENSOR:
      if (input->scale != 0.0f || input->zero_point != 0) {
        return corrupt(node, "dynamic input quantization must have scale 0 and zero_point 0");
      }
      return THAW_OK;
    case THAW_QS8_INPUT_STATIC:
      if (!isfinite(input->scale) || !(input->scale > 0.0f) ||
          !isfinite(1.0f / input->scale)) {
        return corrupt(node, "static input scale must be finite and > 0, with a finite inverse");
      }
      if (input->zero_point < -128 || input->zero_point > 127) {
        return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                              "node '%s' (%s): input zero_point %d is outside [-128, 127]",
                              node->name, node->op_name, input->zero_point);
      }
      return THAW_OK;
  }
  return unsupported_code(node, "input quantization mode", input->mode);
}

static thaw_status check_qs8_matmul(const node_context *node, const uint8_t *blob) {
  thaw_qs8_matmul_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  thaw_status status = check_qs8_input(node, &attrs.input);
  return status != THAW_OK ? status : check_unary_func(node, &attrs.activation);
}

/* A quantized Conv: the Conv rules on its first 14 words, and one group. */
static thaw_status check_qs8_conv(const node_context *node, const uint8_t *blob) {
  thaw_qs8_conv_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  node_context as_conv = *node;
  as_conv.op = THAW_OP_CONV;
  thaw_status status = check_conv(&as_conv, blob);
  if (status != THAW_OK) return status;
  if (attrs.conv.groups != 1) {
    return thaw_error_set(node->error, THAW_STATUS_UNSUPPORTED,
                          "node '%s' (%s): groups is %u; quantized convolution takes 1",
                          node->name, node->op_name, attrs.conv.groups);
  }
  return check_qs8_input(node, &attrs.input);
}

/* hidden_size is a u32, so no product or sum below overflows 64 bits. */
uint64_t thaw_recurrent_direction_columns(uint32_t op, uint32_t hidden_size) {
  const uint64_t h = hidden_size;
  switch (op) {
    case THAW_OP_LSTM:
      return thaw_align_up(4 * h, THAW_LAYOUT_PANEL16_WIDTH);
    case THAW_OP_GRU:
      /* z and r come from one product of h, the candidate from another (of r * h in the
       * default form), so the candidate starts on a panel of its own. */
      return thaw_align_up(2 * h, THAW_LAYOUT_PANEL16_WIDTH) +
             thaw_align_up(h, THAW_LAYOUT_PANEL16_WIDTH);
  }
  return 0;
}

uint64_t thaw_recurrent_gate_column(uint32_t op, uint32_t hidden_size, uint32_t gate) {
  if (op == THAW_OP_GRU && gate == 2) {
    return thaw_align_up(2 * (uint64_t)hidden_size, THAW_LAYOUT_PANEL16_WIDTH);
  }
  return (uint64_t)gate * hidden_size;
}

static thaw_status check_recurrent(const node_context *node, const uint8_t *blob) {
  thaw_recurrent_attrs attrs;
  thaw_op_attrs_decode(node->op, blob, &attrs);
  const bool lstm = node->op == THAW_OP_LSTM;
  if (attrs.direction > THAW_RECURRENT_BIDIRECTIONAL) {
    return unsupported_code(node, "direction", attrs.direction);
  }
  if (attrs.layout > 1) return unsupported_code(node, "layout", attrs.layout);
  thaw_status status = require_at_least_one(node, "hidden_size", attrs.hidden_size);
  if (status == THAW_OK) status = require_flag(node, "linear_before_reset", attrs.linear_before_reset);
  if (status != THAW_OK) return status;
  if (lstm && attrs.linear_before_reset != 0) {
    return corrupt(node, "linear_before_reset is a GRU attribute");
  }
  const uint32_t allowed_inputs =
      THAW_RECURRENT_INPUT_BIAS | THAW_RECURRENT_INPUT_INITIAL_H |
      (lstm ? THAW_RECURRENT_INPUT_INITIAL_C
            : attrs.linear_before_reset ? THAW_RECURRENT_INPUT_CANDIDATE_BIAS : 0);
  const uint32_t allowed_outputs = THAW_RECURRENT_OUTPUT_Y | THAW_RECURRENT_OUTPUT_Y_H |
                                   (lstm ? THAW_RECURRENT_OUTPUT_Y_C : 0);
  if ((attrs.inputs & ~allowed_inputs) != 0) {
    return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): optional inputs 0x%x, this op allows only 0x%x",
                          node->name, node->op_name, attrs.inputs, allowed_inputs);
  }
  if (attrs.outputs == 0 || (attrs.outputs & ~allowed_outputs) != 0) {
    return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): outputs 0x%x, must be a non-empty subset of 0x%x",
                          node->name, node->op_name, attrs.outputs, allowed_outputs);
  }
  /* The bits say which operands the node lists, so the counts follow from them. */
  const uint32_t inputs = 3 + (uint32_t)__builtin_popcount(attrs.inputs);
  const uint32_t outputs = (uint32_t)__builtin_popcount(attrs.outputs);
  if (node->input_count != inputs || node->output_count != outputs) {
    return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): lists %u inputs and %u outputs, its attributes say "
                          "%u and %u",
                          node->name, node->op_name, node->input_count, node->output_count,
                          inputs, outputs);
  }
  return THAW_OK;
}

static const op_contract kContracts[THAW_OP_MAX + 1] = {
    [THAW_OP_CONV] = {"Conv", sizeof(thaw_conv_attrs), 2, 3, 1, 1, check_conv},
    [THAW_OP_CONV_TRANSPOSE] = {"ConvTranspose", sizeof(thaw_conv_attrs), 2, 3, 1, 1, check_conv},
    [THAW_OP_MATMUL] = {"MatMul", sizeof(thaw_matmul_attrs), 2, 3, 1, 1, check_matmul},
    [THAW_OP_BINARY] = {"Binary", sizeof(thaw_binary_attrs), 2, 2, 1, 1, check_binary},
    [THAW_OP_UNARY] = {"Unary", sizeof(thaw_unary_attrs), 1, 1, 1, 1, check_unary},
    [THAW_OP_SOFTMAX] = {"Softmax", sizeof(thaw_axis_attrs), 1, 1, 1, 1, check_axis},
    [THAW_OP_LAYER_NORM] = {"LayerNorm", sizeof(thaw_layer_norm_attrs), 2, 3, 1, 1,
                            check_layer_norm},
    [THAW_OP_MAX_POOL] = {"MaxPool", sizeof(thaw_pool_attrs), 1, 1, 1, 1, check_pool},
    [THAW_OP_AVERAGE_POOL] = {"AveragePool", sizeof(thaw_pool_attrs), 1, 1, 1, 1, check_pool},
    [THAW_OP_GLOBAL_AVERAGE_POOL] = {"GlobalAveragePool", 0, 1, 1, 1, 1, NULL},
    [THAW_OP_CONCAT] = {"Concat", sizeof(thaw_axis_attrs), 1, ANY_COUNT, 1, 1, check_axis},
    [THAW_OP_SPLIT] = {"Split", sizeof(thaw_axis_attrs), 1, 1, 1, ANY_COUNT, check_axis},
    [THAW_OP_SLICE] = {"Slice", sizeof(thaw_slice_attrs), 1, 1, 1, 1, check_slice},
    [THAW_OP_TRANSPOSE] = {"Transpose", sizeof(thaw_transpose_attrs), 1, 1, 1, 1,
                           check_transpose},
    [THAW_OP_RESHAPE] = {"Reshape", 0, 1, 1, 1, 1, NULL},
    [THAW_OP_GATHER] = {"Gather", sizeof(thaw_axis_attrs), 2, 2, 1, 1, check_axis},
    [THAW_OP_RESIZE] = {"Resize", sizeof(thaw_resize_attrs), 1, 1, 1, 1, check_resize},
    [THAW_OP_PAD] = {"Pad", sizeof(thaw_pad_attrs), 1, 1, 1, 1, check_pad},
    [THAW_OP_REDUCE_MEAN] = {"ReduceMean", sizeof(thaw_reduce_attrs), 1, 1, 1, 1, check_reduce},
    [THAW_OP_CAST] = {"Cast", 0, 1, 1, 1, 1, NULL},
    [THAW_OP_WHERE] = {"Where", 0, 3, 3, 1, 1, NULL},
    [THAW_OP_CHANNEL_AFFINE] = {"ChannelAffine", 0, 3, 3, 1, 1, NULL},
    [THAW_OP_EXPAND] = {"Expand", 0, 1, 1, 1, 1, NULL},
    [THAW_OP_QS8_MATMUL] = {"QS8MatMul", sizeof(thaw_qs8_matmul_attrs), 2, 3, 1, 1,
                            check_qs8_matmul},
    [THAW_OP_QS8_CONV] = {"QS8Conv", sizeof(thaw_qs8_conv_attrs), 2, 3, 1, 1, check_qs8_conv},
    [THAW_OP_QUANTIZE_LINEAR] = {"QuantizeLinear", sizeof(thaw_axis_attrs), 2, 3, 1, 1,
                                 check_axis},
    [THAW_OP_DEQUANTIZE_LINEAR] = {"DequantizeLinear", sizeof(thaw_axis_attrs), 2, 3, 1, 1,
                                   check_axis},
    [THAW_OP_DYNAMIC_QUANTIZE_LINEAR] = {"DynamicQuantizeLinear", 0, 1, 1, 3, 3, NULL},
    [THAW_OP_LSTM] = {"LSTM", sizeof(thaw_recurrent_attrs), 3, 6, 1, 3, check_recurrent},
    [THAW_OP_GRU] = {"GRU", sizeof(thaw_recurrent_attrs), 3, 6, 1, 2, check_recurrent},
    [THAW_OP_PERMUTED_MATMUL] = {"PermutedMatMul", sizeof(thaw_permuted_matmul_attrs), 2, 3, 1, 1,
                                 check_permuted_matmul},
    [THAW_OP_CONCAT_IN_PLACE] = {"ConcatInPlace", sizeof(thaw_axis_attrs), 1, ANY_COUNT, 1, 1,
                                 check_axis},
    [THAW_OP_QS8_GATHER] = {"QS8Gather", sizeof(thaw_axis_attrs), 3, 3, 1, 1, check_axis},
};

static const op_contract *find_contract(uint32_t op) {
  if (op > THAW_OP_MAX || kContracts[op].name == NULL) return NULL;
  return &kContracts[op];
}

const char *thaw_op_name(uint32_t op) {
  const op_contract *contract = find_contract(op);
  return contract != NULL ? contract->name : NULL;
}

size_t thaw_op_attrs_size(uint32_t op) {
  const op_contract *contract = find_contract(op);
  return contract != NULL ? contract->attrs_size : 0;
}

const char *thaw_unary_func_name(uint32_t func) {
  static const char *const kNames[THAW_UNARY_FUNC_MAX + 1] = {
      [THAW_UNARY_IDENTITY] = "identity",     [THAW_UNARY_RELU] = "relu",
      [THAW_UNARY_CLIP] = "clip",             [THAW_UNARY_SIGMOID] = "sigmoid",
      [THAW_UNARY_HARD_SIGMOID] = "hard_sigmoid", [THAW_UNARY_HARD_SWISH] = "hard_swish",
      [THAW_UNARY_TANH] = "tanh",             [THAW_UNARY_ERF] = "erf",
      [THAW_UNARY_GELU] = "gelu",             [THAW_UNARY_SILU] = "silu",
      [THAW_UNARY_LEAKY_RELU] = "leaky_relu", [THAW_UNARY_SQRT] = "sqrt",
      [THAW_UNARY_EXP] = "exp",               [THAW_UNARY_NEG] = "neg",
      [THAW_UNARY_ABS] = "abs",               [THAW_UNARY_RECIPROCAL] = "reciprocal",
      [THAW_UNARY_LOG] = "log",
  };
  return func <= THAW_UNARY_FUNC_MAX ? kNames[func] : NULL;
}

const char *thaw_binary_func_name(uint32_t func) {
  static const char *const kNames[THAW_BINARY_FUNC_MAX + 1] = {
      [THAW_BINARY_ADD] = "add", [THAW_BINARY_SUB] = "sub", [THAW_BINARY_MUL] = "mul",
      [THAW_BINARY_DIV] = "div", [THAW_BINARY_POW] = "pow", [THAW_BINARY_MAX] = "max",
      [THAW_BINARY_MIN] = "min",
  };
  return func <= THAW_BINARY_FUNC_MAX ? kNames[func] : NULL;
}

void thaw_op_attrs_decode(uint32_t op, const uint8_t *blob, void *attrs) {
  uint8_t *words = attrs;
  for (size_t offset = 0; offset < thaw_op_attrs_size(op); offset += 4) {
    uint32_t word = thaw_load_u32(blob + offset);
    memcpy(words + offset, &word, 4);
  }
}

void thaw_op_attrs_encode(uint32_t op, const void *attrs, uint8_t *blob) {
  const uint8_t *words = attrs;
  for (size_t offset = 0; offset < thaw_op_attrs_size(op); offset += 4) {
    uint32_t word;
    memcpy(&word, words + offset, 4);
    thaw_store_u32(blob + offset, word);
  }
}

static thaw_status check_count(const node_context *node, const char *what, uint32_t count,
                               uint32_t min, uint32_t max) {
  if (count >= min && count <= max) return THAW_OK;
  if (max == ANY_COUNT) {
    return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): %u %s, needs at least %u", node->name, node->op_name,
                          count, what, min);
  }
  return thaw_error_set(node->error, THAW_STATUS_CORRUPT,
                        "node '%s' (%s): %u %s, needs %u to %u", node->name, node->op_name, count,
                        what, min, max);
}

thaw_status thaw_op_check(uint32_t op, const char *node_name, uint32_t input_count,
                          uint32_t output_count, uint32_t input_rank, const uint8_t *attrs,
                          thaw_error *error) {
  const op_contract *contract = find_contract(op);
  if (contract == NULL) {
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "node '%s': unknown op %u", node_name,
                          op);
  }
  node_context node = {node_name, contract->name, op, input_rank, input_count, output_count,
                       error};
  thaw_status status =
      check_count(&node, "inputs", input_count, contract->min_inputs, contract->max_inputs);
  if (status != THAW_OK) return status;
  status = check_count(&node, "outputs", output_count, contract->min_outputs,
                       contract->max_outputs);
  if (status != THAW_OK) return status;
  return contract->check_attrs != NULL ? contract->check_attrs(&node, attrs) : THAW_OK;
}
