/* `thaw inspect MODEL.thaw [--verify] [--cost [--threads N]] [--json]`: what a .thaw file holds
 * and what it costs. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cost.h"
#include "formats/format.h"
#include "runtime/platform.h"

static const char inspect_help[] =
    "Usage: thaw inspect MODEL.thaw [--verify] [--cost [--threads N]] [--json]\n"
    "\n"
    "Describe a .thaw file: format version, flags, producer, converter, source model hash,\n"
    "file size, inputs and outputs (name, dtype, shape), node count and op counts, tensors\n"
    "and constant bytes, the planned arena and the bytes one session allocates.\n"
    "The file is fully validated, as thaw_model_open does.\n"
    "\n"
    "Options:\n"
    "  --verify     also verify the checksum over all weights (reads every weight byte);\n"
    "               exit status 1 on a mismatch\n"
    "  --cost       also measure the kernels on this machine (a few hundred ms) and report,\n"
    "               per node, the FLOPs (a multiply-add counts 2), the bytes read\n"
    "               (activations, weights) and written, the kernel class and the predicted\n"
    "               time; then totals per kernel class and for the model, with the arena,\n"
    "               weight and session bytes and the predicted run time\n"
    "  --threads N  predict for N threads (with --cost; default 1): GEMM and convolution\n"
    "               classes are assumed to run min(N, cores) times faster, the rest not\n"
    "  --json       print one JSON object instead of text (with --cost, under \"cost\")\n"
    "  -h, --help   this text\n";

typedef struct op_count {
  const char *name;
  uint32_t count;
} op_count;

typedef enum weights_check {
  WEIGHTS_NOT_VERIFIED,
  WEIGHTS_ABSENT, /* the file carries no weights checksum */
  WEIGHTS_OK,
  WEIGHTS_MISMATCH,
} weights_check;

static const char *const weights_check_names[] = {"not verified", "absent", "ok", "mismatch"};

typedef struct inspection {
  const char *path;
  const thaw_format_view *view;
  const thaw_model *model;
  op_count ops[THAW_OP_MAX];
  uint32_t distinct_ops;
  uint32_t constant_count;
  uint64_t constant_bytes;
  weights_check weights;
} inspection;

/* Most frequent first; ties alphabetically, so the listing is stable. */
static int compare_op_counts(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return strcmp(x->name, y->name);
}

static void count_ops_and_constants(inspection *report) {
  uint32_t counts[THAW_OP_MAX + 1] = {0};
  for (uint32_t i = 0; i < report->view->node_count; i++) {
    thaw_format_node node;
    thaw_format_get_node(report->view, i, &node);
    counts[node.op]++; /* the reader accepted only known op codes */
  }
  report->distinct_ops = 0;
  for (uint32_t op = 1; op <= THAW_OP_MAX; op++)
    if (counts[op] != 0)
      report->ops[report->distinct_ops++] = (op_count){thaw_op_name(op), counts[op]};
  qsort(report->ops, report->distinct_ops, sizeof report->ops[0], compare_op_counts);

  report->constant_count = 0;
  report->constant_bytes = 0;
  for (uint32_t i = 0; i < report->view->tensor_count; i++) {
    thaw_format_tensor tensor;
    thaw_format_get_tensor(report->view, i, &tensor);
    if (tensor.kind != THAW_TENSOR_CONSTANT) continue;
    report->constant_count++;
    report->constant_bytes += tensor.size; /* blobs do not overlap, so the sum fits the file */
  }
}

static void format_source_hash(const thaw_format_view *view, char hex[65]) {
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", view->source_hash[i]);
}

typedef thaw_status (*describe_tensor_fn)(const thaw_model *, size_t, thaw_tensor *);

static void print_tensors_text(const char *title, const thaw_model *model, size_t count,
                               describe_tensor_fn describe) {
  printf("%s (%zu)\n", title, count);
  for (size_t i = 0; i < count; i++) {
    thaw_tensor tensor;
    describe(model, i, &tensor);
    char shape[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(shape, sizeof shape, tensor.rank, tensor.shape);
    printf("  %-24s %-4s %s\n", tensor.name, thaw_dtype_name(tensor.dtype), shape);
  }
}

static void print_text(const inspection *report) {
  const thaw_format_view *view = report->view;
  char hash[65];
  format_source_hash(view, hash);
  printf("file             %s (%" PRIu64 " bytes)\n", report->path, view->size);
  printf("format           %u.%u\n", view->major, view->minor);
  printf("flags            0x%" PRIx32 "%s\n", view->flags,
         view->flags & THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM ? " (weights checksum)" : "");
  printf("producer         %s\n", view->producer);
  printf("converter        %s\n", view->converter);
  printf("source hash      %s\n", hash);
  print_tensors_text("inputs", report->model, thaw_model_input_count(report->model),
                     thaw_model_input);
  print_tensors_text("outputs", report->model, thaw_model_output_count(report->model),
                     thaw_model_output);
  printf("nodes            %" PRIu32 "\n", view->node_count);
  printf("ops             ");
  for (uint32_t i = 0; i < report->distinct_ops; i++)
    printf("%s %s %" PRIu32, i == 0 ? "" : ",", report->ops[i].name, report->ops[i].count);
  printf("\n");
  printf("tensors          %" PRIu32 " (%" PRIu32 " constants, %" PRIu64 " bytes)\n",
         view->tensor_count, report->constant_count, report->constant_bytes);
  printf("arena            %" PRIu64 " bytes\n", view->arena_size);
  printf("session          %zu bytes\n", thaw_model_session_bytes(report->model));
  printf("weights checksum %s%s\n", weights_check_names[report->weights],
         report->weights == WEIGHTS_NOT_VERIFIED ? " (use --verify)" : "");
}

static void print_tensors_json(const char *key, const thaw_model *model, size_t count,
                               describe_tensor_fn describe) {
  printf(", \"%s\": [", key);
  for (size_t i = 0; i < count; i++) {
    thaw_tensor tensor;
    describe(model, i, &tensor);
    char shape[THAW_DIMS_TEXT_SIZE];
    thaw_dims_text(shape, sizeof shape, tensor.rank, tensor.shape);
    printf("%s{\"name\": ", i == 0 ? "" : ", ");
    thaw_cli_print_json_string(stdout, tensor.name);
    printf(", \"dtype\": \"%s\", \"shape\": %s}", thaw_dtype_name(tensor.dtype), shape);
  }
  printf("]");
}

/* Without the closing brace: the cost report may follow. */
static void print_json(const inspection *report) {
  const thaw_format_view *view = report->view;
  char hash[65];
  format_source_hash(view, hash);
  printf("{\"model\": ");
  thaw_cli_print_json_string(stdout, report->path);
  printf(", \"file_bytes\": %" PRIu64 ", \"format_version\": \"%u.%u\", \"flags\": %" PRIu32,
         view->size, view->major, view->minor, view->flags);
  printf(", \"producer\": ");
  thaw_cli_print_json_string(stdout, view->producer);
  printf(", \"converter\": ");
  thaw_cli_print_json_string(stdout, view->converter);
  printf(", \"source_hash\": \"%s\"", hash);
  print_tensors_json("inputs", report->model, thaw_model_input_count(report->model),
                     thaw_model_input);
  print_tensors_json("outputs", report->model, thaw_model_output_count(report->model),
                     thaw_model_output);
  printf(", \"node_count\": %" PRIu32 ", \"ops\": {", view->node_count);
  for (uint32_t i = 0; i < report->distinct_ops; i++)
    printf("%s\"%s\": %" PRIu32, i == 0 ? "" : ", ", report->ops[i].name, report->ops[i].count);
  printf("}, \"tensor_count\": %" PRIu32 ", \"constant_count\": %" PRIu32
         ", \"constant_bytes\": %" PRIu64 ", \"arena_bytes\": %" PRIu64
         ", \"session_bytes\": %zu, \"weights_checksum\": \"%s\"",
         view->tensor_count, report->constant_count, report->constant_bytes, view->arena_size,
         thaw_model_session_bytes(report->model), weights_check_names[report->weights]);
}

typedef struct inspect_options {
  bool verify, cost, json;
  unsigned long threads;
} inspect_options;

/* Calibrate, then print the cost report after the description. */
static int print_cost(const thaw_model *model, const inspect_options *options) {
  thaw_cost_rates rates;
  thaw_error error;
  thaw_cli_cost cost;
  if (thaw_cost_calibrate(model->kernels, &rates, &error) != THAW_OK) {
    thaw_cli_error("inspect", "%s", error.message);
    return THAW_EXIT_FAILURE;
  }
  if (!thaw_cli_cost_compute(model, &rates, (uint32_t)options->threads, &cost)) {
    thaw_cli_error("inspect", "out of memory");
    return THAW_EXIT_FAILURE;
  }
  if (options->json) {
    printf(", \"cost\": ");
    thaw_cli_cost_print_json(model, &rates, &cost);
  } else {
    thaw_cli_cost_print_text(model, &rates, &cost);
  }
  thaw_cli_cost_free(&cost);
  return THAW_EXIT_OK;
}

static int inspect_mapped_file(const char *path, const thaw_mapped_file *file,
                               const inspect_options *options) {
  thaw_format_view view;
  thaw_error error;
  thaw_status status = thaw_format_open(file->address, file->size, &view, &error);
  thaw_model *model = NULL;
  /* The mapping is page-aligned, so the runtime can use it in place for the public facts
   * (and the shape checks the format reader leaves to it). */
  if (status == THAW_OK)
    status = thaw_model_open_memory(file->address, file->size, 0, &model, &error);
  if (status != THAW_OK) {
    thaw_cli_file_error("inspect", path, &error);
    return THAW_EXIT_FAILURE;
  }

  inspection report = {.path = path, .view = &view, .model = model};
  count_ops_and_constants(&report);
  thaw_error verify_error;
  if (options->verify) {
    if (!(view.flags & THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM))
      report.weights = WEIGHTS_ABSENT;
    else if (thaw_format_verify_weights(&view, &verify_error) == THAW_OK)
      report.weights = WEIGHTS_OK;
    else
      report.weights = WEIGHTS_MISMATCH;
  }
  if (options->json)
    print_json(&report);
  else
    print_text(&report);
  int exit_status = options->cost ? print_cost(model, options) : THAW_EXIT_OK;
  if (options->json) printf("}\n");
  thaw_model_close(model);
  if (exit_status != THAW_EXIT_OK) return exit_status;

  if (report.weights == WEIGHTS_MISMATCH) {
    thaw_cli_file_error("inspect", path, &verify_error);
    return THAW_EXIT_FAILURE;
  }
  return THAW_EXIT_OK;
}

int thaw_cli_inspect(int argc, char **argv) {
  static const struct option long_options[] = {
      {"verify", no_argument, NULL, 'v'},
      {"cost", no_argument, NULL, 'c'},
      {"threads", required_argument, NULL, 't'},
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  inspect_options options = {.threads = 1};
  bool threads_given = false;
  opterr = 0;
  for (;;) {
    int option = getopt_long(argc, argv, ":h", long_options, NULL);
    if (option == -1) break;
    switch (option) {
      case 'v': options.verify = true; break;
      case 'c': options.cost = true; break;
      case 't':
        if (!thaw_cli_parse_count("inspect", "--threads", optarg, 1, 1024, &options.threads))
          return THAW_EXIT_USAGE;
        threads_given = true;
        break;
      case 'j': options.json = true; break;
      case 'h': fputs(inspect_help, stdout); return THAW_EXIT_OK;
      default: return thaw_cli_option_error("inspect", option, argv);
    }
  }
  if (threads_given && !options.cost)
    return thaw_cli_usage_error("inspect", "--threads applies to --cost only");
  if (argc == optind) return thaw_cli_usage_error("inspect", "missing MODEL.thaw");
  if (argc - optind > 1)
    return thaw_cli_usage_error("inspect", "expected one MODEL.thaw, got %d files",
                                argc - optind);
  const char *path = argv[optind];

  thaw_mapped_file file;
  thaw_error error;
  if (thaw_platform_map_file(path, &file, &error) != THAW_OK) {
    thaw_cli_file_error("inspect", path, &error);
    return THAW_EXIT_FAILURE;
  }
  int exit_status = inspect_mapped_file(path, &file, &options);
  thaw_platform_unmap_file(&file);
  return exit_status;
}
