/*
 * Real models end to end: every case folder under tests/models/ (scripts/model_cases.py
 * describes the layout) is converted with the converter library, pinning the input shapes its
 * meta.json states, opened from memory, run on each committed input set, and every output is
 * compared with ONNX Runtime's within |thaw - ort| <= atol * max(1, max|ort|) + rtol * |ort|.
 * A failure names the worst element. Cases whose model comes from a fetched package
 * (PaddleOCR, scripts/fetch_paddleocr.sh) fail when the package is absent, unless
 * THAW_ALLOW_MISSING_MODELS=1 makes them skip. Given a folder, it checks the cases there
 * instead (the benchmark models, which are too big to commit). Every input set also runs on
 * 2, 3 and 4 threads, whose outputs must be the same bytes as on one. THAW_MODELS_SAVE_CONVERTED
 * and THAW_MODELS_CONVERTED carry the converted files from one machine to another (see
 * converted_model_path).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "npy.h"
#include "test_support.h"
#include "thaw.h"

/* ---- A small JSON reader for meta.json (trusted, committed files: failures abort the test) */

typedef enum json_kind {
  JSON_NULL,
  JSON_BOOLEAN,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
} json_kind;

typedef struct json_value {
  json_kind kind;
  double number;             /* NUMBER; BOOLEAN as 0 or 1 */
  char *string;              /* STRING */
  char *key;                 /* the member name, for values inside an OBJECT */
  struct json_value *items;  /* ARRAY elements or OBJECT members, in file order */
  size_t count;
} json_value;

typedef struct json_parser {
  const char *path;
  const char *text;
  const char *cursor;
} json_parser;

static void json_fail(const json_parser *parser, const char *what) {
  fail_msg("%s: %s at byte %zu", parser->path, what, (size_t)(parser->cursor - parser->text));
}

static void json_skip_space(json_parser *parser) {
  while (*parser->cursor == ' ' || *parser->cursor == '\n' || *parser->cursor == '\r' ||
         *parser->cursor == '\t') {
    parser->cursor++;
  }
}

static bool json_take(json_parser *parser, char expected) {
  json_skip_space(parser);
  if (*parser->cursor != expected) return false;
  parser->cursor++;
  return true;
}

static char *json_parse_string(json_parser *parser) {
  if (!json_take(parser, '"')) json_fail(parser, "expected a string");
  size_t capacity = strlen(parser->cursor) + 1;
  char *result = malloc(capacity);
  assert_non_null(result);
  size_t length = 0;
  for (;;) {
    char c = *parser->cursor++;
    if (c == '\0') json_fail(parser, "unterminated string");
    if (c == '"') break;
    if (c == '\\') {
      char escaped = *parser->cursor++;
      const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
      const char *found = escaped != '\0' ? strchr(from, escaped) : NULL;
      /* meta.json names are ASCII, so \u escapes never occur. */
      if (found == NULL) json_fail(parser, "unsupported escape");
      c = to[found - from];
    }
    result[length++] = c;
  }
  result[length] = '\0';
  return result;
}

static void json_parse_value(json_parser *parser, json_value *value);

/* Elements of an array or members of an object, up to `close`. */
static void json_parse_items(json_parser *parser, json_value *value, char close) {
  size_t capacity = 0;
  if (json_take(parser, close)) return;
  do {
    if (value->count == capacity) {
      capacity = capacity ? capacity * 2 : 8;
      value->items = realloc(value->items, capacity * sizeof *value->items);
      assert_non_null(value->items);
    }
    json_value *item = &value->items[value->count++];
    memset(item, 0, sizeof *item);
    if (value->kind == JSON_OBJECT) {
      item->key = json_parse_string(parser);
      if (!json_take(parser, ':')) json_fail(parser, "expected ':'");
    }
    json_parse_value(parser, item);
  } while (json_take(parser, ','));
  if (!json_take(parser, close)) json_fail(parser, "expected ',' or the closing bracket");
}

static void json_parse_value(json_parser *parser, json_value *value) {
  json_skip_space(parser);
  char c = *parser->cursor;
  if (c == '{' || c == '[') {
    parser->cursor++;
    value->kind = c == '{' ? JSON_OBJECT : JSON_ARRAY;
    json_parse_items(parser, value, c == '{' ? '}' : ']');
  } else if (c == '"') {
    value->kind = JSON_STRING;
    value->string = json_parse_string(parser);
  } else if (strncmp(parser->cursor, "true", 4) == 0 || strncmp(parser->cursor, "false", 5) == 0) {
    value->kind = JSON_BOOLEAN;
    value->number = c == 't';
    parser->cursor += c == 't' ? 4 : 5;
  } else if (strncmp(parser->cursor, "null", 4) == 0) {
    value->kind = JSON_NULL;
    parser->cursor += 4;
  } else {
    char *end;
    value->kind = JSON_NUMBER;
    value->number = strtod(parser->cursor, &end);
    if (end == parser->cursor) json_fail(parser, "expected a value");
    parser->cursor = end;
  }
}

static json_value json_read_file(const char *path) {
  size_t size;
  uint8_t *bytes = thaw_test_read_file(path, &size);
  if (bytes == NULL) fail_msg("cannot read %s", path);
  char *text = realloc(bytes, size + 1);
  assert_non_null(text);
  text[size] = '\0';
  if (strlen(text) != size) fail_msg("%s: NUL byte inside the JSON text", path);
  json_parser parser = {.path = path, .text = text, .cursor = text};
  json_value root = {0};
  json_parse_value(&parser, &root);
  json_skip_space(&parser);
  if (*parser.cursor != '\0') json_fail(&parser, "trailing bytes");
  free(text);
  return root;
}

static void json_free(json_value *value) {
  for (size_t i = 0; i < value->count; i++) json_free(&value->items[i]);
  free(value->items);
  free(value->string);
  free(value->key);
}

/* The member `key` of an object of kind `kind`; NULL when absent and `required` is false. */
static const json_value *json_member(const json_value *object, const char *key, json_kind kind,
                                     bool required, const char *path) {
  for (size_t i = 0; i < object->count; i++) {
    if (strcmp(object->items[i].key, key) != 0) continue;
    if (object->items[i].kind != kind) fail_msg("%s: \"%s\" has the wrong JSON type", path, key);
    return &object->items[i];
  }
  if (required) fail_msg("%s: no \"%s\"", path, key);
  return NULL;
}

/* ---- The cases ---- */

typedef struct model_case {
  char *folder;    /* absolute path of the case folder */
  char *name;      /* the folder relative to tests/models, for messages */
} model_case;

/* Test-harness allocation: running out of memory here ends the program. */
static void *reallocate(void *pointer, size_t size) {
  void *result = realloc(pointer, size);
  if (result == NULL) {
    fprintf(stderr, "test_models: out of memory\n");
    abort();
  }
  return result;
}

/* `format` holds two %s for `a` and `b`; the result is malloc'ed. */
static char *format_path(const char *format, const char *a, const char *b) {
  size_t length = strlen(format) + strlen(a) + strlen(b) + 1;
  char *path = reallocate(NULL, length);
  snprintf(path, length, format, a, b);
  return path;
}

static bool file_exists(const char *path) {
  struct stat status;
  return stat(path, &status) == 0 && S_ISREG(status.st_mode);
}

/* Where a fetched package's models are; see scripts/fetch_paddleocr.sh. */
static char *package_model_dir(const char *package, const char *meta_path) {
  if (strcmp(package, "paddleocr") != 0) fail_msg("%s: unknown package \"%s\"", meta_path, package);
  const char *cache = getenv("THAW_MODEL_CACHE");
  if (cache != NULL) return format_path("%s/%s/assets", cache, package);
  const char *home = getenv("HOME");
  if (home == NULL) fail_msg("neither THAW_MODEL_CACHE nor HOME is set: cannot find %s", package);
  return format_path("%s/.cache/thaw-models/%s/assets", home, package);
}

typedef struct comparison {
  double worst_excess; /* largest |actual - expected| - tolerance; > 0 means a failure */
  size_t worst_index;
  double max_abs_reference;
} comparison;

/* rtol/atol as in the file comment; atol scales with the output's largest magnitude so that
 * outputs with large values (logits, unnormalised hidden states) are judged relatively. */
static comparison compare_f32(const float *actual, const float *expected, size_t count,
                              double rtol, double atol) {
  comparison result = {.worst_excess = -INFINITY};
  for (size_t i = 0; i < count; i++) {
    result.max_abs_reference = fmax(result.max_abs_reference, fabs((double)expected[i]));
  }
  double scaled_atol = atol * fmax(1.0, result.max_abs_reference);
  for (size_t i = 0; i < count; i++) {
    double difference = fabs((double)actual[i] - (double)expected[i]);
    /* NaN in either side is a failure, never silently "close". */
    double excess = isnan(difference) ? INFINITY
                                      : difference - (scaled_atol + rtol * fabs((double)expected[i]));
    if (excess > result.worst_excess) {
      result.worst_excess = excess;
      result.worst_index = i;
    }
  }
  return result;
}

static size_t argmax_f32(const float *values, size_t count) {
  size_t best = 0;
  for (size_t i = 1; i < count; i++) {
    if (values[i] > values[best]) best = i;
  }
  return best;
}

static void load_inputs(const model_case *test_case, const json_value *meta, const char *set,
                        thaw_session *session, const thaw_model *model) {
  const json_value *inputs = json_member(meta, "inputs", JSON_ARRAY, true, test_case->name);
  for (size_t i = 0; i < inputs->count; i++) {
    const char *name = json_member(&inputs->items[i], "name", JSON_STRING, true, test_case->name)->string;
    const char *file = json_member(&inputs->items[i], "file", JSON_STRING, true, test_case->name)->string;
    char *set_folder = format_path("%s/inputs/%s", test_case->folder, set);
    char *path = format_path("%s/%s", set_folder, file);
    thaw_npy npy;
    thaw_error error;
    if (thaw_npy_read(path, &npy, &error) != THAW_OK) fail_msg("%s", error.message);
    size_t index;
    if (thaw_model_find_input(model, name, &index) != THAW_OK) {
      fail_msg("%s: the converted model has no input \"%s\"", test_case->name, name);
    }
    thaw_tensor tensor;
    assert_int_equal(thaw_session_input(session, index, &tensor), THAW_OK);
    if (tensor.dtype != npy.dtype || tensor.size_bytes != npy.size_bytes) {
      fail_msg("%s: input \"%s\" is %s with %zu bytes in the model, %s with %zu bytes in %s",
               test_case->name, name, thaw_dtype_name(tensor.dtype), tensor.size_bytes,
               thaw_dtype_name(npy.dtype), npy.size_bytes, path);
    }
    memcpy(tensor.data, npy.data, npy.size_bytes);
    thaw_npy_free(&npy);
    free(path);
    free(set_folder);
  }
}

static void check_outputs(const model_case *test_case, const json_value *meta, const char *set,
                          size_t set_index, thaw_session *session, const thaw_model *model) {
  const json_value *outputs = json_member(meta, "outputs", JSON_ARRAY, true, test_case->name);
  const json_value *labels = json_member(meta, "labels", JSON_ARRAY, false, test_case->name);
  double rtol = json_member(meta, "rtol", JSON_NUMBER, true, test_case->name)->number;
  double atol = json_member(meta, "atol", JSON_NUMBER, true, test_case->name)->number;
  for (size_t i = 0; i < outputs->count; i++) {
    const char *name = json_member(&outputs->items[i], "name", JSON_STRING, true, test_case->name)->string;
    const char *file = json_member(&outputs->items[i], "file", JSON_STRING, true, test_case->name)->string;
    char *set_folder = format_path("%s/expected/%s", test_case->folder, set);
    char *path = format_path("%s/%s", set_folder, file);
    thaw_npy expected;
    thaw_error error;
    if (thaw_npy_read(path, &expected, &error) != THAW_OK) fail_msg("%s", error.message);
    size_t index;
    if (thaw_model_find_output(model, name, &index) != THAW_OK) {
      fail_msg("%s: the converted model has no output \"%s\"", test_case->name, name);
    }
    thaw_tensor actual;
    assert_int_equal(thaw_session_output(session, index, &actual), THAW_OK);
    bool same_shape = actual.rank == expected.rank && actual.dtype == expected.dtype;
    for (uint32_t d = 0; same_shape && d < actual.rank; d++) {
      same_shape = actual.shape[d] == expected.shape[d];
    }
    if (!same_shape || actual.dtype != THAW_DTYPE_F32) {
      fail_msg("%s set %s: output \"%s\" is %s rank %u (first dim %lld), ONNX Runtime's is %s "
               "rank %u (first dim %lld); only matching f32 outputs are compared",
               test_case->name, set, name, thaw_dtype_name(actual.dtype), actual.rank,
               actual.rank ? (long long)actual.shape[0] : 0LL, thaw_dtype_name(expected.dtype),
               expected.rank, expected.rank ? (long long)expected.shape[0] : 0LL);
    }
    const float *actual_values = actual.data, *expected_values = expected.data;
    comparison result =
        compare_f32(actual_values, expected_values, expected.element_count, rtol, atol);
    printf("  %s set %s output %s: %zu values, max|ort| %.4g, worst element %zu: thaw %.9g, "
           "ort %.9g\n",
           test_case->name, set, name, expected.element_count, result.max_abs_reference,
           result.worst_index, actual_values[result.worst_index],
           expected_values[result.worst_index]);
    if (result.worst_excess > 0) {
      fail_msg("%s set %s output \"%s\": element %zu is %.9g, ONNX Runtime %.9g (off by %.3g "
               "beyond rtol %g, atol %g * max(1, %.4g))",
               test_case->name, set, name, result.worst_index, actual_values[result.worst_index],
               expected_values[result.worst_index], result.worst_excess, rtol, atol,
               result.max_abs_reference);
    }
    if (i == 0 && labels != NULL) {
      size_t predicted = argmax_f32(actual_values, actual.element_count);
      size_t label = (size_t)labels->items[set_index].number;
      if (predicted != label) {
        fail_msg("%s set %s: predicted class %zu, labelled %zu", test_case->name, set, predicted,
                 label);
      }
    }
    thaw_npy_free(&expected);
    free(path);
    free(set_folder);
  }
}

/* FOLDER/<case>.thaw, '/' in a nested case's name made '-': where THAW_MODELS_SAVE_CONVERTED
 * writes each converted model and THAW_MODELS_CONVERTED reads it back instead of converting, so
 * a file converted on one machine is checked on another (an x86-64 conversion on aarch64). */
static char *converted_model_path(const char *folder, const model_case *test_case) {
  char *path = format_path("%s/%s.thaw", folder, test_case->name);
  for (char *c = path + strlen(folder) + 1; *c != '\0'; c++)
    if (*c == '/') *c = '-';
  return path;
}

/* Thread counts every case also runs on, against one thread's output bytes. */
static const uint32_t other_thread_counts[] = {2, 3, 4};
#define OTHER_THREAD_COUNTS (sizeof other_thread_counts / sizeof other_thread_counts[0])

static void check_thread_counts(const model_case *test_case, const json_value *meta,
                                const char *set, thaw_session *single,
                                thaw_session *const *threaded, const thaw_model *model) {
  for (size_t t = 0; t < OTHER_THREAD_COUNTS; t++) {
    load_inputs(test_case, meta, set, threaded[t], model);
    thaw_error error;
    if (thaw_session_run(threaded[t], NULL, &error) != THAW_OK) {
      fail_msg("%s set %s: run on %u threads failed: %s", test_case->name, set,
               other_thread_counts[t], error.message);
    }
    for (size_t o = 0; o < thaw_model_output_count(model); o++) {
      thaw_tensor expected, actual;
      assert_int_equal(thaw_session_output(single, o, &expected), THAW_OK);
      assert_int_equal(thaw_session_output(threaded[t], o, &actual), THAW_OK);
      if (memcmp(actual.data, expected.data, expected.size_bytes) != 0) {
        fail_msg("%s set %s: output \"%s\" on %u threads is not the same bytes as on one",
                 test_case->name, set, expected.name, other_thread_counts[t]);
      }
    }
  }
}

static void test_model_case(void **state) {
  const model_case *test_case = *state;
  char *meta_path = format_path("%s/%s", test_case->folder, "meta.json");
  json_value meta = json_read_file(meta_path);

  const char *model_file = json_member(&meta, "model", JSON_STRING, true, meta_path)->string;
  const json_value *package = json_member(&meta, "package", JSON_STRING, false, meta_path);
  char *model_dir = package ? package_model_dir(package->string, meta_path) : NULL;
  char *model_path = format_path("%s/%s", model_dir ? model_dir : test_case->folder, model_file);
  if (package != NULL && !file_exists(model_path)) {
    const char *allow = getenv("THAW_ALLOW_MISSING_MODELS");
    printf("  %s: %s is missing; run scripts/fetch_paddleocr.sh\n", test_case->name, model_path);
    if (allow == NULL || strcmp(allow, "1") != 0) {
      fail_msg("%s: model not fetched (set THAW_ALLOW_MISSING_MODELS=1 to skip)", test_case->name);
    }
    free(model_path);
    free(model_dir);
    json_free(&meta);
    free(meta_path);
    skip();
  }

  const json_value *inputs = json_member(&meta, "inputs", JSON_ARRAY, true, meta_path);
  thaw_input_shape *shapes = calloc(inputs->count, sizeof *shapes);
  assert_non_null(shapes);
  for (size_t i = 0; i < inputs->count; i++) {
    const json_value *shape = json_member(&inputs->items[i], "shape", JSON_ARRAY, true, meta_path);
    if (shape->count > THAW_MAX_RANK) fail_msg("%s: input %zu has rank %zu", meta_path, i, shape->count);
    shapes[i].name = json_member(&inputs->items[i], "name", JSON_STRING, true, meta_path)->string;
    shapes[i].rank = (uint32_t)shape->count;
    for (size_t d = 0; d < shape->count; d++) shapes[i].dims[d] = (int64_t)shape->items[d].number;
  }
  thaw_convert_options options = {.input_shapes = shapes, .input_shape_count = inputs->count};
  uint8_t *thaw_bytes = NULL;
  uint64_t thaw_size = 0;
  thaw_convert_report report;
  thaw_error error;
  const char *converted_folder = getenv("THAW_MODELS_CONVERTED");
  char *converted_path =
      converted_folder != NULL ? converted_model_path(converted_folder, test_case) : NULL;
  if (converted_path != NULL) {
    printf("  %s: %s, converted elsewhere\n", test_case->name, converted_path);
  } else {
    if (thaw_convert_onnx_file(model_path, &options, &thaw_bytes, &thaw_size, &report, &error) !=
        THAW_OK) {
      for (size_t i = 0; i < report.unsupported_count; i++) {
        printf("  unsupported: %s (%s): %s\n", report.unsupported[i].node_name,
               report.unsupported[i].op_type, report.unsupported[i].reason);
      }
      fail_msg("%s: conversion failed: %s", test_case->name, error.message);
    }
    printf("  %s: %u ONNX nodes -> %u ops, %.1f ms to convert\n", test_case->name,
           report.nodes_in, report.ops_out, report.seconds * 1e3);
    thaw_convert_report_free(&report);
    const char *save_folder = getenv("THAW_MODELS_SAVE_CONVERTED");
    if (save_folder != NULL) {
      char *save_path = converted_model_path(save_folder, test_case);
      thaw_test_write_file(save_path, thaw_bytes, thaw_size);
      free(save_path);
    }
  }

  thaw_model *model;
  thaw_session *session;
  /* A file converted elsewhere is mapped, as a deployed function would. */
  const thaw_status opened =
      converted_path != NULL
          ? thaw_model_open(converted_path, THAW_OPEN_VERIFY_WEIGHTS, &model, &error)
          : thaw_model_open_memory(thaw_bytes, thaw_size, THAW_OPEN_VERIFY_WEIGHTS, &model,
                                   &error);
  free(converted_path);
  if (opened != THAW_OK) {
    fail_msg("%s: the converted model does not open: %s", test_case->name, error.message);
  }
  if (thaw_session_create(model, NULL, &session, &error) != THAW_OK) {
    fail_msg("%s: no session: %s", test_case->name, error.message);
  }
  thaw_session *threaded[OTHER_THREAD_COUNTS];
  for (size_t t = 0; t < OTHER_THREAD_COUNTS; t++) {
    const thaw_session_options session_options = {.threads = other_thread_counts[t]};
    if (thaw_session_create(model, &session_options, &threaded[t], &error) != THAW_OK) {
      fail_msg("%s: no session on %u threads: %s", test_case->name, other_thread_counts[t],
               error.message);
    }
  }
  const json_value *sets = json_member(&meta, "sets", JSON_ARRAY, true, meta_path);
  for (size_t s = 0; s < sets->count; s++) {
    if (sets->items[s].kind != JSON_STRING) fail_msg("%s: set %zu is not a string", meta_path, s);
    const char *set = sets->items[s].string;
    load_inputs(test_case, &meta, set, session, model);
    if (thaw_session_run(session, NULL, &error) != THAW_OK) {
      fail_msg("%s set %s: run failed: %s", test_case->name, set, error.message);
    }
    check_outputs(test_case, &meta, set, s, session, model);
    check_thread_counts(test_case, &meta, set, session, threaded, model);
  }

  for (size_t t = 0; t < OTHER_THREAD_COUNTS; t++) thaw_session_destroy(threaded[t]);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(thaw_bytes);
  free(shapes);
  free(model_path);
  free(model_dir);
  json_free(&meta);
  free(meta_path);
}

/* Every folder holding a meta.json, up to `depth` levels below `folder`, in name order so the
 * test order is stable. */
static void find_cases(const char *folder, const char *relative, int depth, model_case **cases,
                       size_t *count) {
  struct dirent **entries;
  int entry_count = scandir(folder, &entries, NULL, alphasort);
  if (entry_count < 0) {
    fprintf(stderr, "test_models: cannot list %s\n", folder);
    exit(EXIT_FAILURE);
  }
  for (int i = 0; i < entry_count; i++) {
    const char *name = entries[i]->d_name;
    if (name[0] == '.') {
      free(entries[i]);
      continue;
    }
    char *path = format_path("%s/%s", folder, name);
    char *child_relative = format_path(relative[0] ? "%s/%s" : "%s%s", relative, name);
    char *meta = format_path("%s/%s", path, "meta.json");
    struct stat status;
    if (stat(path, &status) == 0 && S_ISDIR(status.st_mode)) {
      if (file_exists(meta)) {
        *cases = reallocate(*cases, (*count + 1) * sizeof **cases);
        (*cases)[(*count)++] = (model_case){.folder = path, .name = child_relative};
        path = child_relative = NULL;
      } else if (depth > 1) {
        find_cases(path, child_relative, depth - 1, cases, count);
      }
    }
    free(meta);
    free(child_relative);
    free(path);
    free(entries[i]);
  }
  free(entries);
}

/* `test_models [FOLDER]`: the committed cases, or those under FOLDER (e.g. the benchmark
 * models that `scripts/make_references.sh --all` writes to ~/.cache/thaw-models/bench). */
int main(int argc, char **argv) {
  if (argc > 2) {
    fprintf(stderr, "usage: %s [CASES_FOLDER]\n", argv[0]);
    return 2;
  }
  char *root = argc == 2 ? strdup(argv[1]) : thaw_test_source_path("tests/models");
  model_case *cases = NULL;
  size_t case_count = 0;
  /* tests/models/<case> and tests/models/<group>/<case> (paddleocr/...). */
  find_cases(root, "", 2, &cases, &case_count);
  if (case_count == 0) {
    fprintf(stderr, "no test cases (meta.json) under %s\n", root);
    return 1;
  }
  struct CMUnitTest *tests = reallocate(NULL, case_count * sizeof *tests);
  for (size_t i = 0; i < case_count; i++) {
    tests[i] = (struct CMUnitTest){.name = cases[i].name, .test_func = test_model_case,
                                   .initial_state = &cases[i]};
  }
  int failures = _cmocka_run_group_tests("models", tests, case_count, NULL, NULL);
  for (size_t i = 0; i < case_count; i++) {
    free(cases[i].folder);
    free(cases[i].name);
  }
  free(cases);
  free(tests);
  free(root);
  return failures;
}
