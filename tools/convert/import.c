/* ONNX protobuf -> working graph: opsets, initializers (inline or external data), inputs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

#define CV_MIN_OPSET 9
#define CV_MAX_OPSET 17

thaw_dtype cv_dtype_from_onnx(int32_t onnx_type) {
  switch (onnx_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return THAW_DTYPE_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return THAW_DTYPE_U8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return THAW_DTYPE_I8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return THAW_DTYPE_I32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return THAW_DTYPE_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return THAW_DTYPE_BOOL;
    default: return (thaw_dtype)0;
  }
}

/* A relative path that stays inside the model's folder: no leading '/', no ".." component. */
static bool is_contained_path(const char *path) {
  if (path[0] == '\0' || path[0] == '/') return false;
  for (const char *part = path; part;) {
    const char *slash = strchr(part, '/');
    size_t length = slash ? (size_t)(slash - part) : strlen(part);
    if (length == 2 && part[0] == '.' && part[1] == '.') return false;
    part = slash ? slash + 1 : NULL;
  }
  return true;
}

static bool parse_u64(const char *text, uint64_t *value) {
  if (!text || text[0] < '0' || text[0] > '9') return false;
  char *end;
  errno = 0;
  unsigned long long parsed = strtoull(text, &end, 10);
  if (errno || *end) return false;
  *value = parsed;
  return true;
}

/* Reads the tensor's `expected` bytes from its side file into a buffer allocated only once the
 * file is known to hold them. */
static thaw_status read_external(const Onnx__TensorProto *tensor, const char *model_dir,
                                 const char *what, uint64_t expected, uint8_t **data,
                                 thaw_error *error) {
  if (!model_dir)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "tensor \"%s\" uses external data, which needs the model's folder", what);
  const char *location = NULL;
  uint64_t offset = 0, length = expected;
  bool has_length = false;
  for (size_t i = 0; i < tensor->n_external_data; ++i) {
    const Onnx__StringStringEntryProto *entry = tensor->external_data[i];
    if (!entry->key || !entry->value) continue;
    bool ok = true;
    if (strcmp(entry->key, "location") == 0) {
      location = entry->value;
    } else if (strcmp(entry->key, "offset") == 0) {
      ok = parse_u64(entry->value, &offset);
    } else if (strcmp(entry->key, "length") == 0) {
      ok = parse_u64(entry->value, &length);
      has_length = true;
    }
    if (!ok)
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "tensor \"%s\": external data %s \"%s\" is not a number", what,
                            entry->key, entry->value);
  }
  if (!location)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "tensor \"%s\": external data without a location", what);
  if (!is_contained_path(location))
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "tensor \"%s\": external data location \"%s\" leaves the model's "
                          "folder (absolute or ..)", what, location);
  if (has_length && length != expected)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "tensor \"%s\": external data length %" PRIu64 " != %" PRIu64
                          " bytes its dims need", what, length, expected);
  size_t path_length = strlen(model_dir) + strlen(location) + 2;
  char *path = malloc(path_length);
  if (!path) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  snprintf(path, path_length, "%s/%s", model_dir, location);
  FILE *file = fopen(path, "rb");
  thaw_status status = THAW_OK;
  if (!file) {
    status = thaw_error_set(error, THAW_STATUS_IO, "tensor \"%s\": cannot open %s: %s", what,
                            path, strerror(errno));
  } else {
    long file_size = -1;
    if (fseek(file, 0, SEEK_END) == 0) file_size = ftell(file);
    if (file_size < 0 || offset > (uint64_t)file_size || expected > (uint64_t)file_size - offset)
      status = thaw_error_set(error, THAW_STATUS_CORRUPT,
                              "tensor \"%s\": bytes [%" PRIu64 ", +%" PRIu64 ") are outside %s",
                              what, offset, expected, path);
    else if ((*data = malloc(expected ? (size_t)expected : 1)) == NULL)
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    else if (fseek(file, (long)offset, SEEK_SET) != 0 ||
             fread(*data, 1, expected, file) != expected) {
      status = thaw_error_set(error, THAW_STATUS_IO, "tensor \"%s\": cannot read %s", what, path);
      free(*data);
      *data = NULL;
    }
    fclose(file);
  }
  free(path);
  return status;
}

thaw_status cv_read_tensor(const Onnx__TensorProto *tensor, const char *model_dir,
                           const char *what, thaw_dtype *dtype, uint32_t *rank,
                           int64_t shape[THAW_MAX_RANK], uint8_t **data, thaw_error *error) {
  *dtype = cv_dtype_from_onnx(tensor->data_type);
  if (!*dtype)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "tensor \"%s\": ONNX data type %" PRId32 " is not supported", what,
                          tensor->data_type);
  if (tensor->n_dims > THAW_MAX_RANK)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "tensor \"%s\": rank %zu > %d", what,
                          tensor->n_dims, THAW_MAX_RANK);
  *rank = (uint32_t)tensor->n_dims;
  for (uint32_t d = 0; d < *rank; ++d) shape[d] = tensor->dims[d];
  uint64_t count;
  if (!cv_element_count(*rank, shape, &count))
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "tensor \"%s\": dims are negative or their product overflows", what);
  size_t element_size = thaw_dtype_size(*dtype);
  uint64_t bytes = count * element_size;
  if (bytes > SIZE_MAX - 1)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "tensor \"%s\" is too large", what);
  if (tensor->has_data_location &&
      tensor->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return read_external(tensor, model_dir, what, bytes, data, error);

  /* The stored values must match the dims before anything is allocated: a few hundred bytes of
   * protobuf may declare a terabyte tensor. */
  if (tensor->has_raw_data) {
    if (tensor->raw_data.len != bytes)
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "tensor \"%s\": raw_data has %zu bytes, dims x %s need %" PRIu64, what,
                            tensor->raw_data.len, thaw_dtype_name(*dtype), bytes);
  } else {
    /* int32_data carries int32, int8, uint8 and bool elements, one per entry. */
    size_t stored = *dtype == THAW_DTYPE_F32   ? tensor->n_float_data
                    : *dtype == THAW_DTYPE_I64 ? tensor->n_int64_data
                                               : tensor->n_int32_data;
    if (stored != count)
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "tensor \"%s\": %zu values stored, dims need %" PRIu64, what, stored,
                            count);
  }
  uint8_t *buffer = malloc(bytes ? (size_t)bytes : 1);
  if (!buffer) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  const void *stored_bytes = tensor->has_raw_data         ? (const void *)tensor->raw_data.data
                             : *dtype == THAW_DTYPE_F32 ? (const void *)tensor->float_data
                             : *dtype == THAW_DTYPE_I64 ? (const void *)tensor->int64_data
                                                        : NULL;
  if (stored_bytes != NULL) {
    /* An empty tensor may have no array at all, and memcpy must not see its NULL. */
    if (bytes != 0) memcpy(buffer, stored_bytes, (size_t)bytes);
  } else {
    for (uint64_t i = 0; i < count; ++i) {
      int32_t element = tensor->int32_data[i];
      if (*dtype == THAW_DTYPE_I32)
        memcpy(buffer + i * 4, &element, 4);
      else
        buffer[i] = (uint8_t)element;
    }
  }
  *data = buffer;
  return THAW_OK;
}

static thaw_status check_opsets(cv_graph *graph, const Onnx__ModelProto *model,
                                thaw_error *error) {
  graph->opset = 0;
  for (size_t i = 0; i < model->n_opset_import; ++i) {
    const Onnx__OperatorSetIdProto *opset = model->opset_import[i];
    const char *domain = opset->domain ? opset->domain : "";
    if (strcmp(domain, "") != 0 && strcmp(domain, "ai.onnx") != 0) continue;
    if (opset->version < CV_MIN_OPSET || opset->version > CV_MAX_OPSET)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "opset %" PRId64 " of the default domain is not supported (%d-%d)",
                            opset->version, CV_MIN_OPSET, CV_MAX_OPSET);
    graph->opset = opset->version;
  }
  if (!graph->opset)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "the model imports no opset of the default domain");
  return THAW_OK;
}

static const thaw_input_shape *find_input_shape(const thaw_convert_options *options,
                                                const char *name) {
  for (size_t i = 0; i < options->input_shape_count; ++i)
    if (options->input_shapes[i].name && strcmp(options->input_shapes[i].name, name) == 0)
      return &options->input_shapes[i];
  return NULL;
}

/* Append "name[d0,?,...]" describing the still-unknown dims of an input to `list`. */
static void describe_dynamic_input(char *list, size_t capacity, const char *name,
                                   const Onnx__TensorShapeProto *shape) {
  size_t used = strlen(list);
  used += (size_t)snprintf(list + used, used < capacity ? capacity - used : 0, "%s%s=", used ? " " : "", name);
  for (size_t d = 0; d < shape->n_dim && used < capacity; ++d) {
    const Onnx__TensorShapeProto__Dimension *dim = shape->dim[d];
    if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value >= 0)
      used += (size_t)snprintf(list + used, capacity - used, "%s%" PRId64, d ? "," : "", dim->dim_value);
    else
      used += (size_t)snprintf(list + used, capacity - used, "%s%s", d ? "," : "",
                               dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                                       dim->dim_param && dim->dim_param[0]
                                   ? dim->dim_param
                                   : "?");
  }
}

static thaw_status import_inputs(cv_graph *graph, const Onnx__GraphProto *onnx_graph,
                                 const thaw_convert_options *options, thaw_error *error) {
  char dynamic[200] = "";
  graph->inputs = malloc((onnx_graph->n_input + 1) * sizeof(uint32_t));
  if (!graph->inputs) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < onnx_graph->n_input; ++i) {
    const Onnx__ValueInfoProto *info = onnx_graph->input[i];
    const char *name = info->name ? info->name : "";
    /* Old exporters list initializers among the inputs: those are weights, not inputs. */
    if (cv_lookup_name(graph, name) != CV_NONE) continue;
    if (!info->type || info->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !info->type->tensor_type)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "input \"%s\" is not a tensor", name);
    const Onnx__TypeProto__Tensor *type = info->type->tensor_type;
    thaw_dtype dtype = cv_dtype_from_onnx(type->elem_type);
    if (!dtype)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "input \"%s\": ONNX data type %" PRId32 " is not supported", name,
                            type->elem_type);
    if (!type->shape)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "input \"%s\" declares no shape; its rank is unknown", name);
    size_t rank = type->shape->n_dim;
    if (rank > THAW_MAX_RANK)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "input \"%s\": rank %zu > %d", name,
                            rank, THAW_MAX_RANK);
    int64_t shape[THAW_MAX_RANK];
    const thaw_input_shape *pinned = find_input_shape(options, name);
    if (pinned) {
      if (pinned->rank != rank)
        return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "--input-shape %s has %" PRIu32 " dims, the model declares %zu",
                              name, pinned->rank, rank);
      for (size_t d = 0; d < rank; ++d) {
        const Onnx__TensorShapeProto__Dimension *dim = type->shape->dim[d];
        bool fixed = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                     dim->dim_value >= 0;
        if (fixed && dim->dim_value != pinned->dims[d])
          return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                                "--input-shape %s: dim %zu is %" PRId64 ", the model fixes it to %" PRId64,
                                name, d, pinned->dims[d], dim->dim_value);
        shape[d] = pinned->dims[d];
      }
    } else {
      bool known = true;
      for (size_t d = 0; d < rank; ++d) {
        const Onnx__TensorShapeProto__Dimension *dim = type->shape->dim[d];
        known &= dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                 dim->dim_value >= 0;
        shape[d] = known ? dim->dim_value : 0;
      }
      if (!known) {
        describe_dynamic_input(dynamic, sizeof(dynamic), name, type->shape);
        continue;
      }
    }
    /* A zero dim is a known size, not a dynamic one; the runtime has no empty tensors. */
    for (size_t d = 0; d < rank; ++d)
      if (shape[d] == 0)
        return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                              "input \"%s\" is a zero-size tensor (dim %zu is 0), which is not "
                              "supported", name, d);
    uint32_t value = cv_add_value(graph, name, dtype, (uint32_t)rank, shape);
    if (value == CV_NONE)
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "input \"%s\": shape too large", name);
    graph->values[value].is_input = true;
    graph->inputs[graph->input_count++] = value;
    thaw_status status = cv_bind_name(graph, name, value, error);
    if (status != THAW_OK) return status;
  }
  if (dynamic[0])
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "inputs with unknown dims: %s; pin them with --input-shape NAME=D0,D1,...",
                          dynamic);
  for (size_t i = 0; i < options->input_shape_count; ++i) {
    const char *name = options->input_shapes[i].name;
    uint32_t value = name ? cv_lookup_name(graph, name) : CV_NONE;
    if (value == CV_NONE || !graph->values[value].is_input)
      return thaw_error_set(error, THAW_STATUS_NOT_FOUND,
                            "--input-shape names \"%s\", which is not a model input",
                            name ? name : "(null)");
  }
  return THAW_OK;
}

thaw_status cv_import(cv_graph *graph, const Onnx__ModelProto *model, const char *model_dir,
                      const thaw_convert_options *options, thaw_error *error) {
  thaw_status status = check_opsets(graph, model, error);
  if (status != THAW_OK) return status;
  const char *producer = model->producer_name ? model->producer_name : "";
  const char *version = model->producer_version ? model->producer_version : "";
  size_t producer_length = strlen(producer) + strlen(version) + 2;
  graph->producer = malloc(producer_length);
  if (!graph->producer) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  snprintf(graph->producer, producer_length, "%s%s%s", producer, version[0] ? " " : "", version);

  const Onnx__GraphProto *onnx_graph = model->graph;
  if (onnx_graph->n_sparse_initializer)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "sparse initializers are not supported");
  for (size_t i = 0; i < onnx_graph->n_initializer; ++i) {
    const Onnx__TensorProto *tensor = onnx_graph->initializer[i];
    const char *name = tensor->name ? tensor->name : "";
    thaw_dtype dtype;
    uint32_t rank;
    int64_t shape[THAW_MAX_RANK];
    uint8_t *data;
    status = cv_read_tensor(tensor, model_dir, name, &dtype, &rank, shape, &data, error);
    if (status != THAW_OK) return status;
    uint32_t value = cv_add_value(graph, name, dtype, rank, shape);
    if (value == CV_NONE) {
      free(data);
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    }
    graph->values[value].data = data;
    status = cv_bind_name(graph, name, value, error);
    if (status != THAW_OK) return status;
  }
  return import_inputs(graph, onnx_graph, options, error);
}
