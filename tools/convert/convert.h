/*
 * The ONNX -> .thaw converter as a library, shared by `thaw convert`, the tests and the
 * conformance runner. Everything expensive happens here, offline (DESIGN.md §1): shape
 * inference with pinned input shapes, constant folding (shape sub-graphs included), BatchNorm
 * folding, per-channel scale/bias and activation fusion, LayerNorm/GELU/HardSwish pattern
 * recognition, arena planning and weight layout (through the formats writer).
 *
 *     thaw_input_shape shape = {.name = "input", .rank = 4, .dims = {1, 3, 224, 224}};
 *     thaw_convert_options options = {.input_shapes = &shape, .input_shape_count = 1};
 *     thaw_convert_report report;
 *     thaw_error error;
 *     if (thaw_convert_onnx_file_to_file("m.onnx", "m.thaw", &options, &report, &error) != THAW_OK)
 *       fprintf(stderr, "%s\n", error.message);  // report.unsupported lists every bad node
 *     thaw_convert_report_free(&report);
 */
#ifndef THAW_CONVERT_H
#define THAW_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thaw.h"

/* A value for a model input's shape, replacing the ONNX declaration (dynamic dims included).
 * The rank must match the model's declaration. */
typedef struct thaw_input_shape {
  const char *name;
  uint32_t rank;
  int64_t dims[THAW_MAX_RANK];
} thaw_input_shape;

/* A state pair (`--state OUTPUT=INPUT`): after every run, graph output `output` is carried into
 * graph input `input` (see thaw.h, "State that outlives a run"). The names are the ONNX graph's;
 * both tensors must have the same dtype and shape. */
typedef struct thaw_state_pair {
  const char *output, *input;
} thaw_state_pair;

typedef struct thaw_convert_options {
  const thaw_input_shape *input_shapes; /* may be NULL when input_shape_count is 0 */
  size_t input_shape_count;
  const thaw_state_pair *states; /* may be NULL when state_count is 0 */
  size_t state_count;
  /* Flags for the writer, e.g. THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM (formats/format.h). */
  uint32_t writer_flags;
  /* --quantize int8: Conv (one group) and MatMul/Gemm weights known offline become symmetric
   * per-output-channel int8, their inputs quantized at run time; nodes named in
   * quantize_exclude (ONNX node names) stay f32, as does everything else. */
  bool quantize_int8;
  const char *const *quantize_exclude;
  size_t quantize_exclude_count;
} thaw_convert_options;

/* What each pass did, counted in ONNX nodes (the report's `counts` is indexed by these). */
typedef enum thaw_convert_count {
  THAW_CONVERT_FOLDED_CONSTANT = 0,  /* nodes evaluated at conversion time */
  THAW_CONVERT_DROPPED_IDENTITY,     /* Identity, Dropout and no-op Reshape/Cast/... removed */
  THAW_CONVERT_FOLDED_BATCH_NORM,    /* BatchNormalization folded into Conv/Gemm/MatMul */
  THAW_CONVERT_BATCH_NORM_AFFINE,    /* BatchNormalization kept as a channel affine op */
  THAW_CONVERT_FUSED_BIAS,           /* bias Add folded into Conv/MatMul */
  THAW_CONVERT_FUSED_ACTIVATION,     /* activation fused into Conv/MatMul */
  THAW_CONVERT_LAYER_NORM_PATTERN,   /* decomposed LayerNormalization recognised */
  THAW_CONVERT_GELU_PATTERN,         /* decomposed GELU recognised */
  THAW_CONVERT_SILU_PATTERN,         /* x * Sigmoid(x) recognised */
  THAW_CONVERT_HARD_SWISH_PATTERN,   /* x * HardSigmoid(x) recognised */
  THAW_CONVERT_FUSED_SCALE,          /* Mul by a per-channel constant folded into Conv/MatMul */
  THAW_CONVERT_HARD_SWISH_CLIP,      /* x * Clip(x + 3, 0, 6) / 6 recognised as HardSwish */
  THAW_CONVERT_MERGED_AFFINE,        /* per-channel Mul/Add merged into one channel affine op */
  THAW_CONVERT_AFFINE_INTO_NEXT,     /* per-channel Mul/Add/affine folded into the Conv after it */
  THAW_CONVERT_COUNT_KINDS
} thaw_convert_count;

/* "folded_constant", "dropped_identity", ... (also the JSON keys); NULL when out of range. */
const char *thaw_convert_count_name(thaw_convert_count kind);

/* One node the converter cannot handle: why, in a sentence naming the attribute or dtype. */
typedef struct thaw_convert_unsupported {
  char *node_name; /* the ONNX node name, or "#<index>" for an unnamed node */
  char *op_type;
  char *reason;    /* e.g. "unsupported op", "attribute mode=\"cubic\" is not supported" */
} thaw_convert_unsupported;

typedef struct thaw_convert_report {
  uint32_t nodes_in; /* ONNX nodes in the graph */
  uint32_t ops_out;  /* nodes in the .thaw graph */
  uint32_t counts[THAW_CONVERT_COUNT_KINDS];
  uint64_t weights_bytes;
  uint64_t packed_weights_bytes; /* of weights_bytes, MatMul weights packed for the GEMM */
  uint64_t arena_bytes;      /* planned arena, buffers reused by liveness */
  uint64_t activation_bytes; /* sum of all activation sizes, without reuse */
  uint64_t file_bytes;
  /* --quantize int8: the ops made int8, and their weights' bytes as f32 and as packed int8. */
  uint32_t quantized_ops;
  uint64_t quantized_f32_bytes, quantized_int8_bytes;
  double seconds; /* wall time of the whole conversion */
  /* Filled when conversion fails with THAW_STATUS_UNSUPPORTED: every offending node at once. */
  thaw_convert_unsupported *unsupported;
  size_t unsupported_count;
} thaw_convert_report;

/* Convert ONNX bytes. External-data tensors are read relative to `model_dir`; when it is NULL
 * a model with external data is refused. `*thaw_bytes` (64-byte aligned, ready for
 * thaw_model_open_memory) is freed by the caller with free(). `options` and `report` may be
 * NULL; a non-NULL report is always initialised and must be released with
 * thaw_convert_report_free, whether the conversion succeeded or not. */
thaw_status thaw_convert_onnx_memory(const void *onnx_bytes, size_t onnx_size,
                                     const char *model_dir, const thaw_convert_options *options,
                                     uint8_t **thaw_bytes, uint64_t *thaw_size,
                                     thaw_convert_report *report, thaw_error *error);

/* Convert the ONNX file at `onnx_path` (external data next to it) into memory. */
thaw_status thaw_convert_onnx_file(const char *onnx_path, const thaw_convert_options *options,
                                   uint8_t **thaw_bytes, uint64_t *thaw_size,
                                   thaw_convert_report *report, thaw_error *error);

/* Convert `onnx_path` and write `thaw_path` through a temporary name and a rename: a failed
 * conversion never leaves a partial file. */
thaw_status thaw_convert_onnx_file_to_file(const char *onnx_path, const char *thaw_path,
                                           const thaw_convert_options *options,
                                           thaw_convert_report *report, thaw_error *error);

/* Free what a report owns (the unsupported list); the report itself stays usable (zeroed). */
void thaw_convert_report_free(thaw_convert_report *report);

/* The human summary (several lines), or one JSON object on one line when `json` is true. */
void thaw_convert_report_print(const thaw_convert_report *report, bool json, FILE *stream);

/* Parse "NAME=D0,D1,..." (the --input-shape syntax). `text` is modified in place: the '='
 * becomes a NUL and shape->name points into `text`, which must outlive the shape. */
thaw_status thaw_convert_parse_input_shape(char *text, thaw_input_shape *shape,
                                           thaw_error *error);

/* Parse "OUT=IN[,OUT=IN]..." (the --state syntax) into up to `capacity` pairs, appended at
 * pairs[*count]. `text` is modified in place and must outlive the pairs. */
thaw_status thaw_convert_parse_states(char *text, thaw_state_pair *pairs, size_t capacity,
                                      size_t *count, thaw_error *error);

#endif /* THAW_CONVERT_H */
