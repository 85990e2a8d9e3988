/* The converter's LSTM/GRU lowering refuses what the kernels do not compute, naming the node
 * and the attribute, and the --state option: its syntax, and names that are not graph
 * inputs/outputs. (Numerics: test_kernels_rnn, test_models, test_session_state.) */
#include "test_convert_builder.h"

enum { STEPS = 2, INPUT = 3, HIDDEN = 2 };

static float weights[4 * HIDDEN * INPUT], recurrent[4 * HIDDEN * HIDDEN];

/* x [STEPS, 1, INPUT] -> LSTM (named "y") -> y. */
static Onnx__NodeProto *lstm_graph(builder *b) {
  builder_init(b, 13);
  /* The builder keeps pointers to the dims: they must outlive it. */
  static int64_t w_dims[3] = {1, 4 * HIDDEN, INPUT}, r_dims[3] = {1, 4 * HIDDEN, HIDDEN};
  static const int64_t x_dims[3] = {STEPS, 1, INPUT};
  add_input(b, "x", 3, x_dims);
  add_initializer(b, "W", 3, w_dims, weights, 4 * HIDDEN * INPUT);
  add_initializer(b, "R", 3, r_dims, recurrent, 4 * HIDDEN * HIDDEN);
  add_output(b, "y");
  return add_node(b, "LSTM", "x", "W", "R", "y");
}

static void expect_refusal(builder *b, const char *reason) {
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(b, NULL, &bytes, &size, &report, &error), THAW_STATUS_UNSUPPORTED);
  assert_int_equal(report.unsupported_count, 1);
  assert_string_equal(report.unsupported[0].node_name, "y");
  assert_string_equal(report.unsupported[0].op_type, "LSTM");
  if (strstr(report.unsupported[0].reason, reason) == NULL)
    fail_msg("reason \"%s\" lacks \"%s\"", report.unsupported[0].reason, reason);
  thaw_convert_report_free(&report);
}

static void test_refused_attributes(void **state) {
  (void)state;
  builder b;
  add_float_attribute(&b, lstm_graph(&b), "clip", 3.0f);
  expect_refusal(&b, "attribute clip is not supported");

  add_int_attribute(&b, lstm_graph(&b), "input_forget", 1);
  expect_refusal(&b, "input_forget=1");

  static ProtobufCBinaryData relu[3] = {{4, (uint8_t *)"Relu"}, {4, (uint8_t *)"Tanh"},
                                        {4, (uint8_t *)"Tanh"}};
  Onnx__AttributeProto *activations = append_attribute(
      &b, lstm_graph(&b), "activations", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  activations->n_strings = 3;
  activations->strings = relu;
  expect_refusal(&b, "activations other than the defaults");

  add_float_attribute(&b, lstm_graph(&b), "activation_alpha", 1.0f);
  expect_refusal(&b, "activation_alpha");
}

static void test_default_activations_spelled_out(void **state) {
  (void)state;
  builder b;
  static ProtobufCBinaryData defaults[3] = {{7, (uint8_t *)"Sigmoid"}, {4, (uint8_t *)"Tanh"},
                                            {4, (uint8_t *)"Tanh"}};
  Onnx__AttributeProto *activations = append_attribute(
      &b, lstm_graph(&b), "activations", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  activations->n_strings = 3;
  activations->strings = defaults;
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_error error;
  if (convert(&b, NULL, &bytes, &size, NULL, &error) != THAW_OK) fail_msg("%s", error.message);
  /* Zero weights: every gate is sigmoid(0) = 1/2, the candidate tanh(0) = 0, so c and h stay
   * 0 whatever x is. */
  const float x[STEPS * INPUT] = {1, -2, 3, 4, 5, -6};
  float y[STEPS * HIDDEN] = {1, 1, 1, 1};
  run_model(bytes, size, x, STEPS * INPUT, y, STEPS * HIDDEN);
  for (size_t i = 0; i < STEPS * HIDDEN; i++) assert_true(y[i] == 0.0f);
  free(bytes);
}

static void test_state_option(void **state) {
  (void)state;
  static const char *const bad[] = {"hn", "=h0", "hn=", "a=b=c", "hn=h0,"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[32];
    snprintf(text, sizeof text, "%s", bad[i]);
    thaw_state_pair pairs[4];
    size_t count = 0;
    thaw_error error;
    assert_int_equal(thaw_convert_parse_states(text, pairs, 4, &count, &error),
                     THAW_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(error.message, "is not OUTPUT=INPUT"));
  }
  char text[] = "hn=h0,cn=c0";
  thaw_state_pair pairs[2];
  size_t count = 0;
  thaw_error error;
  assert_int_equal(thaw_convert_parse_states(text, pairs, 2, &count, &error), THAW_OK);
  assert_int_equal(count, 2);
  assert_string_equal(pairs[1].output, "cn");
  assert_string_equal(pairs[1].input, "c0");
  char three[] = "a=b,c=d,e=f";
  count = 0;
  assert_int_equal(thaw_convert_parse_states(three, pairs, 2, &count, &error),
                   THAW_STATUS_INVALID_ARGUMENT);

  /* Names must be a graph output and a graph input. */
  const thaw_state_pair unknown[2] = {{"nope", "x"}, {"y", "nope"}};
  const char *const messages[2] = {"\"nope\" is not a graph output", "\"nope\" is not a graph input"};
  for (size_t i = 0; i < 2; i++) {
    builder b;
    lstm_graph(&b);
    const thaw_convert_options options = {.states = &unknown[i], .state_count = 1};
    uint8_t *bytes = NULL;
    uint64_t size;
    assert_int_equal(convert(&b, &options, &bytes, &size, NULL, &error),
                     THAW_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(error.message, messages[i]));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_attributes),
      cmocka_unit_test(test_default_activations_spelled_out),
      cmocka_unit_test(test_state_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
