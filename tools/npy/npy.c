/* NumPy .npy reader and writer. The format: https://numpy.org/neps/nep-0001-npy-format.html */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/format.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_SIZE 6
/* Magic, two version bytes, then the header length: u16 in version 1, u32 in versions 2 and 3. */
#define NPY_V1_PREAMBLE_SIZE 10
#define NPY_V2_PREAMBLE_SIZE 12
/* NumPy pads the header so the data starts at a multiple of this; we write the same. */
#define NPY_DATA_ALIGNMENT 64
/* Longest descr string worth reading: every supported one has three characters. */
#define NPY_MAX_DESCR_LENGTH 16
/* Room for "(d0, d1, ..., d7)" with 19-digit dims, the rest of the dict and the padding. */
#define NPY_MAX_WRITTEN_HEADER 512

typedef struct npy_dtype_entry {
  const char *descr;
  const char *numpy_name;
  thaw_dtype dtype;
} npy_dtype_entry;

/* The descr NumPy writes for each dtype thaw models use. */
static const npy_dtype_entry npy_dtypes[] = {
    {"<f4", "float32", THAW_DTYPE_F32}, {"<i8", "int64", THAW_DTYPE_I64},
    {"<i4", "int32", THAW_DTYPE_I32},   {"|i1", "int8", THAW_DTYPE_I8},
    {"|u1", "uint8", THAW_DTYPE_U8},    {"|b1", "bool", THAW_DTYPE_BOOL},
};
#define NPY_DTYPE_COUNT (sizeof npy_dtypes / sizeof npy_dtypes[0])

static const npy_dtype_entry *find_dtype_by_descr(const char *descr) {
  for (size_t i = 0; i < NPY_DTYPE_COUNT; i++)
    if (strcmp(npy_dtypes[i].descr, descr) == 0) return &npy_dtypes[i];
  return NULL;
}

static const npy_dtype_entry *find_dtype(thaw_dtype dtype) {
  for (size_t i = 0; i < NPY_DTYPE_COUNT; i++)
    if (npy_dtypes[i].dtype == dtype) return &npy_dtypes[i];
  return NULL;
}

/* "(1, 3, 224, 224)", "(3,)" or "()": the shape as NumPy prints it, for messages and headers. */
static void format_shape(char *buffer, size_t capacity, uint32_t rank, const int64_t *shape) {
  size_t length = (size_t)snprintf(buffer, capacity, "(");
  for (uint32_t i = 0; i < rank && length < capacity; i++)
    length += (size_t)snprintf(buffer + length, capacity - length, "%s%" PRId64,
                               i == 0 ? "" : ", ", shape[i]);
  if (length < capacity) snprintf(buffer + length, capacity - length, rank == 1 ? ",)" : ")");
}

/* ---- Header dictionary parser: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */

typedef struct header_parser {
  const char *text;
  size_t length;
  size_t position;
  const char *name; /* the file, for messages */
  thaw_error *error;
} header_parser;

static thaw_status header_syntax_error(header_parser *parser, const char *expected) {
  return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                        "%s: malformed header: expected %s at header byte %zu", parser->name,
                        expected, parser->position);
}

static void skip_whitespace(header_parser *parser) {
  while (parser->position < parser->length) {
    char c = parser->text[parser->position];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    parser->position++;
  }
}

/* Skip whitespace, then consume `c` if it is next. */
static bool accept_char(header_parser *parser, char c) {
  skip_whitespace(parser);
  if (parser->position < parser->length && parser->text[parser->position] == c) {
    parser->position++;
    return true;
  }
  return false;
}

static bool accept_word(header_parser *parser, const char *word) {
  skip_whitespace(parser);
  size_t word_length = strlen(word);
  if (parser->length - parser->position < word_length ||
      memcmp(parser->text + parser->position, word, word_length) != 0)
    return false;
  parser->position += word_length;
  return true;
}

/* A Python string literal without escapes, copied into `out` (NUL-terminated). */
static thaw_status parse_string(header_parser *parser, char *out, size_t capacity) {
  skip_whitespace(parser);
  if (parser->position >= parser->length) return header_syntax_error(parser, "a quoted string");
  char quote = parser->text[parser->position];
  if (quote != '\'' && quote != '"') return header_syntax_error(parser, "a quoted string");
  size_t start = ++parser->position;
  while (parser->position < parser->length && parser->text[parser->position] != quote) {
    if (parser->text[parser->position] == '\\')
      return header_syntax_error(parser, "a string without escapes");
    parser->position++;
  }
  if (parser->position >= parser->length) return header_syntax_error(parser, "a closing quote");
  size_t string_length = parser->position - start;
  parser->position++;
  if (string_length >= capacity)
    return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                          "%s: malformed header: string of %zu bytes at header byte %zu is "
                          "longer than any valid key or dtype",
                          parser->name, string_length, start);
  memcpy(out, parser->text + start, string_length);
  out[string_length] = '\0';
  return THAW_OK;
}

static thaw_status parse_dimension(header_parser *parser, int64_t *dimension) {
  skip_whitespace(parser);
  size_t start = parser->position;
  int64_t value = 0;
  while (parser->position < parser->length && parser->text[parser->position] >= '0' &&
         parser->text[parser->position] <= '9') {
    int digit = parser->text[parser->position] - '0';
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, digit, &value))
      return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                            "%s: shape dimension at header byte %zu does not fit in 64 bits",
                            parser->name, start);
    parser->position++;
  }
  if (parser->position == start) return header_syntax_error(parser, "a non-negative integer");
  *dimension = value;
  return THAW_OK;
}

/* A tuple of dims: "()", "(3,)", "(2, 3)" or "(2, 3,)". "(3)" is an int in Python, not a
 * tuple, so NumPy refuses it and so do we. */
static thaw_status parse_shape(header_parser *parser, uint32_t *rank, int64_t *shape) {
  if (!accept_char(parser, '(')) return header_syntax_error(parser, "'(' starting the shape");
  uint32_t count = 0;
  while (!accept_char(parser, ')')) {
    if (count == THAW_MAX_RANK)
      return thaw_error_set(parser->error, THAW_STATUS_UNSUPPORTED,
                            "%s: shape has more than %d dimensions", parser->name,
                            THAW_MAX_RANK);
    thaw_status status = parse_dimension(parser, &shape[count]);
    if (status != THAW_OK) return status;
    count++;
    if (accept_char(parser, ',')) continue;
    if (count == 1) return header_syntax_error(parser, "',' after the only dimension");
    if (!accept_char(parser, ')')) return header_syntax_error(parser, "',' or ')' in the shape");
    break;
  }
  *rank = count;
  return THAW_OK;
}

typedef struct npy_header {
  char descr[NPY_MAX_DESCR_LENGTH];
  bool fortran_order;
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
} npy_header;

static thaw_status parse_header_dict(header_parser *parser, npy_header *header) {
  bool have_descr = false, have_fortran_order = false, have_shape = false;
  if (!accept_char(parser, '{')) return header_syntax_error(parser, "'{'");
  while (!accept_char(parser, '}')) {
    char key[32];
    size_t key_position = parser->position;
    thaw_status status = parse_string(parser, key, sizeof key);
    if (status != THAW_OK) return status;
    if (!accept_char(parser, ':')) return header_syntax_error(parser, "':' after a key");
    bool *seen;
    if (strcmp(key, "descr") == 0) {
      seen = &have_descr;
      status = parse_string(parser, header->descr, sizeof header->descr);
    } else if (strcmp(key, "fortran_order") == 0) {
      seen = &have_fortran_order;
      if (accept_word(parser, "True"))
        header->fortran_order = true;
      else if (accept_word(parser, "False"))
        header->fortran_order = false;
      else
        status = header_syntax_error(parser, "True or False");
    } else if (strcmp(key, "shape") == 0) {
      seen = &have_shape;
      status = parse_shape(parser, &header->rank, header->shape);
    } else {
      return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                            "%s: malformed header: unknown key '%s' at header byte %zu",
                            parser->name, key, key_position);
    }
    if (status != THAW_OK) return status;
    if (*seen)
      return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                            "%s: malformed header: key '%s' appears twice", parser->name, key);
    *seen = true;
    if (accept_char(parser, ',')) continue;
    if (!accept_char(parser, '}')) return header_syntax_error(parser, "',' or '}'");
    break;
  }
  skip_whitespace(parser);
  if (parser->position != parser->length)
    return header_syntax_error(parser, "only whitespace after '}'");
  if (!have_descr || !have_fortran_order || !have_shape)
    return thaw_error_set(parser->error, THAW_STATUS_CORRUPT,
                          "%s: malformed header: missing key '%s'", parser->name,
                          !have_descr ? "descr" : !have_fortran_order ? "fortran_order" : "shape");
  return THAW_OK;
}

/* ---- Reader ---- */

static uint32_t load_le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Validate everything but the data bytes; fills `out` except `data` and returns where the
 * data starts. */
static thaw_status parse_npy_layout(const uint8_t *bytes, size_t size, const char *name,
                                    thaw_npy *out, size_t *data_offset, thaw_error *error) {
  if (size < NPY_V1_PREAMBLE_SIZE)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: truncated: %zu bytes is shorter than the .npy preamble", name,
                          size);
  if (memcmp(bytes, NPY_MAGIC, NPY_MAGIC_SIZE) != 0)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: not a .npy file (does not start with \"\\x93NUMPY\")", name);
  uint8_t major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "%s: .npy format version %u.%u is not supported (1.0, 2.0 and 3.0 are)",
                          name, major, minor);
  size_t preamble_size = major == 1 ? NPY_V1_PREAMBLE_SIZE : NPY_V2_PREAMBLE_SIZE;
  if (size < preamble_size)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: truncated: %zu bytes is shorter than the version %u preamble",
                          name, size, major);
  size_t header_length = major == 1 ? load_le16(bytes + 8) : load_le32(bytes + 8);
  if (header_length > size - preamble_size)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: header length %zu runs past the end of the file (%zu bytes)", name,
                          header_length, size);

  header_parser parser = {(const char *)bytes + preamble_size, header_length, 0, name, error};
  npy_header header;
  thaw_status status = parse_header_dict(&parser, &header);
  if (status != THAW_OK) return status;

  const npy_dtype_entry *dtype = find_dtype_by_descr(header.descr);
  if (dtype == NULL)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "%s: dtype '%s' is not supported (thaw reads '<f4', '<i8', '<i4', "
                          "'|i1', '|u1', '|b1')",
                          name, header.descr);
  if (header.fortran_order)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                          "%s: fortran_order True is not supported; save a C-order array "
                          "(numpy.ascontiguousarray)",
                          name);

  char shape_text[THAW_MAX_RANK * 24 + 8];
  format_shape(shape_text, sizeof shape_text, header.rank, header.shape);
  size_t element_count = 1, size_bytes;
  for (uint32_t i = 0; i < header.rank; i++) {
    /* parse_dimension admits no sign, so only the conversion to size_t can fail. */
    if ((uint64_t)header.shape[i] > SIZE_MAX ||
        __builtin_mul_overflow(element_count, (size_t)header.shape[i], &element_count))
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "%s: shape %s has more elements than fit in memory", name,
                            shape_text);
  }
  if (__builtin_mul_overflow(element_count, thaw_dtype_size(dtype->dtype), &size_bytes))
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: shape %s %s has more bytes than fit in memory", name, shape_text,
                          dtype->numpy_name);
  size_t data_start = preamble_size + header_length;
  if (size_bytes != size - data_start)
    return thaw_error_set(error, THAW_STATUS_CORRUPT,
                          "%s: header says shape %s %s = %zu bytes, file has %zu", name,
                          shape_text, dtype->numpy_name, size_bytes, size - data_start);

  out->dtype = dtype->dtype;
  out->rank = header.rank;
  memset(out->shape, 0, sizeof out->shape);
  memcpy(out->shape, header.shape, header.rank * sizeof header.shape[0]);
  out->element_count = element_count;
  out->size_bytes = size_bytes;
  out->data = NULL;
  *data_offset = data_start;
  return THAW_OK;
}

/* thaw's bool is one byte holding 0 or 1; NumPy writes nothing else, a crafted file might. */
static thaw_status check_bool_data(const thaw_npy *npy, const char *name, thaw_error *error) {
  if (npy->dtype != THAW_DTYPE_BOOL) return THAW_OK;
  const uint8_t *values = npy->data;
  for (size_t i = 0; i < npy->element_count; i++)
    if (values[i] > 1)
      return thaw_error_set(error, THAW_STATUS_CORRUPT,
                            "%s: bool element %zu holds %u, not 0 or 1", name, i, values[i]);
  return THAW_OK;
}

thaw_status thaw_npy_parse(const void *bytes, size_t size, const char *name, thaw_npy *out,
                           thaw_error *error) {
  if (bytes == NULL && size != 0)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "%s: NULL bytes", name);
  thaw_npy npy;
  size_t data_offset;
  thaw_status status = parse_npy_layout(bytes, size, name, &npy, &data_offset, error);
  if (status != THAW_OK) return status;
  /* malloc(0) may return NULL; an empty array still gets a valid pointer. */
  npy.data = malloc(npy.size_bytes != 0 ? npy.size_bytes : 1);
  if (npy.data == NULL)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes",
                          name, npy.size_bytes);
  memcpy(npy.data, (const uint8_t *)bytes + data_offset, npy.size_bytes);
  status = check_bool_data(&npy, name, error);
  if (status != THAW_OK) {
    thaw_npy_free(&npy);
    return status;
  }
  *out = npy;
  return THAW_OK;
}

thaw_status thaw_npy_read(const char *path, thaw_npy *out, thaw_error *error) {
  FILE *file = fopen(path, "rb");
  if (file == NULL)
    return thaw_error_set(error, THAW_STATUS_IO, "%s: %s", path, strerror(errno));
  struct stat info;
  if (fstat(fileno(file), &info) != 0) {
    int cause = errno;
    fclose(file);
    return thaw_error_set(error, THAW_STATUS_IO, "%s: %s", path, strerror(cause));
  }
  if (!S_ISREG(info.st_mode)) {
    fclose(file);
    return thaw_error_set(error, THAW_STATUS_IO, "%s: not a regular file", path);
  }
  if ((uint64_t)info.st_size > SIZE_MAX) {
    fclose(file);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "%s: %jd bytes do not fit in memory",
                          path, (intmax_t)info.st_size);
  }
  size_t size = (size_t)info.st_size;
  uint8_t *bytes = malloc(size != 0 ? size : 1);
  if (bytes == NULL) {
    fclose(file);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes",
                          path, size);
  }
  size_t got = fread(bytes, 1, size, file);
  bool read_failed = ferror(file) != 0;
  fclose(file);
  if (read_failed || got != size) {
    free(bytes);
    return thaw_error_set(error, THAW_STATUS_IO, "%s: read %zu of %zu bytes", path, got, size);
  }

  /* Reuse the file buffer for the data rather than copying it into a second allocation. */
  thaw_npy npy;
  size_t data_offset;
  thaw_status status = parse_npy_layout(bytes, size, path, &npy, &data_offset, error);
  if (status != THAW_OK) {
    free(bytes);
    return status;
  }
  memmove(bytes, bytes + data_offset, npy.size_bytes);
  npy.data = bytes;
  status = check_bool_data(&npy, path, error);
  if (status != THAW_OK) {
    thaw_npy_free(&npy);
    return status;
  }
  *out = npy;
  return THAW_OK;
}

void thaw_npy_free(thaw_npy *npy) {
  if (npy == NULL) return;
  free(npy->data);
  npy->data = NULL;
}

/* ---- Writer ---- */

thaw_status thaw_npy_write_stream(FILE *stream, const char *name, thaw_dtype dtype,
                                  uint32_t rank, const int64_t *shape, const void *data,
                                  thaw_error *error) {
  const npy_dtype_entry *entry = find_dtype(dtype);
  if (entry == NULL)
    return thaw_error_set(error, THAW_STATUS_UNSUPPORTED, "%s: dtype %d has no .npy encoding",
                          name, (int)dtype);
  if (rank > THAW_MAX_RANK)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "%s: rank %u exceeds %d", name,
                          rank, THAW_MAX_RANK);
  size_t size_bytes = thaw_dtype_size(dtype);
  for (uint32_t i = 0; i < rank; i++) {
    if (shape[i] < 0 || (uint64_t)shape[i] > SIZE_MAX ||
        __builtin_mul_overflow(size_bytes, (size_t)shape[i], &size_bytes))
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "%s: dimension %u is %" PRId64 ", not a valid size", name, i,
                            shape[i]);
  }
  if (data == NULL && size_bytes != 0)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "%s: NULL data", name);

  char shape_text[THAW_MAX_RANK * 24 + 8];
  format_shape(shape_text, sizeof shape_text, rank, shape);
  char header[NPY_MAX_WRITTEN_HEADER];
  int dict_length = snprintf(header, sizeof header,
                             "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                             entry->descr, shape_text);
  /* Pad with spaces and end with '\n' so the data starts on the NumPy alignment. */
  size_t header_length = (size_t)dict_length + 1;
  size_t padded_total = (NPY_V1_PREAMBLE_SIZE + header_length + NPY_DATA_ALIGNMENT - 1) /
                        NPY_DATA_ALIGNMENT * NPY_DATA_ALIGNMENT;
  header_length = padded_total - NPY_V1_PREAMBLE_SIZE;
  memset(header + dict_length, ' ', header_length - 1 - (size_t)dict_length);
  header[header_length - 1] = '\n';

  uint8_t preamble[NPY_V1_PREAMBLE_SIZE];
  memcpy(preamble, NPY_MAGIC, NPY_MAGIC_SIZE);
  preamble[6] = 1;
  preamble[7] = 0;
  preamble[8] = (uint8_t)(header_length & 0xff);
  preamble[9] = (uint8_t)(header_length >> 8);

  if (fwrite(preamble, 1, sizeof preamble, stream) != sizeof preamble ||
      fwrite(header, 1, header_length, stream) != header_length ||
      (size_bytes != 0 && fwrite(data, 1, size_bytes, stream) != size_bytes))
    return thaw_error_set(error, THAW_STATUS_IO, "%s: write failed: %s", name,
                          strerror(errno));
  return THAW_OK;
}

thaw_status thaw_npy_write(const char *path, thaw_dtype dtype, uint32_t rank,
                           const int64_t *shape, const void *data, thaw_error *error) {
  FILE *file = fopen(path, "wb");
  if (file == NULL)
    return thaw_error_set(error, THAW_STATUS_IO, "%s: %s", path, strerror(errno));
  thaw_status status = thaw_npy_write_stream(file, path, dtype, rank, shape, data, error);
  if (fclose(file) != 0 && status == THAW_OK)
    status = thaw_error_set(error, THAW_STATUS_IO, "%s: write failed: %s", path,
                            strerror(errno));
  if (status != THAW_OK) remove(path);
  return status;
}
