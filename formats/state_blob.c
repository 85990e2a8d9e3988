/*
 * State blobs: the bytes thaw_session_state_save writes and thaw_session_state_load validates
 * (FORMAT.md, "State blobs"). The blob comes back from an external store, so it is read like a
 * .thaw file: every length is range-checked with overflow-checked arithmetic before the bytes
 * behind it are touched, and the checksum is verified before any record is parsed.
 */
#include <string.h>

#include "formats/format_internal.h"

/* Header fields. */
enum {
  BLOB_MAJOR = 8,
  BLOB_MINOR = 10,
  BLOB_COUNT = 12,
  BLOB_SIZE = 16,
  BLOB_MODEL = 24,
};

/* Record fields: u32 name length, u8 dtype, u8 rank, u16 reserved, i64 dims[rank], u64 data
 * size, then the name (no NUL) and the data. */
enum {
  RECORD_FIXED_SIZE = 8,
  RECORD_DIM_SIZE = 8,
  RECORD_DATA_SIZE_FIELD = 8,
};

bool thaw_state_record_size(const thaw_state_entry *entry, uint64_t *size) {
  const uint64_t fixed = RECORD_FIXED_SIZE + RECORD_DIM_SIZE * (uint64_t)entry->rank +
                         RECORD_DATA_SIZE_FIELD + strlen(entry->name);
  return !thaw_add_overflows(fixed, entry->size, size);
}

uint8_t *thaw_state_blob_write_header(uint8_t *blob, uint64_t model_identity, uint32_t count,
                                      uint64_t size) {
  memcpy(blob, THAW_STATE_BLOB_MAGIC, THAW_FORMAT_MAGIC_SIZE);
  thaw_store_u16(blob + BLOB_MAJOR, THAW_STATE_BLOB_MAJOR);
  thaw_store_u16(blob + BLOB_MINOR, THAW_STATE_BLOB_MINOR);
  thaw_store_u32(blob + BLOB_COUNT, count);
  thaw_store_u64(blob + BLOB_SIZE, size);
  thaw_store_u64(blob + BLOB_MODEL, model_identity);
  return blob + THAW_STATE_BLOB_HEADER_SIZE;
}

uint8_t *thaw_state_blob_write_record(uint8_t *cursor, const thaw_state_entry *entry,
                                      const void *data) {
  const size_t name_length = strlen(entry->name);
  thaw_store_u32(cursor, (uint32_t)name_length);
  cursor[4] = (uint8_t)entry->dtype;
  cursor[5] = (uint8_t)entry->rank;
  thaw_store_u16(cursor + 6, 0);
  cursor += RECORD_FIXED_SIZE;
  for (uint32_t d = 0; d < entry->rank; d++, cursor += RECORD_DIM_SIZE) {
    thaw_store_u64(cursor, (uint64_t)entry->shape[d]);
  }
  thaw_store_u64(cursor, entry->size);
  cursor += RECORD_DATA_SIZE_FIELD;
  memcpy(cursor, entry->name, name_length);
  cursor += name_length;
  memcpy(cursor, data, (size_t)entry->size);
  return cursor + entry->size;
}

void thaw_state_blob_write_checksum(uint8_t *blob, uint8_t *end) {
  thaw_store_u64(end, thaw_hash64(blob, (size_t)(end - blob), 0));
}

thaw_status thaw_state_blob_open(const void *bytes, uint64_t size, uint64_t model_identity,
                                 uint32_t expected_count, thaw_state_blob_view *view,
                                 uint64_t *cursor, thaw_error *error) {
  const uint8_t *blob = bytes;
  const uint64_t minimum = THAW_STATE_BLOB_HEADER_SIZE + THAW_STATE_BLOB_CHECKSUM_SIZE;
  if (size < THAW_FORMAT_MAGIC_SIZE ||
      memcmp(blob, THAW_STATE_BLOB_MAGIC, THAW_FORMAT_MAGIC_SIZE) != 0) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "not a thaw state blob (bad magic)");
  }
  if (size < minimum) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "truncated state blob: %llu bytes, the header and checksum alone "
                          "need %llu",
                          (unsigned long long)size, (unsigned long long)minimum);
  }
  const uint16_t major = thaw_load_u16(blob + BLOB_MAJOR), minor = thaw_load_u16(blob + BLOB_MINOR);
  if (major != THAW_STATE_BLOB_MAJOR) {
    return thaw_error_set(error, THAW_STATUS_VERSION,
                          "state blob is version %u.%u, this reader reads %d.x", major, minor,
                          THAW_STATE_BLOB_MAJOR);
  }
  const uint64_t declared = thaw_load_u64(blob + BLOB_SIZE);
  if (declared != size) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT, "%s state blob: it says %llu bytes, have %llu",
                          declared > size ? "truncated" : "trailing bytes after the",
                          (unsigned long long)declared, (unsigned long long)size);
  }
  const uint64_t records_end = size - THAW_STATE_BLOB_CHECKSUM_SIZE;
  const uint64_t stored = thaw_load_u64(blob + records_end);
  const uint64_t computed = thaw_hash64(blob, (size_t)records_end, 0);
  if (stored != computed) {
    return thaw_error_set(error, THAW_STATUS_CHECKSUM,
                          "state blob checksum mismatch: stored 0x%016llx, computed 0x%016llx",
                          (unsigned long long)stored, (unsigned long long)computed);
  }
  const uint64_t identity = thaw_load_u64(blob + BLOB_MODEL);
  if (identity != model_identity) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "the state was saved from another model (header checksum 0x%016llx; "
                          "this model's is 0x%016llx)",
                          (unsigned long long)identity, (unsigned long long)model_identity);
  }
  const uint32_t count = thaw_load_u32(blob + BLOB_COUNT);
  if (count != expected_count) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "state blob holds %u states, the model has %u", count, expected_count);
  }
  view->bytes = blob;
  view->records_end = records_end;
  *cursor = THAW_STATE_BLOB_HEADER_SIZE;
  return THAW_OK;
}

/* Whether `length` more bytes from `cursor` stay inside the records. */
static bool records_hold(const thaw_state_blob_view *view, uint64_t cursor, uint64_t length) {
  return cursor <= view->records_end && thaw_range_inside(cursor, length, view->records_end);
}

static thaw_status truncated_record(uint32_t index, thaw_error *error) {
  return thaw_error_set(error, THAW_STATUS_CORRUPT,
                        "state blob record %u runs past the end of the records", index);
}

thaw_status thaw_state_blob_read_record(const thaw_state_blob_view *view, uint64_t *cursor,
                                        uint32_t index, const thaw_state_entry *expected,
                                        const void **data, thaw_error *error) {
  uint64_t at = *cursor;
  if (!records_hold(view, at, RECORD_FIXED_SIZE)) return truncated_record(index, error);
  const uint8_t *record = view->bytes + at;
  const uint32_t name_length = thaw_load_u32(record);
  const uint32_t dtype = record[4], rank = record[5];
  if (thaw_load_u16(record + 6) != 0) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "state blob record %u: reserved field is not zero", index);
  }
  if (rank < 1 || rank > THAW_MAX_RANK || name_length > THAW_FORMAT_MAX_STRING_LENGTH) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "state blob record %u: rank %u or name length %u out of range", index,
                          rank, name_length);
  }
  at += RECORD_FIXED_SIZE;
  const uint64_t dims_size = RECORD_DIM_SIZE * (uint64_t)rank;
  if (!records_hold(view, at, dims_size + RECORD_DATA_SIZE_FIELD + name_length)) {
    return truncated_record(index, error);
  }
  int64_t dims[THAW_MAX_RANK];
  for (uint32_t d = 0; d < rank; d++) {
    dims[d] = (int64_t)thaw_load_u64(view->bytes + at + RECORD_DIM_SIZE * (uint64_t)d);
  }
  at += dims_size;
  const uint64_t data_size = thaw_load_u64(view->bytes + at);
  at += RECORD_DATA_SIZE_FIELD;
  const char *name = (const char *)view->bytes + at;
  const size_t expected_length = strlen(expected->name);
  if (name_length != expected_length || memcmp(name, expected->name, name_length) != 0) {
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "state blob record %u is named \"%.*s\", the model's state %u is "
                          "\"%s\"",
                          index, (int)(name_length < 64 ? name_length : 64), name, index,
                          expected->name);
  }
  at += name_length;
  bool same_shape = rank == expected->rank;
  for (uint32_t d = 0; same_shape && d < rank; d++) same_shape = dims[d] == expected->shape[d];
  if (dtype != (uint32_t)expected->dtype || !same_shape || data_size != expected->size) {
    char actual_text[THAW_DIMS_TEXT_SIZE], expected_text[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(actual_text, sizeof actual_text, rank, dims);
    thaw_dims_text(expected_text, sizeof expected_text, expected->rank, expected->shape);
    const char *dtype_name = thaw_dtype_name((thaw_dtype)dtype);
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "state \"%s\" in the blob is %s %s (%llu bytes), the model's is %s %s "
                          "(%llu bytes)",
                          expected->name, dtype_name, actual_text, (unsigned long long)data_size,
                          thaw_dtype_name(expected->dtype), expected_text,
                          (unsigned long long)expected->size);
  }
  if (!records_hold(view, at, data_size)) return truncated_record(index, error);
  *data = view->bytes + at;
  *cursor = at + data_size;
  return THAW_OK;
}

thaw_status thaw_state_blob_finish(const thaw_state_blob_view *view, uint64_t cursor,
                                   thaw_error *error) {
  if (cursor == view->records_end) return THAW_OK;
  return thaw_error_set(error, THAW_STATUS_CORRUPT,
                        "state blob has %llu bytes after its last record",
                        (unsigned long long)(view->records_end - cursor));
}
