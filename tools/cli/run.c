/* `thaw run MODEL.thaw --input NAME=FILE.npy|NAME=random ...`: run a model, time it, save the
 * outputs as .npy. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "formats/format.h"
#include "npy.h"

static const char run_help[] =
    "Usage: thaw run MODEL.thaw [--input NAME=FILE.npy|NAME=random]... [--output-dir DIR]\n"
    "                [--repeat N] [--threads N] [--deadline-ms N] [--max-session-mb N] [--json]\n"
    "\n"
    "Open the model, create a session, fill the inputs (every model input must be given),\n"
    "run once (first run) and N-1 more times (median run), then print the outputs and the\n"
    "timings. Exit status: 0 success, 1 bad file or failed run, 2 usage error.\n"
    "\n"
    "Options:\n"
    "  --input NAME=FILE.npy  read input NAME from a .npy file; its dtype and shape must\n"
    "                         match the model's input exactly\n"
    "  --input NAME=random    fill input NAME with seeded (reproducible) values: uniform in\n"
    "                         [-1, 1) for f32, 0..9 for integer inputs, 0 or 1 for bool\n"
    "  --output-dir DIR       write each output to DIR/<output name>.npy (characters other\n"
    "                         than letters, digits, '.', '_' and '-' become '_'); DIR is\n"
    "                         created if missing\n"
    "  --repeat N             run N times in all (default 1)\n"
    "  --threads N            threads per run (default 1, at most 256): the caller's and\n"
    "                         N-1 workers, started at the first run; results are the same\n"
    "                         bits for any N; a model under 100 MFLOP per run stays on one\n"
    "                         thread\n"
    "  --deadline-ms N        stop any run still going N ms after it started (exit 1, the\n"
    "                         message names the node it stopped before)\n"
    "  --max-session-mb N     refuse a model whose session needs more than N MiB\n"
    "  --json                 print one JSON object: model, open_ms, session_ms,\n"
    "                         first_run_ms, median_run_ms and median_run_cpu_ms (the\n"
    "                         process's CPU time per run; both null when N is 1), runs,\n"
    "                         threads, session_bytes, peak_rss_kb,\n"
    "                         outputs [{name, shape, dtype, file}]\n"
    "  -h, --help             this text\n";

#define RUN_MAX_REPEAT 1000000ul
#define RUN_MAX_THREADS 256ul /* the library's bound */
#define RUN_MAX_DEADLINE_MS 86400000ul /* a day */
#define RUN_MAX_SESSION_MB (1ul << 30) /* so the byte count cannot overflow */
#define RUN_RANDOM_SEED 0x7468617772756e00ull
/* Outputs with at most this many elements have their values printed. */
#define RUN_PRINTED_VALUES 10
/* Keeps DIR/<name>.npy within common file-name limits. */
#define RUN_MAX_FILE_STEM 200

typedef struct run_options {
  const char *model_path;
  const char **input_specs; /* "NAME=SOURCE", pointing into argv */
  size_t input_spec_count;
  const char *output_dir; /* NULL: write no files */
  unsigned long repeat;
  unsigned long threads;
  unsigned long deadline_ms; /* 0: none */
  unsigned long max_session_mb; /* 0: no limit */
  bool json;
  bool help; /* print the usage and do nothing else */
} run_options;

typedef struct run_timings {
  double open_ms, session_ms, first_run_ms;
  double median_run_ms, median_run_cpu_ms; /* < 0: no warm runs */
} run_timings;

/* ---- Inputs ---- */

/* "\"x\" f32 [1,4], \"mask\" i64 [1,8]" into a malloc'ed string, for messages about inputs. */
static char *describe_model_inputs(const thaw_model *model) {
  char *text = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&text, &length);
  if (stream == NULL) return NULL;
  for (size_t i = 0; i < thaw_model_input_count(model); i++) {
    thaw_tensor input;
    thaw_model_input(model, i, &input);
    char shape[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(shape, sizeof shape, input.rank, input.shape);
    fprintf(stream, "%s\"%s\" %s %s", i == 0 ? "" : ", ", input.name,
            thaw_dtype_name(input.dtype), shape);
  }
  fclose(stream);
  return text;
}

static int input_usage_error(const run_options *options, const thaw_model *model,
                             const char *problem, const char *name) {
  char *inputs = describe_model_inputs(model);
  int status = thaw_cli_usage_error("run", "%s: %s \"%s\"; the model's inputs are: %s",
                                    options->model_path, problem, name,
                                    inputs != NULL ? inputs : "(out of memory)");
  free(inputs);
  return status;
}

static uint64_t splitmix64_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Seeded by the input's index, so a model's random inputs are the same on every run and in
 * whatever order --input options are given. */
static void fill_random(const thaw_tensor *input, size_t index) {
  uint64_t state = RUN_RANDOM_SEED + index;
  for (size_t i = 0; i < input->element_count; i++) {
    uint64_t bits = splitmix64_next(&state);
    /* Small non-negative integers are valid indices for any Gather or Embedding input. */
    uint64_t small = bits % 10;
    switch (input->dtype) {
      case THAW_DTYPE_F32: ((float *)input->data)[i] = (float)(bits >> 40) * 0x1p-23f - 1.0f; break;
      case THAW_DTYPE_I64: ((int64_t *)input->data)[i] = (int64_t)small; break;
      case THAW_DTYPE_I32: ((int32_t *)input->data)[i] = (int32_t)small; break;
      case THAW_DTYPE_I8: ((int8_t *)input->data)[i] = (int8_t)small; break;
      case THAW_DTYPE_U8: ((uint8_t *)input->data)[i] = (uint8_t)small; break;
      case THAW_DTYPE_BOOL: ((uint8_t *)input->data)[i] = (uint8_t)(bits & 1); break;
    }
  }
}

static int load_npy_input(const thaw_tensor *input, const char *path) {
  thaw_npy npy;
  thaw_error error;
  thaw_status status = thaw_npy_read(path, &npy, &error);
  if (status != THAW_OK) {
    thaw_cli_error("run", "input \"%s\": %s: %s", input->name, thaw_status_str(status),
                   error.message);
    return THAW_EXIT_FAILURE;
  }
  bool same_shape = npy.rank == input->rank;
  for (uint32_t i = 0; same_shape && i < input->rank; i++)
    same_shape = npy.shape[i] == input->shape[i];
  int exit_status = THAW_EXIT_OK;
  if (npy.dtype != input->dtype || !same_shape || npy.size_bytes != input->size_bytes) {
    char expected[THAW_DIMS_TEXT_SIZE], actual[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(expected, sizeof expected, input->rank, input->shape);
    thaw_dims_text(actual, sizeof actual, npy.rank, npy.shape);
    thaw_cli_error("run", "input \"%s\" is %s %s (%zu bytes), but %s holds %s %s (%zu bytes)",
                   input->name, thaw_dtype_name(input->dtype), expected, input->size_bytes, path,
                   thaw_dtype_name(npy.dtype), actual, npy.size_bytes);
    exit_status = THAW_EXIT_FAILURE;
  } else {
    memcpy(input->data, npy.data, npy.size_bytes);
  }
  thaw_npy_free(&npy);
  return exit_status;
}

static int fill_one_input(const run_options *options, const thaw_model *model,
                          thaw_session *session, const char *spec, bool *given) {
  const char *equals = strchr(spec, '=');
  if (equals == NULL || equals == spec || equals[1] == '\0')
    return thaw_cli_usage_error("run", "--input '%s': expected NAME=FILE.npy or NAME=random",
                                spec);
  char *name = strndup(spec, (size_t)(equals - spec));
  if (name == NULL) {
    thaw_cli_error("run", "out of memory");
    return THAW_EXIT_FAILURE;
  }
  const char *source = equals + 1;
  size_t index;
  int exit_status = THAW_EXIT_OK;
  if (thaw_model_find_input(model, name, &index) != THAW_OK) {
    exit_status = input_usage_error(options, model, "no input named", name);
  } else if (given[index]) {
    exit_status = thaw_cli_usage_error("run", "input \"%s\" is given twice", name);
  } else {
    given[index] = true;
    thaw_tensor input;
    thaw_session_input(session, index, &input);
    if (strcmp(source, "random") == 0)
      fill_random(&input, index);
    else
      exit_status = load_npy_input(&input, source);
  }
  free(name);
  return exit_status;
}

static int fill_inputs(const run_options *options, const thaw_model *model,
                       thaw_session *session) {
  size_t input_count = thaw_model_input_count(model);
  bool *given = calloc(input_count + 1, sizeof *given);
  if (given == NULL) {
    thaw_cli_error("run", "out of memory");
    return THAW_EXIT_FAILURE;
  }
  int exit_status = THAW_EXIT_OK;
  for (size_t i = 0; i < options->input_spec_count && exit_status == THAW_EXIT_OK; i++)
    exit_status = fill_one_input(options, model, session, options->input_specs[i], given);
  for (size_t i = 0; i < input_count && exit_status == THAW_EXIT_OK; i++) {
    if (given[i]) continue;
    thaw_tensor input;
    thaw_model_input(model, i, &input);
    exit_status = input_usage_error(options, model, "no --input given for", input.name);
  }
  free(given);
  return exit_status;
}

/* ---- Running ---- */

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* CPU time of the whole process: on a machine other work shares, a run's own cost, which is what
 * `thaw inspect --cost` predicts (its calibration reads CPU time too). */
static double process_cpu_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return 1e3 * (double)now.tv_sec + 1e-6 * (double)now.tv_nsec;
}

/* One run, timed by the wall clock and, when cpu_ms is not NULL, in CPU time; false (after the
 * error is reported) when it fails. */
static bool timed_run(const run_options *options, thaw_session *session, double *elapsed_ms,
                      double *cpu_ms) {
  thaw_error error;
  const double cpu_start = process_cpu_ms();
  double start = thaw_cli_now_ms();
  const thaw_run_options run_options = {
      .deadline_ns = options->deadline_ms == 0
                         ? 0
                         : thaw_monotonic_ns() + (uint64_t)options->deadline_ms * 1000000u};
  thaw_status status = thaw_session_run(session, &run_options, &error);
  *elapsed_ms = thaw_cli_now_ms() - start;
  if (cpu_ms != NULL) *cpu_ms = process_cpu_ms() - cpu_start;
  if (status != THAW_OK) thaw_cli_file_error("run", options->model_path, &error);
  return status == THAW_OK;
}

/* The median of `count` values, sorting them in place. */
static double median(double *values, size_t count) {
  qsort(values, count, sizeof *values, compare_doubles);
  return count % 2 == 1 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static int run_repeatedly(const run_options *options, thaw_session *session,
                          run_timings *timings) {
  size_t warm_runs = options->repeat - 1;
  /* Wall-clock times, then CPU times. */
  double *warm_ms = malloc((2 * warm_runs + 1) * sizeof *warm_ms);
  if (warm_ms == NULL) {
    thaw_cli_error("run", "out of memory");
    return THAW_EXIT_FAILURE;
  }
  double *warm_cpu_ms = warm_ms + warm_runs;
  bool ok = timed_run(options, session, &timings->first_run_ms, NULL);
  for (size_t run = 0; ok && run < warm_runs; run++)
    ok = timed_run(options, session, &warm_ms[run], &warm_cpu_ms[run]);
  timings->median_run_ms = -1.0;
  timings->median_run_cpu_ms = -1.0;
  if (ok && warm_runs != 0) {
    timings->median_run_ms = median(warm_ms, warm_runs);
    timings->median_run_cpu_ms = median(warm_cpu_ms, warm_runs);
  }
  free(warm_ms);
  return ok ? THAW_EXIT_OK : THAW_EXIT_FAILURE;
}

/* ---- Outputs ---- */

static void sanitise_file_stem(const char *name, char *stem) {
  size_t length = 0;
  for (; name[length] != '\0' && length < RUN_MAX_FILE_STEM; length++) {
    char c = name[length];
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || (c == '.' && length != 0); /* no hidden files, no ".." */
    stem[length] = keep ? c : '_';
  }
  if (length == 0) stem[length++] = '_';
  stem[length] = '\0';
}

static bool path_taken(char *const *paths, size_t count, const char *path) {
  for (size_t i = 0; i < count; i++)
    if (strcmp(paths[i], path) == 0) return true;
  return false;
}

/* DIR/<stem>.npy for every output; names that sanitise alike get a "-<n>" suffix rather than
 * overwriting each other. */
static int plan_output_paths(const char *directory, const thaw_model *model, char **paths) {
  size_t output_count = thaw_model_output_count(model);
  for (size_t i = 0; i < output_count; i++) {
    thaw_tensor output;
    thaw_model_output(model, i, &output);
    char stem[RUN_MAX_FILE_STEM + 1];
    sanitise_file_stem(output.name, stem);
    size_t suffix = i;
    int length = asprintf(&paths[i], "%s/%s.npy", directory, stem);
    while (length >= 0 && path_taken(paths, i, paths[i])) {
      free(paths[i]);
      length = asprintf(&paths[i], "%s/%s-%zu.npy", directory, stem, suffix);
      suffix += output_count;
    }
    if (length < 0) {
      paths[i] = NULL;
      thaw_cli_error("run", "out of memory");
      return THAW_EXIT_FAILURE;
    }
  }
  return THAW_EXIT_OK;
}

static int write_outputs(const run_options *options, thaw_session *session, size_t output_count,
                         char *const *paths) {
  if (mkdir(options->output_dir, 0777) != 0 && errno != EEXIST) {
    thaw_cli_error("run", "--output-dir %s: %s", options->output_dir, strerror(errno));
    return THAW_EXIT_FAILURE;
  }
  for (size_t i = 0; i < output_count; i++) {
    thaw_tensor output;
    thaw_session_output(session, i, &output);
    thaw_error error;
    thaw_status status = thaw_npy_write(paths[i], output.dtype, output.rank, output.shape,
                                        output.data, &error);
    if (status != THAW_OK) {
      thaw_cli_error("run", "output \"%s\": %s: %s", output.name, thaw_status_str(status),
                     error.message);
      return THAW_EXIT_FAILURE;
    }
  }
  return THAW_EXIT_OK;
}

static void print_element(const thaw_tensor *tensor, size_t i) {
  switch (tensor->dtype) {
    case THAW_DTYPE_F32: printf("%.6g", (double)((const float *)tensor->data)[i]); break;
    case THAW_DTYPE_I64: printf("%" PRId64, ((const int64_t *)tensor->data)[i]); break;
    case THAW_DTYPE_I32: printf("%" PRId32, ((const int32_t *)tensor->data)[i]); break;
    case THAW_DTYPE_I8: printf("%d", ((const int8_t *)tensor->data)[i]); break;
    case THAW_DTYPE_U8:
    case THAW_DTYPE_BOOL: printf("%u", ((const uint8_t *)tensor->data)[i]); break;
  }
}

static void print_output_text(const thaw_tensor *output, const char *path) {
  char shape[THAW_DIMS_TEXT_SIZE];
  thaw_dims_text(shape, sizeof shape, output->rank, output->shape);
  printf("output \"%s\" %s %s", output->name, thaw_dtype_name(output->dtype), shape);
  if (path != NULL) printf(" -> %s", path);
  printf("\n");
  if (output->element_count <= RUN_PRINTED_VALUES) {
    printf("  values");
    for (size_t i = 0; i < output->element_count; i++) {
      printf(" ");
      print_element(output, i);
    }
    printf("\n");
  }
  /* A [1,K] f32 output is usually class scores. */
  if (output->dtype == THAW_DTYPE_F32 && output->rank == 2 && output->shape[0] == 1 &&
      output->element_count != 0) {
    const float *scores = output->data;
    size_t best = 0;
    for (size_t i = 1; i < output->element_count; i++)
      if (scores[i] > scores[best]) best = i;
    printf("  argmax %zu (%.6g)\n", best, (double)scores[best]);
  }
}

static void print_summary_text(const run_options *options, const run_timings *timings,
                               long peak_rss_kb, thaw_session *session, size_t output_count,
                               char *const *paths) {
  printf("model       %s\n", options->model_path);
  printf("open        %.4f ms\n", timings->open_ms);
  printf("session     %.4f ms\n", timings->session_ms);
  printf("first run   %.4f ms\n", timings->first_run_ms);
  if (timings->median_run_ms >= 0)
    printf("median run  %.4f ms over %lu more runs\n", timings->median_run_ms,
           options->repeat - 1);
  printf("peak RSS    %ld kB\n", peak_rss_kb);
  for (size_t i = 0; i < output_count; i++) {
    thaw_tensor output;
    thaw_session_output(session, i, &output);
    print_output_text(&output, paths != NULL ? paths[i] : NULL);
  }
}

static void print_summary_json(const run_options *options, const thaw_model *model,
                               const run_timings *timings,
                               long peak_rss_kb, thaw_session *session, size_t output_count,
                               char *const *paths) {
  printf("{\"model\": ");
  thaw_cli_print_json_string(stdout, options->model_path);
  printf(", \"open_ms\": %.4f, \"session_ms\": %.4f, \"first_run_ms\": %.4f", timings->open_ms,
         timings->session_ms, timings->first_run_ms);
  if (timings->median_run_ms >= 0)
    printf(", \"median_run_ms\": %.4f, \"median_run_cpu_ms\": %.4f", timings->median_run_ms,
           timings->median_run_cpu_ms);
  else
    printf(", \"median_run_ms\": null, \"median_run_cpu_ms\": null");
  printf(", \"runs\": %lu, \"threads\": %lu, \"session_bytes\": %zu, \"peak_rss_kb\": %ld"
         ", \"outputs\": [",
         options->repeat, options->threads, thaw_model_session_bytes(model), peak_rss_kb);
  for (size_t i = 0; i < output_count; i++) {
    thaw_tensor output;
    thaw_session_output(session, i, &output);
    char shape[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(shape, sizeof shape, output.rank, output.shape);
    printf("%s{\"name\": ", i == 0 ? "" : ", ");
    thaw_cli_print_json_string(stdout, output.name);
    printf(", \"shape\": %s, \"dtype\": \"%s\", \"file\": ", shape, thaw_dtype_name(output.dtype));
    if (paths != NULL)
      thaw_cli_print_json_string(stdout, paths[i]);
    else
      printf("null");
    printf("}");
  }
  printf("]}\n");
}

static int run_session(const run_options *options, const thaw_model *model,
                       thaw_session *session, run_timings *timings) {
  int exit_status = fill_inputs(options, model, session);
  if (exit_status != THAW_EXIT_OK) return exit_status;
  exit_status = run_repeatedly(options, session, timings);
  if (exit_status != THAW_EXIT_OK) return exit_status;

  size_t output_count = thaw_model_output_count(model);
  char **paths = NULL;
  if (options->output_dir != NULL) {
    /* Zeroed, so a partly planned list frees the same way as a full one. */
    paths = calloc(output_count + 1, sizeof *paths);
    if (paths == NULL) {
      thaw_cli_error("run", "out of memory");
      return THAW_EXIT_FAILURE;
    }
    exit_status = plan_output_paths(options->output_dir, model, paths);
    if (exit_status == THAW_EXIT_OK)
      exit_status = write_outputs(options, session, output_count, paths);
  }
  if (exit_status == THAW_EXIT_OK) {
    struct rusage usage;
    long peak_rss_kb = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss : -1;
    if (options->json)
      print_summary_json(options, model, timings, peak_rss_kb, session, output_count, paths);
    else
      print_summary_text(options, timings, peak_rss_kb, session, output_count, paths);
  }
  for (size_t i = 0; paths != NULL && i < output_count; i++) free(paths[i]);
  free(paths);
  return exit_status;
}

static int run_model(const run_options *options) {
  run_timings timings;
  thaw_model *model;
  thaw_error error;
  double start = thaw_cli_now_ms();
  thaw_status status = thaw_model_open(options->model_path, 0, &model, &error);
  timings.open_ms = thaw_cli_now_ms() - start;
  if (status != THAW_OK) {
    thaw_cli_file_error("run", options->model_path, &error);
    return THAW_EXIT_FAILURE;
  }
  thaw_session *session;
  start = thaw_cli_now_ms();
  const thaw_session_options session_options = {.max_bytes = options->max_session_mb << 20,
                                                .threads = (uint32_t)options->threads};
  status = thaw_session_create(model, &session_options, &session, &error);
  timings.session_ms = thaw_cli_now_ms() - start;
  int exit_status;
  if (status != THAW_OK) {
    thaw_cli_file_error("run", options->model_path, &error);
    exit_status = THAW_EXIT_FAILURE;
  } else {
    exit_status = run_session(options, model, session, &timings);
    thaw_session_destroy(session);
  }
  thaw_model_close(model);
  return exit_status;
}

/* Fills `options` from argv; anything but THAW_EXIT_OK is the status to exit with. */
static int parse_run_options(int argc, char **argv, run_options *options) {
  static const struct option long_options[] = {
      {"input", required_argument, NULL, 'i'},  {"output-dir", required_argument, NULL, 'o'},
      {"repeat", required_argument, NULL, 'r'}, {"threads", required_argument, NULL, 't'},
      {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
      {"deadline-ms", required_argument, NULL, 'd'},
      {"max-session-mb", required_argument, NULL, 'm'},
      {NULL, 0, NULL, 0},
  };
  *options = (run_options){.repeat = 1, .threads = 1};
  options->input_specs = calloc((size_t)argc, sizeof *options->input_specs);
  if (options->input_specs == NULL) {
    thaw_cli_error("run", "out of memory");
    return THAW_EXIT_FAILURE;
  }
  opterr = 0;
  for (;;) {
    int option = getopt_long(argc, argv, ":h", long_options, NULL);
    if (option == -1) break;
    switch (option) {
      case 'i': options->input_specs[options->input_spec_count++] = optarg; break;
      case 'o': options->output_dir = optarg; break;
      case 'r':
        if (!thaw_cli_parse_count("run", "--repeat", optarg, 1, RUN_MAX_REPEAT, &options->repeat))
          return THAW_EXIT_USAGE;
        break;
      case 't':
        if (!thaw_cli_parse_count("run", "--threads", optarg, 1, RUN_MAX_THREADS,
                                  &options->threads))
          return THAW_EXIT_USAGE;
        break;
      case 'd':
        if (!thaw_cli_parse_count("run", "--deadline-ms", optarg, 1, RUN_MAX_DEADLINE_MS,
                                  &options->deadline_ms))
          return THAW_EXIT_USAGE;
        break;
      case 'm':
        if (!thaw_cli_parse_count("run", "--max-session-mb", optarg, 1, RUN_MAX_SESSION_MB,
                                  &options->max_session_mb))
          return THAW_EXIT_USAGE;
        break;
      case 'j': options->json = true; break;
      case 'h': options->help = true; return THAW_EXIT_OK;
      default: return thaw_cli_option_error("run", option, argv);
    }
  }
  if (argc == optind) return thaw_cli_usage_error("run", "missing MODEL.thaw");
  if (argc - optind > 1)
    return thaw_cli_usage_error("run", "expected one MODEL.thaw, got %d files", argc - optind);
  options->model_path = argv[optind];
  return THAW_EXIT_OK;
}

int thaw_cli_run(int argc, char **argv) {
  run_options options;
  int exit_status = parse_run_options(argc, argv, &options);
  if (exit_status == THAW_EXIT_OK && options.help)
    fputs(run_help, stdout);
  else if (exit_status == THAW_EXIT_OK)
    exit_status = run_model(&options);
  free(options.input_specs);
  return exit_status;
}
