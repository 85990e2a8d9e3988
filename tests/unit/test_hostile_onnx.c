/*
 * A catalogue of hostile ONNX models, each converted from memory: the converter must refuse
 * every one with the exact status and a message that names what is wrong, and produce no
 * bytes. Cases that expose a converter bug are kept, disabled with skip() and a comment
 * naming the bug, until it is fixed.
 *
 * Each case builds a small graph around one defect. The defects come from what real loaders
 * shipped bugs for (cycles, dangling names, shapes whose products overflow, short weight
 * buffers) and from what exporters get wrong (old opsets, foreign domains, dynamic dims).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "test_convert_builder.h"

typedef struct hostile_case {
  const char *what;
  void (*build)(builder *b, thaw_convert_options *options);
  thaw_status status;
  const char *message_part; /* a fragment the error message must contain */
} hostile_case;

/* ---- Small graph pieces ---- */

static int64_t dims_2x3[2] = {2, 3};
static int64_t dims_3x2[2] = {3, 2};
static int64_t dims_4x2[2] = {4, 2};
static int64_t dims_3[1] = {3};
static int64_t dims_1[1] = {1};
static float six_floats[6] = {1, 2, 3, 4, 5, 6};

/* x[2,3] -> <op> -> y, the frame most cases put their defect in. */
static void unary_frame(builder *b, int64_t opset, const char *op) {
  builder_init(b, opset);
  add_input(b, "x", 2, dims_2x3);
  add_node(b, op, "x", NULL, NULL, "y");
  add_output(b, "y");
}

/* x[2,3] -> <op>(x, <second>) -> y, with <second> left for the caller to define (or not). */
static Onnx__NodeProto *binary_frame(builder *b, const char *op, const char *second) {
  builder_init(b, 13);
  add_input(b, "x", 2, dims_2x3);
  Onnx__NodeProto *node = add_node(b, op, "x", second, NULL, "y");
  add_output(b, "y");
  return node;
}

/* An int64 initializer; `values` must outlive the builder. */
static void add_i64_initializer(builder *b, const char *name, size_t rank, int64_t *dims,
                                int64_t *values, size_t count) {
  Onnx__TensorProto *t = make_tensor(b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, dims,
                                     values, count * sizeof(int64_t));
  b->tensor_list[b->graph.n_initializer++] = t;
}

static void set_input_type(builder *b, size_t input, int32_t onnx_type) {
  b->input_list[input]->type->tensor_type->elem_type = onnx_type;
}

/* ---- Graph structure ---- */

static void build_cycle(builder *b, thaw_convert_options *options) {
  (void)options;
  builder_init(b, 13);
  add_input(b, "x", 2, dims_2x3);
  add_node(b, "Add", "x", "b", NULL, "a");
  add_node(b, "Relu", "a", NULL, NULL, "b");
  add_output(b, "b");
}

/* Found by fuzz_onnx_convert: a Sum of three inputs with no outputs made the lowering name an
 * intermediate value after output 0, which did not exist (a NULL dereference). */
static void build_node_without_outputs(builder *b, thaw_convert_options *options) {
  (void)options;
  builder_init(b, 13);
  add_input(b, "x", 2, dims_2x3);
  add_node(b, "Sum", "x", "x", "x", "y")->n_output = 0;
  add_node(b, "Relu", "x", NULL, NULL, "z");
  add_output(b, "z");
}

static void build_self_loop(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Add", "y");
}

static void build_unknown_input_name(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Add", "nowhere");
}

static void build_missing_initializer(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "MatMul", "weights");
}

static void build_output_never_produced(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->output_list[0]->name = "phantom";
}

/* Found by fuzz_onnx_convert with undefined behaviour fatal: a QDQ graph whose output carried
 * no name reached strcmp(NULL) while deciding whether a weight may stay int8. */
static void build_output_without_name(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->output_list[0]->name = NULL;
}

/* Found by fuzz_onnx_convert: a three-operand Max whose first operand is int8 became a chain of
 * f32 Binary nodes, a file the runtime then refused. */
static void build_variadic_int8_first_operand(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[1] = {3};
  static float three_floats[3] = {1.0f, 2.0f, 3.0f};
  builder_init(b, 13);
  add_input(b, "a", 1, dims);
  b->input_list[0]->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
  add_input(b, "b", 1, dims);
  add_initializer(b, "c", 1, dims, three_floats, 3);
  add_node(b, "Max", "a", "b", "c", "y");
  add_output(b, "y");
}

/* Found by fuzz_onnx_convert: a LayerNormalization whose scale held fewer values than the
 * normalised dims became a file the runtime then refused. */
static void build_layer_norm_scale_of_other_shape(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[1] = {2};
  static float two_floats[2] = {1.0f, 2.0f};
  builder_init(b, 17);
  add_input(b, "x", 2, dims_2x3);
  add_initializer(b, "s", 1, dims, two_floats, 2);
  add_node(b, "LayerNormalization", "x", "s", NULL, "y");
  add_output(b, "y");
}

static void build_duplicate_initializer(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "MatMul", "w");
  add_initializer(b, "w", 2, dims_3x2, six_floats, 6);
  add_initializer(b, "w", 2, dims_3x2, six_floats, 6);
}

static void build_output_redefines_input(builder *b, thaw_convert_options *options) {
  (void)options;
  builder_init(b, 13);
  add_input(b, "x", 2, dims_2x3);
  add_node(b, "Relu", "x", NULL, NULL, "x");
  add_output(b, "x");
}

static void build_empty_initializer_name(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  add_initializer(b, "", 2, dims_3x2, six_floats, 6);
}

static void build_no_graph(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->model.graph = NULL;
}

/* ---- Opsets and domains ---- */

static void build_unknown_domain(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->nodes[0].domain = "com.example.private";
}

static void build_opset_too_old(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 8, "Relu");
}

static void build_opset_too_new(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 18, "Relu");
}

static void build_no_default_opset(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->opset.domain = "com.microsoft";
}

static void build_unsupported_op(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "FrobnicateTensor");
}

/* ---- Inputs ---- */

static void build_zero_size_input(builder *b, thaw_convert_options *options) {
  (void)options;
  static const int64_t dims[2] = {2, 0};
  builder_init(b, 13);
  add_input(b, "x", 2, dims);
  add_node(b, "Relu", "x", NULL, NULL, "y");
  add_output(b, "y");
}

static void build_input_dims_overflow(builder *b, thaw_convert_options *options) {
  (void)options;
  static const int64_t dims[3] = {INT64_C(1) << 32, INT64_C(1) << 32, INT64_C(1) << 32};
  builder_init(b, 13);
  add_input(b, "x", 3, dims);
  add_node(b, "Relu", "x", NULL, NULL, "y");
  add_output(b, "y");
}

static void build_dynamic_input_unpinned(builder *b, thaw_convert_options *options) {
  (void)options;
  static const int64_t dims[2] = {-1, 3};
  builder_init(b, 13);
  add_input(b, "x", 2, dims);
  add_node(b, "Relu", "x", NULL, NULL, "y");
  add_output(b, "y");
}

static void build_pinned_rank_mismatch(builder *b, thaw_convert_options *options) {
  static const thaw_input_shape shape = {.name = "x", .rank = 3, .dims = {2, 3, 1}};
  unary_frame(b, 13, "Relu");
  options->input_shapes = &shape;
  options->input_shape_count = 1;
}

static void build_pinned_fixed_dim_mismatch(builder *b, thaw_convert_options *options) {
  static const thaw_input_shape shape = {.name = "x", .rank = 2, .dims = {2, 7}};
  unary_frame(b, 13, "Relu");
  options->input_shapes = &shape;
  options->input_shape_count = 1;
}

static void build_pinned_unknown_input(builder *b, thaw_convert_options *options) {
  static const thaw_input_shape shape = {.name = "not_an_input", .rank = 1, .dims = {4}};
  unary_frame(b, 13, "Relu");
  options->input_shapes = &shape;
  options->input_shape_count = 1;
}

static void build_input_without_shape(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  b->input_list[0]->type->tensor_type->shape = NULL;
}

static void build_input_not_a_tensor(builder *b, thaw_convert_options *options) {
  (void)options;
  static Onnx__TypeProto__Sequence sequence;
  onnx__type_proto__sequence__init(&sequence);
  unary_frame(b, 13, "Relu");
  b->input_list[0]->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
  b->input_list[0]->type->sequence_type = &sequence;
}

static void build_input_unsupported_dtype(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  set_input_type(b, 0, ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64);
}

/* ---- Initializers ---- */

static void build_raw_data_short(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "MatMul", "w");
  add_initializer(b, "w", 2, dims_3x2, six_floats, 5);
}

static void build_raw_data_long(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", 1, dims_3, six_floats, 6);
}

static void build_typed_data_count_mismatch(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", 1, dims_3, six_floats, 3);
  Onnx__TensorProto *w = b->tensor_list[0];
  w->has_raw_data = 0;
  w->n_float_data = 2;
  w->float_data = six_floats;
}

static void build_initializer_dims_overflow(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", 2, dims, six_floats, 1);
}

static void build_initializer_negative_dim(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[2] = {3, -2};
  binary_frame(b, "MatMul", "w");
  add_initializer(b, "w", 2, dims, six_floats, 6);
}

static void build_initializer_rank_too_high(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[THAW_MAX_RANK + 1];
  for (size_t d = 0; d <= THAW_MAX_RANK; ++d) dims[d] = 1;
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", THAW_MAX_RANK + 1, dims, six_floats, 1);
}

static void build_initializer_unsupported_dtype(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", 1, dims_3, six_floats, 3);
  b->tensor_list[0]->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128;
}

static void build_external_data_without_folder(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "MatMul", "w");
  add_external_initializer(b, "w", 2, dims_3x2, "weights.bin", 0, sizeof(six_floats));
}

static void build_sparse_initializer(builder *b, thaw_convert_options *options) {
  (void)options;
  static Onnx__SparseTensorProto sparse, *sparse_list[1] = {&sparse};
  unary_frame(b, 13, "Relu");
  onnx__sparse_tensor_proto__init(&sparse);
  b->graph.n_sparse_initializer = 1;
  b->graph.sparse_initializer = sparse_list;
}

/* ---- Dtypes and attributes ---- */

static void build_relu_on_int64(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Relu");
  set_input_type(b, 0, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
}

static void build_matmul_int64_weights(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t values[6] = {1, 2, 3, 4, 5, 6};
  binary_frame(b, "MatMul", "w");
  add_i64_initializer(b, "w", 2, dims_3x2, values, 6);
}

static void build_gather_float_indices(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Gather", "indices");
  add_initializer(b, "indices", 1, dims_1, six_floats, 1);
}

static void build_softmax_axis_out_of_range(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Softmax");
  add_int_attribute(b, &b->nodes[0], "axis", 5);
}

static void build_transpose_perm_wrong_length(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t perm[3] = {2, 0, 1};
  unary_frame(b, 13, "Transpose");
  add_ints_attribute(b, &b->nodes[0], "perm", perm, 3);
}

static void build_unsupported_resize_mode(builder *b, thaw_convert_options *options) {
  (void)options;
  static uint8_t cubic[] = "cubic";
  static int64_t dims[4] = {1, 1, 2, 2}, scale_dims[1] = {4};
  static float scales[4] = {1, 1, 2, 2};
  builder_init(b, 13);
  add_input(b, "x", 4, dims);
  add_initializer(b, "scales", 1, scale_dims, scales, 4);
  Onnx__NodeProto *resize = add_node(b, "Resize", "x", "", "scales", "y");
  Onnx__AttributeProto *mode =
      append_attribute(b, resize, "mode", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  mode->has_s = 1;
  mode->s.data = cubic;
  mode->s.len = sizeof(cubic) - 1;
  add_output(b, "y");
}

/* An attribute whose type is not the one the op's schema gives. */
static void build_softmax_axis_as_float(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Softmax");
  add_float_attribute(b, &b->nodes[0], "axis", 0.0f);
}

static void build_transpose_perm_as_int(builder *b, thaw_convert_options *options) {
  (void)options;
  unary_frame(b, 13, "Transpose");
  add_int_attribute(b, &b->nodes[0], "perm", 0);
}

/* ---- Shapes ---- */

static void build_reshape_impossible(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t target[2] = {4, 2}, target_dims[1] = {2};
  binary_frame(b, "Reshape", "shape");
  add_i64_initializer(b, "shape", 1, target_dims, target, 2);
}

static void build_reshape_two_inferred(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t target[2] = {-1, -1}, target_dims[1] = {2};
  binary_frame(b, "Reshape", "shape");
  add_i64_initializer(b, "shape", 1, target_dims, target, 2);
}

static void build_reshape_not_divisible(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t target[2] = {-1, 4}, target_dims[1] = {2};
  binary_frame(b, "Reshape", "shape");
  add_i64_initializer(b, "shape", 1, target_dims, target, 2);
}

static void build_reshape_from_input(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "Reshape", "shape");
  add_input(b, "shape", 1, dims_1);
}

static void build_concat_rank_mismatch(builder *b, thaw_convert_options *options) {
  (void)options;
  Onnx__NodeProto *concat = binary_frame(b, "Concat", "w");
  add_initializer(b, "w", 1, dims_3, six_floats, 3);
  add_int_attribute(b, concat, "axis", 0);
}

static void build_concat_dim_mismatch(builder *b, thaw_convert_options *options) {
  (void)options;
  Onnx__NodeProto *concat = binary_frame(b, "Concat", "w");
  add_initializer(b, "w", 2, dims_3x2, six_floats, 6);
  add_int_attribute(b, concat, "axis", 0);
}

static void build_gather_index_too_large(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t indices[1] = {7};
  builder_init(b, 13);
  add_input(b, "x", 2, dims_4x2);
  add_i64_initializer(b, "indices", 1, dims_1, indices, 1);
  add_node(b, "Gather", "x", "indices", NULL, "y");
  add_output(b, "y");
}

static void build_gather_index_too_negative(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t indices[1] = {-5};
  builder_init(b, 13);
  add_input(b, "x", 2, dims_4x2);
  add_i64_initializer(b, "indices", 1, dims_1, indices, 1);
  add_node(b, "Gather", "x", "indices", NULL, "y");
  add_output(b, "y");
}

/* Found by fuzz_onnx_convert: a few bytes of ONNX asked the converter for a 16 GiB constant
 * (ConstantOfShape and a folded Expand) or an 8 GiB one (Range). */
static int64_t huge_shape[2] = {(int64_t)1 << 30, 4};
static int64_t dims_2[1] = {2};

/* x[1,4] + <computed> -> y, <computed> made by the caller's node before the Add. */
static void computed_operand_frame(builder *b) {
  static int64_t dims_1x4[2] = {1, 4};
  builder_init(b, 13);
  add_input(b, "x", 2, dims_1x4);
}

static void add_computed_operand(builder *b, const char *computed) {
  add_node(b, "Add", "x", computed, NULL, "y");
  add_output(b, "y");
}

static void build_constant_of_shape_huge(builder *b, thaw_convert_options *options) {
  (void)options;
  computed_operand_frame(b);
  add_i64_initializer(b, "shape", 1, dims_2, huge_shape, 2);
  add_node(b, "ConstantOfShape", "shape", NULL, NULL, "filled");
  add_computed_operand(b, "filled");
}

static void build_expand_constant_huge(builder *b, thaw_convert_options *options) {
  (void)options;
  static float one[1] = {1};
  computed_operand_frame(b);
  add_initializer(b, "one", 1, dims_1, one, 1);
  add_i64_initializer(b, "shape", 1, dims_2, huge_shape, 2);
  add_node(b, "Expand", "one", "shape", NULL, "expanded");
  add_computed_operand(b, "expanded");
}

static void build_range_huge(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t start[1] = {0}, limit[1] = {(int64_t)1 << 30}, delta[1] = {1};
  computed_operand_frame(b);
  add_i64_initializer(b, "start", 0, NULL, start, 1);
  add_i64_initializer(b, "limit", 0, NULL, limit, 1);
  add_i64_initializer(b, "delta", 0, NULL, delta, 1);
  add_node(b, "Range", "start", "limit", "delta", "range");
  add_computed_operand(b, "range");
}

static void build_matmul_inner_mismatch(builder *b, thaw_convert_options *options) {
  (void)options;
  binary_frame(b, "MatMul", "w");
  add_initializer(b, "w", 2, dims_2x3, six_floats, 6);
}

static void build_add_not_broadcastable(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[1] = {4};
  static float four[4] = {1, 2, 3, 4};
  binary_frame(b, "Add", "w");
  add_initializer(b, "w", 1, dims, four, 4);
}

/* Gemm's C must broadcast to [M, N]; here it is [1, 5] against [2, 4]. Found by
 * fuzz_onnx_convert from ONNX's test_gemm_beta with C's dim 4 mutated to 49. */
static void build_gemm_c_not_broadcastable(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t a_dims[2] = {2, 7}, b_dims[2] = {7, 4}, c_dims[2] = {1, 5};
  static float b_values[28], c_values[5];
  builder_init(b, 13);
  add_input(b, "x", 2, a_dims);
  add_initializer(b, "b", 2, b_dims, b_values, 28);
  add_initializer(b, "c", 2, c_dims, c_values, 5);
  add_node(b, "Gemm", "x", "b", "c", "y");
  add_output(b, "y");
}

/* ---- Convolution, pooling, padding ---- */

static int64_t image_dims[4] = {1, 2, 5, 5};
static int64_t conv_weight_dims[4] = {3, 2, 3, 3};
static float conv_weights[54];

static void conv_frame(builder *b) {
  builder_init(b, 13);
  add_input(b, "x", 4, image_dims);
  add_initializer(b, "w", 4, conv_weight_dims, conv_weights, 54);
  add_node(b, "Conv", "x", "w", NULL, "y");
  add_output(b, "y");
}

static void build_conv_strides_as_floats(builder *b, thaw_convert_options *options) {
  (void)options;
  conv_frame(b);
  add_float_attribute(b, &b->nodes[0], "strides", 2.0f);
}

static void build_conv_negative_pads(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t pads[4] = {-1, 0, 0, 0};
  conv_frame(b);
  add_ints_attribute(b, &b->nodes[0], "pads", pads, 4);
}

static void build_conv_pads_wrong_count(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t pads[3] = {1, 1, 1};
  conv_frame(b);
  add_ints_attribute(b, &b->nodes[0], "pads", pads, 3);
}

/* The input has 3 channels, the weights expect 2. */
static void build_conv_channel_mismatch(builder *b, thaw_convert_options *options) {
  (void)options;
  conv_frame(b);
  b->dims[0][1].dim_value = 3;
}

static void build_conv_3d(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t dims[5] = {1, 2, 5, 5, 5};
  static int64_t weight_dims[5] = {3, 2, 3, 3, 3};
  static float weights[162];
  builder_init(b, 13);
  add_initializer(b, "w", 5, weight_dims, weights, 162);
  /* The builder's value infos stop at rank 4: append the fifth dim by hand. */
  add_input(b, "x", 4, dims);
  static Onnx__TensorShapeProto__Dimension fifth, *dim_list[5];
  onnx__tensor_shape_proto__dimension__init(&fifth);
  fifth.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  fifth.dim_value = dims[4];
  for (size_t d = 0; d < 4; ++d) dim_list[d] = b->dim_lists[0][d];
  dim_list[4] = &fifth;
  b->shapes[0].dim = dim_list;
  b->shapes[0].n_dim = 5;
  add_node(b, "Conv", "x", "w", NULL, "y");
  add_output(b, "y");
}

static void build_pad_negative(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t pads[4] = {0, -1, 0, 1}, pad_dims[1] = {4};
  binary_frame(b, "Pad", "pads");
  add_i64_initializer(b, "pads", 1, pad_dims, pads, 4);
}

static void build_pad_wrong_count(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t pads[3] = {0, 1, 1}, pad_dims[1] = {3};
  binary_frame(b, "Pad", "pads");
  add_i64_initializer(b, "pads", 1, pad_dims, pads, 3);
}

static void build_maxpool_on_matrix(builder *b, thaw_convert_options *options) {
  (void)options;
  static int64_t kernel[2] = {2, 2};
  unary_frame(b, 13, "MaxPool");
  add_ints_attribute(b, &b->nodes[0], "kernel_shape", kernel, 2);
}

static const hostile_case kCases[] = {
    {"a two-node cycle", build_cycle, THAW_STATUS_CORRUPT,
     "input \"b\" is not produced by any earlier node"},
    {"a node without outputs", build_node_without_outputs, THAW_STATUS_CORRUPT,
     "node \"y\" (Sum): no outputs"},
    {"a node reading its own output", build_self_loop, THAW_STATUS_CORRUPT,
     "input \"y\" is not produced by any earlier node"},
    {"an input name nothing defines", build_unknown_input_name, THAW_STATUS_CORRUPT,
     "input \"nowhere\" is not produced"},
    {"a missing initializer", build_missing_initializer, THAW_STATUS_CORRUPT,
     "input \"weights\" is not produced"},
    {"a graph output without a name", build_output_without_name, THAW_STATUS_CORRUPT,
     "graph output 0 has no name"},
    {"a graph output nothing produces", build_output_never_produced, THAW_STATUS_CORRUPT,
     "graph output \"phantom\" is never produced"},
    {"a variadic Max whose first operand is int8", build_variadic_int8_first_operand,
     THAW_STATUS_UNSUPPORTED, "operand \"a\" is i8; only f32 is supported here"},
    {"a LayerNormalization scale not shaped like the normalised dims",
     build_layer_norm_scale_of_other_shape, THAW_STATUS_UNSUPPORTED,
     "scale \"s\" must have the shape of the input's dims from axis 1"},
    {"two initializers with one name", build_duplicate_initializer, THAW_STATUS_CORRUPT,
     "tensor \"w\" is defined twice"},
    {"a node output reusing the input's name", build_output_redefines_input,
     THAW_STATUS_CORRUPT, "node \"x\" (Relu): output \"x\" is already defined"},
    {"an initializer without a name", build_empty_initializer_name, THAW_STATUS_CORRUPT,
     "empty name"},
    {"a model without a graph", build_no_graph, THAW_STATUS_CORRUPT, "has no graph"},
    {"a node in an unknown domain", build_unknown_domain, THAW_STATUS_UNSUPPORTED,
     "domain \"com.example.private\" is not supported"},
    {"opset 8", build_opset_too_old, THAW_STATUS_UNSUPPORTED, "opset 8 of the default domain"},
    {"opset 18", build_opset_too_new, THAW_STATUS_UNSUPPORTED, "opset 18 of the default domain"},
    {"no default-domain opset", build_no_default_opset, THAW_STATUS_UNSUPPORTED,
     "imports no opset of the default domain"},
    {"an op nobody knows", build_unsupported_op, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (FrobnicateTensor): unsupported op"},
    {"a zero-size input dim", build_zero_size_input, THAW_STATUS_UNSUPPORTED,
     "input \"x\" is a zero-size tensor (dim 1 is 0)"},
    {"input dims whose product overflows", build_input_dims_overflow, THAW_STATUS_INVALID_ARGUMENT,
     "input \"x\": shape too large"},
    {"a dynamic input dim left unpinned", build_dynamic_input_unpinned,
     THAW_STATUS_INVALID_ARGUMENT, "inputs with unknown dims: x=batch,3"},
    {"a pinned shape of the wrong rank", build_pinned_rank_mismatch,
     THAW_STATUS_INVALID_ARGUMENT, "--input-shape x has 3 dims, the model declares 2"},
    {"a pinned shape contradicting a fixed dim", build_pinned_fixed_dim_mismatch,
     THAW_STATUS_INVALID_ARGUMENT, "dim 1 is 7, the model fixes it to 3"},
    {"a pinned shape for a name that is not an input", build_pinned_unknown_input,
     THAW_STATUS_NOT_FOUND, "\"not_an_input\", which is not a model input"},
    {"an input without a shape", build_input_without_shape, THAW_STATUS_UNSUPPORTED,
     "input \"x\" declares no shape"},
    {"an input that is a sequence", build_input_not_a_tensor, THAW_STATUS_UNSUPPORTED,
     "input \"x\" is not a tensor"},
    {"a complex64 input", build_input_unsupported_dtype, THAW_STATUS_UNSUPPORTED,
     "input \"x\": ONNX data type 14 is not supported"},
    {"raw_data shorter than the dims", build_raw_data_short, THAW_STATUS_CORRUPT,
     "tensor \"w\": raw_data has 20 bytes, dims x f32 need 24"},
    {"raw_data longer than the dims", build_raw_data_long, THAW_STATUS_CORRUPT,
     "tensor \"w\": raw_data has 24 bytes, dims x f32 need 12"},
    {"float_data with too few values", build_typed_data_count_mismatch, THAW_STATUS_CORRUPT,
     "tensor \"w\": 2 values stored, dims need 3"},
    {"initializer dims whose product overflows", build_initializer_dims_overflow,
     THAW_STATUS_CORRUPT, "tensor \"w\": dims are negative or their product overflows"},
    {"a negative initializer dim", build_initializer_negative_dim, THAW_STATUS_CORRUPT,
     "tensor \"w\": dims are negative"},
    {"an initializer of rank 9", build_initializer_rank_too_high, THAW_STATUS_UNSUPPORTED,
     "tensor \"w\": rank 9 > 8"},
    {"a complex128 initializer", build_initializer_unsupported_dtype, THAW_STATUS_UNSUPPORTED,
     "tensor \"w\": ONNX data type 15 is not supported"},
    {"external data without a model folder", build_external_data_without_folder,
     THAW_STATUS_UNSUPPORTED, "tensor \"w\" uses external data, which needs the model's folder"},
    {"a sparse initializer", build_sparse_initializer, THAW_STATUS_UNSUPPORTED,
     "sparse initializers are not supported"},
    {"Relu on int64", build_relu_on_int64, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (Relu): input \"x\" is i64; only f32 is supported here"},
    {"MatMul with int64 weights", build_matmul_int64_weights, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (MatMul): B \"w\" is i64; only f32 is supported here"},
    {"Gather with float indices", build_gather_float_indices, THAW_STATUS_CORRUPT,
     "node \"y\" (Gather): indices are f32"},
    {"Softmax axis outside the rank", build_softmax_axis_out_of_range, THAW_STATUS_CORRUPT,
     "node \"y\" (Softmax): axis 5 is outside rank 2"},
    {"Transpose perm of the wrong length", build_transpose_perm_wrong_length,
     THAW_STATUS_CORRUPT, "node \"y\" (Transpose): perm has 3 entries for rank 2"},
    {"Resize mode cubic", build_unsupported_resize_mode, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (Resize): mode \"cubic\" is not supported"},
    {"Reshape to a shape with other element count", build_reshape_impossible,
     THAW_STATUS_CORRUPT, "node \"y\" (Reshape): cannot reshape 6 elements of \"x\" into 8"},
    {"Reshape with two -1 dims", build_reshape_two_inferred, THAW_STATUS_CORRUPT,
     "node \"y\" (Reshape): shape has two -1 dims"},
    {"Reshape whose -1 cannot divide", build_reshape_not_divisible, THAW_STATUS_CORRUPT,
     "node \"y\" (Reshape): cannot infer the -1 dim: 6 elements over 4"},
    {"Reshape to a run-time shape", build_reshape_from_input, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (Reshape): shape \"shape\" must be a constant"},
    {"Concat of mismatched ranks", build_concat_rank_mismatch, THAW_STATUS_CORRUPT,
     "node \"y\" (Concat): input \"w\" differs in rank or dtype"},
    {"Concat of mismatched dims", build_concat_dim_mismatch, THAW_STATUS_CORRUPT,
     "node \"y\" (Concat): input \"w\" differs in dim 1"},
    {"Gather index past the end", build_gather_index_too_large, THAW_STATUS_CORRUPT,
     "node \"y\" (Gather): index 7 is outside dim 4"},
    {"Gather index before the start", build_gather_index_too_negative, THAW_STATUS_CORRUPT,
     "node \"y\" (Gather): index -5 is outside dim 4"},
    {"ConstantOfShape of 16 GiB", build_constant_of_shape_huge, THAW_STATUS_UNSUPPORTED,
     "node \"filled\" (ConstantOfShape): would compute a constant of 17179869184 bytes; the "
     "converter computes constants up to 256 MiB, or 4 times their inputs"},
    {"Expand of a constant to 16 GiB", build_expand_constant_huge, THAW_STATUS_UNSUPPORTED,
     "node \"expanded\" (Expand): would compute a constant of 17179869184 bytes"},
    {"Range of 2^30 int64", build_range_huge, THAW_STATUS_UNSUPPORTED,
     "node \"range\" (Range): would compute a constant of 8589934592 bytes"},
    {"MatMul inner dims differ", build_matmul_inner_mismatch, THAW_STATUS_CORRUPT,
     "node \"y\" (MatMul): inner dims differ: 3 vs 2"},
    {"Add of shapes that do not broadcast", build_add_not_broadcastable, THAW_STATUS_CORRUPT,
     "node \"y\" (Add): shapes of \"x\" and \"w\" do not broadcast (dim 3 vs 4)"},
    {"Conv with negative pads", build_conv_negative_pads, THAW_STATUS_UNSUPPORTED,
     "node \"y\" (Conv): pad -1 is not supported"},
    {"Conv pads of the wrong count", build_conv_pads_wrong_count, THAW_STATUS_CORRUPT,
     "node \"y\" (Conv): pads must have 4 entries"},
    {"Conv weights for other channels", build_conv_channel_mismatch, THAW_STATUS_CORRUPT,
     "node \"y\" (Conv): weight expects 2 input channels, input has 3"},
    {"a 3-D Conv", build_conv_3d, THAW_STATUS_UNSUPPORTED,
     "only 2-D convolution is supported (input rank 5)"},
    {"Pad with negative pads", build_pad_negative, THAW_STATUS_UNSUPPORTED,
     "negative pads (cropping) are not supported"},
    {"Pad with the wrong pad count", build_pad_wrong_count, THAW_STATUS_CORRUPT,
     "node \"y\" (Pad): pads has 3 entries for rank 2"},
    {"MaxPool on a matrix", build_maxpool_on_matrix, THAW_STATUS_UNSUPPORTED,
     "only 2-D pooling is supported (input rank 2)"},
    /* An attribute of the wrong type must not silently become the op's default. */
    {"Softmax axis given as a float", build_softmax_axis_as_float, THAW_STATUS_CORRUPT,
     "node \"y\" (Softmax): attribute \"axis\" is FLOAT, the op needs INT"},
    {"Transpose perm given as one int", build_transpose_perm_as_int, THAW_STATUS_CORRUPT,
     "node \"y\" (Transpose): attribute \"perm\" is INT, the op needs INTS"},
    {"Conv strides given as a float", build_conv_strides_as_floats, THAW_STATUS_CORRUPT,
     "node \"y\" (Conv): attribute \"strides\" is FLOAT, the op needs INTS"},
    {"Gemm C that does not broadcast to [M, N]", build_gemm_c_not_broadcastable,
     THAW_STATUS_CORRUPT, "does not broadcast to the product [2,4]"},
};


/* Converts `onnx` and reports (through cmocka's print_error) how the outcome differs from the
 * expected refusal; returns whether it matched. */
static bool refused_as_expected(const char *what, const uint8_t *onnx, size_t size,
                                const thaw_convert_options *options, thaw_status expected_status,
                                const char *message_part) {
  uint8_t *bytes = NULL;
  uint64_t thaw_size = 0;
  thaw_convert_report report;
  thaw_error error = {0};
  thaw_status status =
      thaw_convert_onnx_memory(onnx, size, NULL, options, &bytes, &thaw_size, &report, &error);
  thaw_convert_report_free(&report);
  bool matched = true;
  if (status != expected_status) {
    print_error("%s: status %s, expected %s (message \"%s\")\n", what, thaw_status_str(status),
                thaw_status_str(expected_status), error.message);
    matched = false;
  } else if (strstr(error.message, message_part) == NULL) {
    print_error("%s: message \"%s\" lacks \"%s\"\n", what, error.message, message_part);
    matched = false;
  }
  if (bytes != NULL) {
    print_error("%s: a refused conversion returned bytes\n", what);
    free(bytes);
    matched = false;
  }
  return matched;
}

static void assert_refused(const char *what, const uint8_t *onnx, size_t size,
                           const thaw_convert_options *options, thaw_status expected_status,
                           const char *message_part) {
  if (!refused_as_expected(what, onnx, size, options, expected_status, message_part))
    fail_msg("%s was not refused as expected", what);
}

/* Every case runs even after a mismatch, so one run lists them all. */
static void assert_all_refused(const hostile_case *cases, size_t count) {
  size_t mismatches = 0;
  for (size_t i = 0; i < count; ++i) {
    builder b;
    thaw_convert_options options = {0};
    cases[i].build(&b, &options);
    size_t size;
    uint8_t *onnx = builder_pack(&b, &size);
    if (!refused_as_expected(cases[i].what, onnx, size, &options, cases[i].status,
                             cases[i].message_part))
      mismatches++;
    free(onnx);
  }
  if (mismatches) fail_msg("%zu of %zu hostile models were not refused as expected", mismatches, count);
}

static void test_catalogue(void **state) {
  (void)state;
  assert_all_refused(kCases, sizeof(kCases) / sizeof(kCases[0]));
}



/* ---- Bytes that are not a well-formed model ---- */

static uint8_t *valid_model(size_t *size) {
  static int64_t w_dims[2] = {3, 2};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, dims_2x3);
  add_initializer(&b, "w", 2, w_dims, six_floats, 6);
  add_node(&b, "MatMul", "x", "w", NULL, "y");
  add_output(&b, "y");
  return builder_pack(&b, size);
}

static void test_the_valid_model_converts(void **state) {
  (void)state;
  size_t size;
  uint8_t *onnx = valid_model(&size);
  uint8_t *bytes = NULL;
  uint64_t thaw_size;
  thaw_error error;
  assert_int_equal(thaw_convert_onnx_memory(onnx, size, NULL, NULL, &bytes, &thaw_size, NULL,
                                            &error),
                   THAW_OK);
  free(bytes);
  free(onnx);
}

/* Every strict prefix either fails to parse or parses into an incomplete model: none may
 * convert, and none may fault (ASan runs this). */
static void test_every_truncation_is_refused(void **state) {
  (void)state;
  size_t size;
  uint8_t *onnx = valid_model(&size);
  for (size_t length = 0; length < size; ++length) {
    uint8_t *prefix = malloc(length ? length : 1);
    assert_non_null(prefix);
    memcpy(prefix, onnx, length);
    uint8_t *bytes = NULL;
    uint64_t thaw_size;
    thaw_error error = {0};
    thaw_status status =
        thaw_convert_onnx_memory(prefix, length, NULL, NULL, &bytes, &thaw_size, NULL, &error);
    if (status == THAW_OK) fail_msg("a %zu-byte prefix of %zu bytes converted", length, size);
    assert_null(bytes);
    assert_true(error.message[0] != '\0');
    free(prefix);
  }
  free(onnx);
}

static void test_truncated_inside_a_field(void **state) {
  (void)state;
  size_t size;
  uint8_t *onnx = valid_model(&size);
  /* The graph is the last field written; cutting it in half leaves a length prefix that
   * promises more bytes than there are. */
  assert_refused("half a model", onnx, size / 2 + 1, NULL, THAW_STATUS_CORRUPT,
                 "not a valid ONNX protobuf");
  free(onnx);
}

static void test_garbage_bytes(void **state) {
  (void)state;
  uint8_t garbage[256];
  memset(garbage, 0xFF, sizeof(garbage));
  assert_refused("0xFF bytes", garbage, sizeof(garbage), NULL, THAW_STATUS_CORRUPT,
                 "not a valid ONNX protobuf");
  assert_refused("no bytes", garbage, 0, NULL, THAW_STATUS_CORRUPT, "has no graph");
}

static void test_null_arguments(void **state) {
  (void)state;
  size_t size;
  uint8_t *onnx = valid_model(&size);
  uint8_t *bytes = NULL;
  uint64_t thaw_size;
  thaw_error error;
  assert_int_equal(thaw_convert_onnx_memory(NULL, size, NULL, NULL, &bytes, &thaw_size, NULL,
                                            &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_convert_onnx_memory(onnx, size, NULL, NULL, NULL, &thaw_size, NULL,
                                            &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_convert_onnx_memory(onnx, size, NULL, NULL, &bytes, NULL, NULL, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  free(onnx);
}

/* A model of about 200 bytes whose one initializer declares 2^40 f32 elements but carries 4
 * bytes. The converter must compare raw_data's length with the dims before allocating: a
 * 4 TiB malloc either fails (and is reported as out of memory, the wrong diagnosis) or, under
 * AddressSanitizer, aborts the process. */
static void test_tiny_model_declaring_a_huge_tensor(void **state) {
  (void)state;
  static int64_t huge[1] = {INT64_C(1) << 40};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 1, dims_1);
  add_initializer(&b, "w", 1, huge, six_floats, 1);
  add_node(&b, "Add", "x", "w", NULL, "y");
  add_output(&b, "y");
  size_t size;
  uint8_t *onnx = builder_pack(&b, &size);
  assert_true(size < 256);
  assert_refused("a 2^40-element initializer", onnx, size, NULL, THAW_STATUS_CORRUPT,
                 "tensor \"w\": raw_data has 4 bytes");
  free(onnx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_the_valid_model_converts),
      cmocka_unit_test(test_catalogue),
      cmocka_unit_test(test_every_truncation_is_refused),
      cmocka_unit_test(test_truncated_inside_a_field),
      cmocka_unit_test(test_garbage_bytes),
      cmocka_unit_test(test_null_arguments),
      cmocka_unit_test(test_tiny_model_declaring_a_huge_tensor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
