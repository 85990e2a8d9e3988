/*
 * What a serverless function built on thaw does when a fresh instance gets its first request:
 * open the model, create a session, fill the inputs, run once and write the first output. Then,
 * for the steady-state figure, it runs `--runs` more times after `--warmup` untimed runs.
 *
 *     thaw_e2e MODEL.thaw [--output FILE] [--warmup N] [--runs N] [--threads N]
 *
 * Prints one JSON line on stdout. Every timestamp is CLOCK_MONOTONIC in nanoseconds, the clock
 * bench_e2e_launch, Node's process.hrtime and Python's time.monotonic_ns also read, so the
 * harness can place "process started", "model ready" and "first result written" on one time
 * line across processes. Memory figures come from /proc/self/status (VmHWM: peak RSS) and
 * /proc/self/smaps_rollup, whose Anonymous pages are the process's own, while the rest of Rss
 * is file-backed and shared with every other process mapping the same model through the page
 * cache. The first output's bytes go to --output (default /dev/null), as a function would
 * write its response.
 *
 * Inputs are deterministic: floats cycle through [-1, 1), integers and booleans are 1 (a valid
 * token id and an attended mask position for the encoders), so every run does the same work.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_inputs.h"
#include "thaw.h"

enum { MAX_RUNS = 100000 };

typedef struct memory_figures {
  unsigned long long rss_kb, anonymous_kb, shared_clean_kb, shared_dirty_kb, private_clean_kb,
      private_dirty_kb;
} memory_figures;

typedef struct options {
  const char *model_path;
  const char *output_path;
  unsigned long warmup;
  unsigned long runs;
  unsigned long threads; /* thaw_session_options.threads */
} options;

static int64_t monotonic_ns(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (int64_t)time.tv_sec * 1000000000 + time.tv_nsec;
}

static double elapsed_ms(int64_t from_ns, int64_t to_ns) { return (double)(to_ns - from_ns) / 1e6; }

/* The "Key: value kB" lines of smaps_rollup this program reports; absent keys stay 0. */
static void read_smaps_rollup(memory_figures *figures) {
  memset(figures, 0, sizeof *figures);
  FILE *file = fopen("/proc/self/smaps_rollup", "r");
  if (file == NULL) return;
  const struct {
    const char *key;
    unsigned long long *value;
  } fields[] = {{"Rss", &figures->rss_kb},
                {"Anonymous", &figures->anonymous_kb},
                {"Shared_Clean", &figures->shared_clean_kb},
                {"Shared_Dirty", &figures->shared_dirty_kb},
                {"Private_Clean", &figures->private_clean_kb},
                {"Private_Dirty", &figures->private_dirty_kb}};
  char line[256], key[64];
  unsigned long long value;
  while (fgets(line, sizeof line, file) != NULL) {
    if (sscanf(line, "%63[^:]: %llu kB", key, &value) != 2) continue;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
      if (strcmp(key, fields[i].key) == 0) *fields[i].value = value;
    }
  }
  fclose(file);
}

/* VmHWM, the peak resident set size, in kB; 0 when /proc is not mounted. */
static unsigned long long peak_rss_kb(void) {
  FILE *file = fopen("/proc/self/status", "r");
  if (file == NULL) return 0;
  char line[256];
  unsigned long long value = 0;
  while (fgets(line, sizeof line, file) != NULL) {
    if (sscanf(line, "VmHWM: %llu kB", &value) == 1) break;
  }
  fclose(file);
  return value;
}

static int write_all(const char *path, const void *bytes, size_t size) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  const unsigned char *cursor = bytes;
  while (size > 0) {
    const ssize_t written = write(fd, cursor, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      close(fd);
      return -1;
    }
    cursor += written;
    size -= (size_t)written;
  }
  return close(fd);
}

static int parse_count(const char *text, unsigned long *count) {
  char *end;
  errno = 0;
  const unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > MAX_RUNS) return -1;
  *count = value;
  return 0;
}

static int parse_options(int argc, char **argv, options *parsed) {
  *parsed = (options){NULL, "/dev/null", 0, 0, 1};
  for (int i = 1; i < argc; i++) {
    const int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--output") == 0 && has_value) {
      parsed->output_path = argv[++i];
    } else if (strcmp(argv[i], "--warmup") == 0 && has_value) {
      if (parse_count(argv[++i], &parsed->warmup) != 0) return -1;
    } else if (strcmp(argv[i], "--runs") == 0 && has_value) {
      if (parse_count(argv[++i], &parsed->runs) != 0) return -1;
    } else if (strcmp(argv[i], "--threads") == 0 && has_value) {
      if (parse_count(argv[++i], &parsed->threads) != 0 || parsed->threads == 0) return -1;
    } else if (argv[i][0] != '-' && parsed->model_path == NULL) {
      parsed->model_path = argv[i];
    } else {
      return -1;
    }
  }
  return parsed->model_path != NULL ? 0 : -1;
}

static void print_memory(const char *name, const memory_figures *figures) {
  printf(", \"%s\": {\"rss_kb\": %llu, \"anonymous_kb\": %llu, \"file_backed_kb\": %llu, "
         "\"shared_clean_kb\": %llu, \"shared_dirty_kb\": %llu, \"private_clean_kb\": %llu, "
         "\"private_dirty_kb\": %llu}",
         name, figures->rss_kb, figures->anonymous_kb, figures->rss_kb - figures->anonymous_kb,
         figures->shared_clean_kb, figures->shared_dirty_kb, figures->private_clean_kb,
         figures->private_dirty_kb);
}

static int fail(const char *what, const thaw_error *error) {
  fprintf(stderr, "thaw_e2e: %s: %s\n", what, error->message);
  return 1;
}

int main(int argc, char **argv) {
  const int64_t main_ns = monotonic_ns();
  options opts;
  if (parse_options(argc, argv, &opts) != 0) {
    fprintf(stderr, "usage: thaw_e2e MODEL.thaw [--output FILE] [--warmup N] [--runs N] "
                    "[--threads N] (N <= %d)\n", MAX_RUNS);
    return 2;
  }
  thaw_error error;
  thaw_model *model;
  thaw_session *session;
  if (thaw_model_open(opts.model_path, 0, &model, &error) != THAW_OK) {
    return fail(opts.model_path, &error);
  }
  const int64_t opened_ns = monotonic_ns();
  const thaw_session_options session_options = {.threads = (uint32_t)opts.threads};
  if (thaw_session_create(model, &session_options, &session, &error) != THAW_OK) {
    return fail("session", &error);
  }
  const int64_t ready_ns = monotonic_ns();
  memory_figures memory_ready;
  read_smaps_rollup(&memory_ready);

  const int64_t inputs_ns = monotonic_ns();
  for (size_t i = 0; i < thaw_model_input_count(model); i++) {
    thaw_tensor input;
    if (thaw_session_input(session, i, &input) != THAW_OK) {
      fprintf(stderr, "thaw_e2e: no input %zu\n", i);
      return 1;
    }
    thaw_bench_fill_input(&input, thaw_dtype_size(input.dtype));
  }
  const int64_t run_ns = monotonic_ns();
  if (thaw_session_run(session, NULL, &error) != THAW_OK) return fail("run", &error);
  const int64_t ran_ns = monotonic_ns();
  thaw_tensor output;
  if (thaw_session_output(session, 0, &output) != THAW_OK) {
    fputs("thaw_e2e: the model has no output\n", stderr);
    return 1;
  }
  if (write_all(opts.output_path, output.data, output.size_bytes) != 0) {
    fprintf(stderr, "thaw_e2e: cannot write %s: %s\n", opts.output_path, strerror(errno));
    return 1;
  }
  const int64_t first_result_ns = monotonic_ns();

  for (unsigned long i = 0; i < opts.warmup; i++) {
    if (thaw_session_run(session, NULL, &error) != THAW_OK) return fail("run", &error);
  }
  double *run_ms = malloc(sizeof(double) * (opts.runs > 0 ? opts.runs : 1));
  if (run_ms == NULL) {
    fputs("thaw_e2e: out of memory for the run times\n", stderr);
    return 1;
  }
  for (unsigned long i = 0; i < opts.runs; i++) {
    const int64_t start_ns = monotonic_ns();
    if (thaw_session_run(session, NULL, &error) != THAW_OK) return fail("run", &error);
    run_ms[i] = elapsed_ms(start_ns, monotonic_ns());
  }
  memory_figures memory_end;
  read_smaps_rollup(&memory_end);

  printf("{\"runtime\": \"thaw\", \"threads\": %lu, \"main_ns\": %" PRId64 ", \"ready_ns\": %" PRId64
         ", \"first_result_ns\": %" PRId64 ", \"open_ms\": %.4f, \"session_ms\": %.4f, "
         "\"model_ready_ms\": %.4f, \"inputs_ms\": %.4f, \"first_run_ms\": %.4f, "
         "\"session_bytes\": %zu, \"runs_ms\": [",
         opts.threads, main_ns, ready_ns, first_result_ns, elapsed_ms(main_ns, opened_ns),
         elapsed_ms(opened_ns, ready_ns), elapsed_ms(main_ns, ready_ns),
         elapsed_ms(inputs_ns, run_ns), elapsed_ms(run_ns, ran_ns),
         thaw_model_session_bytes(model));
  for (unsigned long i = 0; i < opts.runs; i++) printf("%s%.4f", i > 0 ? ", " : "", run_ms[i]);
  printf("], \"peak_rss_kb\": %llu", peak_rss_kb());
  print_memory("memory_ready", &memory_ready);
  print_memory("memory_end", &memory_end);
  printf("}\n");
  free(run_ms);
  thaw_session_destroy(session);
  thaw_model_close(model);
  return fflush(stdout) == 0 ? 0 : 1;
}
