/* The accuracy report of a quantized model against its f32 original (quantize_report.h). */
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/format.h"
#include "npy.h"
#include "quantize_report.h"

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t count) {
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

static thaw_status join_path(char *path, const char *dir, const char *name, const char *suffix,
                             thaw_error *error) {
  const int length = snprintf(path, PATH_MAX, "%s/%s%s", dir, name, suffix);
  if (length < 0 || length >= PATH_MAX)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "path too long: %s/%s", dir, name);
  return THAW_OK;
}

/* The subfolders of `dir` (hidden ones left out), sorted by name; none when it has none. */
static thaw_status list_samples(const char *dir, char ***names, size_t *count, thaw_error *error) {
  *names = NULL;
  *count = 0;
  DIR *folder = opendir(dir);
  if (folder == NULL)
    return thaw_error_set(error, THAW_STATUS_IO, "cannot read folder %s", dir);
  size_t capacity = 0;
  thaw_status status = THAW_OK;
  for (struct dirent *entry; status == THAW_OK && (entry = readdir(folder)) != NULL;) {
    char path[PATH_MAX];
    struct stat info;
    if (entry->d_name[0] == '.') continue;
    status = join_path(path, dir, entry->d_name, "", error);
    if (status != THAW_OK || stat(path, &info) != 0 || !S_ISDIR(info.st_mode)) continue;
    if (*count == capacity) {
      capacity = capacity ? 2 * capacity : 8;
      char **grown = realloc(*names, capacity * sizeof *grown);
      if (grown == NULL) {
        status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "listing %s", dir);
        break;
      }
      *names = grown;
    }
    if (((*names)[*count] = strdup(entry->d_name)) == NULL) {
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "listing %s", dir);
      break;
    }
    (*count)++;
  }
  closedir(folder);
  if (status != THAW_OK) {
    free_names(*names, *count);
    *names = NULL;
    *count = 0;
    return status;
  }
  if (*count > 1) qsort(*names, *count, sizeof **names, compare_names);
  return THAW_OK;
}

static bool same_tensor_kind(const thaw_tensor *a, const thaw_tensor *b) {
  if (strcmp(a->name, b->name) != 0 || a->dtype != b->dtype || a->rank != b->rank) return false;
  for (uint32_t d = 0; d < a->rank; d++) {
    if (a->shape[d] != b->shape[d]) return false;
  }
  return true;
}

/* Both models take and give the same tensors (names, dtypes, shapes, order). */
static thaw_status check_same_interface(const thaw_model *reference, const thaw_model *candidate,
                                        thaw_error *error) {
  for (int outputs = 0; outputs < 2; outputs++) {
    const size_t count = outputs ? thaw_model_output_count(reference)
                                 : thaw_model_input_count(reference);
    const size_t other = outputs ? thaw_model_output_count(candidate)
                                 : thaw_model_input_count(candidate);
    if (count != other) {
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "the models have %zu and %zu %s", count, other,
                            outputs ? "outputs" : "inputs");
    }
    for (size_t i = 0; i < count; i++) {
      thaw_tensor a, b;
      if (outputs) {
        thaw_model_output(reference, i, &a);
        thaw_model_output(candidate, i, &b);
      } else {
        thaw_model_input(reference, i, &a);
        thaw_model_input(candidate, i, &b);
      }
      if (!same_tensor_kind(&a, &b)) {
        return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "%s %zu differs between the models: \"%s\" and \"%s\"",
                              outputs ? "output" : "input", i, a.name, b.name);
      }
    }
  }
  return THAW_OK;
}

/* Read NAME.npy of `sample` for every input and copy it into both sessions. */
static thaw_status load_sample(const char *sample, thaw_session *const sessions[2], size_t inputs,
                               thaw_error *error) {
  for (size_t i = 0; i < inputs; i++) {
    thaw_tensor tensors[2];
    thaw_session_input(sessions[0], i, &tensors[0]);
    thaw_session_input(sessions[1], i, &tensors[1]);
    char path[PATH_MAX];
    thaw_npy npy;
    thaw_status status = join_path(path, sample, tensors[0].name, ".npy", error);
    if (status == THAW_OK) status = thaw_npy_read(path, &npy, error);
    if (status != THAW_OK) return status;
    bool fits = npy.dtype == tensors[0].dtype && npy.rank == tensors[0].rank &&
                npy.size_bytes == tensors[0].size_bytes;
    for (uint32_t d = 0; fits && d < npy.rank; d++) fits = npy.shape[d] == tensors[0].shape[d];
    if (fits) {
      memcpy(tensors[0].data, npy.data, npy.size_bytes);
      memcpy(tensors[1].data, npy.data, npy.size_bytes);
    } else {
      char expected[THAW_DIMS_TEXT_SIZE], actual[THAW_DIMS_TEXT_SIZE];
      thaw_dims_text(expected, sizeof expected, tensors[0].rank, tensors[0].shape);
      thaw_dims_text(actual, sizeof actual, npy.rank, npy.shape);
      status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "%s is %s %s; input \"%s\" is %s %s", path,
                              thaw_dtype_name(npy.dtype), actual, tensors[0].name,
                              thaw_dtype_name(tensors[0].dtype), expected);
    }
    thaw_npy_free(&npy);
    if (status != THAW_OK) return status;
  }
  return THAW_OK;
}

static double element(const thaw_tensor *t, size_t i) {
  switch (t->dtype) {
    case THAW_DTYPE_F32: return ((const float *)t->data)[i];
    case THAW_DTYPE_I8: return ((const int8_t *)t->data)[i];
    case THAW_DTYPE_U8:
    case THAW_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    case THAW_DTYPE_I32: return ((const int32_t *)t->data)[i];
    case THAW_DTYPE_I64: return (double)((const int64_t *)t->data)[i];
  }
  return 0.0;
}

static double cosine(const thaw_tensor *a, const thaw_tensor *b) {
  double dot = 0.0, norm_a = 0.0, norm_b = 0.0;
  for (size_t i = 0; i < a->element_count; i++) {
    const double x = element(a, i), y = element(b, i);
    dot += x * y;
    norm_a += x * x;
    norm_b += y * y;
  }
  if (norm_a == 0.0 || norm_b == 0.0) return norm_a == norm_b ? 1.0 : 0.0;
  return dot / sqrt(norm_a) / sqrt(norm_b);
}

static size_t top1(const thaw_tensor *t, size_t row, size_t classes) {
  size_t best = 0;
  for (size_t j = 1; j < classes; j++) {
    if (element(t, row * classes + j) > element(t, row * classes + best)) best = j;
  }
  return best;
}

/* Fold one sample's outputs into the agreements. */
static void compare_outputs(thaw_session *const sessions[2], thaw_output_agreement *agreements,
                            size_t count) {
  for (size_t o = 0; o < count; o++) {
    thaw_tensor reference, candidate;
    thaw_session_output(sessions[0], o, &reference);
    thaw_session_output(sessions[1], o, &candidate);
    thaw_output_agreement *agreement = &agreements[o];
    const double similarity = cosine(&reference, &candidate);
    agreement->min_cosine = fmin(agreement->min_cosine, similarity);
    agreement->mean_cosine += similarity; /* divided by the sample count at the end */
    if (!agreement->classifier) continue;
    const size_t rows = (size_t)reference.shape[0], classes = (size_t)reference.shape[1];
    for (size_t r = 0; r < rows; r++)
      agreement->top1_agreeing += top1(&reference, r, classes) == top1(&candidate, r, classes);
    agreement->top1_rows += rows;
  }
}

thaw_status thaw_compare_models(const thaw_model *reference, const thaw_model *candidate,
                                const char *inputs_dir, thaw_output_agreement **agreements,
                                size_t *count, size_t *samples, thaw_error *error) {
  *agreements = NULL;
  *count = *samples = 0;
  thaw_status status = check_same_interface(reference, candidate, error);
  if (status != THAW_OK) return status;
  char **names;
  size_t name_count;
  status = list_samples(inputs_dir, &names, &name_count, error);
  if (status != THAW_OK) return status;
  const size_t outputs = thaw_model_output_count(reference);
  thaw_output_agreement *results = calloc(outputs ? outputs : 1, sizeof *results);
  thaw_session *sessions[2] = {NULL, NULL};
  if (results == NULL)
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "comparing %zu outputs", outputs);
  if (status == THAW_OK) status = thaw_session_create(reference, NULL, &sessions[0], error);
  if (status == THAW_OK) status = thaw_session_create(candidate, NULL, &sessions[1], error);
  for (size_t o = 0; status == THAW_OK && o < outputs; o++) {
    thaw_tensor output;
    thaw_model_output(reference, o, &output);
    snprintf(results[o].name, sizeof results[o].name, "%s", output.name);
    results[o].min_cosine = INFINITY;
    results[o].classifier = output.rank == 2 && output.shape[1] >= 2;
  }
  const size_t sample_count = name_count ? name_count : 1;
  for (size_t s = 0; status == THAW_OK && s < sample_count; s++) {
    char sample[PATH_MAX];
    status = name_count ? join_path(sample, inputs_dir, names[s], "", error)
                        : join_path(sample, inputs_dir, ".", "", error);
    if (status == THAW_OK)
      status = load_sample(sample, sessions, thaw_model_input_count(reference), error);
    if (status == THAW_OK) status = thaw_session_run(sessions[0], NULL, error);
    if (status == THAW_OK) status = thaw_session_run(sessions[1], NULL, error);
    if (status == THAW_OK) compare_outputs(sessions, results, outputs);
  }
  thaw_session_destroy(sessions[0]);
  thaw_session_destroy(sessions[1]);
  free_names(names, name_count);
  if (status != THAW_OK) {
    free(results);
    return status;
  }
  for (size_t o = 0; o < outputs; o++) results[o].mean_cosine /= (double)sample_count;
  *agreements = results;
  *count = outputs;
  *samples = sample_count;
  return THAW_OK;
}

void thaw_output_agreements_print(const thaw_output_agreement *agreements, size_t count,
                                  size_t samples, FILE *stream) {
  fprintf(stream, "accuracy against f32 over %zu sample%s:\n", samples, samples == 1 ? "" : "s");
  for (size_t o = 0; o < count; o++) {
    const thaw_output_agreement *a = &agreements[o];
    fprintf(stream, "  %s: cosine min %.6f mean %.6f", a->name, a->min_cosine, a->mean_cosine);
    if (a->classifier)
      fprintf(stream, ", top-1 agreement %zu/%zu", a->top1_agreeing, a->top1_rows);
    fputc('\n', stream);
  }
}
