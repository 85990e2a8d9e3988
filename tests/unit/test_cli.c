/* The thaw CLI end to end: a small model built with the writer, run through `thaw run` with
 * .npy inputs and outputs checked against values computed here, `thaw inspect` output, and the
 * exit status and message of every kind of failure, including every file of the shared
 * malformed tables. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "malformed_files.h"
#include "npy.h"
#include "test_support.h"

enum { INPUT_SIZE = 4, HIDDEN_SIZE = 3 };

/* y = softmax(relu(x·W + b)); the second output is the hidden layer itself. */
static const float weights[INPUT_SIZE][HIDDEN_SIZE] = {
    {0.5f, -1.0f, 0.25f}, {1.5f, 0.75f, -0.5f}, {-2.0f, 0.5f, 1.0f}, {0.125f, 2.0f, -1.5f}};
static const float bias[HIDDEN_SIZE] = {0.1f, -0.2f, 0.3f};
static const float input_values[INPUT_SIZE] = {0.5f, -1.0f, 2.0f, 0.25f};

typedef struct cli_fixture {
  char *model_path;
  char *input_path;
} cli_fixture;

static void expected_outputs(double hidden[HIDDEN_SIZE], double probabilities[HIDDEN_SIZE]) {
  double sum = 0, largest = -INFINITY;
  for (int j = 0; j < HIDDEN_SIZE; j++) {
    double acc = bias[j];
    for (int k = 0; k < INPUT_SIZE; k++) acc += (double)input_values[k] * weights[k][j];
    hidden[j] = acc > 0 ? acc : 0;
    if (hidden[j] > largest) largest = hidden[j];
  }
  for (int j = 0; j < HIDDEN_SIZE; j++) sum += exp(hidden[j] - largest);
  for (int j = 0; j < HIDDEN_SIZE; j++) probabilities[j] = exp(hidden[j] - largest) / sum;
}

static void write_model(const char *path) {
  thaw_writer *writer = thaw_writer_create();
  assert_non_null(writer);
  int64_t input_shape[2] = {1, INPUT_SIZE}, weight_shape[2] = {INPUT_SIZE, HIDDEN_SIZE};
  int64_t bias_shape[1] = {HIDDEN_SIZE}, hidden_shape[2] = {1, HIDDEN_SIZE};
  uint32_t x = thaw_writer_add_tensor(writer, "x", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2,
                                      input_shape, THAW_LAYOUT_PLAIN, NULL, 0);
  uint32_t w = thaw_writer_add_tensor(writer, "fc.weight", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32,
                                      2, weight_shape, THAW_LAYOUT_PLAIN, weights, sizeof weights);
  uint32_t b = thaw_writer_add_tensor(writer, "fc.bias", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 1,
                                      bias_shape, THAW_LAYOUT_PLAIN, bias, sizeof bias);
  uint32_t hidden = thaw_writer_add_tensor(writer, "hidden", THAW_TENSOR_ACTIVATION,
                                           THAW_DTYPE_F32, 2, hidden_shape, THAW_LAYOUT_PLAIN,
                                           NULL, 0);
  /* A '/' in the name checks that output file names are sanitised. */
  uint32_t probabilities = thaw_writer_add_tensor(writer, "probs/out", THAW_TENSOR_ACTIVATION,
                                                  THAW_DTYPE_F32, 2, hidden_shape,
                                                  THAW_LAYOUT_PLAIN, NULL, 0);
  thaw_matmul_attrs matmul = {{THAW_UNARY_RELU, 0, 0}};
  uint32_t fc_inputs[3] = {x, w, b};
  thaw_writer_add_node(writer, THAW_OP_MATMUL, "fc", &matmul, fc_inputs, 3, &hidden, 1);
  thaw_axis_attrs softmax = {1};
  thaw_writer_add_node(writer, THAW_OP_SOFTMAX, "softmax", &softmax, &hidden, 1, &probabilities,
                       1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, hidden);
  thaw_writer_add_output(writer, probabilities);
  thaw_writer_set_producer(writer, "thaw-test");
  thaw_error error;
  if (thaw_writer_write_file(writer, path, THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM, NULL, &error) !=
      THAW_OK)
    fail_msg("writing %s: %s", path, error.message);
  thaw_writer_destroy(writer);
}

static int setup(void **state) {
  if (thaw_test_cli() == NULL) {
    fprintf(stderr, "THAW_CLI is not set: the CLI was not built\n");
    return -1;
  }
  cli_fixture *fixture = calloc(1, sizeof *fixture);
  fixture->model_path = thaw_test_tmp_path("mlp.thaw");
  fixture->input_path = thaw_test_tmp_path("x.npy");
  write_model(fixture->model_path);
  int64_t shape[2] = {1, INPUT_SIZE};
  thaw_error error;
  if (thaw_npy_write(fixture->input_path, THAW_DTYPE_F32, 2, shape, input_values, &error) !=
      THAW_OK)
    fail_msg("%s", error.message);
  *state = fixture;
  return 0;
}

static int teardown(void **state) {
  cli_fixture *fixture = *state;
  free(fixture->model_path);
  free(fixture->input_path);
  free(fixture);
  return 0;
}

/* Run the CLI with the NULL-terminated arguments after argv[0]; returns the exit status. */
static int run_cli(char **out, char **err, ...) {
  char *argv[32] = {(char *)thaw_test_cli()};
  va_list arguments;
  va_start(arguments, err);
  size_t count = 1;
  for (char *argument; (argument = va_arg(arguments, char *)) != NULL;) {
    assert_true(count + 1 < sizeof argv / sizeof argv[0]);
    argv[count++] = argument;
  }
  va_end(arguments);
  return thaw_test_run_command(argv, out, err);
}

static void expect_contains(const char *what, const char *text, const char *fragment) {
  if (strstr(text, fragment) == NULL) fail_msg("%s lacks \"%s\":\n%s", what, fragment, text);
}

static void expect_output_file(const char *path, const double *expected) {
  thaw_npy npy;
  thaw_error error;
  if (thaw_npy_read(path, &npy, &error) != THAW_OK) fail_msg("%s", error.message);
  assert_int_equal(npy.dtype, THAW_DTYPE_F32);
  assert_int_equal(npy.rank, 2);
  assert_int_equal(npy.shape[0], 1);
  assert_int_equal(npy.shape[1], HIDDEN_SIZE);
  thaw_test_assert_close(path, npy.data, expected, HIDDEN_SIZE, 1e-5, 1e-6);
  thaw_npy_free(&npy);
}

static void test_run_json_writes_outputs(void **state) {
  cli_fixture *fixture = *state;
  char *output_dir = thaw_test_tmp_path("outputs");
  char input_spec[4096];
  snprintf(input_spec, sizeof input_spec, "x=%s", fixture->input_path);
  char *out, *err;
  int status = run_cli(&out, &err, "run", fixture->model_path, "--input", input_spec,
                       "--output-dir", output_dir, "--repeat", "3", "--json", NULL);
  if (status != 0) fail_msg("exit %d: %s", status, err);
  static const char *const fields[] = {
      "{\"model\": ", "\"open_ms\": ", "\"session_ms\": ", "\"first_run_ms\": ",
      "\"median_run_ms\": ", "\"runs\": 3", "\"threads\": 1", "\"peak_rss_kb\": ",
      "\"outputs\": [{\"name\": \"hidden\", \"shape\": [1,3], \"dtype\": \"f32\", \"file\": ",
      "{\"name\": \"probs/out\", \"shape\": [1,3], \"dtype\": \"f32\", \"file\": ",
      "probs_out.npy\"}]}\n"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    expect_contains("run --json", out, fields[i]);
  assert_null(strstr(out, "\"median_run_ms\": null"));

  double hidden[HIDDEN_SIZE], probabilities[HIDDEN_SIZE];
  expected_outputs(hidden, probabilities);
  char *hidden_path = thaw_test_tmp_path("outputs/hidden.npy");
  char *probabilities_path = thaw_test_tmp_path("outputs/probs_out.npy");
  expect_output_file(hidden_path, hidden);
  expect_output_file(probabilities_path, probabilities);
  free(hidden_path);
  free(probabilities_path);
  free(output_dir);
  free(out);
  free(err);
}

static void test_run_text_summary(void **state) {
  cli_fixture *fixture = *state;
  char input_spec[4096];
  snprintf(input_spec, sizeof input_spec, "x=%s", fixture->input_path);
  char *out, *err;
  int status = run_cli(&out, &err, "run", fixture->model_path, "--input", input_spec, NULL);
  if (status != 0) fail_msg("exit %d: %s", status, err);
  double hidden[HIDDEN_SIZE], probabilities[HIDDEN_SIZE];
  expected_outputs(hidden, probabilities);
  size_t best = 0;
  for (size_t j = 1; j < HIDDEN_SIZE; j++)
    if (probabilities[j] > probabilities[best]) best = j;
  char expected[256];
  snprintf(expected, sizeof expected, "  values %.6g %.6g %.6g\n  argmax %zu (%.6g)",
           probabilities[0], probabilities[1], probabilities[2], best, probabilities[best]);
  expect_contains("run", out, "output \"probs/out\" f32 [1,3]\n");
  expect_contains("run", out, expected);
  expect_contains("run", out, "first run");
  assert_null(strstr(out, "median run")); /* one run: no median to report */
  free(out);
  free(err);
}

static void test_run_random_inputs(void **state) {
  cli_fixture *fixture = *state;
  char *out, *err;
  int status = run_cli(&out, &err, "run", fixture->model_path, "--input", "x=random", "--json",
                       "--threads", "1", NULL);
  if (status != 0) fail_msg("exit %d: %s", status, err);
  expect_contains("run random", out, "\"median_run_ms\": null");
  expect_contains("run random", out, "\"file\": null");
  free(out);
  free(err);
}

/* The printed values of the model's one output, on 1 and on 3 threads: the same text, and the
 * JSON names the thread count. */
static void test_run_threads(void **state) {
  cli_fixture *fixture = *state;
  char values[2][512];
  const char *thread_counts[2] = {"1", "3"};
  for (size_t t = 0; t < 2; t++) {
    char *out, *err;
    int status = run_cli(&out, &err, "run", fixture->model_path, "--input", "x=random",
                         "--threads", thread_counts[t], "--repeat", "3", NULL);
    if (status != 0) fail_msg("--threads %s: exit %d: %s", thread_counts[t], status, err);
    const char *line = strstr(out, "  values ");
    assert_non_null(line);
    const size_t length = strcspn(line, "\n");
    assert_true(length < sizeof values[t]);
    memcpy(values[t], line, length);
    values[t][length] = '\0';
    free(out);
    free(err);
  }
  assert_string_equal(values[0], values[1]);

  char *out, *err;
  int status = run_cli(&out, &err, "run", fixture->model_path, "--input", "x=random", "--json",
                       "--threads", "3", NULL);
  if (status != 0) fail_msg("exit %d: %s", status, err);
  expect_contains("run --threads 3", out, "\"threads\": 3,");
  free(out);
  free(err);
}

static void test_run_refuses_mismatched_inputs(void **state) {
  cli_fixture *fixture = *state;
  static const struct {
    const char *file;
    thaw_dtype dtype;
    int64_t shape[2];
    const char *message;
  } cases[] = {
      {"x_shape.npy", THAW_DTYPE_F32, {1, 3},
       "input \"x\" is f32 [1,4] (16 bytes), but %s holds f32 [1,3] (12 bytes)"},
      {"x_dtype.npy", THAW_DTYPE_I64, {1, 4},
       "input \"x\" is f32 [1,4] (16 bytes), but %s holds i64 [1,4] (32 bytes)"},
  };
  int64_t zeros[4] = {0};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *path = thaw_test_tmp_path(cases[c].file);
    thaw_error error;
    assert_int_equal(thaw_npy_write(path, cases[c].dtype, 2, cases[c].shape, zeros, &error),
                     THAW_OK);
    char spec[4096], message[4096];
    snprintf(spec, sizeof spec, "x=%s", path);
    snprintf(message, sizeof message, cases[c].message, path);
    char *err;
    assert_int_equal(run_cli(NULL, &err, "run", fixture->model_path, "--input", spec, NULL), 1);
    expect_contains("stderr", err, message);
    free(err);
    free(path);
  }
  char *err;
  assert_int_equal(
      run_cli(NULL, &err, "run", fixture->model_path, "--input", "x=/nonexistent.npy", NULL), 1);
  expect_contains("stderr", err, "thaw run: input \"x\": i/o error: /nonexistent.npy: No such");
  free(err);
}

static void test_run_usage_errors(void **state) {
  cli_fixture *fixture = *state;
  static const struct {
    const char *arguments[6];
    const char *message;
  } cases[] = {
      {{"run", "MODEL", NULL},
       "no --input given for \"x\"; the model's inputs are: \"x\" f32 [1,4]"},
      {{"run", "MODEL", "--input", "nope=random", NULL}, "no input named \"nope\""},
      {{"run", "MODEL", "--input", "x=random", "--input", "x=random"},
       "input \"x\" is given twice"},
      {{"run", "MODEL", "--input", "x", NULL}, "--input 'x': expected NAME=FILE.npy"},
      {{"run", "MODEL", "--threads", "0", NULL},
       "--threads '0': expected a whole number from 1 to 256"},
      {{"run", "MODEL", "--threads", "257", NULL},
       "--threads '257': expected a whole number from 1 to 256"},
      {{"run", "MODEL", "--repeat", "0", NULL}, "--repeat '0': expected a whole number"},
      {{"run", "MODEL", "--repeat", "-3", NULL}, "--repeat '-3': expected a whole number"},
      {{"run", "MODEL", "--deadline-ms", "0", NULL}, "--deadline-ms '0': expected a whole number"},
      {{"run", "MODEL", "--max-session-mb", "x", NULL},
       "--max-session-mb 'x': expected a whole number"},
      {{"run", "MODEL", "--bogus", NULL}, "thaw run: unknown option '--bogus'"},
      {{"run", "MODEL", "--repeat", NULL}, "option '--repeat' needs an argument"},
      {{"run", NULL}, "thaw run: missing MODEL.thaw"},
      {{"inspect", "MODEL", "--verbose", NULL}, "thaw inspect: unknown option '--verbose'"},
      {{"inspect", "MODEL", "MODEL", NULL}, "expected one MODEL.thaw, got 2 files"},
      {{"frobnicate", NULL}, "thaw: unknown command 'frobnicate'"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *argv[8] = {(char *)thaw_test_cli()};
    for (size_t i = 0; i < 6 && cases[c].arguments[i] != NULL; i++)
      argv[i + 1] = strcmp(cases[c].arguments[i], "MODEL") == 0
                        ? fixture->model_path
                        : (char *)cases[c].arguments[i];
    char *err;
    int status = thaw_test_run_command(argv, NULL, &err);
    if (status != 2) fail_msg("case %zu: exit %d, expected 2: %s", c, status, err);
    expect_contains("stderr", err, cases[c].message);
    free(err);
  }
}

static void test_help_and_version(void **state) {
  (void)state;
  static const char *const cases[][3] = {
      {"--help", NULL, "Usage: thaw <command>"},   {"help", NULL, "Commands:"},
      {"run", "--help", "NAME=random"},            {"inspect", "--help", "--verify"},
      {"convert", "--help", "--input-shape"},      {"help", "run", "--output-dir DIR"},
      {"--version", NULL, "thaw " THAW_VERSION_STRING},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char *out;
    int status = run_cli(&out, NULL, cases[c][0], cases[c][1], NULL);
    if (status != 0) fail_msg("thaw %s %s: exit %d", cases[c][0], cases[c][1], status);
    expect_contains(cases[c][0], out, cases[c][2]);
    free(out);
  }
  assert_int_equal(run_cli(NULL, NULL, NULL), 2);
}

static void test_inspect_text_and_json(void **state) {
  cli_fixture *fixture = *state;
  char *out, *err;
  assert_int_equal(run_cli(&out, &err, "inspect", fixture->model_path, "--verify", NULL), 0);
  static const char *const text_fields[] = {
      "format           1.0\n", "flags            0x1 (weights checksum)\n",
      "producer         thaw-test\n", "inputs (1)\n  x ", "outputs (2)\n  hidden ",
      "  probs/out                f32  [1,3]\n", "nodes            2\n",
      "ops              MatMul 1, Softmax 1\n", "tensors          5 (2 constants, 60 bytes)\n",
      "arena            ", "session          ", "weights checksum ok\n"};
  for (size_t i = 0; i < sizeof text_fields / sizeof text_fields[0]; i++)
    expect_contains("inspect", out, text_fields[i]);
  free(out);
  free(err);

  assert_int_equal(run_cli(&out, &err, "inspect", "--json", fixture->model_path, NULL), 0);
  static const char *const json_fields[] = {
      "\"file_bytes\": ", "\"format_version\": \"1.0\"", "\"flags\": 1",
      "\"producer\": \"thaw-test\"", "\"converter\": ", "\"source_hash\": \"",
      "\"inputs\": [{\"name\": \"x\", \"dtype\": \"f32\", \"shape\": [1,4]}]",
      "\"outputs\": [{\"name\": \"hidden\", \"dtype\": \"f32\", \"shape\": [1,3]}, "
      "{\"name\": \"probs/out\", \"dtype\": \"f32\", \"shape\": [1,3]}]",
      "\"node_count\": 2", "\"ops\": {\"MatMul\": 1, \"Softmax\": 1}", "\"tensor_count\": 5",
      "\"constant_count\": 2", "\"constant_bytes\": 60", "\"arena_bytes\": ",
      "\"session_bytes\": ", "\"weights_checksum\": \"not verified\"}\n"};
  for (size_t i = 0; i < sizeof json_fields / sizeof json_fields[0]; i++)
    expect_contains("inspect --json", out, json_fields[i]);
  assert_int_equal(out[0], '{');
  free(out);
  free(err);
}

/* Write `bytes` with one change to a new file in the scratch folder. */
static char *write_variant(const char *name, const uint8_t *bytes, size_t size) {
  char *path = thaw_test_tmp_path(name);
  thaw_test_write_file(path, bytes, size);
  return path;
}

static void test_damaged_models(void **state) {
  cli_fixture *fixture = *state;
  size_t size;
  uint8_t *bytes = thaw_test_read_file(fixture->model_path, &size);
  assert_non_null(bytes);

  char *truncated = write_variant("truncated.thaw", bytes, size - 100);
  char *err;
  assert_int_equal(run_cli(NULL, &err, "run", truncated, "--input", "x=random", NULL), 1);
  char expected[4096];
  snprintf(expected, sizeof expected, "thaw run: %s: corrupt file: ", truncated);
  expect_contains("stderr", err, expected);
  free(err);
  assert_int_equal(run_cli(NULL, &err, "inspect", truncated, NULL), 1);
  snprintf(expected, sizeof expected, "thaw inspect: %s: corrupt file: ", truncated);
  expect_contains("stderr", err, expected);
  free(err);
  free(truncated);

  char *not_a_model = write_variant("not_a_model.thaw", (const uint8_t *)"hello, world", 12);
  assert_int_equal(run_cli(NULL, &err, "inspect", not_a_model, NULL), 1);
  expect_contains("stderr", err, "not_a_model.thaw: ");
  free(err);
  free(not_a_model);

  /* A flipped weight byte passes the open (weights are not hashed then) but not --verify. */
  thaw_format_view view;
  thaw_error error;
  if (thaw_format_open(bytes, size, &view, &error) != THAW_OK) fail_msg("%s", error.message);
  bytes[view.weights_offset] ^= 0x40;
  char *flipped = write_variant("flipped_weight.thaw", bytes, size);
  assert_int_equal(run_cli(NULL, &err, "inspect", flipped, NULL), 0);
  free(err);
  char *out;
  assert_int_equal(run_cli(&out, &err, "inspect", flipped, "--verify", NULL), 1);
  expect_contains("stdout", out, "weights checksum mismatch\n");
  expect_contains("stderr", err, "flipped_weight.thaw: checksum mismatch: ");
  free(out);
  free(err);
  free(flipped);
  free(bytes);
}

/* One run of `thaw` on a malformed file must exit 1, print nothing on stdout and print exactly
 * the one line "thaw <command>: <path>: <status>: <message>" on stderr, the message carrying
 * the case's fragment. A single line also means no sanitizer report followed it. */
static void expect_cli_refuses(const thaw_malformed_file *c, const char *path, char **argv) {
  char *out, *err;
  int status = thaw_test_run_command(argv, &out, &err);
  char prefix[4096];
  snprintf(prefix, sizeof prefix, "thaw %s: %s: %s: ", argv[1], path, thaw_status_str(c->status));
  const char *first_newline = strchr(err, '\n');
  bool one_line = first_newline != NULL && first_newline[1] == '\0';
  if (status != 1 || out[0] != '\0' || strncmp(err, prefix, strlen(prefix)) != 0 || !one_line ||
      strstr(err, c->fragment) == NULL) {
    fail_msg("\"%s\": thaw %s exited %d with stdout \"%s\" and stderr \"%s\"; want exit 1, no "
             "stdout, and one stderr line starting \"%s\" and containing \"%s\"",
             c->name, argv[1], status, out, err, prefix, c->fragment);
  }
  free(out);
  free(err);
}

static void test_malformed_files_are_refused(void **state) {
  (void)state;
  static const struct {
    const char *label;
    thaw_malformed_count_fn count;
    thaw_malformed_build_fn build;
  } tables[] = {
      {"format", thaw_malformed_format_count, thaw_malformed_format_build},
      {"truncated", thaw_malformed_truncated_count, thaw_malformed_truncated_build},
      {"runtime", thaw_malformed_runtime_count, thaw_malformed_runtime_build},
  };
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    const size_t count = tables[t].count();
    assert_true(count > 0);
    for (size_t i = 0; i < count; i++) {
      thaw_malformed_file c;
      tables[t].build(i, &c);
      char name[64];
      snprintf(name, sizeof name, "malformed-%s-%02zu.thaw", tables[t].label, i);
      char *path = thaw_test_tmp_path(name);
      thaw_test_write_file(path, c.file.bytes, c.file.size);

      char *inspect[] = {(char *)thaw_test_cli(), "inspect", path, NULL};
      expect_cli_refuses(&c, path, inspect);

      /* Every input of the model the file was made from gets random values, so only the
       * file itself can be what `run` refuses. */
      char specs[THAW_MALFORMED_MAX_INPUTS][256];
      char *run[4 + 2 * THAW_MALFORMED_MAX_INPUTS] = {(char *)thaw_test_cli(), "run", path};
      size_t argc = 3;
      for (uint32_t k = 0; k < c.input_count; k++) {
        snprintf(specs[k], sizeof specs[k], "%s=random", c.input_names[k]);
        run[argc++] = "--input";
        run[argc++] = specs[k];
      }
      run[argc] = NULL;
      expect_cli_refuses(&c, path, run);

      free(path);
      thaw_malformed_file_free(&c);
    }
  }
}

/* Names from the file reach JSON escaped and file names sanitised: a quote and a tab, UTF-8
 * kept, a stray byte replaced, and two names that sanitise alike kept apart. */
static void test_awkward_names(void **state) {
  (void)state;
  static const char *const output_names[3] = {"a/b", "a:b", "out\t\xc3\xa9\xff"};
  static const uint32_t funcs[3] = {THAW_UNARY_RELU, THAW_UNARY_NEG, THAW_UNARY_ABS};
  thaw_writer *writer = thaw_writer_create();
  assert_non_null(writer);
  int64_t shape[2] = {1, 2};
  uint32_t input = thaw_writer_add_tensor(writer, "in \"q\"", THAW_TENSOR_ACTIVATION,
                                          THAW_DTYPE_F32, 2, shape, THAW_LAYOUT_PLAIN, NULL, 0);
  thaw_writer_add_input(writer, input);
  for (int i = 0; i < 3; i++) {
    uint32_t output = thaw_writer_add_tensor(writer, output_names[i], THAW_TENSOR_ACTIVATION,
                                             THAW_DTYPE_F32, 2, shape, THAW_LAYOUT_PLAIN, NULL, 0);
    thaw_unary_attrs attrs = {funcs[i], 0, 0};
    thaw_writer_add_node(writer, THAW_OP_UNARY, output_names[i], &attrs, &input, 1, &output, 1);
    thaw_writer_add_output(writer, output);
  }
  char *model_path = thaw_test_tmp_path("awkward.thaw");
  thaw_error error;
  if (thaw_writer_write_file(writer, model_path, 0, NULL, &error) != THAW_OK)
    fail_msg("%s", error.message);
  thaw_writer_destroy(writer);

  float values[2] = {-1.5f, 2.25f};
  char *input_path = thaw_test_tmp_path("awkward_in.npy");
  assert_int_equal(thaw_npy_write(input_path, THAW_DTYPE_F32, 2, shape, values, &error), THAW_OK);
  char *output_dir = thaw_test_tmp_path("awkward");
  char spec[4096];
  snprintf(spec, sizeof spec, "in \"q\"=%s", input_path);
  char *out, *err;
  int status = run_cli(&out, &err, "run", model_path, "--input", spec, "--output-dir", output_dir,
                       "--json", NULL);
  if (status != 0) fail_msg("exit %d: %s", status, err);
  expect_contains("run --json", out, "{\"name\": \"out\\u0009\xc3\xa9\\ufffd\", ");
  expect_contains("run --json", out, "/awkward/a_b.npy\"}");
  expect_contains("run --json", out, "/awkward/a_b-1.npy\"}");
  expect_contains("run --json", out, "/awkward/out____.npy\"}");

  static const char *const files[3] = {"awkward/a_b.npy", "awkward/a_b-1.npy",
                                       "awkward/out____.npy"};
  const double expected[3][2] = {{0, 2.25}, {1.5, -2.25}, {1.5, 2.25}};
  for (int i = 0; i < 3; i++) {
    char *path = thaw_test_tmp_path(files[i]);
    thaw_npy npy;
    if (thaw_npy_read(path, &npy, &error) != THAW_OK) fail_msg("%s", error.message);
    assert_int_equal(npy.element_count, 2);
    thaw_test_assert_close(files[i], npy.data, expected[i], 2, 0, 0);
    thaw_npy_free(&npy);
    free(path);
  }
  free(out);
  free(err);
  free(output_dir);
  free(input_path);
  free(model_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_json_writes_outputs),
      cmocka_unit_test(test_run_text_summary),
      cmocka_unit_test(test_run_random_inputs),
      cmocka_unit_test(test_run_threads),
      cmocka_unit_test(test_run_refuses_mismatched_inputs),
      cmocka_unit_test(test_run_usage_errors),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_inspect_text_and_json),
      cmocka_unit_test(test_damaged_models),
      cmocka_unit_test(test_malformed_files_are_refused),
      cmocka_unit_test(test_awkward_names),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
