/*
 * What a run costs (runtime/cost.h, `thaw inspect --cost`): the FLOPs, bytes and kernel class
 * of every node of a small model against values worked out by hand, the roofline and its
 * interpolation against hand-computed times, the calibration's validity, the --json schema and
 * the usage errors. How long calibration takes is a figure (printed here and by inspect --cost),
 * not a pass/fail: tests run on shared machines, under sanitizers and under emulation.
 */
#include <math.h>
#include <stdio.h>

#include "runtime/cost.h"
#include "test_runtime_builder.h"

/* image [1,3,8,8] -> conv 3x3 pad 1 (3->4, bias, ReLU) -> depthwise 3x3 pad 1 (4 channels,
 * no bias) -> conv 1x1 (4->8, bias) -> max pool 2x2/2 -> flatten [1,128] (a view)
 * -> MatMul by a packed [128,10] weight with bias (one row: GEMV) -> softmax. */
static test_model_bytes build_counted_model(void) {
  static const float zeros[128 * 10];
  thaw_writer *w = thaw_writer_create();
  const uint32_t x = test_activation(w, "image", THAW_DTYPE_F32, DIMS(1, 3, 8, 8));
  const uint32_t w1 = test_constant(w, "w1", THAW_DTYPE_F32, DIMS(4, 3, 3, 3), zeros);
  const uint32_t b1 = test_constant(w, "b1", THAW_DTYPE_F32, DIMS(4), zeros);
  const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, DIMS(1, 4, 8, 8));
  const uint32_t w2 = test_constant(w, "w2", THAW_DTYPE_F32, DIMS(4, 1, 3, 3), zeros);
  const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, DIMS(1, 4, 8, 8));
  const uint32_t w3 = test_constant(w, "w3", THAW_DTYPE_F32, DIMS(8, 4, 1, 1), zeros);
  const uint32_t b3 = test_constant(w, "b3", THAW_DTYPE_F32, DIMS(8), zeros);
  const uint32_t c = test_activation(w, "c", THAW_DTYPE_F32, DIMS(1, 8, 8, 8));
  const uint32_t d = test_activation(w, "d", THAW_DTYPE_F32, DIMS(1, 8, 4, 4));
  const uint32_t e = test_activation(w, "e", THAW_DTYPE_F32, DIMS(1, 128));
  const uint32_t w4 = test_packed_constant(w, "w4", 128, 10, zeros);
  const uint32_t b4 = test_constant(w, "b4", THAW_DTYPE_F32, DIMS(10), zeros);
  const uint32_t f = test_activation(w, "f", THAW_DTYPE_F32, DIMS(1, 10));
  const uint32_t y = test_activation(w, "probabilities", THAW_DTYPE_F32, DIMS(1, 10));

  const thaw_conv_attrs conv3x3 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, {THAW_UNARY_RELU, 0, 0}};
  const thaw_conv_attrs depthwise = {1, 1, 1, 1, 1, 1, 1, 1, 4, 0, 0, {THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_conv_attrs pointwise = {1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, {THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_pool_attrs pool = {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
                                .dilation_h = 1, .dilation_w = 1};
  const thaw_matmul_attrs fc = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_axis_attrs last_axis = {1};
  test_node(w, THAW_OP_CONV, "conv", &conv3x3, 3, (uint32_t[]){x, w1, b1}, a);
  test_node(w, THAW_OP_CONV, "depthwise", &depthwise, 2, (uint32_t[]){a, w2}, b);
  test_node(w, THAW_OP_CONV, "pointwise", &pointwise, 3, (uint32_t[]){b, w3, b3}, c);
  test_node(w, THAW_OP_MAX_POOL, "pool", &pool, 1, &c, d);
  test_node(w, THAW_OP_RESHAPE, "flatten", NULL, 1, &d, e);
  test_node(w, THAW_OP_MATMUL, "fc", &fc, 3, (uint32_t[]){e, w4, b4}, f);
  test_node(w, THAW_OP_SOFTMAX, "softmax", &last_axis, 1, &f, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

typedef struct expected_node {
  thaw_cost_class kernel_class;
  uint64_t flops, activation_bytes, weight_bytes, written_bytes;
} expected_node;

/* Worked out by hand from the shapes above (FLOPs as runtime/cost.h counts them). */
static const expected_node expected_nodes[] = {
    /* 256 outputs x 27 taps x 2, + 256 bias adds + 256 ReLUs; weights 4*27 + 4 floats. */
    {THAW_COST_CONV, 2 * 256 * 27 + 256 + 256, 3 * 64 * 4, (108 + 4) * 4, 256 * 4},
    /* 256 outputs x 9 taps x 2. */
    {THAW_COST_DEPTHWISE, 2 * 256 * 9, 256 * 4, 36 * 4, 256 * 4},
    /* 512 outputs x 4 taps x 2, + 512 bias adds. */
    {THAW_COST_CONV_1X1, 2 * 512 * 4 + 512, 256 * 4, (32 + 8) * 4, 512 * 4},
    /* 128 outputs x 4 taps. */
    {THAW_COST_POOL, 128 * 4, 512 * 4, 0, 128 * 4},
    {THAW_COST_VIEW, 0, 0, 0, 0},
    /* 10 outputs x 128 x 2, + 10 bias adds; the packed weight is one 16-wide panel of 128
     * rows (16*128 floats) plus 10 bias floats. */
    {THAW_COST_GEMV, 2 * 10 * 128 + 10, 128 * 4, (16 * 128 + 10) * 4, 10 * 4},
    /* 10 elements x 4. */
    {THAW_COST_NORMALIZATION, 40, 40, 0, 40},
};
#define EXPECTED_NODES (sizeof expected_nodes / sizeof expected_nodes[0])
static const uint64_t expected_total_flops = 14336 + 4608 + 4608 + 512 + 0 + 2570 + 40;

static void test_node_facts_match_hand_counts(void **state) {
  (void)state;
  test_model_bytes bytes = build_counted_model();
  thaw_model *model = test_open(&bytes);
  assert_int_equal(model->view.node_count, EXPECTED_NODES);
  uint64_t total = 0;
  for (uint32_t i = 0; i < EXPECTED_NODES; i++) {
    thaw_cost_node facts;
    thaw_cost_node_facts(model, i, &facts);
    const expected_node *e = &expected_nodes[i];
    if (facts.kernel_class != e->kernel_class || facts.flops != e->flops ||
        facts.activation_bytes_read != e->activation_bytes ||
        facts.weight_bytes_read != e->weight_bytes || facts.bytes_written != e->written_bytes) {
      fail_msg("node %u (%s): class %s flops %llu bytes %llu/%llu/%llu, expected %s %llu "
               "%llu/%llu/%llu",
               i, model->nodes[i].name, thaw_cost_class_name(facts.kernel_class),
               (unsigned long long)facts.flops, (unsigned long long)facts.activation_bytes_read,
               (unsigned long long)facts.weight_bytes_read,
               (unsigned long long)facts.bytes_written, thaw_cost_class_name(e->kernel_class),
               (unsigned long long)e->flops, (unsigned long long)e->activation_bytes,
               (unsigned long long)e->weight_bytes, (unsigned long long)e->written_bytes);
    }
    total += facts.flops;
  }
  assert_int_equal(total, expected_total_flops);
  thaw_cost_node conv;
  thaw_cost_node_facts(model, 0, &conv);
  assert_int_equal(conv.gemm_m, 4);
  assert_int_equal(conv.gemm_n, 64);
  assert_int_equal(conv.gemm_k, 27);
  assert_int_equal(conv.activation_elements, 0); /* ReLU runs as a clamp in the kernel */
  thaw_model_close(model);
  free(bytes.bytes);
}

/* Rates chosen so the predicted times can be worked out by hand. */
static thaw_cost_rates round_rates(void) {
  thaw_cost_rates rates = {.node_seconds = 1e-6};
  for (int r = 0; r < THAW_COST_GRID_RATES; r++)
    for (int m = 0; m < THAW_COST_GRID_POINTS; m++)
      for (int n = 0; n < THAW_COST_GRID_POINTS; n++)
        for (int k = 0; k < THAW_COST_GRID_POINTS; k++) rates.grid[r][m][n][k] = 1e9 * pow(4, m);
  for (int s = 0; s < THAW_COST_SCALAR_RATES; s++) rates.scalar[s] = 1e10;
  for (int u = 0; u <= THAW_KERNEL_LOG; u++) rates.unary[u] = 1e9;
  return rates;
}

static void test_prediction_is_the_roofline(void **state) {
  (void)state;
  const thaw_cost_rates rates = round_rates();
  /* m = 16 lies halfway (in log) between the grid's 8 and 32: rate sqrt(1e9 * 4e9) = 2e9. */
  thaw_cost_node gemm = {.kernel_class = THAW_COST_GEMM, .rate = THAW_RATE_GEMM_PACKED,
                         .flops = 4000000, .activation_bytes_read = 1000, .gemm_m = 16,
                         .gemm_n = 256, .gemm_k = 144, .gemm_count = 1};
  assert_float_equal(thaw_cost_predict_seconds(&rates, &gemm, 1), 4e6 / 2e9 + 1e-6, 1e-12);
  /* Beyond the grid the last point's rate holds: m = 1000 runs at 16e9. */
  gemm.gemm_m = 1000;
  assert_float_equal(thaw_cost_predict_seconds(&rates, &gemm, 1), 4e6 / 16e9 + 1e-6, 1e-12);
  /* Memory-bound: 1e7 bytes at 1e10 bytes/s outweigh 1000 FLOPs. */
  gemm.flops = 1000;
  gemm.activation_bytes_read = 10000000;
  assert_float_equal(thaw_cost_predict_seconds(&rates, &gemm, 1), 1e7 / 1e10 + 1e-6, 1e-12);
  /* A byte-rated class counts its bytes at its own rate; a separate activation pass adds. */
  const thaw_cost_node copy = {.kernel_class = THAW_COST_DATA_MOVEMENT,
                               .rate = THAW_RATE_STRIDED_COPY, .activation_bytes_read = 4000,
                               .bytes_written = 4000, .unary = THAW_KERNEL_GELU,
                               .activation_elements = 1000};
  assert_float_equal(thaw_cost_predict_seconds(&rates, &copy, 1), 8000 / 1e10 + 1000 / 1e9 + 1e-6,
                     1e-12);
  const thaw_cost_node view = {.kernel_class = THAW_COST_VIEW, .rate = THAW_RATE_NONE};
  assert_float_equal(thaw_cost_predict_seconds(&rates, &view, 1), 1e-6, 1e-12);
}

static void test_thread_speedup(void **state) {
  (void)state;
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_CONV, 1), 1.0, 0);
  const double two = thaw_cost_thread_speedup(THAW_COST_GEMM, 2);
  assert_true(two == 1.0 || two == 2.0); /* min(2, cores) */
  assert_true(thaw_cost_thread_speedup(THAW_COST_GEMM, 64) >= two);
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_ELEMENTWISE, 2), two, 0);
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_INT8, 2), two, 0);
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_CONV_TRANSPOSE, 2), two, 0);
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_RECURRENT, 8), 1.0, 0);
  assert_float_equal(thaw_cost_thread_speedup(THAW_COST_DATA_MOVEMENT, 8), 1.0, 0);
}

static void test_calibration_rates(void **state) {
  (void)state;
  thaw_cost_rates rates;
  thaw_error error = {0};
  assert_int_equal(thaw_cost_calibrate(thaw_kernels_get(), &rates, &error), THAW_OK);
  printf("calibration: %.3f s of CPU\n", rates.calibration_seconds);
  assert_true(rates.calibration_seconds > 0);
  assert_string_equal(rates.isa, thaw_kernels_get()->isa);
  for (int r = 0; r < THAW_COST_GRID_RATES; r++)
    for (int m = 0; m < THAW_COST_GRID_POINTS; m++)
      for (int n = 0; n < THAW_COST_GRID_POINTS; n++)
        for (int k = 0; k < THAW_COST_GRID_POINTS; k++)
          assert_true(isfinite(rates.grid[r][m][n][k]) && rates.grid[r][m][n][k] > 0);
  for (int d = 0; d < THAW_COST_DEPTHWISE_RATES; d++)
    for (int w = 0; w < THAW_COST_GRID_POINTS; w++)
      assert_true(isfinite(rates.depthwise[d][w]) && rates.depthwise[d][w] > 0);
  for (int s = 0; s < THAW_COST_SCALAR_RATES; s++)
    assert_true(isfinite(rates.scalar[s]) && rates.scalar[s] > 0);
  for (int u = 0; u <= THAW_KERNEL_LOG; u++)
    assert_true(isfinite(rates.unary[u]) && rates.unary[u] > 0);
  assert_true(rates.node_seconds > 0 && rates.node_seconds < 1e-3);
  /* No machine does a large GEMM slower than a tiny one per FLOP by a wide margin. */
  const double large = rates.grid[THAW_RATE_GEMM_PACKED][2][2][2];
  const double tiny = rates.grid[THAW_RATE_GEMM_PACKED][0][0][0];
  assert_true(large > 0.5 * tiny);
  assert_int_equal(thaw_cost_calibrate(NULL, &rates, &error), THAW_STATUS_INVALID_ARGUMENT);
}

/* ---- The CLI ---- */

static char *write_counted_model(void) {
  test_model_bytes bytes = build_counted_model();
  char *path = thaw_test_tmp_path("counted.thaw");
  thaw_test_write_file(path, bytes.bytes, bytes.size);
  free(bytes.bytes);
  return path;
}

static int run_thaw(char **out, char **err, char *const *arguments) {
  char *argv[16] = {(char *)thaw_test_cli()};
  size_t count = 1;
  while (arguments[count - 1] != NULL && count < 15) {
    argv[count] = arguments[count - 1];
    count++;
  }
  argv[count] = NULL;
  return thaw_test_run_command(argv, out, err);
}

static void expect_contains(const char *what, const char *text, const char *fragment) {
  if (strstr(text, fragment) == NULL) fail_msg("%s: no \"%s\" in:\n%s", what, fragment, text);
}

static void test_inspect_cost_json_schema(void **state) {
  (void)state;
  char *path = write_counted_model();
  char *out = NULL, *err = NULL;
  assert_int_equal(run_thaw(&out, &err, (char *[]){"inspect", path, "--cost", "--json", NULL}), 0);
  static const char *const fields[] = {
      ", \"cost\": {\"isa\": \"", "\"threads\": 1, \"threads_used\": 1, \"calibration_ms\": ",
      "\"nodes\": [{\"name\": \"conv\", \"op\": \"Conv\", \"class\": \"conv\", "
      "\"shape\": \"3x3/s1 3->4\", \"flops\": 14336, \"activation_bytes_read\": 768, "
      "\"weight_bytes_read\": 448, \"bytes_written\": 1024, \"predicted_ms\": ",
      "{\"name\": \"flatten\", \"op\": \"Reshape\", \"class\": \"view\"",
      "{\"name\": \"fc\", \"op\": \"MatMul\", \"class\": \"gemv\", \"shape\": \"1x10x128\"",
      "\"classes\": {\"gemv\": {\"nodes\": 1, \"flops\": 2570, \"predicted_ms\": ",
      "\"depthwise\": {\"nodes\": 1, \"flops\": 4608, ",
      "\"total\": {\"flops\": 26674, \"activation_bytes_read\": 5416, \"weight_bytes_read\": "
      "8984, \"bytes_written\": 4688, \"arena_bytes\": ",
      "\"weight_bytes\": ", "\"session_bytes\": ", "\"predicted_ms\": ",
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    expect_contains("inspect --cost --json", out, fields[i]);
  const size_t length = strlen(out);
  assert_true(length > 3 && strcmp(out + length - 3, "}}\n") == 0);
  free(out);
  free(err);

  assert_int_equal(
      run_thaw(&out, &err, (char *[]){"inspect", path, "--cost", "--threads", "4", NULL}), 0);
  /* 27 kFLOP: a session runs it on one thread, and the predictions say so. */
  static const char *const text[] = {"cost per run (", "4 threads, run on 1", "by kernel class",
                                     "  depthwise ", "FLOPs            26674",
                                     "predicted run    "};
  for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
    expect_contains("inspect --cost", out, text[i]);
  free(out);
  free(err);
  free(path);
}

static void test_run_json_reports_what_cost_compares(void **state) {
  (void)state;
  char *path = write_counted_model();
  char *out = NULL, *err = NULL;
  assert_int_equal(run_thaw(&out, &err, (char *[]){"run", path, "--input", "image=random",
                                                   "--repeat", "3", "--json", NULL}),
                   0);
  expect_contains("run --json", out, "\"median_run_cpu_ms\": ");
  expect_contains("run --json", out, "\"session_bytes\": ");
  assert_null(strstr(out, "\"median_run_cpu_ms\": null"));
  free(out);
  free(err);
  free(path);
}

static void test_usage_errors(void **state) {
  (void)state;
  char *path = write_counted_model();
  static const struct {
    const char *arguments[6];
    const char *message;
  } cases[] = {
      {{"inspect", "MODEL", "--threads", "2", NULL}, "--threads applies to --cost only"},
      {{"inspect", "MODEL", "--cost", "--threads", "0", NULL}, "--threads"},
      {{"inspect", "MODEL", "--cost", "--threads", "many", NULL}, "--threads"},
      {{"inspect", "MODEL", "--cost", "--threads", NULL}, "--threads"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *arguments[8] = {NULL};
    for (size_t a = 0; cases[i].arguments[a] != NULL; a++)
      arguments[a] = strcmp(cases[i].arguments[a], "MODEL") == 0 ? path
                                                                 : (char *)cases[i].arguments[a];
    char *out = NULL, *err = NULL;
    assert_int_equal(run_thaw(&out, &err, arguments), 2);
    expect_contains("usage error", err, cases[i].message);
    assert_string_equal(out, "");
    free(out);
    free(err);
  }
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_facts_match_hand_counts),
      cmocka_unit_test(test_prediction_is_the_roofline),
      cmocka_unit_test(test_thread_speedup),
      cmocka_unit_test(test_calibration_rates),
      cmocka_unit_test(test_inspect_cost_json_schema),
      cmocka_unit_test(test_run_json_reports_what_cost_compares),
      cmocka_unit_test(test_usage_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
