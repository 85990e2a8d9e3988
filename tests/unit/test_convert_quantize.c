/* thaw convert --quantize int8 on small ONNX graphs built here: the int8 model is run and
 * compared with a naive double-precision f32 reference within the error its quantization steps
 * allow (an embedding table's rows within half their step), and --quantize-exclude keeps a node
 * in f32; --report's comparison of two models. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "formats/format.h"
#include "npy.h"
#include "quantize_report.h"
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

/* The step of values quantized dynamically (a MatMul row, a Conv input image): their range, 0
 * included, over the 127 levels of DYNAMIC (kernels.h). */
static double dynamic_step(size_t count, const float *values) {
  double lo = 0.0, hi = 0.0;
  for (size_t t = 0; t < count; t++) {
    lo = fmin(lo, values[t]);
    hi = fmax(hi, values[t]);
  }
  return (hi - lo) / 127.0;
}

/* The step of a channel quantized symmetrically: max |w| over 127 levels each side. */
static double channel_step(size_t k, const double *channel) {
  double max = 0.0;
  for (size_t t = 0; t < k; t++) max = fmax(max, fabs(channel[t]));
  return max / 127.0;
}

enum { CONV_C = 3, CONV_M = 8, CONV_H = 9, CONV_W = 7, CONV_K = CONV_C * 9 };

/* Converts `b` with `options`, which must turn `quantized_ops` ops into int8; the file. */
static uint8_t *convert_quantizing(builder *b, const thaw_convert_options *options,
                                   uint32_t quantized_ops, uint64_t *size) {
  uint8_t *bytes;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(b, options, &bytes, size, &report, &error), THAW_OK);
  assert_int_equal(report.quantized_ops, quantized_ops);
  thaw_convert_report_free(&report);
  return bytes;
}

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

  const size_t image_count = X_COUNT / 2;
  const double image_steps[2] = {dynamic_step(image_count, x),
                                 dynamic_step(image_count, x + image_count)};
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
          const double bound =
              quantization_bound(CONV_K, patch, weights, image_steps[n],
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

enum { M = 5, K = 37, N = 19 };

/* x [5,37] -> MatMul w [37,19] -> Add b: the Gemm shape of a fully connected layer, and of a
 * classifier's logits. */
static void build_matmul(builder *b, float *w, float *bias) {
  static int64_t x_dims[2] = {M, K}, w_dims[2] = {K, N}, b_dims[1] = {N};
  builder_init(b, 13);
  add_input(b, "x", 2, x_dims);
  add_initializer(b, "w", 2, w_dims, w, K * N);
  add_initializer(b, "b", 1, b_dims, bias, N);
  add_node(b, "MatMul", "x", "w", NULL, "product");
  add_node(b, "Add", "product", "b", NULL, "y");
  add_output(b, "y");
}

static void test_quantized_matmul_within_quantization_error(void **state) {
  (void)state;
  thaw_test_rng rng = {11};
  float x[M * K], w[K * N], bias[N], y[M * N];
  thaw_test_fill_uniform(&rng, x, M * K, -3.0f, 1.0f);
  thaw_test_fill_uniform(&rng, w, K * N, -0.1f, 0.3f);
  thaw_test_fill_uniform(&rng, bias, N, -1.0f, 1.0f);
  builder b;
  build_matmul(&b, w, bias);
  const thaw_convert_options options = {.quantize_int8 = true};
  uint64_t size;
  uint8_t *bytes = convert_quantizing(&b, &options, 1, &size);
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
          quantization_bound(K, row, column, dynamic_step(K, x + i * K), channel_step(K, column));
      if (fabs(y[i * N + j] - sum) > bound + 1e-5)
        fail_msg("y[%zu,%zu] = %.6f, f32 %.6f, beyond the quantization bound %.6f", i, j,
                 (double)y[i * N + j], sum, bound);
    }
}

/* A crafted file with an int8 weight of -128, which the kernels cannot multiply exactly: opening
 * with THAW_OPEN_VERIFY_WEIGHTS refuses it, naming the tensor; a plain open does not read the
 * weights (the cold start does not pay for it). */
static void test_verify_refuses_weight_minus_128(void **state) {
  (void)state;
  thaw_test_rng rng = {13};
  float w[K * N], bias[N];
  thaw_test_fill_uniform(&rng, w, K * N, -0.1f, 0.3f);
  thaw_test_fill_uniform(&rng, bias, N, -1.0f, 1.0f);
  builder b;
  build_matmul(&b, w, bias);
  /* No weights checksum, so the edit is refused for what it is, not as a checksum mismatch. */
  const thaw_convert_options options = {.quantize_int8 = true, .writer_flags = 0};
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&b, &options, &bytes, &size, &report, &error), THAW_OK);
  thaw_convert_report_free(&report);
  thaw_format_view view;
  assert_int_equal(thaw_format_open(bytes, size, &view, &error), THAW_OK);
  bool edited = false;
  for (uint32_t i = 0; i < view.tensor_count; i++) {
    thaw_format_tensor t;
    thaw_format_get_tensor(&view, i, &t);
    if (t.layout != THAW_LAYOUT_QS8_GEMM_PANEL16) continue;
    /* The first panel byte, after N rounded to 16 scales and column sums. */
    bytes[t.offset + (N + 15) / 16 * 16 * 8] = 0x80;
    edited = true;
  }
  assert_true(edited);
  thaw_model *model = NULL;
  assert_int_equal(thaw_model_open_memory(bytes, size, THAW_OPEN_VERIFY_WEIGHTS, &model, &error),
                   THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "int8 weight -128 at panel byte 0"));
  assert_int_equal(thaw_model_open_memory(bytes, size, 0, &model, &error), THAW_OK);
  thaw_model_close(model);
  free(bytes);
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
    uint64_t size;
    uint8_t *bytes = convert_quantizing(&b, option_sets[run], 0, &size);
    run_model(bytes, size, x, X_COUNT, outputs[run], Y_COUNT);
    free(bytes);
  }
  assert_memory_equal(y_f32, y_excluded, sizeof y_f32);
}

/* ---- embedding tables ---- */

enum { VOCAB = 13, WIDTH = 21, IDS = 6 };

/* ids i64 [2,3] -> Gather(table [rows, 21], ids) -> y [2,3,21]: a token embedding; `tied`
 * (rows = 21) multiplies the gathered rows by the same table: y = Gather(table, ids) x table. */
static void build_embedding(builder *b, float *table, int64_t rows, bool tied) {
  static int64_t table_dims[2];
  static const int64_t ids_dims[2] = {2, 3};
  table_dims[0] = rows;
  table_dims[1] = WIDTH;
  builder_init(b, 13);
  add_input(b, "ids", 2, ids_dims);
  b->tensor_types[b->info_count - 1].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  add_initializer(b, "table", 2, table_dims, table, (size_t)rows * WIDTH);
  add_node(b, "Gather", "table", "ids", NULL, tied ? "rows" : "y");
  if (tied) add_node(b, "MatMul", "rows", "table", NULL, "y");
  add_output(b, "y");
}

/* Runs the embedding model on ids; returns the run's status, its error in *error. */
static thaw_status run_embedding(const uint8_t *bytes, uint64_t size, const int64_t *ids,
                                 float *y, thaw_error *error) {
  thaw_model *model;
  thaw_session *session;
  assert_int_equal(thaw_model_open_memory(bytes, size, 0, &model, error), THAW_OK);
  assert_int_equal(thaw_session_create(model, NULL, &session, error), THAW_OK);
  thaw_tensor tensor;
  assert_int_equal(thaw_session_input(session, 0, &tensor), THAW_OK);
  assert_int_equal(tensor.dtype, THAW_DTYPE_I64);
  memcpy(tensor.data, ids, IDS * sizeof(int64_t));
  const thaw_status status = thaw_session_run(session, NULL, error);
  if (status == THAW_OK) {
    assert_int_equal(thaw_session_output(session, 0, &tensor), THAW_OK);
    assert_int_equal(tensor.element_count, IDS * WIDTH);
    memcpy(y, tensor.data, IDS * WIDTH * sizeof(float));
  }
  thaw_session_destroy(session);
  thaw_model_close(model);
  return status;
}

static uint16_t minor_version(const uint8_t *bytes, uint64_t size) {
  thaw_format_view view;
  thaw_error error;
  assert_int_equal(thaw_format_open(bytes, size, &view, &error), THAW_OK);
  return view.minor;
}

/* The table becomes int8 rows with a scale each (QS8Gather, format 1.6): every gathered value
 * within half its row's step of the f32 one, a quarter of the table's bytes in the file, a bad
 * index refused by name; excluded, the Gather stays f32 and exact. */
static void test_embedding_table_quantized_per_row(void **state) {
  (void)state;
  thaw_test_rng rng = {17};
  float table[VOCAB * WIDTH];
  thaw_test_fill_uniform(&rng, table, VOCAB * WIDTH, -0.6f, 0.4f);
  for (size_t e = 0; e < WIDTH; e++) table[4 * WIDTH + e] *= 1e-3f; /* a row of small values */
  for (size_t e = 0; e < WIDTH; e++) table[9 * WIDTH + e] = 0.0f;  /* and one of zeros */
  const int64_t ids[IDS] = {12, -1, 4, 9, -13, 7};
  const char *excluded[] = {"y"};
  const thaw_convert_options option_sets[3] = {
      {0},
      {.quantize_int8 = true},
      {.quantize_int8 = true, .quantize_exclude = excluded, .quantize_exclude_count = 1}};
  float outputs[3][IDS * WIDTH];
  uint64_t sizes[3];
  for (size_t run = 0; run < 3; run++) {
    builder b;
    build_embedding(&b, table, VOCAB, false);
    uint8_t *bytes = convert_quantizing(&b, &option_sets[run], run == 1 ? 1 : 0, &sizes[run]);
    thaw_error error;
    assert_int_equal(count_ops(bytes, sizes[run], THAW_OP_QS8_GATHER), run == 1);
    if (run == 1) assert_int_equal(minor_version(bytes, sizes[run]), 6);
    assert_int_equal(run_embedding(bytes, sizes[run], ids, outputs[run], &error), THAW_OK);
    if (run == 1) {
      const int64_t bad_ids[IDS] = {0, 1, 13, 2, 3, 4};
      float untouched[IDS * WIDTH];
      assert_int_equal(run_embedding(bytes, sizes[run], bad_ids, untouched, &error),
                       THAW_STATUS_INVALID_ARGUMENT);
      assert_non_null(strstr(error.message, "node \"y\" (QS8Gather): index 13 is outside "
                                            "[-13, 13)"));
    }
    free(bytes);
  }
  for (size_t i = 0; i < IDS; i++) {
    const size_t row = (size_t)(ids[i] < 0 ? ids[i] + VOCAB : ids[i]);
    float largest = 0.0f;
    for (size_t e = 0; e < WIDTH; e++)
      largest = fmaxf(largest, fabsf(table[row * WIDTH + e]));
    const double half_step = largest / 127.0 / 2.0;
    for (size_t e = 0; e < WIDTH; e++) {
      const float f32 = table[row * WIDTH + e], int8 = outputs[1][i * WIDTH + e];
      assert_true(outputs[0][i * WIDTH + e] == f32);
      if (fabs((double)int8 - f32) > half_step * (1.0 + 1e-5))
        fail_msg("row %zu value %zu: int8 %.9g, f32 %.9g, beyond half a step %.9g", row, e,
                 (double)int8, (double)f32, half_step);
    }
  }
  assert_memory_equal(outputs[2], outputs[0], sizeof outputs[0]);
  assert_int_equal(sizes[2], sizes[0]);
  /* 3 of every 4 table bytes saved, less a scale per row and the new tensors' records. */
  assert_true(sizes[0] - sizes[1] >= (uint64_t)VOCAB * WIDTH * 3 - VOCAB * 4 - 256);
}

/* A table both gathered and multiplied by (tied embeddings, square here): the Gather gets the
 * int8 rows, the MatMul its own packed copy, and the product stays within 1 % of f32. */
static void test_tied_table_quantized_for_both_readers(void **state) {
  (void)state;
  thaw_test_rng rng = {19};
  float table[WIDTH * WIDTH];
  thaw_test_fill_uniform(&rng, table, WIDTH * WIDTH, 0.1f, 1.0f);
  builder b;
  build_embedding(&b, table, WIDTH, true);
  const thaw_convert_options options = {.quantize_int8 = true};
  uint64_t size;
  uint8_t *bytes = convert_quantizing(&b, &options, 2, &size);
  thaw_error error;
  assert_int_equal(count_ops(bytes, size, THAW_OP_QS8_GATHER), 1);
  assert_int_equal(count_ops(bytes, size, THAW_OP_QS8_MATMUL), 1);
  const int64_t ids[IDS] = {12, -1, 4, 9, -13, 7};
  float y[IDS * WIDTH];
  assert_int_equal(run_embedding(bytes, size, ids, y, &error), THAW_OK);
  free(bytes);
  for (size_t i = 0; i < IDS; i++) {
    const size_t row = (size_t)(ids[i] < 0 ? ids[i] + WIDTH : ids[i]);
    for (size_t j = 0; j < WIDTH; j++) {
      double sum = 0.0;
      for (size_t t = 0; t < WIDTH; t++) sum += (double)table[row * WIDTH + t] * table[t * WIDTH + j];
      if (fabs(y[i * WIDTH + j] - sum) > 0.01 * sum)
        fail_msg("y[%zu,%zu] = %.6f, f32 %.6f", i, j, (double)y[i * WIDTH + j], sum);
    }
  }
}

/* ---- --report: thaw_compare_models ---- */

static double expected_cosine(const float *a, const float *b, size_t count) {
  double dot = 0, norm_a = 0, norm_b = 0;
  for (size_t i = 0; i < count; i++) {
    dot += (double)a[i] * b[i];
    norm_a += (double)a[i] * a[i];
    norm_b += (double)b[i] * b[i];
  }
  return dot / sqrt(norm_a * norm_b);
}

static size_t expected_top1_agreement(const float *a, const float *b) {
  size_t agreeing = 0;
  for (size_t i = 0; i < M; i++) {
    size_t best_a = 0, best_b = 0;
    for (size_t j = 1; j < N; j++) {
      if (a[i * N + j] > a[i * N + best_a]) best_a = j;
      if (b[i * N + j] > b[i * N + best_b]) best_b = j;
    }
    agreeing += best_a == best_b;
  }
  return agreeing;
}

/* Two samples (folders "0" and "1" holding x.npy) through the f32 and the int8 MatMul model:
 * the report's cosines and top-1 counts against the ones computed here from both models'
 * outputs; the f32 model against itself agrees exactly; a missing input and models with
 * different outputs are refused. */
static void test_compare_models(void **state) {
  (void)state;
  thaw_test_rng rng = {17};
  float w[K * N], bias[N], x[2][M * K], y_f32[2][M * N], y_int8[2][M * N];
  thaw_test_fill_uniform(&rng, w, K * N, -0.3f, 0.3f);
  thaw_test_fill_uniform(&rng, bias, N, -0.1f, 0.1f);
  char dir[] = "/tmp/thaw_test_compare_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[2][64];
  /* GCC bounds a row of `path` by the whole array when it checks the truncation. */
  char file[2][sizeof path + sizeof "/x.npy"];
  static const int64_t x_shape[2] = {M, K};
  thaw_error error;
  for (size_t s = 0; s < 2; s++) {
    thaw_test_fill_uniform(&rng, x[s], M * K, -2.0f, 2.0f);
    snprintf(path[s], sizeof path[s], "%s/%zu", dir, s);
    snprintf(file[s], sizeof file[s], "%s/x.npy", path[s]);
    assert_int_equal(mkdir(path[s], 0700), 0);
    assert_int_equal(thaw_npy_write(file[s], THAW_DTYPE_F32, 2, x_shape, x[s], &error), THAW_OK);
  }
  uint8_t *bytes[2];
  uint64_t sizes[2];
  thaw_model *models[2];
  for (size_t q = 0; q < 2; q++) {
    builder b;
    build_matmul(&b, w, bias);
    const thaw_convert_options options = {.quantize_int8 = q == 1};
    assert_int_equal(convert(&b, &options, &bytes[q], &sizes[q], NULL, &error), THAW_OK);
    assert_int_equal(thaw_model_open_memory(bytes[q], sizes[q], 0, &models[q], &error), THAW_OK);
  }
  for (size_t s = 0; s < 2; s++) {
    run_model(bytes[0], sizes[0], x[s], M * K, y_f32[s], M * N);
    run_model(bytes[1], sizes[1], x[s], M * K, y_int8[s], M * N);
  }
  const double cosines[2] = {expected_cosine(y_f32[0], y_int8[0], M * N),
                             expected_cosine(y_f32[1], y_int8[1], M * N)};

  thaw_output_agreement *agreements;
  size_t count, samples;
  assert_int_equal(thaw_compare_models(models[0], models[1], dir, &agreements, &count, &samples,
                                       &error),
                   THAW_OK);
  assert_int_equal(count, 1);
  assert_int_equal(samples, 2);
  assert_string_equal(agreements[0].name, "y");
  assert_true(agreements[0].classifier);
  assert_true(fabs(agreements[0].min_cosine - fmin(cosines[0], cosines[1])) < 1e-12);
  assert_true(fabs(agreements[0].mean_cosine - (cosines[0] + cosines[1]) / 2) < 1e-12);
  assert_true(agreements[0].min_cosine < 1.0 && agreements[0].min_cosine > 0.99);
  assert_int_equal(agreements[0].top1_rows, 2 * M);
  assert_int_equal(agreements[0].top1_agreeing, expected_top1_agreement(y_f32[0], y_int8[0]) +
                                                     expected_top1_agreement(y_f32[1], y_int8[1]));
  free(agreements);

  assert_int_equal(thaw_compare_models(models[0], models[0], path[1], &agreements, &count,
                                       &samples, &error),
                   THAW_OK);
  assert_int_equal(samples, 1); /* a folder of .npy files is the only sample */
  assert_true(fabs(agreements[0].min_cosine - 1.0) < 1e-12);
  assert_true(fabs(agreements[0].mean_cosine - 1.0) < 1e-12);
  assert_int_equal(agreements[0].top1_agreeing, M);
  free(agreements);

  assert_int_equal(remove(file[1]), 0);
  assert_int_not_equal(thaw_compare_models(models[0], models[1], dir, &agreements, &count,
                                           &samples, &error),
                       THAW_OK);
  assert_non_null(strstr(error.message, "x.npy"));

  builder b;
  float conv_w[CONV_M * CONV_K] = {0}, conv_bias[CONV_M] = {0};
  build_conv(&b, conv_w, conv_bias);
  uint8_t *conv_bytes;
  uint64_t conv_size;
  thaw_model *conv_model;
  assert_int_equal(convert(&b, NULL, &conv_bytes, &conv_size, NULL, &error), THAW_OK);
  assert_int_equal(thaw_model_open_memory(conv_bytes, conv_size, 0, &conv_model, &error), THAW_OK);
  assert_int_equal(thaw_compare_models(models[0], conv_model, dir, &agreements, &count, &samples,
                                       &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  thaw_model_close(conv_model);
  free(conv_bytes);

  for (size_t q = 0; q < 2; q++) {
    thaw_model_close(models[q]);
    free(bytes[q]);
  }
  assert_int_equal(remove(file[0]), 0);
  assert_int_equal(rmdir(path[0]), 0);
  assert_int_equal(rmdir(path[1]), 0);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantized_conv_within_quantization_error),
      cmocka_unit_test(test_quantized_matmul_within_quantization_error),
      cmocka_unit_test(test_excluded_node_stays_f32),
      cmocka_unit_test(test_embedding_table_quantized_per_row),
      cmocka_unit_test(test_tied_table_quantized_for_both_readers),
      cmocka_unit_test(test_verify_refuses_weight_minus_128),
      cmocka_unit_test(test_compare_models),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
