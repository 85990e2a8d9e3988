/*
 * A table of malformed files, each built by mutating one field of a valid file (then
 * recomputing the header checksum, so the rule under test is what refuses it) and each
 * refused with its specific status and a message naming what is wrong. Also a table of node
 * contracts broken one attribute at a time. Runs under ASan/UBSan in CI: nothing may crash.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "test_support.h"

/* Tensor and node ids of the base model built below. */
enum { T_X, T_W, T_B, T_T, T_R, T_Y, T_ORPHAN, T_COUNT };
enum { N_CONV, N_RESHAPE, N_RELU };

static uint8_t *g_base;
static uint64_t g_base_size;
static thaw_format_view g_view;

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

static void store_le(uint8_t *p, int width, uint64_t value) {
  for (int i = 0; i < width; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static uint64_t region_offset(region where, uint32_t index) {
  const uint8_t *base = g_base;
  switch (where) {
    case HEADER: return 0;
    case SECTION_ENTRY: return 64 + 24 * (uint64_t)index;
    case TENSORS_HEADER: return (uint64_t)(g_view.tensor_records - base) - 8;
    case TENSOR: return (uint64_t)(g_view.tensor_records - base) + 96 * (uint64_t)index;
    case GRAPH_HEADER: return (uint64_t)(g_view.node_records - base) - 16;
    case NODE: return (uint64_t)(g_view.node_records - base) + 32 * (uint64_t)index;
    case REF: return (uint64_t)(g_view.refs - base) + 4 * (uint64_t)index;
    case NODE_ATTRS: {
      thaw_format_node node;
      thaw_format_get_node(&g_view, index, &node);
      return (uint64_t)(node.attrs - base);
    }
    case PLAN_HEADER: return (uint64_t)(g_view.plan_offsets - base) - 8;
    case PLAN_OFFSET: return (uint64_t)(g_view.plan_offsets - base) + 8 * (uint64_t)index;
    case META: return (uint64_t)(g_view.input_ids - base) - 56;
    case STRINGS: return (uint64_t)((const uint8_t *)g_view.strings - base);
  }
  return 0;
}

/* Mutations beyond "set one field". */
typedef void (*custom_mutation)(uint8_t *bytes, uint64_t *size);

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

static uint64_t tensor_field(uint32_t tensor, uint32_t field) {
  return load_le(g_base + region_offset(TENSOR, tensor) + field, 8);
}

static void truncate_to_header_part(uint8_t *bytes, uint64_t *size) { (void)bytes; *size = 20; }
static void make_empty(uint8_t *bytes, uint64_t *size) { (void)bytes; *size = 0; }
static void make_tiny(uint8_t *bytes, uint64_t *size) { (void)bytes; *size = 5; }
static void append_bytes(uint8_t *bytes, uint64_t *size) {
  memset(bytes + *size, 0, 8);
  *size += 8;
}
static void flip_string_byte(uint8_t *bytes, uint64_t *size) {
  (void)size;
  bytes[region_offset(STRINGS, 0) + 3] ^= 0x20;
}
static void input_on_conv_output_bytes(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint64_t t_offset = load_le(g_base + region_offset(PLAN_OFFSET, T_T), 8);
  store_le(bytes + region_offset(PLAN_OFFSET, T_X), 8, t_offset);
}
static void bias_on_weight_bytes(uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_le(bytes + region_offset(TENSOR, T_B) + 80, 8, tensor_field(T_W, 80));
}
static void constant_past_weights(uint8_t *bytes, uint64_t *size) {
  store_le(bytes + region_offset(TENSOR, T_W) + 80, 8, (*size + 63) / 64 * 64);
}
static void weights_start_misaligned(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint8_t *entry = bytes + region_offset(SECTION_ENTRY, 5);
  store_le(entry + 8, 8, load_le(entry + 8, 8) - 64);
  store_le(entry + 16, 8, load_le(entry + 16, 8) + 64);
}
static void strings_start_misaligned(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint8_t *entry = bytes + region_offset(SECTION_ENTRY, 0);
  store_le(entry + 8, 8, load_le(entry + 8, 8) + 4);
  store_le(entry + 16, 8, load_le(entry + 16, 8) - 4);
}
static void graph_overlaps_tensors(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint64_t tensors_offset = load_le(bytes + region_offset(SECTION_ENTRY, 1) + 8, 8);
  store_le(bytes + region_offset(SECTION_ENTRY, 2) + 8, 8, tensors_offset + 8);
}
static void plan_past_arena(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint64_t arena = load_le(g_base + region_offset(PLAN_HEADER, 0), 8);
  store_le(bytes + region_offset(PLAN_OFFSET, T_Y), 8, (arena + 63) / 64 * 64);
}
static void arena_larger_than_needed(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint64_t arena = load_le(g_base + region_offset(PLAN_HEADER, 0), 8);
  store_le(bytes + region_offset(PLAN_HEADER, 0), 8, arena + 64);
}
static void no_outputs_one_more_input(uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_le(bytes + region_offset(META, 0), 4, 2);
  store_le(bytes + region_offset(META, 0) + 4, 4, 0);
}
static void orphan_over_arena_limit(uint8_t *bytes, uint64_t *size) {
  (void)size;
  uint8_t *record = bytes + region_offset(TENSOR, T_ORPHAN);
  store_le(record + 16, 8, UINT64_C(1) << 39);
  store_le(record + 88, 8, UINT64_C(1) << 41);
}
static void name_spans_a_nul(uint8_t *bytes, uint64_t *size) {
  (void)size;
  store_le(bytes + region_offset(TENSOR, T_X) + 4, 4, 3); /* "x\0w" */
}

#define FIELD(w, i, f, width, v) w, i, f, width, (uint64_t)(v), NULL, false
#define CUSTOM(fn) HEADER, 0, 0, 0, 0, fn, false

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
    {"header checksum", CUSTOM(flip_string_byte), THAW_STATUS_CHECKSUM, "header checksum mismatch"},
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

static void build_base_model(void) {
  thaw_writer *writer = thaw_writer_create();
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
  thaw_error error = {0};
  if (thaw_writer_finish(writer, 0, &g_base, &g_base_size, NULL, &error) != THAW_OK) {
    fail_msg("base model: %s", error.message);
  }
  thaw_writer_destroy(writer);
  assert_int_equal(thaw_format_open(g_base, g_base_size, &g_view, &error), THAW_OK);
}

/* Open `bytes` from a fresh 64-byte aligned copy sized exactly, so ASan sees any overread. */
static thaw_status open_copy(const uint8_t *bytes, uint64_t size, thaw_error *error) {
  uint8_t *copy = malloc(size > 0 ? size : 1);
  assert_non_null(copy);
  memcpy(copy, bytes, size);
  thaw_format_view view;
  thaw_status status = thaw_format_open(copy, size, &view, error);
  free(copy);
  return status;
}

static void expect_refused(const char *what, const uint8_t *bytes, uint64_t size,
                           thaw_status status, const char *fragment) {
  thaw_error error = {0};
  thaw_status got = open_copy(bytes, size, &error);
  if (got != status || strstr(error.message, fragment) == NULL) {
    fail_msg("%s: got %s '%s', want %s containing '%s'", what, thaw_status_str(got),
             error.message, thaw_status_str(status), fragment);
  }
  assert_int_equal(error.status, status);
}

static void test_malformed_table(void **state) {
  (void)state;
  uint8_t *bytes = malloc(g_base_size + 64);
  assert_non_null(bytes);
  for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; i++) {
    const malformed_case *c = &kCases[i];
    memcpy(bytes, g_base, g_base_size);
    uint64_t size = g_base_size;
    if (c->custom != NULL) {
      c->custom(bytes, &size);
    } else {
      store_le(bytes + region_offset(c->where, c->index) + c->field, c->width, c->value);
    }
    if (!c->keep_checksum && c->custom != flip_string_byte && size >= g_view.weights_offset) {
      store_le(bytes + 24, 8, thaw_format_header_checksum(bytes, g_view.weights_offset));
    }
    expect_refused(c->what, bytes, size, c->status, c->fragment);
  }
  free(bytes);
}

/* Cut at every section boundary and a few bytes past each: always "truncated". */
static void test_truncated_everywhere(void **state) {
  (void)state;
  uint64_t cuts[64];
  size_t cut_count = 0;
  for (uint32_t s = 0; s < 6; s++) {
    uint64_t offset = load_le(g_base + region_offset(SECTION_ENTRY, s) + 8, 8);
    cuts[cut_count++] = offset;
    cuts[cut_count++] = offset + 3;
    cuts[cut_count++] = offset + 17;
  }
  cuts[cut_count++] = 64;
  cuts[cut_count++] = 64 + 24 * 3 + 5;
  cuts[cut_count++] = g_base_size - 1;
  for (size_t i = 0; i < cut_count; i++) {
    if (cuts[i] >= g_base_size) continue;
    char what[64];
    snprintf(what, sizeof what, "cut at %llu", (unsigned long long)cuts[i]);
    expect_refused(what, g_base, cuts[i], THAW_STATUS_CORRUPT, "truncated: header says");
  }
}

/* Every single-byte prefix of the header region is refused without a fault. */
static void test_every_short_prefix(void **state) {
  (void)state;
  for (uint64_t size = 0; size < 64; size++) {
    thaw_error error = {0};
    thaw_status status = open_copy(g_base, size, &error);
    assert_true(status == THAW_STATUS_NOT_A_MODEL || status == THAW_STATUS_CORRUPT);
  }
}

/* ---- Node contracts, one broken attribute at a time ---- */

typedef struct contract_case {
  const char *what;
  uint32_t op;
  uint32_t input_count, output_count, input_rank;
  uint32_t words[16]; /* the attribute blob as 32-bit words */
  thaw_status status;
  const char *fragment;
} contract_case;

/* IEEE-754 single-precision bit patterns. */
#define F_ZERO 0x00000000u
#define F_ONE 0x3F800000u
#define F_SIX 0x40C00000u
#define F_NAN 0x7FC00000u
#define F_INFINITY 0x7F800000u

static const contract_case kContractCases[] = {
    {"concat without inputs", THAW_OP_CONCAT, 0, 1, 0, {0}, THAW_STATUS_CORRUPT, "0 inputs, needs at least 1"},
    {"split without outputs", THAW_OP_SPLIT, 1, 0, 2, {0}, THAW_STATUS_CORRUPT, "0 outputs, needs at least 1"},
    {"where with two inputs", THAW_OP_WHERE, 2, 1, 2, {0}, THAW_STATUS_CORRUPT, "2 inputs, needs 3 to 3"},
    {"softmax axis past rank", THAW_OP_SOFTMAX, 1, 1, 2, {2}, THAW_STATUS_CORRUPT, "axis 2 is not below the input rank 2"},
    {"unknown binary func", THAW_OP_BINARY, 2, 1, 2, {8}, THAW_STATUS_UNSUPPORTED, "unknown binary function 8"},
    {"transpose repeats an axis", THAW_OP_TRANSPOSE, 1, 1, 3, {0, 1, 1}, THAW_STATUS_CORRUPT, "not a permutation"},
    {"transpose axis past rank", THAW_OP_TRANSPOSE, 1, 1, 2, {0, 2}, THAW_STATUS_CORRUPT, "not a permutation"},
    {"transpose tail not zero", THAW_OP_TRANSPOSE, 1, 1, 2, {1, 0, 3}, THAW_STATUS_CORRUPT, "past the input rank must be 0"},
    {"slice step 0", THAW_OP_SLICE, 1, 1, 2, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, THAW_STATUS_CORRUPT, "steps must be non-zero"},
    {"slice negative start", THAW_OP_SLICE, 1, 1, 1, {(uint32_t)-1, 0, 0, 0, 0, 0, 0, 0, 1}, THAW_STATUS_CORRUPT, "starts must be >= 0"},
    {"resize mode", THAW_OP_RESIZE, 1, 1, 2, {3, 1, 1, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "unknown resize mode 3"},
    {"resize coordinates", THAW_OP_RESIZE, 1, 1, 2, {2, 9, 0, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "coordinate transformation 9"},
    {"resize rounding", THAW_OP_RESIZE, 1, 1, 2, {1, 1, 0, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "nearest rounding 0"},
    {"resize scale zero", THAW_OP_RESIZE, 1, 1, 2, {2, 1, 0, F_ONE, F_ZERO}, THAW_STATUS_CORRUPT, "scales must be finite and > 0"},
    {"pad mode", THAW_OP_PAD, 1, 1, 2, {4}, THAW_STATUS_UNSUPPORTED, "unknown pad mode 4"},
    {"pad value NaN", THAW_OP_PAD, 1, 1, 2, {1, F_NAN}, THAW_STATUS_CORRUPT, "pad value is NaN"},
    {"reduce past rank", THAW_OP_REDUCE_MEAN, 1, 1, 3, {2, 2}, THAW_STATUS_CORRUPT, "exceed the input rank 3"},
    {"reduce no axes", THAW_OP_REDUCE_MEAN, 1, 1, 3, {0, 0}, THAW_STATUS_CORRUPT, "axis_count is 0"},
    {"pool kernel 0", THAW_OP_MAX_POOL, 1, 1, 4, {0, 2, 1, 1, 1, 1}, THAW_STATUS_CORRUPT, "kernel_h is 0"},
    {"pool pad covers window", THAW_OP_AVERAGE_POOL, 1, 1, 4, {2, 2, 1, 1, 1, 1, 2, 0, 0, 0}, THAW_STATUS_CORRUPT, "smaller than the dilated kernel"},
    {"pool ceil_mode 2", THAW_OP_MAX_POOL, 1, 1, 4, {2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 2}, THAW_STATUS_CORRUPT, "ceil_mode is 2"},
    {"layer norm epsilon NaN", THAW_OP_LAYER_NORM, 2, 1, 2, {1, F_NAN}, THAW_STATUS_CORRUPT, "epsilon must be finite"},
    {"clip bounds reversed", THAW_OP_UNARY, 1, 1, 1, {THAW_UNARY_CLIP, F_SIX, F_ZERO}, THAW_STATUS_CORRUPT, "clip bounds"},
    {"leaky relu alpha inf", THAW_OP_UNARY, 1, 1, 1, {THAW_UNARY_LEAKY_RELU, F_INFINITY}, THAW_STATUS_CORRUPT, "alpha must be finite"},
    {"conv output padding", THAW_OP_CONV, 2, 1, 4, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0}, THAW_STATUS_CORRUPT, "output_padding must be 0 for Conv"},
    {"deconv output padding", THAW_OP_CONV_TRANSPOSE, 2, 1, 4, {2, 2, 1, 1, 0, 0, 0, 0, 1, 2, 0}, THAW_STATUS_CORRUPT, "below the stride or the dilation"},
    {"matmul four inputs", THAW_OP_MATMUL, 4, 1, 2, {0}, THAW_STATUS_CORRUPT, "4 inputs, needs 2 to 3"},
};

static void test_contract_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kContractCases / sizeof kContractCases[0]; i++) {
    const contract_case *c = &kContractCases[i];
    uint8_t blob[64];
    for (int w = 0; w < 16; w++) store_le(blob + 4 * w, 4, c->words[w]);
    thaw_error error = {0};
    thaw_status got = thaw_op_check(c->op, "n", c->input_count, c->output_count, c->input_rank,
                                    blob, &error);
    if (got != c->status || strstr(error.message, c->fragment) == NULL) {
      fail_msg("%s: got %s '%s', want %s containing '%s'", c->what, thaw_status_str(got),
               error.message, thaw_status_str(c->status), c->fragment);
    }
  }
  /* The valid forms next to them pass. */
  uint8_t blob[64] = {0};
  store_le(blob, 4, 1);
  store_le(blob + 4, 4, 0);
  thaw_error error = {0};
  assert_int_equal(thaw_op_check(THAW_OP_TRANSPOSE, "n", 1, 1, 2, blob, &error), THAW_OK);
}

static int setup(void **state) {
  (void)state;
  build_base_model();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(g_base);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_malformed_table),
      cmocka_unit_test(test_truncated_everywhere),
      cmocka_unit_test(test_every_short_prefix),
      cmocka_unit_test(test_contract_table),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
