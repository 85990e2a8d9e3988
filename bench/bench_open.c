/*
 * How long a cold start costs with the file in the page cache: thaw_model_open +
 * thaw_session_create + destroy + close on a ~100 MB model, and the minor page faults taken
 * during open, which stay flat because open never touches the weight pages. Opening with
 * THAW_OPEN_VERIFY_WEIGHTS reads every weight byte, for contrast.
 *
 *     bench_open [iterations]      (default 100, at least 50)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "formats/format.h"
#include "thaw.h"

enum { LAYERS = 25, WIDTH = 1024, MIN_ITERATIONS = 50 };

static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec / 1e6;
}

static long minor_faults(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A stack of LAYERS WIDTH×WIDTH MatMul+ReLU layers: 4 MiB of weights each. */
static int write_model(const char *path) {
  float *weights = malloc(sizeof(float) * WIDTH * WIDTH);
  if (weights == NULL) return -1;
  for (size_t i = 0; i < (size_t)WIDTH * WIDTH; i++) weights[i] = (float)(i % 17) * 1e-3f;
  thaw_writer *writer = thaw_writer_create();
  const int64_t row[2] = {1, WIDTH}, square[2] = {WIDTH, WIDTH};
  uint32_t x = thaw_writer_add_tensor(writer, "x", THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32, 2, row,
                                      THAW_LAYOUT_PLAIN, NULL, 0);
  thaw_writer_add_input(writer, x);
  const thaw_matmul_attrs relu = {{THAW_UNARY_RELU, 0, 0}};
  for (int layer = 0; layer < LAYERS; layer++) {
    char name[32];
    snprintf(name, sizeof name, "w%d", layer);
    const uint32_t w =
        thaw_writer_add_tensor(writer, name, THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, square,
                               THAW_LAYOUT_PLAIN, weights, sizeof(float) * WIDTH * WIDTH);
    snprintf(name, sizeof name, "h%d", layer);
    const uint32_t y = thaw_writer_add_tensor(writer, name, THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32,
                                              2, row, THAW_LAYOUT_PLAIN, NULL, 0);
    snprintf(name, sizeof name, "layer%d", layer);
    thaw_writer_add_node(writer, THAW_OP_MATMUL, name, &relu, (const uint32_t[]){x, w}, 2, &y, 1);
    x = y;
  }
  thaw_writer_add_output(writer, x);
  thaw_writer_stats stats;
  thaw_error error;
  const thaw_status status =
      thaw_writer_write_file(writer, path, THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM, &stats, &error);
  thaw_writer_destroy(writer);
  free(weights);
  if (status != THAW_OK) {
    fprintf(stderr, "bench_open: %s\n", error.message);
    return -1;
  }
  printf("model: %d MatMul layers, %.1f MB file, %.1f MB weights\n", LAYERS,
         (double)stats.file_bytes / 1e6, (double)stats.weights_bytes / 1e6);
  return 0;
}

/* Time `iterations` cold starts; returns 0 when every one succeeded. */
static int measure(const char *path, uint32_t flags, int iterations, const char *label) {
  double *open_ms = malloc(sizeof(double) * (size_t)iterations);
  double *total_ms = malloc(sizeof(double) * (size_t)iterations);
  long *faults = malloc(sizeof(long) * (size_t)iterations);
  if (open_ms == NULL || total_ms == NULL || faults == NULL) return -1;
  int result = 0;
  for (int i = 0; i < iterations && result == 0; i++) {
    thaw_model *model;
    thaw_session *session;
    thaw_error error;
    const long faults_before = minor_faults();
    const double start = now_ms();
    thaw_status status = thaw_model_open(path, flags, &model, &error);
    const double opened = now_ms();
    faults[i] = minor_faults() - faults_before;
    if (status == THAW_OK) status = thaw_session_create(model, NULL, &session, &error);
    if (status != THAW_OK) {
      fprintf(stderr, "bench_open: %s\n", error.message);
      result = -1;
      break;
    }
    thaw_session_destroy(session);
    thaw_model_close(model);
    total_ms[i] = now_ms() - start;
    open_ms[i] = opened - start;
  }
  if (result == 0) {
    qsort(open_ms, (size_t)iterations, sizeof(double), compare_doubles);
    qsort(total_ms, (size_t)iterations, sizeof(double), compare_doubles);
    long fault_max = 0;
    for (int i = 0; i < iterations; i++) fault_max = faults[i] > fault_max ? faults[i] : fault_max;
    printf(
        "%-22s open: median %.3f ms (min %.3f, max %.3f)   open+session+close: median %.3f ms "
        "(min %.3f, max %.3f)   minor faults in open: max %ld\n",
        label, open_ms[iterations / 2], open_ms[0], open_ms[iterations - 1],
        total_ms[iterations / 2], total_ms[0], total_ms[iterations - 1], fault_max);
  }
  free(open_ms);
  free(total_ms);
  free(faults);
  return result;
}

int main(int argc, char **argv) {
  const int iterations = argc > 1 ? atoi(argv[1]) : 100;
  if (iterations < MIN_ITERATIONS) {
    fprintf(stderr, "usage: bench_open [iterations >= %d]\n", MIN_ITERATIONS);
    return 2;
  }
  const char *directory = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/bench_open-%ld.thaw", directory, (long)getpid());
  if (write_model(path) != 0) return 1;
  printf("%d iterations, file in the page cache\n", iterations);
  int status = measure(path, 0, iterations, "open");
  if (status == 0)
    status = measure(path, THAW_OPEN_VERIFY_WEIGHTS, iterations, "open + verify weights");
  unlink(path);
  return status == 0 ? 0 : 1;
}
