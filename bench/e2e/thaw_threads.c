/*
 * What threads buy and what they cost, on one model, measured side by side in one process:
 *
 *     thaw_threads MODEL.thaw [--threads N] [--runs R]     (N >= 2, default 2)
 *
 * - model ready (thaw_model_open + thaw_session_create) with 1 and with N threads, alternated,
 *   R times each: threads start at the first run, so both should be the same;
 * - steady latency of a 1-thread and an N-thread session on the same inputs, run alternately
 *   R times after a warm-up (load from other processes hits both alike), and their ratio;
 *   the two sessions' outputs must be the same bytes;
 * - the CPU time of those runs, of the whole process and of the caller's thread alone: on a
 *   machine whose other cores are busy (shared by other users) the wall-clock ratio says little,
 *   while the busiest thread's CPU time bounds what N free cores could give
 *   ("cpu_bound_speedup" = 1-thread CPU time / the busiest thread's CPU time; wake-up and
 *   waiting costs are not in it);
 * - idle CPU: the process's CPU time (getrusage, all threads) across a 500 ms sleep right after
 *   an N-thread run, the worst of 5: what the sleeping workers burn.
 *
 * Prints one JSON line. Inputs as thaw_e2e fills them: floats cycling through [-1, 1), integers
 * and booleans 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "thaw.h"

enum { IDLE_SAMPLES = 5, IDLE_SLEEP_MS = 500, WARMUP_RUNS = 3, MAX_COUNT = 100000 };

static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec / 1e6;
}

/* CPU time of the whole process (RUSAGE_SELF) or of the calling thread (RUSAGE_THREAD). */
static double cpu_ms(int who) {
  struct rusage usage;
  getrusage(who, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, size_t count) {
  qsort(values, count, sizeof *values, compare_doubles);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static void fill_inputs(const thaw_model *model, thaw_session *session) {
  for (size_t i = 0; i < thaw_model_input_count(model); i++) {
    thaw_tensor input;
    thaw_session_input(session, i, &input);
    if (input.dtype == THAW_DTYPE_F32) {
      float *values = input.data;
      for (size_t e = 0; e < input.element_count; e++) values[e] = (float)(e % 64) / 32.0f - 1.0f;
      continue;
    }
    unsigned char *bytes = input.data;
    const size_t element_size = thaw_dtype_size(input.dtype);
    memset(bytes, 0, input.size_bytes);
    for (size_t e = 0; e < input.element_count; e++) bytes[e * element_size] = 1;
  }
}

static int fail(const char *what, const thaw_error *error) {
  fprintf(stderr, "thaw_threads: %s: %s\n", what, error->message);
  return 1;
}

static thaw_status create(const thaw_model *model, unsigned long threads, thaw_session **session,
                          thaw_error *error) {
  const thaw_session_options options = {.threads = (uint32_t)threads};
  return thaw_session_create(model, &options, session, error);
}

static int parse_count(const char *text, unsigned long *count) {
  char *end;
  errno = 0;
  const unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value == 0 ||
      value > MAX_COUNT)
    return -1;
  *count = value;
  return 0;
}

static int parse_arguments(int argc, char **argv, const char **path, unsigned long *threads,
                           unsigned long *runs) {
  for (int i = 1; i < argc; i++) {
    const int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--threads") == 0 && has_value) {
      if (parse_count(argv[++i], threads) != 0 || *threads < 2) return -1;
    } else if (strcmp(argv[i], "--runs") == 0 && has_value) {
      if (parse_count(argv[++i], runs) != 0) return -1;
    } else if (argv[i][0] != '-' && *path == NULL) {
      *path = argv[i];
    } else {
      return -1;
    }
  }
  return *path != NULL ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  unsigned long threads = 2, runs = 20;
  if (parse_arguments(argc, argv, &path, &threads, &runs) != 0) {
    fprintf(stderr, "usage: thaw_threads MODEL.thaw [--threads N] [--runs R] (2 <= N, R <= %d)\n",
            MAX_COUNT);
    return 2;
  }
  thaw_error error;
  double *ready[2], *latency[2];
  for (int s = 0; s < 2; s++) {
    ready[s] = malloc(runs * sizeof(double));
    latency[s] = malloc(runs * sizeof(double));
    if (ready[s] == NULL || latency[s] == NULL) {
      fputs("thaw_threads: out of memory\n", stderr);
      return 1;
    }
  }
  const unsigned long thread_counts[2] = {1, threads};

  for (unsigned long r = 0; r < runs; r++) {
    for (int s = 0; s < 2; s++) {
      thaw_model *model;
      thaw_session *session;
      const double start = now_ms();
      if (thaw_model_open(path, 0, &model, &error) != THAW_OK) return fail(path, &error);
      if (create(model, thread_counts[s], &session, &error) != THAW_OK)
        return fail("session", &error);
      ready[s][r] = now_ms() - start;
      thaw_session_destroy(session);
      thaw_model_close(model);
    }
  }

  thaw_model *model;
  thaw_session *sessions[2];
  if (thaw_model_open(path, 0, &model, &error) != THAW_OK) return fail(path, &error);
  for (int s = 0; s < 2; s++) {
    if (create(model, thread_counts[s], &sessions[s], &error) != THAW_OK)
      return fail("session", &error);
    fill_inputs(model, sessions[s]);
    for (int w = 0; w < WARMUP_RUNS; w++)
      if (thaw_session_run(sessions[s], NULL, &error) != THAW_OK) return fail("run", &error);
  }
  double process_cpu[2] = {0, 0}, caller_cpu[2] = {0, 0};
  for (unsigned long r = 0; r < runs; r++) {
    for (int s = 0; s < 2; s++) {
      const double process_before = cpu_ms(RUSAGE_SELF), caller_before = cpu_ms(RUSAGE_THREAD);
      const double start = now_ms();
      if (thaw_session_run(sessions[s], NULL, &error) != THAW_OK) return fail("run", &error);
      latency[s][r] = now_ms() - start;
      process_cpu[s] += cpu_ms(RUSAGE_SELF) - process_before;
      caller_cpu[s] += cpu_ms(RUSAGE_THREAD) - caller_before;
    }
  }
  /* The workers' share is spread over threads - 1 of them; the busiest thread bounds the run. */
  const double worker_cpu = (process_cpu[1] - caller_cpu[1]) / (double)(threads - 1);
  const double busiest_cpu = caller_cpu[1] > worker_cpu ? caller_cpu[1] : worker_cpu;
  int identical = 1;
  for (size_t o = 0; o < thaw_model_output_count(model); o++) {
    thaw_tensor one, many;
    thaw_session_output(sessions[0], o, &one);
    thaw_session_output(sessions[1], o, &many);
    identical &= one.size_bytes == many.size_bytes &&
                 memcmp(one.data, many.data, one.size_bytes) == 0;
  }

  double idle_cpu_ms = 0;
  for (int i = 0; i < IDLE_SAMPLES; i++) {
    if (thaw_session_run(sessions[1], NULL, &error) != THAW_OK) return fail("run", &error);
    const double before = cpu_ms(RUSAGE_SELF);
    const struct timespec pause = {0, IDLE_SLEEP_MS * 1000000L};
    nanosleep(&pause, NULL);
    const double burned = cpu_ms(RUSAGE_SELF) - before;
    if (burned > idle_cpu_ms) idle_cpu_ms = burned;
  }

  const double ready_1 = median(ready[0], runs), ready_n = median(ready[1], runs);
  const double latency_1 = median(latency[0], runs), latency_n = median(latency[1], runs);
  printf("{\"model\": \"%s\", \"threads\": %lu, \"runs\": %lu, \"model_ready_ms_1\": %.4f, "
         "\"model_ready_ms_n\": %.4f, \"latency_ms_1\": %.4f, \"latency_ms_n\": %.4f, "
         "\"speedup\": %.3f, \"cpu_ms_per_run_1\": %.4f, \"cpu_ms_per_run_n\": %.4f, "
         "\"caller_cpu_share_n\": %.3f, \"cpu_bound_speedup\": %.3f, "
         "\"identical_outputs\": %s, \"idle_cpu_ms_per_500ms\": %.3f}\n",
         path, threads, runs, ready_1, ready_n, latency_1, latency_n, latency_1 / latency_n,
         process_cpu[0] / (double)runs, process_cpu[1] / (double)runs,
         caller_cpu[1] / process_cpu[1], process_cpu[0] / busiest_cpu,
         identical ? "true" : "false", idle_cpu_ms);
  for (int s = 0; s < 2; s++) {
    thaw_session_destroy(sessions[s]);
    free(ready[s]);
    free(latency[s]);
  }
  thaw_model_close(model);
  return identical ? 0 : 1;
}
