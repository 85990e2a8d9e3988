/*
 * ONNX nodes -> thaw ops. Each handler validates its node's attributes, infers its outputs'
 * dtypes and static shapes, and emits thaw nodes; a node whose inputs are all constant is
 * evaluated on the spot (fold.c runs it through the runtime), so shape sub-graphs collapse
 * into constants as they are met. Ops that exist only at conversion time (Shape, Range,
 * ConstantOfShape, comparisons, integer arithmetic) are computed here, on constants only.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

/* Bound to the outputs of a node that could not be lowered, so its consumers are skipped
 * quietly instead of repeating the same failure. */
#define CV_POISON (UINT32_MAX - 1)
/* The name of a value an earlier lowering computed as part of its own (a chain it absorbed):
 * the nodes reading it are skipped, their outputs being bound already or folded in turn. */
#define CV_FOLDED (UINT32_MAX - 2)
#define MAX_NODE_INPUTS 64

/* Where an ONNX value name appears: read by a node, produced by one, or a graph output. The
 * pattern checks of the lowerings ask who reads or produces a value; the whole graph's
 * appearances, sorted by name once per model, answer with a binary search where a scan of
 * the graph per question would take quadratic time on a model of many such patterns. */
typedef enum onnx_appearance_kind {
  ONNX_READ,
  ONNX_PRODUCED,
  ONNX_GRAPH_OUTPUT,
} onnx_appearance_kind;

typedef struct onnx_appearance {
  const char *name;
  const Onnx__NodeProto *node; /* NULL for a graph output */
  size_t node_index, slot;     /* slot: the input or output index in the node */
  onnx_appearance_kind kind;
} onnx_appearance;

typedef struct onnx_index {
  onnx_appearance *appearances; /* by name, then kind, then node order */
  size_t count;
} onnx_index;

typedef struct lowering {
  cv_graph *graph;
  const Onnx__NodeProto *node;
  const char *name; /* node name, or "#<index>" when the model has none */
  const char *op;
  const char *model_dir;
  const onnx_index *onnx_names; /* who reads and who produces each ONNX value */
  uint32_t in[MAX_NODE_INPUTS]; /* CV_NONE for an absent optional input */
  uint32_t in_count;
  thaw_error *error;
  /* The first attribute read as a type it does not have (Softmax's axis given as a float, say):
   * the node is refused rather than lowered with a default the file did not ask for. */
  const Onnx__AttributeProto *mistyped;
  Onnx__AttributeProto__AttributeType mistyped_expected;
} lowering;

static cv_value *val(const lowering *l, uint32_t id) { return &l->graph->values[id]; }

/* Reasons a model cannot be converted as given: recorded for the report, lowering goes on.
 * Returns false when the report cannot grow (the error then says out of memory). */
static bool record_refusal(lowering *l, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static bool record_refusal(lowering *l, const char *format, ...) {
  char reason[200];
  va_list args;
  va_start(args, format);
  vsnprintf(reason, sizeof(reason), format, args);
  va_end(args);
  if (cv_report_unsupported(l->graph, l->name, l->op, "%s", reason) == THAW_OK) return true;
  thaw_error_set(l->error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  return false;
}
/* A macro for the same reason as corrupt() below: the status is visible at the call site. */
#define refuse(l, ...) \
  (record_refusal((l), __VA_ARGS__) ? THAW_STATUS_UNSUPPORTED : THAW_STATUS_OUT_OF_MEMORY)

/* Structural errors (malformed model): conversion stops here. corrupt() is a macro so that its
 * status is a literal at every call site: helpers fill their outputs exactly when they return
 * THAW_OK, and the compiler can see that the failure branch never reads them. */
static void describe_corruption(lowering *l, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void describe_corruption(lowering *l, const char *format, ...) {
  char reason[200];
  va_list args;
  va_start(args, format);
  vsnprintf(reason, sizeof(reason), format, args);
  va_end(args);
  thaw_error_set(l->error, THAW_STATUS_CORRUPT, "node \"%s\" (%s): %s", l->name, l->op, reason);
}
#define corrupt(l, ...) (describe_corruption((l), __VA_ARGS__), THAW_STATUS_CORRUPT)

static thaw_status out_of_memory(lowering *l) {
  thaw_error_set(l->error, THAW_STATUS_OUT_OF_MEMORY, "node \"%s\" (%s): out of memory", l->name,
                 l->op);
  return THAW_STATUS_OUT_OF_MEMORY;
}

/* ---- Attributes ---- */

static const Onnx__AttributeProto *attribute(const lowering *l, const char *name) {
  for (size_t i = 0; i < l->node->n_attribute; ++i)
    if (l->node->attribute[i]->name && strcmp(l->node->attribute[i]->name, name) == 0)
      return l->node->attribute[i];
  return NULL;
}

static const char *attribute_type_name(Onnx__AttributeProto__AttributeType type) {
  const ProtobufCEnumValue *value =
      protobuf_c_enum_descriptor_get_value(&onnx__attribute_proto__attribute_type__descriptor, type);
  return value ? value->name : "an unknown type";
}

/* The attribute `name` when it has `type`; NULL when absent. One of another type is remembered
 * in l->mistyped (and NULL returned), so the caller's fallback never hides it. */
static const Onnx__AttributeProto *typed_attribute(lowering *l, const char *name,
                                                   Onnx__AttributeProto__AttributeType type) {
  const Onnx__AttributeProto *a = attribute(l, name);
  if (a == NULL || a->type == type) return a;
  if (l->mistyped == NULL) {
    l->mistyped = a;
    l->mistyped_expected = type;
  }
  return NULL;
}

static int64_t attr_int(lowering *l, const char *name, int64_t fallback) {
  const Onnx__AttributeProto *a =
      typed_attribute(l, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  return a ? a->i : fallback;
}

static float attr_float(lowering *l, const char *name, float fallback) {
  const Onnx__AttributeProto *a =
      typed_attribute(l, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  return a ? a->f : fallback;
}

/* Copies a string attribute (NUL-terminated, truncated to the buffer) or the fallback. */
static const char *attr_string(lowering *l, const char *name, const char *fallback,
                               char buffer[64]) {
  const Onnx__AttributeProto *a =
      typed_attribute(l, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  if (!a) return fallback;
  /* An empty string attribute has no data pointer at all. */
  const size_t length = a->s.data == NULL ? 0 : a->s.len < 63 ? a->s.len : 63;
  if (length > 0) memcpy(buffer, a->s.data, length);
  buffer[length] = '\0';
  return buffer;
}

/* Returns the number of ints (up to `capacity`), or -1 when absent or longer. */
static int attr_ints(lowering *l, const char *name, int64_t *out, size_t capacity) {
  const Onnx__AttributeProto *a =
      typed_attribute(l, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  if (!a || a->n_ints > capacity) return -1;
  for (size_t i = 0; i < a->n_ints; ++i) out[i] = a->ints[i];
  return (int)a->n_ints;
}

/* ---- Values ---- */

static bool is_constant(const lowering *l, uint32_t id) {
  return id != CV_NONE && val(l, id)->data != NULL;
}

static thaw_status require_input(lowering *l, uint32_t index) {
  if (index < l->in_count && l->in[index] != CV_NONE) return THAW_OK;
  return corrupt(l, "input %" PRIu32 " is missing", index);
}

static thaw_status require_f32(lowering *l, uint32_t id, const char *role) {
  if (val(l, id)->dtype == THAW_DTYPE_F32) return THAW_OK;
  return refuse(l, "%s \"%s\" is %s; only f32 is supported here", role, val(l, id)->name,
                thaw_dtype_name(val(l, id)->dtype));
}

static thaw_status require_constant(lowering *l, uint32_t id, const char *role) {
  if (is_constant(l, id)) return THAW_OK;
  return refuse(l, "%s \"%s\" must be a constant (it is computed at run time)", role,
                val(l, id)->name);
}

/* Element i of an integer or float constant as int64 / double. */
static int64_t element_i64(const cv_value *v, uint64_t i) {
  switch (v->dtype) {
    case THAW_DTYPE_I64: { int64_t x; memcpy(&x, v->data + i * 8, 8); return x; }
    case THAW_DTYPE_I32: { int32_t x; memcpy(&x, v->data + i * 4, 4); return x; }
    case THAW_DTYPE_F32: { float x; memcpy(&x, v->data + i * 4, 4); return (int64_t)x; }
    case THAW_DTYPE_I8: return (int8_t)v->data[i];
    default: return v->data[i];
  }
}

static double element_f64(const cv_value *v, uint64_t i) {
  if (v->dtype == THAW_DTYPE_F32) {
    float x;
    memcpy(&x, v->data + i * 4, 4);
    return x;
  }
  return (double)element_i64(v, i);
}

static void store_element(uint8_t *data, thaw_dtype dtype, uint64_t i, double real,
                          int64_t integer) {
  switch (dtype) {
    case THAW_DTYPE_F32: { float x = (float)real; memcpy(data + i * 4, &x, 4); break; }
    case THAW_DTYPE_I64: memcpy(data + i * 8, &integer, 8); break;
    case THAW_DTYPE_I32: { int32_t x = (int32_t)integer; memcpy(data + i * 4, &x, 4); break; }
    default: data[i] = (uint8_t)integer; break;
  }
}

/* Read a 1-D (or scalar) integer constant into `out`; -1 when it is longer than capacity. */
static int constant_ints(const lowering *l, uint32_t id, int64_t *out, size_t capacity) {
  const cv_value *v = val(l, id);
  if (v->rank > 1 || v->element_count > capacity) return -1;
  if (v->dtype != THAW_DTYPE_I64 && v->dtype != THAW_DTYPE_I32) return -1;
  for (uint64_t i = 0; i < v->element_count; ++i) out[i] = element_i64(v, i);
  return (int)v->element_count;
}

static thaw_status scalar_float(lowering *l, uint32_t id, const char *role, float *out) {
  thaw_status status = require_constant(l, id, role);
  if (status != THAW_OK) return status;
  const cv_value *v = val(l, id);
  if (v->element_count != 1) return corrupt(l, "%s must hold one value", role);
  *out = (float)element_f64(v, 0);
  return THAW_OK;
}

/* Normalise an axis in [-rank, rank) to [0, rank). */
static thaw_status normalize_axis(lowering *l, int64_t axis, uint32_t rank, uint32_t *out) {
  if (axis < -(int64_t)rank || axis >= (int64_t)rank)
    return corrupt(l, "axis %" PRId64 " is outside rank %" PRIu32, axis, rank);
  *out = (uint32_t)(axis < 0 ? axis + rank : axis);
  return THAW_OK;
}

/* The value for ONNX output `index` of the node, bound to its name. */
static thaw_status new_output(lowering *l, uint32_t index, thaw_dtype dtype, uint32_t rank,
                              const int64_t *shape, uint32_t *id) {
  if (index >= l->node->n_output || !l->node->output[index] || !l->node->output[index][0])
    return corrupt(l, "output %" PRIu32 " is missing", index);
  const char *name = l->node->output[index];
  if (cv_lookup_name(l->graph, name) != CV_NONE)
    return corrupt(l, "output \"%s\" is already defined", name);
  *id = cv_add_value(l->graph, name, dtype, rank, shape);
  if (*id == CV_NONE) return corrupt(l, "output \"%s\" is too large", name);
  return cv_bind_name(l->graph, name, *id, l->error);
}

/* An intermediate value of a multi-op lowering. */
static thaw_status new_temp(lowering *l, const char *suffix, thaw_dtype dtype, uint32_t rank,
                            const int64_t *shape, uint32_t *id) {
  *id = cv_add_derived_value(l->graph, l->node->output[0], suffix, dtype, rank, shape);
  return *id == CV_NONE ? corrupt(l, "intermediate tensor is too large") : THAW_OK;
}

/* Output `index` is the same tensor as `value` (Identity, no-op Cast...). */
static thaw_status alias_output(lowering *l, uint32_t index, uint32_t value) {
  if (index >= l->node->n_output || !l->node->output[index] || !l->node->output[index][0])
    return corrupt(l, "output %" PRIu32 " is missing", index);
  return cv_bind_name(l->graph, l->node->output[index], value, l->error);
}

/* The runtime has no zero-size tensors. A constant node whose outputs are all empty folds to
 * empty constants without running; anything else touching an empty tensor is refused. */
static thaw_status fold_empty_outputs(lowering *l, bool foldable, const uint32_t *inputs,
                                      uint32_t input_count, const uint32_t *outputs,
                                      uint32_t output_count, bool *folded) {
  *folded = false;
  uint32_t empty_outputs = 0, empty_value = CV_NONE;
  for (uint32_t i = 0; i < output_count; ++i)
    if (val(l, outputs[i])->element_count == 0) empty_outputs++, empty_value = outputs[i];
  for (uint32_t i = 0; i < input_count && empty_value == CV_NONE; ++i)
    if (inputs[i] != CV_NONE && val(l, inputs[i])->element_count == 0) empty_value = inputs[i];
  if (empty_value == CV_NONE) return THAW_OK;
  if (!foldable || empty_outputs != output_count)
    return refuse(l, "zero-size tensor \"%s\" is not supported", val(l, empty_value)->name);
  for (uint32_t i = 0; i < output_count; ++i) {
    val(l, outputs[i])->data = malloc(1);
    if (!val(l, outputs[i])->data) return out_of_memory(l);
  }
  *folded = true;
  return THAW_OK;
}

/* Append a thaw node; when every input is constant, evaluate it now instead. */
static thaw_status emit(lowering *l, uint32_t op, const cv_attrs *attrs, const uint32_t *inputs,
                        uint32_t input_count, const uint32_t *outputs, uint32_t output_count) {
  bool foldable = true;
  for (uint32_t i = 0; i < input_count; ++i)
    if (inputs[i] != CV_NONE && !is_constant(l, inputs[i])) foldable = false;
  bool folded;
  thaw_status status = fold_empty_outputs(l, foldable, inputs, input_count, outputs, output_count,
                                          &folded);
  if (status != THAW_OK || folded) return status;
  uint32_t node = cv_add_node(l->graph, op, l->name, attrs, inputs, input_count, outputs,
                              output_count);
  if (node == CV_NONE) return out_of_memory(l);
  if (!foldable) return THAW_OK;
  status = cv_fold_node(l->graph, &l->graph->nodes[node], l->error);
  l->graph->nodes[node].op = 0;
  for (uint32_t i = 0; i < output_count; ++i) l->graph->values[outputs[i]].producer = CV_NONE;
  return status;
}

static thaw_status emit1(lowering *l, uint32_t op, const cv_attrs *attrs, const uint32_t *inputs,
                         uint32_t input_count, uint32_t output) {
  return emit(l, op, attrs, inputs, input_count, &output, 1);
}

/* Same bytes, new shape: a RESHAPE node, or a reshaped copy of a constant. */
static thaw_status reshape_into(lowering *l, uint32_t input, uint32_t output) {
  cv_value *in = val(l, input);
  if (in->element_count != val(l, output)->element_count)
    return corrupt(l, "cannot reshape %" PRIu64 " elements of \"%s\" into %" PRIu64, in->element_count,
                   in->name, val(l, output)->element_count);
  if (in->data) {
    uint64_t bytes = cv_value_bytes(in);
    uint8_t *copy = malloc(bytes ? bytes : 1);
    if (!copy) return out_of_memory(l);
    if (bytes) memcpy(copy, in->data, bytes);
    val(l, output)->data = copy;
    return THAW_OK;
  }
  return emit1(l, THAW_OP_RESHAPE, NULL, &input, 1, output);
}

static thaw_status reshape_output(lowering *l, uint32_t input, uint32_t rank,
                                  const int64_t *shape) {
  uint32_t output;
  thaw_status status = new_output(l, 0, val(l, input)->dtype, rank, shape, &output);
  return status != THAW_OK ? status : reshape_into(l, input, output);
}

/* NumPy broadcasting of two shapes. */
static thaw_status broadcast(lowering *l, const cv_value *a, const cv_value *b, uint32_t *rank,
                             int64_t *shape) {
  *rank = a->rank > b->rank ? a->rank : b->rank;
  for (uint32_t d = 0; d < *rank; ++d) {
    int64_t da = d + a->rank >= *rank ? a->shape[d + a->rank - *rank] : 1;
    int64_t db = d + b->rank >= *rank ? b->shape[d + b->rank - *rank] : 1;
    if (da != db && da != 1 && db != 1)
      return corrupt(l, "shapes of \"%s\" and \"%s\" do not broadcast (dim %" PRId64 " vs %" PRId64 ")",
                     a->name, b->name, da, db);
    shape[d] = da == 1 ? db : da;
  }
  return THAW_OK;
}

/* ---- Conversion-time-only ops (constants in, constant out) ---- */

static thaw_status constant_output(lowering *l, uint32_t index, thaw_dtype dtype, uint32_t rank,
                                   const int64_t *shape, uint8_t **data) {
  /* Checked before the output exists, so that the nodes reading it are skipped. */
  uint64_t count;
  if (cv_element_count(rank, shape, &count)) {
    thaw_status status = cv_check_computed_constant(l->graph, l->in, l->in_count,
                                                    count * thaw_dtype_size(dtype), l->error);
    if (status != THAW_OK) return status;
  }
  uint32_t id;
  thaw_status status = new_output(l, index, dtype, rank, shape, &id);
  if (status != THAW_OK) return status;
  uint64_t bytes = cv_value_bytes(val(l, id));
  val(l, id)->data = calloc(bytes ? bytes : 1, 1);
  if (!val(l, id)->data) return out_of_memory(l);
  *data = val(l, id)->data;
  return THAW_OK;
}

/* Offset of output element `index` read from `v` under NumPy broadcasting to `shape`. */
static uint64_t broadcast_source(const cv_value *v, uint32_t rank, const int64_t *shape,
                                 uint64_t index) {
  uint64_t offset = 0, stride = 1;
  for (uint32_t d = rank; d-- > 0;) {
    uint64_t coordinate = index % (uint64_t)shape[d];
    index /= (uint64_t)shape[d];
    if (d + v->rank >= rank) {
      int64_t dim = v->shape[d + v->rank - rank];
      if (dim != 1) offset += coordinate * stride;
      stride *= (uint64_t)dim;
    }
  }
  return offset;
}

typedef enum { ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_DIV, ARITH_MOD, ARITH_MAX, ARITH_MIN,
               COMPARE_EQUAL, COMPARE_LESS, COMPARE_LESS_EQUAL, COMPARE_GREATER,
               COMPARE_GREATER_EQUAL, LOGIC_AND, LOGIC_OR } constant_func;

static thaw_status constant_elementwise(lowering *l, constant_func func) {
  const cv_value *a = val(l, l->in[0]), *b = val(l, l->in[1]);
  if (a->dtype != b->dtype)
    return corrupt(l, "operands are %s and %s", thaw_dtype_name(a->dtype), thaw_dtype_name(b->dtype));
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  thaw_status status = broadcast(l, a, b, &rank, shape);
  if (status != THAW_OK) return status;
  bool compare = func >= COMPARE_EQUAL;
  thaw_dtype out_dtype = compare ? THAW_DTYPE_BOOL : a->dtype;
  uint8_t *data;
  status = constant_output(l, 0, out_dtype, rank, shape, &data);
  if (status != THAW_OK) return status;
  a = val(l, l->in[0]);
  b = val(l, l->in[1]);
  uint64_t count = val(l, cv_lookup_name(l->graph, l->node->output[0]))->element_count;
  bool real = a->dtype == THAW_DTYPE_F32;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t ia = broadcast_source(a, rank, shape, i), ib = broadcast_source(b, rank, shape, i);
    double x = element_f64(a, ia), y = element_f64(b, ib);
    int64_t p = element_i64(a, ia), q = element_i64(b, ib);
    double r = 0;
    int64_t n = 0;
    switch (func) {
      case ARITH_ADD: r = x + y; n = (int64_t)((uint64_t)p + (uint64_t)q); break;
      case ARITH_SUB: r = x - y; n = (int64_t)((uint64_t)p - (uint64_t)q); break;
      case ARITH_MUL: r = x * y; n = (int64_t)((uint64_t)p * (uint64_t)q); break;
      case ARITH_DIV:
      case ARITH_MOD:
        if (!real && (q == 0 || (p == INT64_MIN && q == -1)))
          return corrupt(l, "integer division of %" PRId64 " by %" PRId64, p, q);
        if (func == ARITH_DIV) {
          r = x / y;
          n = p / q;
        } else {
          /* ONNX Mod with fmod=0 takes the divisor's sign, like Python. */
          r = fmod(x, y);
          n = p % q;
          if (n != 0 && ((n < 0) != (q < 0))) n += q;
        }
        break;
      case ARITH_MAX: r = x > y ? x : y; n = p > q ? p : q; break;
      case ARITH_MIN: r = x < y ? x : y; n = p < q ? p : q; break;
      case COMPARE_EQUAL: n = real ? x == y : p == q; break;
      case COMPARE_LESS: n = real ? x < y : p < q; break;
      case COMPARE_LESS_EQUAL: n = real ? x <= y : p <= q; break;
      case COMPARE_GREATER: n = real ? x > y : p > q; break;
      case COMPARE_GREATER_EQUAL: n = real ? x >= y : p >= q; break;
      case LOGIC_AND: n = p && q; break;
      case LOGIC_OR: n = p || q; break;
    }
    store_element(data, out_dtype, i, r, n);
  }
  return THAW_OK;
}

static thaw_status lower_shape(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t rank = x->rank;
  int64_t start = attr_int(l, "start", 0), end = attr_int(l, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = start < 0 ? 0 : start > rank ? rank : start;
  end = end < start ? start : end > rank ? rank : end;
  int64_t length = end - start;
  int64_t dims[THAW_MAX_RANK];
  memcpy(dims, x->shape, sizeof(dims));
  uint8_t *data;
  thaw_status status = constant_output(l, 0, THAW_DTYPE_I64, 1, &length, &data);
  if (status == THAW_OK && length) memcpy(data, dims + start, (size_t)length * 8);
  return status;
}

static thaw_status lower_size(lowering *l) {
  int64_t count = (int64_t)val(l, l->in[0])->element_count;
  uint8_t *data;
  thaw_status status = constant_output(l, 0, THAW_DTYPE_I64, 0, NULL, &data);
  if (status == THAW_OK) memcpy(data, &count, 8);
  return status;
}

static thaw_status lower_constant_of_shape(lowering *l) {
  thaw_status status = require_constant(l, l->in[0], "shape");
  if (status != THAW_OK) return status;
  int64_t shape[THAW_MAX_RANK];
  int rank = constant_ints(l, l->in[0], shape, THAW_MAX_RANK);
  if (rank < 0) return refuse(l, "shape must be a 1-D integer constant of at most %d dims", THAW_MAX_RANK);
  thaw_dtype dtype = THAW_DTYPE_F32;
  uint8_t fill[8] = {0};
  const Onnx__AttributeProto *value = attribute(l, "value");
  if (value && value->t) {
    uint8_t *element;
    uint32_t value_rank;
    int64_t value_shape[THAW_MAX_RANK];
    status = cv_read_tensor(value->t, l->model_dir, l->name, &dtype, &value_rank, value_shape,
                            &element, l->error);
    if (status == THAW_STATUS_UNSUPPORTED) return refuse(l, "%s", l->error->message);
    if (status != THAW_OK) return status;
    uint64_t count;
    bool single = cv_element_count(value_rank, value_shape, &count) && count == 1;
    if (single) memcpy(fill, element, thaw_dtype_size(dtype));
    free(element);
    if (!single) return corrupt(l, "attribute value must hold one element");
  }
  uint8_t *data;
  status = constant_output(l, 0, dtype, (uint32_t)rank, shape, &data);
  if (status != THAW_OK) return status;
  size_t element_size = thaw_dtype_size(dtype);
  uint64_t count = val(l, cv_lookup_name(l->graph, l->node->output[0]))->element_count;
  for (uint64_t i = 0; i < count; ++i) memcpy(data + i * element_size, fill, element_size);
  return THAW_OK;
}

static thaw_status lower_range(lowering *l) {
  for (uint32_t i = 0; i < 3; ++i) {
    thaw_status status = require_input(l, i);
    if (status == THAW_OK) status = require_constant(l, l->in[i], "Range operand");
    if (status != THAW_OK) return status;
    if (val(l, l->in[i])->element_count != 1) return corrupt(l, "operand %" PRIu32 " is not a scalar", i);
  }
  const cv_value *start = val(l, l->in[0]);
  thaw_dtype dtype = start->dtype;
  double first = element_f64(start, 0), limit = element_f64(val(l, l->in[1]), 0),
         delta = element_f64(val(l, l->in[2]), 0);
  if (delta == 0) return corrupt(l, "delta is 0");
  double steps = ceil((limit - first) / delta);
  if (steps > (double)(1 << 30)) return corrupt(l, "range of %.0f elements is too long", steps);
  int64_t count = steps > 0 ? (int64_t)steps : 0;
  int64_t first_integer = element_i64(start, 0), delta_integer = element_i64(val(l, l->in[2]), 0);
  uint8_t *data;
  thaw_status status = constant_output(l, 0, dtype, 1, &count, &data);
  for (int64_t i = 0; status == THAW_OK && i < count; ++i)
    store_element(data, dtype, (uint64_t)i, first + (double)i * delta,
                  first_integer + i * delta_integer);
  return status;
}

static thaw_status lower_constant(lowering *l) {
  const Onnx__AttributeProto *a = NULL;
  for (size_t i = 0; i < l->node->n_attribute && !a; ++i) a = l->node->attribute[i];
  if (!a || !a->name) return corrupt(l, "Constant without a value attribute");
  uint32_t id;
  thaw_status status;
  if (strcmp(a->name, "value") == 0 && a->t) {
    thaw_dtype dtype;
    uint32_t rank;
    int64_t shape[THAW_MAX_RANK];
    uint8_t *data;
    status = cv_read_tensor(a->t, l->model_dir, l->name, &dtype, &rank, shape, &data, l->error);
    if (status == THAW_STATUS_UNSUPPORTED) return refuse(l, "%s", l->error->message);
    if (status != THAW_OK) return status;
    status = new_output(l, 0, dtype, rank, shape, &id);
    if (status != THAW_OK) {
      free(data);
      return status;
    }
    val(l, id)->data = data;
    return THAW_OK;
  }
  bool floats = strcmp(a->name, "value_float") == 0 || strcmp(a->name, "value_floats") == 0;
  bool ints = strcmp(a->name, "value_int") == 0 || strcmp(a->name, "value_ints") == 0;
  if (!floats && !ints) return refuse(l, "attribute %s is not supported", a->name);
  bool list = a->name[strlen(a->name) - 1] == 's';
  int64_t count = list ? (int64_t)(floats ? a->n_floats : a->n_ints) : 1;
  uint8_t *data;
  status = constant_output(l, 0, floats ? THAW_DTYPE_F32 : THAW_DTYPE_I64, list ? 1 : 0, &count,
                           &data);
  if (status != THAW_OK) return status;
  if (floats)
    memcpy(data, list ? a->floats : &a->f, (size_t)count * 4);
  else
    memcpy(data, list ? a->ints : &a->i, (size_t)count * 8);
  return THAW_OK;
}

/* ---- Elementwise ---- */

static thaw_status emit_binary(lowering *l, uint32_t func, uint32_t a, uint32_t b,
                               uint32_t output_index_or_temp, uint32_t *result) {
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  thaw_status status = broadcast(l, val(l, a), val(l, b), &rank, shape);
  if (status != THAW_OK) return status;
  if (output_index_or_temp == CV_NONE)
    status = new_temp(l, "binary", THAW_DTYPE_F32, rank, shape, result);
  else
    status = new_output(l, output_index_or_temp, THAW_DTYPE_F32, rank, shape, result);
  if (status != THAW_OK) return status;
  cv_attrs attrs = {.binary = {.func = func}};
  uint32_t inputs[2] = {a, b};
  return emit1(l, THAW_OP_BINARY, &attrs, inputs, 2, *result);
}

/* An f32 constant holding `source` converted, for operands of mixed dtype (Pow exponents). */
static thaw_status as_f32_constant(lowering *l, uint32_t source, uint32_t *converted) {
  const cv_value *v = val(l, source);
  float *data = malloc(v->element_count ? v->element_count * 4 : 1);
  if (!data) return out_of_memory(l);
  for (uint64_t i = 0; i < v->element_count; ++i) data[i] = (float)element_f64(v, i);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, v->shape, sizeof(shape));
  *converted = cv_add_constant(l->graph, v->name, THAW_DTYPE_F32, v->rank, shape, data);
  free(data);
  return *converted == CV_NONE ? out_of_memory(l) : THAW_OK;
}

static thaw_status lower_binary(lowering *l, uint32_t func, constant_func integer_func) {
  thaw_status status = require_input(l, 0);
  if (status == THAW_OK) status = require_input(l, 1);
  if (status != THAW_OK) return status;
  uint32_t a = l->in[0], b = l->in[1];
  if (val(l, a)->dtype != THAW_DTYPE_F32 || val(l, b)->dtype != THAW_DTYPE_F32) {
    if (func == THAW_BINARY_POW && val(l, a)->dtype == THAW_DTYPE_F32 && is_constant(l, b)) {
      status = as_f32_constant(l, b, &b);
      if (status != THAW_OK) return status;
    } else if (is_constant(l, a) && is_constant(l, b) && func != THAW_BINARY_POW) {
      return constant_elementwise(l, integer_func);
    } else {
      return refuse(l, "operands are %s and %s; run-time arithmetic is f32 only",
                    thaw_dtype_name(val(l, a)->dtype), thaw_dtype_name(val(l, b)->dtype));
    }
  }
  uint32_t output;
  return emit_binary(l, func, a, b, 0, &output);
}

/* Max, Min, Sum: a chain of binary ops over 1..n inputs. */
static thaw_status lower_variadic(lowering *l, uint32_t func, constant_func integer_func) {
  if (l->in_count == 0) return corrupt(l, "no inputs");
  if (l->in_count == 2) return lower_binary(l, func, integer_func);
  if (l->in_count == 1) return alias_output(l, 0, l->in[0]);
  /* Every operand, the first included: the chain of Binary nodes runs on f32 only. */
  uint32_t accumulated = l->in[0];
  for (uint32_t i = 0; i < l->in_count; ++i) {
    thaw_status status = require_input(l, i);
    if (status == THAW_OK) status = require_f32(l, l->in[i], "operand");
    if (status == THAW_OK && i > 0)
      status = emit_binary(l, func, accumulated, l->in[i], i + 1 == l->in_count ? 0 : CV_NONE,
                           &accumulated);
    if (status != THAW_OK) return status;
  }
  return THAW_OK;
}

static thaw_status lower_compare(lowering *l, constant_func func) {
  thaw_status status = require_input(l, 0);
  if (status == THAW_OK) status = require_input(l, 1);
  if (status == THAW_OK) status = require_constant(l, l->in[0], "operand");
  if (status == THAW_OK) status = require_constant(l, l->in[1], "operand");
  return status == THAW_OK ? constant_elementwise(l, func) : status;
}

static thaw_status lower_not(lowering *l) {
  thaw_status status = require_constant(l, l->in[0], "operand");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint8_t *data;
  status = constant_output(l, 0, THAW_DTYPE_BOOL, x->rank, shape, &data);
  x = val(l, l->in[0]);
  for (uint64_t i = 0; status == THAW_OK && i < x->element_count; ++i) data[i] = !x->data[i];
  return status;
}

/* Neg and Abs of an integer constant (axis arithmetic in expanded functions). */
static thaw_status constant_integer_unary(lowering *l, uint32_t func) {
  const cv_value *x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint8_t *data;
  thaw_status status = constant_output(l, 0, x->dtype, x->rank, shape, &data);
  x = val(l, l->in[0]);
  for (uint64_t i = 0; status == THAW_OK && i < x->element_count; ++i) {
    int64_t element = element_i64(x, i);
    bool negate = func == THAW_UNARY_NEG || element < 0;
    /* Wraps like the two's complement arithmetic ONNX Runtime does. */
    int64_t result = negate ? (int64_t)(0 - (uint64_t)element) : element;
    store_element(data, x->dtype, i, (double)result, result);
  }
  return status;
}

static thaw_status emit_unary(lowering *l, uint32_t func, float alpha, float beta) {
  thaw_status status = require_input(l, 0);
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  bool integer = x->dtype == THAW_DTYPE_I64 || x->dtype == THAW_DTYPE_I32 ||
                 x->dtype == THAW_DTYPE_I8;
  if (integer && is_constant(l, l->in[0]) && (func == THAW_UNARY_NEG || func == THAW_UNARY_ABS))
    return constant_integer_unary(l, func);
  status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  if (status != THAW_OK) return status;
  cv_attrs attrs = {.unary = {.func = func, .alpha = alpha, .beta = beta}};
  return emit1(l, THAW_OP_UNARY, &attrs, l->in, 1, output);
}

static thaw_status lower_clip(lowering *l) {
  float low = -FLT_MAX, high = FLT_MAX;
  if (l->graph->opset < 11) {
    low = attr_float(l, "min", low);
    high = attr_float(l, "max", high);
  } else {
    thaw_status status = THAW_OK;
    if (l->in_count > 1 && l->in[1] != CV_NONE) status = scalar_float(l, l->in[1], "min", &low);
    if (status == THAW_OK && l->in_count > 2 && l->in[2] != CV_NONE)
      status = scalar_float(l, l->in[2], "max", &high);
    if (status != THAW_OK) return status;
  }
  return emit_unary(l, THAW_UNARY_CLIP, low, high);
}

static thaw_status lower_where(lowering *l) {
  for (uint32_t i = 0; i < 3; ++i) {
    thaw_status status = require_input(l, i);
    if (status != THAW_OK) return status;
  }
  const cv_value *condition = val(l, l->in[0]), *x = val(l, l->in[1]), *y = val(l, l->in[2]);
  if (condition->dtype != THAW_DTYPE_BOOL) return corrupt(l, "condition is not bool");
  if (x->dtype != y->dtype) return corrupt(l, "X and Y have different dtypes");
  uint32_t rank_xy, rank;
  int64_t shape_xy[THAW_MAX_RANK], shape[THAW_MAX_RANK];
  thaw_status status = broadcast(l, x, y, &rank_xy, shape_xy);
  if (status != THAW_OK) return status;
  cv_value xy = {.name = x->name, .rank = rank_xy};
  memcpy(xy.shape, shape_xy, sizeof(shape_xy));
  status = broadcast(l, condition, &xy, &rank, shape);
  if (status != THAW_OK) return status;
  uint32_t output;
  status = new_output(l, 0, x->dtype, rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_WHERE, NULL, l->in, 3, output) : status;
}

static thaw_status lower_cast(lowering *l) {
  thaw_dtype to = cv_dtype_from_onnx((int32_t)attr_int(l, "to", 0));
  if (!to) return refuse(l, "cast to ONNX type %" PRId64 " is not supported", attr_int(l, "to", 0));
  const cv_value *x = val(l, l->in[0]);
  if (x->dtype == to) {
    l->graph->report->counts[THAW_CONVERT_DROPPED_IDENTITY]++;
    return alias_output(l, 0, l->in[0]);
  }
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t output;
  thaw_status status = new_output(l, 0, to, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_CAST, NULL, l->in, 1, output) : status;
}

/* ---- Shape manipulation ---- */

static thaw_status lower_reshape(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_constant(l, l->in[1], "shape");
  if (status != THAW_OK) return status;
  int64_t shape[THAW_MAX_RANK];
  int rank = constant_ints(l, l->in[1], shape, THAW_MAX_RANK);
  if (rank < 0) return refuse(l, "shape must be a 1-D integer constant of at most %d dims", THAW_MAX_RANK);
  const cv_value *x = val(l, l->in[0]);
  bool allow_zero = attr_int(l, "allowzero", 0) != 0;
  int inferred = -1;
  uint64_t known = 1;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 0 && !allow_zero) {
      if ((uint32_t)d >= x->rank) return corrupt(l, "shape copies dim %d of a rank-%" PRIu32 " input", d, x->rank);
      shape[d] = x->shape[d];
    }
    if (shape[d] == -1) {
      if (inferred >= 0) return corrupt(l, "shape has two -1 dims");
      inferred = d;
      continue;
    }
    if (shape[d] < 0) return corrupt(l, "shape has dim %" PRId64, shape[d]);
    if (shape[d] && known > UINT64_MAX / (uint64_t)shape[d]) return corrupt(l, "shape overflows");
    known *= (uint64_t)shape[d];
  }
  if (inferred >= 0) {
    if (known == 0 || x->element_count % known)
      return corrupt(l, "cannot infer the -1 dim: %" PRIu64 " elements over %" PRIu64, x->element_count, known);
    shape[inferred] = (int64_t)(x->element_count / known);
  }
  return reshape_output(l, l->in[0], (uint32_t)rank, shape);
}

static thaw_status lower_flatten(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t axis = attr_int(l, "axis", 1);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis > (int64_t)x->rank) return corrupt(l, "axis is outside the rank");
  int64_t shape[2] = {1, 1};
  for (uint32_t d = 0; d < x->rank; ++d) shape[(int64_t)d < axis ? 0 : 1] *= x->shape[d];
  return reshape_output(l, l->in[0], 2, shape);
}

/* Axes from the attribute (opset < 13) or the second input (13+). */
static thaw_status axes_argument(lowering *l, int64_t since_opset_input, int64_t *axes, int *count) {
  if (l->graph->opset < since_opset_input) {
    *count = attr_ints(l, "axes", axes, THAW_MAX_RANK);
    return THAW_OK;
  }
  *count = -1;
  if (l->in_count < 2 || l->in[1] == CV_NONE) return THAW_OK;
  thaw_status status = require_constant(l, l->in[1], "axes");
  if (status != THAW_OK) return status;
  *count = constant_ints(l, l->in[1], axes, THAW_MAX_RANK);
  if (*count < 0) return refuse(l, "axes must be a 1-D integer constant");
  return THAW_OK;
}

static thaw_status lower_squeeze(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t axes[THAW_MAX_RANK];
  int count;
  thaw_status status = axes_argument(l, 13, axes, &count);
  if (status != THAW_OK) return status;
  bool drop[THAW_MAX_RANK] = {false};
  for (int i = 0; i < count; ++i) {
    uint32_t axis;
    status = normalize_axis(l, axes[i], x->rank, &axis);
    if (status != THAW_OK) return status;
    if (x->shape[axis] != 1) return corrupt(l, "cannot squeeze dim %" PRIu32 " of size %" PRId64, axis, x->shape[axis]);
    drop[axis] = true;
  }
  int64_t shape[THAW_MAX_RANK];
  uint32_t rank = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if (!(count < 0 ? x->shape[d] == 1 : drop[d])) shape[rank++] = x->shape[d];
  return reshape_output(l, l->in[0], rank, shape);
}

static thaw_status lower_unsqueeze(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t axes[THAW_MAX_RANK];
  int count;
  thaw_status status = axes_argument(l, 13, axes, &count);
  if (status != THAW_OK) return status;
  if (count < 0) return corrupt(l, "axes are missing");
  uint32_t rank = x->rank + (uint32_t)count;
  if (rank > THAW_MAX_RANK) return refuse(l, "output rank %" PRIu32 " > %d", rank, THAW_MAX_RANK);
  bool inserted[THAW_MAX_RANK] = {false};
  for (int i = 0; i < count; ++i) {
    uint32_t axis;
    status = normalize_axis(l, axes[i], rank, &axis);
    if (status != THAW_OK) return status;
    if (inserted[axis]) return corrupt(l, "axis %" PRIu32 " is repeated", axis);
    inserted[axis] = true;
  }
  int64_t shape[THAW_MAX_RANK];
  for (uint32_t d = 0, source = 0; d < rank; ++d) shape[d] = inserted[d] ? 1 : x->shape[source++];
  return reshape_output(l, l->in[0], rank, shape);
}

static thaw_status lower_transpose(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t perm[THAW_MAX_RANK];
  int count = attr_ints(l, "perm", perm, THAW_MAX_RANK);
  if (count < 0)
    for (uint32_t d = 0; d < x->rank; ++d) perm[d] = x->rank - 1 - d;
  else if ((uint32_t)count != x->rank)
    return corrupt(l, "perm has %d entries for rank %" PRIu32, count, x->rank);
  cv_attrs attrs = {0};
  int64_t shape[THAW_MAX_RANK];
  uint32_t seen = 0;
  for (uint32_t d = 0; d < x->rank; ++d) {
    if (perm[d] < 0 || perm[d] >= x->rank || (seen >> perm[d]) & 1)
      return corrupt(l, "perm is not a permutation");
    seen |= 1u << perm[d];
    attrs.transpose.perm[d] = (uint32_t)perm[d];
    shape[d] = x->shape[perm[d]];
  }
  uint32_t output;
  thaw_status status = new_output(l, 0, x->dtype, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_TRANSPOSE, &attrs, l->in, 1, output) : status;
}

static thaw_status lower_concat(lowering *l) {
  const cv_value *first = val(l, l->in[0]);
  uint32_t axis;
  thaw_status status = normalize_axis(l, attr_int(l, "axis", 0), first->rank, &axis);
  if (status != THAW_OK) return status;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, first->shape, sizeof(shape));
  uint32_t inputs[MAX_NODE_INPUTS], count = 0;
  shape[axis] = 0;
  for (uint32_t i = 0; i < l->in_count; ++i) {
    status = require_input(l, i);
    if (status != THAW_OK) return status;
    const cv_value *x = val(l, l->in[i]);
    if (x->rank != first->rank || x->dtype != first->dtype)
      return corrupt(l, "input \"%s\" differs in rank or dtype", x->name);
    for (uint32_t d = 0; d < x->rank; ++d)
      if (d != axis && x->shape[d] != first->shape[d])
        return corrupt(l, "input \"%s\" differs in dim %" PRIu32, x->name, d);
    shape[axis] += x->shape[axis];
    /* Empty pieces add nothing (PyTorch exports concatenate empty shape lists). */
    if (x->element_count) inputs[count++] = l->in[i];
  }
  if (count == 0 && first->element_count == 0) count = 1, inputs[0] = l->in[0];
  uint32_t output;
  status = new_output(l, 0, first->dtype, first->rank, shape, &output);
  if (status != THAW_OK) return status;
  if (count == 1) return reshape_into(l, inputs[0], output);
  cv_attrs attrs = {.axis = {.axis = axis}};
  return emit1(l, THAW_OP_CONCAT, &attrs, inputs, count, output);
}

static thaw_status lower_split(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  uint32_t axis;
  thaw_status status = normalize_axis(l, attr_int(l, "axis", 0), x->rank, &axis);
  if (status != THAW_OK) return status;
  uint32_t count = (uint32_t)l->node->n_output;
  if (count == 0 || count > MAX_NODE_INPUTS) return corrupt(l, "has %" PRIu32 " outputs", count);
  int64_t sizes[MAX_NODE_INPUTS];
  int given = -1;
  if (l->graph->opset < 13) {
    given = attr_ints(l, "split", sizes, MAX_NODE_INPUTS);
  } else if (l->in_count > 1 && l->in[1] != CV_NONE) {
    status = require_constant(l, l->in[1], "split");
    if (status != THAW_OK) return status;
    given = constant_ints(l, l->in[1], sizes, MAX_NODE_INPUTS);
    if (given < 0) return refuse(l, "split must be a 1-D integer constant");
  }
  int64_t dim = x->shape[axis];
  if (given < 0) {
    if (dim % count) return corrupt(l, "dim %" PRId64 " does not split evenly in %" PRIu32, dim, count);
    for (uint32_t i = 0; i < count; ++i) sizes[i] = dim / count;
  } else if ((uint32_t)given != count) {
    return corrupt(l, "split has %d sizes for %" PRIu32 " outputs", given, count);
  }
  int64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (sizes[i] < 0 || sizes[i] > dim) return corrupt(l, "split size %" PRId64, sizes[i]);
    total += sizes[i];
  }
  if (total != dim) return corrupt(l, "split sizes add to %" PRId64 ", dim is %" PRId64, total, dim);
  uint32_t outputs[MAX_NODE_INPUTS];
  thaw_dtype dtype = x->dtype;
  uint32_t rank = x->rank;
  for (uint32_t i = 0; i < count; ++i) {
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, val(l, l->in[0])->shape, sizeof(shape));
    shape[axis] = sizes[i];
    status = new_output(l, i, dtype, rank, shape, &outputs[i]);
    if (status != THAW_OK) return status;
  }
  cv_attrs attrs = {.axis = {.axis = axis}};
  return emit(l, THAW_OP_SPLIT, &attrs, l->in, 1, outputs, count);
}

static thaw_status lower_slice(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  int64_t starts[THAW_MAX_RANK], ends[THAW_MAX_RANK], axes[THAW_MAX_RANK], steps[THAW_MAX_RANK];
  int count, end_count, axis_count = -1, step_count = -1;
  if (l->graph->opset < 10) {
    count = attr_ints(l, "starts", starts, THAW_MAX_RANK);
    end_count = attr_ints(l, "ends", ends, THAW_MAX_RANK);
    axis_count = attr_ints(l, "axes", axes, THAW_MAX_RANK);
  } else {
    const char *roles[4] = {"starts", "ends", "axes", "steps"};
    int64_t *targets[4] = {starts, ends, axes, steps};
    int *counts[4] = {&count, &end_count, &axis_count, &step_count};
    for (uint32_t i = 1; i <= 4; ++i) {
      if (i >= l->in_count || l->in[i] == CV_NONE) {
        if (i <= 2) return corrupt(l, "%s is missing", roles[i - 1]);
        continue;
      }
      thaw_status status = require_constant(l, l->in[i], roles[i - 1]);
      if (status != THAW_OK) return status;
      *counts[i - 1] = constant_ints(l, l->in[i], targets[i - 1], THAW_MAX_RANK);
      if (*counts[i - 1] < 0) return refuse(l, "%s must be a short 1-D integer constant", roles[i - 1]);
    }
  }
  if (count < 0 || end_count != count || (axis_count >= 0 && axis_count != count) ||
      (step_count >= 0 && step_count != count))
    return corrupt(l, "starts, ends, axes and steps differ in length");
  cv_attrs attrs = {0};
  int64_t shape[THAW_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; ++d) {
    attrs.slice.steps[d] = 1;
    shape[d] = x->shape[d];
  }
  uint32_t seen = 0;
  for (int i = 0; i < count; ++i) {
    uint32_t axis;
    thaw_status status = normalize_axis(l, axis_count >= 0 ? axes[i] : i, x->rank, &axis);
    if (status != THAW_OK) return status;
    if ((seen >> axis) & 1) return corrupt(l, "axis %" PRIu32 " is sliced twice", axis);
    seen |= 1u << axis;
    int64_t dim = x->shape[axis], step = step_count >= 0 ? steps[i] : 1;
    if (step == 0) return corrupt(l, "step is 0");
    if (step < INT32_MIN || step > INT32_MAX) return refuse(l, "step %" PRId64 " is too large", step);
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t length;
    if (step > 0) {
      start = start < 0 ? 0 : start > dim ? dim : start;
      end = end < 0 ? 0 : end > dim ? dim : end;
      length = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = start < 0 ? -1 : start > dim - 1 ? dim - 1 : start;
      end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
      length = start > end ? (start - end - step - 1) / -step : 0;
    }
    if (length == 0) start = 0;
    attrs.slice.starts[axis] = (int32_t)start;
    attrs.slice.steps[axis] = (int32_t)step;
    shape[axis] = length;
  }
  uint32_t output;
  thaw_status status = new_output(l, 0, x->dtype, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_SLICE, &attrs, l->in, 1, output) : status;
}

static thaw_status lower_gather(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status != THAW_OK) return status;
  const cv_value *data = val(l, l->in[0]), *indices = val(l, l->in[1]);
  uint32_t axis;
  status = normalize_axis(l, attr_int(l, "axis", 0), data->rank, &axis);
  if (status != THAW_OK) return status;
  if (indices->dtype != THAW_DTYPE_I64 && indices->dtype != THAW_DTYPE_I32)
    return corrupt(l, "indices are %s", thaw_dtype_name(indices->dtype));
  uint32_t rank = data->rank - 1 + indices->rank;
  if (rank > THAW_MAX_RANK) return refuse(l, "output rank %" PRIu32 " > %d", rank, THAW_MAX_RANK);
  if (indices->data)
    for (uint64_t i = 0; i < indices->element_count; ++i) {
      int64_t index = element_i64(indices, i);
      if (index < -data->shape[axis] || index >= data->shape[axis])
        return corrupt(l, "index %" PRId64 " is outside dim %" PRId64, index, data->shape[axis]);
    }
  int64_t shape[THAW_MAX_RANK];
  uint32_t d = 0;
  for (uint32_t i = 0; i < axis; ++i) shape[d++] = data->shape[i];
  for (uint32_t i = 0; i < indices->rank; ++i) shape[d++] = indices->shape[i];
  for (uint32_t i = axis + 1; i < data->rank; ++i) shape[d++] = data->shape[i];
  uint32_t output;
  status = new_output(l, 0, data->dtype, rank, shape, &output);
  cv_attrs attrs = {.axis = {.axis = axis}};
  return status == THAW_OK ? emit1(l, THAW_OP_GATHER, &attrs, l->in, 2, output) : status;
}

static thaw_status lower_expand(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_constant(l, l->in[1], "shape");
  if (status != THAW_OK) return status;
  cv_value target = {.name = "shape"};
  int rank = constant_ints(l, l->in[1], target.shape, THAW_MAX_RANK);
  if (rank < 0) return refuse(l, "shape must be a 1-D integer constant of at most %d dims", THAW_MAX_RANK);
  target.rank = (uint32_t)rank;
  const cv_value *x = val(l, l->in[0]);
  uint32_t out_rank;
  int64_t shape[THAW_MAX_RANK];
  status = broadcast(l, x, &target, &out_rank, shape);
  if (status != THAW_OK) return status;
  uint32_t output;
  status = new_output(l, 0, x->dtype, out_rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_EXPAND, NULL, l->in, 1, output) : status;
}

static thaw_status lower_pad(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  char buffer[64];
  const char *mode = attr_string(l, "mode", "constant", buffer);
  cv_attrs attrs = {0};
  if (strcmp(mode, "constant") == 0) attrs.pad.mode = THAW_PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) attrs.pad.mode = THAW_PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) attrs.pad.mode = THAW_PAD_EDGE;
  else return refuse(l, "mode \"%s\" is not supported", mode);
  int64_t pads[2 * THAW_MAX_RANK];
  int count;
  thaw_status status = THAW_OK;
  if (l->graph->opset < 11) {
    count = attr_ints(l, "pads", pads, 2 * THAW_MAX_RANK);
    attrs.pad.value = attr_float(l, "value", 0.0f);
  } else {
    status = require_input(l, 1);
    if (status == THAW_OK) status = require_constant(l, l->in[1], "pads");
    if (status != THAW_OK) return status;
    count = constant_ints(l, l->in[1], pads, 2 * THAW_MAX_RANK);
    if (l->in_count > 2 && l->in[2] != CV_NONE)
      status = scalar_float(l, l->in[2], "constant_value", &attrs.pad.value);
    if (status == THAW_OK && l->in_count > 3 && l->in[3] != CV_NONE)
      return refuse(l, "the axes input is not supported");
    if (status != THAW_OK) return status;
  }
  if (count != (int)(2 * x->rank)) return corrupt(l, "pads has %d entries for rank %" PRIu32, count, x->rank);
  if (x->dtype != THAW_DTYPE_F32) return require_f32(l, l->in[0], "input");
  int64_t shape[THAW_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; ++d) {
    int64_t begin = pads[d], end = pads[d + x->rank];
    if (begin < 0 || end < 0) return refuse(l, "negative pads (cropping) are not supported");
    if (begin > INT32_MAX || end > INT32_MAX) return corrupt(l, "pads are too large");
    if (attrs.pad.mode == THAW_PAD_REFLECT && (begin >= x->shape[d] || end >= x->shape[d]))
      return corrupt(l, "reflect pad %" PRId64 "/%" PRId64 " is not below dim %" PRId64, begin, end, x->shape[d]);
    attrs.pad.begin[d] = (uint32_t)begin;
    shape[d] = x->shape[d] + begin + end;
  }
  uint32_t output;
  status = new_output(l, 0, x->dtype, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_PAD, &attrs, l->in, 1, output) : status;
}

static thaw_status lower_resize(lowering *l, bool upsample) {
  const cv_value *x = val(l, l->in[0]);
  char mode_buffer[64], coordinates_buffer[64], nearest_buffer[64];
  const char *mode = attr_string(l, "mode", "nearest", mode_buffer);
  cv_attrs attrs = {0};
  if (strcmp(mode, "nearest") == 0) attrs.resize.mode = THAW_RESIZE_NEAREST;
  else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) attrs.resize.mode = THAW_RESIZE_LINEAR;
  else return refuse(l, "mode \"%s\" is not supported", mode);
  /* Upsample and Resize-10 are asymmetric with floor rounding. */
  bool modern = !upsample && l->graph->opset >= 11;
  const char *coordinates = modern ? attr_string(l, "coordinate_transformation_mode", "half_pixel",
                                                 coordinates_buffer)
                                   : "asymmetric";
  if (strcmp(coordinates, "half_pixel") == 0) attrs.resize.coordinates = THAW_RESIZE_HALF_PIXEL;
  else if (strcmp(coordinates, "asymmetric") == 0) attrs.resize.coordinates = THAW_RESIZE_ASYMMETRIC;
  else if (strcmp(coordinates, "align_corners") == 0) attrs.resize.coordinates = THAW_RESIZE_ALIGN_CORNERS;
  else if (strcmp(coordinates, "pytorch_half_pixel") == 0) attrs.resize.coordinates = THAW_RESIZE_PYTORCH_HALF_PIXEL;
  else return refuse(l, "coordinate_transformation_mode \"%s\" is not supported", coordinates);
  const char *nearest = modern ? attr_string(l, "nearest_mode", "round_prefer_floor", nearest_buffer)
                               : "floor";
  if (strcmp(nearest, "round_prefer_floor") == 0) attrs.resize.nearest = THAW_RESIZE_ROUND_PREFER_FLOOR;
  else if (strcmp(nearest, "round_prefer_ceil") == 0) attrs.resize.nearest = THAW_RESIZE_ROUND_PREFER_CEIL;
  else if (strcmp(nearest, "floor") == 0) attrs.resize.nearest = THAW_RESIZE_FLOOR;
  else if (strcmp(nearest, "ceil") == 0) attrs.resize.nearest = THAW_RESIZE_CEIL;
  else return refuse(l, "nearest_mode \"%s\" is not supported", nearest);
  if (attr_int(l, "exclude_outside", 0) != 0) return refuse(l, "exclude_outside=1 is not supported");
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  /* scales: input 1 (Upsample-9, Resize-10) or 2 (11+); sizes: input 3 (11+). */
  uint32_t scales_input = modern ? 2 : 1, sizes_input = modern ? 3 : CV_NONE;
  int64_t shape[THAW_MAX_RANK];
  if (sizes_input != CV_NONE && sizes_input < l->in_count && l->in[sizes_input] != CV_NONE &&
      val(l, l->in[sizes_input])->element_count) {
    status = require_constant(l, l->in[sizes_input], "sizes");
    if (status != THAW_OK) return status;
    if (constant_ints(l, l->in[sizes_input], shape, THAW_MAX_RANK) != (int)x->rank)
      return corrupt(l, "sizes must have one entry per input dim");
    for (uint32_t d = 0; d < x->rank; ++d) {
      if (shape[d] <= 0) return corrupt(l, "size %" PRId64 " of dim %" PRIu32, shape[d], d);
      attrs.resize.scales[d] = (float)shape[d] / (float)x->shape[d];
    }
  } else {
    if (scales_input >= l->in_count || l->in[scales_input] == CV_NONE)
      return corrupt(l, "neither scales nor sizes is given");
    status = require_constant(l, l->in[scales_input], "scales");
    if (status != THAW_OK) return status;
    const cv_value *scales = val(l, l->in[scales_input]);
    if (scales->dtype != THAW_DTYPE_F32 || scales->element_count != x->rank)
      return corrupt(l, "scales must hold one f32 per input dim");
    for (uint32_t d = 0; d < x->rank; ++d) {
      float scale = (float)element_f64(scales, d);
      if (!(scale > 0) || !(scale < 65536)) return corrupt(l, "scale %g of dim %" PRIu32, scale, d);
      attrs.resize.scales[d] = scale;
      shape[d] = (int64_t)floor((double)x->shape[d] * scale);
      if (shape[d] < 1) return corrupt(l, "dim %" PRIu32 " scales to 0", d);
    }
  }
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_RESIZE, &attrs, l->in, 1, output) : status;
}

/* ---- Reductions, normalisation, softmax ---- */

static thaw_status lower_reduce_mean(lowering *l) {
  const cv_value *x = val(l, l->in[0]);
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  int64_t axes[THAW_MAX_RANK];
  int count = attr_ints(l, "axes", axes, THAW_MAX_RANK);
  bool reduced[THAW_MAX_RANK] = {false};
  for (int i = 0; i < count; ++i) {
    uint32_t axis;
    status = normalize_axis(l, axes[i], x->rank, &axis);
    if (status != THAW_OK) return status;
    reduced[axis] = true;
  }
  uint32_t first = THAW_MAX_RANK, last = 0, reduced_count = 0;
  for (uint32_t d = 0; d < x->rank; ++d) {
    if (count < 0) reduced[d] = true;
    if (!reduced[d]) continue;
    first = d < first ? d : first;
    last = d;
    reduced_count++;
  }
  if (reduced_count == 0) return alias_output(l, 0, l->in[0]);
  if (last - first + 1 != reduced_count)
    return refuse(l, "axes must form a contiguous range (a Transpose first would be needed)");
  bool keep = attr_int(l, "keepdims", 1) != 0;
  int64_t shape[THAW_MAX_RANK];
  uint32_t rank = 0;
  for (uint32_t d = 0; d < x->rank; ++d)
    if (!reduced[d]) shape[rank++] = x->shape[d];
    else if (keep) shape[rank++] = 1;
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, rank, shape, &output);
  cv_attrs attrs = {.reduce = {.first_axis = first, .axis_count = reduced_count}};
  return status == THAW_OK ? emit1(l, THAW_OP_REDUCE_MEAN, &attrs, l->in, 1, output) : status;
}

static thaw_status lower_softmax(lowering *l, bool logarithm) {
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  uint32_t rank = x->rank, axis;
  if (rank == 0) return corrupt(l, "input is a scalar");
  bool flattening = l->graph->opset < 13;
  status = normalize_axis(l, attr_int(l, "axis", flattening ? 1 : -1), rank, &axis);
  if (status != THAW_OK) return status;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, rank, shape, &output);
  if (status != THAW_OK) return status;
  /* Before opset 13 the softmax runs over all dims from `axis` on, as one flattened row. */
  uint32_t source = l->in[0], target = output;
  cv_attrs attrs = {.axis = {.axis = axis}};
  bool flatten = flattening && axis + 1 < rank;
  if (flatten) {
    int64_t rows[2] = {1, 1};
    for (uint32_t d = 0; d < rank; ++d) rows[d < axis ? 0 : 1] *= shape[d];
    status = new_temp(l, "rows", THAW_DTYPE_F32, 2, rows, &source);
    if (status == THAW_OK) status = reshape_into(l, l->in[0], source);
    if (status == THAW_OK) status = new_temp(l, "softmax", THAW_DTYPE_F32, 2, rows, &target);
    if (status != THAW_OK) return status;
    attrs.axis.axis = 1;
  }
  uint32_t softmax_output = target;
  if (logarithm) {
    const cv_value *t = val(l, target);
    int64_t temp_shape[THAW_MAX_RANK];
    memcpy(temp_shape, t->shape, sizeof(temp_shape));
    status = new_temp(l, "exp", THAW_DTYPE_F32, t->rank, temp_shape, &softmax_output);
    if (status != THAW_OK) return status;
  }
  status = emit1(l, THAW_OP_SOFTMAX, &attrs, &source, 1, softmax_output);
  if (status == THAW_OK && logarithm) {
    cv_attrs log = {.unary = {.func = THAW_UNARY_LOG}};
    status = emit1(l, THAW_OP_UNARY, &log, &softmax_output, 1, target);
  }
  if (status == THAW_OK && flatten) status = reshape_into(l, target, output);
  return status;
}

static thaw_status lower_layer_norm(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  for (size_t i = 1; i < l->node->n_output; ++i)
    if (l->node->output[i] && l->node->output[i][0])
      return refuse(l, "the Mean/InvStdDev outputs are not supported");
  const cv_value *x = val(l, l->in[0]);
  cv_attrs attrs = {.layer_norm = {.epsilon = attr_float(l, "epsilon", 1e-5f)}};
  status = normalize_axis(l, attr_int(l, "axis", -1), x->rank, &attrs.layer_norm.axis);
  if (status != THAW_OK) return status;
  uint32_t count = l->in_count > 2 && l->in[2] != CV_NONE ? 3 : 2;
  /* The format takes scale and bias shaped exactly like the input's dims from the axis: one
   * broadcast from fewer dims is refused here, not written into a file that would not open. */
  const uint32_t axis = attrs.layer_norm.axis, normalized_rank = x->rank - axis;
  for (uint32_t i = 1; i < count; ++i) {
    const char *role = i == 1 ? "scale" : "bias";
    status = require_f32(l, l->in[i], role);
    if (status != THAW_OK) return status;
    const cv_value *v = val(l, l->in[i]);
    if (v->rank != normalized_rank ||
        memcmp(v->shape, &x->shape[axis], normalized_rank * sizeof(int64_t)) != 0)
      return refuse(l, "%s \"%s\" must have the shape of the input's dims from axis %" PRIu32
                       " (a broadcast one is not supported)", role, v->name, axis);
  }
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_LAYER_NORM, &attrs, l->in, count, output) : status;
}

static thaw_status lower_batch_norm(lowering *l) {
  for (uint32_t i = 1; i < 5; ++i) {
    thaw_status status = require_input(l, i);
    if (status == THAW_OK) status = require_constant(l, l->in[i], "statistics");
    if (status == THAW_OK) status = require_f32(l, l->in[i], "statistics");
    if (status != THAW_OK) return status;
  }
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  if (attr_int(l, "training_mode", 0) != 0) return refuse(l, "training_mode=1 is not supported");
  for (size_t i = 1; i < l->node->n_output; ++i)
    if (l->node->output[i] && l->node->output[i][0])
      return refuse(l, "training outputs (running mean/var) are not supported");
  const cv_value *x = val(l, l->in[0]);
  if (x->rank < 2) return corrupt(l, "input rank %" PRIu32 " < 2", x->rank);
  int64_t channels = x->shape[1];
  for (uint32_t i = 1; i < 5; ++i)
    if (val(l, l->in[i])->element_count != (uint64_t)channels)
      return corrupt(l, "\"%s\" does not hold %" PRId64 " channel values", val(l, l->in[i])->name, channels);
  double epsilon = attr_float(l, "epsilon", 1e-5f);
  float *scale = malloc((size_t)channels * 4), *shift = malloc((size_t)channels * 4);
  if (!scale || !shift) {
    free(scale);
    free(shift);
    return out_of_memory(l);
  }
  for (int64_t c = 0; c < channels; ++c) {
    double gamma = element_f64(val(l, l->in[1]), (uint64_t)c), beta = element_f64(val(l, l->in[2]), (uint64_t)c);
    double mean = element_f64(val(l, l->in[3]), (uint64_t)c), variance = element_f64(val(l, l->in[4]), (uint64_t)c);
    double factor = gamma / sqrt(variance + epsilon);
    scale[c] = (float)factor;
    shift[c] = (float)(beta - mean * factor);
  }
  uint32_t inputs[3] = {l->in[0]};
  inputs[1] = cv_add_constant(l->graph, l->node->output[0], THAW_DTYPE_F32, 1, &channels, scale);
  inputs[2] = inputs[1] == CV_NONE ? CV_NONE
              : cv_add_constant(l->graph, l->node->output[0], THAW_DTYPE_F32, 1, &channels, shift);
  free(scale);
  free(shift);
  if (inputs[2] == CV_NONE) return out_of_memory(l);
  x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  if (status == THAW_OK) status = emit1(l, THAW_OP_CHANNEL_AFFINE, NULL, inputs, 3, output);
  if (status == THAW_OK && !is_constant(l, output))
    l->graph->report->counts[THAW_CONVERT_BATCH_NORM_AFFINE]++;
  return status;
}

/* ---- Convolution and pooling ---- */

typedef struct window {
  int64_t kernel[2], stride[2], dilation[2];
  int64_t pads[4]; /* top, left, bottom, right */
  int64_t output[2];
} window;

/* Strides, dilations, pads (explicit or auto_pad) and output size of a 2-D window op. */
static thaw_status window_geometry(lowering *l, const int64_t input[2], bool ceil_mode,
                                   window *w) {
  int64_t values[4];
  const char *lists[2] = {"strides", "dilations"};
  int64_t *targets[2] = {w->stride, w->dilation};
  for (int i = 0; i < 2; ++i) {
    int count = attr_ints(l, lists[i], values, 4);
    if (count < 0) {
      targets[i][0] = targets[i][1] = 1;
    } else if (count != 2 || values[0] < 1 || values[1] < 1 || values[0] > INT32_MAX || values[1] > INT32_MAX) {
      return corrupt(l, "%s must be two positive values", lists[i]);
    } else {
      targets[i][0] = values[0];
      targets[i][1] = values[1];
    }
  }
  char buffer[64];
  const char *auto_pad = attr_string(l, "auto_pad", "NOTSET", buffer);
  for (int d = 0; d < 2; ++d) {
    int64_t extent = (w->kernel[d] - 1) * w->dilation[d] + 1;
    if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
      w->output[d] = (input[d] + w->stride[d] - 1) / w->stride[d];
      int64_t total = (w->output[d] - 1) * w->stride[d] + extent - input[d];
      if (total < 0) total = 0;
      int64_t small = total / 2, large = total - small;
      bool upper = auto_pad[5] == 'U';
      w->pads[d] = upper ? small : large;
      w->pads[d + 2] = upper ? large : small;
      continue;
    }
    if (strcmp(auto_pad, "VALID") == 0) {
      w->pads[d] = w->pads[d + 2] = 0;
    } else if (strcmp(auto_pad, "NOTSET") == 0) {
      int count = attr_ints(l, "pads", values, 4);
      if (count < 0) values[0] = values[1] = values[2] = values[3] = 0;
      else if (count != 4) return corrupt(l, "pads must have 4 entries");
      for (int i = 0; i < 4; ++i)
        if (values[i] < 0 || values[i] > INT32_MAX) return refuse(l, "pad %" PRId64 " is not supported", values[i]);
      w->pads[d] = values[d];
      w->pads[d + 2] = values[d + 2];
    } else {
      return refuse(l, "auto_pad \"%s\" is not supported", auto_pad);
    }
    int64_t span = input[d] + w->pads[d] + w->pads[d + 2] - extent;
    if (span < 0) return corrupt(l, "the window (%" PRId64 ") is larger than the padded input", extent);
    w->output[d] = (ceil_mode ? span + w->stride[d] - 1 : span) / w->stride[d] + 1;
    /* A last window starting inside the bottom/right padding is dropped (as ONNX Runtime). */
    if (ceil_mode && (w->output[d] - 1) * w->stride[d] >= input[d] + w->pads[d]) w->output[d]--;
  }
  return THAW_OK;
}

/* kernel_shape, when present (*present says so). */
static thaw_status kernel_shape_attribute(lowering *l, int64_t kernel[2], bool *present) {
  int64_t values[THAW_MAX_RANK];
  int count = attr_ints(l, "kernel_shape", values, THAW_MAX_RANK);
  *present = count >= 0;
  if (count < 0) return THAW_OK;
  if (count != 2) return refuse(l, "only 2-D windows are supported (kernel_shape has %d dims)", count);
  if (values[0] < 1 || values[1] < 1 || values[0] > INT32_MAX || values[1] > INT32_MAX)
    return corrupt(l, "kernel_shape must be positive");
  kernel[0] = values[0];
  kernel[1] = values[1];
  return THAW_OK;
}

static thaw_status lower_conv(lowering *l, bool transposed) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_f32(l, l->in[0], "input");
  if (status == THAW_OK) status = require_f32(l, l->in[1], "weight");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]), *weight = val(l, l->in[1]);
  if (x->rank != 4 || weight->rank != 4)
    return refuse(l, "only 2-D convolution is supported (input rank %" PRIu32 ")", x->rank);
  int64_t groups = attr_int(l, "group", 1);
  if (groups < 1 || groups > INT32_MAX || x->shape[1] % groups) return corrupt(l, "group %" PRId64, groups);
  window w;
  w.kernel[0] = weight->shape[2];
  w.kernel[1] = weight->shape[3];
  int64_t declared[2];
  bool declares_kernel;
  status = kernel_shape_attribute(l, declared, &declares_kernel);
  if (status != THAW_OK) return status;
  if (declares_kernel && (declared[0] != w.kernel[0] || declared[1] != w.kernel[1]))
    return corrupt(l, "kernel_shape differs from the weight's dims");
  int64_t out_channels;
  cv_attrs attrs = {0};
  int64_t output_shape[4] = {x->shape[0], 0, 0, 0};
  if (!transposed) {
    if (weight->shape[1] * groups != x->shape[1])
      return corrupt(l, "weight expects %" PRId64 " input channels, input has %" PRId64,
                     weight->shape[1] * groups, x->shape[1]);
    out_channels = weight->shape[0];
    if (out_channels % groups) return corrupt(l, "%" PRId64 " output channels in %" PRId64 " groups", out_channels, groups);
    status = window_geometry(l, x->shape + 2, false, &w);
    if (status != THAW_OK) return status;
  } else {
    if (weight->shape[0] != x->shape[1]) return corrupt(l, "weight and input channels differ");
    out_channels = weight->shape[1] * groups;
    int64_t padding[2] = {0, 0}, explicit_output[THAW_MAX_RANK];
    int count = attr_ints(l, "output_padding", padding, 2);
    if (count >= 0 && count != 2) return corrupt(l, "output_padding must have 2 entries");
    int output_count = attr_ints(l, "output_shape", explicit_output, THAW_MAX_RANK);
    int64_t strides[4], dilations[4];
    int stride_count = attr_ints(l, "strides", strides, 4), dilation_count = attr_ints(l, "dilations", dilations, 4);
    for (int d = 0; d < 2; ++d) {
      w.stride[d] = stride_count == 2 ? strides[d] : 1;
      w.dilation[d] = dilation_count == 2 ? dilations[d] : 1;
      if (w.stride[d] < 1 || w.dilation[d] < 1 || w.stride[d] > INT32_MAX || w.dilation[d] > INT32_MAX)
        return corrupt(l, "strides and dilations must be positive");
      if (padding[d] < 0 || (padding[d] >= w.stride[d] && padding[d] >= w.dilation[d]))
        return corrupt(l, "output_padding %" PRId64 " is not below the stride or dilation", padding[d]);
    }
    char buffer[64];
    const char *auto_pad = attr_string(l, "auto_pad", "NOTSET", buffer);
    bool same = strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0;
    if (!same && strcmp(auto_pad, "NOTSET") != 0 && strcmp(auto_pad, "VALID") != 0)
      return refuse(l, "auto_pad \"%s\" is not supported", auto_pad);
    int64_t pads[4] = {0, 0, 0, 0};
    if (strcmp(auto_pad, "NOTSET") == 0) {
      int pad_count = attr_ints(l, "pads", pads, 4);
      if (pad_count >= 0 && pad_count != 4) return corrupt(l, "pads must have 4 entries");
    }
    for (int d = 0; d < 2; ++d) {
      int64_t full = w.stride[d] * (x->shape[d + 2] - 1) + padding[d] + (w.kernel[d] - 1) * w.dilation[d] + 1;
      if (output_count >= 2 || same) {
        int64_t target = output_count >= 2 ? explicit_output[output_count - 2 + d] : x->shape[d + 2] * w.stride[d];
        int64_t total = full - target;
        if (total < 0) {
          /* A target beyond the full output grows it at the end with bias-only rows: the same
           * as a larger output_padding (ONNX Runtime clamps the padding at 0 this way). */
          padding[d] -= total;
          if (padding[d] >= w.stride[d] && padding[d] >= w.dilation[d])
            return refuse(l, "output_shape %" PRId64 " exceeds the full output %" PRId64
                          " by the stride or more", target, full);
          full = target;
          total = 0;
        }
        bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
        pads[d] = upper ? total / 2 : total - total / 2;
        pads[d + 2] = total - pads[d];
      }
      if (pads[d] < 0 || pads[d + 2] < 0 || pads[d] > INT32_MAX || pads[d + 2] > INT32_MAX)
        return refuse(l, "negative pads are not supported");
      w.output[d] = full - pads[d] - pads[d + 2];
      if (w.output[d] < 1) return corrupt(l, "output dim %d is empty", d);
    }
    memcpy(w.pads, pads, sizeof(pads));
    attrs.conv.output_padding_h = (uint32_t)padding[0];
    attrs.conv.output_padding_w = (uint32_t)padding[1];
  }
  if (l->in_count > 2 && l->in[2] != CV_NONE &&
      (val(l, l->in[2])->element_count != (uint64_t)out_channels || val(l, l->in[2])->dtype != THAW_DTYPE_F32))
    return corrupt(l, "bias does not hold %" PRId64 " f32 values", out_channels);
  attrs.conv.stride_h = (uint32_t)w.stride[0];
  attrs.conv.stride_w = (uint32_t)w.stride[1];
  attrs.conv.dilation_h = (uint32_t)w.dilation[0];
  attrs.conv.dilation_w = (uint32_t)w.dilation[1];
  attrs.conv.pad_top = (uint32_t)w.pads[0];
  attrs.conv.pad_left = (uint32_t)w.pads[1];
  attrs.conv.pad_bottom = (uint32_t)w.pads[2];
  attrs.conv.pad_right = (uint32_t)w.pads[3];
  attrs.conv.groups = (uint32_t)groups;
  output_shape[1] = out_channels;
  output_shape[2] = w.output[0];
  output_shape[3] = w.output[1];
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, 4, output_shape, &output);
  uint32_t count = l->in_count > 2 && l->in[2] != CV_NONE ? 3 : 2;
  return status == THAW_OK ? emit1(l, transposed ? THAW_OP_CONV_TRANSPOSE : THAW_OP_CONV, &attrs,
                                   l->in, count, output)
                           : status;
}

static thaw_status lower_pool(lowering *l, uint32_t op) {
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  if (x->rank != 4) return refuse(l, "only 2-D pooling is supported (input rank %" PRIu32 ")", x->rank);
  if (l->node->n_output > 1 && l->node->output[1] && l->node->output[1][0])
    return refuse(l, "the Indices output is not supported");
  if (attr_int(l, "storage_order", 0) != 0) return refuse(l, "storage_order=1 is not supported");
  window w;
  bool has_kernel;
  status = kernel_shape_attribute(l, w.kernel, &has_kernel);
  if (status != THAW_OK) return status;
  if (!has_kernel) return corrupt(l, "kernel_shape is missing");
  int64_t ceil_mode = attr_int(l, "ceil_mode", 0), include = attr_int(l, "count_include_pad", 0);
  if ((ceil_mode != 0 && ceil_mode != 1) || (include != 0 && include != 1))
    return corrupt(l, "ceil_mode and count_include_pad must be 0 or 1");
  status = window_geometry(l, x->shape + 2, ceil_mode != 0, &w);
  if (status != THAW_OK) return status;
  cv_attrs attrs = {.pool = {
      .kernel_h = (uint32_t)w.kernel[0], .kernel_w = (uint32_t)w.kernel[1],
      .stride_h = (uint32_t)w.stride[0], .stride_w = (uint32_t)w.stride[1],
      .dilation_h = (uint32_t)w.dilation[0], .dilation_w = (uint32_t)w.dilation[1],
      .pad_top = (uint32_t)w.pads[0], .pad_left = (uint32_t)w.pads[1],
      .pad_bottom = (uint32_t)w.pads[2], .pad_right = (uint32_t)w.pads[3],
      .ceil_mode = (uint32_t)ceil_mode, .count_include_pad = (uint32_t)include}};
  int64_t shape[4] = {x->shape[0], x->shape[1], w.output[0], w.output[1]};
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, 4, shape, &output);
  return status == THAW_OK ? emit1(l, op, &attrs, l->in, 1, output) : status;
}

static thaw_status lower_global_pool(lowering *l, bool maximum) {
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  if (x->rank < 3 || (maximum && x->rank != 4))
    return refuse(l, "input rank %" PRIu32 " is not supported", x->rank);
  int64_t shape[THAW_MAX_RANK];
  for (uint32_t d = 0; d < x->rank; ++d) shape[d] = d < 2 ? x->shape[d] : 1;
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  if (status != THAW_OK) return status;
  if (!maximum) return emit1(l, THAW_OP_GLOBAL_AVERAGE_POOL, NULL, l->in, 1, output);
  x = val(l, l->in[0]);
  /* A max pool whose window is the whole plane. */
  if (x->shape[2] > INT32_MAX || x->shape[3] > INT32_MAX) return refuse(l, "plane too large");
  cv_attrs attrs = {.pool = {.kernel_h = (uint32_t)x->shape[2], .kernel_w = (uint32_t)x->shape[3],
                             .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1}};
  return emit1(l, THAW_OP_MAX_POOL, &attrs, l->in, 1, output);
}

/* ---- Matrix products ---- */

static thaw_status lower_matmul(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_f32(l, l->in[0], "A");
  if (status == THAW_OK) status = require_f32(l, l->in[1], "B");
  if (status != THAW_OK) return status;
  uint32_t a = l->in[0], b = l->in[1];
  const cv_value *va = val(l, a), *vb = val(l, b);
  if (va->rank == 0 || vb->rank == 0) return corrupt(l, "operands must have rank >= 1");
  /* 1-D operands are promoted to matrices and the added dim dropped again afterwards. */
  bool promote_a = va->rank == 1, promote_b = vb->rank == 1;
  int64_t shape[THAW_MAX_RANK];
  if (promote_a) {
    shape[0] = 1;
    shape[1] = va->shape[0];
    status = new_temp(l, "row", THAW_DTYPE_F32, 2, shape, &a);
    if (status == THAW_OK) status = reshape_into(l, l->in[0], a);
    if (status != THAW_OK) return status;
  }
  if (promote_b) {
    shape[0] = vb->shape[0];
    shape[1] = 1;
    status = new_temp(l, "column", THAW_DTYPE_F32, 2, shape, &b);
    if (status == THAW_OK) status = reshape_into(l, l->in[1], b);
    if (status != THAW_OK) return status;
  }
  va = val(l, a);
  vb = val(l, b);
  if (va->shape[va->rank - 1] != vb->shape[vb->rank - 2])
    return corrupt(l, "inner dims differ: %" PRId64 " vs %" PRId64, va->shape[va->rank - 1],
                   vb->shape[vb->rank - 2]);
  cv_value batch_a = {.name = va->name, .rank = va->rank - 2}, batch_b = {.name = vb->name, .rank = vb->rank - 2};
  memcpy(batch_a.shape, va->shape, sizeof(batch_a.shape));
  memcpy(batch_b.shape, vb->shape, sizeof(batch_b.shape));
  uint32_t rank;
  status = broadcast(l, &batch_a, &batch_b, &rank, shape);
  if (status != THAW_OK) return status;
  shape[rank] = va->shape[va->rank - 2];
  shape[rank + 1] = vb->shape[vb->rank - 1];
  rank += 2;
  cv_attrs attrs = {0};
  uint32_t inputs[2] = {a, b}, product;
  if (!promote_a && !promote_b) {
    status = new_output(l, 0, THAW_DTYPE_F32, rank, shape, &product);
    return status == THAW_OK ? emit1(l, THAW_OP_MATMUL, &attrs, inputs, 2, product) : status;
  }
  status = new_temp(l, "product", THAW_DTYPE_F32, rank, shape, &product);
  if (status == THAW_OK) status = emit1(l, THAW_OP_MATMUL, &attrs, inputs, 2, product);
  if (status != THAW_OK) return status;
  if (promote_b) rank--;
  if (promote_a) {
    shape[rank - (promote_b ? 1 : 2)] = shape[rank - (promote_b ? 0 : 1)];
    rank--;
  }
  return reshape_output(l, product, rank, shape);
}

/* A [K, N] weight from a constant B: transposed if need be, alpha applied, once and for all. */
static thaw_status pack_gemm_weight(lowering *l, bool trans_b, float alpha, int64_t k, int64_t n,
                                    uint32_t *weight_id) {
  const cv_value *b = val(l, l->in[1]);
  float *weight = malloc((size_t)b->element_count * 4 + 4);
  if (!weight) return out_of_memory(l);
  for (int64_t row = 0; row < k; ++row)
    for (int64_t column = 0; column < n; ++column)
      weight[row * n + column] = alpha * (float)element_f64(b, (uint64_t)(trans_b ? column * k + row : row * n + column));
  int64_t weight_shape[2] = {k, n};
  *weight_id = cv_add_constant(l->graph, b->name, THAW_DTYPE_F32, 2, weight_shape, weight);
  free(weight);
  return *weight_id == CV_NONE ? out_of_memory(l) : THAW_OK;
}

/* A run-time matrix transposed into a fresh [columns, rows] temporary. */
static thaw_status emit_transposed(lowering *l, uint32_t matrix, uint32_t *transposed) {
  const cv_value *v = val(l, matrix);
  int64_t shape[2] = {v->shape[1], v->shape[0]};
  thaw_status status = new_temp(l, "transposed", THAW_DTYPE_F32, 2, shape, transposed);
  cv_attrs transpose = {.transpose = {.perm = {1, 0}}};
  return status == THAW_OK ? emit1(l, THAW_OP_TRANSPOSE, &transpose, &matrix, 1, *transposed)
                           : status;
}

/* `value` * `factor` into `*result`: a fresh temporary, or `target` when it is not CV_NONE. */
static thaw_status emit_scaled(lowering *l, uint32_t value, float factor, uint32_t target,
                               uint32_t *result) {
  int64_t one = 1, shape[THAW_MAX_RANK];
  const cv_value *v = val(l, value);
  uint32_t rank = v->rank;
  memcpy(shape, v->shape, sizeof(shape));
  uint32_t factor_id = cv_add_constant(l->graph, l->node->output[0], THAW_DTYPE_F32, 1, &one, &factor);
  if (factor_id == CV_NONE) return out_of_memory(l);
  *result = target;
  thaw_status status = THAW_OK;
  if (target == CV_NONE) status = new_temp(l, "scaled", THAW_DTYPE_F32, rank, shape, result);
  cv_attrs mul = {.binary = {.func = THAW_BINARY_MUL}};
  uint32_t operands[2] = {value, factor_id};
  return status == THAW_OK ? emit1(l, THAW_OP_BINARY, &mul, operands, 2, *result) : status;
}

static thaw_status lower_gemm(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_f32(l, l->in[0], "A");
  if (status == THAW_OK) status = require_f32(l, l->in[1], "B");
  if (status != THAW_OK) return status;
  const cv_value *a = val(l, l->in[0]), *b = val(l, l->in[1]);
  if (a->rank != 2 || b->rank != 2) return corrupt(l, "A and B must be matrices");
  bool trans_a = attr_int(l, "transA", 0) != 0, trans_b = attr_int(l, "transB", 0) != 0;
  float alpha = attr_float(l, "alpha", 1.0f), beta = attr_float(l, "beta", 1.0f);
  int64_t m = a->shape[trans_a ? 1 : 0], k = a->shape[trans_a ? 0 : 1];
  int64_t n = b->shape[trans_b ? 0 : 1];
  if (b->shape[trans_b ? 1 : 0] != k) return corrupt(l, "inner dims differ");
  uint32_t inputs[3] = {l->in[0], l->in[1], CV_NONE};
  /* A run-time B is multiplied as it comes; alpha then scales the product. */
  bool constant_b = is_constant(l, l->in[1]);
  bool scale_product = !constant_b && alpha != 1.0f;
  if (constant_b)
    status = pack_gemm_weight(l, trans_b, alpha, k, n, &inputs[1]);
  else if (trans_b)
    status = emit_transposed(l, l->in[1], &inputs[1]);
  if (status == THAW_OK && trans_a) status = emit_transposed(l, l->in[0], &inputs[0]);
  if (status != THAW_OK) return status;
  uint32_t bias = l->in_count > 2 ? l->in[2] : CV_NONE;
  bool vector_bias = false;
  if (bias != CV_NONE) {
    status = require_f32(l, bias, "C");
    if (status != THAW_OK) return status;
    const cv_value *c = val(l, bias);
    /* ONNX broadcasts C one way, to [M, N]: each of its trailing dims is the target's or 1. */
    const int64_t product_shape[2] = {m, n};
    bool broadcasts = c->rank <= 2;
    for (uint32_t d = 0; broadcasts && d < c->rank; ++d) {
      int64_t dim = c->shape[c->rank - 1 - d];
      broadcasts = dim == 1 || dim == product_shape[1 - d];
    }
    if (!broadcasts)
      return corrupt(l, "C \"%s\" (rank %" PRIu32 ", last dim %" PRId64
                        ") does not broadcast to the product [%" PRId64 ",%" PRId64 "]",
                     c->name, c->rank, c->rank ? c->shape[c->rank - 1] : 1, m, n);
    vector_bias = c->data && c->rank <= 2 && (c->rank == 0 || c->shape[c->rank - 1] == n || c->shape[c->rank - 1] == 1) &&
                  (c->rank < 2 || c->shape[0] == 1);
    if (vector_bias || c->data) {
      /* beta folded into a constant C; a per-column C becomes the MATMUL bias. */
      float *scaled = malloc((size_t)(vector_bias ? n : (int64_t)c->element_count) * 4 + 4);
      if (!scaled) return out_of_memory(l);
      int64_t count = vector_bias ? n : (int64_t)c->element_count;
      for (int64_t i = 0; i < count; ++i)
        scaled[i] = beta * (float)element_f64(c, c->element_count == 1 ? 0 : (uint64_t)i);
      int64_t shape[THAW_MAX_RANK];
      memcpy(shape, c->shape, sizeof(shape));
      bias = vector_bias ? cv_add_constant(l->graph, c->name, THAW_DTYPE_F32, 1, &n, scaled)
                         : cv_add_constant(l->graph, c->name, THAW_DTYPE_F32, c->rank, shape, scaled);
      free(scaled);
      if (bias == CV_NONE) return out_of_memory(l);
    } else if (beta != 1.0f) {
      status = emit_scaled(l, bias, beta, CV_NONE, &bias);
      if (status != THAW_OK) return status;
    }
  }
  /* The MATMUL bias is added after the product, so it can carry C only when alpha is folded. */
  bool fused_bias = vector_bias && !scale_product;
  bool add_bias = bias != CV_NONE && !fused_bias;
  int64_t shape[2] = {m, n};
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_F32, 2, shape, &output);
  uint32_t product = output;
  if (status == THAW_OK && (scale_product || add_bias))
    status = new_temp(l, "product", THAW_DTYPE_F32, 2, shape, &product);
  if (status != THAW_OK) return status;
  cv_attrs attrs = {0};
  inputs[2] = fused_bias ? bias : CV_NONE;
  status = emit1(l, THAW_OP_MATMUL, &attrs, inputs, fused_bias ? 3 : 2, product);
  if (status == THAW_OK && scale_product)
    status = emit_scaled(l, product, alpha, add_bias ? CV_NONE : output, &product);
  if (status != THAW_OK || !add_bias) return status;
  cv_attrs add = {.binary = {.func = THAW_BINARY_ADD}};
  uint32_t operands[2] = {product, bias};
  return emit1(l, THAW_OP_BINARY, &add, operands, 2, output);
}

/* ---- Linear quantization ----
 *
 * QuantizeLinear and DequantizeLinear become the elementwise ops of the same names. The integer
 * products are their float op between dequantizes and a quantize (QLinearMatMul, QLinearConv)
 * or a cast (MatMulInteger, ConvInteger); a dequantize of constant int8 weights is kept as a
 * node, not folded, so that cv_fuse_qdq can run the product on the int8 kernels. */

static bool is_quantized_dtype(thaw_dtype dtype) {
  return dtype == THAW_DTYPE_I8 || dtype == THAW_DTYPE_U8;
}

/* The op's axis for `scale`: 0 for one element (per tensor), else `axis` of x, whose dim the
 * scale's length must be. The zero point, if any, has dtype `integer` and scale's length. */
static thaw_status quantization_axis(lowering *l, uint32_t x, uint32_t scale, uint32_t zero_point,
                                     thaw_dtype integer, int64_t axis, uint32_t *result) {
  thaw_status status = require_f32(l, scale, "scale");
  if (status != THAW_OK) return status;
  const cv_value *vx = val(l, x), *vs = val(l, scale);
  *result = 0;
  if (vs->element_count != 1) {
    if (vs->rank != 1) return corrupt(l, "scale \"%s\" must be a scalar or 1-D", vs->name);
    status = normalize_axis(l, axis, vx->rank, result);
    if (status != THAW_OK) return status;
    if (vs->shape[0] != vx->shape[*result])
      return corrupt(l, "scale \"%s\" has %" PRId64 " values for the %" PRId64 " of \"%s\"'s axis %" PRIu32,
                     vs->name, vs->shape[0], vx->shape[*result], vx->name, *result);
  }
  if (zero_point == CV_NONE) return THAW_OK;
  const cv_value *vz = val(l, zero_point);
  if (vz->dtype != integer || vz->element_count != vs->element_count)
    return corrupt(l, "zero point \"%s\" is %s with %" PRIu64 " values; expected %s with %" PRIu64,
                   vz->name, thaw_dtype_name(vz->dtype), vz->element_count,
                   thaw_dtype_name(integer), vs->element_count);
  return THAW_OK;
}

static int compare_appearances(const void *a, const void *b) {
  const onnx_appearance *x = a, *y = b;
  const int by_name = strcmp(x->name, y->name);
  if (by_name != 0) return by_name;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  if (x->node_index != y->node_index) return x->node_index < y->node_index ? -1 : 1;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void append_appearance(onnx_index *index, const char *name, const Onnx__NodeProto *node,
                              size_t node_index, size_t slot, onnx_appearance_kind kind) {
  if (name && name[0])
    index->appearances[index->count++] =
        (onnx_appearance){name, node, node_index, slot, kind};
}

static thaw_status onnx_index_build(const Onnx__GraphProto *graph, onnx_index *index,
                                    thaw_error *error) {
  size_t capacity = graph->n_output;
  for (size_t n = 0; n < graph->n_node; ++n)
    if (__builtin_add_overflow(capacity, graph->node[n]->n_input, &capacity) ||
        __builtin_add_overflow(capacity, graph->node[n]->n_output, &capacity))
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  index->count = 0;
  index->appearances = calloc(capacity + 1, sizeof(onnx_appearance));
  if (!index->appearances) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t n = 0; n < graph->n_node; ++n) {
    const Onnx__NodeProto *node = graph->node[n];
    for (size_t i = 0; i < node->n_input; ++i)
      append_appearance(index, node->input[i], node, n, i, ONNX_READ);
    for (size_t i = 0; i < node->n_output; ++i)
      append_appearance(index, node->output[i], node, n, i, ONNX_PRODUCED);
  }
  for (size_t i = 0; i < graph->n_output; ++i)
    append_appearance(index, graph->output[i]->name, NULL, 0, i, ONNX_GRAPH_OUTPUT);
  qsort(index->appearances, index->count, sizeof(onnx_appearance), compare_appearances);
  return THAW_OK;
}

/* The appearances of `name` of one kind, in node order: *count of them from the returned one. */
static const onnx_appearance *appearances_of(const lowering *l, const char *name,
                                             onnx_appearance_kind kind, size_t *count) {
  const onnx_index *index = l->onnx_names;
  size_t low = 0, high = index->count;
  while (low < high) { /* the first not below (name, kind, node 0) */
    const size_t middle = low + (high - low) / 2;
    const onnx_appearance *a = &index->appearances[middle];
    const int by_name = strcmp(a->name, name);
    if (by_name < 0 || (by_name == 0 && a->kind < kind)) low = middle + 1;
    else high = middle;
  }
  size_t end = low;
  while (end < index->count && index->appearances[end].kind == kind &&
         strcmp(index->appearances[end].name, name) == 0)
    end++;
  *count = end - low;
  return &index->appearances[low];
}

static bool is_graph_output(const lowering *l, const char *name) {
  size_t count;
  appearances_of(l, name, ONNX_GRAPH_OUTPUT, &count);
  return count > 0;
}

/* True when every consumer of ONNX value `name` reads it as the weights of a Conv, MatMul or
 * Gemm and it is no graph output: the only places an int8 weight can stay int8. */
static bool read_only_as_weights(const lowering *l, const char *name) {
  if (is_graph_output(l, name)) return false;
  size_t count;
  const onnx_appearance *reads = appearances_of(l, name, ONNX_READ, &count);
  for (size_t r = 0; r < count; ++r) {
    const char *op = reads[r].node->op_type ? reads[r].node->op_type : "";
    if (reads[r].slot != 1 ||
        (strcmp(op, "Conv") != 0 && strcmp(op, "MatMul") != 0 && strcmp(op, "Gemm") != 0))
      return false;
  }
  return count > 0;
}

/* X scale [zero_point] -> `output` (a dequantize when `dequantize`). Weights (constant int8 or
 * uint8 with constant parameters) are dequantized by a node kept for cv_fuse_qdq, which folds
 * it if it fuses nothing. */
static thaw_status emit_linear_quantization(lowering *l, bool dequantize, uint32_t x,
                                            uint32_t scale, uint32_t zero_point, uint32_t axis,
                                            bool weights, uint32_t output) {
  cv_attrs attrs = {.axis = {.axis = axis}};
  uint32_t inputs[3] = {x, scale, zero_point};
  uint32_t count = zero_point == CV_NONE ? 2 : 3;
  bool keep = dequantize && weights && is_constant(l, x) && is_quantized_dtype(val(l, x)->dtype) &&
              is_constant(l, scale) && (zero_point == CV_NONE || is_constant(l, zero_point));
  if (!keep)
    return emit1(l, dequantize ? THAW_OP_DEQUANTIZE_LINEAR : THAW_OP_QUANTIZE_LINEAR, &attrs,
                 inputs, count, output);
  return cv_add_node(l->graph, THAW_OP_DEQUANTIZE_LINEAR, l->name, &attrs, inputs, count, &output,
                     1) == CV_NONE ? out_of_memory(l) : THAW_OK;
}

/* A dequantized copy of operand `x` in a fresh f32 temporary. */
static thaw_status dequantize_operand(lowering *l, uint32_t x, uint32_t scale, uint32_t zero_point,
                                      int64_t axis, bool weights, const char *role,
                                      uint32_t *result) {
  const cv_value *vx = val(l, x);
  if (!is_quantized_dtype(vx->dtype))
    return refuse(l, "%s \"%s\" is %s; only i8 and u8 are supported", role, vx->name,
                  thaw_dtype_name(vx->dtype));
  uint32_t op_axis;
  thaw_status status = quantization_axis(l, x, scale, zero_point, vx->dtype, axis, &op_axis);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, vx->shape, sizeof(shape));
  uint32_t rank = vx->rank;
  if (status == THAW_OK) status = new_temp(l, "dequantized", THAW_DTYPE_F32, rank, shape, result);
  return status == THAW_OK ? emit_linear_quantization(l, true, x, scale, zero_point, op_axis,
                                                      weights, *result)
                           : status;
}

static thaw_status lower_quantize_linear(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  uint32_t zero_point = l->in_count > 2 ? l->in[2] : CV_NONE;
  thaw_dtype integer = zero_point == CV_NONE ? THAW_DTYPE_U8 : val(l, zero_point)->dtype;
  if (!is_quantized_dtype(integer))
    return refuse(l, "zero point \"%s\" is %s; only i8 and u8 are supported",
                  val(l, zero_point)->name, thaw_dtype_name(integer));
  uint32_t axis, output;
  status = quantization_axis(l, l->in[0], l->in[1], zero_point, integer, attr_int(l, "axis", 1),
                             &axis);
  const cv_value *x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  if (status == THAW_OK) status = new_output(l, 0, integer, x->rank, shape, &output);
  return status == THAW_OK ? emit_linear_quantization(l, false, l->in[0], l->in[1], zero_point,
                                                      axis, false, output)
                           : status;
}

static thaw_status lower_dequantize_linear(lowering *l) {
  thaw_status status = require_input(l, 1);
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  if (!is_quantized_dtype(x->dtype) && x->dtype != THAW_DTYPE_I32)
    return refuse(l, "input \"%s\" is %s; only i8, u8 and i32 are supported", x->name,
                  thaw_dtype_name(x->dtype));
  uint32_t zero_point = l->in_count > 2 ? l->in[2] : CV_NONE;
  uint32_t axis, output;
  status = quantization_axis(l, l->in[0], l->in[1], zero_point, x->dtype, attr_int(l, "axis", 1),
                             &axis);
  x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  if (status == THAW_OK) status = new_output(l, 0, THAW_DTYPE_F32, x->rank, shape, &output);
  return status == THAW_OK
             ? emit_linear_quantization(l, true, l->in[0], l->in[1], zero_point, axis,
                                        read_only_as_weights(l, l->node->output[0]), output)
             : status;
}

static thaw_status lower_dynamic_quantize_linear(lowering *l) {
  thaw_status status = require_f32(l, l->in[0], "input");
  if (status != THAW_OK) return status;
  const cv_value *x = val(l, l->in[0]);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape, sizeof(shape));
  uint32_t outputs[3];
  status = new_output(l, 0, THAW_DTYPE_U8, x->rank, shape, &outputs[0]);
  if (status == THAW_OK) status = new_output(l, 1, THAW_DTYPE_F32, 0, shape, &outputs[1]);
  if (status == THAW_OK) status = new_output(l, 2, THAW_DTYPE_U8, 0, shape, &outputs[2]);
  return status == THAW_OK ? emit(l, THAW_OP_DYNAMIC_QUANTIZE_LINEAR, NULL, l->in, 1, outputs, 3)
                           : status;
}

static thaw_status lower_float_conv(lowering *l) { return lower_conv(l, false); }

/* The node lowered as `lower` (Conv or MatMul) would lower it with f32 `inputs`, its result in a
 * fresh value `*result` instead of the node's output: the integer ops share the float ops'
 * attribute handling and shape rules this way. */
static thaw_status lower_float_core(lowering *l, thaw_status (*lower)(lowering *),
                                    const uint32_t *inputs, uint32_t input_count,
                                    uint32_t *result) {
  const char *output = l->node->output[0];
  size_t length = strlen(output) + sizeof("/float");
  char *name = malloc(length);
  if (!name) return out_of_memory(l);
  snprintf(name, length, "%s/float", output);
  thaw_status status = THAW_OK;
  if (cv_lookup_name(l->graph, name) != CV_NONE) {
    status = corrupt(l, "the name \"%s\" it needs is taken", name);
  } else {
    Onnx__NodeProto core_node = *l->node;
    char *core_outputs[1] = {name};
    core_node.output = core_outputs;
    core_node.n_output = 1;
    lowering core = *l;
    core.node = &core_node;
    core.in_count = input_count;
    memcpy(core.in, inputs, input_count * sizeof(uint32_t));
    status = lower(&core);
    l->mistyped = core.mistyped;
    l->mistyped_expected = core.mistyped_expected;
    *result = cv_lookup_name(l->graph, name);
  }
  free(name);
  return status;
}

/* QLinearConv's int32 bias as f32: its scale is x_scale * w_scale (per output channel). */
static thaw_status dequantize_bias(lowering *l, uint32_t bias, uint32_t x_scale, uint32_t w_scale,
                                   uint32_t *result) {
  const cv_value *vb = val(l, bias);
  if (vb->dtype != THAW_DTYPE_I32 || vb->rank != 1)
    return corrupt(l, "bias \"%s\" must be a 1-D i32 tensor", vb->name);
  if (val(l, x_scale)->element_count != 1)
    return corrupt(l, "x_scale \"%s\" must hold one value", val(l, x_scale)->name);
  uint32_t scale;
  const cv_value *vw = val(l, w_scale);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, vw->shape, sizeof(shape));
  thaw_status status = new_temp(l, "bias_scale", THAW_DTYPE_F32, vw->rank, shape, &scale);
  cv_attrs mul = {.binary = {.func = THAW_BINARY_MUL}};
  uint32_t factors[2] = {w_scale, x_scale};
  if (status == THAW_OK) status = emit1(l, THAW_OP_BINARY, &mul, factors, 2, scale);
  if (status != THAW_OK) return status;
  uint32_t axis;
  status = quantization_axis(l, bias, scale, CV_NONE, THAW_DTYPE_I32, 0, &axis);
  memcpy(shape, vb->shape, sizeof(shape));
  if (status == THAW_OK) status = new_temp(l, "bias", THAW_DTYPE_F32, 1, shape, result);
  return status == THAW_OK ? emit_linear_quantization(l, true, bias, scale, CV_NONE, axis, false,
                                                      *result)
                           : status;
}

/* QLinearMatMul (a a_scale a_zero_point b b_scale b_zero_point y_scale y_zero_point) and
 * QLinearConv (x x_scale x_zero_point w w_scale w_zero_point y_scale y_zero_point [B]):
 * dequantize, the float op, quantize. A's scale may be per row, B's per column, W's per output
 * channel. */
static thaw_status lower_qlinear(lowering *l, thaw_status (*lower)(lowering *)) {
  thaw_status status = THAW_OK;
  for (uint32_t i = 1; i < 8 && status == THAW_OK; ++i) status = require_input(l, i);
  if (status != THAW_OK) return status;
  const bool conv = lower == lower_float_conv;
  const int64_t a_axis = conv ? 1 : -2, b_axis = conv ? 0 : -1;
  uint32_t floats[3] = {CV_NONE, CV_NONE, CV_NONE}, count = 2, product;
  status = dequantize_operand(l, l->in[0], l->in[1], l->in[2], a_axis, false, "input", &floats[0]);
  if (status == THAW_OK)
    status = dequantize_operand(l, l->in[3], l->in[4], l->in[5], b_axis, true, "weights", &floats[1]);
  if (status == THAW_OK && conv && l->in_count > 8 && l->in[8] != CV_NONE) {
    status = dequantize_bias(l, l->in[8], l->in[1], l->in[4], &floats[2]);
    count = 3;
  }
  if (status == THAW_OK) status = lower_float_core(l, lower, floats, count, &product);
  if (status != THAW_OK) return status;
  const cv_value *vy = val(l, product), *vz = val(l, l->in[7]);
  if (!is_quantized_dtype(vz->dtype))
    return refuse(l, "y_zero_point \"%s\" is %s; only i8 and u8 are supported", vz->name,
                  thaw_dtype_name(vz->dtype));
  uint32_t axis, output;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, vy->shape, sizeof(shape));
  uint32_t rank = vy->rank;
  thaw_dtype integer = vz->dtype;
  status = quantization_axis(l, product, l->in[6], l->in[7], integer, 1, &axis);
  if (status == THAW_OK) status = new_output(l, 0, integer, rank, shape, &output);
  return status == THAW_OK ? emit_linear_quantization(l, false, product, l->in[6], l->in[7], axis,
                                                      false, output)
                           : status;
}

/* Ones shaped like `zero_point` (or one one): the scale of an integer product's operand. */
static thaw_status unit_scale(lowering *l, uint32_t zero_point, uint32_t *scale) {
  const cv_value *vz = zero_point == CV_NONE ? NULL : val(l, zero_point);
  const uint64_t count = vz ? vz->element_count : 1;
  float *ones = malloc(count * sizeof(float));
  if (!ones) return out_of_memory(l);
  for (uint64_t i = 0; i < count; ++i) ones[i] = 1.0f;
  int64_t shape[THAW_MAX_RANK] = {1};
  uint32_t rank = 0;
  if (vz) {
    memcpy(shape, vz->shape, sizeof(shape));
    rank = vz->rank;
  }
  *scale = cv_add_constant(l->graph, l->node->output[0], THAW_DTYPE_F32, rank, shape, ones);
  free(ones);
  return *scale == CV_NONE ? out_of_memory(l) : THAW_OK;
}

/* The ONNX node that is the only reader of `name`, or NULL when there is none, more than one,
 * or `name` is a graph output. */
static const Onnx__NodeProto *sole_onnx_reader(const lowering *l, const char *name) {
  if (is_graph_output(l, name)) return NULL;
  size_t count;
  const onnx_appearance *reads = appearances_of(l, name, ONNX_READ, &count);
  return count == 1 ? reads->node : NULL;
}

static bool is_onnx_op(const Onnx__NodeProto *node, const char *op, size_t inputs) {
  return node != NULL && node->op_type && strcmp(node->op_type, op) == 0 &&
         node->n_input == inputs && node->n_output >= 1 && node->output[0] && node->output[0][0];
}

static bool is_cast_to_float(const Onnx__NodeProto *node) {
  if (!is_onnx_op(node, "Cast", 1)) return false;
  for (size_t a = 0; a < node->n_attribute; ++a) {
    const Onnx__AttributeProto *to = node->attribute[a];
    if (to->name && strcmp(to->name, "to") == 0)
      return to->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT &&
             to->i == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  }
  return false;
}

/* The input of a two-input ONNX node other than `name`, or NULL unless exactly one is `name`. */
static const char *other_input(const Onnx__NodeProto *node, const char *name) {
  const bool first = node->input[0] && strcmp(node->input[0], name) == 0;
  const bool second = node->input[1] && strcmp(node->input[1], name) == 0;
  return first == second ? NULL : node->input[first ? 1 : 0];
}

/* The first ONNX node producing `name`, or NULL. */
static const Onnx__NodeProto *onnx_producer(const lowering *l, const char *name) {
  size_t count;
  const onnx_appearance *producers = appearances_of(l, name, ONNX_PRODUCED, &count);
  return count > 0 ? producers->node : NULL;
}

/* ONNX Runtime's dynamic quantization of a MatMul or Conv (quantize_dynamic):
 *
 *     x --DynamicQuantizeLinear--> (q, xs, zero point)
 *     MatMulInteger/ConvInteger(q, W, zero point, W's zero points) --Cast to float-->
 *     Mul(., xs * ws) --> y
 *
 * with W and ws constant (ws per tensor, or per output column or channel), lowered as one
 * QS8MatMul/QS8Conv from x to y: DYNAMIC_TENSOR quantizes x as the DynamicQuantizeLinear does,
 * W less its zero points keeps the model's integers, and the epilogue's float(sum) * (xs * ws)
 * is the Cast and the Mul to the bit. The integer product's and the Cast's outputs, which only
 * the chain reads, are bound to CV_FOLDED: the Cast and the Mul are then skipped, y being bound
 * here. *lowered is false, and nothing is added, when the node is not that pattern. */
static thaw_status lower_dynamically_quantized_product(lowering *l, bool conv, bool *lowered) {
  *lowered = false;
  if (l->in_count < 3 || l->in[2] == CV_NONE || !is_constant(l, l->in[1])) return THAW_OK;
  const cv_node *quantize = cv_producer(l->graph, l->in[0]);
  if (quantize == NULL || quantize->op != THAW_OP_DYNAMIC_QUANTIZE_LINEAR ||
      quantize->outputs[0] != l->in[0] || quantize->outputs[2] != l->in[2])
    return THAW_OK;
  const uint32_t x = quantize->inputs[0];
  const char *x_scale = val(l, quantize->outputs[1])->name;
  const uint32_t w_zero_point = l->in_count > 3 ? l->in[3] : CV_NONE;
  if (w_zero_point != CV_NONE && !is_constant(l, w_zero_point)) return THAW_OK;
  /* The chain: sums -> Cast -> Mul(., scale), scale = Mul(xs, ws). */
  const Onnx__NodeProto *cast = sole_onnx_reader(l, l->node->output[0]);
  if (!is_cast_to_float(cast)) return THAW_OK;
  const Onnx__NodeProto *rescale = sole_onnx_reader(l, cast->output[0]);
  if (!is_onnx_op(rescale, "Mul", 2)) return THAW_OK;
  const char *scale = other_input(rescale, cast->output[0]);
  const Onnx__NodeProto *scales = scale ? onnx_producer(l, scale) : NULL;
  const char *weight_scale = is_onnx_op(scales, "Mul", 2) ? other_input(scales, x_scale) : NULL;
  const uint32_t ws = weight_scale ? cv_lookup_name(l->graph, weight_scale) : CV_NONE;
  if (ws == CV_NONE || ws == CV_POISON || ws == CV_FOLDED || !is_constant(l, ws) ||
      val(l, ws)->dtype != THAW_DTYPE_F32 ||
      cv_lookup_name(l->graph, rescale->output[0]) != CV_NONE)
    return THAW_OK;
  const cv_value *a = val(l, x), *w = val(l, l->in[1]), *vs = val(l, ws);
  if (conv ? a->rank != 4 || w->rank != 4 || attr_int(l, "group", 1) != 1
           : a->rank < 2 || w->rank != 2 || a->shape[a->rank - 1] != w->shape[0])
    return THAW_OK;
  /* ws must leave the Mul's output the shape of the sums: one value, per column of a MatMul
   * ([N]), or per channel of a Conv ([M, 1, 1] or [1, M, 1, 1]). */
  const int64_t outputs = conv ? w->shape[0] : w->shape[1];
  const bool per_tensor = vs->element_count == 1 && vs->rank <= 1;
  const bool per_output =
      vs->element_count == (uint64_t)outputs &&
      (conv ? (vs->rank == 3 || (vs->rank == 4 && vs->shape[0] == 1)) &&
                  vs->shape[vs->rank - 3] == outputs && vs->shape[vs->rank - 2] == 1 &&
                  vs->shape[vs->rank - 1] == 1
            : vs->rank == 1);
  if (!per_tensor && !per_output) return THAW_OK;
  uint32_t packed, output;
  thaw_status status =
      cv_pack_integer_weights(l->graph, l->in[1], w_zero_point, ws, &packed, l->error);
  if (status != THAW_OK || packed == CV_NONE) return status;
  a = val(l, x); /* adding values may have moved them */
  const thaw_qs8_input_attrs whole_tensor = {THAW_QS8_INPUT_DYNAMIC_TENSOR, 0.0f, 0};
  if (conv) {
    /* The f32 Conv on x, its attributes and shapes as lower_conv makes them, then int8. */
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, val(l, l->in[1])->shape, sizeof(shape));
    uint32_t inputs[2] = {x, CV_NONE};
    status = new_temp(l, "weights", THAW_DTYPE_F32, 4, shape, &inputs[1]);
    if (status == THAW_OK) status = lower_float_core(l, lower_float_conv, inputs, 2, &output);
    if (status != THAW_OK) return status;
    cv_node *node = &l->graph->nodes[val(l, output)->producer];
    node->attrs.qs8_conv = (thaw_qs8_conv_attrs){node->attrs.conv, whole_tensor};
    node->op = THAW_OP_QS8_CONV;
    node->inputs[1] = packed;
  } else {
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, a->shape, sizeof(shape));
    shape[a->rank - 1] = outputs;
    output = cv_add_value(l->graph, rescale->output[0], THAW_DTYPE_F32, a->rank, shape);
    if (output == CV_NONE) return corrupt(l, "output \"%s\" is too large", rescale->output[0]);
    const cv_attrs attrs = {.qs8_matmul = {.input = whole_tensor}};
    const uint32_t inputs[2] = {x, packed};
    status = emit1(l, THAW_OP_QS8_MATMUL, &attrs, inputs, 2, output);
    if (status != THAW_OK) return status;
  }
  status = cv_bind_name(l->graph, rescale->output[0], output, l->error);
  if (status == THAW_OK) status = cv_bind_name(l->graph, l->node->output[0], CV_FOLDED, l->error);
  *lowered = status == THAW_OK;
  return status;
}

/* MatMulInteger (A B [a_zero_point b_zero_point]) and ConvInteger (x w [x_zero_point
 * w_zero_point]) -> i32: the operands less their zero points, exactly, in f32, the float op,
 * and a cast. The f32 sums are exact while they stay below 2^24 in magnitude. A's zero point
 * may be per row, B's per column, W's per output channel. */
static thaw_status lower_integer_product(lowering *l, thaw_status (*lower)(lowering *)) {
  thaw_status status = require_input(l, 1);
  if (status != THAW_OK) return status;
  const bool conv = lower == lower_float_conv;
  bool lowered;
  status = lower_dynamically_quantized_product(l, conv, &lowered);
  if (status != THAW_OK || lowered) return status;
  /* Each term is at most 255 * 255 in magnitude (8-bit values less an 8-bit zero point), so
   * the f32 sum is exact up to 2^24 / 255^2 terms; beyond that it could round, which would be
   * a silently wrong integer. */
  enum { MAX_EXACT_TERMS = (1 << 24) / (255 * 255) };
  const cv_value *weights = val(l, l->in[1]);
  int64_t terms = 1;
  if (conv) {
    for (uint32_t d = 1; d < weights->rank; ++d) terms *= weights->shape[d];
  } else {
    terms = weights->rank >= 2 ? weights->shape[weights->rank - 2] : weights->shape[0];
  }
  if (terms > MAX_EXACT_TERMS)
    return refuse(l, "a reduction over %lld terms: thaw computes integer products exactly only "
                     "up to %d terms of 8-bit values",
                  (long long)terms, (int)MAX_EXACT_TERMS);
  uint32_t zero_points[2] = {l->in_count > 2 ? l->in[2] : CV_NONE, l->in_count > 3 ? l->in[3] : CV_NONE};
  const int64_t axes[2] = {conv ? 1 : -2, conv ? 0 : -1};
  const char *roles[2] = {"A", "B"};
  uint32_t floats[2], product;
  for (uint32_t i = 0; i < 2 && status == THAW_OK; ++i) {
    uint32_t scale;
    status = unit_scale(l, zero_points[i], &scale);
    if (status == THAW_OK)
      status = dequantize_operand(l, l->in[i], scale, zero_points[i], axes[i], i == 1, roles[i],
                                  &floats[i]);
  }
  if (status == THAW_OK) status = lower_float_core(l, lower, floats, 2, &product);
  if (status != THAW_OK) return status;
  const cv_value *vy = val(l, product);
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, vy->shape, sizeof(shape));
  uint32_t output;
  status = new_output(l, 0, THAW_DTYPE_I32, vy->rank, shape, &output);
  return status == THAW_OK ? emit1(l, THAW_OP_CAST, NULL, &product, 1, output) : status;
}

/* ---- Recurrent ops ---- */

/* The activations attribute may only spell out the defaults (LSTM Sigmoid Tanh Tanh, GRU
 * Sigmoid Tanh, once per direction): the kernels compute exactly those. */
static thaw_status check_default_activations(lowering *l, bool gru, uint32_t directions) {
  static const char *const kDefaults[3] = {"Sigmoid", "Tanh", "Tanh"};
  const size_t per_direction = gru ? 2 : 3;
  const Onnx__AttributeProto *a =
      typed_attribute(l, "activations", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  if (a == NULL) return THAW_OK;
  bool defaults = a->n_strings == per_direction * directions;
  for (size_t i = 0; defaults && i < a->n_strings; ++i) {
    const char *expected = kDefaults[i % per_direction];
    defaults = a->strings[i].len == strlen(expected) &&
               memcmp(a->strings[i].data, expected, a->strings[i].len) == 0;
  }
  if (defaults) return THAW_OK;
  return refuse(l, "activations other than the defaults (%s) are not supported",
                gru ? "Sigmoid, Tanh" : "Sigmoid, Tanh, Tanh");
}

/* An optional ONNX input that must be a constant of exactly `rank` dims `dims`. */
static thaw_status require_shape(lowering *l, uint32_t id, const char *role, uint32_t rank,
                                 const int64_t *dims) {
  const cv_value *v = val(l, id);
  bool same = v->rank == rank;
  for (uint32_t d = 0; same && d < rank; ++d) same = v->shape[d] == dims[d];
  if (same) return THAW_OK;
  return corrupt(l, "%s \"%s\" does not have the shape the op's other inputs imply", role,
                 v->name);
}

/* ONNX LSTM and GRU (opsets 7-17) -> THAW_OP_LSTM / THAW_OP_GRU. W and R become the
 * transposed gate columns of FORMAT.md's "Recurrent ops" (packed for the GEMM by emit), the
 * two ONNX biases one projection bias, except GRU's candidate recurrent bias when the reset
 * gate scales it (linear_before_reset). */
static thaw_status lower_recurrent(lowering *l, bool gru) {
  const uint32_t op = gru ? THAW_OP_GRU : THAW_OP_LSTM, gates = gru ? 3 : 4;
  thaw_status status = require_input(l, 1);
  if (status == THAW_OK) status = require_input(l, 2);
  for (uint32_t i = 0; status == THAW_OK && i < 3; ++i)
    status = require_f32(l, l->in[i], i == 0 ? "X" : i == 1 ? "W" : "R");
  if (status == THAW_OK) status = require_constant(l, l->in[1], "W");
  if (status == THAW_OK) status = require_constant(l, l->in[2], "R");
  if (status != THAW_OK) return status;
  if (attribute(l, "clip")) return refuse(l, "attribute clip is not supported");
  if (attribute(l, "activation_alpha") || attribute(l, "activation_beta"))
    return refuse(l, "attributes activation_alpha/activation_beta are not supported");
  if (!gru && attr_int(l, "input_forget", 0) != 0)
    return refuse(l, "input_forget=1 (coupled input and forget gates) is not supported");
  char buffer[64];
  const char *direction_name = attr_string(l, "direction", "forward", buffer);
  uint32_t direction;
  if (strcmp(direction_name, "forward") == 0) direction = THAW_RECURRENT_FORWARD;
  else if (strcmp(direction_name, "reverse") == 0) direction = THAW_RECURRENT_REVERSE;
  else if (strcmp(direction_name, "bidirectional") == 0) direction = THAW_RECURRENT_BIDIRECTIONAL;
  else return corrupt(l, "unknown direction \"%s\"", direction_name);
  const uint32_t directions = direction == THAW_RECURRENT_BIDIRECTIONAL ? 2 : 1;
  status = check_default_activations(l, gru, directions);
  if (status != THAW_OK) return status;
  const int64_t layout = attr_int(l, "layout", 0);
  const int64_t linear_before_reset = gru ? attr_int(l, "linear_before_reset", 0) : 0;
  if (layout != 0 && layout != 1) return corrupt(l, "layout %" PRId64 " is not 0 or 1", layout);

  const cv_value *x = val(l, l->in[0]), *w = val(l, l->in[1]), *r = val(l, l->in[2]);
  if (x->rank != 3 || w->rank != 3 || r->rank != 3)
    return corrupt(l, "X, W and R must have rank 3");
  const int64_t hidden = r->shape[2], steps = x->shape[layout ? 1 : 0];
  const int64_t batch = x->shape[layout ? 0 : 1], input_size = x->shape[2];
  if (hidden < 1 || hidden > UINT32_MAX || attr_int(l, "hidden_size", hidden) != hidden)
    return corrupt(l, "hidden_size does not match R's last dim %" PRId64, hidden);
  const int64_t w_dims[3] = {directions, gates * hidden, input_size};
  const int64_t r_dims[3] = {directions, gates * hidden, hidden};
  const int64_t bias_dims[2] = {directions, 2 * gates * hidden};
  const int64_t state_dims[3] = {layout ? batch : directions, layout ? directions : batch, hidden};
  status = require_shape(l, l->in[1], "W", 3, w_dims);
  if (status == THAW_OK) status = require_shape(l, l->in[2], "R", 3, r_dims);
  if (status != THAW_OK) return status;

  const uint32_t onnx_bias = l->in_count > 3 ? l->in[3] : CV_NONE;
  const uint32_t lengths = l->in_count > 4 ? l->in[4] : CV_NONE;
  const uint32_t initial_h = l->in_count > 5 ? l->in[5] : CV_NONE;
  const uint32_t initial_c = !gru && l->in_count > 6 ? l->in[6] : CV_NONE;
  const uint32_t peepholes = !gru && l->in_count > 7 ? l->in[7] : CV_NONE;
  if (onnx_bias != CV_NONE) {
    status = require_constant(l, onnx_bias, "B");
    if (status == THAW_OK) status = require_f32(l, onnx_bias, "B");
    if (status == THAW_OK) status = require_shape(l, onnx_bias, "B", 2, bias_dims);
    if (status != THAW_OK) return status;
  }
  if (lengths != CV_NONE) {
    /* Every sequence the full length is the only case the kernels run. */
    if (!is_constant(l, lengths))
      return refuse(l, "sequence_lens is computed at run time; only constant, uniform "
                       "sequence lengths are supported");
    const cv_value *v = val(l, lengths);
    for (uint64_t i = 0; i < v->element_count; ++i)
      if (element_i64(v, i) != steps)
        return refuse(l, "sequence_lens holds %" PRId64 " where the sequence has %" PRId64
                         " steps; sequences of different lengths are not supported",
                      element_i64(v, i), steps);
  }
  if (peepholes != CV_NONE) {
    if (!is_constant(l, peepholes))
      return refuse(l, "peephole weights P are computed at run time; peepholes are not "
                       "supported");
    const cv_value *v = val(l, peepholes);
    for (uint64_t i = 0; i < v->element_count; ++i)
      if (element_f64(v, i) != 0.0)
        return refuse(l, "peephole weights P are not zero; peepholes are not supported");
  }
  const uint32_t initial[2] = {initial_h, initial_c};
  for (uint32_t i = 0; i < 2; ++i) {
    if (initial[i] == CV_NONE) continue;
    const char *role = i == 0 ? "initial_h" : "initial_c";
    status = require_f32(l, initial[i], role);
    if (status == THAW_OK) status = require_shape(l, initial[i], role, 3, state_dims);
    if (status != THAW_OK) return status;
  }

  /* Each direction's gates, transposed into the columns the kernels read. */
  const uint64_t per_direction = thaw_recurrent_direction_columns(op, (uint32_t)hidden);
  const int64_t columns = (int64_t)(directions * per_direction);
  const int64_t sources[2] = {input_size, hidden};
  uint32_t matrices[2];
  for (uint32_t m = 0; m < 2; ++m) {
    const cv_value *onnx = val(l, l->in[1 + m]);
    const int64_t k = sources[m];
    float *matrix = calloc((size_t)(k * columns), sizeof(float));
    if (!matrix) return out_of_memory(l);
    for (uint32_t d = 0; d < directions; ++d)
      for (uint32_t g = 0; g < gates; ++g) {
        const int64_t first =
            (int64_t)(d * per_direction + thaw_recurrent_gate_column(op, (uint32_t)hidden, g));
        for (int64_t j = 0; j < hidden; ++j)
          for (int64_t kk = 0; kk < k; ++kk)
            matrix[kk * columns + first + j] =
                (float)element_f64(onnx, (uint64_t)(((d * gates + g) * hidden + j) * k + kk));
      }
    const int64_t shape[2] = {k, columns};
    matrices[m] = cv_add_constant(l->graph, onnx->name, THAW_DTYPE_F32, 2, shape, matrix);
    free(matrix);
    if (matrices[m] == CV_NONE) return out_of_memory(l);
  }
  uint32_t inputs[6] = {l->in[0], matrices[0], matrices[1]}, input_count = 3;
  uint32_t candidate_bias_input = CV_NONE;
  cv_attrs attrs = {.recurrent = {.direction = direction,
                                  .hidden_size = (uint32_t)hidden,
                                  .layout = (uint32_t)layout,
                                  .linear_before_reset = linear_before_reset != 0}};
  if (onnx_bias != CV_NONE) {
    const cv_value *b = val(l, onnx_bias);
    const bool split_candidate = gru && linear_before_reset != 0;
    float *bias = calloc((size_t)columns, sizeof(float));
    float *candidate_bias = calloc((size_t)(directions * hidden), sizeof(float));
    if (!bias || !candidate_bias) {
      free(bias);
      free(candidate_bias);
      return out_of_memory(l);
    }
    for (uint32_t d = 0; d < directions; ++d)
      for (uint32_t g = 0; g < gates; ++g)
        for (int64_t j = 0; j < hidden; ++j) {
          const uint64_t wb = (uint64_t)((d * 2 * gates + g) * hidden + j);
          const uint64_t rb = wb + (uint64_t)(gates * hidden);
          const bool scaled_by_reset = split_candidate && g == 2;
          bias[d * per_direction + thaw_recurrent_gate_column(op, (uint32_t)hidden, g) + j] =
              (float)(element_f64(b, wb) + (scaled_by_reset ? 0.0 : element_f64(b, rb)));
          if (scaled_by_reset) candidate_bias[d * hidden + j] = (float)element_f64(b, rb);
        }
    const int64_t candidate_dims[2] = {directions, hidden};
    const uint32_t bias_id = cv_add_constant(l->graph, b->name, THAW_DTYPE_F32, 1, &columns, bias);
    const uint32_t candidate_id =
        split_candidate ? cv_add_constant(l->graph, b->name, THAW_DTYPE_F32, 2, candidate_dims,
                                          candidate_bias)
                        : CV_NONE;
    free(bias);
    free(candidate_bias);
    if (bias_id == CV_NONE || (split_candidate && candidate_id == CV_NONE))
      return out_of_memory(l);
    inputs[input_count++] = bias_id;
    attrs.recurrent.inputs |= THAW_RECURRENT_INPUT_BIAS;
    if (split_candidate) candidate_bias_input = candidate_id;
  }
  if (initial_h != CV_NONE) {
    inputs[input_count++] = initial_h;
    attrs.recurrent.inputs |= THAW_RECURRENT_INPUT_INITIAL_H;
  }
  if (initial_c != CV_NONE) {
    inputs[input_count++] = initial_c;
    attrs.recurrent.inputs |= THAW_RECURRENT_INPUT_INITIAL_C;
  }
  if (candidate_bias_input != CV_NONE) {
    inputs[input_count++] = candidate_bias_input;
    attrs.recurrent.inputs |= THAW_RECURRENT_INPUT_CANDIDATE_BIAS;
  }

  const int64_t y_dims[4] = {layout ? batch : steps, layout ? steps : directions,
                             layout ? directions : batch, hidden};
  uint32_t outputs[3], output_count = 0;
  for (uint32_t o = 0; o < (gru ? 2u : 3u); ++o) {
    if (o >= l->node->n_output || !l->node->output[o] || !l->node->output[o][0]) continue;
    status = new_output(l, o, THAW_DTYPE_F32, o == 0 ? 4 : 3, o == 0 ? y_dims : state_dims,
                        &outputs[output_count++]);
    if (status != THAW_OK) return status;
    attrs.recurrent.outputs |= 1u << o;
  }
  if (output_count == 0) return THAW_OK; /* nothing reads it */
  return emit(l, op, &attrs, inputs, input_count, outputs, output_count);
}

/* ---- Dispatch ---- */

static thaw_status lower_identity(lowering *l) {
  l->graph->report->counts[THAW_CONVERT_DROPPED_IDENTITY]++;
  return alias_output(l, 0, l->in[0]);
}

/* Only inference Dropout is an identity: training_mode (opset 12+) must be absent or a false
 * constant, unless the ratio is a zero constant. Its mask is then all true. */
static thaw_status lower_dropout(lowering *l) {
  uint32_t mode = l->in_count > 2 ? l->in[2] : CV_NONE;
  if (mode != CV_NONE && !(is_constant(l, mode) && element_i64(val(l, mode), 0) == 0)) {
    uint32_t ratio = l->in_count > 1 ? l->in[1] : CV_NONE;
    bool zero_ratio = ratio != CV_NONE && is_constant(l, ratio) && element_f64(val(l, ratio), 0) == 0;
    if (!zero_ratio)
      return refuse(l, is_constant(l, mode)
                           ? "training_mode=true is not supported (only inference Dropout)"
                           : "training_mode is computed at run time; only inference Dropout is "
                             "supported");
  }
  if (l->node->n_output > 1 && l->node->output[1] && l->node->output[1][0]) {
    const cv_value *x = val(l, l->in[0]);
    /* Dropout-10 made the mask bool; before, it had the input's type. */
    thaw_dtype dtype = l->graph->opset >= 10 ? THAW_DTYPE_BOOL : x->dtype;
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, x->shape, sizeof(shape));
    uint8_t *mask;
    thaw_status status = constant_output(l, 1, dtype, x->rank, shape, &mask);
    if (status != THAW_OK) return status;
    uint64_t count = val(l, l->in[0])->element_count;
    for (uint64_t i = 0; i < count; ++i) store_element(mask, dtype, i, 1.0, 1);
  }
  return lower_identity(l);
}

/* Every ONNX op the converter handles, with the call that lowers it: one list for the dispatch
 * and for naming the ops that are unsupported even where their inputs could not be shaped. */
#define CV_LOWERINGS(X) \
  X("Identity", lower_identity(l)) \
  X("Dropout", lower_dropout(l)) \
  X("Add", lower_binary(l, THAW_BINARY_ADD, ARITH_ADD)) \
  X("Sub", lower_binary(l, THAW_BINARY_SUB, ARITH_SUB)) \
  X("Mul", lower_binary(l, THAW_BINARY_MUL, ARITH_MUL)) \
  X("Div", lower_binary(l, THAW_BINARY_DIV, ARITH_DIV)) \
  X("Pow", lower_binary(l, THAW_BINARY_POW, ARITH_ADD)) \
  X("Max", lower_variadic(l, THAW_BINARY_MAX, ARITH_MAX)) \
  X("Min", lower_variadic(l, THAW_BINARY_MIN, ARITH_MIN)) \
  X("Sum", lower_variadic(l, THAW_BINARY_ADD, ARITH_ADD)) \
  X("Mod", lower_compare(l, ARITH_MOD)) \
  X("Equal", lower_compare(l, COMPARE_EQUAL)) \
  X("Less", lower_compare(l, COMPARE_LESS)) \
  X("LessOrEqual", lower_compare(l, COMPARE_LESS_EQUAL)) \
  X("Greater", lower_compare(l, COMPARE_GREATER)) \
  X("GreaterOrEqual", lower_compare(l, COMPARE_GREATER_EQUAL)) \
  X("And", lower_compare(l, LOGIC_AND)) \
  X("Or", lower_compare(l, LOGIC_OR)) \
  X("Not", lower_not(l)) \
  X("Relu", emit_unary(l, THAW_UNARY_RELU, 0, 0)) \
  X("Sigmoid", emit_unary(l, THAW_UNARY_SIGMOID, 0, 0)) \
  X("Tanh", emit_unary(l, THAW_UNARY_TANH, 0, 0)) \
  X("Erf", emit_unary(l, THAW_UNARY_ERF, 0, 0)) \
  X("Sqrt", emit_unary(l, THAW_UNARY_SQRT, 0, 0)) \
  X("Exp", emit_unary(l, THAW_UNARY_EXP, 0, 0)) \
  X("Neg", emit_unary(l, THAW_UNARY_NEG, 0, 0)) \
  X("Abs", emit_unary(l, THAW_UNARY_ABS, 0, 0)) \
  X("Reciprocal", emit_unary(l, THAW_UNARY_RECIPROCAL, 0, 0)) \
  X("Log", emit_unary(l, THAW_UNARY_LOG, 0, 0)) \
  X("HardSwish", emit_unary(l, THAW_UNARY_HARD_SWISH, 0, 0)) \
  X("LeakyRelu", emit_unary(l, THAW_UNARY_LEAKY_RELU, attr_float(l, "alpha", 0.01f), 0)) \
  X("HardSigmoid", emit_unary(l, THAW_UNARY_HARD_SIGMOID, attr_float(l, "alpha", 0.2f), attr_float(l, "beta", 0.5f))) \
  X("Clip", lower_clip(l)) \
  X("Where", lower_where(l)) \
  X("Cast", lower_cast(l)) \
  X("Shape", lower_shape(l)) \
  X("Size", lower_size(l)) \
  X("ConstantOfShape", lower_constant_of_shape(l)) \
  X("Range", lower_range(l)) \
  X("Reshape", lower_reshape(l)) \
  X("Flatten", lower_flatten(l)) \
  X("Squeeze", lower_squeeze(l)) \
  X("Unsqueeze", lower_unsqueeze(l)) \
  X("Transpose", lower_transpose(l)) \
  X("Concat", lower_concat(l)) \
  X("Split", lower_split(l)) \
  X("Slice", lower_slice(l)) \
  X("Gather", lower_gather(l)) \
  X("Expand", lower_expand(l)) \
  X("Pad", lower_pad(l)) \
  X("Resize", lower_resize(l, false)) \
  X("Upsample", lower_resize(l, true)) \
  X("ReduceMean", lower_reduce_mean(l)) \
  X("Softmax", lower_softmax(l, false)) \
  X("LogSoftmax", lower_softmax(l, true)) \
  X("LayerNormalization", lower_layer_norm(l)) \
  X("BatchNormalization", lower_batch_norm(l)) \
  X("Conv", lower_conv(l, false)) \
  X("ConvTranspose", lower_conv(l, true)) \
  X("MaxPool", lower_pool(l, THAW_OP_MAX_POOL)) \
  X("AveragePool", lower_pool(l, THAW_OP_AVERAGE_POOL)) \
  X("GlobalAveragePool", lower_global_pool(l, false)) \
  X("GlobalMaxPool", lower_global_pool(l, true)) \
  X("MatMul", lower_matmul(l)) \
  X("Gemm", lower_gemm(l)) \
  X("QuantizeLinear", lower_quantize_linear(l)) \
  X("DequantizeLinear", lower_dequantize_linear(l)) \
  X("DynamicQuantizeLinear", lower_dynamic_quantize_linear(l)) \
  X("QLinearMatMul", lower_qlinear(l, lower_matmul)) \
  X("QLinearConv", lower_qlinear(l, lower_float_conv)) \
  X("MatMulInteger", lower_integer_product(l, lower_matmul)) \
  X("ConvInteger", lower_integer_product(l, lower_float_conv)) \
  X("LSTM", lower_recurrent(l, false)) \
  X("GRU", lower_recurrent(l, true))

static bool is_supported_op(const char *op) {
#define CV_OP_NAME(name, call) strcmp(op, name) == 0 ||
  return strcmp(op, "Constant") == 0 || CV_LOWERINGS(CV_OP_NAME) false;
#undef CV_OP_NAME
}

static thaw_status lower_node(lowering *l) {
  const char *op = l->op;
  if (strcmp(op, "Constant") == 0) return lower_constant(l);
  if (l->in_count == 0 || l->in[0] == CV_NONE) {
    if (!is_supported_op(op)) return refuse(l, "unsupported op");
    return corrupt(l, "input 0 is missing");
  }
#define CV_DISPATCH(name, call) \
  if (strcmp(op, name) == 0) return call;
  CV_LOWERINGS(CV_DISPATCH)
#undef CV_DISPATCH
  return refuse(l, "unsupported op");
}

/* Bind every output of the node that no lowering bound to `value`: CV_POISON for a node that
 * failed, CV_FOLDED for one an earlier lowering absorbed. */
static thaw_status bind_unbound_outputs(lowering *l, uint32_t value) {
  for (size_t i = 0; i < l->node->n_output; ++i) {
    const char *name = l->node->output[i];
    if (!name || !name[0] || cv_lookup_name(l->graph, name) != CV_NONE) continue;
    thaw_status status = cv_bind_name(l->graph, name, value, l->error);
    if (status != THAW_OK) return status;
  }
  return THAW_OK;
}

/* Lowers the nodes in order, then binds the graph outputs. */
static thaw_status lower_nodes(cv_graph *graph, const Onnx__GraphProto *onnx_graph,
                               const onnx_index *onnx_names, const char *model_dir,
                               thaw_error *error) {
  char unnamed[32];
  for (size_t index = 0; index < onnx_graph->n_node; ++index) {
    const Onnx__NodeProto *node = onnx_graph->node[index];
    lowering l = {.graph = graph, .node = node, .model_dir = model_dir,
                  .onnx_names = onnx_names, .error = error};
    snprintf(unnamed, sizeof(unnamed), "#%zu", index);
    l.name = node->name && node->name[0] ? node->name : unnamed;
    l.op = node->op_type ? node->op_type : "";
    const char *domain = node->domain ? node->domain : "";
    bool skip = false, folded = false;
    size_t unsupported_before = graph->report->unsupported_count;
    uint32_t names_before = graph->name_storage_count;
    thaw_status status = THAW_OK;
    if (strcmp(domain, "") != 0 && strcmp(domain, "ai.onnx") != 0) {
      status = refuse(&l, "domain \"%s\" is not supported", domain);
    } else if (node->n_input > MAX_NODE_INPUTS) {
      status = refuse(&l, "%zu inputs are more than %d", node->n_input, MAX_NODE_INPUTS);
    } else if (node->n_output == 0 || node->output[0] == NULL) {
      /* Every ONNX op produces something; the lowerings name their values after output 0. */
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "node \"%s\" (%s): no outputs", l.name,
                            l.op);
    } else {
      l.in_count = (uint32_t)node->n_input;
      for (uint32_t i = 0; i < l.in_count; ++i) {
        const char *name = node->input[i];
        if (!name || !name[0]) {
          l.in[i] = CV_NONE;
          continue;
        }
        l.in[i] = cv_lookup_name(graph, name);
        if (l.in[i] == CV_POISON) skip = true;
        if (l.in[i] == CV_FOLDED) folded = true;
        if (l.in[i] == CV_NONE)
          return thaw_error_set(error, THAW_STATUS_CORRUPT,
                                "node \"%s\" (%s): input \"%s\" is not produced by any earlier "
                                "node (unknown name or a cycle)", l.name, l.op, name);
      }
      /* A node fed by a refused node cannot be shaped; still name it if its op is unknown. */
      if (skip) {
        status = is_supported_op(l.op) ? THAW_STATUS_UNSUPPORTED : refuse(&l, "unsupported op");
      } else if (folded) {
        status = bind_unbound_outputs(&l, CV_FOLDED);
      } else {
        uint32_t values_before = graph->value_count;
        l.mistyped = NULL;
        status = lower_node(&l);
        if (l.mistyped != NULL)
          status = corrupt(&l, "attribute \"%s\" is %s, the op needs %s", l.mistyped->name,
                           attribute_type_name(l.mistyped->type),
                           attribute_type_name(l.mistyped_expected));
        if (status == THAW_OK && strcmp(l.op, "Constant") != 0 && node->n_output > 0 &&
            node->output[0] && node->output[0][0]) {
          uint32_t produced = cv_lookup_name(graph, node->output[0]);
          if (produced >= values_before && produced < graph->value_count &&
              graph->values[produced].data)
            graph->report->counts[THAW_CONVERT_FOLDED_CONSTANT]++;
        }
      }
    }
    if (status == THAW_STATUS_UNSUPPORTED) {
      /* A refusal from deeper down (the runtime, a dtype) is listed like the others. */
      if (graph->report->unsupported_count == unsupported_before && !skip &&
          cv_report_unsupported(graph, l.name, l.op, "%s", error->message) != THAW_OK)
        return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
      /* A lowering refused after binding outputs (a fold refused by the runtime or by the
       * size of its result) leaves them without a producer: readers must be skipped, not
       * lowered against a value that never comes. */
      cv_rebind_names_from(graph, names_before, CV_POISON);
      status = bind_unbound_outputs(&l, CV_POISON);
    }
    if (status != THAW_OK) return status;
  }
  size_t count = graph->report->unsupported_count;
  if (count) {
    const thaw_convert_unsupported *first = &graph->report->unsupported[0];
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "%zu node%s cannot be converted; first: node \"%s\" (%s): %s", count,
                          count == 1 ? "" : "s", first->node_name, first->op_type, first->reason);
  }
  graph->outputs = malloc((onnx_graph->n_output + 1) * sizeof(uint32_t));
  graph->output_names = calloc(onnx_graph->n_output + 1, sizeof(char *));
  if (!graph->outputs || !graph->output_names)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < onnx_graph->n_output; ++i) {
    const char *name = onnx_graph->output[i]->name;
    uint32_t value = cv_lookup_name(graph, name);
    if (value == CV_NONE)
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "graph output \"%s\" is never produced",
                            name);
    graph->output_names[graph->output_count] = strdup(name);
    if (!graph->output_names[graph->output_count])
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    graph->outputs[graph->output_count++] = value;
  }
  return THAW_OK;
}

thaw_status cv_lower(cv_graph *graph, const Onnx__GraphProto *onnx_graph, const char *model_dir,
                     thaw_error *error) {
  /* Checked first: the lowerings look graph outputs up by name (an int8 weight that is also a
   * graph output must stay f32). */
  for (size_t i = 0; i < onnx_graph->n_output; ++i)
    if (onnx_graph->output[i]->name == NULL || onnx_graph->output[i]->name[0] == '\0')
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "graph output %zu has no name", i);
  onnx_index onnx_names;
  thaw_status indexed = onnx_index_build(onnx_graph, &onnx_names, error);
  if (indexed != THAW_OK) return indexed;
  thaw_status status = lower_nodes(graph, onnx_graph, &onnx_names, model_dir, error);
  free(onnx_names.appearances);
  return status;
}
