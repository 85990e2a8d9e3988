/* The converter's entry points, report, and the working-graph helpers every pass uses. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert_internal.h"

/* ---- Working graph ---- */

static bool grow(void **array, uint32_t *capacity, uint32_t needed, size_t element_size) {
  if (needed <= *capacity) return true;
  uint32_t new_capacity = *capacity ? *capacity : 16;
  while (new_capacity < needed) {
    if (new_capacity > UINT32_MAX / 2) return false;
    new_capacity *= 2;
  }
  void *grown = realloc(*array, (size_t)new_capacity * element_size);
  if (!grown) return false;
  *array = grown;
  *capacity = new_capacity;
  return true;
}

bool cv_element_count(uint32_t rank, const int64_t *shape, uint64_t *count) {
  uint64_t product = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    if (shape[d] < 0) return false;
    if (shape[d] != 0 && product > UINT64_MAX / (uint64_t)shape[d]) return false;
    product *= (uint64_t)shape[d];
  }
  /* Keep every byte size representable, even for 8-byte elements. */
  if (product > (UINT64_MAX >> 4)) return false;
  *count = product;
  return true;
}

uint64_t cv_value_bytes(const cv_value *value) {
  if (value->layout == THAW_LAYOUT_F32_GEMM_PANEL16)
    return thaw_f32_gemm_packed_b_size((size_t)value->shape[0], (size_t)value->shape[1]);
  uint64_t k, n, qs8_bytes;
  if (value->layout == THAW_LAYOUT_QS8_GEMM_PANEL16 &&
      thaw_layout_qs8_panel16_size(value->rank, value->shape, &k, &n, &qs8_bytes))
    return qs8_bytes;
  return value->element_count * thaw_dtype_size(value->dtype);
}

thaw_status cv_check_computed_constant(const cv_graph *graph, const uint32_t *inputs,
                                       uint32_t input_count, uint64_t output_bytes,
                                       thaw_error *error) {
  uint64_t input_bytes = 0;
  for (uint32_t i = 0; i < input_count; ++i)
    if (inputs[i] != CV_NONE && graph->values[inputs[i]].data != NULL)
      input_bytes += cv_value_bytes(&graph->values[inputs[i]]);
  const uint64_t limit =
      input_bytes > CV_COMPUTED_CONSTANT_BYTES / 4 ? 4 * input_bytes : CV_COMPUTED_CONSTANT_BYTES;
  if (output_bytes <= limit) return THAW_OK;
  return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                        "would compute a constant of %" PRIu64 " bytes; the converter "
                        "computes constants up to %" PRIu64 " MiB, or 4 times their inputs",
                        output_bytes, CV_COMPUTED_CONSTANT_BYTES >> 20);
}

uint32_t cv_add_value(cv_graph *graph, const char *name, thaw_dtype dtype, uint32_t rank,
                      const int64_t *shape) {
  uint64_t count;
  if (rank > THAW_MAX_RANK || !cv_element_count(rank, shape, &count)) return CV_NONE;
  if (!grow((void **)&graph->values, &graph->value_capacity, graph->value_count + 1,
            sizeof(cv_value)))
    return CV_NONE;
  char *copy = strdup(name);
  if (!copy) return CV_NONE;
  cv_value *value = &graph->values[graph->value_count];
  memset(value, 0, sizeof(*value));
  value->name = copy;
  value->dtype = dtype;
  value->rank = rank;
  if (rank) memcpy(value->shape, shape, rank * sizeof(int64_t));
  value->element_count = count;
  value->producer = CV_NONE;
  return graph->value_count++;
}

uint32_t cv_add_derived_value(cv_graph *graph, const char *base, const char *suffix,
                              thaw_dtype dtype, uint32_t rank, const int64_t *shape) {
  /* The value count makes the name unique even when a pass derives twice from one base. */
  size_t length = strlen(base) + strlen(suffix) + 16;
  char *name = malloc(length);
  if (!name) return CV_NONE;
  snprintf(name, length, "%s/%s%" PRIu32, base, suffix, graph->value_count);
  uint32_t id = cv_add_value(graph, name, dtype, rank, shape);
  free(name);
  return id;
}

uint32_t cv_add_constant(cv_graph *graph, const char *name, thaw_dtype dtype, uint32_t rank,
                         const int64_t *shape, const void *data) {
  uint32_t id = cv_add_derived_value(graph, name, "constant", dtype, rank, shape);
  if (id == CV_NONE) return CV_NONE;
  cv_value *value = &graph->values[id];
  uint64_t bytes = cv_value_bytes(value);
  value->data = malloc(bytes ? bytes : 1);
  if (!value->data) return CV_NONE;
  if (bytes) memcpy(value->data, data, bytes);
  return id;
}

uint32_t cv_add_node(cv_graph *graph, uint32_t op, const char *name, const cv_attrs *attrs,
                     const uint32_t *inputs, uint32_t input_count, const uint32_t *outputs,
                     uint32_t output_count) {
  if (!grow((void **)&graph->nodes, &graph->node_capacity, graph->node_count + 1,
            sizeof(cv_node)))
    return CV_NONE;
  cv_node *node = &graph->nodes[graph->node_count];
  memset(node, 0, sizeof(*node));
  node->name = strdup(name);
  node->inputs = malloc((input_count + 1) * sizeof(uint32_t));
  node->outputs = malloc((output_count + 1) * sizeof(uint32_t));
  if (!node->name || !node->inputs || !node->outputs) {
    free(node->name);
    free(node->inputs);
    free(node->outputs);
    return CV_NONE;
  }
  node->op = op;
  if (attrs) node->attrs = *attrs;
  memcpy(node->inputs, inputs, input_count * sizeof(uint32_t));
  memcpy(node->outputs, outputs, output_count * sizeof(uint32_t));
  node->input_count = input_count;
  node->output_count = output_count;
  for (uint32_t i = 0; i < output_count; ++i) graph->values[outputs[i]].producer = graph->node_count;
  return graph->node_count++;
}

static uint64_t name_hash(const char *name) {
  uint64_t hash = 1469598103934665603ull; /* FNV-1a */
  for (; *name; ++name) hash = (hash ^ (uint8_t)*name) * 1099511628211ull;
  return hash;
}

static bool name_map_insert(struct cv_name_slot *slots, uint32_t capacity, const char *name,
                            uint32_t value) {
  uint32_t mask = capacity - 1;
  for (uint32_t i = (uint32_t)name_hash(name) & mask;; i = (i + 1) & mask) {
    if (!slots[i].name) {
      slots[i].name = name;
      slots[i].value = value;
      return true;
    }
    if (strcmp(slots[i].name, name) == 0) return false;
  }
}

thaw_status cv_bind_name(cv_graph *graph, const char *name, uint32_t value, thaw_error *error) {
  if (name[0] == '\0')
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "a tensor has an empty name");
  if ((graph->name_count + 1) * 2 > graph->name_capacity) {
    uint32_t capacity = graph->name_capacity ? graph->name_capacity * 2 : 256;
    struct cv_name_slot *slots = calloc(capacity, sizeof(*slots));
    if (!slots) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    for (uint32_t i = 0; i < graph->name_capacity; ++i)
      if (graph->names[i].name)
        name_map_insert(slots, capacity, graph->names[i].name, graph->names[i].value);
    free(graph->names);
    graph->names = slots;
    graph->name_capacity = capacity;
  }
  /* The map keeps its own copy: the value may be renamed later. */
  if (!grow((void **)&graph->name_storage, &graph->name_storage_capacity,
            graph->name_storage_count + 1, sizeof(char *)))
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  char *copy = strdup(name);
  if (!copy) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  if (!name_map_insert(graph->names, graph->name_capacity, copy, value)) {
    free(copy);
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "tensor \"%s\" is defined twice", name);
  }
  graph->name_storage[graph->name_storage_count++] = copy;
  graph->name_count++;
  return THAW_OK;
}

static struct cv_name_slot *find_name(const cv_graph *graph, const char *name) {
  if (!graph->name_capacity) return NULL;
  uint32_t mask = graph->name_capacity - 1;
  for (uint32_t i = (uint32_t)name_hash(name) & mask; graph->names[i].name; i = (i + 1) & mask)
    if (strcmp(graph->names[i].name, name) == 0) return &graph->names[i];
  return NULL;
}

uint32_t cv_lookup_name(const cv_graph *graph, const char *name) {
  const struct cv_name_slot *slot = find_name(graph, name);
  return slot ? slot->value : CV_NONE;
}

void cv_rebind_names_from(cv_graph *graph, uint32_t first_binding, uint32_t value) {
  for (uint32_t i = first_binding; i < graph->name_storage_count; ++i)
    find_name(graph, graph->name_storage[i])->value = value;
}

void cv_graph_free(cv_graph *graph) {
  for (uint32_t i = 0; i < graph->value_count; ++i) {
    free(graph->values[i].name);
    free(graph->values[i].data);
  }
  for (uint32_t i = 0; i < graph->node_count; ++i) {
    free(graph->nodes[i].name);
    free(graph->nodes[i].inputs);
    free(graph->nodes[i].outputs);
  }
  for (uint32_t i = 0; i < graph->name_storage_count; ++i) free(graph->name_storage[i]);
  for (uint32_t i = 0; graph->output_names && i < graph->output_count; ++i)
    free(graph->output_names[i]);
  free(graph->output_names);
  free(graph->values);
  free(graph->nodes);
  free(graph->names);
  free(graph->name_storage);
  free(graph->inputs);
  free(graph->outputs);
  free(graph->producer);
  memset(graph, 0, sizeof(*graph));
}

thaw_status cv_report_unsupported(cv_graph *graph, const char *node_name, const char *op_type,
                                  const char *reason_format, ...) {
  thaw_convert_report *report = graph->report;
  size_t count = report->unsupported_count;
  thaw_convert_unsupported *grown =
      realloc(report->unsupported, (count + 1) * sizeof(thaw_convert_unsupported));
  if (!grown) return THAW_STATUS_OUT_OF_MEMORY;
  report->unsupported = grown;
  char reason[256];
  va_list args;
  va_start(args, reason_format);
  vsnprintf(reason, sizeof(reason), reason_format, args);
  va_end(args);
  thaw_convert_unsupported *entry = &grown[count];
  entry->node_name = strdup(node_name);
  entry->op_type = strdup(op_type);
  entry->reason = strdup(reason);
  if (!entry->node_name || !entry->op_type || !entry->reason) {
    free(entry->node_name);
    free(entry->op_type);
    free(entry->reason);
    return THAW_STATUS_OUT_OF_MEMORY;
  }
  report->unsupported_count = count + 1;
  return THAW_OK;
}

/* ---- Report ---- */

static const char *const count_names[THAW_CONVERT_COUNT_KINDS] = {
    [THAW_CONVERT_FOLDED_CONSTANT] = "folded_constant",
    [THAW_CONVERT_DROPPED_IDENTITY] = "dropped_identity",
    [THAW_CONVERT_FOLDED_BATCH_NORM] = "folded_batch_norm",
    [THAW_CONVERT_BATCH_NORM_AFFINE] = "batch_norm_affine",
    [THAW_CONVERT_FUSED_BIAS] = "fused_bias",
    [THAW_CONVERT_FUSED_ACTIVATION] = "fused_activation",
    [THAW_CONVERT_LAYER_NORM_PATTERN] = "layer_norm_pattern",
    [THAW_CONVERT_GELU_PATTERN] = "gelu_pattern",
    [THAW_CONVERT_SILU_PATTERN] = "silu_pattern",
    [THAW_CONVERT_HARD_SWISH_PATTERN] = "hard_swish_pattern",
    [THAW_CONVERT_FUSED_SCALE] = "fused_scale",
    [THAW_CONVERT_HARD_SWISH_CLIP] = "hard_swish_clip",
    [THAW_CONVERT_MERGED_AFFINE] = "merged_affine",
    [THAW_CONVERT_AFFINE_INTO_NEXT] = "affine_into_next",
};

const char *thaw_convert_count_name(thaw_convert_count kind) {
  return (unsigned)kind < THAW_CONVERT_COUNT_KINDS ? count_names[kind] : NULL;
}

void thaw_convert_report_free(thaw_convert_report *report) {
  if (!report) return;
  for (size_t i = 0; i < report->unsupported_count; ++i) {
    free(report->unsupported[i].node_name);
    free(report->unsupported[i].op_type);
    free(report->unsupported[i].reason);
  }
  free(report->unsupported);
  memset(report, 0, sizeof(*report));
}

void thaw_convert_report_print(const thaw_convert_report *report, bool json, FILE *stream) {
  if (json) {
    fprintf(stream, "{\"nodes_in\":%" PRIu32 ",\"ops_out\":%" PRIu32, report->nodes_in,
            report->ops_out);
    for (int kind = 0; kind < THAW_CONVERT_COUNT_KINDS; ++kind)
      fprintf(stream, ",\"%s\":%" PRIu32, count_names[kind], report->counts[kind]);
    fprintf(stream,
            ",\"weights_bytes\":%" PRIu64 ",\"packed_weights_bytes\":%" PRIu64
            ",\"arena_bytes\":%" PRIu64 ",\"activation_bytes\":%" PRIu64
            ",\"file_bytes\":%" PRIu64 ",\"quantized_ops\":%" PRIu32
            ",\"quantized_f32_bytes\":%" PRIu64 ",\"quantized_int8_bytes\":%" PRIu64
            ",\"seconds\":%.6f}\n",
            report->weights_bytes, report->packed_weights_bytes, report->arena_bytes,
            report->activation_bytes, report->file_bytes, report->quantized_ops,
            report->quantized_f32_bytes, report->quantized_int8_bytes, report->seconds);
    return;
  }
  fprintf(stream, "nodes: %" PRIu32 " ONNX -> %" PRIu32 " thaw ops\n", report->nodes_in,
          report->ops_out);
  for (int kind = 0; kind < THAW_CONVERT_COUNT_KINDS; ++kind)
    if (report->counts[kind])
      fprintf(stream, "  %-20s %" PRIu32 "\n", count_names[kind], report->counts[kind]);
  fprintf(stream, "weights: %" PRIu64 " bytes (%" PRIu64 " packed for GEMM)\n",
          report->weights_bytes, report->packed_weights_bytes);
  if (report->quantized_ops)
    fprintf(stream,
            "int8: %" PRIu32 " ops quantized, their weights %" PRIu64 " -> %" PRIu64
            " bytes\n",
            report->quantized_ops, report->quantized_f32_bytes, report->quantized_int8_bytes);
  fprintf(stream, "arena: %" PRIu64 " bytes (activations without reuse: %" PRIu64 ")\n",
          report->arena_bytes, report->activation_bytes);
  fprintf(stream, "file: %" PRIu64 " bytes, converted in %.3f s\n", report->file_bytes,
          report->seconds);
}

thaw_status thaw_convert_parse_input_shape(char *text, thaw_input_shape *shape,
                                           thaw_error *error) {
  char *equals = strrchr(text, '=');
  if (!equals || equals == text)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "input shape \"%s\" is not NAME=D0,D1,...", text);
  *equals = '\0';
  memset(shape, 0, sizeof(*shape));
  shape->name = text;
  char *cursor = equals + 1;
  while (*cursor) {
    if (shape->rank == THAW_MAX_RANK)
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "input shape for \"%s\" has more than %d dims", text, THAW_MAX_RANK);
    char *end;
    errno = 0;
    long long dim = strtoll(cursor, &end, 10);
    if (end == cursor || errno || dim < 0 || (*end != ',' && *end != '\0'))
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "input shape for \"%s\": \"%s\" is not a list of dims", text,
                            equals + 1);
    shape->dims[shape->rank++] = dim;
    cursor = *end ? end + 1 : end;
  }
  return THAW_OK;
}

thaw_status thaw_convert_parse_states(char *text, thaw_state_pair *pairs, size_t capacity,
                                      size_t *count, thaw_error *error) {
  for (char *item = text, *next; item; item = next) {
    next = strchr(item, ',');
    if (next) *next++ = '\0';
    char *equals = strchr(item, '=');
    if (!equals || equals == item || !equals[1] || strchr(equals + 1, '='))
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "state pair \"%s\" is not OUTPUT=INPUT", item);
    if (*count == capacity)
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "more than %zu state pairs",
                            capacity);
    *equals = '\0';
    pairs[(*count)++] = (thaw_state_pair){.output = item, .input = equals + 1};
  }
  return THAW_OK;
}

/* ---- Entry points ---- */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *protobuf_alloc(void *context, size_t size) {
  (void)context;
  return malloc(size);
}

static void protobuf_free(void *context, void *pointer) {
  (void)context;
  free(pointer);
}

static thaw_status convert(const void *onnx_bytes, size_t onnx_size, const char *model_dir,
                           const thaw_convert_options *options, uint8_t **thaw_bytes,
                           uint64_t *thaw_size, thaw_convert_report *report, thaw_error *error) {
  double start = now_seconds();
  static const thaw_convert_options default_options;
  if (!options) options = &default_options;
  ProtobufCAllocator allocator = {protobuf_alloc, protobuf_free, NULL};
  Onnx__ModelProto *model = onnx__model_proto__unpack(&allocator, onnx_size, onnx_bytes);
  if (!model) return thaw_error_set(error, THAW_STATUS_CORRUPT, "not a valid ONNX protobuf");
  if (!model->graph) {
    onnx__model_proto__free_unpacked(model, &allocator);
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "the ONNX model has no graph");
  }
  cv_graph graph = {.report = report};
  report->nodes_in = model->graph->n_node > UINT32_MAX ? UINT32_MAX : (uint32_t)model->graph->n_node;
  uint8_t hash[32];
  cv_sha256(onnx_bytes, onnx_size, hash);
  thaw_status status = cv_import(&graph, model, model_dir, options, error);
  if (status == THAW_OK) status = cv_lower(&graph, model->graph, model_dir, error);
  onnx__model_proto__free_unpacked(model, &allocator);
  if (status == THAW_OK) status = cv_fuse(&graph, error);
  if (status == THAW_OK) status = cv_fuse_qdq(&graph, error);
  if (status == THAW_OK && options->quantize_int8) status = cv_quantize(&graph, options, error);
  if (status == THAW_OK)
    status = cv_emit(&graph, hash, options, thaw_bytes, thaw_size, error);
  cv_graph_free(&graph);
  report->seconds = now_seconds() - start;
  return status;
}

thaw_status thaw_convert_onnx_memory(const void *onnx_bytes, size_t onnx_size,
                                     const char *model_dir, const thaw_convert_options *options,
                                     uint8_t **thaw_bytes, uint64_t *thaw_size,
                                     thaw_convert_report *report, thaw_error *error) {
  thaw_convert_report local_report;
  thaw_error local_error;
  if (!report) report = &local_report;
  /* The passes read messages back (to list deep refusals), so there is always an error. */
  if (!error) error = &local_error;
  memset(report, 0, sizeof(*report));
  thaw_status status;
  if (!onnx_bytes || !thaw_bytes || !thaw_size)
    status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "NULL argument");
  else
    status = convert(onnx_bytes, onnx_size, model_dir, options, thaw_bytes, thaw_size, report,
                     error);
  if (report == &local_report) thaw_convert_report_free(&local_report);
  return status;
}

/* Every failure returns its status as a literal (not thaw_error_set's result), so both reader and
 * compiler can see that `*bytes`, `*size` and `*model_dir` are set exactly when THAW_OK is
 * returned. */
static thaw_status read_onnx_file(const char *path, uint8_t **bytes, size_t *size,
                                  char **model_dir, thaw_error *error) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    thaw_error_set(error, THAW_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
    return THAW_STATUS_IO;
  }
  long length = -1;
  if (fseek(file, 0, SEEK_END) == 0) length = ftell(file);
  if (length < 0 || fseek(file, 0, SEEK_SET) != 0) {
    fclose(file);
    thaw_error_set(error, THAW_STATUS_IO, "cannot size %s", path);
    return THAW_STATUS_IO;
  }
  uint8_t *buffer = malloc(length ? (size_t)length : 1);
  if (!buffer) {
    fclose(file);
    thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory reading %s", path);
    return THAW_STATUS_OUT_OF_MEMORY;
  }
  bool complete = fread(buffer, 1, (size_t)length, file) == (size_t)length;
  fclose(file);
  if (!complete) {
    free(buffer);
    thaw_error_set(error, THAW_STATUS_IO, "cannot read %s", path);
    return THAW_STATUS_IO;
  }
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
  if (!dir) {
    free(buffer);
    thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    return THAW_STATUS_OUT_OF_MEMORY;
  }
  *bytes = buffer;
  *size = (size_t)length;
  *model_dir = dir;
  return THAW_OK;
}

thaw_status thaw_convert_onnx_file(const char *onnx_path, const thaw_convert_options *options,
                                   uint8_t **thaw_bytes, uint64_t *thaw_size,
                                   thaw_convert_report *report, thaw_error *error) {
  if (report) memset(report, 0, sizeof(*report));
  if (!onnx_path)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "NULL ONNX path");
  uint8_t *bytes;
  size_t size;
  char *model_dir;
  thaw_status status = read_onnx_file(onnx_path, &bytes, &size, &model_dir, error);
  if (status != THAW_OK) return status;
  status = thaw_convert_onnx_memory(bytes, size, model_dir, options, thaw_bytes, thaw_size,
                                    report, error);
  free(bytes);
  free(model_dir);
  return status;
}

thaw_status thaw_convert_onnx_file_to_file(const char *onnx_path, const char *thaw_path,
                                           const thaw_convert_options *options,
                                           thaw_convert_report *report, thaw_error *error) {
  if (report) memset(report, 0, sizeof(*report));
  if (!thaw_path)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "NULL output path");
  uint8_t *bytes;
  uint64_t size;
  thaw_status status = thaw_convert_onnx_file(onnx_path, options, &bytes, &size, report, error);
  if (status != THAW_OK) return status;
  status = thaw_output_file_write(thaw_path, bytes, size, error);
  free(bytes);
  return status;
}
