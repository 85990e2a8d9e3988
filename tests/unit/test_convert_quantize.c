/* thaw convert --quantize int8 on small ONNX graphs built here: the int8 model is run and
 * compared with a naive double-precision f32 reference within the error its quantization steps
 * allow, and --quantize-exclude keeps a node in f32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_convert_builder.h"
#include "test_support.h"

/* The largest error of sum_k a_k * w_k when a is rounded to steps of a_step and w to w_step
 * (each off by at most half a step). */
static double quantization_bound(size_t k, const double *a, const double *w, double a_step,
                                 double w_step) {
  double bound = 0.0;
  for (size_t t = 0; t < k; t++)
    bound += fabs(a[t]) * w_step / 2 + fabs(w[t]) * a_step / 2 + a_step * w_step / 4;
  return bound;
}

/* The step of a row quantized dynamically: its range, 0 included, over 255 levels. */
static double row_step(size_t k, const double *row) {
  double lo = 0.0, hi = 0.0;
  for (size_t t = 0; t < k; t++) {
    lo = fmin(lo, row[t]);
    hi = fmax(hi, row[t]);
  }
  return (hi - lo) / 255.0;
}

/* The step of a channel quantized symmetrically: max |w| over 127 levels each side. */
static double channel_step(size_t k, const double *channel) {
  double max = 0.0;
  for (size_t t = 0; t < k; t++) max = fmax(max, fabs(channel[t]));
  return max / 127.0;
}

enum { CONV_C = 3, CONV_M = 8, CONV_H = 9, CONV_W = 7, CONV_K = CONV_C * 9 };

/* x [2,3,9,7] -> Conv 3x3 pads 1 (8 channels, bias) -> Relu. */
static void build_conv(builder *b, float *w, float *bias) {
  static int64_t x_dims[4] = {2, CONV_C, CONV_H, CONV_W}, w_dims[4] = {CONV_M, CONV_C, 3, 3};
  static int64_t b_dims[1] = {CONV_M}, pads[4] = {1, 1, 1, 1};
  builder_init(b, 13);
  add_input(b, "x", 4, x_dims);
  add_initializer(b, "w", 4, w_dims, w, CONV_M * CONV_K);
  add_initializer(b, "b", 1, b_dims, bias, CONV_M);
  Onnx__NodeProto *conv = add_node(b, "Conv", "x", "w", "b", "conv");
  add_ints_attribute(b, conv, "pads", pads, 4);
  add_node(b, "Relu", "conv", NULL, NULL, "y");
  add_output(b, "y");
}

static void test_quantized_conv_within_quantization_error(void **state) {
  (void)state;
  enum { X_COUNT = 2 * CONV_C * CONV_H * CONV_W, Y_COUNT = 2 * CONV_M * CONV_H * CONV_W };
  thaw_test_rng rng = {7};
  float w[CONV_M * CONV_K], bias[CONV_M], x[X_COUNT], y[Y_COUNT];
  thaw_test_fill_uniform(&rng, w, CONV_M * CONV_K, -0.5f, 0.5f);
  thaw_test_fill_uniform(&rng, bias, CONV_M, -0.2f, 0.2f);
  thaw_test_fill_uniform(&rng, x, X_COUNT, -1.0f, 2.0f);
  builder b;
  build_conv(&b, w, bias);
  const thaw_convert_options options = {.quantize_int8 = true};
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, &options, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.quantized_ops, 1);
  assert_int_equal(report.quantized_f32_bytes, CONV_M * CONV_K * sizeof(float));
  /* 16 padded channels of (28 k + 4 scale + 4 sum) bytes. */
  assert_int_equal(report.quantized_int8_bytes, 16 * (28 + 8));
  thaw_convert_report_free(&report);
  run_model(bytes, size, x, X_COUNT, y, Y_COUNT);
  free(bytes);

  size_t checked = 0, differing = 0;
  for (size_t n = 0; n < 2; n++)
    for (size_t m = 0; m < CONV_M; m++)
      for (size_t oh = 0; oh < CONV_H; oh++)
        for (size_t ow = 0; ow < CONV_W; ow++) {
          double patch[CONV_K], weights[CONV_K], sum = bias[m];
          for (size_t c = 0; c < CONV_C; c++)
            for (size_t kh = 0; kh < 3; kh++)
              for (size_t kw = 0; kw < 3; kw++) {
                const size_t t = (c * 3 + kh) * 3 + kw;
                const ptrdiff_t ih = (ptrdiff_t)(oh + kh) - 1, iw = (ptrdiff_t)(ow + kw) - 1;
                const bool inside = ih >= 0 && iw >= 0 && ih < CONV_H && iw < CONV_W;
                patch[t] = inside ? x[((n * CONV_C + c) * CONV_H + (size_t)ih) * CONV_W + (size_t)iw]
                                  : 0.0;
                weights[t] = w[m * CONV_K + t];
                sum += patch[t] * weights[t];
              }
          const double bound = quantization_bound(CONV_K, patch, weights, row_step(CONV_K, patch),
                                                  channel_step(CONV_K, weights));
          const double expected = sum > 0 ? sum : 0;
          const double actual = y[((n * CONV_M + m) * CONV_H + oh) * CONV_W + ow];
          if (fabs(actual - expected) > bound + 1e-5)
            fail_msg("y[%zu,%zu,%zu,%zu] = %.6f, f32 %.6f, beyond the quantization bound %.6f", n,
                     m, oh, ow, actual, expected, bound);
          differing += actual != (float)expected;
          checked++;
        }
  assert_int_equal(checked, Y_COUNT);
  assert_true(differing > Y_COUNT / 2); /* the int8 path did run */
}

/* x [5,37] -> MatMul w [37,19] -> Add b: the Gemm shape of a fully connected layer. */
static void test_quantized_matmul_within_quantization_error(void **state) {
  (void)state;
  enum { M = 5, K = 37, N = 19 };
  static int64_t x_dims[2] = {M, K}, w_dims[2] = {K, N}, b_dims[1] = {N};
  thaw_test_rng rng = {11};
  float x[M * K], w[K * N], bias[N], y[M * N];
  thaw_test_fill_uniform(&rng, x, M * K, -3.0f, 1.0f);
  thaw_test_fill_uniform(&rng, w, K * N, -0.1f, 0.3f);
  thaw_test_fill_uniform(&rng, bias, N, -1.0f, 1.0f);
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_initializer(&b, "w", 2, w_dims, w, K * N);
  add_initializer(&b, "b", 1, b_dims, bias, N);
  add_node(&b, "MatMul", "x", "w", NULL, "product");
  add_node(&b, "Add", "product", "b", NULL, "y");
  add_output(&b, "y");
  const thaw_convert_options options = {.quantize_int8 = true};
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, &options, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.quantized_ops, 1);
  thaw_convert_report_free(&report);
  run_model(bytes, size, x, M * K, y, M * N);
  free(bytes);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double row[K], column[K], sum = bias[j];
      for (size_t t = 0; t < K; t++) {
        row[t] = x[i * K + t];
        column[t] = w[t * N + j];
        sum += row[t] * column[t];
      }
      const double bound =
          quantization_bound(K, row, column, row_step(K, row), channel_step(K, column));
      if (fabs(y[i * N + j] - sum) > bound + 1e-5)
        fail_msg("y[%zu,%zu] = %.6f, f32 %.6f, beyond the quantization bound %.6f", i, j,
                 (double)y[i * N + j], sum, bound);
    }
}

/* --quantize-exclude conv: nothing is quantized and the model is the f32 one. */
static void test_excluded_node_stays_f32(void **state) {
  (void)state;
  enum { X_COUNT = 2 * CONV_C * CONV_H * CONV_W, Y_COUNT = 2 * CONV_M * CONV_H * CONV_W };
  thaw_test_rng rng = {13};
  float w[CONV_M * CONV_K], bias[CONV_M], x[X_COUNT], y_f32[Y_COUNT], y_excluded[Y_COUNT];
  thaw_test_fill_uniform(&rng, w, CONV_M * CONV_K, -0.5f, 0.5f);
  thaw_test_fill_uniform(&rng, bias, CONV_M, -0.2f, 0.2f);
  thaw_test_fill_uniform(&rng, x, X_COUNT, -1.0f, 2.0f);
  const char *excluded[] = {"conv"};
  const thaw_convert_options f32 = {0};
  const thaw_convert_options quantized = {
      .quantize_int8 = true, .quantize_exclude = excluded, .quantize_exclude_count = 1};
  float *outputs[2] = {y_f32, y_excluded};
  const thaw_convert_options *option_sets[2] = {&f32, &quantized};
  for (size_t run = 0; run < 2; run++) {
    builder b;
    build_conv(&b, w, bias);
    uint8_t *bytes;
    uint64_t size;
    thaw_convert_report report;
    thaw_error error;
    assert_int_equal(convert(&b, option_sets[run], &bytes, &size, &report, &error), THAW_OK);
    assert_int_equal(report.quantized_ops, 0);
    thaw_convert_report_free(&report);
    run_model(bytes, size, x, X_COUNT, outputs[run], Y_COUNT);
    free(bytes);
  }
  assert_memory_equal(y_f32, y_excluded, sizeof y_f32);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantized_conv_within_quantization_error),
      cmocka_unit_test(test_quantized_matmul_within_quantization_error),
      cmocka_unit_test(test_excluded_node_stays_f32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
