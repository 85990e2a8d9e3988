/*
 * ONNX's own per-operator test suite (Debian libonnx-testdata) through thaw.
 *
 *   onnx_conformance [--data DIR] [--summary FILE] [CASE...]
 *
 * For every case folder under DIR (default /usr/share/libonnx-testdata/data/node), or only the
 * named cases: convert model.onnx (shapes are static in these tests), run it on every
 * test_data_set_*, and compare each output with output_N.pb: floats within ONNX's backend-test
 * tolerance |actual - expected| <= atol + rtol * |expected| (rtol 1e-3, atol 1e-7), integers and
 * booleans exactly. A case is
 *   skipped  when the converter reports it unsupported (op, attribute or dtype),
 *   failed   when it converts but the runtime refuses it or an output differs, or the converter
 *            fails for any other reason,
 *   passed   otherwise.
 * Failures are printed with detail; skip reasons are grouped by op in the summary file. The
 * last line is `N passed, N failed, N skipped`; the exit status is non-zero on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert.h"
#include "convert_internal.h"
#include "onnx.pb-c.h"
#include "test_support.h"
#include "thaw.h"

#define DEFAULT_DATA_DIR "/usr/share/libonnx-testdata/data/node"
#define FLOAT_RTOL 1e-3
#define FLOAT_ATOL 1e-7

typedef enum case_outcome { CASE_PASSED, CASE_FAILED, CASE_SKIPPED } case_outcome;

/* One distinct (op, reason) the converter gave for refusing cases. */
typedef struct skip_reason {
  char *op_type;
  char *reason;
  size_t case_count;
  char *first_case;
} skip_reason;

typedef struct conformance_run {
  skip_reason *skips;
  size_t skip_count;
  char **passed;
  size_t passed_count;
  char **failed; /* "case: detail" */
  size_t failed_count;
  size_t skipped_count;
} conformance_run;

/* Harness allocation: running out of memory ends the program. */
static void *reallocate(void *pointer, size_t size) {
  void *result = realloc(pointer, size);
  if (result == NULL) {
    fprintf(stderr, "onnx_conformance: out of memory\n");
    abort();
  }
  return result;
}

static char *format_string(const char *format, ...) __attribute__((format(printf, 1, 2)));
static char *format_string(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  int length = vsnprintf(NULL, 0, format, arguments);
  va_end(arguments);
  char *text = reallocate(NULL, (size_t)length + 1);
  va_start(arguments, format);
  vsnprintf(text, (size_t)length + 1, format, arguments);
  va_end(arguments);
  return text;
}

static void append_string(char ***list, size_t *count, char *text) {
  *list = reallocate(*list, (*count + 1) * sizeof **list);
  (*list)[(*count)++] = text;
}

static void record_skip(conformance_run *run, const char *case_name, const char *op_type,
                        const char *reason) {
  for (size_t i = 0; i < run->skip_count; i++) {
    if (strcmp(run->skips[i].op_type, op_type) == 0 && strcmp(run->skips[i].reason, reason) == 0) {
      run->skips[i].case_count++;
      return;
    }
  }
  run->skips = reallocate(run->skips, (run->skip_count + 1) * sizeof *run->skips);
  run->skips[run->skip_count++] = (skip_reason){.op_type = format_string("%s", op_type),
                                                .reason = format_string("%s", reason),
                                                .case_count = 1,
                                                .first_case = format_string("%s", case_name)};
}

/* The graph's run-time inputs (initializers excluded) and outputs, in ONNX order: input_N.pb
 * and output_N.pb follow that order. */
typedef struct graph_signature {
  const char **inputs;
  size_t input_count;
  const char **outputs;
  size_t output_count;
} graph_signature;

static void read_signature(const Onnx__GraphProto *graph, graph_signature *signature) {
  signature->inputs = reallocate(NULL, (graph->n_input + 1) * sizeof *signature->inputs);
  signature->input_count = 0;
  for (size_t i = 0; i < graph->n_input; i++) {
    bool is_initializer = false;
    for (size_t j = 0; j < graph->n_initializer && !is_initializer; j++) {
      is_initializer = strcmp(graph->initializer[j]->name, graph->input[i]->name) == 0;
    }
    if (!is_initializer) signature->inputs[signature->input_count++] = graph->input[i]->name;
  }
  signature->outputs = reallocate(NULL, (graph->n_output + 1) * sizeof *signature->outputs);
  signature->output_count = graph->n_output;
  for (size_t i = 0; i < graph->n_output; i++) signature->outputs[i] = graph->output[i]->name;
}

/* A decoded .pb tensor. */
typedef struct pb_tensor {
  thaw_dtype dtype;
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  size_t element_count;
  uint8_t *data;
} pb_tensor;

/* Read a serialized TensorProto; on failure returns a malloc'ed message. */
static char *read_pb_tensor(const char *path, pb_tensor *tensor) {
  size_t size;
  uint8_t *bytes = thaw_test_read_file(path, &size);
  if (bytes == NULL) return format_string("cannot read %s", path);
  Onnx__TensorProto *proto = onnx__tensor_proto__unpack(NULL, size, bytes);
  free(bytes);
  if (proto == NULL) return format_string("%s is not a serialized TensorProto", path);
  thaw_error error;
  thaw_status status = cv_read_tensor(proto, NULL, path, &tensor->dtype, &tensor->rank,
                                      tensor->shape, &tensor->data, &error);
  onnx__tensor_proto__free_unpacked(proto, NULL);
  if (status != THAW_OK) return format_string("%s", error.message);
  tensor->element_count = 1;
  for (uint32_t d = 0; d < tensor->rank; d++) tensor->element_count *= (size_t)tensor->shape[d];
  return NULL;
}

static bool same_shape(uint32_t rank_a, const int64_t *shape_a, uint32_t rank_b,
                       const int64_t *shape_b) {
  if (rank_a != rank_b) return false;
  for (uint32_t d = 0; d < rank_a; d++) {
    if (shape_a[d] != shape_b[d]) return false;
  }
  return true;
}

static char *shape_string(uint32_t rank, const int64_t *shape) {
  char buffer[THAW_MAX_RANK * 24 + 3];
  size_t length = 0;
  buffer[length++] = '[';
  for (uint32_t d = 0; d < rank; d++) {
    length += (size_t)snprintf(buffer + length, sizeof buffer - length, "%s%" PRId64,
                               d ? "," : "", shape[d]);
  }
  snprintf(buffer + length, sizeof buffer - length, "]");
  return format_string("%s", buffer);
}

static double element_as_double(thaw_dtype dtype, const void *data, size_t index) {
  switch (dtype) {
    case THAW_DTYPE_F32: return ((const float *)data)[index];
    case THAW_DTYPE_I8: return ((const int8_t *)data)[index];
    case THAW_DTYPE_U8:
    case THAW_DTYPE_BOOL: return ((const uint8_t *)data)[index];
    case THAW_DTYPE_I32: return ((const int32_t *)data)[index];
    case THAW_DTYPE_I64: return (double)((const int64_t *)data)[index];
  }
  return NAN;
}

/* NULL when `actual` matches `expected`, else a malloc'ed description of the worst element. */
static char *compare_output(const char *name, const thaw_tensor *actual, const pb_tensor *expected) {
  if (actual->dtype != expected->dtype || !same_shape(actual->rank, actual->shape, expected->rank,
                                                      expected->shape)) {
    char *actual_shape = shape_string(actual->rank, actual->shape);
    char *expected_shape = shape_string(expected->rank, expected->shape);
    char *message = format_string("output %s is %s%s, expected %s%s", name,
                                  thaw_dtype_name(actual->dtype), actual_shape,
                                  thaw_dtype_name(expected->dtype), expected_shape);
    free(actual_shape);
    free(expected_shape);
    return message;
  }
  size_t mismatches = 0, worst_index = 0;
  double worst_excess = 0;
  for (size_t i = 0; i < expected->element_count; i++) {
    double want = element_as_double(expected->dtype, expected->data, i);
    double got = element_as_double(actual->dtype, actual->data, i);
    double excess;
    if (expected->dtype == THAW_DTYPE_I64) {
      /* Exact, without the rounding a double would bring for large values. */
      excess = ((const int64_t *)actual->data)[i] != ((const int64_t *)expected->data)[i];
    } else if (expected->dtype != THAW_DTYPE_F32) {
      excess = got != want;
    } else if (isnan(want) || isnan(got)) {
      excess = isnan(want) != isnan(got) ? INFINITY : 0;
    } else if (isinf(want) || isinf(got)) {
      excess = got == want ? 0 : INFINITY;
    } else {
      excess = fabs(got - want) - (FLOAT_ATOL + FLOAT_RTOL * fabs(want));
    }
    if (excess > 0) {
      if (mismatches == 0 || excess > worst_excess) {
        worst_excess = excess;
        worst_index = i;
      }
      mismatches++;
    }
  }
  if (mismatches == 0) return NULL;
  return format_string("output %s: %zu of %zu elements differ; worst at %zu: got %.9g, expected "
                       "%.9g",
                       name, mismatches, expected->element_count, worst_index,
                       element_as_double(actual->dtype, actual->data, worst_index),
                       element_as_double(expected->dtype, expected->data, worst_index));
}

static int is_data_set(const struct dirent *entry) {
  return strncmp(entry->d_name, "test_data_set_", 14) == 0;
}

/* Fill the inputs of one data set, run, compare; NULL on success, else a malloc'ed message. */
static char *run_data_set(const char *set_dir, const graph_signature *signature,
                          const thaw_model *model, thaw_session *session) {
  for (size_t i = 0; i < signature->input_count; i++) {
    char *path = format_string("%s/input_%zu.pb", set_dir, i);
    pb_tensor tensor;
    char *message = read_pb_tensor(path, &tensor);
    free(path);
    if (message != NULL) return message;
    size_t index;
    thaw_tensor input;
    if (thaw_model_find_input(model, signature->inputs[i], &index) != THAW_OK ||
        thaw_session_input(session, index, &input) != THAW_OK) {
      message = format_string("the converted model has no input %s", signature->inputs[i]);
    } else if (input.dtype != tensor.dtype || input.element_count != tensor.element_count) {
      message = format_string("input %s is %s with %zu elements in the model, %s with %zu in "
                              "input_%zu.pb",
                              signature->inputs[i], thaw_dtype_name(input.dtype),
                              input.element_count, thaw_dtype_name(tensor.dtype),
                              tensor.element_count, i);
    } else {
      memcpy(input.data, tensor.data, input.size_bytes);
    }
    free(tensor.data);
    if (message != NULL) return message;
  }
  thaw_error error;
  if (thaw_session_run(session, NULL, &error) != THAW_OK) {
    return format_string("run failed: %s", error.message);
  }
  for (size_t i = 0; i < signature->output_count; i++) {
    char *path = format_string("%s/output_%zu.pb", set_dir, i);
    pb_tensor expected;
    char *message = read_pb_tensor(path, &expected);
    free(path);
    if (message != NULL) return message;
    size_t index;
    thaw_tensor actual;
    if (thaw_model_find_output(model, signature->outputs[i], &index) != THAW_OK ||
        thaw_session_output(session, index, &actual) != THAW_OK) {
      message = format_string("the converted model has no output %s", signature->outputs[i]);
    } else {
      message = compare_output(signature->outputs[i], &actual, &expected);
    }
    free(expected.data);
    if (message != NULL) return message;
  }
  return NULL;
}

/* Run the converted model on every data set of the case; NULL on success. */
static char *run_converted(const char *case_dir, const graph_signature *signature,
                           const uint8_t *thaw_bytes, uint64_t thaw_size) {
  thaw_model *model;
  thaw_session *session;
  thaw_error error;
  if (thaw_model_open_memory(thaw_bytes, thaw_size, THAW_OPEN_VERIFY_WEIGHTS, &model, &error) !=
      THAW_OK) {
    return format_string("the converted model does not open: %s", error.message);
  }
  if (thaw_session_create(model, NULL, &session, &error) != THAW_OK) {
    thaw_model_close(model);
    return format_string("no session: %s", error.message);
  }
  struct dirent **sets;
  int set_count = scandir(case_dir, &sets, is_data_set, alphasort);
  char *message = set_count <= 0 ? format_string("no test_data_set_* in %s", case_dir) : NULL;
  for (int s = 0; s < set_count; s++) {
    if (message == NULL) {
      char *set_dir = format_string("%s/%s", case_dir, sets[s]->d_name);
      char *set_message = run_data_set(set_dir, signature, model, session);
      if (set_message != NULL) message = format_string("%s: %s", sets[s]->d_name, set_message);
      free(set_message);
      free(set_dir);
    }
    free(sets[s]);
  }
  if (set_count >= 0) free(sets);
  thaw_session_destroy(session);
  thaw_model_close(model);
  return message;
}

static case_outcome run_case(conformance_run *run, const char *data_dir, const char *case_name) {
  char *case_dir = format_string("%s/%s", data_dir, case_name);
  char *model_path = format_string("%s/model.onnx", case_dir);
  char *failure = NULL;
  case_outcome outcome = CASE_FAILED;
  size_t onnx_size;
  uint8_t *onnx_bytes = thaw_test_read_file(model_path, &onnx_size);
  Onnx__ModelProto *onnx_model =
      onnx_bytes ? onnx__model_proto__unpack(NULL, onnx_size, onnx_bytes) : NULL;
  if (onnx_model == NULL || onnx_model->graph == NULL) {
    failure = format_string("cannot read %s as an ONNX model", model_path);
  } else {
    graph_signature signature;
    read_signature(onnx_model->graph, &signature);
    uint8_t *thaw_bytes = NULL;
    uint64_t thaw_size = 0;
    thaw_convert_report report;
    thaw_error error;
    thaw_status status = thaw_convert_onnx_memory(onnx_bytes, onnx_size, case_dir, NULL,
                                                  &thaw_bytes, &thaw_size, &report, &error);
    if (status == THAW_STATUS_UNSUPPORTED) {
      outcome = CASE_SKIPPED;
      for (size_t i = 0; i < report.unsupported_count; i++) {
        record_skip(run, case_name, report.unsupported[i].op_type, report.unsupported[i].reason);
      }
      if (report.unsupported_count == 0) record_skip(run, case_name, "(model)", error.message);
    } else if (status != THAW_OK) {
      failure = format_string("conversion failed (%s): %s", thaw_status_str(status), error.message);
    } else {
      failure = run_converted(case_dir, &signature, thaw_bytes, thaw_size);
      if (failure == NULL) outcome = CASE_PASSED;
    }
    thaw_convert_report_free(&report);
    free(thaw_bytes);
    free(signature.inputs);
    free(signature.outputs);
  }
  if (onnx_model != NULL) onnx__model_proto__free_unpacked(onnx_model, NULL);
  free(onnx_bytes);
  free(model_path);
  free(case_dir);

  if (outcome == CASE_PASSED) append_string(&run->passed, &run->passed_count, format_string("%s", case_name));
  if (outcome == CASE_SKIPPED) run->skipped_count++;
  if (outcome == CASE_FAILED) {
    printf("FAILED %s: %s\n", case_name, failure);
    append_string(&run->failed, &run->failed_count, format_string("%s: %s", case_name, failure));
  }
  free(failure);
  return outcome;
}

static int compare_skips(const void *a, const void *b) {
  const skip_reason *x = a, *y = b;
  int by_op = strcmp(x->op_type, y->op_type);
  return by_op != 0 ? by_op : strcmp(x->reason, y->reason);
}

/* Markdown for the README to quote: the counts, every failure, skip reasons by op, and the
 * cases that pass. */
static bool write_summary(conformance_run *run, const char *path, const char *data_dir) {
  FILE *file = fopen(path, "w");
  if (file == NULL) return false;
  fprintf(file, "# ONNX conformance: %s\n\n", data_dir);
  fprintf(file, "%zu passed, %zu failed, %zu skipped\n\n", run->passed_count, run->failed_count,
          run->skipped_count);
  fprintf(file, "## Failed (%zu)\n\n", run->failed_count);
  for (size_t i = 0; i < run->failed_count; i++) fprintf(file, "- %s\n", run->failed[i]);
  qsort(run->skips, run->skip_count, sizeof *run->skips, compare_skips);
  fprintf(file, "\n## Skipped (%zu cases), by op and reason\n\n", run->skipped_count);
  fprintf(file, "| op | cases | reason | e.g. |\n| --- | --- | --- | --- |\n");
  for (size_t i = 0; i < run->skip_count; i++) {
    fprintf(file, "| %s | %zu | %s | %s |\n", run->skips[i].op_type, run->skips[i].case_count,
            run->skips[i].reason, run->skips[i].first_case);
  }
  fprintf(file, "\n## Passed (%zu)\n\n", run->passed_count);
  for (size_t i = 0; i < run->passed_count; i++) fprintf(file, "%s\n", run->passed[i]);
  return fclose(file) == 0;
}

static int is_case_dir(const struct dirent *entry) {
  return strncmp(entry->d_name, "test_", 5) == 0;
}

static void free_run(conformance_run *run) {
  for (size_t i = 0; i < run->skip_count; i++) {
    free(run->skips[i].op_type);
    free(run->skips[i].reason);
    free(run->skips[i].first_case);
  }
  free(run->skips);
  for (size_t i = 0; i < run->passed_count; i++) free(run->passed[i]);
  free(run->passed);
  for (size_t i = 0; i < run->failed_count; i++) free(run->failed[i]);
  free(run->failed);
}

int main(int argc, char **argv) {
  const char *data_dir = DEFAULT_DATA_DIR, *summary_path = NULL;
  int first_case = argc;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      data_dir = argv[++i];
    } else if (strcmp(argv[i], "--summary") == 0 && i + 1 < argc) {
      summary_path = argv[++i];
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [--data DIR] [--summary FILE] [CASE...]\n", argv[0]);
      return 2;
    } else {
      first_case = i;
      break;
    }
  }

  conformance_run run = {0};
  if (first_case < argc) {
    for (int i = first_case; i < argc; i++) run_case(&run, data_dir, argv[i]);
  } else {
    struct dirent **cases;
    int case_count = scandir(data_dir, &cases, is_case_dir, alphasort);
    if (case_count <= 0) {
      fprintf(stderr, "onnx_conformance: no test_* cases in %s (Debian package libonnx-testdata)\n",
              data_dir);
      return 1;
    }
    for (int i = 0; i < case_count; i++) {
      run_case(&run, data_dir, cases[i]->d_name);
      free(cases[i]);
    }
    free(cases);
  }

  int status = run.failed_count == 0 ? 0 : 1;
  if (summary_path != NULL) {
    if (write_summary(&run, summary_path, data_dir)) {
      printf("summary: %s\n", summary_path);
    } else {
      fprintf(stderr, "onnx_conformance: cannot write %s\n", summary_path);
      status = 1;
    }
  }
  printf("%zu passed, %zu failed, %zu skipped\n", run.passed_count, run.failed_count,
         run.skipped_count);
  free_run(&run);
  return status;
}
