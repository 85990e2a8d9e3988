/*
 * The converter's working graph, shared by its passes:
 *   import (ONNX protobuf -> values)  ->  lower (ONNX nodes -> thaw ops, shapes, folding)
 *   -> fuse (BatchNorm folding, bias/activation fusion, patterns)  ->  emit (formats writer).
 *
 * Values are tensors: graph inputs, constants (with their bytes) and activations. Nodes are
 * thaw ops (formats/format.h) in execution order; a pass removes a node by setting op to 0.
 */
#ifndef THAW_CONVERT_INTERNAL_H
#define THAW_CONVERT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "formats/format.h"
#include "kernels/kernels.h"
#include "onnx.pb-c.h"

#define CV_NONE UINT32_MAX

typedef struct cv_value {
  char *name;
  thaw_dtype dtype;
  uint32_t rank; /* 0 for an ONNX scalar */
  int64_t shape[THAW_MAX_RANK];
  uint64_t element_count;
  uint8_t *data;     /* constant bytes in `layout`, or NULL for a run-time value */
  uint32_t layout;   /* thaw_layout: PLAIN (row-major) until emit packs MatMul weights */
  uint32_t producer; /* node index, or CV_NONE */
  bool is_input, is_output;
} cv_value;

typedef union cv_attrs {
  thaw_conv_attrs conv;
  thaw_matmul_attrs matmul;
  thaw_permuted_matmul_attrs permuted_matmul;
  thaw_unary_attrs unary;
  thaw_binary_attrs binary;
  thaw_axis_attrs axis;
  thaw_layer_norm_attrs layer_norm;
  thaw_pool_attrs pool;
  thaw_slice_attrs slice;
  thaw_transpose_attrs transpose;
  thaw_resize_attrs resize;
  thaw_pad_attrs pad;
  thaw_reduce_attrs reduce;
  thaw_qs8_matmul_attrs qs8_matmul;
  thaw_qs8_conv_attrs qs8_conv;
  thaw_recurrent_attrs recurrent;
} cv_attrs;

typedef struct cv_node {
  uint32_t op; /* thaw_op; 0 once a pass removed the node */
  char *name;
  cv_attrs attrs;
  uint32_t *inputs; /* value ids; CV_NONE for an absent optional input */
  uint32_t input_count;
  uint32_t *outputs;
  uint32_t output_count;
} cv_node;

typedef struct cv_graph {
  cv_value *values;
  uint32_t value_count, value_capacity;
  cv_node *nodes;
  uint32_t node_count, node_capacity;
  /* ONNX name -> value id (open addressing); Identity-like nodes map several names to one. */
  struct cv_name_slot {
    const char *name; /* owned by `name_storage` entries or by a value */
    uint32_t value;
  } *names;
  uint32_t name_capacity, name_count;
  char **name_storage; /* alias names the map owns */
  uint32_t name_storage_count, name_storage_capacity;
  uint32_t *inputs, input_count;
  uint32_t *outputs, output_count;
  char **output_names; /* the ONNX names of the graph outputs, which the .thaw keeps */
  int64_t opset;
  char *producer;
  thaw_convert_report *report; /* never NULL inside the converter */
} cv_graph;

/* ---- graph.c-like helpers (convert.c) ---- */
void cv_graph_free(cv_graph *graph);
/* Add a value; `name` is copied. Returns CV_NONE on allocation failure. */
uint32_t cv_add_value(cv_graph *graph, const char *name, thaw_dtype dtype, uint32_t rank,
                      const int64_t *shape);
/* A fresh value named after `base` with a suffix that keeps names unique. */
uint32_t cv_add_derived_value(cv_graph *graph, const char *base, const char *suffix,
                              thaw_dtype dtype, uint32_t rank, const int64_t *shape);
/* Add a constant derived from `name` (a unique name made from it), owning a copy of `data`
 * (element_count * dtype size bytes). */
uint32_t cv_add_constant(cv_graph *graph, const char *name, thaw_dtype dtype, uint32_t rank,
                         const int64_t *shape, const void *data);
/* Append a node; input/output arrays are copied. Returns the node index or CV_NONE. */
uint32_t cv_add_node(cv_graph *graph, uint32_t op, const char *name, const cv_attrs *attrs,
                     const uint32_t *inputs, uint32_t input_count, const uint32_t *outputs,
                     uint32_t output_count);
/* Bind an ONNX name to a value. */
thaw_status cv_bind_name(cv_graph *graph, const char *name, uint32_t value, thaw_error *error);
uint32_t cv_lookup_name(const cv_graph *graph, const char *name);
/* Constant int8 or uint8 weights, a MatMul's B [K, N] or a Conv's W [M, C, kh, kw], less their
 * zero points (CV_NONE for none; one, or one per output column or channel), with the f32 scales
 * `scales` (one, or one per output), packed for the qs8 kernels as value `*packed`; *packed is
 * CV_NONE when the operands are not that, or a level less its zero point leaves [-127, 127], or
 * a scale is not finite and > 0. */
thaw_status cv_pack_integer_weights(cv_graph *graph, uint32_t levels, uint32_t zero_points,
                                    uint32_t scales, uint32_t *packed, thaw_error *error);
/* Bind every name bound since the graph held `first_binding` bindings (its
 * name_storage_count then) to `value` instead. */
void cv_rebind_names_from(cv_graph *graph, uint32_t first_binding, uint32_t value);
/* Product of dims with overflow checking; false when it overflows or a dim is negative. */
bool cv_element_count(uint32_t rank, const int64_t *shape, uint64_t *count);
/* Bytes of the value's data in its layout. */
uint64_t cv_value_bytes(const cv_value *value);
/* A few bytes of ONNX (ConstantOfShape, Expand, Range) can ask the converter to compute a
 * constant of terabytes. It computes at most CV_COMPUTED_CONSTANT_BYTES, or 4 times the bytes
 * of the constants among `inputs` (a Cast of float16 weights, a Transpose of a large
 * table); above that, the node is refused (THAW_STATUS_UNSUPPORTED) with a message saying so. */
#define CV_COMPUTED_CONSTANT_BYTES ((uint64_t)256 << 20)
thaw_status cv_check_computed_constant(const cv_graph *graph, const uint32_t *inputs,
                                       uint32_t input_count, uint64_t output_bytes,
                                       thaw_error *error);
/* Record an unsupported node in the report (the conversion fails after lowering). */
thaw_status cv_report_unsupported(cv_graph *graph, const char *node_name, const char *op_type,
                                  const char *reason_format, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- import.c ---- */
/* ONNX dtype code -> thaw dtype, 0 when thaw has no such dtype. */
thaw_dtype cv_dtype_from_onnx(int32_t onnx_type);
/* Decode a TensorProto into a malloc'ed row-major buffer (external data read from model_dir). */
thaw_status cv_read_tensor(const Onnx__TensorProto *tensor, const char *model_dir,
                           const char *what, thaw_dtype *dtype, uint32_t *rank,
                           int64_t shape[THAW_MAX_RANK], uint8_t **data, thaw_error *error);
/* Check the opsets, add initializers and inputs (shapes pinned from options). */
thaw_status cv_import(cv_graph *graph, const Onnx__ModelProto *model, const char *model_dir,
                      const thaw_convert_options *options, thaw_error *error);

/* ---- lower.c ---- */
/* Translate every ONNX node into thaw nodes, inferring shapes and folding constants. Unsupported
 * nodes are collected in the report; the call then fails with THAW_STATUS_UNSUPPORTED. */
thaw_status cv_lower(cv_graph *graph, const Onnx__GraphProto *onnx_graph, const char *model_dir,
                     thaw_error *error);

/* ---- fold.c ---- */
/* Evaluate node `node` (all inputs constant) by running it through the runtime, storing the
 * results as the outputs' constant data. */
thaw_status cv_fold_node(cv_graph *graph, const cv_node *node, thaw_error *error);

/* ---- uses.c: queries the fusion passes share ---- */
/* Who reads each value: a CSR index over the live nodes, built before a pass and valid until
 * the pass rewires a value. Graph outputs count as readers. */
typedef struct cv_uses {
  uint32_t *start;   /* value_count + 1 offsets into `readers` */
  uint32_t *readers; /* node indices */
  uint32_t *extra;   /* graph-output references per value */
} cv_uses;

thaw_status cv_uses_build(const cv_graph *graph, cv_uses *u, thaw_error *error);
void cv_uses_free(cv_uses *u);
/* Node inputs and graph outputs reading `value`. */
uint32_t cv_reader_count(const cv_uses *u, uint32_t value);
/* The only node reading `value`, or CV_NONE when there is not exactly one (or a graph output
 * reads it). */
uint32_t cv_sole_reader(const cv_graph *graph, const cv_uses *u, uint32_t value);
/* The live node producing `value`, or NULL. */
cv_node *cv_producer(const cv_graph *graph, uint32_t value);
/* The value of an f32 constant holding exactly one element, into *scalar; false otherwise. */
bool cv_constant_scalar(const cv_graph *graph, uint32_t value, float *scalar);

/* ---- fuse.c ---- */
thaw_status cv_fuse(cv_graph *graph, thaw_error *error);

/* ---- fuse_attention.c ---- */
/* Transposes around activation·activation MatMuls become PERMUTED_MATMUL strides, a constant
 * scale of attention scores moves into the Q projection's weights, and the mask into the
 * scores' bias. */
thaw_status cv_fuse_attention(cv_graph *graph, thaw_error *error);

/* ---- qdq.c ---- */
/* Run the QuantizeLinear -> DequantizeLinear -> Conv/MatMul <- DequantizeLinear(int8 weights)
 * pattern of pre-quantized models as QS8_CONV/QS8_MATMUL with static input quantization, and
 * fold the weight dequantizes left over. */
thaw_status cv_fuse_qdq(cv_graph *graph, thaw_error *error);

/* ---- quantize.c ---- */
/* --quantize int8 (thaw_convert_options): replace Conv/MatMul nodes whose weights are constant
 * by QS8_CONV/QS8_MATMUL reading packed int8 copies of them. */
thaw_status cv_quantize(cv_graph *graph, const thaw_convert_options *options, thaw_error *error);

/* ---- emit.c ---- */
/* Give graph outputs their ONNX names and their own buffers, drop dead nodes, and write with
 * the options' writer flags and state pairs. */
thaw_status cv_emit(cv_graph *graph, const uint8_t source_hash[32],
                    const thaw_convert_options *options, uint8_t **bytes, uint64_t *size,
                    thaw_error *error);

/* Add a value to a writer (an ONNX scalar becomes shape [1]; CONSTANT values carry their data). */
uint32_t cv_writer_add_value(thaw_writer *writer, const cv_value *value, uint32_t kind);

/* ---- sha256.c ---- */
void cv_sha256(const void *data, size_t size, uint8_t digest[32]);

#endif /* THAW_CONVERT_INTERNAL_H */
