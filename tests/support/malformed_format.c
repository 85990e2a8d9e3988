/* The format reader's table: a valid file with one field set to a value the reader must
 * refuse, and the same file cut short at every section boundary. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malformed_files.h"
#include "test_support.h"

/* Tensor and node ids of the base model built below. */
enum { T_X, T_W, T_B, T_T, T_R, T_Y, T_ORPHAN, T_COUNT };
enum { N_CONV, N_RESHAPE, N_RELU };

/* Header fields, by byte offset. */
enum { HEADER_CHECKSUM_AT = 24 };

typedef struct base_model {
  test_model_bytes file;
  thaw_format_view view;
} base_model;

static const char *const kBaseInputs[] = {"x"};

static base_model build_base_model(void) {
  thaw_writer *writer = thaw_writer_create();
  if (writer == NULL) fail_msg("out of memory for the writer");
  const int64_t image[4] = {1, 2, 4, 4}, weights[4] = {2, 2, 1, 1}, bias[1] = {2};
  const int64_t flat[2] = {1, 32}, single[1] = {1};
  const float w[4] = {1, 2, 3, 4}, b[2] = {5, 6};
  uint32_t ids[T_COUNT];
  ids[T_X] = thaw_writer_add_tensor(writer, "x", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 4, image, 0, NULL, 0);
  ids[T_W] = thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 4, weights, 0, w, sizeof w);
  ids[T_B] = thaw_writer_add_tensor(writer, "b", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 1, bias, 0, b, sizeof b);
  ids[T_T] = thaw_writer_add_tensor(writer, "t", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 4, image, 0, NULL, 0);
  ids[T_R] = thaw_writer_add_tensor(writer, "r", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2, flat, 0, NULL, 0);
  ids[T_Y] = thaw_writer_add_tensor(writer, "y", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2, flat, 0, NULL, 0);
  ids[T_ORPHAN] = thaw_writer_add_tensor(writer, "orphan", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 1, single, 0, NULL, 0);
  for (uint32_t t = 0; t < T_COUNT; t++) assert_int_equal(ids[t], t);
  const thaw_conv_attrs conv = {1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, {THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
  const uint32_t conv_in[3] = {T_X, T_W, T_B}, conv_out = T_T, t = T_T, r = T_R, y = T_Y;
  thaw_writer_add_node(writer, THAW_OP_CONV, "conv", &conv, conv_in, 3, &conv_out, 1);
  thaw_writer_add_node(writer, THAW_OP_RESHAPE, "flatten", NULL, &t, 1, &r, 1);
  thaw_writer_add_node(writer, THAW_OP_UNARY, "relu", &relu, &r, 1, &y, 1);
  thaw_writer_add_input(writer, T_X);
  thaw_writer_add_output(writer, T_Y);
  uint8_t *bytes = NULL;
  uint64_t size = 0;
  thaw_error error = {0};
  /* No weights checksum: the table's offsets and flag values assume a plain header. */
  if (thaw_writer_finish(writer, 0, &bytes, &size, NULL, &error) != THAW_OK) {
    fail_msg("base model: %s", error.message);
  }
  thaw_writer_destroy(writer);
  base_model base = {test_model_alloc((size_t)size), {0}};
  memcpy(base.file.bytes, bytes, size);
  free(bytes);
  if (thaw_format_open(base.file.bytes, base.file.size, &base.view, &error) != THAW_OK) {
    fail_msg("base model refused: %s", error.message);
  }
  return base;
}

/* Where a mutated field lives. */
typedef enum region {
  HEADER, SECTION_ENTRY, TENSORS_HEADER, TENSOR, GRAPH_HEADER, NODE, REF, NODE_ATTRS,
  PLAN_HEADER, PLAN_OFFSET, META, STRINGS,
} region;

static uint64_t load_le(const uint8_t *p, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; i--) value = value << 8 | p[i];
  return value;
}

static uint64_t region_offset(const base_model *base, region where, uint32_t index) {
  const thaw_format_view *view = &base->view;
  const uint8_t *start = base->file.bytes;
  switch (where) {
    case HEADER: return 0;
    case SECTION_ENTRY: return 64 + 24 * (uint64_t)index;
    case TENSORS_HEADER: return (uint64_t)(view->tensor_records - start) - 8;
    case TENSOR: return (uint64_t)(view->tensor_records - start) + 96 * (uint64_t)index;
    case GRAPH_HEADER: return (uint64_t)(view->node_records - start) - 16;
    case NODE: return (uint64_t)(view->node_records - start) + 32 * (uint64_t)index;
    case REF: return (uint64_t)(view->refs - start) + 4 * (uint64_t)index;
    case NODE_ATTRS: {
      thaw_format_node node;
      thaw_format_get_node(view, index, &node);
      return (uint64_t)(node.attrs - start);
    }
    case PLAN_HEADER: return (uint64_t)(view->plan_offsets - start) - 8;
    case PLAN_OFFSET: return (uint64_t)(view->plan_offsets - start) + 8 * (uint64_t)index;
    case META: return (uint64_t)(view->input_ids - start) - 56;
    case STRINGS: return (uint64_t)((const uint8_t *)view->strings - start);
  }
  return 0;
}

/* The base's field, read from the untouched original. */
static uint64_t base_field(const base_model *base, region where, uint32_t index, uint32_t field,
                           int width) {
  return load_le(base->file.bytes + region_offset(base, where, index) + field, width);
}

/* Mutations beyond "set one field"; `bytes` has room for 8 more than `*size`. */
typedef void (*custom_mutation)(const base_model *base, uint8_t *bytes, uint64_t *size);

typedef struct malformed_case {
  const char *what;
  region where;
  uint32_t index;
  uint32_t field;  /* byte offset inside the record */
  int width;       /* 1, 2, 4 or 8 */
  uint64_t value;
  custom_mutation custom; /* used instead of the field write when set */
  bool keep_checksum;     /* do not recompute the header checksum */
  thaw_status status;
  const char *fragment;
} malformed_case;

static void store_field(const base_model *base, uint8_t *bytes, region where, uint32_t index,
                        uint32_t field, int width, uint64_t value) {
  thaw_test_store_le(bytes + region_offset(base, where, index) + field, width, value);
}

static void truncate_to_header_part(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)base, (void)bytes;
  *size = 20;
}
static void make_empty(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)base, (void)bytes;
  *size = 0;
}
static void make_tiny(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)base, (void)bytes;
  *size = 5;
}
static void append_bytes(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)base;
  memset(bytes + *size, 0, 8);
  *size += 8;
}
static void flip_string_byte(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  bytes[region_offset(base, STRINGS, 0) + 3] ^= 0x20;
}
static void input_on_conv_output_bytes(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, PLAN_OFFSET, T_X, 0, 8, base_field(base, PLAN_OFFSET, T_T, 0, 8));
}
static void bias_on_weight_bytes(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, TENSOR, T_B, 80, 8, base_field(base, TENSOR, T_W, 80, 8));
}
static void constant_past_weights(const base_model *base, uint8_t *bytes, uint64_t *size) {
  store_field(base, bytes, TENSOR, T_W, 80, 8, (*size + 63) / 64 * 64);
}
static void weights_start_misaligned(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, SECTION_ENTRY, 5, 8, 8, base_field(base, SECTION_ENTRY, 5, 8, 8) - 64);
  store_field(base, bytes, SECTION_ENTRY, 5, 16, 8, base_field(base, SECTION_ENTRY, 5, 16, 8) + 64);
}
static void strings_start_misaligned(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, SECTION_ENTRY, 0, 8, 8, base_field(base, SECTION_ENTRY, 0, 8, 8) + 4);
  store_field(base, bytes, SECTION_ENTRY, 0, 16, 8, base_field(base, SECTION_ENTRY, 0, 16, 8) - 4);
}
static void graph_overlaps_tensors(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, SECTION_ENTRY, 2, 8, 8, base_field(base, SECTION_ENTRY, 1, 8, 8) + 8);
}
static void plan_past_arena(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint64_t arena = base_field(base, PLAN_HEADER, 0, 0, 8);
  store_field(base, bytes, PLAN_OFFSET, T_Y, 0, 8, (arena + 63) / 64 * 64);
}
static void arena_larger_than_needed(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, PLAN_HEADER, 0, 0, 8, base_field(base, PLAN_HEADER, 0, 0, 8) + 64);
}
static void no_outputs_one_more_input(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, META, 0, 0, 4, 2);
  store_field(base, bytes, META, 0, 4, 4, 0);
}
static void orphan_over_arena_limit(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, TENSOR, T_ORPHAN, 16, 8, UINT64_C(1) << 39);
  store_field(base, bytes, TENSOR, T_ORPHAN, 88, 8, UINT64_C(1) << 41);
}
static void name_spans_a_nul(const base_model *base, uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_field(base, bytes, TENSOR, T_X, 4, 4, 3); /* "x\0w" */
}

#define FIELD(w, i, f, width, v) w, i, f, width, (uint64_t)(v), NULL, false
#define CUSTOM(fn) HEADER, 0, 0, 0, 0, fn, false
/* The edit is to the checksummed bytes themselves, so the checksum must stay stale. */
#define CUSTOM_UNSEALED(fn) HEADER, 0, 0, 0, 0, fn, true

// clang-format off
static const malformed_case kCases[] = {
    /* Header. */
    {"empty file", CUSTOM(make_empty), THAW_STATUS_NOT_A_MODEL, "empty file"},
    {"five bytes", CUSTOM(make_tiny), THAW_STATUS_NOT_A_MODEL, "bad magic"},
    {"header cut short", CUSTOM(truncate_to_header_part), THAW_STATUS_CORRUPT, "header alone needs 64"},
    {"bad magic", FIELD(HEADER, 0, 1, 1, 'X'), THAW_STATUS_NOT_A_MODEL, "bad magic"},
    {"newer major", FIELD(HEADER, 0, 8, 2, 2), THAW_STATUS_VERSION, "file is format 2.0, this reader reads 1.x"},
    {"older major", FIELD(HEADER, 0, 8, 2, 0), THAW_STATUS_VERSION, "file is format 0.0"},
    {"trailing bytes", CUSTOM(append_bytes), THAW_STATUS_CORRUPT, "trailing bytes: header says"},
    {"file_size too big", FIELD(HEADER, 0, 16, 8, UINT64_MAX), THAW_STATUS_CORRUPT, "truncated: header says 18446744073709551615 bytes"},
    {"header_size", FIELD(HEADER, 0, 44, 4, 48), THAW_STATUS_CORRUPT, "header_size is 48"},
    {"reserved header byte", FIELD(HEADER, 0, 60, 1, 1), THAW_STATUS_CORRUPT, "reserved byte 60"},
    {"unknown flag", FIELD(HEADER, 0, 12, 4, 0x20), THAW_STATUS_UNSUPPORTED, "unknown header flags 0x20"},
    {"huge section count", FIELD(HEADER, 0, 40, 4, 1000000), THAW_STATUS_CORRUPT, "truncated: section table of 1000000 entries"},
    {"header checksum", CUSTOM_UNSEALED(flip_string_byte), THAW_STATUS_CHECKSUM, "header checksum mismatch"},
    /* Section table. */
    {"section past end", FIELD(SECTION_ENTRY, 1, 8, 8, 1 << 30), THAW_STATUS_CORRUPT, "section TENSORS at 1073741824"},
    {"section size wraps", FIELD(SECTION_ENTRY, 2, 16, 8, UINT64_MAX - 8), THAW_STATUS_CORRUPT, "section GRAPH at"},
    {"section overlap", CUSTOM(graph_overlaps_tensors), THAW_STATUS_CORRUPT, "section GRAPH at"},
    {"section entry reserved", FIELD(SECTION_ENTRY, 3, 4, 4, 1), THAW_STATUS_CORRUPT, "(PLAN): reserved field"},
    {"misaligned weights", CUSTOM(weights_start_misaligned), THAW_STATUS_CORRUPT, "misaligned: WEIGHTS section starts at"},
    {"misaligned strings", CUSTOM(strings_start_misaligned), THAW_STATUS_CORRUPT, "misaligned: section STRINGS"},
    {"missing section", FIELD(SECTION_ENTRY, 4, 0, 4, 99), THAW_STATUS_CORRUPT, "missing section META"},
    {"duplicate section", FIELD(SECTION_ENTRY, 3, 0, 4, THAW_SECTION_META), THAW_STATUS_CORRUPT, "section META appears twice"},
    {"weights not at file end", FIELD(SECTION_ENTRY, 5, 16, 8, 0), THAW_STATUS_CORRUPT, "WEIGHTS must be the last section"},
    /* TENSORS. */
    {"tensor count", FIELD(TENSORS_HEADER, 0, 0, 4, T_COUNT + 1), THAW_STATUS_CORRUPT, "8 tensor records need"},
    {"tensors reserved", FIELD(TENSORS_HEADER, 0, 4, 4, 5), THAW_STATUS_CORRUPT, "TENSORS reserved field"},
    {"rank 0", FIELD(TENSOR, T_T, 9, 1, 0), THAW_STATUS_CORRUPT, "tensor 't': rank 0 is outside [1, 8]"},
    {"rank 9", FIELD(TENSOR, T_T, 9, 1, 9), THAW_STATUS_CORRUPT, "tensor 't': rank 9 is outside"},
    {"unknown dtype", FIELD(TENSOR, T_W, 8, 1, 42), THAW_STATUS_UNSUPPORTED, "tensor 'w': unknown dtype 42"},
    {"unknown layout", FIELD(TENSOR, T_W, 10, 2, 7), THAW_STATUS_UNSUPPORTED, "tensor 'w': unknown layout 7"},
    {"unknown kind", FIELD(TENSOR, T_T, 12, 4, 3), THAW_STATUS_CORRUPT, "tensor 't': unknown kind 3"},
    {"zero dim", FIELD(TENSOR, T_T, 16 + 8 * 2, 8, 0), THAW_STATUS_CORRUPT, "tensor 't': dim 2 is 0"},
    {"negative dim", FIELD(TENSOR, T_T, 16, 8, -5), THAW_STATUS_CORRUPT, "dim 0 is -5"},
    {"unused dim set", FIELD(TENSOR, T_B, 16 + 8 * 5, 8, 2), THAW_STATUS_CORRUPT, "tensor 'b': unused dim 5 is 2"},
    {"element count overflow", FIELD(TENSOR, T_T, 16 + 8, 8, UINT64_C(1) << 62), THAW_STATUS_CORRUPT, "tensor 't': element count overflows 64 bits"},
    {"byte size overflow", FIELD(TENSOR, T_B, 16, 8, UINT64_C(1) << 62), THAW_STATUS_CORRUPT, "tensor 'b': byte size overflows 64 bits"},
    {"size mismatch", FIELD(TENSOR, T_W, 88, 8, 20), THAW_STATUS_CORRUPT, "tensor 'w': size is 20 bytes"},
    {"activation too big", CUSTOM(orphan_over_arena_limit), THAW_STATUS_CORRUPT, "activation 'orphan': 2199023255552 bytes exceed"},
    {"activation file offset", FIELD(TENSOR, T_T, 80, 8, 4096), THAW_STATUS_CORRUPT, "activation 't': file offset is 4096"},
    {"misaligned constant", FIELD(TENSOR, T_W, 80, 8, 0), THAW_STATUS_CORRUPT, "constant 'w' at 0"},
    {"constant past weights", CUSTOM(constant_past_weights), THAW_STATUS_CORRUPT, "constant 'w' at"},
    {"overlapping constants", CUSTOM(bias_on_weight_bytes), THAW_STATUS_CORRUPT, "constant tensors 'w' and 'b' overlap"},
    {"name offset past strings", FIELD(TENSOR, T_R, 0, 4, 0xFFFFFFF0u), THAW_STATUS_CORRUPT, "tensor 4: name with its NUL lies past"},
    {"name too long", FIELD(TENSOR, T_R, 4, 4, 5000), THAW_STATUS_CORRUPT, "tensor 4: name is longer"},
    {"name contains NUL", CUSTOM(name_spans_a_nul), THAW_STATUS_CORRUPT, "tensor 0: name contains a NUL"},
    {"name not NUL-terminated", FIELD(STRINGS, 0, 1, 1, 'q'), THAW_STATUS_CORRUPT, "tensor 0: name is not followed by a NUL"},
    /* PLAN. */
    {"arena too big", FIELD(PLAN_HEADER, 0, 0, 8, (UINT64_C(1) << 40) + 1), THAW_STATUS_CORRUPT, "arena_size 1099511627777 exceeds"},
    {"arena larger than its activations", CUSTOM(arena_larger_than_needed), THAW_STATUS_CORRUPT, "is larger than the"},
    {"arena offset past arena_size", CUSTOM(plan_past_arena), THAW_STATUS_CORRUPT, "activation 'y' at arena offset"},
    {"arena offset misaligned", FIELD(PLAN_OFFSET, T_R, 0, 8, 8), THAW_STATUS_CORRUPT, "activation 'r' at arena offset 8 is not a multiple of 64"},
    {"constant arena offset", FIELD(PLAN_OFFSET, T_W, 0, 8, 64), THAW_STATUS_CORRUPT, "constant 'w' has arena offset 64"},
    {"input shares bytes", CUSTOM(input_on_conv_output_bytes), THAW_STATUS_CORRUPT, "share arena bytes"},
    /* META. */
    {"meta counts vs size", FIELD(META, 0, 0, 4, 3), THAW_STATUS_CORRUPT, "META section is"},
    {"no outputs", CUSTOM(no_outputs_one_more_input), THAW_STATUS_CORRUPT, "META lists no model outputs"},
    {"producer past strings", FIELD(META, 0, 8, 4, 0x7FFFFFFF), THAW_STATUS_CORRUPT, "META producer string"},
    {"input id out of range", FIELD(META, 0, 56, 4, 77), THAW_STATUS_CORRUPT, "model input 0 refers to tensor 77"},
    {"input is a constant", FIELD(META, 0, 56, 4, T_W), THAW_STATUS_CORRUPT, "model input 'w' is not an activation"},
    {"output is an input", FIELD(META, 0, 60, 4, T_X), THAW_STATUS_CORRUPT, "'x' is both a model input and a model output"},
    {"output never produced", FIELD(META, 0, 60, 4, T_ORPHAN), THAW_STATUS_CORRUPT, "model output 'orphan' is not produced"},
    /* GRAPH. */
    {"graph sizes", FIELD(GRAPH_HEADER, 0, 4, 4, 9), THAW_STATUS_CORRUPT, "GRAPH section is"},
    {"graph reserved", FIELD(GRAPH_HEADER, 0, 12, 4, 1), THAW_STATUS_CORRUPT, "GRAPH reserved field"},
    {"unknown op", FIELD(NODE, N_RELU, 0, 4, 99), THAW_STATUS_UNSUPPORTED, "node 'relu': unknown op 99"},
    {"refs past ref_count", FIELD(NODE, N_RELU, 12, 4, 7), THAW_STATUS_CORRUPT, "node 'relu' (Unary): refs [7, 9) run past"},
    {"ref out of range", FIELD(REF, 1, 0, 4, 1000), THAW_STATUS_CORRUPT, "node 'conv' (Conv): input 1 refers to tensor 1000"},
    {"wrong attr size", FIELD(NODE, N_RELU, 28, 4, 4), THAW_STATUS_CORRUPT, "attribute blob is 4 bytes, the op needs 12"},
    {"attrs past blob", FIELD(NODE, N_RELU, 24, 4, 4096), THAW_STATUS_CORRUPT, "node 'relu' (Unary): attribute blob at 4096"},
    {"attrs misaligned", FIELD(NODE, N_RELU, 24, 4, 2), THAW_STATUS_CORRUPT, "is misaligned"},
    {"too few inputs", FIELD(NODE, N_CONV, 16, 4, 1), THAW_STATUS_CORRUPT, "node 'conv' (Conv): 1 inputs, needs 2 to 3"},
    {"conv stride 0", FIELD(NODE_ATTRS, N_CONV, 0, 4, 0), THAW_STATUS_CORRUPT, "node 'conv' (Conv): stride_h is 0"},
    {"conv groups 0", FIELD(NODE_ATTRS, N_CONV, 32, 4, 0), THAW_STATUS_CORRUPT, "groups is 0"},
    {"unknown fused func", FIELD(NODE_ATTRS, N_CONV, 44, 4, 50), THAW_STATUS_UNSUPPORTED, "unknown unary function 50"},
    {"unknown unary func", FIELD(NODE_ATTRS, N_RELU, 0, 4, 99), THAW_STATUS_UNSUPPORTED, "node 'relu' (Unary): unknown unary function 99"},
    {"used before produced", FIELD(REF, 6, 0, 4, T_Y), THAW_STATUS_CORRUPT, "input 0 ('y') is read before any node produces it"},
    {"produced twice", FIELD(REF, 5, 0, 4, T_T), THAW_STATUS_CORRUPT, "activation 't' is produced twice (again by node 'flatten')"},
    {"writes a constant", FIELD(REF, 3, 0, 4, T_B), THAW_STATUS_CORRUPT, "output 0 ('b') is a constant"},
    {"writes a model input", FIELD(REF, 3, 0, 4, T_X), THAW_STATUS_CORRUPT, "output 0 writes model input 'x'"},
    {"node name", FIELD(NODE, N_CONV, 8, 4, 0xFFFFFF), THAW_STATUS_CORRUPT, "node 0: name is longer"},
};
// clang-format on

enum { CASE_COUNT = sizeof kCases / sizeof kCases[0] };

size_t thaw_malformed_format_count(void) { return CASE_COUNT; }

static void describe(thaw_malformed_file *file, thaw_status status, const char *fragment) {
  file->status = status;
  file->fragment = fragment;
  file->input_count = sizeof kBaseInputs / sizeof kBaseInputs[0];
  for (uint32_t k = 0; k < file->input_count; k++) file->input_names[k] = kBaseInputs[k];
}

void thaw_malformed_format_build(size_t index, thaw_malformed_file *file) {
  if (index >= CASE_COUNT) fail_msg("format case %zu of %d", index, (int)CASE_COUNT);
  const malformed_case *c = &kCases[index];
  base_model base = build_base_model();
  /* Room for the bytes append_bytes adds. */
  test_model_bytes mutated = test_model_alloc(base.file.size + 8);
  memcpy(mutated.bytes, base.file.bytes, base.file.size);
  uint64_t size = base.file.size;
  if (c->custom != NULL) {
    c->custom(&base, mutated.bytes, &size);
  } else {
    store_field(&base, mutated.bytes, c->where, c->index, c->field, c->width, c->value);
  }
  if (!c->keep_checksum && size >= base.view.weights_offset) {
    thaw_test_store_le(mutated.bytes + HEADER_CHECKSUM_AT, 8,
                       thaw_format_header_checksum(mutated.bytes, base.view.weights_offset));
  }
  mutated.size = (size_t)size;
  free(base.file.bytes);
  *file = (thaw_malformed_file){.file = mutated};
  snprintf(file->name, sizeof file->name, "%s", c->what);
  describe(file, c->status, c->fragment);
}

/* Cut points: every section start, a few bytes past each, and a few in the header. */
enum { SECTION_COUNT = 6, CUTS_PER_SECTION = 3, MAX_CUTS = SECTION_COUNT * CUTS_PER_SECTION + 3 };

static size_t truncation_points(const base_model *base, uint64_t cuts[MAX_CUTS]) {
  static const uint64_t past_section_start[CUTS_PER_SECTION] = {0, 3, 17};
  uint64_t candidates[MAX_CUTS];
  size_t candidate_count = 0;
  for (uint32_t s = 0; s < SECTION_COUNT; s++) {
    const uint64_t offset = base_field(base, SECTION_ENTRY, s, 8, 8);
    for (int k = 0; k < CUTS_PER_SECTION; k++)
      candidates[candidate_count++] = offset + past_section_start[k];
  }
  candidates[candidate_count++] = 64;
  candidates[candidate_count++] = 64 + 24 * 3 + 5;
  candidates[candidate_count++] = base->file.size - 1;
  size_t cut_count = 0;
  for (size_t i = 0; i < candidate_count; i++)
    if (candidates[i] < base->file.size) cuts[cut_count++] = candidates[i];
  return cut_count;
}

size_t thaw_malformed_truncated_count(void) {
  base_model base = build_base_model();
  uint64_t cuts[MAX_CUTS];
  const size_t count = truncation_points(&base, cuts);
  free(base.file.bytes);
  return count;
}

void thaw_malformed_truncated_build(size_t index, thaw_malformed_file *file) {
  base_model base = build_base_model();
  uint64_t cuts[MAX_CUTS];
  const size_t count = truncation_points(&base, cuts);
  if (index >= count) fail_msg("truncation case %zu of %zu", index, count);
  test_model_bytes cut = test_model_alloc((size_t)cuts[index]);
  memcpy(cut.bytes, base.file.bytes, cut.size);
  free(base.file.bytes);
  *file = (thaw_malformed_file){.file = cut};
  snprintf(file->name, sizeof file->name, "cut at %zu", cut.size);
  describe(file, THAW_STATUS_CORRUPT, "truncated: header says");
}

test_model_bytes thaw_malformed_format_base(void) {
  return build_base_model().file;
}
