/* Files the format accepts but whose shapes, dtypes or memory plan contradict their ops (the
 * shared table in tests/support/malformed_runtime.c, and a plan edited by hand): each must be
 * refused at open with its status and a message naming the node and the mismatch.
 * Also API misuse. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_runtime_builder.h"

#define F32 THAW_DTYPE_F32
#define CORRUPT THAW_STATUS_CORRUPT

static const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
static const thaw_axis_attrs axis1 = {1};

static void expect_refused(const test_model_bytes *bytes, thaw_status status, const char *fragment,
                           const char *what) {
  thaw_model *model = (thaw_model *)bytes; /* must be reset to NULL on failure */
  thaw_error error = {0};
  const thaw_status actual = thaw_model_open_memory(bytes->bytes, bytes->size, 0, &model, &error);
  if (actual != status || error.status != status || strstr(error.message, fragment) == NULL) {
    fail_msg("%s: got %s \"%s\", want %s with \"%s\"", what, thaw_status_str(actual), error.message,
             thaw_status_str(status), fragment);
  }
  assert_null(model);
}

static void test_malformed_models_are_refused(void **state) {
  (void)state;
  const size_t count = thaw_malformed_runtime_count();
  for (size_t i = 0; i < count; i++) {
    thaw_malformed_file c;
    thaw_malformed_runtime_build(i, &c);
    /* The file itself is well formed: only the runtime's op contract refuses it. */
    test_view(&c.file);
    expect_refused(&c.file, c.status, c.fragment, c.name);
    thaw_malformed_file_free(&c);
  }
}

/* A path so long that "path: message" overflows thaw_error.message must not cut off the
 * message: the file is then named by its last component. */
static void test_long_path_keeps_the_message(void **state) {
  (void)state;
  char directory_name[201];
  memset(directory_name, 'd', sizeof directory_name - 1);
  directory_name[sizeof directory_name - 1] = '\0';
  char *directory = thaw_test_tmp_path(directory_name);
  mkdir(directory, 0755);
  const size_t path_size = strlen(directory) + sizeof "/refused.thaw";
  char *path = malloc(path_size);
  snprintf(path, path_size, "%s/refused.thaw", directory);

  thaw_malformed_file c;
  thaw_malformed_runtime_build(0, &c);
  thaw_test_write_file(path, c.file.bytes, c.file.size);
  thaw_model *model = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_model_open(path, 0, &model, &error), c.status);
  assert_non_null(strstr(error.message, ".../refused.thaw: "));
  assert_non_null(strstr(error.message, c.fragment));
  thaw_malformed_file_free(&c);
  free(path);
  free(directory);
}

/* After moving activations around, set arena_size to what they use, as the reader requires
 * (the `count` tensors are all activations of 256 bytes). */
static void shrink_arena_to_fit(test_model_bytes *bytes, const thaw_format_view *view,
                                uint32_t count) {
  uint8_t *plan = bytes->bytes + (view->plan_offsets - view->bytes);
  uint64_t end = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint64_t offset;
    memcpy(&offset, plan + 8 * i, 8);
    if (offset + 256 > end) end = offset + 256;
  }
  memcpy(bytes->bytes + (view->plan_offsets - view->bytes) - 8, &end, 8);
}

/* x -> relu -> a -> softmax -> b -> relu -> c -> relu -> y, then planned bytes moved so an
 * output shares its input's bytes. */
static void test_overlapping_output_is_refused(void **state) {
  (void)state;
  thaw_writer *w = thaw_writer_create();
  const uint32_t x = test_activation(w, "x", F32, DIMS(4, 16));
  const uint32_t a = test_activation(w, "a", F32, DIMS(4, 16));
  const uint32_t b = test_activation(w, "b", F32, DIMS(4, 16));
  const uint32_t c = test_activation(w, "c", F32, DIMS(4, 16));
  const uint32_t y = test_activation(w, "y", F32, DIMS(4, 16));
  test_node(w, THAW_OP_UNARY, "first", &relu, 1, &x, a);
  test_node(w, THAW_OP_SOFTMAX, "softmax", &axis1, 1, &a, b);
  test_node(w, THAW_OP_UNARY, "middle", &relu, 1, &b, c);
  test_node(w, THAW_OP_UNARY, "last", &relu, 1, &c, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  test_model_bytes bytes = test_finish(w);
  const thaw_format_view view = test_view(&bytes);
  uint8_t *plan = bytes.bytes + (view.plan_offsets - view.bytes);
  uint8_t planned_b[8];
  memcpy(planned_b, plan + 8 * b, 8);

  memcpy(plan + 8 * b, plan + 8 * a, 8);
  shrink_arena_to_fit(&bytes, &view, 5);
  test_reseal(&bytes, view.weights_offset);
  expect_refused(&bytes, CORRUPT, "node \"softmax\" (Softmax): output \"b\" (arena bytes",
                 "softmax in place");

  /* The same sharing is fine for an op that works in place. */
  memcpy(plan + 8 * b, planned_b, 8);
  memcpy(plan + 8 * c, planned_b, 8);
  shrink_arena_to_fit(&bytes, &view, 5);
  test_reseal(&bytes, view.weights_offset);
  thaw_model *model = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 0, &model, &error), THAW_OK);
  thaw_model_close(model);
  free(bytes.bytes);
}

/* A GEMM-packed constant is only readable as a MatMul's B: as A, or as any input of another
 * op, it would be read as if it were row-major. */
static void test_packed_weight_outside_matmul_b_is_refused(void **state) {
  (void)state;
  enum { K = 3, N = 5 };
  const float values[K * N] = {0};
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_binary_attrs add = {THAW_BINARY_ADD};

  thaw_writer *w = thaw_writer_create();
  const uint32_t x = test_activation(w, "x", F32, DIMS(K, N));
  const uint32_t packed = test_packed_constant(w, "packed", K, N, values);
  const uint32_t y = test_activation(w, "y", F32, DIMS(K, N));
  test_node(w, THAW_OP_BINARY, "sum", &add, 2, (uint32_t[]){x, packed}, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  test_model_bytes bytes = test_finish(w);
  expect_refused(&bytes, CORRUPT,
                 "node \"sum\" (Binary): input 1 \"packed\" is stored in layout "
                 "f32_gemm_panel16, which only a MatMul's B operand may use",
                 "packed Add operand");
  free(bytes.bytes);

  w = thaw_writer_create();
  const uint32_t b = test_activation(w, "b", F32, DIMS(N, 2));
  const uint32_t a = test_packed_constant(w, "a", K, N, values);
  const uint32_t product = test_activation(w, "product", F32, DIMS(K, 2));
  test_node(w, THAW_OP_MATMUL, "mm", &plain, 2, (uint32_t[]){a, b}, product);
  thaw_writer_add_input(w, b);
  thaw_writer_add_output(w, product);
  bytes = test_finish(w);
  expect_refused(&bytes, CORRUPT, "node \"mm\" (MatMul): input 0 \"a\" is stored in layout",
                 "packed MatMul A");
  free(bytes.bytes);
}

static test_model_bytes build_relu(void) {
  thaw_writer *w = thaw_writer_create();
  const uint32_t x = test_activation(w, "x", F32, DIMS(3));
  const uint32_t y = test_activation(w, "y", F32, DIMS(3));
  test_node(w, THAW_OP_UNARY, "relu", &relu, 1, &x, y);
  thaw_writer_add_input(w, x);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

static void test_misaligned_memory_is_refused(void **state) {
  (void)state;
  test_model_bytes bytes = build_relu();
  uint8_t *shifted = aligned_alloc(64, bytes.size + 64);
  memcpy(shifted + 8, bytes.bytes, bytes.size);
  thaw_model *model = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_model_open_memory(shifted + 8, bytes.size, 0, &model, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "64-byte aligned"));
  assert_null(model);
  free(shifted);
  free(bytes.bytes);
}

static void test_api_misuse(void **state) {
  (void)state;
  test_model_bytes bytes = build_relu();
  thaw_model *model = NULL;
  thaw_session *session = NULL;
  thaw_tensor tensor;
  size_t index;
  thaw_error error = {0};

  assert_int_equal(thaw_model_open(NULL, 0, &model, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_open("x.thaw", 0, NULL, NULL), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_open_memory(NULL, 64, 0, &model, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 1u << 7, &model, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "unknown open flags 0x80"));
  assert_int_equal(thaw_model_open("/nonexistent/model.thaw", 0, &model, &error), THAW_STATUS_IO);
  assert_non_null(strstr(error.message, "/nonexistent/model.thaw"));
  assert_non_null(strstr(error.message, "No such file"));
  assert_null(model);

  char *empty = thaw_test_tmp_path("empty.thaw");
  thaw_test_write_file(empty, "", 0);
  assert_int_not_equal(thaw_model_open(empty, 0, &model, &error), THAW_OK);
  assert_non_null(strstr(error.message, empty));
  free(empty);

  assert_int_equal(thaw_model_input_count(NULL), 0);
  assert_int_equal(thaw_model_output_count(NULL), 0);
  assert_int_equal(thaw_model_session_bytes(NULL), 0);
  assert_int_equal(thaw_model_input(NULL, 0, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_create(NULL, NULL, &session, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_run(NULL, NULL, &error), THAW_STATUS_INVALID_ARGUMENT);
  thaw_model_close(NULL);
  thaw_session_destroy(NULL);

  model = test_open(&bytes);
  assert_int_equal(thaw_model_input(model, 1, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_output(model, 1, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_input(model, 0, NULL), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_find_input(model, NULL, &index), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_model_find_input(model, "y", &index), THAW_STATUS_NOT_FOUND);
  assert_int_equal(thaw_model_find_output(model, "x", &index), THAW_STATUS_NOT_FOUND);
  assert_int_equal(thaw_model_find_input(model, "x", &index), THAW_OK);
  assert_int_equal(index, 0);
  assert_int_equal(thaw_session_create(model, NULL, NULL, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_create(model, NULL, &session, &error), THAW_OK);
  assert_int_equal(thaw_session_input(session, 1, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_output(session, 1, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_output(session, 0, NULL), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_session_input(NULL, 0, &tensor), THAW_STATUS_INVALID_ARGUMENT);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_malformed_models_are_refused),
      cmocka_unit_test(test_overlapping_output_is_refused),
      cmocka_unit_test(test_packed_weight_outside_matmul_b_is_refused),
      cmocka_unit_test(test_misaligned_memory_is_refused),
      cmocka_unit_test(test_api_misuse),
      cmocka_unit_test(test_long_path_keeps_the_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
