/* State carried across runs and across sessions. The PyTorch LSTM and GRU streaming exports of
 * tests/models (explicit state inputs and outputs) run one step at a time, their state handed
 * from session to session through thaw_session_state_save/load, and equal both the
 * whole-sequence run and ONNX Runtime's outputs; a run that stops early leaves the state
 * alone; every damaged or mismatched state blob is refused with its own status and message,
 * without touching the state; and the file's STATE section is validated at open. */
#include <string.h>

#include "formats/format.h"
#include "test_runtime_builder.h"
#include "tools/convert/convert.h"
#include "tools/npy/npy.h"

enum { STEPS = 6 };

typedef struct stream_case {
  const char *name;
  size_t input_size, hidden;
  const char *states; /* the --state argument */
  const char *state_inputs[2], *state_outputs[2];
  size_t state_count;
} stream_case;

static const stream_case kLstm = {"lstm_stream", 12, 20, "hn=h0,cn=c0", {"h0", "c0"},
                                  {"hn", "cn"}, 2};
static const stream_case kGru = {"gru_stream", 12, 16, "hn=h0", {"h0"}, {"hn"}, 1};

/* tests/models/<case>/<folder>/0/<file>.npy as floats. */
static thaw_npy read_npy(const stream_case *c, const char *folder, const char *file) {
  char relative[256];
  snprintf(relative, sizeof relative, "tests/models/%s/%s/0/%s.npy", c->name, folder, file);
  char *path = thaw_test_source_path(relative);
  thaw_npy npy;
  thaw_error error;
  if (thaw_npy_read(path, &npy, &error) != THAW_OK) fail_msg("%s", error.message);
  assert_int_equal(npy.dtype, THAW_DTYPE_F32);
  free(path);
  return npy;
}

typedef struct opened {
  uint8_t *bytes;
  thaw_model *model;
} opened;

/* The case's model converted with x pinned to `steps` steps, with its state pairs or without. */
static opened open_case(const stream_case *c, int64_t steps, bool with_states) {
  char relative[256], states[64];
  snprintf(relative, sizeof relative, "tests/models/%s/model.onnx", c->name);
  char *path = thaw_test_source_path(relative);
  const thaw_input_shape shape = {.name = "x", .rank = 3,
                                  .dims = {steps, 1, (int64_t)c->input_size}};
  thaw_state_pair pairs[2];
  size_t pair_count = 0;
  thaw_error error;
  snprintf(states, sizeof states, "%s", c->states);
  assert_int_equal(thaw_convert_parse_states(states, pairs, 2, &pair_count, &error), THAW_OK);
  const thaw_convert_options options = {.input_shapes = &shape,
                                        .input_shape_count = 1,
                                        .states = with_states ? pairs : NULL,
                                        .state_count = with_states ? pair_count : 0};
  opened result;
  uint64_t size;
  if (thaw_convert_onnx_file(path, &options, &result.bytes, &size, NULL, &error) != THAW_OK)
    fail_msg("convert %s: %s", path, error.message);
  free(path);
  if (thaw_model_open_memory(result.bytes, (size_t)size, 0, &result.model, &error) != THAW_OK)
    fail_msg("open: %s", error.message);
  return result;
}

static void close_case(opened *o) {
  thaw_model_close(o->model);
  free(o->bytes);
}

static thaw_session *new_session(const thaw_model *model) {
  thaw_session *session;
  thaw_error error;
  if (thaw_session_create(model, NULL, &session, &error) != THAW_OK) fail_msg("%s", error.message);
  return session;
}

/* The buffer of the model input or output `name`, which must hold `count` floats. */
static float *buffer(const thaw_model *model, thaw_session *session, bool output,
                     const char *name, size_t count) {
  size_t index;
  thaw_tensor tensor;
  assert_int_equal(output ? thaw_model_find_output(model, name, &index)
                          : thaw_model_find_input(model, name, &index),
                   THAW_OK);
  assert_int_equal(output ? thaw_session_output(session, index, &tensor)
                          : thaw_session_input(session, index, &tensor),
                   THAW_OK);
  assert_int_equal(tensor.element_count, count);
  return tensor.data;
}

static double *as_doubles(const float *values, size_t count) {
  double *result = malloc(count * sizeof(double));
  assert_non_null(result);
  for (size_t i = 0; i < count; i++) result[i] = values[i];
  return result;
}

static void run_or_fail(thaw_session *session) {
  thaw_error error;
  if (thaw_session_run(session, NULL, &error) != THAW_OK) fail_msg("run: %s", error.message);
}

static void *save_state(thaw_session *session, size_t *size) {
  *size = thaw_session_state_size(session);
  void *blob = malloc(*size);
  assert_non_null(blob);
  size_t written = 0;
  thaw_error error;
  if (thaw_session_state_save(session, blob, *size, &written, &error) != THAW_OK)
    fail_msg("save: %s", error.message);
  assert_int_equal(written, *size);
  return blob;
}

/* The stream run step by step, each step in a fresh session that loads the state the previous
 * one saved (a function instance per invocation), against the whole sequence in one run and
 * against ONNX Runtime. */
static void check_steps_equal_whole_sequence(const stream_case *c) {
  const size_t h = c->hidden, in = c->input_size;
  thaw_npy x = read_npy(c, "inputs", "x"), y_ort = read_npy(c, "expected", "y");
  thaw_npy initial[2], final_ort[2];
  for (size_t s = 0; s < c->state_count; s++) {
    initial[s] = read_npy(c, "inputs", c->state_inputs[s]);
    final_ort[s] = read_npy(c, "expected", c->state_outputs[s]);
  }

  opened whole = open_case(c, STEPS, false);
  assert_int_equal(thaw_model_state_count(whole.model), 0);
  thaw_session *session = new_session(whole.model);
  memcpy(buffer(whole.model, session, false, "x", STEPS * in), x.data, x.size_bytes);
  for (size_t s = 0; s < c->state_count; s++)
    memcpy(buffer(whole.model, session, false, c->state_inputs[s], h), initial[s].data, h * 4);
  run_or_fail(session);
  const float *y_whole = buffer(whole.model, session, true, "y", STEPS * h);
  double *expected = as_doubles(y_whole, STEPS * h), *ort = as_doubles(y_ort.data, STEPS * h);
  thaw_test_assert_close("whole sequence vs ONNX Runtime", y_whole, ort, STEPS * h, 1e-4, 1e-5);
  free(ort);

  opened step = open_case(c, 1, true);
  assert_int_equal(thaw_model_state_count(step.model), c->state_count);
  for (size_t s = 0; s < c->state_count; s++) {
    size_t input_index, output_index, expected_input, expected_output;
    assert_int_equal(thaw_model_state(step.model, s, &input_index, &output_index), THAW_OK);
    assert_int_equal(thaw_model_find_input(step.model, c->state_inputs[s], &expected_input), THAW_OK);
    assert_int_equal(thaw_model_find_output(step.model, c->state_outputs[s], &expected_output),
                     THAW_OK);
    assert_int_equal(input_index, expected_input);
    assert_int_equal(output_index, expected_output);
  }
  size_t unused;
  assert_int_equal(thaw_model_state(step.model, c->state_count, &unused, &unused),
                   THAW_STATUS_INVALID_ARGUMENT);

  thaw_session *stepper = new_session(step.model);
  for (size_t s = 0; s < c->state_count; s++) {
    float *state = buffer(step.model, stepper, false, c->state_inputs[s], h);
    for (size_t j = 0; j < h; j++) assert_true(state[j] == 0.0f); /* a new session: zeros */
    memcpy(state, initial[s].data, h * 4);
  }
  for (size_t t = 0; t < STEPS; t++) {
    memcpy(buffer(step.model, stepper, false, "x", in), (const float *)x.data + t * in, in * 4);
    run_or_fail(stepper);
    char what[64];
    snprintf(what, sizeof what, "step %zu vs the whole sequence", t);
    thaw_test_assert_close(what, buffer(step.model, stepper, true, "y", h), expected + t * h, h,
                           1e-5, 1e-6);
    /* Park the state and continue in another session, as the next invocation would. */
    size_t size;
    void *blob = save_state(stepper, &size);
    thaw_session_destroy(stepper);
    stepper = new_session(step.model);
    thaw_error error;
    if (thaw_session_state_load(stepper, blob, size, &error) != THAW_OK)
      fail_msg("load: %s", error.message);
    free(blob);
  }
  /* The loaded state is the last step's state outputs, which ONNX Runtime gave for the whole
   * sequence. */
  for (size_t s = 0; s < c->state_count; s++) {
    ort = as_doubles(final_ort[s].data, h);
    thaw_test_assert_close(c->state_outputs[s],
                           buffer(step.model, stepper, false, c->state_inputs[s], h), ort, h,
                           1e-4, 1e-5);
    free(ort);
  }
  assert_int_equal(thaw_session_state_reset(stepper), THAW_OK);
  for (size_t s = 0; s < c->state_count; s++) {
    const float *state = buffer(step.model, stepper, false, c->state_inputs[s], h);
    for (size_t j = 0; j < h; j++) assert_true(state[j] == 0.0f);
  }
  thaw_session_destroy(stepper);
  thaw_session_destroy(session);
  close_case(&step);
  close_case(&whole);
  free(expected);
  thaw_npy_free(&x);
  thaw_npy_free(&y_ort);
  for (size_t s = 0; s < c->state_count; s++) {
    thaw_npy_free(&initial[s]);
    thaw_npy_free(&final_ort[s]);
  }
}

static void test_lstm_steps_equal_whole_sequence(void **state) {
  (void)state;
  check_steps_equal_whole_sequence(&kLstm);
}

static void test_gru_steps_equal_whole_sequence(void **state) {
  (void)state;
  check_steps_equal_whole_sequence(&kGru);
}

/* A session whose state is not zero: one step run on x = 1. */
static thaw_session *session_with_state(const opened *o, const stream_case *c) {
  thaw_session *session = new_session(o->model);
  float *x = buffer(o->model, session, false, "x", c->input_size);
  for (size_t i = 0; i < c->input_size; i++) x[i] = 1.0f;
  run_or_fail(session);
  return session;
}

static void test_stopped_run_keeps_state(void **state) {
  (void)state;
  opened o = open_case(&kLstm, 1, true);
  thaw_session *session = session_with_state(&o, &kLstm);
  size_t before_size, after_size;
  void *before = save_state(session, &before_size);
  const int cancel = 1;
  const thaw_run_options cancelled = {.cancel_flag = &cancel};
  assert_int_equal(thaw_session_run(session, &cancelled, NULL), THAW_STATUS_CANCELLED);
  void *after = save_state(session, &after_size);
  assert_int_equal(after_size, before_size);
  assert_memory_equal(after, before, before_size);
  /* A run that finishes moves the state on, to exactly its state outputs. */
  run_or_fail(session);
  const float *hn = buffer(o.model, session, true, "hn", kLstm.hidden);
  assert_memory_equal(buffer(o.model, session, false, "h0", kLstm.hidden), hn, kLstm.hidden * 4);
  free(after);
  after = save_state(session, &after_size);
  assert_memory_not_equal(after, before, before_size);
  free(before);
  free(after);
  thaw_session_destroy(session);
  close_case(&o);
}

static void store_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the blob's trailing checksum (XXH64 of everything before it) after an edit, so the
 * edit itself is what gets refused. */
static void reseal(uint8_t *blob, size_t size) {
  store_u64(blob + size - 8, thaw_hash64(blob, size - 8, 0));
}

static void expect_refused(thaw_session *session, const void *blob, size_t size,
                           const void *state_before, size_t state_size, thaw_status status,
                           const char *message) {
  thaw_error error = {0};
  assert_int_equal(thaw_session_state_load(session, blob, size, &error), status);
  if (strstr(error.message, message) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", error.message, message);
  size_t now_size;
  void *now = save_state(session, &now_size);
  assert_int_equal(now_size, state_size);
  assert_memory_equal(now, state_before, state_size); /* nothing was loaded */
  free(now);
}

static void test_malformed_state_blobs(void **state) {
  (void)state;
  opened lstm = open_case(&kLstm, 1, true), gru = open_case(&kGru, 1, true);
  thaw_session *session = session_with_state(&lstm, &kLstm);
  thaw_session *other = session_with_state(&gru, &kGru);
  size_t size, other_size;
  uint8_t *good = save_state(session, &size);
  uint8_t *foreign = save_state(other, &other_size);
  /* header 32, two records of 8 + 3 dims + 8 + 2-byte name + 80 bytes, checksum 8 */
  assert_int_equal(size, 32 + 2 * (8 + 24 + 8 + 2 + 80) + 8);
  uint8_t *blob = malloc(size + 1);
  assert_non_null(blob);
  /* The state changes first, so a load that went through would show. */
  run_or_fail(session);
  size_t current_size;
  void *current = save_state(session, &current_size);

  size_t written = 0;
  thaw_error error;
  assert_int_equal(thaw_session_state_save(session, blob, size - 1, &written, &error),
                   THAW_STATUS_LIMIT);
  assert_int_equal(written, size);

  for (size_t length = 0; length < size; length++) {
    const char *message = length < 8    ? "bad magic"
                          : length < 40 ? "the header and checksum alone need 40"
                                        : "truncated state blob: it says";
    expect_refused(session, good, length, current, current_size, THAW_STATUS_CORRUPT, message);
  }
  memcpy(blob, good, size);
  blob[size] = 0;
  expect_refused(session, blob, size + 1, current, current_size, THAW_STATUS_CORRUPT,
                 "trailing bytes");
  blob[size - 20] ^= 0x10; /* inside the last state's data */
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_CHECKSUM,
                 "checksum mismatch");
  memcpy(blob, good, size);
  blob[8] = 2;
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_VERSION,
                 "state blob is version 2.0, this reader reads 1.x");
  expect_refused(session, foreign, other_size, current, current_size,
                 THAW_STATUS_INVALID_ARGUMENT, "saved from another model");
  memcpy(blob, good, size);
  blob[12] = 3; /* state count */
  reseal(blob, size);
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_CORRUPT,
                 "holds 3 states, the model has 2");
  memcpy(blob, good, size);
  blob[32 + 8 + 16] = 21; /* the first state's last dim */
  reseal(blob, size);
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_CORRUPT,
                 "state \"h0\" in the blob is f32 [1,1,21] (80 bytes), the model's is f32 "
                 "[1,1,20]");
  memcpy(blob, good, size);
  blob[32 + 8 + 24 + 8] = 'x'; /* the first state's name */
  reseal(blob, size);
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_CORRUPT,
                 "is named \"x0\", the model's state 0 is \"h0\"");
  memcpy(blob, good, size);
  store_u64(blob + 32 + 8 + 24, UINT64_MAX); /* the first state's byte count */
  reseal(blob, size);
  expect_refused(session, blob, size, current, current_size, THAW_STATUS_CORRUPT,
                 "(18446744073709551615 bytes)");
  /* A blob one byte longer than its records (size field and checksum kept consistent). */
  memcpy(blob, good, size - 8);
  blob[size - 8] = 0;
  store_u64(blob + 16, size + 1);
  reseal(blob, size + 1);
  expect_refused(session, blob, size + 1, current, current_size, THAW_STATUS_CORRUPT,
                 "1 bytes after its last record");

  /* The original blob still loads. */
  assert_int_equal(thaw_session_state_load(session, good, size, &error), THAW_OK);
  free(blob);
  free(good);
  free(foreign);
  free(current);
  thaw_session_destroy(session);
  thaw_session_destroy(other);
  close_case(&lstm);
  close_case(&gru);
}

/* Two Relu nodes between two inputs and two outputs; `pair` joins output `pair_output` to input
 * `pair_input` (or nothing when pair_output is UINT32_MAX). */
static thaw_status build_pair_model(uint32_t pair_output, uint32_t pair_input,
                                    test_model_bytes *bytes, thaw_error *error) {
  thaw_writer *w = thaw_writer_create();
  const thaw_unary_attrs relu = {.func = THAW_UNARY_RELU};
  const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, DIMS(1, 4));
  const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, DIMS(1, 5));
  const uint32_t out_a = test_activation(w, "out_a", THAW_DTYPE_F32, DIMS(1, 4));
  const uint32_t out_b = test_activation(w, "out_b", THAW_DTYPE_F32, DIMS(1, 5));
  test_node(w, THAW_OP_UNARY, "relu_a", &relu, 1, &a, out_a);
  test_node(w, THAW_OP_UNARY, "relu_b", &relu, 1, &b, out_b);
  thaw_writer_add_input(w, a);
  thaw_writer_add_input(w, b);
  thaw_writer_add_output(w, out_a);
  thaw_writer_add_output(w, out_b);
  const uint32_t outputs[2] = {out_a, out_b}, inputs[2] = {a, b};
  if (pair_output != UINT32_MAX) thaw_writer_add_state(w, outputs[pair_output], inputs[pair_input]);
  uint64_t size;
  thaw_status status = thaw_writer_finish(w, 0, &bytes->bytes, &size, NULL, error);
  bytes->size = (size_t)size;
  thaw_writer_destroy(w);
  return status;
}

static void test_state_section(void **state) {
  (void)state;
  test_model_bytes bytes;
  thaw_error error;
  assert_int_equal(build_pair_model(1, 0, &bytes, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "STATE pair 0: output 'out_b' and input 'a' differ"));

  assert_int_equal(build_pair_model(0, 0, &bytes, &error), THAW_OK);
  thaw_format_view view = test_view(&bytes);
  assert_int_equal(view.minor, 2);
  assert_int_equal(view.state_count, 1);
  thaw_model *model = test_open(&bytes);
  assert_int_equal(thaw_model_state_count(model), 1);
  thaw_session *session = new_session(model);
  const float a[4] = {-1, 2, -3, 4}, relu_a[4] = {0, 2, 0, 4};
  test_set_input(session, 0, a);
  run_or_fail(session);
  assert_memory_equal(buffer(model, session, false, "a", 4), relu_a, sizeof relu_a);
  thaw_session_destroy(session);
  thaw_model_close(model);

  /* Point the pair's output at out_b, whose shape differs from a's: refused at open. */
  uint8_t *pair = (uint8_t *)view.state_pairs;
  pair[4] = 1;
  test_reseal(&bytes, view.weights_offset);
  assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 0, &model, &error),
                   THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "STATE pair 0: output 'out_b' and input 'a' differ"));
  pair[4] = 0;
  pair[0] = 2; /* an input index past the model's two */
  test_reseal(&bytes, view.weights_offset);
  assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 0, &model, &error),
                   THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "STATE pair 0 names input 2 and output 0"));
  free(bytes.bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lstm_steps_equal_whole_sequence),
      cmocka_unit_test(test_gru_steps_equal_whole_sequence),
      cmocka_unit_test(test_stopped_run_keeps_state),
      cmocka_unit_test(test_malformed_state_blobs),
      cmocka_unit_test(test_state_section),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
