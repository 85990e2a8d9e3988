/* `thaw convert IN.onnx OUT.thaw [--input-shape NAME=D0,D1,...]... [--state OUT=IN,...]...
 * [--quantize int8 [--quantize-exclude NODE,...] [--report --report-inputs DIR]] [--json]
 * [--help]` */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "convert_cli.h"
#include "formats/format.h"
#include "quantize_report.h"

enum { EXIT_CONVERT_OK = 0, EXIT_CONVERT_FAILURE = 1, EXIT_CONVERT_USAGE = 2 };

static const char usage_text[] =
    "usage: thaw convert IN.onnx OUT.thaw [--input-shape NAME=D0,D1,...]...\n"
    "                    [--state OUTPUT=INPUT,...]...\n"
    "                    [--quantize int8 [--quantize-exclude NODE,...]\n"
    "                    [--report --report-inputs DIR]] [--json]\n"
    "\n"
    "Convert an ONNX model (opsets 9-17) into a .thaw file: shapes inferred, constants and\n"
    "shape sub-graphs folded, BatchNorm/bias/activations fused, arena planned.\n"
    "\n"
    "  --input-shape NAME=D0,D1,...  pin the shape of input NAME (needed for dynamic dims)\n"
    "  --state OUTPUT=INPUT,...      carry graph output OUTPUT into graph input INPUT after\n"
    "                                every run (recurrent and streaming state)\n"
    "  --quantize int8               int8 weights (per output channel) for Conv/Gemm/MatMul,\n"
    "                                inputs quantized at run time; embedding tables (a\n"
    "                                Gather of constant rows) int8 with a scale per row\n"
    "  --quantize-exclude NODE,...   keep these ONNX nodes in f32 (repeatable)\n"
    "  --report                      run the f32 and the int8 model on the inputs of\n"
    "                                --report-inputs and print, per output, their cosine\n"
    "                                similarity (and top-1 agreement for [N, classes])\n"
    "  --report-inputs DIR           one subfolder per sample (or DIR itself), holding\n"
    "                                NAME.npy for every model input NAME\n"
    "  --json                        print the summary as one JSON object\n"
    "  --help                        show this help\n";

static int usage_error(const char *format, const char *detail) {
  fprintf(stderr, "thaw convert: ");
  fprintf(stderr, format, detail);
  fprintf(stderr, "\n(see thaw convert --help)\n");
  return EXIT_CONVERT_USAGE;
}

/* The f32 model converted again in memory next to the int8 one just written, both run on the
 * samples of `inputs_dir`; the agreement goes to stdout, an error to stderr. */
static thaw_status accuracy_report(const char *onnx_path, const char *thaw_path,
                                   const thaw_convert_options *quantized,
                                   const char *inputs_dir) {
  thaw_convert_options f32_options = *quantized;
  f32_options.quantize_int8 = false;
  f32_options.quantize_exclude_count = 0;
  uint8_t *f32_bytes = NULL;
  uint64_t f32_size = 0;
  thaw_model *models[2] = {NULL, NULL};
  thaw_output_agreement *agreements = NULL;
  size_t count = 0, samples = 0;
  thaw_error error;
  thaw_status status =
      thaw_convert_onnx_file(onnx_path, &f32_options, &f32_bytes, &f32_size, NULL, &error);
  if (status == THAW_OK && f32_size > SIZE_MAX)
    status = thaw_error_set(&error, THAW_STATUS_LIMIT, "the f32 model does not fit in memory");
  if (status == THAW_OK)
    status = thaw_model_open_memory(f32_bytes, (size_t)f32_size, 0, &models[0], &error);
  if (status == THAW_OK) status = thaw_model_open(thaw_path, 0, &models[1], &error);
  if (status == THAW_OK)
    status = thaw_compare_models(models[0], models[1], inputs_dir, &agreements, &count, &samples,
                                 &error);
  if (status == THAW_OK)
    thaw_output_agreements_print(agreements, count, samples, stdout);
  else
    fprintf(stderr, "thaw convert: --report: %s: %s\n", thaw_status_str(status), error.message);
  free(agreements);
  thaw_model_close(models[0]);
  thaw_model_close(models[1]);
  free(f32_bytes);
  return status;
}

int thaw_cli_convert(int argc, char **argv) {
  static const struct option options[] = {
      {"input-shape", required_argument, NULL, 's'},
      {"state", required_argument, NULL, 'p'},
      {"json", no_argument, NULL, 'j'},
      {"quantize", required_argument, NULL, 'q'},
      {"quantize-exclude", required_argument, NULL, 'x'},
      {"report", no_argument, NULL, 'r'},
      {"report-inputs", required_argument, NULL, 'i'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  thaw_input_shape *shapes = calloc((size_t)argc + 1, sizeof(thaw_input_shape));
  /* Every state pair has its own '=' somewhere on the command line. */
  size_t state_capacity = 1;
  for (int i = 0; i < argc; ++i)
    for (const char *c = argv[i]; *c; ++c) state_capacity += *c == '=';
  thaw_state_pair *states = calloc(state_capacity, sizeof(thaw_state_pair));
  if (!shapes || !states) {
    fprintf(stderr, "thaw convert: out of memory\n");
    free(shapes);
    free(states);
    return EXIT_CONVERT_FAILURE;
  }
  size_t shape_count = 0, state_count = 0;
  /* The excluded names point into argv, split at the commas in place; there are at most as
   * many as argument bytes. */
  size_t exclude_capacity = 0;
  for (int i = 0; i < argc; i++) exclude_capacity += strlen(argv[i]) + 1;
  const char **excluded = calloc(exclude_capacity + 1, sizeof(const char *));
  size_t excluded_count = 0;
  bool quantize_int8 = false;
  if (!excluded) {
    fprintf(stderr, "thaw convert: out of memory\n");
    free(shapes);
    free(states);
    return EXIT_CONVERT_FAILURE;
  }
  bool json = false, report_accuracy = false;
  const char *report_inputs = NULL;
  int result = EXIT_CONVERT_OK;
  optind = 1;
  opterr = 0;
  for (int option; result == EXIT_CONVERT_OK && (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
    switch (option) {
      case 's': {
        thaw_error error;
        if (thaw_convert_parse_input_shape(optarg, &shapes[shape_count], &error) != THAW_OK)
          result = usage_error("%s", error.message);
        else
          shape_count++;
        break;
      }
      case 'p': {
        thaw_error error;
        if (thaw_convert_parse_states(optarg, states, state_capacity, &state_count, &error) !=
            THAW_OK)
          result = usage_error("%s", error.message);
        break;
      }
      case 'j':
        json = true;
        break;
      case 'q':
        if (strcmp(optarg, "int8") != 0)
          result = usage_error("--quantize takes int8, not \"%s\"", optarg);
        quantize_int8 = true;
        break;
      case 'x':
        for (char *name = strtok(optarg, ","); name != NULL; name = strtok(NULL, ","))
          excluded[excluded_count++] = name;
        break;
      case 'r':
        report_accuracy = true;
        break;
      case 'i':
        report_inputs = optarg;
        break;
      case 'h':
        fputs(usage_text, stdout);
        free(shapes);
        free(excluded);
        free(states);
        return EXIT_CONVERT_OK;
      case ':':
        result = usage_error("option %s needs a value", argv[optind - 1]);
        break;
      default:
        result = usage_error("unknown option %s", argv[optind - 1]);
        break;
    }
  }
  if (result == EXIT_CONVERT_OK && argc - optind != 2)
    result = usage_error("%s", "expected IN.onnx and OUT.thaw");
  if (result == EXIT_CONVERT_OK && excluded_count != 0 && !quantize_int8)
    result = usage_error("%s", "--quantize-exclude needs --quantize int8");
  if (result == EXIT_CONVERT_OK && report_accuracy != (report_inputs != NULL))
    result = usage_error("%s", "--report and --report-inputs DIR go together");
  if (result == EXIT_CONVERT_OK && report_accuracy && (!quantize_int8 || json))
    result = usage_error("%s", "--report needs --quantize int8, and prints text (no --json)");
  if (result != EXIT_CONVERT_OK) {
    free(shapes);
    free(excluded);
    free(states);
    return result;
  }
  const char *onnx_path = argv[optind], *thaw_path = argv[optind + 1];
  thaw_convert_options convert_options = {.input_shapes = shapes,
                                          .input_shape_count = shape_count,
                                          .states = states,
                                          .state_count = state_count,
                                          .writer_flags = THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM,
                                          .quantize_int8 = quantize_int8,
                                          .quantize_exclude = excluded,
                                          .quantize_exclude_count = excluded_count};
  thaw_convert_report report;
  thaw_error error;
  thaw_status status =
      thaw_convert_onnx_file_to_file(onnx_path, thaw_path, &convert_options, &report, &error);
  if (status == THAW_OK) {
    thaw_convert_report_print(&report, json, stdout);
    if (report_accuracy &&
        accuracy_report(onnx_path, thaw_path, &convert_options, report_inputs) != THAW_OK) {
      result = EXIT_CONVERT_FAILURE;
    }
  } else if (report.unsupported_count) {
    fprintf(stderr, "thaw convert: %s: %zu node%s cannot be converted:\n", onnx_path,
            report.unsupported_count, report.unsupported_count == 1 ? "" : "s");
    for (size_t i = 0; i < report.unsupported_count; ++i)
      fprintf(stderr, "node \"%s\" (%s): %s\n", report.unsupported[i].node_name,
              report.unsupported[i].op_type, report.unsupported[i].reason);
    result = EXIT_CONVERT_FAILURE;
  } else {
    fprintf(stderr, "thaw convert: %s: %s: %s\n", onnx_path, thaw_status_str(status),
            error.message);
    result = EXIT_CONVERT_FAILURE;
  }
  thaw_convert_report_free(&report);
  free(shapes);
  free(excluded);
  free(states);
  return result;
}
