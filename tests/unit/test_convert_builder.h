/* A tiny ONNX builder for the converter tests: graphs are assembled from the protobuf-c structs
 * over statically sized pools (tests only build small graphs), packed and converted. */
#ifndef THAW_TEST_CONVERT_BUILDER_H
#define THAW_TEST_CONVERT_BUILDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "formats/format.h"
#include "onnx.pb-c.h"
#include "test_support.h"

#define BUILDER_NODES 16
#define BUILDER_TENSORS 16
#define BUILDER_ATTRIBUTES 24
#define BUILDER_NODE_ATTRIBUTES 4

typedef struct builder {
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
  Onnx__NodeProto nodes[BUILDER_NODES], *node_list[BUILDER_NODES];
  Onnx__TensorProto tensors[BUILDER_TENSORS], *tensor_list[BUILDER_TENSORS];
  /* location, offset, length of an external-data tensor */
  Onnx__StringStringEntryProto external[BUILDER_TENSORS][3], *external_list[BUILDER_TENSORS][3];
  char external_numbers[BUILDER_TENSORS][2][24];
  Onnx__AttributeProto attributes[BUILDER_ATTRIBUTES];
  Onnx__AttributeProto *node_attributes[BUILDER_NODES][BUILDER_NODE_ATTRIBUTES];
  Onnx__ValueInfoProto infos[4], *input_list[2], *output_list[2];
  Onnx__TypeProto types[4];
  Onnx__TypeProto__Tensor tensor_types[4];
  Onnx__TensorShapeProto shapes[4];
  Onnx__TensorShapeProto__Dimension dims[4][4], *dim_lists[4][4];
  char *node_io[BUILDER_NODES][2][5]; /* inputs (BatchNormalization has 5), outputs */
  size_t tensor_count, attribute_count, info_count;
} builder;

static inline void builder_init(builder *b, int64_t opset) {
  memset(b, 0, sizeof(*b));
  onnx__model_proto__init(&b->model);
  onnx__graph_proto__init(&b->graph);
  onnx__operator_set_id_proto__init(&b->opset);
  b->opset.domain = "";
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.has_ir_version = 1;
  b->model.ir_version = 7;
  b->model.producer_name = "test";
  b->model.graph = &b->graph;
  b->graph.node = b->node_list;
  b->graph.initializer = b->tensor_list;
  b->graph.input = b->input_list;
  b->graph.output = b->output_list;
}

/* `dims` and `data` must outlive the builder. */
static inline Onnx__TensorProto *make_tensor(builder *b, const char *name, int32_t type,
                                             size_t rank, int64_t *dims, void *data,
                                             size_t bytes) {
  assert_true(b->tensor_count < BUILDER_TENSORS);
  Onnx__TensorProto *t = &b->tensors[b->tensor_count++];
  onnx__tensor_proto__init(t);
  t->name = (char *)name;
  t->has_data_type = 1;
  t->data_type = type;
  t->n_dims = rank;
  t->dims = dims;
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = data;
  return t;
}

static inline void add_initializer(builder *b, const char *name, size_t rank, int64_t *dims,
                                   float *data, size_t count) {
  Onnx__TensorProto *t = make_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims,
                                     data, count * sizeof(float));
  b->tensor_list[b->graph.n_initializer++] = t;
}

/* An f32 initializer whose bytes are in `location` (relative to the model's folder). */
static inline void add_external_initializer(builder *b, const char *name, size_t rank,
                                            int64_t *dims, const char *location,
                                            uint64_t offset, uint64_t length) {
  Onnx__TensorProto *t =
      make_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, dims, NULL, 0);
  size_t i = b->tensor_count - 1;
  t->has_raw_data = 0;
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  snprintf(b->external_numbers[i][0], sizeof(b->external_numbers[i][0]), "%llu",
           (unsigned long long)offset);
  snprintf(b->external_numbers[i][1], sizeof(b->external_numbers[i][1]), "%llu",
           (unsigned long long)length);
  const char *keys[3] = {"location", "offset", "length"};
  const char *values[3] = {location, b->external_numbers[i][0], b->external_numbers[i][1]};
  for (size_t k = 0; k < 3; ++k) {
    onnx__string_string_entry_proto__init(&b->external[i][k]);
    b->external[i][k].key = (char *)keys[k];
    b->external[i][k].value = (char *)values[k];
    b->external_list[i][k] = &b->external[i][k];
  }
  t->n_external_data = 3;
  t->external_data = b->external_list[i];
  b->tensor_list[b->graph.n_initializer++] = t;
}

/* A negative dim becomes a named (dynamic) dim. */
static inline Onnx__ValueInfoProto *make_info(builder *b, const char *name, size_t rank,
                                              const int64_t *dims) {
  size_t i = b->info_count++;
  assert_true(i < 4 && rank <= 4);
  Onnx__ValueInfoProto *info = &b->infos[i];
  onnx__value_info_proto__init(info);
  onnx__type_proto__init(&b->types[i]);
  onnx__type_proto__tensor__init(&b->tensor_types[i]);
  onnx__tensor_shape_proto__init(&b->shapes[i]);
  for (size_t d = 0; d < rank; ++d) {
    onnx__tensor_shape_proto__dimension__init(&b->dims[i][d]);
    if (dims[d] >= 0) {
      b->dims[i][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      b->dims[i][d].dim_value = dims[d];
    } else {
      b->dims[i][d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      b->dims[i][d].dim_param = "batch";
    }
    b->dim_lists[i][d] = &b->dims[i][d];
  }
  b->shapes[i].n_dim = rank;
  b->shapes[i].dim = b->dim_lists[i];
  b->tensor_types[i].has_elem_type = 1;
  b->tensor_types[i].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  b->tensor_types[i].shape = &b->shapes[i];
  b->types[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  b->types[i].tensor_type = &b->tensor_types[i];
  info->name = (char *)name;
  info->type = &b->types[i];
  return info;
}

static inline void add_input(builder *b, const char *name, size_t rank, const int64_t *dims) {
  b->input_list[b->graph.n_input++] = make_info(b, name, rank, dims);
}

static inline void add_output(builder *b, const char *name) {
  b->output_list[b->graph.n_output++] = make_info(b, name, 0, NULL);
}

/* A node with up to 3 inputs and one output ("" for an absent input). */
static inline Onnx__NodeProto *add_node(builder *b, const char *op, const char *in0,
                                        const char *in1, const char *in2, const char *out) {
  size_t i = b->graph.n_node++;
  assert_true(i < BUILDER_NODES);
  Onnx__NodeProto *node = &b->nodes[i];
  onnx__node_proto__init(node);
  node->op_type = (char *)op;
  node->name = (char *)out;
  const char *inputs[3] = {in0, in1, in2};
  for (size_t k = 0; k < 3 && inputs[k]; ++k) b->node_io[i][0][node->n_input++] = (char *)inputs[k];
  b->node_io[i][1][0] = (char *)out;
  node->input = b->node_io[i][0];
  node->output = b->node_io[i][1];
  node->n_output = 1;
  node->attribute = b->node_attributes[i];
  b->node_list[i] = node;
  return node;
}

/* BatchNormalization of x by the named scale, bias, mean and variance tensors. */
static inline Onnx__NodeProto *add_batch_norm(builder *b, const char *x, const char *scale,
                                              const char *bias, const char *mean,
                                              const char *variance, const char *out) {
  Onnx__NodeProto *node = add_node(b, "BatchNormalization", x, scale, bias, out);
  node->input[3] = (char *)mean;
  node->input[4] = (char *)variance;
  node->n_input = 5;
  return node;
}

/* A fresh attribute appended to `node`, its value left to the caller. */
static inline Onnx__AttributeProto *append_attribute(builder *b, Onnx__NodeProto *node,
                                                     const char *name,
                                                     Onnx__AttributeProto__AttributeType type) {
  assert_true(b->attribute_count < BUILDER_ATTRIBUTES);
  assert_true(node->n_attribute < BUILDER_NODE_ATTRIBUTES);
  Onnx__AttributeProto *a = &b->attributes[b->attribute_count++];
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = type;
  node->attribute[node->n_attribute++] = a;
  return a;
}

static inline void add_int_attribute(builder *b, Onnx__NodeProto *node, const char *name,
                                     int64_t value) {
  Onnx__AttributeProto *a =
      append_attribute(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = value;
}

static inline void add_float_attribute(builder *b, Onnx__NodeProto *node, const char *name,
                                       float value) {
  Onnx__AttributeProto *a =
      append_attribute(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = value;
}

/* `values` must outlive the builder. */
static inline void add_ints_attribute(builder *b, Onnx__NodeProto *node, const char *name,
                                      int64_t *values, size_t count) {
  Onnx__AttributeProto *a =
      append_attribute(b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = count;
  a->ints = values;
}

static inline void add_tensor_attribute(builder *b, Onnx__NodeProto *node, Onnx__TensorProto *t) {
  append_attribute(b, node, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

/* The packed model (malloc'ed). */
static inline uint8_t *builder_pack(builder *b, size_t *length) {
  *length = onnx__model_proto__get_packed_size(&b->model);
  uint8_t *onnx = malloc(*length);
  assert_non_null(onnx);
  onnx__model_proto__pack(&b->model, onnx);
  return onnx;
}

/* Convert from memory, without a model folder (external data is refused). */
static inline thaw_status convert(builder *b, const thaw_convert_options *options,
                                  uint8_t **bytes, uint64_t *size, thaw_convert_report *report,
                                  thaw_error *error) {
  size_t length;
  uint8_t *onnx = builder_pack(b, &length);
  thaw_status status =
      thaw_convert_onnx_memory(onnx, length, NULL, options, bytes, size, report, error);
  free(onnx);
  return status;
}

/* How many nodes of `op` the converted file has. */
static inline uint32_t count_ops(const uint8_t *bytes, uint64_t size, uint32_t op) {
  thaw_format_view view;
  thaw_error error = {0};
  if (thaw_format_open(bytes, size, &view, &error) != THAW_OK) fail_msg("%s", error.message);
  uint32_t count = 0;
  for (uint32_t n = 0; n < view.node_count; n++) {
    thaw_format_node node;
    thaw_format_get_node(&view, n, &node);
    count += node.op == op;
  }
  return count;
}

/* Run a converted one-input one-output f32 model. */
static inline void run_model(const uint8_t *bytes, uint64_t size, const float *input,
                             size_t input_count, float *output, size_t output_count) {
  thaw_model *model;
  thaw_session *session;
  thaw_error error;
  assert_int_equal(thaw_model_open_memory(bytes, size, 0, &model, &error), THAW_OK);
  assert_int_equal(thaw_session_create(model, NULL, &session, &error), THAW_OK);
  thaw_tensor tensor;
  assert_int_equal(thaw_session_input(session, 0, &tensor), THAW_OK);
  assert_int_equal(tensor.element_count, input_count);
  memcpy(tensor.data, input, input_count * sizeof(float));
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
  assert_int_equal(thaw_session_output(session, 0, &tensor), THAW_OK);
  assert_int_equal(tensor.element_count, output_count);
  memcpy(output, tensor.data, output_count * sizeof(float));
  thaw_session_destroy(session);
  thaw_model_close(model);
}

#endif /* THAW_TEST_CONVERT_BUILDER_H */
