/* Opening a model: map (or adopt) the bytes, validate them, decode the tensor directory once
 * and prepare every node. Nothing here is O(weights) unless the caller asks for verification. */
#include <inttypes.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"

/* Reserve `count` elements of `size` bytes (aligned to `alignment`) at the end of a block of
 * *total bytes; false on overflow. */
static bool reserve_array(size_t *total, size_t count, size_t size, size_t alignment,
                          size_t *offset) {
  size_t start, bytes;
  if (__builtin_add_overflow(*total, alignment - 1, &start)) return false;
  start &= ~(alignment - 1);
  if (__builtin_mul_overflow(count, size, &bytes) || __builtin_add_overflow(start, bytes, total)) {
    return false;
  }
  *offset = start;
  return true;
}

/* One allocation holds the model and every array sized by the file's counts. */
static thaw_status allocate_model(const thaw_format_view *view, thaw_model **model,
                                  thaw_error *error) {
  size_t operand_count = 0;
  for (uint32_t n = 0; n < view->node_count; n++) {
    thaw_format_node node;
    thaw_format_get_node(view, n, &node);
    if (__builtin_add_overflow(operand_count, (size_t)node.input_count + node.output_count,
                               &operand_count)) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "graph: node operands overflow");
    }
  }
  size_t total = sizeof(thaw_model), tensors_at, nodes_at, row_bytes_at, operand_tensors_at;
  if (!reserve_array(&total, view->tensor_count, sizeof(thaw_format_tensor),
                     alignof(thaw_format_tensor), &tensors_at) ||
      !reserve_array(&total, view->node_count, sizeof(thaw_prepared_node),
                     alignof(thaw_prepared_node), &nodes_at) ||
      !reserve_array(&total, operand_count, sizeof(size_t), alignof(size_t), &row_bytes_at) ||
      !reserve_array(&total, operand_count, sizeof(uint32_t), alignof(uint32_t),
                     &operand_tensors_at)) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "model description of %" PRIu32 " tensors and %" PRIu32
                          " nodes does not fit in memory",
                          view->tensor_count, view->node_count);
  }
  uint8_t *block = calloc(1, total);
  if (block == NULL) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "cannot allocate %zu bytes for the model description", total);
  }
  thaw_model *result = (thaw_model *)block;
  result->view = *view;
  result->tensors = (thaw_format_tensor *)(block + tensors_at);
  result->nodes = (thaw_prepared_node *)(block + nodes_at);
  result->operand_count = operand_count;
  result->operand_row_bytes = (size_t *)(block + row_bytes_at);
  result->operand_tensors = (uint32_t *)(block + operand_tensors_at);
  *model = result;
  return THAW_OK;
}

static thaw_status open_validated(const void *bytes, size_t size, uint32_t flags,
                                  thaw_model **model, thaw_error *error) {
  const uint32_t known_flags = THAW_OPEN_VERIFY_WEIGHTS | THAW_OPEN_PREFETCH;
  if ((flags & ~known_flags) != 0) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "unknown open flags 0x%" PRIx32,
                          flags & ~known_flags);
  }
  thaw_format_view view;
  thaw_status status = thaw_format_open(bytes, size, &view, error);
  if (status == THAW_OK && (flags & THAW_OPEN_VERIFY_WEIGHTS) != 0) {
    status = thaw_format_verify_weights(&view, error);
  }
  thaw_model *result = NULL;
  if (status == THAW_OK) status = allocate_model(&view, &result, error);
  if (status != THAW_OK) return status;

  result->kernels = thaw_kernels_get();
  /* The reader checked every layout's rules; preparation checks which operands use them. */
  for (uint32_t t = 0; t < view.tensor_count; t++) {
    thaw_format_get_tensor(&view, t, &result->tensors[t]);
  }
  size_t first_operand = 0;
  for (uint32_t n = 0; status == THAW_OK && n < view.node_count; n++) {
    status = thaw_prepare_node(result, n, first_operand, error);
    const thaw_prepared_node *node = &result->nodes[n];
    first_operand += (size_t)node->input_count + node->output_count;
    if (node->scratch_bytes > result->scratch_bytes) result->scratch_bytes = node->scratch_bytes;
  }
  if (status != THAW_OK) {
    free(result);
    return status;
  }
  if ((flags & THAW_OPEN_PREFETCH) != 0) {
    thaw_platform_prefetch(view.bytes + view.weights_offset, (size_t)view.weights_size);
  }
  *model = result;
  return THAW_OK;
}

thaw_status thaw_model_open(const char *path, uint32_t flags, thaw_model **model,
                            thaw_error *error) {
  if (model != NULL) *model = NULL;
  if (path == NULL || model == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_model_open: path and model must not be NULL");
  }
  thaw_mapped_file mapping;
  thaw_status status = thaw_platform_map_file(path, &mapping, error);
  if (status != THAW_OK) return status;
  /* An empty file maps to nothing; the validator still reports it as too short. */
  static const uint8_t no_bytes[1];
  const void *bytes = mapping.address != NULL ? mapping.address : no_bytes;
  status = open_validated(bytes, mapping.size, flags, model, error);
  if (status != THAW_OK) {
    thaw_platform_unmap_file(&mapping);
    /* The validator names no file; put the path in front of its message, or only the file's
     * name when the whole path would push the end of the message out of the buffer. */
    if (error != NULL) {
      char detail[sizeof error->message];
      memcpy(detail, error->message, sizeof detail);
      const char *slash = strrchr(path, '/');
      if (strlen(path) + 2 + strlen(detail) < sizeof error->message || slash == NULL)
        thaw_error_set(error, status, "%s: %s", path, detail);
      else
        thaw_error_set(error, status, ".../%s: %s", slash + 1, detail);
    }
    return status;
  }
  (*model)->mapping = mapping;
  return THAW_OK;
}

thaw_status thaw_model_open_memory(const void *bytes, size_t size, uint32_t flags,
                                   thaw_model **model, thaw_error *error) {
  if (model != NULL) *model = NULL;
  if (bytes == NULL || model == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_model_open_memory: bytes and model must not be NULL");
  }
  /* Constants are used in place, and the kernels rely on the file's 64-byte blob alignment. */
  if ((uintptr_t)bytes % THAW_FORMAT_BLOB_ALIGNMENT != 0) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_model_open_memory: bytes at %p are not %d-byte aligned", bytes,
                          THAW_FORMAT_BLOB_ALIGNMENT);
  }
  return open_validated(bytes, size, flags, model, error);
}

void thaw_model_close(thaw_model *model) {
  if (model == NULL) return;
  thaw_platform_unmap_file(&model->mapping);
  free(model);
}

void thaw_describe_tensor(const thaw_format_tensor *tensor, void *data, thaw_tensor *description) {
  memset(description, 0, sizeof *description);
  description->name = tensor->name;
  description->dtype = tensor->dtype;
  description->rank = tensor->rank;
  memcpy(description->shape, tensor->shape, tensor->rank * sizeof tensor->shape[0]);
  description->element_count = (size_t)tensor->element_count;
  description->size_bytes = (size_t)tensor->size;
  description->data = data;
}

size_t thaw_model_input_count(const thaw_model *model) {
  return model != NULL ? model->view.input_count : 0;
}

size_t thaw_model_output_count(const thaw_model *model) {
  return model != NULL ? model->view.output_count : 0;
}

thaw_status thaw_model_io_tensor(const thaw_model *model, bool output, size_t index, uint32_t *id) {
  const size_t count = output ? model->view.output_count : model->view.input_count;
  if (index >= count) return THAW_STATUS_INVALID_ARGUMENT;
  *id = output ? thaw_format_model_output(&model->view, (uint32_t)index)
               : thaw_format_model_input(&model->view, (uint32_t)index);
  return THAW_OK;
}

static thaw_status describe_io(const thaw_model *model, bool output, size_t index,
                               thaw_tensor *tensor) {
  uint32_t id;
  if (model == NULL || tensor == NULL ||
      thaw_model_io_tensor(model, output, index, &id) != THAW_OK) {
    return THAW_STATUS_INVALID_ARGUMENT;
  }
  thaw_describe_tensor(&model->tensors[id], NULL, tensor);
  return THAW_OK;
}

thaw_status thaw_model_input(const thaw_model *model, size_t index, thaw_tensor *tensor) {
  return describe_io(model, false, index, tensor);
}

thaw_status thaw_model_output(const thaw_model *model, size_t index, thaw_tensor *tensor) {
  return describe_io(model, true, index, tensor);
}

static thaw_status find_io(const thaw_model *model, bool output, const char *name, size_t *index) {
  if (model == NULL || name == NULL || index == NULL) return THAW_STATUS_INVALID_ARGUMENT;
  uint32_t id;
  for (size_t i = 0; thaw_model_io_tensor(model, output, i, &id) == THAW_OK; i++) {
    if (strcmp(model->tensors[id].name, name) == 0) {
      *index = i;
      return THAW_OK;
    }
  }
  return THAW_STATUS_NOT_FOUND;
}

thaw_status thaw_model_find_input(const thaw_model *model, const char *name, size_t *index) {
  return find_io(model, false, name, index);
}

thaw_status thaw_model_find_output(const thaw_model *model, const char *name, size_t *index) {
  return find_io(model, true, name, index);
}
