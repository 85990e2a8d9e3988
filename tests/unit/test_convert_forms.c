/* Converter paths that the model tests never reach: weights in external data files (and hostile
 * ones), Gemm with transA and a full [M, N] C, the attribute form of Slice (opset < 10), and
 * Softmax's flattening semantics before opset 13. Every converted model is run and compared with
 * a naive double-precision reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_convert_builder.h"

/* ---- External data ---- */

/* y = MatMul(x [1, 3], w [3, 2]) with w stored in `location`, the model written to the test's
 * scratch folder. Returns the model's path (malloc'ed). */
static char *write_external_matmul(const char *location, uint64_t offset, uint64_t length) {
  static int64_t x_dims[2] = {1, 3}, w_dims[2] = {3, 2};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_external_initializer(&b, "w", 2, w_dims, location, offset, length);
  add_node(&b, "MatMul", "x", "w", NULL, "y");
  add_output(&b, "y");
  size_t size;
  uint8_t *onnx = builder_pack(&b, &size);
  char *path = thaw_test_tmp_path("model.onnx");
  thaw_test_write_file(path, onnx, size);
  free(onnx);
  return path;
}

/* The weights file: 8 bytes of padding, then w (row-major [3, 2]). */
static const float external_weights[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
enum { EXTERNAL_OFFSET = 8, EXTERNAL_FILE_SIZE = EXTERNAL_OFFSET + sizeof(external_weights) };

static void write_weights_file(void) {
  uint8_t file[EXTERNAL_FILE_SIZE];
  memset(file, 0xAB, EXTERNAL_OFFSET);
  memcpy(file + EXTERNAL_OFFSET, external_weights, sizeof(external_weights));
  char *path = thaw_test_tmp_path("weights.bin");
  thaw_test_write_file(path, file, sizeof(file));
  free(path);
}

static void test_external_data_is_read_from_the_model_folder(void **state) {
  (void)state;
  write_weights_file();
  char *model_path = write_external_matmul("weights.bin", EXTERNAL_OFFSET, sizeof(external_weights));
  uint8_t *bytes;
  uint64_t size;
  thaw_error error;
  assert_int_equal(thaw_convert_onnx_file(model_path, NULL, &bytes, &size, NULL, &error), THAW_OK);
  float x[3] = {1.0f, -2.0f, 0.5f}, y[2];
  run_model(bytes, size, x, 3, y, 2);
  double expected[2];
  for (int n = 0; n < 2; ++n) {
    expected[n] = 0;
    for (int k = 0; k < 3; ++k) expected[n] += (double)x[k] * external_weights[k * 2 + n];
  }
  thaw_test_assert_close("external-data MatMul", y, expected, 2, 1e-6, 1e-6);
  free(bytes);
  free(model_path);
}

static void assert_external_refused(const char *location, uint64_t offset, uint64_t length,
                                    thaw_status expected_status, const char *message_part) {
  write_weights_file();
  char *model_path = write_external_matmul(location, offset, length);
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_error error;
  assert_int_equal(thaw_convert_onnx_file(model_path, NULL, &bytes, &size, NULL, &error),
                   expected_status);
  assert_null(bytes);
  if (!strstr(error.message, message_part)) fail_msg("message \"%s\" lacks \"%s\"", error.message, message_part);
  assert_non_null(strstr(error.message, "\"w\""));
  free(model_path);
}

static void test_external_data_outside_the_folder_is_refused(void **state) {
  (void)state;
  assert_external_refused("../weights.bin", EXTERNAL_OFFSET, sizeof(external_weights),
                          THAW_STATUS_CORRUPT, "leaves the model's folder");
  assert_external_refused("sub/../../weights.bin", EXTERNAL_OFFSET, sizeof(external_weights),
                          THAW_STATUS_CORRUPT, "leaves the model's folder");
  assert_external_refused("/etc/passwd", 0, sizeof(external_weights), THAW_STATUS_CORRUPT,
                          "leaves the model's folder");
}

static void test_external_data_past_the_end_is_refused(void **state) {
  (void)state;
  /* One byte short, entirely past the end, and an offset that overflows offset + length. */
  assert_external_refused("weights.bin", EXTERNAL_OFFSET + 1, sizeof(external_weights),
                          THAW_STATUS_CORRUPT, "outside");
  assert_external_refused("weights.bin", EXTERNAL_FILE_SIZE + 64, sizeof(external_weights),
                          THAW_STATUS_CORRUPT, "outside");
  assert_external_refused("weights.bin", UINT64_MAX - 4, sizeof(external_weights),
                          THAW_STATUS_CORRUPT, "outside");
  /* A length that disagrees with the dims. */
  assert_external_refused("weights.bin", EXTERNAL_OFFSET, sizeof(external_weights) - 4,
                          THAW_STATUS_CORRUPT, "length");
}

static void test_external_data_without_a_folder_is_refused(void **state) {
  (void)state;
  static int64_t x_dims[2] = {1, 3}, w_dims[2] = {3, 2};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_external_initializer(&b, "w", 2, w_dims, "weights.bin", 0, sizeof(external_weights));
  add_node(&b, "MatMul", "x", "w", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_STATUS_UNSUPPORTED);
  assert_null(bytes);
  assert_non_null(strstr(error.message, "external data"));
}

/* ---- Gemm ---- */

/* Y = alpha * A^T * B^T + beta * C with A [K, M] (transA), B [N, K] (transB), C [M, N]. */
static void test_gemm_trans_a_with_matrix_c(void **state) {
  (void)state;
  enum { M = 2, K = 3, N = 4 };
  const float alpha = 0.5f, beta = 2.0f;
  static int64_t a_dims[2] = {K, M}, b_dims[2] = {N, K}, c_dims[2] = {M, N};
  static float weights[N * K], c[M * N];
  thaw_test_rng rng = {7};
  thaw_test_fill_uniform(&rng, weights, N * K, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, c, M * N, -1.0f, 1.0f);
  builder b;
  builder_init(&b, 13);
  add_input(&b, "a", 2, a_dims);
  add_initializer(&b, "b", 2, b_dims, weights, N * K);
  add_initializer(&b, "c", 2, c_dims, c, M * N);
  Onnx__NodeProto *gemm = add_node(&b, "Gemm", "a", "b", "c", "y");
  add_int_attribute(&b, gemm, "transA", 1);
  add_int_attribute(&b, gemm, "transB", 1);
  add_float_attribute(&b, gemm, "alpha", alpha);
  add_float_attribute(&b, gemm, "beta", beta);
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_OK);
  float a[K * M], y[M * N];
  thaw_test_fill_uniform(&rng, a, K * M, -1.0f, 1.0f);
  run_model(bytes, size, a, K * M, y, M * N);
  double expected[M * N];
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double sum = 0;
      for (int k = 0; k < K; ++k) sum += (double)a[k * M + m] * weights[n * K + k];
      expected[m * N + n] = alpha * sum + beta * (double)c[m * N + n];
    }
  thaw_test_assert_close("Gemm transA, transB, C [M, N]", y, expected, M * N, 1e-5, 1e-6);
  free(bytes);
}

/* ---- Slice, attribute form ---- */

/* Opset 9: starts/ends/axes are attributes; a negative end counts from the back and an end past
 * the dim is clamped. x [3, 5] -> x[1:3, 1:-1]. */
static void test_slice_attribute_form(void **state) {
  (void)state;
  static int64_t x_dims[2] = {3, 5};
  static int64_t starts[2] = {1, 1}, ends[2] = {1000, -1}, axes[2] = {0, 1};
  builder b;
  builder_init(&b, 9);
  add_input(&b, "x", 2, x_dims);
  Onnx__NodeProto *slice = add_node(&b, "Slice", "x", NULL, NULL, "y");
  add_ints_attribute(&b, slice, "starts", starts, 2);
  add_ints_attribute(&b, slice, "ends", ends, 2);
  add_ints_attribute(&b, slice, "axes", axes, 2);
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_OK);
  float x[15], y[6];
  for (int i = 0; i < 15; ++i) x[i] = (float)i;
  run_model(bytes, size, x, 15, y, 6);
  double expected[6];
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) expected[r * 3 + c] = x[(r + 1) * 5 + c + 1];
  thaw_test_assert_close("Slice attribute form", y, expected, 6, 0, 0);
  free(bytes);
}

/* ---- Softmax before opset 13 ---- */

/* Opset 11, axis 1 on [2, 3, 2]: each batch row of 6 values is one softmax. */
static void test_softmax_flattens_before_opset_13(void **state) {
  (void)state;
  enum { ROWS = 2, ROW = 6 };
  static int64_t x_dims[3] = {2, 3, 2};
  builder b;
  builder_init(&b, 11);
  add_input(&b, "x", 3, x_dims);
  Onnx__NodeProto *softmax = add_node(&b, "Softmax", "x", NULL, NULL, "y");
  add_int_attribute(&b, softmax, "axis", 1);
  add_output(&b, "y");
  uint8_t *bytes;
  uint64_t size;
  thaw_error error;
  assert_int_equal(convert(&b, NULL, &bytes, &size, NULL, &error), THAW_OK);
  float x[ROWS * ROW], y[ROWS * ROW];
  thaw_test_rng rng = {11};
  thaw_test_fill_uniform(&rng, x, ROWS * ROW, -3.0f, 3.0f);
  run_model(bytes, size, x, ROWS * ROW, y, ROWS * ROW);
  double expected[ROWS * ROW];
  for (int r = 0; r < ROWS; ++r) {
    double sum = 0;
    for (int i = 0; i < ROW; ++i) sum += exp((double)x[r * ROW + i]);
    for (int i = 0; i < ROW; ++i) expected[r * ROW + i] = exp((double)x[r * ROW + i]) / sum;
  }
  thaw_test_assert_close("Softmax-11 axis 1", y, expected, ROWS * ROW, 1e-5, 1e-7);
  free(bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_external_data_is_read_from_the_model_folder),
      cmocka_unit_test(test_external_data_outside_the_folder_is_refused),
      cmocka_unit_test(test_external_data_past_the_end_is_refused),
      cmocka_unit_test(test_external_data_without_a_folder_is_refused),
      cmocka_unit_test(test_gemm_trans_a_with_matrix_c),
      cmocka_unit_test(test_slice_attribute_form),
      cmocka_unit_test(test_softmax_flattens_before_opset_13),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
