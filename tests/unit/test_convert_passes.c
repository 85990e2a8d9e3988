/* The converter's passes on small ONNX graphs built here with the protobuf-c structs: each
 * converted model is run and compared with a naive double-precision reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "test_convert_builder.h"

/* ---- Tests ---- */

/* 1x1 Conv (2 -> 3 channels, bias) then BatchNormalization: one CONV op with folded weights. */
static void test_batch_norm_folds_into_conv(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[4] = {1, 2, 2, 2}, w_dims[4] = {3, 2, 1, 1}, c_dims[1] = {3};
  float w[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f}, bias[3] = {0.1f, -0.2f, 0.3f};
  float gamma[3] = {1.5f, 0.5f, -2.0f}, beta[3] = {0.0f, 1.0f, -1.0f};
  float mean[3] = {0.2f, -0.4f, 1.0f}, var[3] = {1.0f, 4.0f, 0.25f};
  add_input(&b, "x", 4, x_dims);
  add_initializer(&b, "w", 4, w_dims, w, 6);
  add_initializer(&b, "b", 1, c_dims, bias, 3);
  add_initializer(&b, "gamma", 1, c_dims, gamma, 3);
  add_initializer(&b, "beta", 1, c_dims, beta, 3);
  add_initializer(&b, "mean", 1, c_dims, mean, 3);
  add_initializer(&b, "var", 1, c_dims, var, 3);
  add_node(&b, "Conv", "x", "w", "b", "conv");
  add_batch_norm(&b, "conv", "gamma", "beta", "mean", "var", "y");
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.ops_out, 1);
  assert_int_equal(report.counts[THAW_CONVERT_FOLDED_BATCH_NORM], 1);
  float x[8], y[12];
  thaw_test_rng rng = {42};
  thaw_test_fill_uniform(&rng, x, 8, -1.0f, 1.0f);
  run_model(bytes, size, x, 8, y, 12);
  double expected[12];
  for (int m = 0; m < 3; ++m)
    for (int p = 0; p < 4; ++p) {
      double conv = bias[m] + (double)w[m * 2] * x[p] + (double)w[m * 2 + 1] * x[4 + p];
      expected[m * 4 + p] = (conv - mean[m]) / sqrt((double)var[m] + 1e-5) * gamma[m] + beta[m];
    }
  thaw_test_assert_close("conv+bn", y, expected, 12, 1e-5, 1e-5);
  free(bytes);
  thaw_convert_report_free(&report);
}

/* A grouped 2x upsampling ConvTranspose (4 -> 6 channels in 2 groups), then its bias as an
 * Add, BatchNormalization and Relu, as paddle2onnx writes a detection head: one CONV_TRANSPOSE
 * op with the bias and the norm folded into its weights and the Relu fused. */
static void test_batch_norm_and_relu_fold_into_conv_transpose(void **state) {
  (void)state;
  enum { C = 4, M = 6, GROUPS = 2, H = 2, W = 3, K = 2, OH = H * K, OW = W * K };
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[4] = {1, C, H, W}, w_dims[4] = {C, M / GROUPS, K, K}, c_dims[1] = {M};
  int64_t bias_dims[3] = {M, 1, 1};
  float w[C * (M / GROUPS) * K * K], bias[M], gamma[M], beta[M], mean[M], var[M];
  thaw_test_rng rng = {7};
  thaw_test_fill_uniform(&rng, w, C * (M / GROUPS) * K * K, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, bias, M, -0.5f, 0.5f);
  thaw_test_fill_uniform(&rng, gamma, M, -2.0f, 2.0f);
  thaw_test_fill_uniform(&rng, beta, M, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, mean, M, -0.5f, 0.5f);
  thaw_test_fill_uniform(&rng, var, M, 0.25f, 4.0f);
  add_input(&b, "x", 4, x_dims);
  add_initializer(&b, "w", 4, w_dims, w, C * (M / GROUPS) * K * K);
  add_initializer(&b, "b", 3, bias_dims, bias, M);
  add_initializer(&b, "gamma", 1, c_dims, gamma, M);
  add_initializer(&b, "beta", 1, c_dims, beta, M);
  add_initializer(&b, "mean", 1, c_dims, mean, M);
  add_initializer(&b, "var", 1, c_dims, var, M);
  Onnx__NodeProto *up = add_node(&b, "ConvTranspose", "x", "w", NULL, "up");
  static int64_t strides[2] = {K, K};
  add_ints_attribute(&b, up, "strides", strides, 2);
  add_int_attribute(&b, up, "group", GROUPS);
  add_node(&b, "Add", "up", "b", NULL, "biased");
  add_batch_norm(&b, "biased", "gamma", "beta", "mean", "var", "normed");
  add_node(&b, "Relu", "normed", NULL, NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.ops_out, 1);
  assert_int_equal(report.counts[THAW_CONVERT_FUSED_BIAS], 1);
  assert_int_equal(report.counts[THAW_CONVERT_FOLDED_BATCH_NORM], 1);
  assert_int_equal(report.counts[THAW_CONVERT_FUSED_ACTIVATION], 1);
  float x[C * H * W], y[M * OH * OW];
  thaw_test_fill_uniform(&rng, x, C * H * W, -1.0f, 1.0f);
  run_model(bytes, size, x, C * H * W, y, M * OH * OW);
  /* Stride == kernel: output (oh, ow) takes input (oh / K, ow / K) through tap (oh % K, ow % K). */
  double expected[M * OH * OW];
  for (int m = 0; m < M; ++m) {
    const int group = m / (M / GROUPS), group_m = m % (M / GROUPS);
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow) {
        double sum = bias[m];
        for (int c = group * (C / GROUPS); c < (group + 1) * (C / GROUPS); ++c)
          sum += (double)x[(c * H + oh / K) * W + ow / K] *
                 w[((c * (M / GROUPS) + group_m) * K + oh % K) * K + ow % K];
        const double normed = (sum - mean[m]) / sqrt((double)var[m] + 1e-5) * gamma[m] + beta[m];
        expected[(m * OH + oh) * OW + ow] = normed > 0 ? normed : 0;
      }
  }
  thaw_test_assert_close("conv transpose+bn+relu", y, expected, M * OH * OW, 1e-5, 1e-5);
  free(bytes);
  thaw_convert_report_free(&report);
}

/* PyTorch's decomposed GELU after a MatMul whose weight is a Constant node. */
static void test_gelu_pattern_and_constant_weight(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[2] = {1, 3}, w_dims[2] = {3, 2};
  float w[6] = {1.0f, -0.5f, 0.25f, 2.0f, -1.5f, 0.75f};
  float sqrt2 = 1.41421356f, one = 1.0f, half = 0.5f;
  add_input(&b, "x", 2, x_dims);
  Onnx__TensorProto *weight = make_tensor(&b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2,
                                          w_dims, w, sizeof(w));
  add_tensor_attribute(&b, add_node(&b, "Constant", NULL, NULL, NULL, "w"), weight);
  add_initializer(&b, "sqrt2", 0, NULL, &sqrt2, 1);
  add_initializer(&b, "one", 0, NULL, &one, 1);
  add_initializer(&b, "half", 0, NULL, &half, 1);
  add_node(&b, "MatMul", "x", "w", NULL, "h");
  add_node(&b, "Div", "h", "sqrt2", NULL, "scaled");
  add_node(&b, "Erf", "scaled", NULL, NULL, "erf");
  add_node(&b, "Add", "erf", "one", NULL, "gate");
  add_node(&b, "Mul", "gate", "h", NULL, "gated");
  add_node(&b, "Mul", "gated", "half", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.counts[THAW_CONVERT_GELU_PATTERN], 1);
  assert_int_equal(report.counts[THAW_CONVERT_FUSED_ACTIVATION], 1);
  assert_int_equal(report.ops_out, 1);
  float x[3] = {0.5f, -1.0f, 2.0f}, y[2];
  run_model(bytes, size, x, 3, y, 2);
  double expected[2];
  for (int n = 0; n < 2; ++n) {
    double h = 0;
    for (int k = 0; k < 3; ++k) h += (double)x[k] * w[k * 2 + n];
    expected[n] = 0.5 * h * (1.0 + erf(h / sqrt(2.0)));
  }
  thaw_test_assert_close("gelu", y, expected, 2, 1e-5, 1e-6);
  free(bytes);
  thaw_convert_report_free(&report);
}

/* x -> ReduceMean, Sub, Pow 2, ReduceMean, Add epsilon, Sqrt, Div -> y over x's last axis:
 * LayerNorm spelt out, without the affine tail. */
static void add_decomposed_layer_norm(builder *b, int64_t row) {
  static float two = 2.0f, epsilon = 1e-5f;
  static int64_t last_axis[1] = {-1};
  int64_t x_dims[2] = {1, row};
  builder_init(b, 13);
  add_input(b, "x", 2, x_dims);
  add_initializer(b, "two", 0, NULL, &two, 1);
  add_initializer(b, "epsilon", 0, NULL, &epsilon, 1);
  add_ints_attribute(b, add_node(b, "ReduceMean", "x", NULL, NULL, "mean"), "axes", last_axis, 1);
  add_node(b, "Sub", "x", "mean", NULL, "centred");
  add_node(b, "Pow", "centred", "two", NULL, "square");
  add_ints_attribute(b, add_node(b, "ReduceMean", "square", NULL, NULL, "variance"), "axes",
                     last_axis, 1);
  add_node(b, "Add", "variance", "epsilon", NULL, "shifted");
  add_node(b, "Sqrt", "shifted", NULL, NULL, "deviation");
  add_node(b, "Div", "centred", "deviation", NULL, "y");
  add_output(b, "y");
}

/* The pattern becomes one LAYER_NORM with a scale of ones, which the converter computes: for a
 * row of 2^27 floats (512 MiB of ones, over its limit on computed constants) the ops stay
 * apart instead. */
static void test_layer_norm_pattern_and_its_size_limit(void **state) {
  (void)state;
  builder b;
  add_decomposed_layer_norm(&b, 5);
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.counts[THAW_CONVERT_LAYER_NORM_PATTERN], 1);
  assert_int_equal(report.ops_out, 1);
  float x[5] = {0.5f, -1.0f, 2.0f, 3.5f, -0.25f}, y[5];
  run_model(bytes, size, x, 5, y, 5);
  double mean = 0, variance = 0;
  for (int i = 0; i < 5; ++i) mean += x[i] / 5.0;
  for (int i = 0; i < 5; ++i) variance += (x[i] - mean) * (x[i] - mean) / 5.0;
  double expected[5];
  for (int i = 0; i < 5; ++i) expected[i] = (x[i] - mean) / sqrt(variance + 1e-5);
  thaw_test_assert_close("layer norm", y, expected, 5, 1e-5, 1e-6);
  free(bytes);
  thaw_convert_report_free(&report);

  add_decomposed_layer_norm(&b, (int64_t)1 << 27);
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.counts[THAW_CONVERT_LAYER_NORM_PATTERN], 0);
  assert_int_equal(report.ops_out, 7);
  free(bytes);
  thaw_convert_report_free(&report);
}

/* Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) folds to a single RESHAPE. */
static void test_shape_chain_folds(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[3] = {2, 3, 4}, scalar_dims[1] = {1};
  int64_t zero = 0, minus_one[1] = {-1}, axes[1] = {0};
  add_input(&b, "x", 3, x_dims);
  b.tensor_list[b.graph.n_initializer++] =
      make_tensor(&b, "zero", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 0, NULL, &zero, 8);
  b.tensor_list[b.graph.n_initializer++] =
      make_tensor(&b, "minus_one", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, scalar_dims, minus_one, 8);
  b.tensor_list[b.graph.n_initializer++] =
      make_tensor(&b, "axes", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, scalar_dims, axes, 8);
  add_node(&b, "Shape", "x", NULL, NULL, "shape");
  add_node(&b, "Gather", "shape", "zero", NULL, "batch");
  add_node(&b, "Unsqueeze", "batch", "axes", NULL, "batch1");
  Onnx__NodeProto *concat = add_node(&b, "Concat", "batch1", "minus_one", NULL, "target");
  add_int_attribute(&b, concat, "axis", 0);
  add_node(&b, "Reshape", "x", "target", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.counts[THAW_CONVERT_FOLDED_CONSTANT], 4);
  assert_int_equal(report.ops_out, 1);
  thaw_model *model;
  assert_int_equal(thaw_model_open_memory(bytes, size, 0, &model, &error), THAW_OK);
  thaw_tensor output;
  assert_int_equal(thaw_model_output(model, 0, &output), THAW_OK);
  assert_int_equal(output.rank, 2);
  assert_int_equal(output.shape[0], 2);
  assert_int_equal(output.shape[1], 12);
  thaw_model_close(model);
  free(bytes);
  thaw_convert_report_free(&report);
}

/* Convert `b`, which must be refused with `count` nodes listed, into `report`. */
static void convert_refused(builder *b, size_t count, thaw_convert_report *report) {
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(b, NULL, &bytes, &size, report, &error), THAW_STATUS_UNSUPPORTED);
  assert_null(bytes);
  assert_int_equal(report->unsupported_count, count);
}

static void test_every_unsupported_node_is_listed(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[2] = {1, 4};
  add_input(&b, "x", 2, x_dims);
  add_node(&b, "NonMaxSuppression", "x", NULL, NULL, "a");
  add_node(&b, "Relu", "a", NULL, NULL, "b");
  add_node(&b, "TopK", "b", NULL, NULL, "y");
  add_output(&b, "y");
  thaw_convert_report report;
  convert_refused(&b, 2, &report);
  assert_string_equal(report.unsupported[0].op_type, "NonMaxSuppression");
  assert_string_equal(report.unsupported[1].op_type, "TopK");
  assert_string_equal(report.unsupported[1].reason, "unsupported op");
  thaw_convert_report_free(&report);
}

/* Reshape(x, Cast(a + b)) with a + b, of constants, too large to fold: the Add's output was
 * bound before its fold was refused, and the Cast and the Reshape must be skipped as readers
 * of a refused node, not lowered (the Reshape would then be listed for a shape "computed at
 * run time"). */
static void test_a_refused_fold_skips_its_readers(void **state) {
  (void)state;
  enum { WIDTH = 1 << 14 };
  static float ones[WIDTH];
  for (size_t i = 0; i < WIDTH; ++i) ones[i] = 1.0f;
  int64_t x_dims[2] = {1, 4}, row_dims[1] = {WIDTH}, column_dims[2] = {WIDTH, 1};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_initializer(&b, "row", 1, row_dims, ones, WIDTH);
  add_initializer(&b, "column", 2, column_dims, ones, WIDTH);
  add_node(&b, "Add", "row", "column", NULL, "grid");
  Onnx__NodeProto *cast = add_node(&b, "Cast", "grid", NULL, NULL, "shape");
  add_int_attribute(&b, cast, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
  add_node(&b, "Reshape", "x", "shape", NULL, "y");
  add_output(&b, "y");
  thaw_convert_report report;
  convert_refused(&b, 1, &report);
  assert_string_equal(report.unsupported[0].node_name, "grid");
  assert_non_null(strstr(report.unsupported[0].reason, "would compute a constant of 1073741824"));
  thaw_convert_report_free(&report);
}

static void test_dynamic_dims_need_input_shape(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[2] = {-1, 4};
  add_input(&b, "x", 2, x_dims);
  add_node(&b, "Relu", "x", NULL, NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "x=batch,4"));
  assert_non_null(strstr(error.message, "--input-shape"));
  char text[] = "x=3,4";
  thaw_input_shape shape;
  assert_int_equal(thaw_convert_parse_input_shape(text, &shape, &error), THAW_OK);
  thaw_convert_options options = {.input_shapes = &shape, .input_shape_count = 1};
  assert_int_equal(convert(&b, &options, &bytes, &size, NULL, &error), THAW_OK);
  float x[12], y[12];
  double expected[12];
  for (int i = 0; i < 12; ++i) {
    x[i] = (float)(i - 6);
    expected[i] = x[i] > 0 ? x[i] : 0;
  }
  run_model(bytes, size, x, 12, y, 12);
  thaw_test_assert_close("relu", y, expected, 12, 0, 0);
  free(bytes);
}

static void test_opset_outside_range_refused(void **state) {
  (void)state;
  for (int64_t opset = 8; opset <= 18; opset += 10) {
    builder b;
    builder_init(&b, opset);
    int64_t x_dims[1] = {4};
    add_input(&b, "x", 1, x_dims);
    add_node(&b, "Relu", "x", NULL, NULL, "y");
    add_output(&b, "y");
    uint8_t *bytes = NULL;
    uint64_t size;
    thaw_error error;
    assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_STATUS_UNSUPPORTED);
    assert_non_null(strstr(error.message, opset == 8 ? "opset 8" : "opset 18"));
  }
}

/* MatMul weights are packed for the GEMM; a weight that another op also reads keeps its
 * row-major bytes next to the packed copy. y = x·w + w with x [5,5], w [5,19]. */
static void test_matmul_weight_packed(void **state) {
  (void)state;
  enum { K = 5, N = 19, PACKED_BYTES = 2 * 16 * K * 4 }; /* ceil(19/16) panels */
  builder b;
  builder_init(&b, 13);
  int64_t x_dims[2] = {K, K}, w_dims[2] = {K, N};
  float w[K * N];
  thaw_test_rng rng = {7};
  thaw_test_fill_uniform(&rng, w, K * N, -1.0f, 1.0f);
  add_input(&b, "x", 2, x_dims);
  add_initializer(&b, "w", 2, w_dims, w, K * N);
  add_node(&b, "MatMul", "x", "w", NULL, "h");
  add_node(&b, "Add", "h", "w", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, &report, &error), THAW_OK);
  assert_int_equal(report.packed_weights_bytes, PACKED_BYTES);

  thaw_format_view view;
  assert_int_equal(thaw_format_open(bytes, size, &view, &error), THAW_OK);
  assert_int_equal(view.minor, 1);
  uint32_t packed_count = 0, plain_weight_count = 0;
  for (uint32_t t = 0; t < view.tensor_count; t++) {
    thaw_format_tensor tensor;
    thaw_format_get_tensor(&view, t, &tensor);
    if (tensor.kind != THAW_TENSOR_CONSTANT) continue;
    if (tensor.layout == THAW_LAYOUT_F32_GEMM_PANEL16) {
      packed_count++;
      assert_int_equal(tensor.size, PACKED_BYTES);
    } else if (tensor.size == sizeof w && memcmp(bytes + tensor.offset, w, sizeof w) == 0) {
      plain_weight_count++;
    }
  }
  assert_int_equal(packed_count, 1);
  assert_int_equal(plain_weight_count, 1);

  float x[K * K], y[K * N];
  thaw_test_fill_uniform(&rng, x, K * K, -1.0f, 1.0f);
  run_model(bytes, size, x, K * K, y, K * N);
  double expected[K * N];
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < N; ++j) {
      double sum = w[i * N + j];
      for (int kk = 0; kk < K; ++kk) sum += (double)x[i * K + kk] * w[kk * N + j];
      expected[i * N + j] = sum;
    }
  thaw_test_assert_close("x.w + w", y, expected, K * N, 1e-5, 1e-6);

  char summary[512] = {0};
  FILE *stream = tmpfile();
  assert_non_null(stream);
  thaw_convert_report_print(&report, false, stream);
  rewind(stream);
  assert_true(fread(summary, 1, sizeof summary - 1, stream) > 0);
  fclose(stream);
  char expected_line[96];
  snprintf(expected_line, sizeof expected_line, "weights: %llu bytes (%d packed for GEMM)\n",
           (unsigned long long)report.weights_bytes, PACKED_BYTES);
  if (strstr(summary, expected_line) == NULL)
    fail_msg("summary lacks \"%s\":\n%s", expected_line, summary);
  free(bytes);
  thaw_convert_report_free(&report);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_norm_folds_into_conv),
      cmocka_unit_test(test_batch_norm_and_relu_fold_into_conv_transpose),
      cmocka_unit_test(test_gelu_pattern_and_constant_weight),
      cmocka_unit_test(test_layer_norm_pattern_and_its_size_limit),
      cmocka_unit_test(test_shape_chain_folds),
      cmocka_unit_test(test_every_unsupported_node_is_listed),
      cmocka_unit_test(test_a_refused_fold_skips_its_readers),
      cmocka_unit_test(test_dynamic_dims_need_input_shape),
      cmocka_unit_test(test_opset_outside_range_refused),
      cmocka_unit_test(test_matmul_weight_packed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
