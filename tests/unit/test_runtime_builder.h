/* Helpers shared by the runtime tests: build a model with the writer, open it from aligned
 * memory, and feed and read its tensors. */
#ifndef THAW_TEST_RUNTIME_BUILDER_H
#define THAW_TEST_RUNTIME_BUILDER_H

#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "malformed_files.h" /* test_activation, test_constant, test_finish */
#include "test_support.h"
#include "thaw.h"

/* DIMS(1, 3, 8, 8) expands to the rank and the shape array the writer takes. */
#define DIMS(...)                                                                           \
  (uint32_t)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]) { \
    __VA_ARGS__                                                                             \
  }

static inline void test_node(thaw_writer *writer, thaw_op op, const char *name, const void *attrs,
                             uint32_t input_count, const uint32_t *inputs, uint32_t output) {
  thaw_writer_add_node(writer, op, name, attrs, inputs, input_count, &output, 1);
}

/* A [k, n] f32 constant in THAW_LAYOUT_F32_GEMM_PANEL16, packed here from FORMAT.md's byte
 * order ("Layouts"), independently of the kernels' packing routine. */
static inline uint32_t test_packed_constant(thaw_writer *writer, const char *name, size_t k,
                                            size_t n, const float *row_major) {
  const size_t panels = (n + 15) / 16, packed_count = panels * 16 * k;
  float *packed = calloc(packed_count, sizeof(float));
  assert_non_null(packed);
  for (size_t p = 0; p < panels; p++) {
    for (size_t kk = 0; kk < k; kk++) {
      for (size_t j = 0; j < 16 && 16 * p + j < n; j++) {
        packed[(p * k + kk) * 16 + j] = row_major[kk * n + 16 * p + j];
      }
    }
  }
  const int64_t shape[2] = {(int64_t)k, (int64_t)n};
  const uint32_t id =
      thaw_writer_add_tensor(writer, name, THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, shape,
                             THAW_LAYOUT_F32_GEMM_PANEL16, packed, packed_count * sizeof(float));
  free(packed);
  return id;
}

/* The validated view of a test file, to find the fields a test wants to edit. */
static inline thaw_format_view test_view(const test_model_bytes *model) {
  thaw_format_view view;
  thaw_error error = {0};
  if (thaw_format_open(model->bytes, model->size, &view, &error) != THAW_OK) {
    fail_msg("format: %s", error.message);
  }
  return view;
}

/* Recompute the header checksum (XXH64 of the bytes before the weights, its own field read
 * as zero) after a test edits them, so the edit itself is what gets refused. */
static inline void test_reseal(test_model_bytes *model, uint64_t weights_offset) {
  enum { header_checksum_at = 24 };
  memset(model->bytes + header_checksum_at, 0, 8);
  const uint64_t checksum = thaw_hash64(model->bytes, weights_offset, 0);
  for (int i = 0; i < 8; i++) model->bytes[header_checksum_at + i] = (uint8_t)(checksum >> (8 * i));
}

static inline thaw_model *test_open(const test_model_bytes *model) {
  thaw_model *result = NULL;
  thaw_error error = {0};
  if (thaw_model_open_memory(model->bytes, model->size, 0, &result, &error) != THAW_OK) {
    fail_msg("open: %s", error.message);
  }
  return result;
}

static inline void test_set_input(thaw_session *session, size_t index, const void *data) {
  thaw_tensor tensor;
  assert_int_equal(thaw_session_input(session, index, &tensor), THAW_OK);
  memcpy(tensor.data, data, tensor.size_bytes);
}

static inline const float *test_output(thaw_session *session, size_t index) {
  thaw_tensor tensor;
  assert_int_equal(thaw_session_output(session, index, &tensor), THAW_OK);
  return tensor.data;
}

#endif /* THAW_TEST_RUNTIME_BUILDER_H */
