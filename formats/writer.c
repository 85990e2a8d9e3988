/*
 * The writer: collects tensors, nodes and metadata, plans the arena (plan.c), orders the
 * weights by first use and lays out the file. Mistakes in the caller's input are recorded
 * (first one wins) and reported by thaw_writer_finish; graph rules the reader enforces (order,
 * single producer...) are checked by running the reader over the finished bytes, so there is
 * one implementation of each rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format_internal.h"

#define CONVERTER_STRING "thaw " THAW_VERSION_STRING
#define MAX_ATTRS_SIZE 108 /* the largest attribute blob (thaw_permuted_matmul_attrs) */
_Static_assert(sizeof(thaw_permuted_matmul_attrs) == MAX_ATTRS_SIZE, "largest attribute blob");
_Static_assert(sizeof(thaw_qs8_conv_attrs) <= MAX_ATTRS_SIZE, "qs8 conv attributes fit");
_Static_assert(sizeof(thaw_slice_attrs) <= MAX_ATTRS_SIZE, "slice attributes fit");

typedef struct writer_tensor {
  char *name;
  uint32_t kind;
  thaw_dtype dtype;
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  uint32_t layout;
  uint8_t *data; /* CONSTANT only */
  uint64_t size;
} writer_tensor;

typedef struct writer_node {
  uint32_t op;
  char *name;
  uint8_t attrs[MAX_ATTRS_SIZE]; /* encoded little-endian */
  uint32_t refs_first, input_count, output_count;
} writer_node;

/* A growable array of fixed-size elements. */
typedef struct vector {
  void *items;
  uint32_t count, capacity;
} vector;

struct thaw_writer {
  vector tensors; /* writer_tensor */
  vector nodes;   /* writer_node */
  vector refs;    /* uint32_t */
  vector inputs;  /* uint32_t */
  vector outputs; /* uint32_t */
  vector states;  /* uint32_t pairs: output tensor, input tensor */
  char *producer;
  uint8_t source_hash[32];
  thaw_error first_error; /* status THAW_OK until the first mistake */
};

/* Where the next mistake is recorded: the writer's error the first time, NULL after. */
static thaw_error *error_slot(thaw_writer *writer) {
  return writer->first_error.status == THAW_OK ? &writer->first_error : NULL;
}

static void *vector_push(thaw_writer *writer, vector *v, size_t item_size, uint32_t count) {
  if ((uint64_t)v->count + count > UINT32_MAX - 1) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT, "too many entries (2^32)");
    return NULL;
  }
  if (v->count + count > v->capacity) {
    uint64_t capacity = v->capacity > 0 ? 2 * (uint64_t)v->capacity : 16;
    while (capacity < (uint64_t)v->count + count) capacity *= 2;
    if (capacity > UINT32_MAX) capacity = UINT32_MAX;
    void *items = realloc(v->items, capacity * item_size);
    if (items == NULL) {
      thaw_error_set(error_slot(writer), THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
      return NULL;
    }
    v->items = items;
    v->capacity = (uint32_t)capacity;
  }
  void *first = (uint8_t *)v->items + (size_t)v->count * item_size;
  v->count += count;
  return first;
}

static char *copy_string(thaw_writer *writer, const char *what, const char *text) {
  size_t length = strlen(text);
  if (length > THAW_FORMAT_MAX_STRING_LENGTH) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "%s '%.40s...' is %zu bytes, over the %d-byte limit", what, text, length,
                   THAW_FORMAT_MAX_STRING_LENGTH);
    return NULL;
  }
  char *copy = malloc(length + 1);
  if (copy == NULL) {
    thaw_error_set(error_slot(writer), THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
    return NULL;
  }
  memcpy(copy, text, length + 1);
  return copy;
}

static writer_tensor *tensor_at(const thaw_writer *writer, uint32_t id) {
  return (writer_tensor *)writer->tensors.items + id;
}

static writer_node *node_at(const thaw_writer *writer, uint32_t index) {
  return (writer_node *)writer->nodes.items + index;
}

static uint32_t *u32_items(const vector *v) { return v->items; }

thaw_writer *thaw_writer_create(void) { return calloc(1, sizeof(thaw_writer)); }

void thaw_writer_destroy(thaw_writer *writer) {
  if (writer == NULL) return;
  for (uint32_t i = 0; i < writer->tensors.count; i++) {
    free(tensor_at(writer, i)->name);
    free(tensor_at(writer, i)->data);
  }
  for (uint32_t i = 0; i < writer->nodes.count; i++) free(node_at(writer, i)->name);
  free(writer->tensors.items);
  free(writer->nodes.items);
  free(writer->refs.items);
  free(writer->inputs.items);
  free(writer->outputs.items);
  free(writer->states.items);
  free(writer->producer);
  free(writer);
}

/* Checks dtype, rank and dims and computes the byte size; false after recording an error. */
static bool tensor_byte_size(thaw_writer *writer, const char *name, thaw_dtype dtype,
                             uint32_t rank, const int64_t *shape, uint64_t *byte_size) {
  thaw_error *error = error_slot(writer);
  size_t element_size = thaw_dtype_size(dtype);
  if (element_size == 0) {
    thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "tensor '%s': unknown dtype %d", name, dtype);
    return false;
  }
  if (rank == 0 || rank > THAW_MAX_RANK || shape == NULL) {
    thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                   "tensor '%s': rank %u is outside [1, %d] (scalars are shape {1})", name, rank,
                   THAW_MAX_RANK);
    return false;
  }
  uint64_t size = element_size;
  for (uint32_t axis = 0; axis < rank; axis++) {
    if (shape[axis] < 1) {
      thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "tensor '%s': dim %u is %lld", name,
                     axis, (long long)shape[axis]);
      return false;
    }
    if (thaw_mul_overflows(size, (uint64_t)shape[axis], &size)) {
      thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "tensor '%s': size overflows 64 bits",
                     name);
      return false;
    }
  }
  *byte_size = size;
  return true;
}

/* The blob size of a GEMM-packed matrix, which only a rank-2 f32 constant may be; false after
 * recording an error. */
static bool panel16_byte_size(thaw_writer *writer, const char *name, uint32_t kind,
                              thaw_dtype dtype, uint32_t rank, const int64_t *shape,
                              uint64_t *byte_size) {
  if (kind != THAW_TENSOR_CONSTANT || dtype != THAW_DTYPE_F32 || rank != 2) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "tensor '%s': layout f32_gemm_panel16 is for rank-2 f32 constants", name);
    return false;
  }
  if (!thaw_layout_panel16_size((uint64_t)shape[0], (uint64_t)shape[1], byte_size)) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "tensor '%s': f32_gemm_panel16 size overflows 64 bits", name);
    return false;
  }
  return true;
}

/* The blob size of quantized weights, which only a rank-2 or rank-4 i8 constant may hold; false
 * after recording an error. */
static bool qs8_panel16_byte_size(thaw_writer *writer, const char *name, uint32_t kind,
                                  thaw_dtype dtype, uint32_t rank, const int64_t *shape,
                                  uint64_t *byte_size) {
  uint64_t k, n;
  if (kind != THAW_TENSOR_CONSTANT || dtype != THAW_DTYPE_I8 ||
      !thaw_layout_qs8_panel16_size(rank, shape, &k, &n, byte_size)) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "tensor '%s': layout qs8_gemm_panel16 is for rank-2 or rank-4 i8 constants "
                   "whose size fits in 64 bits",
                   name);
    return false;
  }
  return true;
}

uint32_t thaw_writer_add_tensor(thaw_writer *writer, const char *name, uint32_t kind,
                                thaw_dtype dtype, uint32_t rank, const int64_t *shape,
                                uint32_t layout, const void *data, uint64_t size) {
  if (writer == NULL || writer->first_error.status != THAW_OK) return UINT32_MAX;
  if (name == NULL || name[0] == '\0') {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT, "tensor name is empty");
    return UINT32_MAX;
  }
  if (layout > THAW_LAYOUT_MAX) {
    thaw_error_set(error_slot(writer), THAW_STATUS_UNSUPPORTED, "tensor '%s': unknown layout %u",
                   name, layout);
    return UINT32_MAX;
  }
  uint64_t byte_size;
  if (!tensor_byte_size(writer, name, dtype, rank, shape, &byte_size)) return UINT32_MAX;
  if (layout == THAW_LAYOUT_F32_GEMM_PANEL16 &&
      !panel16_byte_size(writer, name, kind, dtype, rank, shape, &byte_size)) {
    return UINT32_MAX;
  }
  if (layout == THAW_LAYOUT_QS8_GEMM_PANEL16 &&
      !qs8_panel16_byte_size(writer, name, kind, dtype, rank, shape, &byte_size)) {
    return UINT32_MAX;
  }
  if (kind == THAW_TENSOR_CONSTANT) {
    if (data == NULL || size != byte_size) {
      thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                     "constant '%s': %llu data bytes given, its shape, dtype and layout need "
                     "%llu",
                     name, (unsigned long long)(data == NULL ? 0 : size),
                     (unsigned long long)byte_size);
      return UINT32_MAX;
    }
  } else if (kind == THAW_TENSOR_ACTIVATION) {
    if (data != NULL || size != 0) {
      thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                     "activation '%s': pass data NULL and size 0", name);
      return UINT32_MAX;
    }
    if (byte_size > THAW_FORMAT_MAX_ARENA_BYTES) {
      thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                     "activation '%s': %llu bytes exceed the 2^40-byte arena limit", name,
                     (unsigned long long)byte_size);
      return UINT32_MAX;
    }
  } else {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "tensor '%s': unknown kind %u", name, kind);
    return UINT32_MAX;
  }

  writer_tensor tensor = {.kind = kind, .dtype = dtype, .rank = rank, .layout = layout,
                          .size = byte_size};
  memcpy(tensor.shape, shape, rank * sizeof *shape);
  tensor.name = copy_string(writer, "tensor name", name);
  if (tensor.name == NULL) return UINT32_MAX;
  if (kind == THAW_TENSOR_CONSTANT) {
    tensor.data = malloc(byte_size);
    if (tensor.data == NULL) {
      free(tensor.name);
      thaw_error_set(error_slot(writer), THAW_STATUS_OUT_OF_MEMORY,
                     "constant '%s': no memory for %llu bytes", name,
                     (unsigned long long)byte_size);
      return UINT32_MAX;
    }
    memcpy(tensor.data, data, byte_size);
  }
  uint32_t id = writer->tensors.count;
  writer_tensor *slot = vector_push(writer, &writer->tensors, sizeof tensor, 1);
  if (slot == NULL) {
    free(tensor.name);
    free(tensor.data);
    return UINT32_MAX;
  }
  *slot = tensor;
  return id;
}

static bool check_ids(thaw_writer *writer, const char *node_name, const char *role,
                      const uint32_t *ids, uint32_t count) {
  if (count > 0 && ids == NULL) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "node '%s': %u %ss but no array", node_name, count, role);
    return false;
  }
  for (uint32_t i = 0; i < count; i++) {
    if (ids[i] >= writer->tensors.count) {
      thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                     "node '%s': %s %u is tensor id %u, only %u tensors exist", node_name, role,
                     i, ids[i], writer->tensors.count);
      return false;
    }
  }
  return true;
}

void thaw_writer_add_node(thaw_writer *writer, uint32_t op, const char *name, const void *attrs,
                          const uint32_t *inputs, uint32_t input_count, const uint32_t *outputs,
                          uint32_t output_count) {
  if (writer == NULL || writer->first_error.status != THAW_OK) return;
  if (name == NULL) name = "";
  size_t attrs_size = thaw_op_attrs_size(op);
  if (thaw_op_name(op) == NULL) {
    thaw_error_set(error_slot(writer), THAW_STATUS_UNSUPPORTED, "node '%s': unknown op %u", name,
                   op);
    return;
  }
  if (attrs_size > 0 && attrs == NULL) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "node '%s' (%s): attributes are missing", name, thaw_op_name(op));
    return;
  }
  if (!check_ids(writer, name, "input", inputs, input_count) ||
      !check_ids(writer, name, "output", outputs, output_count)) {
    return;
  }
  writer_node node = {.op = op, .input_count = input_count, .output_count = output_count};
  if (attrs_size > 0) thaw_op_attrs_encode(op, attrs, node.attrs);
  uint32_t input_rank = input_count > 0 ? tensor_at(writer, inputs[0])->rank : 0;
  thaw_error check_error;
  if (thaw_op_check(op, name, input_count, output_count, input_rank, node.attrs, &check_error) !=
      THAW_OK) {
    /* The writer's caller passed the bad attributes: report them as an argument error. */
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT, "%s", check_error.message);
    return;
  }
  node.refs_first = writer->refs.count;
  uint32_t *refs = vector_push(writer, &writer->refs, sizeof *refs, input_count + output_count);
  if (refs == NULL) return;
  memcpy(refs, inputs, input_count * sizeof *inputs);
  memcpy(refs + input_count, outputs, output_count * sizeof *outputs);
  node.name = copy_string(writer, "node name", name);
  if (node.name == NULL) return;
  writer_node *slot = vector_push(writer, &writer->nodes, sizeof node, 1);
  if (slot == NULL) {
    free(node.name);
    return;
  }
  *slot = node;
}

static void add_model_io(thaw_writer *writer, vector *list, const char *role, uint32_t tensor) {
  if (writer == NULL || writer->first_error.status != THAW_OK) return;
  if (tensor >= writer->tensors.count) {
    thaw_error_set(error_slot(writer), THAW_STATUS_INVALID_ARGUMENT,
                   "model %s is tensor id %u, only %u tensors exist", role, tensor,
                   writer->tensors.count);
    return;
  }
  uint32_t *slot = vector_push(writer, list, sizeof *slot, 1);
  if (slot != NULL) *slot = tensor;
}

void thaw_writer_add_input(thaw_writer *writer, uint32_t tensor) {
  if (writer != NULL) add_model_io(writer, &writer->inputs, "input", tensor);
}

void thaw_writer_add_output(thaw_writer *writer, uint32_t tensor) {
  if (writer != NULL) add_model_io(writer, &writer->outputs, "output", tensor);
}

void thaw_writer_add_state(thaw_writer *writer, uint32_t output, uint32_t input) {
  if (writer == NULL || writer->first_error.status != THAW_OK) return;
  uint32_t *slot = vector_push(writer, &writer->states, sizeof *slot, 2);
  if (slot == NULL) return;
  slot[0] = output;
  slot[1] = input;
}

void thaw_writer_set_producer(thaw_writer *writer, const char *producer) {
  if (writer == NULL || writer->first_error.status != THAW_OK) return;
  char *copy = copy_string(writer, "producer", producer != NULL ? producer : "");
  if (copy == NULL) return;
  free(writer->producer);
  writer->producer = copy;
}

void thaw_writer_set_source_hash(thaw_writer *writer, const uint8_t hash[32]) {
  if (writer != NULL && hash != NULL) memcpy(writer->source_hash, hash, 32);
}

/* ---- finish ---- */

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static thaw_status check_unique_names(const thaw_writer *writer, thaw_error *error) {
  uint32_t count = writer->tensors.count;
  if (count < 2) return THAW_OK;
  char **names = malloc(count * sizeof *names);
  if (names == NULL) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
  for (uint32_t i = 0; i < count; i++) names[i] = tensor_at(writer, i)->name;
  qsort(names, count, sizeof *names, compare_names);
  thaw_status status = THAW_OK;
  for (uint32_t i = 1; i < count && status == THAW_OK; i++) {
    if (strcmp(names[i - 1], names[i]) == 0) {
      status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "duplicate tensor name '%s'",
                              names[i]);
    }
  }
  free(names);
  return status;
}

/* The position of `tensor` in a model input or output list, or UINT32_MAX. */
static uint32_t list_position(const vector *list, uint32_t tensor) {
  for (uint32_t i = 0; i < list->count; i++) {
    if (u32_items(list)[i] == tensor) return i;
  }
  return UINT32_MAX;
}

/* Every state pair joins a model output to a model input; the reader checks the rest. */
static thaw_status check_states(const thaw_writer *writer, thaw_error *error) {
  for (uint32_t i = 0; i + 1 < writer->states.count; i += 2) {
    const uint32_t output = u32_items(&writer->states)[i];
    const uint32_t input = u32_items(&writer->states)[i + 1];
    if (output >= writer->tensors.count || list_position(&writer->outputs, output) == UINT32_MAX) {
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "state pair %u: tensor %u is not a model output", i / 2, output);
    }
    if (input >= writer->tensors.count || list_position(&writer->inputs, input) == UINT32_MAX) {
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "state pair %u: tensor %u is not a model input", i / 2, input);
    }
  }
  return THAW_OK;
}

/* Where everything goes in the file. */
typedef struct file_layout {
  uint64_t strings_offset, strings_size;
  uint64_t tensors_offset, tensors_size;
  uint64_t graph_offset, graph_size;
  uint64_t plan_offset, plan_size;
  uint64_t meta_offset, meta_size;
  uint64_t state_offset, state_size; /* size 0: no STATE section */
  uint64_t weights_offset, weights_size;
  uint64_t file_size;
  uint32_t attr_bytes;
  uint32_t *name_offsets;  /* tensors then nodes, then producer and converter */
  uint64_t *blob_offsets;  /* per tensor, relative to the weights section */
  uint64_t *arena_offsets; /* per tensor */
  bool *concat_in_place;   /* per node: a CONCAT planned in place, written as CONCAT_IN_PLACE */
  uint64_t arena_size;
  uint64_t activation_bytes;
} file_layout;

/* Constants are laid out in the order the nodes first read them; unread ones go last. */
static void order_weights(const thaw_writer *writer, file_layout *layout, uint8_t *placed) {
  uint64_t cursor = 0;
  for (uint32_t n = 0; n < writer->nodes.count; n++) {
    const writer_node *node = node_at(writer, n);
    for (uint32_t i = 0; i < node->input_count; i++) {
      uint32_t t = u32_items(&writer->refs)[node->refs_first + i];
      if (tensor_at(writer, t)->kind != THAW_TENSOR_CONSTANT || placed[t]) continue;
      placed[t] = 1;
      cursor = thaw_align_up(cursor, THAW_FORMAT_BLOB_ALIGNMENT);
      layout->blob_offsets[t] = cursor;
      cursor += tensor_at(writer, t)->size;
    }
  }
  for (uint32_t t = 0; t < writer->tensors.count; t++) {
    if (tensor_at(writer, t)->kind != THAW_TENSOR_CONSTANT || placed[t]) continue;
    cursor = thaw_align_up(cursor, THAW_FORMAT_BLOB_ALIGNMENT);
    layout->blob_offsets[t] = cursor;
    cursor += tensor_at(writer, t)->size;
  }
  layout->weights_size = cursor;
}

static thaw_status plan_activations(const thaw_writer *writer, file_layout *layout,
                                    thaw_error *error) {
  uint32_t tensor_count = writer->tensors.count;
  thaw_plan_tensor *tensors = calloc(tensor_count > 0 ? tensor_count : 1, sizeof *tensors);
  thaw_plan_node *nodes = calloc(writer->nodes.count > 0 ? writer->nodes.count : 1, sizeof *nodes);
  thaw_status status = THAW_OK;
  if (tensors == NULL || nodes == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
    goto cleanup;
  }
  /* Sizes are each at most 2^40; their aligned sum bounds every planned offset. */
  uint64_t aligned_sum = 0;
  for (uint32_t t = 0; t < tensor_count; t++) {
    const writer_tensor *tensor = tensor_at(writer, t);
    tensors[t].size = tensor->size;
    tensors[t].is_activation = tensor->kind == THAW_TENSOR_ACTIVATION;
    if (!tensors[t].is_activation) continue;
    layout->activation_bytes += tensor->size;
    if (thaw_add_overflows(aligned_sum, thaw_align_up(tensor->size, THAW_FORMAT_ARENA_ALIGNMENT),
                           &aligned_sum)) {
      status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "activations total more than 2^64 bytes");
      goto cleanup;
    }
  }
  for (uint32_t i = 0; i < writer->inputs.count; i++) {
    tensors[u32_items(&writer->inputs)[i]].is_model_input = true;
  }
  for (uint32_t i = 0; i < writer->outputs.count; i++) {
    tensors[u32_items(&writer->outputs)[i]].is_model_output = true;
  }
  for (uint32_t n = 0; n < writer->nodes.count; n++) {
    const writer_node *node = node_at(writer, n);
    const uint32_t *refs = u32_items(&writer->refs) + node->refs_first;
    nodes[n] = (thaw_plan_node){node->op, refs, node->input_count, refs + node->input_count,
                                node->output_count, false};
    if (node->op == THAW_OP_CONCAT) {
      /* The op contract keeps the axis below the first part's rank: the dims read are inside
       * the shape array (a session checks the output's shape against the parts). */
      const writer_tensor *output = tensor_at(writer, refs[node->input_count]);
      thaw_axis_attrs attrs;
      thaw_op_attrs_decode(THAW_OP_CONCAT, node->attrs, &attrs);
      bool contiguous = true;
      for (uint32_t d = 0; d < attrs.axis; d++) contiguous = contiguous && output->shape[d] == 1;
      nodes[n].parts_contiguous = contiguous;
    }
  }
  status = thaw_plan_arena(tensors, tensor_count, nodes, writer->nodes.count,
                           layout->arena_offsets, &layout->arena_size, layout->concat_in_place,
                           error);
cleanup:
  free(tensors);
  free(nodes);
  return status;
}

static uint64_t place_section(uint64_t *cursor, uint64_t size) {
  uint64_t offset = thaw_align_up(*cursor, 8);
  *cursor = offset + size;
  return offset;
}

static thaw_status compute_layout(const thaw_writer *writer, file_layout *layout,
                                  thaw_error *error) {
  uint32_t tensor_count = writer->tensors.count, node_count = writer->nodes.count;
  /* Names are at most 1025 bytes with their NUL, so the u64 sum cannot overflow; offsets
   * past 2^32 are refused below, before any is used. */
  uint64_t strings_size = 0;
  for (uint32_t t = 0; t < tensor_count; t++) {
    layout->name_offsets[t] = (uint32_t)strings_size;
    strings_size += strlen(tensor_at(writer, t)->name) + 1;
  }
  for (uint32_t n = 0; n < node_count; n++) {
    layout->name_offsets[tensor_count + n] = (uint32_t)strings_size;
    strings_size += strlen(node_at(writer, n)->name) + 1;
  }
  const char *producer = writer->producer != NULL ? writer->producer : "";
  layout->name_offsets[tensor_count + node_count] = (uint32_t)strings_size;
  strings_size += strlen(producer) + 1;
  layout->name_offsets[tensor_count + node_count + 1] = (uint32_t)strings_size;
  strings_size += sizeof CONVERTER_STRING;
  if (strings_size > UINT32_MAX) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "names total more than 4 GiB, past the STRINGS section's u32 offsets");
  }

  uint32_t attr_bytes = 0;
  for (uint32_t n = 0; n < node_count; n++) attr_bytes += (uint32_t)thaw_op_attrs_size(node_at(writer, n)->op);
  layout->attr_bytes = attr_bytes;

  uint8_t *placed = calloc(tensor_count > 0 ? tensor_count : 1, 1);
  if (placed == NULL) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
  order_weights(writer, layout, placed);
  free(placed);

  const uint32_t state_count = writer->states.count / 2;
  uint64_t cursor = THAW_FORMAT_HEADER_SIZE +
                    (state_count > 0 ? 7 : 6) * THAW_FORMAT_SECTION_ENTRY_SIZE;
  layout->strings_size = strings_size;
  layout->strings_offset = place_section(&cursor, strings_size);
  layout->tensors_size = 8 + (uint64_t)tensor_count * THAW_FORMAT_TENSOR_RECORD_SIZE;
  layout->tensors_offset = place_section(&cursor, layout->tensors_size);
  layout->graph_size = 16 + (uint64_t)node_count * THAW_FORMAT_NODE_RECORD_SIZE +
                       4 * (uint64_t)writer->refs.count + attr_bytes;
  layout->graph_offset = place_section(&cursor, layout->graph_size);
  layout->plan_size = 8 + 8 * (uint64_t)tensor_count;
  layout->plan_offset = place_section(&cursor, layout->plan_size);
  layout->meta_size = 56 + 4 * ((uint64_t)writer->inputs.count + writer->outputs.count);
  layout->meta_offset = place_section(&cursor, layout->meta_size);
  if (state_count > 0) {
    layout->state_size = 8 + 8 * (uint64_t)state_count;
    layout->state_offset = place_section(&cursor, layout->state_size);
  }
  layout->weights_offset = thaw_align_up(cursor, THAW_FORMAT_WEIGHTS_ALIGNMENT);
  layout->file_size = layout->weights_offset + layout->weights_size;
  return plan_activations(writer, layout, error);
}

static void write_section_entry(uint8_t *entry, uint32_t kind, uint64_t offset, uint64_t size) {
  thaw_store_u32(entry, kind);
  thaw_store_u32(entry + 4, 0);
  thaw_store_u64(entry + 8, offset);
  thaw_store_u64(entry + 16, size);
}

/* Whether node n is a QS8MatMul or QS8Conv quantizing its input over the whole tensor. */
static bool quantizes_whole_tensor(const thaw_writer *writer, uint32_t n) {
  const writer_node *node = node_at(writer, n);
  if (node->op == THAW_OP_QS8_MATMUL) {
    thaw_qs8_matmul_attrs attrs;
    thaw_op_attrs_decode(node->op, node->attrs, &attrs);
    return attrs.input.mode == THAW_QS8_INPUT_DYNAMIC_TENSOR;
  }
  if (node->op == THAW_OP_QS8_CONV) {
    thaw_qs8_conv_attrs attrs;
    thaw_op_attrs_decode(node->op, node->attrs, &attrs);
    return attrs.input.mode == THAW_QS8_INPUT_DYNAMIC_TENSOR;
  }
  return false;
}

/* Files that use nothing newer than 1.0 stay readable by 1.0 readers; the GEMM-packed
 * layout came with 1.1; the quantized ops and their layout, the linear quantization ops, state
 * pairs and the recurrent ops with 1.2; the permuted MatMul with 1.3; the in-place Concat with
 * 1.4; the whole-tensor input quantization with 1.5. */
static uint16_t minimum_minor_version(const thaw_writer *writer, const file_layout *layout) {
  for (uint32_t n = 0; n < writer->nodes.count; n++)
    if (node_at(writer, n)->op == THAW_OP_QS8_GATHER) return 6;
  for (uint32_t n = 0; n < writer->nodes.count; n++)
    if (quantizes_whole_tensor(writer, n)) return 5;
  for (uint32_t n = 0; n < writer->nodes.count; n++)
    if (layout->concat_in_place[n]) return 4;
  for (uint32_t n = 0; n < writer->nodes.count; n++)
    if (node_at(writer, n)->op == THAW_OP_PERMUTED_MATMUL) return 3;
  if (writer->states.count > 0) return 2;
  uint16_t minor = 0;
  for (uint32_t t = 0; t < writer->tensors.count; t++) {
    if (tensor_at(writer, t)->layout == THAW_LAYOUT_QS8_GEMM_PANEL16) return 2;
    if (tensor_at(writer, t)->layout == THAW_LAYOUT_F32_GEMM_PANEL16) minor = 1;
  }
  for (uint32_t n = 0; n < writer->nodes.count; n++) {
    const uint32_t op = node_at(writer, n)->op;
    if (op == THAW_OP_QS8_MATMUL || op == THAW_OP_QS8_CONV || op == THAW_OP_LSTM ||
        op == THAW_OP_GRU || op == THAW_OP_QUANTIZE_LINEAR || op == THAW_OP_DEQUANTIZE_LINEAR ||
        op == THAW_OP_DYNAMIC_QUANTIZE_LINEAR)
      return 2;
  }
  return minor;
}

static void write_file(const thaw_writer *writer, const file_layout *layout, uint32_t flags,
                       uint8_t *file) {
  uint32_t tensor_count = writer->tensors.count, node_count = writer->nodes.count;
  const char *producer = writer->producer != NULL ? writer->producer : "";

  char *strings = (char *)file + layout->strings_offset;
  for (uint32_t t = 0; t < tensor_count; t++) {
    strcpy(strings + layout->name_offsets[t], tensor_at(writer, t)->name);
  }
  for (uint32_t n = 0; n < node_count; n++) {
    strcpy(strings + layout->name_offsets[tensor_count + n], node_at(writer, n)->name);
  }
  strcpy(strings + layout->name_offsets[tensor_count + node_count], producer);
  strcpy(strings + layout->name_offsets[tensor_count + node_count + 1], CONVERTER_STRING);

  uint8_t *tensors = file + layout->tensors_offset;
  thaw_store_u32(tensors, tensor_count);
  for (uint32_t t = 0; t < tensor_count; t++) {
    const writer_tensor *tensor = tensor_at(writer, t);
    uint8_t *record = tensors + 8 + (uint64_t)t * THAW_FORMAT_TENSOR_RECORD_SIZE;
    thaw_store_u32(record + 0, layout->name_offsets[t]);
    thaw_store_u32(record + 4, (uint32_t)strlen(tensor->name));
    record[8] = (uint8_t)tensor->dtype;
    record[9] = (uint8_t)tensor->rank;
    thaw_store_u16(record + 10, (uint16_t)tensor->layout);
    thaw_store_u32(record + 12, tensor->kind);
    for (uint32_t axis = 0; axis < tensor->rank; axis++) {
      thaw_store_u64(record + 16 + 8 * axis, (uint64_t)tensor->shape[axis]);
    }
    thaw_store_u64(record + 88, tensor->size);
    if (tensor->kind == THAW_TENSOR_CONSTANT) {
      uint64_t offset = layout->weights_offset + layout->blob_offsets[t];
      thaw_store_u64(record + 80, offset);
      memcpy(file + offset, tensor->data, tensor->size);
    }
  }

  uint8_t *graph = file + layout->graph_offset;
  thaw_store_u32(graph + 0, node_count);
  thaw_store_u32(graph + 4, writer->refs.count);
  thaw_store_u32(graph + 8, layout->attr_bytes);
  uint8_t *refs = graph + 16 + (uint64_t)node_count * THAW_FORMAT_NODE_RECORD_SIZE;
  for (uint32_t i = 0; i < writer->refs.count; i++) {
    thaw_store_u32(refs + 4 * (uint64_t)i, u32_items(&writer->refs)[i]);
  }
  uint8_t *attrs = refs + 4 * (uint64_t)writer->refs.count;
  uint32_t attr_offset = 0;
  for (uint32_t n = 0; n < node_count; n++) {
    const writer_node *node = node_at(writer, n);
    uint32_t attr_size = (uint32_t)thaw_op_attrs_size(node->op);
    uint8_t *record = graph + 16 + (uint64_t)n * THAW_FORMAT_NODE_RECORD_SIZE;
    thaw_store_u32(record + 0, layout->concat_in_place[n] ? THAW_OP_CONCAT_IN_PLACE : node->op);
    thaw_store_u32(record + 4, layout->name_offsets[tensor_count + n]);
    thaw_store_u32(record + 8, (uint32_t)strlen(node->name));
    thaw_store_u32(record + 12, node->refs_first);
    thaw_store_u32(record + 16, node->input_count);
    thaw_store_u32(record + 20, node->output_count);
    thaw_store_u32(record + 24, attr_offset);
    thaw_store_u32(record + 28, attr_size);
    memcpy(attrs + attr_offset, node->attrs, attr_size);
    attr_offset += attr_size;
  }

  uint8_t *plan = file + layout->plan_offset;
  thaw_store_u64(plan, layout->arena_size);
  for (uint32_t t = 0; t < tensor_count; t++) {
    thaw_store_u64(plan + 8 + 8 * (uint64_t)t, layout->arena_offsets[t]);
  }

  uint8_t *meta = file + layout->meta_offset;
  thaw_store_u32(meta + 0, writer->inputs.count);
  thaw_store_u32(meta + 4, writer->outputs.count);
  thaw_store_u32(meta + 8, layout->name_offsets[tensor_count + node_count]);
  thaw_store_u32(meta + 12, (uint32_t)strlen(producer));
  thaw_store_u32(meta + 16, layout->name_offsets[tensor_count + node_count + 1]);
  thaw_store_u32(meta + 20, (uint32_t)strlen(CONVERTER_STRING));
  memcpy(meta + 24, writer->source_hash, 32);
  uint8_t *ids = meta + 56;
  for (uint32_t i = 0; i < writer->inputs.count; i++, ids += 4) {
    thaw_store_u32(ids, u32_items(&writer->inputs)[i]);
  }
  for (uint32_t i = 0; i < writer->outputs.count; i++, ids += 4) {
    thaw_store_u32(ids, u32_items(&writer->outputs)[i]);
  }

  /* State pairs are stored as positions in the input and output lists. */
  const uint32_t state_count = writer->states.count / 2;
  if (state_count > 0) {
    uint8_t *state = file + layout->state_offset;
    thaw_store_u32(state, state_count);
    for (uint32_t i = 0; i < state_count; i++) {
      thaw_store_u32(state + 8 + 8 * (uint64_t)i,
                     list_position(&writer->inputs, u32_items(&writer->states)[2 * i + 1]));
      thaw_store_u32(state + 12 + 8 * (uint64_t)i,
                     list_position(&writer->outputs, u32_items(&writer->states)[2 * i]));
    }
  }

  uint8_t *table = file + THAW_FORMAT_HEADER_SIZE;
  write_section_entry(table + 0 * 24, THAW_SECTION_STRINGS, layout->strings_offset, layout->strings_size);
  write_section_entry(table + 1 * 24, THAW_SECTION_TENSORS, layout->tensors_offset, layout->tensors_size);
  write_section_entry(table + 2 * 24, THAW_SECTION_GRAPH, layout->graph_offset, layout->graph_size);
  write_section_entry(table + 3 * 24, THAW_SECTION_PLAN, layout->plan_offset, layout->plan_size);
  write_section_entry(table + 4 * 24, THAW_SECTION_META, layout->meta_offset, layout->meta_size);
  const uint32_t section_count = state_count > 0 ? 7 : 6;
  if (state_count > 0) {
    write_section_entry(table + 5 * 24, THAW_SECTION_STATE, layout->state_offset,
                        layout->state_size);
  }
  write_section_entry(table + (section_count - 1) * 24, THAW_SECTION_WEIGHTS,
                      layout->weights_offset, layout->weights_size);

  memcpy(file, THAW_FORMAT_MAGIC, THAW_FORMAT_MAGIC_SIZE);
  thaw_store_u16(file + THAW_HEADER_MAJOR, THAW_FORMAT_MAJOR);
  thaw_store_u16(file + THAW_HEADER_MINOR, minimum_minor_version(writer, layout));
  thaw_store_u32(file + THAW_HEADER_FLAGS, flags);
  thaw_store_u64(file + THAW_HEADER_FILE_SIZE, layout->file_size);
  if (flags & THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM) {
    thaw_store_u64(file + THAW_HEADER_WEIGHTS_CHECKSUM,
                   thaw_hash64(file + layout->weights_offset, layout->weights_size, 0));
  }
  thaw_store_u32(file + THAW_HEADER_SECTION_COUNT, section_count);
  thaw_store_u32(file + THAW_HEADER_HEADER_SIZE, THAW_FORMAT_HEADER_SIZE);
  thaw_store_u64(file + THAW_HEADER_HEADER_CHECKSUM,
                 thaw_format_header_checksum(file, layout->weights_offset));
}

thaw_status thaw_writer_finish(thaw_writer *writer, uint32_t flags, uint8_t **bytes,
                               uint64_t *size, thaw_writer_stats *stats, thaw_error *error) {
  if (writer == NULL || bytes == NULL || size == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_writer_finish: NULL writer or result pointer");
  }
  *bytes = NULL;
  *size = 0;
  if (writer->first_error.status != THAW_OK) {
    if (error != NULL) *error = writer->first_error;
    return writer->first_error.status;
  }
  if ((flags & ~(uint32_t)THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM) != 0) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "unknown writer flags 0x%x", flags);
  }
  thaw_status status = check_unique_names(writer, error);
  if (status == THAW_OK) status = check_states(writer, error);
  if (status != THAW_OK) return status;

  uint64_t count = writer->tensors.count > 0 ? writer->tensors.count : 1;
  file_layout layout = {0};
  layout.name_offsets = malloc((count + writer->nodes.count + 2) * sizeof *layout.name_offsets);
  layout.blob_offsets = calloc(count, sizeof *layout.blob_offsets);
  layout.arena_offsets = calloc(count, sizeof *layout.arena_offsets);
  layout.concat_in_place =
      calloc(writer->nodes.count > 0 ? writer->nodes.count : 1, sizeof *layout.concat_in_place);
  uint8_t *file = NULL;
  if (layout.name_offsets == NULL || layout.blob_offsets == NULL || layout.arena_offsets == NULL ||
      layout.concat_in_place == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "writer: out of memory");
    goto cleanup;
  }
  status = compute_layout(writer, &layout, error);
  if (status != THAW_OK) goto cleanup;
  /* 64-byte aligned, so the bytes can go straight to thaw_model_open_memory. */
  const uint64_t aligned_size = (layout.file_size + THAW_FORMAT_BLOB_ALIGNMENT - 1) &
                                ~(uint64_t)(THAW_FORMAT_BLOB_ALIGNMENT - 1);
  file = aligned_alloc(THAW_FORMAT_BLOB_ALIGNMENT, aligned_size);
  if (file != NULL) memset(file, 0, aligned_size);
  if (file == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "writer: no memory for a %llu-byte file",
                            (unsigned long long)layout.file_size);
    goto cleanup;
  }
  write_file(writer, &layout, flags, file);

  /* The reader owns the graph rules; a caller's graph that breaks one is an argument error. */
  thaw_format_view view;
  thaw_error reader_error;
  if (thaw_format_open(file, layout.file_size, &view, &reader_error) != THAW_OK) {
    status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "%s", reader_error.message);
    free(file);
    file = NULL;
    goto cleanup;
  }
  *bytes = file;
  *size = layout.file_size;
  if (stats != NULL) {
    stats->arena_bytes = layout.arena_size;
    stats->activation_bytes = layout.activation_bytes;
    stats->weights_bytes = layout.weights_size;
    stats->file_bytes = layout.file_size;
  }
cleanup:
  free(layout.name_offsets);
  free(layout.blob_offsets);
  free(layout.arena_offsets);
  free(layout.concat_in_place);
  return status;
}

thaw_status thaw_writer_write_file(thaw_writer *writer, const char *path, uint32_t flags,
                                   thaw_writer_stats *stats, thaw_error *error) {
  if (path == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "thaw_writer_write_file: NULL path");
  }
  uint8_t *bytes;
  uint64_t size;
  thaw_status status = thaw_writer_finish(writer, flags, &bytes, &size, stats, error);
  if (status != THAW_OK) return status;

  status = thaw_output_file_write(path, bytes, size, error);
  free(bytes);
  return status;
}
