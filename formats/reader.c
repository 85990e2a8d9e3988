/*
 * The reader: validates every structural rule of FORMAT.md over caller-owned bytes and hands
 * out decoded entries. Every offset and size read from the file is range-checked with
 * overflow-checked arithmetic before any byte behind it is touched; weight bytes are never
 * read at open.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format_internal.h"

/* Record field offsets (FORMAT.md, "TENSORS" and "GRAPH"). */
enum {
  SECTION_ENTRY_KIND = 0,
  SECTION_ENTRY_RESERVED = 4,
  SECTION_ENTRY_OFFSET = 8,
  SECTION_ENTRY_SIZE = 16,

  TENSORS_HEADER_SIZE = 8,
  GRAPH_HEADER_SIZE = 16,
  PLAN_HEADER_SIZE = 8,
  META_FIXED_SIZE = 56,
  STATE_HEADER_SIZE = 8,
  STATE_PAIR_SIZE = 8,
};

#define SECTION_KIND_COUNT 8 /* kinds 1..7, indexed directly */

typedef struct section_entry {
  uint32_t kind;
  uint64_t offset, size;
} section_entry;

typedef struct tensor_record {
  uint32_t name_offset, name_length;
  uint8_t dtype, rank;
  uint16_t layout;
  uint32_t kind;
  int64_t dims[THAW_MAX_RANK];
  uint64_t offset, size;
} tensor_record;

typedef struct node_record {
  uint32_t op, name_offset, name_length;
  uint32_t refs_first, input_count, output_count;
  uint32_t attr_offset, attr_size;
} node_record;

/* Per-tensor facts gathered while validating, for the cross-section rules. */
enum {
  TENSOR_MODEL_INPUT = 1u << 0,
  TENSOR_MODEL_OUTPUT = 1u << 1,
  TENSOR_PRODUCED = 1u << 2,
  TENSOR_STATE_INPUT = 1u << 3,
  TENSOR_STATE_OUTPUT = 1u << 4,
};

/* A byte range owned by one tensor (a constant blob or an activation's arena bytes). */
typedef struct extent {
  uint64_t start, end;
  uint32_t tensor;
  uint32_t group; /* RESHAPE alias group: tensors of one group may share bytes */
  bool is_model_io;
} extent;

typedef struct validation {
  const uint8_t *bytes;
  thaw_format_view *view;
  thaw_error *error;
  uint8_t *tensor_flags;  /* tensor_count entries */
  uint32_t *alias_group;  /* tensor_count entries */
  extent *extents;        /* tensor_count entries */
} validation;

static const char *section_name(uint32_t kind) {
  switch (kind) {
    case THAW_SECTION_STRINGS: return "STRINGS";
    case THAW_SECTION_TENSORS: return "TENSORS";
    case THAW_SECTION_GRAPH: return "GRAPH";
    case THAW_SECTION_PLAN: return "PLAN";
    case THAW_SECTION_META: return "META";
    case THAW_SECTION_WEIGHTS: return "WEIGHTS";
    case THAW_SECTION_STATE: return "STATE";
  }
  return "unknown";
}

static void decode_tensor_record(const uint8_t *record, tensor_record *t) {
  t->name_offset = thaw_load_u32(record + 0);
  t->name_length = thaw_load_u32(record + 4);
  t->dtype = record[8];
  t->rank = record[9];
  t->layout = thaw_load_u16(record + 10);
  t->kind = thaw_load_u32(record + 12);
  for (int i = 0; i < THAW_MAX_RANK; i++) t->dims[i] = (int64_t)thaw_load_u64(record + 16 + 8 * i);
  t->offset = thaw_load_u64(record + 80);
  t->size = thaw_load_u64(record + 88);
}

static void decode_node_record(const uint8_t *record, node_record *n) {
  n->op = thaw_load_u32(record + 0);
  n->name_offset = thaw_load_u32(record + 4);
  n->name_length = thaw_load_u32(record + 8);
  n->refs_first = thaw_load_u32(record + 12);
  n->input_count = thaw_load_u32(record + 16);
  n->output_count = thaw_load_u32(record + 20);
  n->attr_offset = thaw_load_u32(record + 24);
  n->attr_size = thaw_load_u32(record + 28);
}

/* Why the string (offset, length) is unusable as a C string in place, or NULL if it is fine. */
static const char *string_problem(const thaw_format_view *view, uint32_t offset,
                                  uint32_t length) {
  if (length > THAW_FORMAT_MAX_STRING_LENGTH) return "is longer than the 1024-byte limit";
  if (!thaw_range_inside(offset, (uint64_t)length + 1, view->strings_size)) {
    return "with its NUL lies past the end of the STRINGS section";
  }
  if (memchr(view->strings + offset, '\0', length) != NULL) return "contains a NUL byte";
  if (view->strings[offset + length] != '\0') return "is not followed by a NUL byte";
  return NULL;
}

static const char *tensor_name(const validation *v, uint32_t tensor) {
  return v->view->strings + thaw_load_u32(v->view->tensor_records +
                                          (uint64_t)tensor * THAW_FORMAT_TENSOR_RECORD_SIZE);
}

/* ---- Header and section table ---- */

static thaw_status check_header(const uint8_t *bytes, uint64_t size, thaw_format_view *view,
                                thaw_error *error) {
  if (size == 0) return thaw_error_set(error, THAW_STATUS_NOT_A_MODEL, "empty file (0 bytes)");
  if (size < THAW_FORMAT_MAGIC_SIZE || memcmp(bytes, THAW_FORMAT_MAGIC, THAW_FORMAT_MAGIC_SIZE)) {
    return thaw_error_set(error, THAW_STATUS_NOT_A_MODEL, "bad magic: not a .thaw file");
  }
  if (size < THAW_FORMAT_HEADER_SIZE) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "truncated: file is %llu bytes, the header alone needs %d",
                          (unsigned long long)size, THAW_FORMAT_HEADER_SIZE);
  }
  view->major = thaw_load_u16(bytes + THAW_HEADER_MAJOR);
  view->minor = thaw_load_u16(bytes + THAW_HEADER_MINOR);
  if (view->major != THAW_FORMAT_MAJOR) {
    return thaw_error_set(error, THAW_STATUS_VERSION,
                          "file is format %u.%u, this reader reads %d.x", view->major,
                          view->minor, THAW_FORMAT_MAJOR);
  }
  uint32_t header_size = thaw_load_u32(bytes + THAW_HEADER_HEADER_SIZE);
  if (header_size != THAW_FORMAT_HEADER_SIZE) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "header_size is %u, must be %d",
                          header_size, THAW_FORMAT_HEADER_SIZE);
  }
  for (int i = THAW_HEADER_RESERVED; i < THAW_FORMAT_HEADER_SIZE; i++) {
    if (bytes[i] != 0) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "header reserved byte %d is not zero", i);
    }
  }
  view->flags = thaw_load_u32(bytes + THAW_HEADER_FLAGS);
  if ((view->flags & ~(uint32_t)THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM) != 0) {
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "unknown header flags 0x%x",
                          view->flags & ~(uint32_t)THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM);
  }
  uint64_t file_size = thaw_load_u64(bytes + THAW_HEADER_FILE_SIZE);
  if (file_size > size) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "truncated: header says %llu bytes, have %llu",
                          (unsigned long long)file_size, (unsigned long long)size);
  }
  if (file_size < size) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "trailing bytes: header says %llu bytes, have %llu",
                          (unsigned long long)file_size, (unsigned long long)size);
  }
  view->header_checksum = thaw_load_u64(bytes + THAW_HEADER_HEADER_CHECKSUM);
  view->weights_checksum = thaw_load_u64(bytes + THAW_HEADER_WEIGHTS_CHECKSUM);
  return THAW_OK;
}

/* Reads the section table into `sections` (indexed by kind) and checks placement: inside the
 * file, sorted by offset and disjoint, aligned, every kind exactly once, WEIGHTS last. */
static thaw_status check_section_table(const uint8_t *bytes, uint64_t size,
                                       section_entry sections[SECTION_KIND_COUNT],
                                       thaw_error *error) {
  uint32_t count = thaw_load_u32(bytes + THAW_HEADER_SECTION_COUNT);
  uint64_t table_end = THAW_FORMAT_HEADER_SIZE + (uint64_t)count * THAW_FORMAT_SECTION_ENTRY_SIZE;
  if (table_end > size) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "truncated: section table of %u entries ends at %llu, have %llu bytes",
                          count, (unsigned long long)table_end, (unsigned long long)size);
  }
  bool seen[SECTION_KIND_COUNT] = {false};
  uint64_t previous_end = table_end;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *entry = bytes + THAW_FORMAT_HEADER_SIZE + (uint64_t)i * THAW_FORMAT_SECTION_ENTRY_SIZE;
    section_entry section = {thaw_load_u32(entry + SECTION_ENTRY_KIND),
                             thaw_load_u64(entry + SECTION_ENTRY_OFFSET),
                             thaw_load_u64(entry + SECTION_ENTRY_SIZE)};
    const char *name = section_name(section.kind);
    if (thaw_load_u32(entry + SECTION_ENTRY_RESERVED) != 0) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "section entry %u (%s): reserved field is not zero", i, name);
    }
    if (!thaw_range_inside(section.offset, section.size, size)) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "section %s at %llu + %llu bytes lies past the end of the file "
                            "(%llu bytes)",
                            name, (unsigned long long)section.offset,
                            (unsigned long long)section.size, (unsigned long long)size);
    }
    if (section.offset < previous_end) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "section %s at %llu overlaps the section table or the previous "
                            "section (which ends at %llu); sections are sorted by offset",
                            name, (unsigned long long)section.offset,
                            (unsigned long long)previous_end);
    }
    previous_end = section.offset + section.size;
    bool known = section.kind >= THAW_SECTION_STRINGS && section.kind <= THAW_SECTION_STATE;
    if (!known) continue; /* a later minor version's section */
    if (seen[section.kind]) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "section %s appears twice", name);
    }
    seen[section.kind] = true;
    sections[section.kind] = section;
    if (section.kind == THAW_SECTION_WEIGHTS) {
      if (section.offset % THAW_FORMAT_WEIGHTS_ALIGNMENT != 0) {
        return thaw_error_set(error, THAW_STATUS_CORRUPT,
                              "misaligned: WEIGHTS section starts at %llu, not a multiple of %d",
                              (unsigned long long)section.offset, THAW_FORMAT_WEIGHTS_ALIGNMENT);
      }
      if (i + 1 != count || previous_end != size) {
        return thaw_error_set(error, THAW_STATUS_CORRUPT,
                              "WEIGHTS must be the last section and end at the file size %llu",
                              (unsigned long long)size);
      }
    } else if (section.offset % 8 != 0) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "misaligned: section %s starts at %llu, not a multiple of 8", name,
                            (unsigned long long)section.offset);
    }
  }
  /* STATE is optional: absent, its entry keeps kind 0. */
  for (uint32_t kind = THAW_SECTION_STRINGS; kind <= THAW_SECTION_WEIGHTS; kind++) {
    if (!seen[kind]) {
      return thaw_error_set(error, THAW_STATUS_CORRUPT, "missing section %s", section_name(kind));
    }
  }
  return THAW_OK;
}

/* ---- Sections ---- */

/* A GEMM-packed matrix: a rank-2 f32 constant whose blob holds the padded panels. */
static thaw_status check_panel16_tensor(const validation *v, const tensor_record *t,
                                        const char *name) {
  if (t->kind != THAW_TENSOR_CONSTANT || t->dtype != THAW_DTYPE_F32 || t->rank != 2) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': layout f32_gemm_panel16 is for rank-2 f32 constants, "
                          "not a rank-%u %s %s",
                          name, t->rank, thaw_dtype_name((thaw_dtype)t->dtype),
                          t->kind == THAW_TENSOR_CONSTANT ? "constant" : "activation");
  }
  uint64_t packed_size;
  if (!thaw_layout_panel16_size((uint64_t)t->dims[0], (uint64_t)t->dims[1], &packed_size)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': f32_gemm_panel16 size overflows 64 bits", name);
  }
  if (t->size != packed_size) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': size is %llu bytes, f32_gemm_panel16 [%lld,%lld] needs "
                          "%llu",
                          name, (unsigned long long)t->size, (long long)t->dims[0],
                          (long long)t->dims[1], (unsigned long long)packed_size);
  }
  return THAW_OK;
}

/* Quantized weights: an i8 constant of rank 2 or 4 whose blob holds scales, sums and panels. */
static thaw_status check_qs8_panel16_tensor(const validation *v, const tensor_record *t,
                                            const char *name) {
  if (t->kind != THAW_TENSOR_CONSTANT || t->dtype != THAW_DTYPE_I8 ||
      (t->rank != 2 && t->rank != 4)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': layout qs8_gemm_panel16 is for rank-2 or rank-4 i8 "
                          "constants, not a rank-%u %s %s",
                          name, t->rank, thaw_dtype_name((thaw_dtype)t->dtype),
                          t->kind == THAW_TENSOR_CONSTANT ? "constant" : "activation");
  }
  uint64_t k, n, packed_size;
  if (!thaw_layout_qs8_panel16_size(t->rank, t->dims, &k, &n, &packed_size)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': qs8_gemm_panel16 size overflows 64 bits", name);
  }
  if (t->size != packed_size) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': size is %llu bytes, qs8_gemm_panel16 of K=%llu N=%llu "
                          "needs %llu",
                          name, (unsigned long long)t->size, (unsigned long long)k,
                          (unsigned long long)n, (unsigned long long)packed_size);
  }
  return THAW_OK;
}

static thaw_status check_tensor(validation *v, uint32_t index, uint32_t *constant_count) {
  thaw_format_view *view = v->view;
  tensor_record t;
  decode_tensor_record(view->tensor_records + (uint64_t)index * THAW_FORMAT_TENSOR_RECORD_SIZE, &t);
  const char *problem = string_problem(view, t.name_offset, t.name_length);
  if (problem != NULL) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "tensor %u: name %s", index, problem);
  }
  const char *name = view->strings + t.name_offset;
  size_t element_size = thaw_dtype_size((thaw_dtype)t.dtype);
  if (element_size == 0) {
    return thaw_error_set(v->error, THAW_STATUS_UNSUPPORTED, "tensor '%s': unknown dtype %u",
                          name, t.dtype);
  }
  if (t.layout > THAW_LAYOUT_MAX) {
    return thaw_error_set(v->error, THAW_STATUS_UNSUPPORTED, "tensor '%s': unknown layout %u",
                          name, t.layout);
  }
  if (t.kind != THAW_TENSOR_CONSTANT && t.kind != THAW_TENSOR_ACTIVATION) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "tensor '%s': unknown kind %u", name,
                          t.kind);
  }
  if (t.rank == 0 || t.rank > THAW_MAX_RANK) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': rank %u is outside [1, %d]", name, t.rank, THAW_MAX_RANK);
  }
  uint64_t element_count = 1;
  for (uint32_t axis = 0; axis < THAW_MAX_RANK; axis++) {
    int64_t dim = t.dims[axis];
    if (axis >= t.rank) {
      if (dim != 0) {
        return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                              "tensor '%s': unused dim %u is %lld, must be 0", name, axis,
                              (long long)dim);
      }
      continue;
    }
    if (dim < 1) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "tensor '%s': dim %u is %lld, must be >= 1", name, axis,
                            (long long)dim);
    }
    if (thaw_mul_overflows(element_count, (uint64_t)dim, &element_count)) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "tensor '%s': element count overflows 64 bits", name);
    }
  }
  uint64_t byte_size;
  if (thaw_mul_overflows(element_count, element_size, &byte_size)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': byte size overflows 64 bits", name);
  }
  if (t.layout == THAW_LAYOUT_F32_GEMM_PANEL16) {
    thaw_status status = check_panel16_tensor(v, &t, name);
    if (status != THAW_OK) return status;
  } else if (t.layout == THAW_LAYOUT_QS8_GEMM_PANEL16) {
    thaw_status status = check_qs8_panel16_tensor(v, &t, name);
    if (status != THAW_OK) return status;
  } else if (t.size != byte_size) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "tensor '%s': size is %llu bytes, %llu %s elements need %llu", name,
                          (unsigned long long)t.size, (unsigned long long)element_count,
                          thaw_dtype_name((thaw_dtype)t.dtype), (unsigned long long)byte_size);
  }
  if (t.kind == THAW_TENSOR_ACTIVATION) {
    if (t.offset != 0) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "activation '%s': file offset is %llu, must be 0", name,
                            (unsigned long long)t.offset);
    }
    if (byte_size > THAW_FORMAT_MAX_ARENA_BYTES) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "activation '%s': %llu bytes exceed the 2^40-byte arena limit", name,
                            (unsigned long long)byte_size);
    }
    return THAW_OK;
  }
  if (t.offset % THAW_FORMAT_BLOB_ALIGNMENT != 0) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "misaligned: constant '%s' starts at %llu, not a multiple of %d", name,
                          (unsigned long long)t.offset, THAW_FORMAT_BLOB_ALIGNMENT);
  }
  if (t.offset < view->weights_offset || !thaw_range_inside(t.offset, t.size, view->size)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "constant '%s' at %llu + %llu bytes lies outside the WEIGHTS section "
                          "[%llu, %llu)",
                          name, (unsigned long long)t.offset, (unsigned long long)t.size,
                          (unsigned long long)view->weights_offset,
                          (unsigned long long)view->size);
  }
  v->extents[(*constant_count)++] =
      (extent){t.offset, t.offset + t.size, index, index, false};
  return THAW_OK;
}

static int compare_extent_start(const void *a, const void *b) {
  const extent *x = a, *y = b;
  return (x->start > y->start) - (x->start < y->start);
}

static thaw_status check_constants_disjoint(validation *v, uint32_t constant_count) {
  qsort(v->extents, constant_count, sizeof(extent), compare_extent_start);
  for (uint32_t i = 1; i < constant_count; i++) {
    if (v->extents[i].start < v->extents[i - 1].end) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "constant tensors '%s' and '%s' overlap in the WEIGHTS section",
                            tensor_name(v, v->extents[i - 1].tensor),
                            tensor_name(v, v->extents[i].tensor));
    }
  }
  return THAW_OK;
}

static thaw_status check_tensors(validation *v, const section_entry *section) {
  thaw_format_view *view = v->view;
  if (section->size < TENSORS_HEADER_SIZE) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "TENSORS section is %llu bytes, its header needs %d",
                          (unsigned long long)section->size, TENSORS_HEADER_SIZE);
  }
  const uint8_t *base = v->bytes + section->offset;
  uint32_t count = thaw_load_u32(base);
  uint64_t expected = TENSORS_HEADER_SIZE + (uint64_t)count * THAW_FORMAT_TENSOR_RECORD_SIZE;
  if (thaw_load_u32(base + 4) != 0) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "TENSORS reserved field is not zero");
  }
  if (section->size != expected) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "TENSORS section is %llu bytes, %u tensor records need %llu",
                          (unsigned long long)section->size, count,
                          (unsigned long long)expected);
  }
  view->tensor_count = count;
  view->tensor_records = base + TENSORS_HEADER_SIZE;
  return THAW_OK;
}

static thaw_status check_tensor_records(validation *v) {
  uint32_t constant_count = 0;
  for (uint32_t i = 0; i < v->view->tensor_count; i++) {
    thaw_status status = check_tensor(v, i, &constant_count);
    if (status != THAW_OK) return status;
  }
  return check_constants_disjoint(v, constant_count);
}

static thaw_status check_model_io(validation *v, const uint8_t *ids, uint32_t count,
                                  const char *role, uint8_t flag) {
  thaw_format_view *view = v->view;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t tensor = thaw_load_u32(ids + 4 * (uint64_t)i);
    if (tensor >= view->tensor_count) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "model %s %u refers to tensor %u, the file has %u tensors", role, i,
                            tensor, view->tensor_count);
    }
    thaw_format_tensor t;
    thaw_format_get_tensor(view, tensor, &t);
    if (t.kind != THAW_TENSOR_ACTIVATION) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "model %s '%s' is not an activation",
                            role, t.name);
    }
    if (v->tensor_flags[tensor] & flag) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "model %s '%s' is listed twice", role,
                            t.name);
    }
    if (v->tensor_flags[tensor] & (TENSOR_MODEL_INPUT | TENSOR_MODEL_OUTPUT)) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "tensor '%s' is both a model input and a model output", t.name);
    }
    v->tensor_flags[tensor] |= flag;
  }
  return THAW_OK;
}

static thaw_status check_meta(validation *v, const section_entry *section) {
  thaw_format_view *view = v->view;
  if (section->size < META_FIXED_SIZE) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "META section is %llu bytes, its fixed part needs %d",
                          (unsigned long long)section->size, META_FIXED_SIZE);
  }
  const uint8_t *base = v->bytes + section->offset;
  view->input_count = thaw_load_u32(base + 0);
  view->output_count = thaw_load_u32(base + 4);
  uint64_t expected =
      META_FIXED_SIZE + 4 * ((uint64_t)view->input_count + view->output_count);
  if (section->size != expected) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "META section is %llu bytes, %u inputs and %u outputs need %llu",
                          (unsigned long long)section->size, view->input_count,
                          view->output_count, (unsigned long long)expected);
  }
  const struct {
    const char *what;
    uint32_t offset, length;
    const char **target;
  } strings[] = {
      {"producer", thaw_load_u32(base + 8), thaw_load_u32(base + 12), &view->producer},
      {"converter", thaw_load_u32(base + 16), thaw_load_u32(base + 20), &view->converter},
  };
  for (size_t i = 0; i < 2; i++) {
    const char *problem = string_problem(view, strings[i].offset, strings[i].length);
    if (problem != NULL) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "META %s string %s", strings[i].what,
                            problem);
    }
    *strings[i].target = view->strings + strings[i].offset;
  }
  memcpy(view->source_hash, base + 24, sizeof view->source_hash);
  if (view->output_count == 0) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "META lists no model outputs");
  }
  view->input_ids = base + META_FIXED_SIZE;
  view->output_ids = view->input_ids + 4 * (uint64_t)view->input_count;
  thaw_status status =
      check_model_io(v, view->input_ids, view->input_count, "input", TENSOR_MODEL_INPUT);
  if (status != THAW_OK) return status;
  return check_model_io(v, view->output_ids, view->output_count, "output", TENSOR_MODEL_OUTPUT);
}

/* State pairs name a model output carried into a model input of the same dtype and shape;
 * each input and each output belongs to at most one pair. */
static thaw_status check_state(validation *v, const section_entry *section) {
  thaw_format_view *view = v->view;
  if (section->kind != THAW_SECTION_STATE) return THAW_OK;
  if (section->size < STATE_HEADER_SIZE) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "STATE section is %llu bytes, its header needs %d",
                          (unsigned long long)section->size, STATE_HEADER_SIZE);
  }
  const uint8_t *base = v->bytes + section->offset;
  const uint32_t count = thaw_load_u32(base);
  if (thaw_load_u32(base + 4) != 0) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "STATE reserved field is not zero");
  }
  const uint64_t expected = STATE_HEADER_SIZE + STATE_PAIR_SIZE * (uint64_t)count;
  if (section->size != expected) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "STATE section is %llu bytes, %u pairs need %llu",
                          (unsigned long long)section->size, count,
                          (unsigned long long)expected);
  }
  view->state_count = count;
  view->state_pairs = base + STATE_HEADER_SIZE;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t input_index, output_index;
    thaw_format_get_state(view, i, &input_index, &output_index);
    if (input_index >= view->input_count || output_index >= view->output_count) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "STATE pair %u names input %u and output %u; the model has %u "
                            "inputs and %u outputs",
                            i, input_index, output_index, view->input_count, view->output_count);
    }
    const uint32_t input = thaw_format_model_input(view, input_index);
    const uint32_t output = thaw_format_model_output(view, output_index);
    if (v->tensor_flags[input] & TENSOR_STATE_INPUT) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "STATE pair %u: input '%s' already receives another state", i,
                            tensor_name(v, input));
    }
    if (v->tensor_flags[output] & TENSOR_STATE_OUTPUT) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "STATE pair %u: output '%s' already feeds another state", i,
                            tensor_name(v, output));
    }
    v->tensor_flags[input] |= TENSOR_STATE_INPUT;
    v->tensor_flags[output] |= TENSOR_STATE_OUTPUT;
    thaw_format_tensor in, out;
    thaw_format_get_tensor(view, input, &in);
    thaw_format_get_tensor(view, output, &out);
    bool same = in.dtype == out.dtype && in.rank == out.rank;
    for (uint32_t d = 0; same && d < in.rank; d++) same = in.shape[d] == out.shape[d];
    if (!same) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "STATE pair %u: output '%s' and input '%s' differ in dtype or shape",
                            i, out.name, in.name);
    }
  }
  return THAW_OK;
}

static thaw_status check_plan(validation *v, const section_entry *section) {
  thaw_format_view *view = v->view;
  uint64_t expected = PLAN_HEADER_SIZE + 8 * (uint64_t)view->tensor_count;
  if (section->size != expected) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "PLAN section is %llu bytes, %u tensors need %llu",
                          (unsigned long long)section->size, view->tensor_count,
                          (unsigned long long)expected);
  }
  const uint8_t *base = v->bytes + section->offset;
  view->arena_size = thaw_load_u64(base);
  view->plan_offsets = base + PLAN_HEADER_SIZE;
  if (view->arena_size > THAW_FORMAT_MAX_ARENA_BYTES) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "PLAN arena_size %llu exceeds the 2^40-byte limit",
                          (unsigned long long)view->arena_size);
  }
  uint64_t activations_end = 0;
  for (uint32_t i = 0; i < view->tensor_count; i++) {
    uint64_t offset = thaw_load_u64(view->plan_offsets + 8 * (uint64_t)i);
    const uint8_t *record = view->tensor_records + (uint64_t)i * THAW_FORMAT_TENSOR_RECORD_SIZE;
    uint32_t kind = thaw_load_u32(record + 12);
    uint64_t size = thaw_load_u64(record + 88);
    const char *name = tensor_name(v, i);
    if (kind == THAW_TENSOR_CONSTANT) {
      if (offset != 0) {
        return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                              "PLAN: constant '%s' has arena offset %llu, must be 0", name,
                              (unsigned long long)offset);
      }
      continue;
    }
    if (offset % THAW_FORMAT_ARENA_ALIGNMENT != 0) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "PLAN: activation '%s' at arena offset %llu is not a multiple of %d",
                            name, (unsigned long long)offset, THAW_FORMAT_ARENA_ALIGNMENT);
    }
    if (!thaw_range_inside(offset, size, view->arena_size)) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "PLAN: activation '%s' at arena offset %llu + %llu bytes ends past "
                            "arena_size %llu",
                            name, (unsigned long long)offset, (unsigned long long)size,
                            (unsigned long long)view->arena_size);
    }
    if (offset + size > activations_end) activations_end = offset + size;
  }
  /* A session allocates arena_size bytes, so it may not ask for more than its activations use:
   * a tiny file must not be able to make every session allocate a terabyte. */
  const uint64_t needed = (activations_end + THAW_FORMAT_ARENA_ALIGNMENT - 1) &
                          ~(uint64_t)(THAW_FORMAT_ARENA_ALIGNMENT - 1);
  if (view->arena_size > needed) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "PLAN arena_size %llu is larger than the %llu bytes its activations use",
                          (unsigned long long)view->arena_size, (unsigned long long)needed);
  }
  return THAW_OK;
}

static thaw_status check_node(validation *v, uint32_t index) {
  thaw_format_view *view = v->view;
  node_record n;
  decode_node_record(view->node_records + (uint64_t)index * THAW_FORMAT_NODE_RECORD_SIZE, &n);
  const char *problem = string_problem(view, n.name_offset, n.name_length);
  if (problem != NULL) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "node %u: name %s", index, problem);
  }
  const char *name = view->strings + n.name_offset;
  const char *op_name = thaw_op_name(n.op);
  if (op_name == NULL) {
    return thaw_error_set(v->error, THAW_STATUS_UNSUPPORTED, "node '%s': unknown op %u", name,
                          n.op);
  }
  uint64_t ref_end = (uint64_t)n.refs_first + n.input_count + n.output_count;
  if (ref_end > view->ref_count) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): refs [%u, %llu) run past the %llu graph refs", name,
                          op_name, n.refs_first, (unsigned long long)ref_end,
                          (unsigned long long)view->ref_count);
  }
  if (n.attr_size != thaw_op_attrs_size(n.op)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): attribute blob is %u bytes, the op needs %zu", name,
                          op_name, n.attr_size, thaw_op_attrs_size(n.op));
  }
  if (n.attr_offset % 4 != 0 || !thaw_range_inside(n.attr_offset, n.attr_size, view->attr_size)) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "node '%s' (%s): attribute blob at %u + %u bytes is misaligned or past "
                          "the %llu attribute bytes",
                          name, op_name, n.attr_offset, n.attr_size,
                          (unsigned long long)view->attr_size);
  }
  const uint8_t *refs = view->refs + 4 * (uint64_t)n.refs_first;
  uint32_t ref_count = n.input_count + n.output_count;
  for (uint32_t i = 0; i < ref_count; i++) {
    uint32_t tensor = thaw_load_u32(refs + 4 * (uint64_t)i);
    if (tensor >= view->tensor_count) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "node '%s' (%s): %s %u refers to tensor %u, the file has %u tensors",
                            name, op_name, i < n.input_count ? "input" : "output",
                            i < n.input_count ? i : i - n.input_count, tensor,
                            view->tensor_count);
    }
  }
  uint32_t input_rank = 0;
  if (n.input_count > 0) {
    input_rank = view->tensor_records[(uint64_t)thaw_load_u32(refs) *
                                          THAW_FORMAT_TENSOR_RECORD_SIZE + 9];
  }
  thaw_status status = thaw_op_check(n.op, name, n.input_count, n.output_count, input_rank,
                                     view->attr_blob + n.attr_offset, v->error);
  if (status != THAW_OK) return status;

  for (uint32_t i = 0; i < n.input_count; i++) {
    uint32_t tensor = thaw_load_u32(refs + 4 * (uint64_t)i);
    const uint8_t *record = view->tensor_records + (uint64_t)tensor * THAW_FORMAT_TENSOR_RECORD_SIZE;
    bool available = thaw_load_u32(record + 12) == THAW_TENSOR_CONSTANT ||
                     (v->tensor_flags[tensor] & (TENSOR_MODEL_INPUT | TENSOR_PRODUCED)) != 0;
    if (!available) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "node '%s' (%s): input %u ('%s') is read before any node produces it",
                            name, op_name, i, tensor_name(v, tensor));
    }
  }
  for (uint32_t i = 0; i < n.output_count; i++) {
    uint32_t tensor = thaw_load_u32(refs + 4 * ((uint64_t)n.input_count + i));
    const uint8_t *record = view->tensor_records + (uint64_t)tensor * THAW_FORMAT_TENSOR_RECORD_SIZE;
    const char *output_name = tensor_name(v, tensor);
    if (thaw_load_u32(record + 12) != THAW_TENSOR_ACTIVATION) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "node '%s' (%s): output %u ('%s') is a constant", name, op_name, i,
                            output_name);
    }
    if (v->tensor_flags[tensor] & TENSOR_MODEL_INPUT) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "node '%s' (%s): output %u writes model input '%s'", name, op_name, i,
                            output_name);
    }
    if (v->tensor_flags[tensor] & TENSOR_PRODUCED) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "activation '%s' is produced twice (again by node '%s')", output_name,
                            name);
    }
    v->tensor_flags[tensor] |= TENSOR_PRODUCED;
  }
  /* A RESHAPE planned in place joins its output to its input's alias group. */
  if (n.op == THAW_OP_RESHAPE) {
    uint32_t input = thaw_load_u32(refs);
    uint32_t output = thaw_load_u32(refs + 4);
    const uint8_t *input_record = view->tensor_records + (uint64_t)input * THAW_FORMAT_TENSOR_RECORD_SIZE;
    if (thaw_load_u32(input_record + 12) == THAW_TENSOR_ACTIVATION &&
        thaw_load_u64(view->plan_offsets + 8 * (uint64_t)input) ==
            thaw_load_u64(view->plan_offsets + 8 * (uint64_t)output)) {
      v->alias_group[output] = v->alias_group[input];
    }
  }
  return THAW_OK;
}

static thaw_status check_graph(validation *v, const section_entry *section) {
  thaw_format_view *view = v->view;
  if (section->size < GRAPH_HEADER_SIZE) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "GRAPH section is %llu bytes, its header needs %d",
                          (unsigned long long)section->size, GRAPH_HEADER_SIZE);
  }
  const uint8_t *base = v->bytes + section->offset;
  uint32_t node_count = thaw_load_u32(base + 0);
  uint32_t ref_count = thaw_load_u32(base + 4);
  uint32_t attr_bytes = thaw_load_u32(base + 8);
  if (thaw_load_u32(base + 12) != 0) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT, "GRAPH reserved field is not zero");
  }
  uint64_t records_size = (uint64_t)node_count * THAW_FORMAT_NODE_RECORD_SIZE;
  uint64_t expected = GRAPH_HEADER_SIZE + records_size + 4 * (uint64_t)ref_count + attr_bytes;
  if (section->size != expected) {
    return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                          "GRAPH section is %llu bytes, %u nodes, %u refs and %u attribute bytes "
                          "need %llu",
                          (unsigned long long)section->size, node_count, ref_count, attr_bytes,
                          (unsigned long long)expected);
  }
  view->node_count = node_count;
  view->ref_count = ref_count;
  view->attr_size = attr_bytes;
  view->node_records = base + GRAPH_HEADER_SIZE;
  view->refs = view->node_records + records_size;
  view->attr_blob = view->refs + 4 * (uint64_t)ref_count;
  for (uint32_t i = 0; i < node_count; i++) {
    thaw_status status = check_node(v, i);
    if (status != THAW_OK) return status;
  }
  for (uint32_t i = 0; i < view->output_count; i++) {
    uint32_t tensor = thaw_format_model_output(view, i);
    if ((v->tensor_flags[tensor] & TENSOR_PRODUCED) == 0) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "model output '%s' is not produced by any node",
                            tensor_name(v, tensor));
    }
  }
  return THAW_OK;
}

/* The farthest-reaching extents seen so far from two different alias groups: enough to tell
 * whether a new extent overlaps any earlier one of another group. */
typedef struct farthest_pair {
  extent first, second; /* first.end >= second.end; first.group != second.group */
} farthest_pair;

static void farthest_pair_add(farthest_pair *pair, const extent *e) {
  if (e->group == pair->first.group) {
    if (e->end > pair->first.end) pair->first = *e;
  } else if (e->end > pair->first.end) {
    pair->second = pair->first;
    pair->first = *e;
  } else if (e->end > pair->second.end) {
    pair->second = *e;
  }
}

static const extent *farthest_other_group(const farthest_pair *pair, uint32_t group) {
  return pair->first.group != group ? &pair->first : &pair->second;
}

/* Model inputs and outputs own their arena bytes: no activation outside their alias group may
 * overlap them. One sweep over the activations sorted by start offset. */
static thaw_status check_model_io_exclusive(validation *v) {
  thaw_format_view *view = v->view;
  uint32_t count = 0;
  for (uint32_t i = 0; i < view->tensor_count; i++) {
    thaw_format_tensor t;
    thaw_format_get_tensor(view, i, &t);
    if (t.kind != THAW_TENSOR_ACTIVATION) continue;
    bool is_model_io = (v->tensor_flags[i] & (TENSOR_MODEL_INPUT | TENSOR_MODEL_OUTPUT)) != 0;
    v->extents[count++] = (extent){t.offset, t.offset + t.size, i, v->alias_group[i], is_model_io};
  }
  qsort(v->extents, count, sizeof(extent), compare_extent_start);
  const extent nothing = {0, 0, 0, UINT32_MAX, false};
  farthest_pair all = {nothing, nothing}, model_io = {nothing, nothing};
  for (uint32_t i = 0; i < count; i++) {
    const extent *e = &v->extents[i];
    const extent *other = farthest_other_group(e->is_model_io ? &all : &model_io, e->group);
    if (other->end > e->start) {
      return thaw_error_set(v->error, THAW_STATUS_CORRUPT,
                            "PLAN: activations '%s' and '%s' share arena bytes, but model inputs "
                            "and outputs must not",
                            tensor_name(v, other->tensor), tensor_name(v, e->tensor));
    }
    farthest_pair_add(&all, e);
    if (e->is_model_io) farthest_pair_add(&model_io, e);
  }
  return THAW_OK;
}

static thaw_status check_sections(validation *v, const section_entry sections[SECTION_KIND_COUNT]) {
  thaw_format_view *view = v->view;
  const section_entry *strings = &sections[THAW_SECTION_STRINGS];
  view->strings = (const char *)v->bytes + strings->offset;
  view->strings_size = strings->size;
  view->weights_offset = sections[THAW_SECTION_WEIGHTS].offset;
  view->weights_size = sections[THAW_SECTION_WEIGHTS].size;

  thaw_status status = check_tensors(v, &sections[THAW_SECTION_TENSORS]);
  if (status != THAW_OK) return status;
  /* Per-tensor scratch, released before thaw_format_open returns. */
  uint64_t count = view->tensor_count > 0 ? view->tensor_count : 1;
  v->tensor_flags = calloc(count, sizeof *v->tensor_flags);
  v->alias_group = malloc(count * sizeof *v->alias_group);
  v->extents = malloc(count * sizeof *v->extents);
  if (v->tensor_flags == NULL || v->alias_group == NULL || v->extents == NULL) {
    return thaw_error_set(v->error, THAW_STATUS_OUT_OF_MEMORY,
                          "no memory to validate %u tensors", view->tensor_count);
  }
  for (uint32_t i = 0; i < view->tensor_count; i++) v->alias_group[i] = i;

  status = check_tensor_records(v);
  if (status == THAW_OK) status = check_plan(v, &sections[THAW_SECTION_PLAN]);
  if (status == THAW_OK) status = check_meta(v, &sections[THAW_SECTION_META]);
  if (status == THAW_OK) status = check_state(v, &sections[THAW_SECTION_STATE]);
  if (status == THAW_OK) status = check_graph(v, &sections[THAW_SECTION_GRAPH]);
  if (status == THAW_OK) status = check_model_io_exclusive(v);
  return status;
}

thaw_status thaw_format_open(const void *bytes, uint64_t size, thaw_format_view *view,
                             thaw_error *error) {
  if (view == NULL || (bytes == NULL && size > 0)) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_format_open: NULL bytes or view");
  }
  memset(view, 0, sizeof *view);
  view->bytes = bytes;
  view->size = size;
  thaw_status status = check_header(bytes, size, view, error);
  if (status != THAW_OK) return status;
  section_entry sections[SECTION_KIND_COUNT] = {{0}};
  status = check_section_table(bytes, size, sections, error);
  if (status != THAW_OK) return status;

  uint64_t weights_offset = sections[THAW_SECTION_WEIGHTS].offset;
  uint64_t computed = thaw_format_header_checksum(bytes, weights_offset);
  if (computed != view->header_checksum) {
    return thaw_error_set(error, THAW_STATUS_CHECKSUM,
                          "header checksum mismatch: stored 0x%016llx, computed 0x%016llx",
                          (unsigned long long)view->header_checksum,
                          (unsigned long long)computed);
  }

  validation v = {bytes, view, error, NULL, NULL, NULL};
  status = check_sections(&v, sections);
  free(v.tensor_flags);
  free(v.alias_group);
  free(v.extents);
  return status;
}

/* The int8 kernels multiply a weight by a 7- or 8-bit activation in 16-bit pairs, exact only
 * for weights in [-127, 127]: a -128 in a crafted file would wrap into a wrong sum. The panels
 * follow the scales and column sums (FORMAT.md, "Layouts"); their padding is zero. */
static thaw_status check_qs8_weight_levels(const thaw_format_view *view, thaw_error *error) {
  for (uint32_t index = 0; index < view->tensor_count; index++) {
    thaw_format_tensor t;
    thaw_format_get_tensor(view, index, &t);
    if (t.layout != THAW_LAYOUT_QS8_GEMM_PANEL16) continue;
    uint64_t k, n, size;
    thaw_layout_qs8_panel16_size(t.rank, t.shape, &k, &n, &size); /* checked at open */
    const uint64_t header = (n + 15) / 16 * 16 * 8;
    const int8_t *panels = (const int8_t *)(view->bytes + t.offset + header);
    for (uint64_t i = 0; i < t.size - header; i++) {
      if (panels[i] == -128) {
        return thaw_error_set(error, THAW_STATUS_CORRUPT,
                              "tensor '%s': int8 weight -128 at panel byte %llu; qs8 weights "
                              "must be in [-127, 127]",
                              t.name, (unsigned long long)i);
      }
    }
  }
  return THAW_OK;
}

thaw_status thaw_format_verify_weights(const thaw_format_view *view, thaw_error *error) {
  if ((view->flags & THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM) != 0) {
    uint64_t computed = thaw_hash64(view->bytes + view->weights_offset, view->weights_size, 0);
    if (computed != view->weights_checksum) {
      return thaw_error_set(error, THAW_STATUS_CHECKSUM,
                            "weights checksum mismatch: stored 0x%016llx, computed 0x%016llx",
                            (unsigned long long)view->weights_checksum,
                            (unsigned long long)computed);
    }
  }
  return check_qs8_weight_levels(view, error);
}

void thaw_format_get_tensor(const thaw_format_view *view, uint32_t index, thaw_format_tensor *t) {
  tensor_record record;
  decode_tensor_record(view->tensor_records + (uint64_t)index * THAW_FORMAT_TENSOR_RECORD_SIZE,
                       &record);
  t->name = view->strings + record.name_offset;
  t->kind = record.kind;
  t->dtype = (thaw_dtype)record.dtype;
  t->layout = record.layout;
  t->rank = record.rank;
  t->element_count = 1;
  for (uint32_t axis = 0; axis < THAW_MAX_RANK; axis++) {
    t->shape[axis] = record.dims[axis];
    if (axis < record.rank) t->element_count *= (uint64_t)record.dims[axis];
  }
  t->size = record.size;
  t->offset = record.kind == THAW_TENSOR_CONSTANT
                  ? record.offset
                  : thaw_load_u64(view->plan_offsets + 8 * (uint64_t)index);
}

void thaw_format_get_node(const thaw_format_view *view, uint32_t index, thaw_format_node *node) {
  node_record record;
  decode_node_record(view->node_records + (uint64_t)index * THAW_FORMAT_NODE_RECORD_SIZE,
                     &record);
  node->op = record.op;
  node->name = view->strings + record.name_offset;
  node->input_count = record.input_count;
  node->output_count = record.output_count;
  node->refs = view->refs + 4 * (uint64_t)record.refs_first;
  node->attrs = view->attr_blob + record.attr_offset;
}

uint32_t thaw_format_node_input(const thaw_format_node *node, uint32_t i) {
  return thaw_load_u32(node->refs + 4 * (uint64_t)i);
}

uint32_t thaw_format_node_output(const thaw_format_node *node, uint32_t i) {
  return thaw_load_u32(node->refs + 4 * ((uint64_t)node->input_count + i));
}

uint32_t thaw_format_model_input(const thaw_format_view *view, uint32_t i) {
  return thaw_load_u32(view->input_ids + 4 * (uint64_t)i);
}

uint32_t thaw_format_model_output(const thaw_format_view *view, uint32_t i) {
  return thaw_load_u32(view->output_ids + 4 * (uint64_t)i);
}

void thaw_format_get_state(const thaw_format_view *view, uint32_t i, uint32_t *input_index,
                           uint32_t *output_index) {
  const uint8_t *pair = view->state_pairs + (uint64_t)i * STATE_PAIR_SIZE;
  *input_index = thaw_load_u32(pair);
  *output_index = thaw_load_u32(pair + 4);
}
