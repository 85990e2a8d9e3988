/*
 * A function host runs the same model for weeks: nothing may grow. This runs one session many
 * times, then opens, runs and closes the model many times (alternating the file and memory
 * paths), printing the resident set size (from /proc/self/statm) at the start, every tenth of
 * each phase and at the end, and each phase's growth over its warmed-up baseline.
 *
 *     bench_soak [runs] [opens] [max_growth_kib]
 *
 * Defaults: 100000 runs, 10000 opens, no growth limit. With max_growth_kib the exit status is
 * 1 when either phase grew by more. Under AddressSanitizer (ASAN_OPTIONS=detect_leaks=1),
 * LeakSanitizer reports anything left allocated at exit; RSS then includes ASan's quarantine
 * of freed blocks, so only the figures of a plain build say anything about growth.
 *
 * The model is written here with the formats writer: x[1,3,16,16] -> Conv 3x3 (8 channels,
 * ReLU) -> MaxPool 2x2 -> Reshape [1,512] -> MatMul [512,64] -> Softmax -> LayerNorm -> y.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/format.h"
#include "thaw.h"

enum {
  CHANNELS_IN = 3,
  CHANNELS_OUT = 8,
  SIDE = 16,
  POOLED = SIDE / 2,
  FEATURES = CHANNELS_OUT * POOLED * POOLED,
  HIDDEN = 64,
  REPORTS_PER_PHASE = 10,
};

static long resident_kib(void) {
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm == NULL) return -1;
  long size_pages = 0, resident_pages = -1;
  if (fscanf(statm, "%ld %ld", &size_pages, &resident_pages) != 2) resident_pages = -1;
  fclose(statm);
  return resident_pages < 0 ? -1 : resident_pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Weights in [-0.5, 0.5), the same on every run of the soak. */
static void fill_weights(float *data, size_t count, uint32_t seed) {
  uint32_t state = seed;
  for (size_t i = 0; i < count; i++) {
    state = state * 1664525u + 1013904223u;
    data[i] = (float)(state >> 8) / (float)(1u << 24) - 0.5f;
  }
}

static uint32_t constant(thaw_writer *writer, const char *name, uint32_t rank,
                         const int64_t *shape, size_t count, uint32_t seed) {
  float *data = malloc(count * sizeof(float));
  if (data == NULL) return UINT32_MAX;
  fill_weights(data, count, seed);
  uint32_t id = thaw_writer_add_tensor(writer, name, THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, rank,
                                       shape, THAW_LAYOUT_PLAIN, data, count * sizeof(float));
  free(data);
  return id;
}

static uint32_t activation(thaw_writer *writer, const char *name, uint32_t rank,
                           const int64_t *shape) {
  return thaw_writer_add_tensor(writer, name, THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, rank, shape,
                                THAW_LAYOUT_PLAIN, NULL, 0);
}

static thaw_status build_model(uint8_t **bytes, uint64_t *size, thaw_error *error) {
  const int64_t image[4] = {1, CHANNELS_IN, SIDE, SIDE};
  const int64_t kernel[4] = {CHANNELS_OUT, CHANNELS_IN, 3, 3}, bias[1] = {CHANNELS_OUT};
  const int64_t convolved[4] = {1, CHANNELS_OUT, SIDE, SIDE};
  const int64_t pooled[4] = {1, CHANNELS_OUT, POOLED, POOLED}, flat[2] = {1, FEATURES};
  const int64_t projection[2] = {FEATURES, HIDDEN}, hidden[2] = {1, HIDDEN}, gamma[1] = {HIDDEN};
  thaw_writer *writer = thaw_writer_create();
  if (writer == NULL) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "no writer");
  uint32_t x = activation(writer, "x", 4, image);
  uint32_t w = constant(writer, "conv.weight", 4, kernel, CHANNELS_OUT * CHANNELS_IN * 9, 1);
  uint32_t b = constant(writer, "conv.bias", 1, bias, CHANNELS_OUT, 2);
  uint32_t p = constant(writer, "projection", 2, projection, FEATURES * HIDDEN, 3);
  uint32_t g = constant(writer, "norm.gamma", 1, gamma, HIDDEN, 4);
  uint32_t c = activation(writer, "conv", 4, convolved);
  uint32_t m = activation(writer, "pool", 4, pooled);
  uint32_t f = activation(writer, "flat", 2, flat);
  uint32_t h = activation(writer, "hidden", 2, hidden);
  uint32_t s = activation(writer, "softmax", 2, hidden);
  uint32_t y = activation(writer, "y", 2, hidden);
  const thaw_conv_attrs conv = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, {THAW_UNARY_RELU, 0, 0}};
  const thaw_pool_attrs pool = {2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0};
  const thaw_matmul_attrs matmul = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_axis_attrs last_axis = {1};
  const thaw_layer_norm_attrs norm = {1, 1e-5f};
  thaw_writer_add_node(writer, THAW_OP_CONV, "conv", &conv, (const uint32_t[]){x, w, b}, 3, &c, 1);
  thaw_writer_add_node(writer, THAW_OP_MAX_POOL, "pool", &pool, &c, 1, &m, 1);
  thaw_writer_add_node(writer, THAW_OP_RESHAPE, "flatten", NULL, &m, 1, &f, 1);
  thaw_writer_add_node(writer, THAW_OP_MATMUL, "project", &matmul, (const uint32_t[]){f, p}, 2,
                       &h, 1);
  thaw_writer_add_node(writer, THAW_OP_SOFTMAX, "softmax", &last_axis, &h, 1, &s, 1);
  thaw_writer_add_node(writer, THAW_OP_LAYER_NORM, "norm", &norm, (const uint32_t[]){s, g}, 2, &y,
                       1);
  thaw_writer_add_input(writer, x);
  thaw_writer_add_output(writer, y);
  thaw_writer_set_producer(writer, "bench_soak");
  thaw_status status = thaw_writer_finish(writer, THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM, bytes, size,
                                          NULL, error);
  thaw_writer_destroy(writer);
  return status;
}

/* Fresh input for every run (so each run really computes), then the run. */
static thaw_status run_once(thaw_session *session, uint64_t iteration, thaw_error *error) {
  thaw_tensor input;
  thaw_status status = thaw_session_input(session, 0, &input);
  if (status != THAW_OK) return thaw_error_set(error, status, "no input 0");
  float *values = input.data;
  for (size_t i = 0; i < input.element_count; i++)
    values[i] = (float)((iteration + i) % 29) * 0.05f - 0.7f;
  return thaw_session_run(session, NULL, error);
}

/* One loop of the soak and its RSS: at the start, after the first tenth (the baseline: every
 * page the loop needs has been touched by then), every tenth after and at the end. */
typedef struct phase {
  const char *name;
  uint64_t total;
  long start_kib, baseline_kib;
} phase;

static void phase_begin(phase *p, const char *name, uint64_t total) {
  p->name = name;
  p->total = total;
  p->start_kib = resident_kib();
  p->baseline_kib = -1;
  printf("%s: %" PRIu64 " iterations, rss %ld KiB at start\n", name, total, p->start_kib);
}

static void phase_progress(phase *p, uint64_t done) {
  uint64_t step = p->total / REPORTS_PER_PHASE ? p->total / REPORTS_PER_PHASE : 1;
  if (done % step != 0 && done != p->total) return;
  long rss = resident_kib();
  if (p->baseline_kib < 0) p->baseline_kib = rss;
  printf("%s: %" PRIu64 " done, rss %ld KiB\n", p->name, done, rss);
}

/* Returns the growth over the baseline in KiB. */
static long phase_end(const phase *p) {
  long end = resident_kib();
  long growth = end - p->baseline_kib;
  printf("%s: rss %ld KiB at start, %ld KiB after the first tenth, %ld KiB at the end: "
         "growth %ld KiB\n",
         p->name, p->start_kib, p->baseline_kib, end, growth);
  return growth;
}

static bool parse_number(const char *text, uint64_t *value) {
  char *end;
  if (text[0] < '0' || text[0] > '9') return false;
  unsigned long long parsed = strtoull(text, &end, 10);
  if (*end != '\0') return false;
  *value = parsed;
  return true;
}

int main(int argc, char **argv) {
  uint64_t runs = 100000, opens = 10000, max_growth_kib = 0;
  bool limit = argc > 3;
  if (argc > 4 || (argc > 1 && !parse_number(argv[1], &runs)) ||
      (argc > 2 && !parse_number(argv[2], &opens)) ||
      (limit && !parse_number(argv[3], &max_growth_kib)) || runs == 0 || opens == 0) {
    fprintf(stderr, "usage: %s [runs] [opens] [max_growth_kib]  (runs, opens > 0)\n", argv[0]);
    return 2;
  }
  thaw_error error = {0};
  uint8_t *bytes = NULL;
  uint64_t size = 0;
  char path[] = "/tmp/bench_soak_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  bool written = false;
  if (build_model(&bytes, &size, &error) == THAW_OK) {
    written = write(fd, bytes, size) == (ssize_t)size;
    if (!written) snprintf(error.message, sizeof error.message, "cannot write %s", path);
  }
  close(fd);
  int exit_status = 1;
  thaw_model *model = NULL;
  thaw_session *session = NULL;
  if (!written) goto done;

  if (thaw_model_open(path, 0, &model, &error) != THAW_OK ||
      thaw_session_create(model, NULL, &session, &error) != THAW_OK)
    goto done;
  printf("model: %" PRIu64 " bytes, session %zu bytes\n", size, thaw_model_session_bytes(model));
  phase run_phase;
  phase_begin(&run_phase, "runs", runs);
  for (uint64_t i = 0; i < runs; i++) {
    if (run_once(session, i, &error) != THAW_OK) goto done;
    phase_progress(&run_phase, i + 1);
  }
  long run_growth = phase_end(&run_phase);
  thaw_session_destroy(session);
  session = NULL;
  thaw_model_close(model);
  model = NULL;

  phase open_phase;
  phase_begin(&open_phase, "opens", opens);
  for (uint64_t i = 0; i < opens; i++) {
    thaw_status status = i % 2 == 0 ? thaw_model_open(path, 0, &model, &error)
                                    : thaw_model_open_memory(bytes, size, 0, &model, &error);
    if (status != THAW_OK || thaw_session_create(model, NULL, &session, &error) != THAW_OK ||
        run_once(session, i, &error) != THAW_OK)
      goto done;
    thaw_session_destroy(session);
    session = NULL;
    thaw_model_close(model);
    model = NULL;
    phase_progress(&open_phase, i + 1);
  }
  long open_growth = phase_end(&open_phase);
  exit_status = 0;
  if (limit && (run_growth > (long)max_growth_kib || open_growth > (long)max_growth_kib)) {
    fprintf(stderr, "RSS grew by more than %" PRIu64 " KiB\n", max_growth_kib);
    exit_status = 1;
  }

done:
  if (exit_status != 0 && error.message[0] != '\0') fprintf(stderr, "bench_soak: %s\n", error.message);
  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes);
  unlink(path);
  return exit_status;
}
