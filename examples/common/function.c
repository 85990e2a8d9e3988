#include "function.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Defined only in binaries built with thaw_embed_model(... SYMBOL thaw_embedded_model): weak
 * references are NULL otherwise, so one source serves both kinds of binary. */
extern const unsigned char thaw_embedded_model[] __attribute__((weak));
extern const size_t thaw_embedded_model_size __attribute__((weak));

/* Names in a request are compared with model names, which are shorter than this. */
#define FUNCTION_MAX_NAME 256
/* A number token longer than this is not one a tensor element needs. */
#define FUNCTION_MAX_NUMBER 64
/* Nesting allowed in members that are skipped (not inputs). */
#define FUNCTION_MAX_SKIP_DEPTH 32

function_fault function_fail(function_error *error, function_fault fault, const char *format,
                             ...) {
  error->fault = fault;
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(error->message, sizeof error->message, format, arguments);
  va_end(arguments);
  return fault;
}

void function_format_shape(char text[FUNCTION_SHAPE_TEXT_SIZE], uint32_t rank,
                           const int64_t *shape) {
  size_t used = 0;
  text[used++] = '[';
  for (uint32_t i = 0; i < rank; i++)
    used += (size_t)snprintf(text + used, FUNCTION_SHAPE_TEXT_SIZE - used, "%s%" PRId64,
                             i > 0 ? "," : "", shape[i]);
  snprintf(text + used, FUNCTION_SHAPE_TEXT_SIZE - used, "]");
}

thaw_status function_open_model(const char *path, thaw_model **model, thaw_error *error) {
  if (thaw_embedded_model != NULL) {
    fprintf(stderr, "model: embedded, %zu bytes\n", thaw_embedded_model_size);
    return thaw_model_open_memory(thaw_embedded_model, thaw_embedded_model_size, 0, model,
                                  error);
  }
  if (path == NULL) {
    error->status = THAW_STATUS_INVALID_ARGUMENT;
    snprintf(error->message, sizeof error->message,
             "no model: this binary has none embedded and THAW_MODEL is not set");
    return error->status;
  }
  fprintf(stderr, "model: %s\n", path);
  return thaw_model_open(path, 0, model, error);
}

/* ---- Session pool ---- */

thaw_status function_session_pool_create(const thaw_model *model, size_t size,
                                         function_session_pool *pool, thaw_error *error) {
  memset(pool, 0, sizeof *pool);
  pool->free_sessions = calloc(size, sizeof *pool->free_sessions);
  if (pool->free_sessions == NULL) {
    error->status = THAW_STATUS_OUT_OF_MEMORY;
    snprintf(error->message, sizeof error->message, "no memory for %zu sessions", size);
    return error->status;
  }
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->available, NULL);
  pool->size = size;
  for (; pool->free_count < size; pool->free_count++) {
    thaw_status status =
        thaw_session_create(model, NULL, &pool->free_sessions[pool->free_count], error);
    if (status != THAW_OK) {
      function_session_pool_destroy(pool);
      return status;
    }
  }
  return THAW_OK;
}

void function_session_pool_destroy(function_session_pool *pool) {
  for (size_t i = 0; i < pool->free_count; i++) thaw_session_destroy(pool->free_sessions[i]);
  free(pool->free_sessions);
  pthread_cond_destroy(&pool->available);
  pthread_mutex_destroy(&pool->lock);
  memset(pool, 0, sizeof *pool);
}

thaw_session *function_session_acquire(function_session_pool *pool) {
  pthread_mutex_lock(&pool->lock);
  while (pool->free_count == 0) pthread_cond_wait(&pool->available, &pool->lock);
  thaw_session *session = pool->free_sessions[--pool->free_count];
  pthread_mutex_unlock(&pool->lock);
  return session;
}

void function_session_release(function_session_pool *pool, thaw_session *session) {
  pthread_mutex_lock(&pool->lock);
  pool->free_sessions[pool->free_count++] = session;
  pthread_cond_signal(&pool->available);
  pthread_mutex_unlock(&pool->lock);
}

function_fault function_run(thaw_session *session, uint64_t deadline_ns, function_error *error) {
  const thaw_run_options options = {.deadline_ns = deadline_ns};
  thaw_error run_error;
  const thaw_status status = thaw_session_run(session, &options, &run_error);
  if (status == THAW_STATUS_DEADLINE)
    return function_fail(error, FUNCTION_TIMED_OUT, "run timed out: %s", run_error.message);
  if (status != THAW_OK)
    return function_fail(error, FUNCTION_FAILED, "run failed: %s", run_error.message);
  return FUNCTION_OK;
}

/* ---- JSON reader ---- */

typedef struct json_cursor {
  const char *start; /* of the body, for positions in messages */
  const char *at;
  const char *end;
  function_error *error;
} json_cursor;

static void skip_whitespace(json_cursor *cursor) {
  while (cursor->at < cursor->end &&
         (*cursor->at == ' ' || *cursor->at == '\t' || *cursor->at == '\n' || *cursor->at == '\r'))
    cursor->at++;
}

/* Skip whitespace; true (and consume it) when the next character is `c`. */
static bool accept(json_cursor *cursor, char c) {
  skip_whitespace(cursor);
  if (cursor->at < cursor->end && *cursor->at == c) {
    cursor->at++;
    return true;
  }
  return false;
}

static function_fault syntax_error(json_cursor *cursor, const char *expected) {
  return function_fail(cursor->error, FUNCTION_BAD_BODY, "invalid JSON at byte %td: expected %s",
                       cursor->at - cursor->start, expected);
}

static function_fault expect(json_cursor *cursor, char c, const char *expected) {
  return accept(cursor, c) ? FUNCTION_OK : syntax_error(cursor, expected);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A JSON string into `out` as UTF-8 (NUL-terminated); a string that does not fit, or that
 * holds a NUL or an unpaired surrogate, is refused. `out` may be NULL to skip the string. */
static function_fault read_string(json_cursor *cursor, char *out, size_t capacity) {
  if (!accept(cursor, '"')) return syntax_error(cursor, "a string");
  size_t length = 0;
  for (;;) {
    if (cursor->at == cursor->end) return syntax_error(cursor, "the end of a string");
    unsigned char c = (unsigned char)*cursor->at++;
    if (c == '"') break;
    if (c < 0x20) return syntax_error(cursor, "no control character in a string");
    char encoded[4];
    size_t encoded_length = 1;
    encoded[0] = (char)c;
    if (c == '\\') {
      if (cursor->at == cursor->end) return syntax_error(cursor, "an escape");
      char escape = *cursor->at++;
      const char *simple = strchr("\"\\/bfnrt", escape);
      if (escape != '\0' && simple != NULL) {
        encoded[0] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      } else if (escape == 'u') {
        if (cursor->end - cursor->at < 4) return syntax_error(cursor, "four hex digits");
        uint32_t code = 0;
        for (int i = 0; i < 4; i++) {
          int digit = hex_value(*cursor->at++);
          if (digit < 0) return syntax_error(cursor, "four hex digits");
          code = code << 4 | (uint32_t)digit;
        }
        if (code == 0 || (code >= 0xD800 && code <= 0xDFFF))
          return function_fail(cursor->error, FUNCTION_BAD_BODY,
                               "a name holds \\u%04" PRIX32 ", which names cannot contain",
                               code);
        if (code < 0x80) {
          encoded[0] = (char)code;
        } else if (code < 0x800) {
          encoded[0] = (char)(0xC0 | code >> 6);
          encoded[1] = (char)(0x80 | (code & 0x3F));
          encoded_length = 2;
        } else {
          encoded[0] = (char)(0xE0 | code >> 12);
          encoded[1] = (char)(0x80 | ((code >> 6) & 0x3F));
          encoded[2] = (char)(0x80 | (code & 0x3F));
          encoded_length = 3;
        }
      } else {
        return syntax_error(cursor, "a valid escape");
      }
    }
    if (out != NULL) {
      if (length + encoded_length >= capacity)
        return function_fail(cursor->error, FUNCTION_BAD_BODY,
                             "a name is longer than %zu bytes", capacity - 1);
      memcpy(out + length, encoded, encoded_length);
    }
    length += encoded_length;
  }
  if (out != NULL) out[length] = '\0';
  return FUNCTION_OK;
}

/* The extent of a JSON number at the cursor, checked against the grammar
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; `is_integer` when it has no fraction or
 * exponent. Returns its length, 0 if there is no valid number. */
static size_t scan_number(const json_cursor *cursor, bool *is_integer) {
  const char *p = cursor->at, *end = cursor->end;
  if (p < end && *p == '-') p++;
  if (p == end || *p < '0' || *p > '9') return 0;
  if (*p == '0')
    p++;
  else
    while (p < end && *p >= '0' && *p <= '9') p++;
  *is_integer = true;
  if (p < end && *p == '.') {
    p++;
    if (p == end || *p < '0' || *p > '9') return 0;
    while (p < end && *p >= '0' && *p <= '9') p++;
    *is_integer = false;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p == end || *p < '0' || *p > '9') return 0;
    while (p < end && *p >= '0' && *p <= '9') p++;
    *is_integer = false;
  }
  return (size_t)(p - cursor->at);
}

static bool accept_word(json_cursor *cursor, const char *word) {
  size_t length = strlen(word);
  if ((size_t)(cursor->end - cursor->at) < length || memcmp(cursor->at, word, length) != 0)
    return false;
  cursor->at += length;
  return true;
}

/* Where one input's values go while its nested arrays are read. */
typedef struct tensor_reader {
  const thaw_tensor *tensor;
  size_t next_element;
} tensor_reader;

static function_fault read_element(json_cursor *cursor, tensor_reader *reader) {
  const thaw_tensor *tensor = reader->tensor;
  size_t index = reader->next_element++;
  skip_whitespace(cursor);
  if (tensor->dtype == THAW_DTYPE_BOOL) {
    bool value;
    if (accept_word(cursor, "true"))
      value = true;
    else if (accept_word(cursor, "false"))
      value = false;
    else
      return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                           "input \"%s\" is bool: element %zu must be true or false",
                           tensor->name, index);
    ((uint8_t *)tensor->data)[index] = value;
    return FUNCTION_OK;
  }
  if (cursor->at < cursor->end && *cursor->at == '[')
    return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                         "input \"%s\" has rank %" PRIu32 ": its arrays nest too deep",
                         tensor->name, tensor->rank);
  bool is_integer;
  size_t length = scan_number(cursor, &is_integer);
  if (length == 0) return syntax_error(cursor, "a number");
  if (length > FUNCTION_MAX_NUMBER)
    return function_fail(cursor->error, FUNCTION_BAD_BODY,
                         "input \"%s\": element %zu is a %zu-character number", tensor->name,
                         index, length);
  char text[FUNCTION_MAX_NUMBER + 1];
  memcpy(text, cursor->at, length);
  text[length] = '\0';
  cursor->at += length;
  if (tensor->dtype == THAW_DTYPE_F32) {
    ((float *)tensor->data)[index] = strtof(text, NULL);
    return FUNCTION_OK;
  }
  int64_t minimum, maximum;
  switch (tensor->dtype) {
    case THAW_DTYPE_I8: minimum = INT8_MIN, maximum = INT8_MAX; break;
    case THAW_DTYPE_U8: minimum = 0, maximum = UINT8_MAX; break;
    case THAW_DTYPE_I32: minimum = INT32_MIN, maximum = INT32_MAX; break;
    default: minimum = INT64_MIN, maximum = INT64_MAX; break;
  }
  errno = 0;
  long long value = is_integer ? strtoll(text, NULL, 10) : 0;
  if (!is_integer || errno == ERANGE || value < minimum || value > maximum)
    return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                         "input \"%s\" is %s: element %zu (%s) is not an integer in [%" PRId64
                         ", %" PRId64 "]",
                         tensor->name, thaw_dtype_name(tensor->dtype), index, text, minimum,
                         maximum);
  switch (tensor->dtype) {
    case THAW_DTYPE_I8: ((int8_t *)tensor->data)[index] = (int8_t)value; break;
    case THAW_DTYPE_U8: ((uint8_t *)tensor->data)[index] = (uint8_t)value; break;
    case THAW_DTYPE_I32: ((int32_t *)tensor->data)[index] = (int32_t)value; break;
    default: ((int64_t *)tensor->data)[index] = (int64_t)value; break;
  }
  return FUNCTION_OK;
}

/* Dims [dim, rank) of the tensor as nested arrays. Recursion depth is bounded by the rank. */
static function_fault read_dims(json_cursor *cursor, tensor_reader *reader, uint32_t dim) {
  const thaw_tensor *tensor = reader->tensor;
  if (dim == tensor->rank) return read_element(cursor, reader);
  if (!accept(cursor, '[')) {
    if (cursor->at == cursor->end) return syntax_error(cursor, "'['");
    return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                         "input \"%s\" has rank %" PRIu32 ": expected an array for dim %" PRIu32,
                         tensor->name, tensor->rank, dim);
  }
  int64_t count = 0;
  if (!accept(cursor, ']')) {
    do {
      if (count == tensor->shape[dim]) {
        count++;
        break;
      }
      function_fault fault = read_dims(cursor, reader, dim + 1);
      if (fault != FUNCTION_OK) return fault;
      count++;
    } while (accept(cursor, ','));
    if (count <= tensor->shape[dim] && !accept(cursor, ']'))
      return syntax_error(cursor, "',' or ']'");
  }
  if (count != tensor->shape[dim]) {
    char shape[FUNCTION_SHAPE_TEXT_SIZE];
    function_format_shape(shape, tensor->rank, tensor->shape);
    return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                         "input \"%s\" has shape %s: dim %" PRIu32 " has %s%" PRId64
                         " values, expected %" PRId64,
                         tensor->name, shape, dim, count > tensor->shape[dim] ? "more than " : "",
                         count > tensor->shape[dim] ? tensor->shape[dim] : count,
                         tensor->shape[dim]);
  }
  return FUNCTION_OK;
}

/* Any JSON value, nested at most FUNCTION_MAX_SKIP_DEPTH deep. */
static function_fault skip_value(json_cursor *cursor, int depth) {
  if (depth > FUNCTION_MAX_SKIP_DEPTH)
    return function_fail(cursor->error, FUNCTION_BAD_BODY, "JSON nested deeper than %d",
                         FUNCTION_MAX_SKIP_DEPTH);
  skip_whitespace(cursor);
  if (cursor->at == cursor->end) return syntax_error(cursor, "a value");
  char first = *cursor->at;
  if (first == '"') return read_string(cursor, NULL, 0);
  if (first == '{' || first == '[') {
    char close = first == '{' ? '}' : ']';
    cursor->at++;
    if (accept(cursor, close)) return FUNCTION_OK;
    do {
      function_fault fault;
      if (first == '{' && ((fault = read_string(cursor, NULL, 0)) != FUNCTION_OK ||
                           (fault = expect(cursor, ':', "':'")) != FUNCTION_OK))
        return fault;
      if ((fault = skip_value(cursor, depth + 1)) != FUNCTION_OK) return fault;
    } while (accept(cursor, ','));
    return expect(cursor, close, first == '{' ? "',' or '}'" : "',' or ']'");
  }
  if (accept_word(cursor, "true") || accept_word(cursor, "false") ||
      accept_word(cursor, "null"))
    return FUNCTION_OK;
  bool is_integer;
  size_t length = scan_number(cursor, &is_integer);
  if (length == 0) return syntax_error(cursor, "a value");
  cursor->at += length;
  return FUNCTION_OK;
}

static function_fault read_inputs_object(json_cursor *cursor, thaw_session *session,
                                         size_t input_count, bool *given) {
  function_fault fault = expect(cursor, '{', "'{' starting \"inputs\"");
  if (fault != FUNCTION_OK || accept(cursor, '}')) return fault;
  do {
    char name[FUNCTION_MAX_NAME];
    if ((fault = read_string(cursor, name, sizeof name)) != FUNCTION_OK ||
        (fault = expect(cursor, ':', "':'")) != FUNCTION_OK)
      return fault;
    thaw_tensor tensor;
    size_t index = 0;
    for (; index < input_count; index++) {
      thaw_session_input(session, index, &tensor);
      if (strcmp(tensor.name, name) == 0) break;
    }
    if (index == input_count)
      return function_fail(cursor->error, FUNCTION_WRONG_INPUT,
                           "the model has no input \"%s\"", name);
    if (given[index])
      return function_fail(cursor->error, FUNCTION_BAD_BODY, "input \"%s\" is given twice",
                           name);
    tensor_reader reader = {.tensor = &tensor, .next_element = 0};
    if ((fault = read_dims(cursor, &reader, 0)) != FUNCTION_OK) return fault;
    given[index] = true;
  } while (accept(cursor, ','));
  return expect(cursor, '}', "',' or '}' in \"inputs\"");
}

function_fault function_read_json_inputs(thaw_session *session, const char *body,
                                         size_t length, function_error *error) {
  size_t input_count = 0;
  thaw_tensor tensor;
  while (thaw_session_input(session, input_count, &tensor) == THAW_OK) input_count++;
  bool *given = calloc(input_count + 1, sizeof *given);
  if (given == NULL) return function_fail(error, FUNCTION_FAILED, "out of memory");

  json_cursor cursor = {.start = body, .at = body, .end = body + length, .error = error};
  bool found_inputs = false;
  function_fault fault = expect(&cursor, '{', "'{'");
  if (fault == FUNCTION_OK && !accept(&cursor, '}')) {
    do {
      char key[FUNCTION_MAX_NAME];
      if ((fault = read_string(&cursor, key, sizeof key)) != FUNCTION_OK ||
          (fault = expect(&cursor, ':', "':'")) != FUNCTION_OK)
        break;
      if (strcmp(key, "inputs") == 0) {
        if (found_inputs) {
          fault = function_fail(error, FUNCTION_BAD_BODY, "\"inputs\" is given twice");
          break;
        }
        found_inputs = true;
        fault = read_inputs_object(&cursor, session, input_count, given);
      } else {
        fault = skip_value(&cursor, 1);
      }
    } while (fault == FUNCTION_OK && accept(&cursor, ','));
    if (fault == FUNCTION_OK) fault = expect(&cursor, '}', "',' or '}'");
  }
  if (fault == FUNCTION_OK) {
    skip_whitespace(&cursor);
    if (cursor.at != cursor.end) fault = syntax_error(&cursor, "the end of the body");
  }
  if (fault == FUNCTION_OK && !found_inputs)
    fault = function_fail(error, FUNCTION_BAD_BODY,
                          "the body has no \"inputs\" object: expected {\"inputs\": {...}}");
  for (size_t i = 0; fault == FUNCTION_OK && i < input_count; i++) {
    if (!given[i]) {
      thaw_session_input(session, i, &tensor);
      fault = function_fail(error, FUNCTION_WRONG_INPUT, "input \"%s\" is missing", tensor.name);
    }
  }
  free(given);
  return fault;
}

/* ---- JSON writer ---- */

void function_write_json_string(FILE *stream, const char *text) {
  fputc('"', stream);
  for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(stream, "\\%c", *c);
    else if (*c < 0x20)
      fprintf(stream, "\\u%04x", *c);
    else
      fputc(*c, stream);
  }
  fputc('"', stream);
}

static void write_element(FILE *stream, const thaw_tensor *tensor, size_t index) {
  switch (tensor->dtype) {
    case THAW_DTYPE_F32: {
      float value = ((const float *)tensor->data)[index];
      /* %.9g round-trips every float. */
      if (isfinite(value))
        fprintf(stream, "%.9g", (double)value);
      else
        fputs("null", stream);
      break;
    }
    case THAW_DTYPE_I8: fprintf(stream, "%d", ((const int8_t *)tensor->data)[index]); break;
    case THAW_DTYPE_U8: fprintf(stream, "%u", ((const uint8_t *)tensor->data)[index]); break;
    case THAW_DTYPE_I32:
      fprintf(stream, "%" PRId32, ((const int32_t *)tensor->data)[index]);
      break;
    case THAW_DTYPE_I64:
      fprintf(stream, "%" PRId64, ((const int64_t *)tensor->data)[index]);
      break;
    case THAW_DTYPE_BOOL:
      fputs(((const uint8_t *)tensor->data)[index] ? "true" : "false", stream);
      break;
  }
}

static void write_dims(FILE *stream, const thaw_tensor *tensor, uint32_t dim,
                       size_t *next_element) {
  if (dim == tensor->rank) {
    write_element(stream, tensor, (*next_element)++);
    return;
  }
  fputc('[', stream);
  for (int64_t i = 0; i < tensor->shape[dim]; i++) {
    if (i > 0) fputc(',', stream);
    write_dims(stream, tensor, dim + 1, next_element);
  }
  fputc(']', stream);
}

bool function_write_json_outputs(thaw_session *session, FILE *stream) {
  fputs("{\"outputs\":{", stream);
  thaw_tensor tensor;
  for (size_t i = 0; thaw_session_output(session, i, &tensor) == THAW_OK; i++) {
    if (i > 0) fputc(',', stream);
    function_write_json_string(stream, tensor.name);
    fputc(':', stream);
    size_t next_element = 0;
    write_dims(stream, &tensor, 0, &next_element);
  }
  fputs("}}\n", stream);
  return !ferror(stream);
}
