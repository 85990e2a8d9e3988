/*
 * LSTM and GRU nodes: the shape contract of FORMAT.md's "Recurrent ops" checked against the
 * tensor directory at open, and the call into the kernel table at run time. Like
 * runtime/prepare.c, this is what proves the kernel touches only its own tensors.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/model.h"

/* The operands a recurrent node lists, in order; an absent optional one is skipped. */
enum {
  OPERAND_X,
  OPERAND_W,
  OPERAND_R,
  OPERAND_BIAS,
  OPERAND_INITIAL_H,
  OPERAND_INITIAL_C,
  OPERAND_CANDIDATE_BIAS,
  OPERAND_Y,
  OPERAND_Y_H,
  OPERAND_Y_C,
  OPERAND_KINDS,
};

static const char *const kOperandNames[OPERAND_KINDS] = {
    "X", "W", "R", "B", "initial_h", "initial_c", "candidate bias", "Y", "Y_h", "Y_c",
};

/* The position of each operand kind among the node's operands, from the attribute bits;
 * UINT32_MAX for an absent one. */
static void locate_operands(uint32_t inputs, uint32_t outputs, uint32_t position[OPERAND_KINDS]) {
  static const struct {
    uint32_t kind, bit;
    bool output;
  } kOptional[] = {
      {OPERAND_BIAS, THAW_RECURRENT_INPUT_BIAS, false},
      {OPERAND_INITIAL_H, THAW_RECURRENT_INPUT_INITIAL_H, false},
      {OPERAND_INITIAL_C, THAW_RECURRENT_INPUT_INITIAL_C, false},
      {OPERAND_CANDIDATE_BIAS, THAW_RECURRENT_INPUT_CANDIDATE_BIAS, false},
      {OPERAND_Y, THAW_RECURRENT_OUTPUT_Y, true},
      {OPERAND_Y_H, THAW_RECURRENT_OUTPUT_Y_H, true},
      {OPERAND_Y_C, THAW_RECURRENT_OUTPUT_Y_C, true},
  };
  uint32_t next = 0;
  for (uint32_t kind = OPERAND_X; kind <= OPERAND_R; kind++) position[kind] = next++;
  for (size_t i = 0; i < sizeof kOptional / sizeof kOptional[0]; i++) {
    const bool present = ((kOptional[i].output ? outputs : inputs) & kOptional[i].bit) != 0;
    position[kOptional[i].kind] = present ? next++ : UINT32_MAX;
  }
}

typedef struct recurrent_check {
  const thaw_model *model;
  const thaw_prepared_node *node;
  uint32_t position[OPERAND_KINDS];
  thaw_error *error;
} recurrent_check;

static thaw_status fail(const recurrent_check *c, thaw_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static thaw_status fail(const recurrent_check *c, thaw_status status, const char *format, ...) {
  char detail[sizeof(((thaw_error *)0)->message)];
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(detail, sizeof detail, format, arguments);
  va_end(arguments);
  return thaw_error_set(c->error, status, "node \"%s\" (%s): %s", c->node->name,
                        thaw_op_name(c->node->op), detail);
}

static const thaw_format_tensor *operand_tensor(const recurrent_check *c, uint32_t kind) {
  const uint32_t position = c->position[kind];
  if (position == UINT32_MAX) return NULL;
  return &c->model->tensors[c->model->operand_tensors[c->node->first_operand + position]];
}

/* An operand, when present, is f32 of exactly `rank` dims `dims`. */
static thaw_status require_operand(const recurrent_check *c, uint32_t kind, uint32_t rank,
                                   const int64_t *dims) {
  const thaw_format_tensor *tensor = operand_tensor(c, kind);
  if (tensor == NULL) return THAW_OK;
  if (tensor->dtype != THAW_DTYPE_F32) {
    return fail(c, THAW_STATUS_UNSUPPORTED, "%s \"%s\" is %s; this op runs on f32 only",
                kOperandNames[kind], tensor->name, thaw_dtype_name(tensor->dtype));
  }
  bool same = tensor->rank == rank;
  for (uint32_t d = 0; same && d < rank; d++) same = tensor->shape[d] == dims[d];
  if (!same) {
    char actual[THAW_DIMS_TEXT_SIZE], expected[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(actual, sizeof actual, tensor->rank, tensor->shape);
    thaw_dims_text(expected, sizeof expected, rank, dims);
    return fail(c, THAW_STATUS_CORRUPT, "%s \"%s\" has shape %s, expected %s",
                kOperandNames[kind], tensor->name, actual, expected);
  }
  return THAW_OK;
}

thaw_status thaw_prepare_recurrent(const thaw_model *model, thaw_prepared_node *node,
                                   const uint8_t *attrs, thaw_error *error) {
  thaw_recurrent_attrs a;
  thaw_op_attrs_decode(node->op, attrs, &a);
  recurrent_check c = {.model = model, .node = node, .error = error};
  /* thaw_op_check proved the operand counts match these bits. */
  locate_operands(a.inputs, a.outputs, c.position);
  const bool batch_first = a.layout == 1;
  const thaw_format_tensor *x = operand_tensor(&c, OPERAND_X);
  if (x->rank != 3) {
    return fail(&c, THAW_STATUS_CORRUPT, "X \"%s\" has rank %" PRIu32 ", expected 3", x->name,
                x->rank);
  }
  const int64_t steps = x->shape[batch_first ? 1 : 0], batch = x->shape[batch_first ? 0 : 1];
  const int64_t input_size = x->shape[2], hidden = a.hidden_size;
  const int64_t directions = a.direction == THAW_RECURRENT_BIDIRECTIONAL ? 2 : 1;
  /* S is below 2^36 and there are at most two directions: no product here overflows. */
  const uint64_t direction_columns = thaw_recurrent_direction_columns(node->op, a.hidden_size);
  const int64_t columns = directions * (int64_t)direction_columns;

  const int64_t w_dims[2] = {input_size, columns}, r_dims[2] = {hidden, columns};
  const int64_t bias_dims[1] = {columns}, candidate_bias_dims[2] = {directions, hidden};
  const int64_t state_dims[3] = {batch_first ? batch : directions, batch_first ? directions : batch,
                                 hidden};
  const int64_t y_dims[4] = {batch_first ? batch : steps, batch_first ? steps : directions,
                             batch_first ? directions : batch, hidden};
  const struct {
    uint32_t kind, rank;
    const int64_t *dims;
  } kShapes[] = {
      {OPERAND_X, 3, x->shape},           {OPERAND_W, 2, w_dims},
      {OPERAND_R, 2, r_dims},             {OPERAND_BIAS, 1, bias_dims},
      {OPERAND_INITIAL_H, 3, state_dims}, {OPERAND_INITIAL_C, 3, state_dims},
      {OPERAND_CANDIDATE_BIAS, 2, candidate_bias_dims},
      {OPERAND_Y, 4, y_dims},             {OPERAND_Y_H, 3, state_dims},
      {OPERAND_Y_C, 3, state_dims},
  };
  for (size_t i = 0; i < sizeof kShapes / sizeof kShapes[0]; i++) {
    thaw_status status = require_operand(&c, kShapes[i].kind, kShapes[i].rank, kShapes[i].dims);
    if (status != THAW_OK) return status;
  }
  const size_t t = (size_t)steps, n = (size_t)batch, d = (size_t)directions;
  node->u.recurrent.inputs = a.inputs;
  node->u.recurrent.outputs = a.outputs;
  node->u.recurrent.params = (thaw_rnn_params){
      .cell = node->op == THAW_OP_LSTM ? THAW_RNN_LSTM : THAW_RNN_GRU,
      .steps = t,
      .batch = n,
      .input_size = (size_t)input_size,
      .hidden_size = a.hidden_size,
      .directions = d,
      .reverse = a.direction == THAW_RECURRENT_REVERSE,
      .linear_before_reset = a.linear_before_reset != 0,
      .w_packed = operand_tensor(&c, OPERAND_W)->layout == THAW_LAYOUT_F32_GEMM_PANEL16,
      .r_packed = operand_tensor(&c, OPERAND_R)->layout == THAW_LAYOUT_F32_GEMM_PANEL16,
      .direction_columns = (size_t)direction_columns,
      .candidate_column = (size_t)thaw_recurrent_gate_column(node->op, a.hidden_size, 2),
      .x_step_stride = batch_first ? 1 : n,
      .x_batch_stride = batch_first ? t : 1,
      .y_step_stride = batch_first ? d : d * n,
      .y_direction_stride = batch_first ? 1 : n,
      .y_batch_stride = batch_first ? t * d : 1,
      .state_direction_stride = batch_first ? 1 : n,
      .state_batch_stride = batch_first ? d : 1,
  };
  const size_t scratch = model->kernels->f32_rnn_scratch_size(&node->u.recurrent.params);
  if (scratch > THAW_FORMAT_MAX_ARENA_BYTES) {
    return fail(&c, THAW_STATUS_UNSUPPORTED,
                "its %" PRId64 " steps of %" PRId64 " x %" PRId64
                " gate columns need more than 2^40 bytes of scratch",
                steps, batch, columns);
  }
  node->scratch_bytes = scratch;
  return THAW_OK;
}

void thaw_run_recurrent(const thaw_kernels *kernels, const thaw_prepared_node *node,
                        void *const *operand, void *scratch) {
  uint32_t position[OPERAND_KINDS];
  locate_operands(node->u.recurrent.inputs, node->u.recurrent.outputs, position);
#define OPERAND(kind) (position[kind] != UINT32_MAX ? (float *)operand[position[kind]] : NULL)
  const thaw_rnn_tensors tensors = {
      .x = OPERAND(OPERAND_X),
      .w = OPERAND(OPERAND_W),
      .r = OPERAND(OPERAND_R),
      .bias = OPERAND(OPERAND_BIAS),
      .candidate_bias = OPERAND(OPERAND_CANDIDATE_BIAS),
      .initial_h = OPERAND(OPERAND_INITIAL_H),
      .initial_c = OPERAND(OPERAND_INITIAL_C),
      .y = OPERAND(OPERAND_Y),
      .y_h = OPERAND(OPERAND_Y_H),
      .y_c = OPERAND(OPERAND_Y_C),
  };
#undef OPERAND
  kernels->f32_rnn(&node->u.recurrent.params, &tensors, scratch);
}
