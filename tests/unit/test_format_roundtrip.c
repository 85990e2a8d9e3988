/*
 * The writer's output read back by the reader: every field of a model that uses every op,
 * several dtypes and names; the planner's reuse, aliasing and isolation of model inputs and
 * outputs (checked against lifetimes computed here from the node order); weight order and
 * alignment; checksums against published XXH64 vectors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/format.h"
#include "test_support.h"

/* ---- XXH64 against published test vectors ---- */

static void test_hash64_known_vectors(void **state) {
  (void)state;
  assert_true(thaw_hash64("", 0, 0) == UINT64_C(0xEF46DB3751D8E999));
  assert_true(thaw_hash64("a", 1, 0) == UINT64_C(0xD24EC4F1A98C6E5B));
  assert_true(thaw_hash64("abc", 3, 0) == UINT64_C(0x44BC2CF5AD770999));
  const char *sentence = "Nobody inspects the spammish repetition"; /* > 32 bytes: stripes */
  assert_true(thaw_hash64(sentence, strlen(sentence), 0) == UINT64_C(0xFBCEA83C8A378BF1));
}

/* ---- The every-op model ---- */

typedef struct model_spec_node {
  uint32_t op;
  const char *name;
  const void *attrs;
  uint32_t inputs[3], input_count;
  uint32_t outputs[2], output_count;
} model_spec_node;

typedef struct built_model {
  uint8_t *bytes;
  uint64_t size;
  thaw_writer_stats stats;
} built_model;

static const float kConvWeights[4 * 4 * 3 * 3] = {1.0f, -2.0f, 3.5f};
static const float kFour[4] = {0.5f, 1.5f, -2.5f, 4.0f};
static const float kMatmulWeights[4 * 6] = {7.0f};
static const float kLnScale[6] = {1, 1, 1, 1, 1, 1};
static const float kTransposeWeights[4 * 4 * 2 * 2] = {9.0f};
static const int64_t kGatherIndices[2] = {0, 2};
static const uint8_t kCondition[6] = {1, 0, 1, 0, 1, 1};
static const uint8_t kUnusedBytes[3] = {0xAB, 0xCD, 0xEF};

enum {
  T_X, T_W_CONV, T_B_CONV, T_C1, T_W_CT, T_C2, T_P1, T_P2, T_SCALE, T_SHIFT, T_A1, T_U1, T_B1,
  T_G1, T_R1, T_W_MM, T_MM, T_SM, T_LN_SCALE, T_LN, T_CAT, T_S0, T_S1, T_SL, T_TR, T_IDX, T_GA,
  T_RS, T_PD, T_RM, T_CA, T_COND, T_WH, T_EX, T_UNUSED, T_COUNT
};

typedef struct tensor_spec {
  const char *name;
  uint32_t kind;
  thaw_dtype dtype;
  uint32_t rank;
  int64_t shape[4];
  const void *data;
  uint64_t size;
} tensor_spec;

#define ACT(n, d, r, ...) {n, THAW_TENSOR_ACTIVATION, d, r, {__VA_ARGS__}, NULL, 0}
#define CONST(n, d, r, data, ...) {n, THAW_TENSOR_CONSTANT, d, r, {__VA_ARGS__}, data, sizeof data}

static const tensor_spec kTensors[T_COUNT] = {
    [T_X] = ACT("input.image", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_W_CONV] = CONST("conv.weight", THAW_DTYPE_F32, 4, kConvWeights, 4, 4, 3, 3),
    [T_B_CONV] = CONST("conv.bias", THAW_DTYPE_F32, 1, kFour, 4),
    [T_C1] = ACT("c1", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_W_CT] = CONST("deconv.weight", THAW_DTYPE_F32, 4, kTransposeWeights, 4, 4, 2, 2),
    [T_C2] = ACT("c2", THAW_DTYPE_F32, 4, 1, 4, 16, 16),
    [T_P1] = ACT("p1", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_P2] = ACT("p2", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_SCALE] = CONST("bn.scale", THAW_DTYPE_F32, 1, kFour, 4),
    [T_SHIFT] = CONST("bn.shift", THAW_DTYPE_F32, 1, kFour, 4),
    [T_A1] = ACT("a1", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_U1] = ACT("u1", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_B1] = ACT("b1", THAW_DTYPE_F32, 4, 1, 4, 8, 8),
    [T_G1] = ACT("g1", THAW_DTYPE_F32, 4, 1, 4, 1, 1),
    [T_R1] = ACT("r1", THAW_DTYPE_F32, 2, 1, 4),
    [T_W_MM] = CONST("fc.weight", THAW_DTYPE_F32, 2, kMatmulWeights, 4, 6),
    [T_MM] = ACT("mm", THAW_DTYPE_F32, 2, 1, 6),
    [T_SM] = ACT("sm", THAW_DTYPE_F32, 2, 1, 6),
    [T_LN_SCALE] = CONST("ln.scale", THAW_DTYPE_F32, 1, kLnScale, 6),
    [T_LN] = ACT("ln", THAW_DTYPE_F32, 2, 1, 6),
    [T_CAT] = ACT("cat", THAW_DTYPE_F32, 2, 1, 12),
    [T_S0] = ACT("s0", THAW_DTYPE_F32, 2, 1, 6),
    [T_S1] = ACT("output.split", THAW_DTYPE_F32, 2, 1, 6),
    [T_SL] = ACT("sl", THAW_DTYPE_F32, 2, 1, 3),
    [T_TR] = ACT("tr", THAW_DTYPE_F32, 2, 3, 1),
    [T_IDX] = CONST("gather.indices", THAW_DTYPE_I64, 1, kGatherIndices, 2),
    [T_GA] = ACT("ga", THAW_DTYPE_F32, 2, 2, 1),
    [T_RS] = ACT("rs", THAW_DTYPE_F32, 2, 4, 2),
    [T_PD] = ACT("pd", THAW_DTYPE_F32, 2, 6, 4),
    [T_RM] = ACT("rm", THAW_DTYPE_F32, 2, 6, 1),
    [T_CA] = ACT("output.cast", THAW_DTYPE_I32, 2, 6, 1),
    [T_COND] = CONST("where.condition", THAW_DTYPE_BOOL, 2, kCondition, 6, 1),
    [T_WH] = ACT("wh", THAW_DTYPE_F32, 2, 6, 1),
    [T_EX] = ACT("output.expand", THAW_DTYPE_F32, 2, 6, 4),
    [T_UNUSED] = CONST("never.read", THAW_DTYPE_U8, 1, kUnusedBytes, 3),
};

static const thaw_conv_attrs kConvAttrs = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0,
                                           {THAW_UNARY_RELU, 0.0f, 0.0f}};
static const thaw_conv_attrs kDeconvAttrs = {2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1,
                                             {THAW_UNARY_CLIP, 0.0f, 6.0f}};
static const thaw_pool_attrs kMaxPoolAttrs = {2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 0};
static const thaw_pool_attrs kAvgPoolAttrs = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1};
static const thaw_unary_attrs kGeluAttrs = {THAW_UNARY_GELU, 0.0f, 0.0f};
static const thaw_binary_attrs kAddAttrs = {THAW_BINARY_ADD};
static const thaw_matmul_attrs kMatmulAttrs = {{THAW_UNARY_LEAKY_RELU, 0.125f, 0.0f}};
static const thaw_axis_attrs kAxis1 = {1};
static const thaw_axis_attrs kAxis0 = {0};
static const thaw_layer_norm_attrs kLnAttrs = {1, 1e-5f};
static const thaw_slice_attrs kSliceAttrs = {{0, 1}, {1, 2}};
static const thaw_transpose_attrs kTransposeAttrs = {{1, 0}};
static const thaw_resize_attrs kResizeAttrs = {THAW_RESIZE_NEAREST, THAW_RESIZE_ASYMMETRIC,
                                               THAW_RESIZE_FLOOR, {2.0f, 2.0f}};
static const thaw_pad_attrs kPadAttrs = {THAW_PAD_CONSTANT, -1.5f, {1, 1}};
static const thaw_reduce_attrs kReduceAttrs = {1, 1};

static const model_spec_node kNodes[] = {
    {THAW_OP_CONV, "conv", &kConvAttrs, {T_X, T_W_CONV, T_B_CONV}, 3, {T_C1}, 1},
    {THAW_OP_CONV_TRANSPOSE, "deconv", &kDeconvAttrs, {T_C1, T_W_CT}, 2, {T_C2}, 1},
    {THAW_OP_MAX_POOL, "maxpool", &kMaxPoolAttrs, {T_C2}, 1, {T_P1}, 1},
    {THAW_OP_AVERAGE_POOL, "avgpool", &kAvgPoolAttrs, {T_P1}, 1, {T_P2}, 1},
    {THAW_OP_CHANNEL_AFFINE, "bn", NULL, {T_P2, T_SCALE, T_SHIFT}, 3, {T_A1}, 1},
    {THAW_OP_UNARY, "gelu", &kGeluAttrs, {T_A1}, 1, {T_U1}, 1},
    {THAW_OP_BINARY, "", &kAddAttrs, {T_U1, T_C1}, 2, {T_B1}, 1},
    {THAW_OP_GLOBAL_AVERAGE_POOL, "gap", NULL, {T_B1}, 1, {T_G1}, 1},
    {THAW_OP_RESHAPE, "flatten", NULL, {T_G1}, 1, {T_R1}, 1},
    {THAW_OP_MATMUL, "fc", &kMatmulAttrs, {T_R1, T_W_MM}, 2, {T_MM}, 1},
    {THAW_OP_SOFTMAX, "softmax", &kAxis1, {T_MM}, 1, {T_SM}, 1},
    {THAW_OP_LAYER_NORM, "ln", &kLnAttrs, {T_SM, T_LN_SCALE}, 2, {T_LN}, 1},
    {THAW_OP_CONCAT, "concat", &kAxis1, {T_LN, T_SM}, 2, {T_CAT}, 1},
    {THAW_OP_SPLIT, "split", &kAxis1, {T_CAT}, 1, {T_S0, T_S1}, 2},
    {THAW_OP_SLICE, "slice", &kSliceAttrs, {T_S0}, 1, {T_SL}, 1},
    {THAW_OP_TRANSPOSE, "transpose", &kTransposeAttrs, {T_SL}, 1, {T_TR}, 1},
    {THAW_OP_GATHER, "gather", &kAxis0, {T_TR, T_IDX}, 2, {T_GA}, 1},
    {THAW_OP_RESIZE, "resize", &kResizeAttrs, {T_GA}, 1, {T_RS}, 1},
    {THAW_OP_PAD, "pad", &kPadAttrs, {T_RS}, 1, {T_PD}, 1},
    {THAW_OP_REDUCE_MEAN, "mean", &kReduceAttrs, {T_PD}, 1, {T_RM}, 1},
    {THAW_OP_CAST, "cast", NULL, {T_RM}, 1, {T_CA}, 1},
    {THAW_OP_WHERE, "where", NULL, {T_COND, T_RM, T_RM}, 3, {T_WH}, 1},
    {THAW_OP_EXPAND, "expand", NULL, {T_WH}, 1, {T_EX}, 1},
};
#define NODE_COUNT (sizeof kNodes / sizeof kNodes[0])

static const uint32_t kModelOutputs[] = {T_EX, T_CA, T_S1};

/* The constants in the order the nodes first read them; never.read last. */
static const uint32_t kExpectedWeightOrder[] = {T_W_CONV, T_B_CONV, T_W_CT, T_SCALE, T_SHIFT,
                                                T_W_MM, T_LN_SCALE, T_IDX, T_COND, T_UNUSED};

static built_model build_every_op_model(uint32_t flags) {
  thaw_writer *writer = thaw_writer_create();
  assert_non_null(writer);
  for (uint32_t t = 0; t < T_COUNT; t++) {
    const tensor_spec *s = &kTensors[t];
    uint32_t id = thaw_writer_add_tensor(writer, s->name, s->kind, s->dtype, s->rank, s->shape,
                                         THAW_LAYOUT_PLAIN, s->data, s->size);
    assert_int_equal(id, t);
  }
  for (size_t n = 0; n < NODE_COUNT; n++) {
    const model_spec_node *node = &kNodes[n];
    thaw_writer_add_node(writer, node->op, node->name, node->attrs, node->inputs,
                         node->input_count, node->outputs, node->output_count);
  }
  thaw_writer_add_input(writer, T_X);
  for (size_t i = 0; i < 3; i++) thaw_writer_add_output(writer, kModelOutputs[i]);
  thaw_writer_set_producer(writer, "pytorch 1.13");
  uint8_t hash[32];
  for (int i = 0; i < 32; i++) hash[i] = (uint8_t)(i * 7 + 1);
  thaw_writer_set_source_hash(writer, hash);
  built_model model;
  thaw_error error = {0};
  thaw_status status = thaw_writer_finish(writer, flags, &model.bytes, &model.size,
                                          &model.stats, &error);
  if (status != THAW_OK) fail_msg("finish: %s", error.message);
  thaw_writer_destroy(writer);
  return model;
}

static thaw_format_view open_view(const built_model *model) {
  thaw_format_view view;
  thaw_error error = {0};
  if (thaw_format_open(model->bytes, model->size, &view, &error) != THAW_OK) {
    fail_msg("open: %s", error.message);
  }
  return view;
}

static size_t dtype_bytes(thaw_dtype dtype) {
  switch (dtype) {
    case THAW_DTYPE_F32: case THAW_DTYPE_I32: return 4;
    case THAW_DTYPE_I64: return 8;
    default: return 1;
  }
}

static void test_every_field_round_trips(void **state) {
  (void)state;
  built_model model = build_every_op_model(0);
  thaw_format_view view = open_view(&model);
  assert_int_equal(view.major, 1);
  assert_int_equal(view.minor, 0);
  assert_int_equal(view.tensor_count, T_COUNT);
  assert_int_equal(view.node_count, NODE_COUNT);
  assert_int_equal(view.input_count, 1);
  assert_int_equal(view.output_count, 3);
  assert_string_equal(view.producer, "pytorch 1.13");
  assert_string_equal(view.converter, "thaw " THAW_VERSION_STRING);
  for (int i = 0; i < 32; i++) assert_int_equal(view.source_hash[i], (uint8_t)(i * 7 + 1));
  assert_int_equal(thaw_format_model_input(&view, 0), T_X);
  for (uint32_t i = 0; i < 3; i++) assert_int_equal(thaw_format_model_output(&view, i), kModelOutputs[i]);
  assert_int_equal(model.stats.file_bytes, model.size);
  assert_int_equal(model.stats.arena_bytes, view.arena_size);

  uint64_t activation_sum = 0, weights_sum = 0;
  for (uint32_t t = 0; t < T_COUNT; t++) {
    const tensor_spec *s = &kTensors[t];
    thaw_format_tensor got;
    thaw_format_get_tensor(&view, t, &got);
    assert_string_equal(got.name, s->name);
    assert_int_equal(got.kind, s->kind);
    assert_int_equal(got.dtype, s->dtype);
    assert_int_equal(got.layout, THAW_LAYOUT_PLAIN);
    assert_int_equal(got.rank, s->rank);
    uint64_t elements = 1;
    for (uint32_t axis = 0; axis < THAW_MAX_RANK; axis++) {
      int64_t expected = axis < s->rank ? s->shape[axis] : 0;
      assert_int_equal(got.shape[axis], expected);
      if (axis < s->rank) elements *= (uint64_t)expected;
    }
    assert_int_equal(got.element_count, elements);
    assert_int_equal(got.size, elements * dtype_bytes(s->dtype));
    if (s->kind == THAW_TENSOR_CONSTANT) {
      assert_int_equal(got.offset % 64, 0);
      assert_true(got.offset >= view.weights_offset);
      assert_memory_equal(model.bytes + got.offset, s->data, s->size);
      weights_sum += got.size;
    } else {
      assert_int_equal(got.offset % 64, 0);
      assert_true(got.offset + got.size <= view.arena_size);
      activation_sum += got.size;
    }
  }
  assert_int_equal(model.stats.activation_bytes, activation_sum);
  assert_true(model.stats.weights_bytes >= weights_sum);
  assert_int_equal(view.weights_offset % 4096, 0);
  assert_int_equal(view.weights_offset + view.weights_size, model.size);

  for (uint32_t n = 0; n < NODE_COUNT; n++) {
    const model_spec_node *spec = &kNodes[n];
    thaw_format_node node;
    thaw_format_get_node(&view, n, &node);
    assert_int_equal(node.op, spec->op);
    assert_string_equal(node.name, spec->name);
    assert_int_equal(node.input_count, spec->input_count);
    assert_int_equal(node.output_count, spec->output_count);
    for (uint32_t i = 0; i < spec->input_count; i++) {
      assert_int_equal(thaw_format_node_input(&node, i), spec->inputs[i]);
    }
    for (uint32_t i = 0; i < spec->output_count; i++) {
      assert_int_equal(thaw_format_node_output(&node, i), spec->outputs[i]);
    }
    size_t attrs_size = thaw_op_attrs_size(spec->op);
    if (attrs_size > 0) {
      uint8_t decoded[64];
      thaw_op_attrs_decode(spec->op, node.attrs, decoded);
      assert_memory_equal(decoded, spec->attrs, attrs_size);
    }
  }
  free(model.bytes);
}

static void test_weights_ordered_by_first_use(void **state) {
  (void)state;
  built_model model = build_every_op_model(0);
  thaw_format_view view = open_view(&model);
  uint64_t previous_end = view.weights_offset;
  for (size_t i = 0; i < sizeof kExpectedWeightOrder / sizeof kExpectedWeightOrder[0]; i++) {
    thaw_format_tensor t;
    thaw_format_get_tensor(&view, kExpectedWeightOrder[i], &t);
    assert_true(t.offset >= previous_end);
    /* Packed tightly: the next blob starts at the first 64-byte boundary. */
    assert_int_equal(t.offset, (previous_end + 63) / 64 * 64);
    previous_end = t.offset + t.size;
  }
  assert_int_equal(previous_end, model.size);
  free(model.bytes);
}

/* Lifetimes recomputed here from the node list: [producer step, last reader step], model
 * inputs and outputs over the whole run. Any two activations alive at the same step must have
 * disjoint bytes unless they are the RESHAPE alias pair. */
static void test_plan_respects_lifetimes(void **state) {
  (void)state;
  built_model model = build_every_op_model(0);
  thaw_format_view view = open_view(&model);
  int first[T_COUNT], last[T_COUNT];
  for (int t = 0; t < T_COUNT; t++) {
    first[t] = -1;
    last[t] = -1;
  }
  for (int n = 0; n < (int)NODE_COUNT; n++) {
    for (uint32_t i = 0; i < kNodes[n].output_count; i++) first[kNodes[n].outputs[i]] = n + 1;
    for (uint32_t i = 0; i < kNodes[n].input_count; i++) last[kNodes[n].inputs[i]] = n + 1;
  }
  first[T_X] = 0;
  last[T_X] = 1000;
  for (int i = 0; i < 3; i++) {
    first[kModelOutputs[i]] = 0;
    last[kModelOutputs[i]] = 1000;
  }
  /* The alias pair lives as one block. */
  last[T_G1] = last[T_R1];
  first[T_R1] = first[T_G1];

  thaw_format_tensor g1, r1;
  thaw_format_get_tensor(&view, T_G1, &g1);
  thaw_format_get_tensor(&view, T_R1, &r1);
  assert_int_equal(g1.offset, r1.offset);

  for (uint32_t a = 0; a < T_COUNT; a++) {
    for (uint32_t b = a + 1; b < T_COUNT; b++) {
      if (kTensors[a].kind != THAW_TENSOR_ACTIVATION || kTensors[b].kind != THAW_TENSOR_ACTIVATION) continue;
      if ((a == T_G1 && b == T_R1)) continue;
      int last_a = last[a] < first[a] ? first[a] : last[a];
      int last_b = last[b] < first[b] ? first[b] : last[b];
      if (first[a] > last_b || first[b] > last_a) continue;
      thaw_format_tensor ta, tb;
      thaw_format_get_tensor(&view, a, &ta);
      thaw_format_get_tensor(&view, b, &tb);
      bool disjoint = ta.offset + ta.size <= tb.offset || tb.offset + tb.size <= ta.offset;
      if (!disjoint) fail_msg("'%s' and '%s' are alive together but share bytes", ta.name, tb.name);
    }
  }
  free(model.bytes);
}

/* A chain x -> u1 -> ... -> u9 -> y of 4 KiB tensors: x and y own their bytes, the nine
 * intermediates ping-pong between two buffers: 4 buffers in all, not 11. */
static void test_plan_reuses_memory_in_a_chain(void **state) {
  (void)state;
  thaw_writer *writer = thaw_writer_create();
  const int64_t shape[1] = {1024};
  uint32_t ids[11];
  for (int i = 0; i < 11; i++) {
    char name[16];
    snprintf(name, sizeof name, "t%d", i);
    ids[i] = thaw_writer_add_tensor(writer, name, THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 1,
                                    shape, THAW_LAYOUT_PLAIN, NULL, 0);
  }
  const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
  for (int i = 0; i < 10; i++) {
    thaw_writer_add_node(writer, THAW_OP_UNARY, "relu", &relu, &ids[i], 1, &ids[i + 1], 1);
  }
  thaw_writer_add_input(writer, ids[0]);
  thaw_writer_add_output(writer, ids[10]);
  uint8_t *bytes;
  uint64_t size;
  thaw_writer_stats stats;
  thaw_error error = {0};
  if (thaw_writer_finish(writer, 0, &bytes, &size, &stats, &error) != THAW_OK) fail_msg("%s", error.message);
  assert_int_equal(stats.activation_bytes, 11 * 4096);
  assert_int_equal(stats.arena_bytes, 4 * 4096);
  assert_int_equal(stats.weights_bytes, 0);
  thaw_format_view view;
  assert_int_equal(thaw_format_open(bytes, size, &view, &error), THAW_OK);
  assert_int_equal(view.weights_size, 0);
  thaw_writer_destroy(writer);
  free(bytes);
}

static void test_weights_checksum_detects_a_flipped_byte(void **state) {
  (void)state;
  built_model model = build_every_op_model(THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM);
  thaw_format_view view = open_view(&model);
  thaw_error error = {0};
  assert_true(view.flags & THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM);
  assert_true(view.weights_checksum ==
              thaw_hash64(model.bytes + view.weights_offset, view.weights_size, 0));
  assert_int_equal(thaw_format_verify_weights(&view, &error), THAW_OK);
  thaw_format_tensor weight;
  thaw_format_get_tensor(&view, T_W_MM, &weight);
  model.bytes[weight.offset + 3] ^= 0x10;
  /* Opening never reads weights, so only verification notices. */
  view = open_view(&model);
  assert_int_equal(thaw_format_verify_weights(&view, &error), THAW_STATUS_CHECKSUM);
  assert_non_null(strstr(error.message, "weights checksum mismatch"));
  free(model.bytes);

  built_model unchecked = build_every_op_model(0);
  view = open_view(&unchecked);
  assert_int_equal(thaw_format_verify_weights(&view, &error), THAW_OK);
  free(unchecked.bytes);
}

static void test_write_file_matches_finish(void **state) {
  (void)state;
  built_model model = build_every_op_model(0);
  thaw_writer *writer = thaw_writer_create();
  const int64_t shape[2] = {2, 3};
  uint32_t x = thaw_writer_add_tensor(writer, "x", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2,
                                      shape, THAW_LAYOUT_PLAIN, NULL, 0);
  uint32_t y = thaw_writer_add_tensor(writer, "y", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2,
                                      shape, THAW_LAYOUT_PLAIN, NULL, 0);
  const thaw_unary_attrs tanh_attrs = {THAW_UNARY_TANH, 0, 0};
  thaw_writer_add_node(writer, THAW_OP_UNARY, "tanh", &tanh_attrs, &x, 1, &y, 1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
  char *path = thaw_test_tmp_path("tiny.thaw");
  thaw_error error = {0};
  thaw_writer_stats stats;
  if (thaw_writer_write_file(writer, path, 0, &stats, &error) != THAW_OK) fail_msg("%s", error.message);
  size_t size;
  uint8_t *bytes = thaw_test_read_file(path, &size);
  assert_non_null(bytes);
  assert_int_equal(size, stats.file_bytes);
  thaw_format_view view;
  assert_int_equal(thaw_format_open(bytes, size, &view, &error), THAW_OK);
  char temporary[4200];
  snprintf(temporary, sizeof temporary, "%s.tmp-%ld", path, (long)getpid());
  assert_int_not_equal(access(temporary, F_OK), 0);
  free(bytes);
  free(path);
  thaw_writer_destroy(writer);
  free(model.bytes);
}

/* ---- The writer refuses bad input through finish ---- */

static void expect_finish_error(thaw_writer *writer, thaw_status status, const char *fragment) {
  uint8_t *bytes = (uint8_t *)1;
  uint64_t size = 1;
  thaw_error error = {0};
  assert_int_equal(thaw_writer_finish(writer, 0, &bytes, &size, NULL, &error), status);
  assert_null(bytes);
  if (strstr(error.message, fragment) == NULL) {
    fail_msg("message '%s' lacks '%s'", error.message, fragment);
  }
  thaw_writer_destroy(writer);
}

static thaw_writer *writer_with_two_activations(uint32_t *a, uint32_t *b) {
  thaw_writer *writer = thaw_writer_create();
  const int64_t shape[1] = {8};
  *a = thaw_writer_add_tensor(writer, "a", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 1, shape,
                              THAW_LAYOUT_PLAIN, NULL, 0);
  *b = thaw_writer_add_tensor(writer, "b", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 1, shape,
                              THAW_LAYOUT_PLAIN, NULL, 0);
  return writer;
}

static void test_writer_reports_bad_input(void **state) {
  (void)state;
  const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
  const int64_t shape[1] = {8};
  uint32_t a, b;

  thaw_writer *writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_tensor(writer, "a", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 1, shape,
                         THAW_LAYOUT_PLAIN, NULL, 0);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "duplicate tensor name 'a'");

  writer = writer_with_two_activations(&a, &b);
  uint32_t missing = 77;
  thaw_writer_add_node(writer, THAW_OP_UNARY, "relu", &relu, &missing, 1, &b, 1);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "tensor id 77");

  writer = writer_with_two_activations(&a, &b);
  const thaw_unary_attrs bad_func = {99, 0, 0};
  thaw_writer_add_node(writer, THAW_OP_UNARY, "relu", &bad_func, &a, 1, &b, 1);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "unknown unary function 99");

  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_node(writer, 200, "mystery", NULL, &a, 1, &b, 1);
  expect_finish_error(writer, THAW_STATUS_UNSUPPORTED, "unknown op 200");

  writer = writer_with_two_activations(&a, &b);
  float data[7] = {0};
  thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 1, shape,
                         THAW_LAYOUT_PLAIN, data, sizeof data);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "28 data bytes given");

  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_node(writer, THAW_OP_UNARY, "relu", &relu, &a, 1, &b, 1);
  thaw_writer_add_output(writer, b); /* a is read but neither an input nor produced */
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "before any node produces it");

  /* A GEMM-packed matrix takes its padded size, and only as a rank-2 f32 constant. */
  const int64_t matrix[2] = {7, 37};
  float packed[3 * 16 * 7] = {0}; /* ceil(37/16) panels of 7 rows of 16 floats */
  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, matrix,
                         THAW_LAYOUT_F32_GEMM_PANEL16, packed, 7 * 37 * sizeof(float));
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT,
                      "1036 data bytes given, its shape, dtype and layout need 1344");

  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_tensor(writer, "w", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2, matrix,
                         THAW_LAYOUT_F32_GEMM_PANEL16, NULL, 0);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT,
                      "tensor 'w': layout f32_gemm_panel16 is for rank-2 f32 constants");

  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, matrix,
                         THAW_LAYOUT_MAX + 1, packed, sizeof packed);
  expect_finish_error(writer, THAW_STATUS_UNSUPPORTED, "tensor 'w': unknown layout");

  writer = writer_with_two_activations(&a, &b);
  thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, matrix,
                         THAW_LAYOUT_QS8_GEMM_PANEL16, packed, sizeof packed);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT,
                      "tensor 'w': layout qs8_gemm_panel16 is for rank-2 or rank-4 i8 constants");

  writer = writer_with_two_activations(&a, &b);
  const int64_t zero_dim[2] = {3, 0};
  thaw_writer_add_tensor(writer, "z", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2, zero_dim,
                         THAW_LAYOUT_PLAIN, NULL, 0);
  expect_finish_error(writer, THAW_STATUS_INVALID_ARGUMENT, "dim 1 is 0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash64_known_vectors),
      cmocka_unit_test(test_every_field_round_trips),
      cmocka_unit_test(test_weights_ordered_by_first_use),
      cmocka_unit_test(test_plan_respects_lifetimes),
      cmocka_unit_test(test_plan_reuses_memory_in_a_chain),
      cmocka_unit_test(test_weights_checksum_detects_a_flipped_byte),
      cmocka_unit_test(test_write_file_matches_finish),
      cmocka_unit_test(test_writer_reports_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
