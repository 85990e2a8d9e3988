/*
 * Two or more builds of thaw side by side in one process, on one model: which is faster.
 *
 *     thaw_ab [--threads N] [--runs R] MODEL.thaw BUILD/libthaw.so BUILD/libthaw.so...
 *
 * On a shared virtual machine a core's speed drifts by 10-20 % within minutes, and on two
 * threads whole phases run as if on one core: processes of the two builds taking turns still
 * meet different phases. Here every build is loaded (dlopen, each with its own symbols) and
 * gets its own session on the same model and inputs, and the sessions run in turn, one run
 * each, R rounds after a warm-up: a drift hits every build alike. Each build has its own
 * worker threads, which sleep while the other builds run, so on N > 1 threads every run
 * starts by waking them, for every build alike.
 *
 * Prints one JSON line per build: the median and quartiles of its run times, the ratio of its
 * median to the first build's, and whether its first output's bytes equal the first build's.
 * A build is `cmake --build DIR --target thaw_shared` (DIR/libthaw.so); a git worktree of the
 * parent commit gives the other tree.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_inputs.h"
#include "thaw.h"

enum { MAX_BUILDS = 8, WARMUP_RUNS = 10, DEFAULT_RUNS = 100, MAX_RUNS = 100000 };

/* The functions of one build, and its session. */
typedef struct build {
  const char *path;
  void *library;
  thaw_status (*model_open)(const char *, uint32_t, thaw_model **, thaw_error *);
  size_t (*model_input_count)(const thaw_model *);
  thaw_status (*session_create)(const thaw_model *, const thaw_session_options *,
                                thaw_session **, thaw_error *);
  thaw_status (*session_input)(thaw_session *, size_t, thaw_tensor *);
  thaw_status (*session_output)(thaw_session *, size_t, thaw_tensor *);
  thaw_status (*session_run)(thaw_session *, const thaw_run_options *, thaw_error *);
  size_t (*dtype_size)(thaw_dtype);
  thaw_model *model;
  thaw_session *session;
  void *first_output;
  size_t first_output_bytes;
  double *run_ms;
} build;

static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The value a fraction `at` of the way through sorted `values`. */
static double quantile(const double *sorted, size_t count, double at) {
  return sorted[(size_t)(at * (double)(count - 1) + 0.5)];
}

static int load(build *b) {
  /* RTLD_DEEPBIND: each build's calls between its own functions stay inside it. */
  b->library = dlopen(b->path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (b->library == NULL) {
    fprintf(stderr, "thaw_ab: %s\n", dlerror());
    return -1;
  }
  struct {
    const char *name;
    void **slot;
  } symbols[] = {
      {"thaw_model_open", (void **)&b->model_open},
      {"thaw_model_input_count", (void **)&b->model_input_count},
      {"thaw_session_create", (void **)&b->session_create},
      {"thaw_session_input", (void **)&b->session_input},
      {"thaw_session_output", (void **)&b->session_output},
      {"thaw_session_run", (void **)&b->session_run},
      {"thaw_dtype_size", (void **)&b->dtype_size},
  };
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    *symbols[i].slot = dlsym(b->library, symbols[i].name);
    if (*symbols[i].slot == NULL) {
      fprintf(stderr, "thaw_ab: %s has no %s\n", b->path, symbols[i].name);
      return -1;
    }
  }
  return 0;
}

/* Opens the model and a session on `threads` threads, fills the inputs, runs once and keeps
 * a copy of the first output. */
static int prepare(build *b, const char *model_path, unsigned threads) {
  thaw_error error;
  const thaw_session_options options = {.threads = threads};
  if (b->model_open(model_path, 0, &b->model, &error) != THAW_OK ||
      b->session_create(b->model, &options, &b->session, &error) != THAW_OK) {
    fprintf(stderr, "thaw_ab: %s: %s\n", b->path, error.message);
    return -1;
  }
  for (size_t i = 0; i < b->model_input_count(b->model); i++) {
    thaw_tensor input;
    b->session_input(b->session, i, &input);
    thaw_bench_fill_input(&input, b->dtype_size(input.dtype));
  }
  thaw_tensor output;
  if (b->session_run(b->session, NULL, &error) != THAW_OK) {
    fprintf(stderr, "thaw_ab: %s: run: %s\n", b->path, error.message);
    return -1;
  }
  if (b->session_output(b->session, 0, &output) != THAW_OK) {
    fprintf(stderr, "thaw_ab: %s: the model has no output\n", b->path);
    return -1;
  }
  b->first_output_bytes = output.size_bytes;
  b->first_output = malloc(output.size_bytes > 0 ? output.size_bytes : 1);
  if (b->first_output == NULL) return -1;
  memcpy(b->first_output, output.data, output.size_bytes);
  return 0;
}

static int timed_run(build *b, double *ms) {
  thaw_error error;
  const double start = now_ms();
  if (b->session_run(b->session, NULL, &error) != THAW_OK) {
    fprintf(stderr, "thaw_ab: %s: run: %s\n", b->path, error.message);
    return -1;
  }
  *ms = now_ms() - start;
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: thaw_ab [--threads N] [--runs R] MODEL.thaw BUILD.so BUILD.so... "
                  "(R <= %d, 2 to %d builds)\n", MAX_RUNS, MAX_BUILDS);
  return 2;
}

int main(int argc, char **argv) {
  unsigned long threads = 1, runs = DEFAULT_RUNS;
  int arg = 1;
  for (; arg + 1 < argc && strncmp(argv[arg], "--", 2) == 0; arg += 2) {
    char *end;
    const unsigned long value = strtoul(argv[arg + 1], &end, 10);
    if (*end != '\0' || value == 0) return usage();
    if (strcmp(argv[arg], "--threads") == 0) {
      threads = value;
    } else if (strcmp(argv[arg], "--runs") == 0 && value <= MAX_RUNS) {
      runs = value;
    } else {
      return usage();
    }
  }
  const size_t build_count = (size_t)(argc - arg - 1);
  if (arg >= argc || build_count < 2 || build_count > MAX_BUILDS || threads > UINT32_MAX)
    return usage();
  const char *model_path = argv[arg];
  build builds[MAX_BUILDS] = {0};
  for (size_t i = 0; i < build_count; i++) {
    builds[i].path = argv[arg + 1 + i];
    if (load(&builds[i]) != 0) return 1;
    for (size_t j = 0; j < i; j++)
      if (builds[j].library == builds[i].library) {
        fprintf(stderr, "thaw_ab: %s and %s are the same library\n", builds[j].path,
                builds[i].path);
        return 1;
      }
    if (prepare(&builds[i], model_path, (unsigned)threads) != 0) return 1;
    builds[i].run_ms = malloc(runs * sizeof(double));
    if (builds[i].run_ms == NULL) return 1;
  }
  double ignored;
  for (int w = 0; w < WARMUP_RUNS; w++)
    for (size_t i = 0; i < build_count; i++)
      if (timed_run(&builds[i], &ignored) != 0) return 1;
  for (unsigned long r = 0; r < runs; r++)
    for (size_t i = 0; i < build_count; i++)
      if (timed_run(&builds[i], &builds[i].run_ms[r]) != 0) return 1;

  double first_median = 0;
  for (size_t i = 0; i < build_count; i++) {
    build *b = &builds[i];
    qsort(b->run_ms, runs, sizeof(double), compare_doubles);
    const double median = quantile(b->run_ms, runs, 0.5);
    if (i == 0) first_median = median;
    const int same_output = b->first_output_bytes == builds[0].first_output_bytes &&
                            memcmp(b->first_output, builds[0].first_output,
                                   b->first_output_bytes) == 0;
    printf("{\"build\": \"%s\", \"model\": \"%s\", \"threads\": %lu, \"runs\": %lu, "
           "\"median_ms\": %.4f, \"p25_ms\": %.4f, \"p75_ms\": %.4f, \"ratio\": %.4f, "
           "\"same_output\": %s}\n",
           b->path, model_path, threads, runs, median, quantile(b->run_ms, runs, 0.25),
           quantile(b->run_ms, runs, 0.75), median / first_median,
           same_output ? "true" : "false");
  }
  return 0;
}
