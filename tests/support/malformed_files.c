/* Writing the small models the malformed tables start from, and freeing a built case. */
#include "malformed_files.h"

#include <stdlib.h>
#include <string.h>

#include "test_support.h"

test_model_bytes test_model_alloc(size_t size) {
  /* At least one block, so the empty file has a buffer too. */
  const size_t capacity = size == 0 ? 64 : (size + 63) / 64 * 64;
  test_model_bytes result = {aligned_alloc(64, capacity), size};
  if (result.bytes == NULL) fail_msg("out of memory for a %zu-byte file", size);
  return result;
}

size_t test_element_count(uint32_t rank, const int64_t *shape) {
  size_t count = 1;
  for (uint32_t d = 0; d < rank; d++) count *= (size_t)shape[d];
  return count;
}

uint32_t test_activation(thaw_writer *writer, const char *name, thaw_dtype dtype, uint32_t rank,
                         const int64_t *shape) {
  return thaw_writer_add_tensor(writer, name, THAW_TENSOR_ACTIVATION, dtype, rank, shape,
                                THAW_LAYOUT_PLAIN, NULL, 0);
}

uint32_t test_constant(thaw_writer *writer, const char *name, thaw_dtype dtype, uint32_t rank,
                       const int64_t *shape, const void *data) {
  return thaw_writer_add_tensor(writer, name, THAW_TENSOR_CONSTANT, dtype, rank, shape,
                                THAW_LAYOUT_PLAIN, data,
                                test_element_count(rank, shape) * thaw_dtype_size(dtype));
}

test_model_bytes test_finish(thaw_writer *writer) {
  uint8_t *bytes = NULL;
  uint64_t size = 0;
  thaw_error error = {0};
  thaw_status status =
      thaw_writer_finish(writer, THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM, &bytes, &size, NULL, &error);
  if (status != THAW_OK) fail_msg("writer: %s", error.message);
  thaw_writer_destroy(writer);
  /* The writer's buffer is already 64-byte aligned and padded to a multiple of 64. */
  return (test_model_bytes){bytes, (size_t)size};
}

void thaw_test_store_le(uint8_t *bytes, int width, uint64_t value) {
  for (int i = 0; i < width; i++) bytes[i] = (uint8_t)(value >> (8 * i));
}

void thaw_malformed_file_free(thaw_malformed_file *file) {
  free(file->file.bytes);
  file->file.bytes = NULL;
}
