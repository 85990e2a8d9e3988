/* The writer's arena plan puts a Concat's parts at their slices of its output where that is
 * safe, writes the node as CONCAT_IN_PLACE (format 1.4), and a session then copies nothing;
 * where it is not safe the node stays a CONCAT in a file of the older minor version. */
#include "test_runtime_builder.h"

enum { CHANNELS = 2, SIDE = 4, PLANE = SIDE * SIDE, PART = CHANNELS * PLANE };

static const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
static const thaw_binary_attrs add = {THAW_BINARY_ADD};
static const thaw_axis_attrs channel_axis = {1};

/* x -> a = relu(x), b = x + x; joined = Concat(a, b) along channels; model outputs
 * doubled = joined + joined and sum = a + b, so both parts are also read outside the Concat. */
static test_model_bytes build_fire_module(int64_t batch) {
  thaw_writer *w = thaw_writer_create();
  const thaw_dtype f32 = THAW_DTYPE_F32;
  const uint32_t x = test_activation(w, "x", f32, DIMS(batch, CHANNELS, SIDE, SIDE));
  const uint32_t a = test_activation(w, "a", f32, DIMS(batch, CHANNELS, SIDE, SIDE));
  const uint32_t b = test_activation(w, "b", f32, DIMS(batch, CHANNELS, SIDE, SIDE));
  const uint32_t joined = test_activation(w, "joined", f32, DIMS(batch, 2 * CHANNELS, SIDE, SIDE));
  const uint32_t doubled =
      test_activation(w, "doubled", f32, DIMS(batch, 2 * CHANNELS, SIDE, SIDE));
  const uint32_t sum = test_activation(w, "sum", f32, DIMS(batch, CHANNELS, SIDE, SIDE));
  test_node(w, THAW_OP_UNARY, "relu", &relu, 1, &x, a);
  test_node(w, THAW_OP_BINARY, "twice", &add, 2, (uint32_t[]){x, x}, b);
  test_node(w, THAW_OP_CONCAT, "concat", &channel_axis, 2, (uint32_t[]){a, b}, joined);
  test_node(w, THAW_OP_BINARY, "doubled", &add, 2, (uint32_t[]){joined, joined}, doubled);
  test_node(w, THAW_OP_BINARY, "sum", &add, 2, (uint32_t[]){a, b}, sum);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, doubled);
  thaw_writer_add_output(w, sum);
  return test_finish(w);
}

static thaw_format_tensor tensor_named(const thaw_format_view *view, const char *name) {
  thaw_format_tensor tensor;
  for (uint32_t i = 0; i < view->tensor_count; i++) {
    thaw_format_get_tensor(view, i, &tensor);
    if (strcmp(tensor.name, name) == 0) return tensor;
  }
  fail_msg("no tensor %s", name);
  return tensor;
}

static uint32_t op_of_node(const thaw_format_view *view, const char *name) {
  for (uint32_t i = 0; i < view->node_count; i++) {
    thaw_format_node node;
    thaw_format_get_node(view, i, &node);
    if (strcmp(node.name, name) == 0) return node.op;
  }
  fail_msg("no node %s", name);
  return 0;
}

/* Runs the fire module on `threads` threads and checks both outputs against values computed
 * here in double precision. */
static void check_fire_module_results(const test_model_bytes *bytes, int64_t batch,
                                      uint32_t threads) {
  const size_t count = (size_t)batch * PART;
  float *x = malloc(count * sizeof(float));
  double *expected_doubled = malloc(2 * count * sizeof(double));
  double *expected_sum = malloc(count * sizeof(double));
  assert_non_null(x);
  assert_non_null(expected_doubled);
  assert_non_null(expected_sum);
  thaw_test_rng rng = {11};
  thaw_test_fill_uniform(&rng, x, count, -1.0f, 1.0f);
  for (size_t n = 0; n < (size_t)batch; n++) {
    for (size_t i = 0; i < PART; i++) {
      const double value = x[n * PART + i], a = value > 0 ? value : 0, b = 2 * value;
      expected_doubled[n * 2 * PART + i] = 2 * a;
      expected_doubled[n * 2 * PART + PART + i] = 2 * b;
      expected_sum[n * PART + i] = a + b;
    }
  }
  thaw_model *model = test_open(bytes);
  thaw_session *session = NULL;
  const thaw_session_options options = {.threads = threads};
  assert_int_equal(thaw_session_create(model, &options, &session, NULL), THAW_OK);
  test_set_input(session, 0, x);
  assert_int_equal(thaw_session_run(session, NULL, NULL), THAW_OK);
  thaw_test_assert_close("doubled", test_output(session, 0), expected_doubled, 2 * count, 1e-6,
                         1e-7);
  thaw_test_assert_close("sum", test_output(session, 1), expected_sum, count, 1e-6, 1e-7);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(x);
  free(expected_doubled);
  free(expected_sum);
}

static void test_batch_one_concat_is_planned_in_place(void **state) {
  (void)state;
  test_model_bytes bytes = build_fire_module(1);
  const thaw_format_view view = test_view(&bytes);
  assert_int_equal(view.minor, 4);
  assert_int_equal(op_of_node(&view, "concat"), THAW_OP_CONCAT_IN_PLACE);
  const thaw_format_tensor joined = tensor_named(&view, "joined");
  assert_true(tensor_named(&view, "a").offset == joined.offset);
  assert_true(tensor_named(&view, "b").offset == joined.offset + PART * sizeof(float));
  check_fire_module_results(&bytes, 1, 1);
  check_fire_module_results(&bytes, 1, 2);
  free(bytes.bytes);
}

/* With two images, each part is two slices of the output: the Concat copies. */
static void test_batched_concat_copies(void **state) {
  (void)state;
  test_model_bytes bytes = build_fire_module(2);
  const thaw_format_view view = test_view(&bytes);
  assert_int_equal(view.minor, 0);
  assert_int_equal(op_of_node(&view, "concat"), THAW_OP_CONCAT);
  check_fire_module_results(&bytes, 2, 1);
  free(bytes.bytes);
}

/* Parts that cannot move into the output: a model input and a model output own their bytes
 * (nor may a model output that is a view of the Concat's output share them), a tensor twice in
 * one Concat or in two Concats would need two places, and a slice that starts off the arena
 * alignment cannot be planned. The Concat that meets one keeps copying; with two
 * Concats of one part, the first goes in place and the second copies. */
static void test_unsafe_parts_keep_the_copy(void **state) {
  (void)state;
  enum {
    MODEL_INPUT_PART,
    MODEL_OUTPUT,
    MODEL_OUTPUT_VIEW,
    SAME_PART_TWICE,
    PART_IN_TWO_CONCATS,
    UNALIGNED,
    CASES
  };
  for (int c = 0; c < CASES; c++) {
    thaw_writer *w = thaw_writer_create();
    const thaw_dtype f32 = THAW_DTYPE_F32;
    /* 3x3 floats are 36 bytes: the second part's slice would start off the alignment. */
    const int64_t side = c == UNALIGNED ? 3 : SIDE;
    const uint32_t x = test_activation(w, "x", f32, DIMS(1, 1, side, side));
    const uint32_t a = test_activation(w, "a", f32, DIMS(1, 1, side, side));
    const uint32_t b = test_activation(w, "b", f32, DIMS(1, 1, side, side));
    const uint32_t joined = test_activation(w, "joined", f32, DIMS(1, 2, side, side));
    test_node(w, THAW_OP_UNARY, "a", &relu, 1, &x, a);
    test_node(w, THAW_OP_UNARY, "b", &relu, 1, &x, b);
    const uint32_t first = c == MODEL_INPUT_PART ? x : a;
    const uint32_t second = c == SAME_PART_TWICE ? a : b;
    test_node(w, THAW_OP_CONCAT, "concat", &channel_axis, 2, (uint32_t[]){first, second}, joined);
    thaw_writer_add_input(w, x);
    if (c == MODEL_OUTPUT) {
      thaw_writer_add_output(w, joined);
    } else if (c == MODEL_OUTPUT_VIEW) {
      const uint32_t flat = test_activation(w, "flat", f32, DIMS(1, 2 * side * side));
      test_node(w, THAW_OP_RESHAPE, "flat", NULL, 1, &joined, flat);
      thaw_writer_add_output(w, flat);
    } else {
      const uint32_t y = test_activation(w, "y", f32, DIMS(1, 2, side, side));
      test_node(w, THAW_OP_UNARY, "y", &relu, 1, &joined, y);
      thaw_writer_add_output(w, y);
    }
    if (c == PART_IN_TWO_CONCATS) {
      const uint32_t again = test_activation(w, "again", f32, DIMS(1, 2, side, side));
      const uint32_t z = test_activation(w, "z", f32, DIMS(1, 2, side, side));
      test_node(w, THAW_OP_CONCAT, "concat2", &channel_axis, 2, (uint32_t[]){x, a}, again);
      test_node(w, THAW_OP_UNARY, "z", &relu, 1, &again, z);
      thaw_writer_add_output(w, z);
    }
    test_model_bytes bytes = test_finish(w);
    const thaw_format_view view = test_view(&bytes);
    const uint32_t expected = c == PART_IN_TWO_CONCATS ? THAW_OP_CONCAT_IN_PLACE : THAW_OP_CONCAT;
    if (op_of_node(&view, "concat") != expected)
      fail_msg("case %d: first Concat written as op %u", c, op_of_node(&view, "concat"));
    if (c == PART_IN_TWO_CONCATS) assert_int_equal(op_of_node(&view, "concat2"), THAW_OP_CONCAT);
    free(bytes.bytes);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_one_concat_is_planned_in_place),
      cmocka_unit_test(test_batched_concat_copies),
      cmocka_unit_test(test_unsafe_parts_keep_the_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
