/*
 * The runtime's view of an open model: the validated file, the decoded tensor directory and
 * one prepared node per graph node. Everything here is computed at open and immutable after,
 * so any number of sessions and threads share one model.
 */
#ifndef THAW_RUNTIME_MODEL_H
#define THAW_RUNTIME_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"
#include "kernels/kernels.h"
#include "runtime/platform.h"
#include "thaw.h"

/* A MATMUL as a sequence of GEMMs: one per index of the batch dims (row-major order), each
 * reading A and B at the accumulated batch strides and writing the next m*n block of Y. When
 * every batch shares one B (a weight matrix), the batches are folded into the GEMM's rows and
 * batch_rank is 0. */
typedef struct thaw_matmul_plan {
  thaw_gemm_params gemm;
  uint32_t batch_rank;
  size_t batch_count;
  size_t batch_shape[THAW_MAX_RANK];
  ptrdiff_t a_batch_stride[THAW_MAX_RANK], b_batch_stride[THAW_MAX_RANK]; /* elements; 0 reuses */
  size_t y_batch_stride;
} thaw_matmul_plan;

/* A node ready to run: its kernel parameters, derived from and checked against the shapes of
 * its tensors. Operands (inputs, then outputs) of all nodes are numbered consecutively
 * in node order: operand i of the node is model operand first_operand + i. */
typedef struct thaw_prepared_node {
  uint32_t op; /* thaw_op */
  const char *name;
  size_t first_operand;
  uint32_t input_count, output_count;
  /* Bytes of per-session scratch the node's kernel needs, as the model's kernel table says. */
  size_t scratch_bytes;
  union {
    thaw_conv2d_params conv2d;
    thaw_matmul_plan matmul;
    thaw_binary_params binary;
    struct {
      thaw_unary_params params;
      size_t count;
    } unary;
    thaw_pool2d_params pool2d;
    thaw_gather_params gather;
    thaw_pad_params pad;
    thaw_resize_params resize;
    struct {
      thaw_strided_copy_params params;
      ptrdiff_t input_byte_offset; /* where the first element read lies (Slice) */
    } strided_copy;
    struct {
      size_t element_size;
      thaw_broadcast iter;
    } where;
    struct {
      size_t outer, axis_size, inner;
    } axis; /* softmax, reduce mean (axis_size = reduced elements), channel affine */
    struct {
      size_t rows, cols;
      float epsilon;
    } layer_norm;
    struct {
      size_t channels, spatial;
    } global_pool;
    struct {
      size_t outer;
      const size_t *row_bytes; /* per part, inside the model's operand_row_bytes */
    } concat;                  /* and split */
    struct {
      bool is_view; /* output planned at the input's offset: nothing to do */
      size_t size;
    } reshape;
    struct {
      thaw_dtype from, to;
      size_t count;
    } cast;
    thaw_qs8_gemm_params qs8_matmul;
    thaw_quantize_params quantize; /* QuantizeLinear, DequantizeLinear */
    size_t dynamic_quantize_count; /* DynamicQuantizeLinear: X's elements */
    struct {
      thaw_conv2d_params conv2d;
      thaw_qs8_input input;
    } qs8_conv;
    struct {
      thaw_rnn_params params;
      uint32_t inputs, outputs; /* THAW_RECURRENT_INPUT_* and _OUTPUT_* bits */
    } recurrent; /* LSTM, GRU */
  } u;
} thaw_prepared_node;

struct thaw_model {
  thaw_format_view view;
  thaw_mapped_file mapping; /* nothing mapped for thaw_model_open_memory */
  const thaw_kernels *kernels;
  thaw_format_tensor *tensors; /* view.tensor_count */
  thaw_prepared_node *nodes;   /* view.node_count */
  size_t operand_count;        /* inputs plus outputs over all nodes */
  uint32_t *operand_tensors;   /* the tensor behind each operand */
  /* CONCAT/SPLIT: bytes each part contributes per outer row, indexed like operand_tensors. */
  size_t *operand_row_bytes;
  size_t scratch_bytes; /* the largest scratch any node needs */
};

/* Check node `index` against the op contract and the shapes of its tensors, filling
 * model->nodes[index] and its operands, numbered from `first_operand`, in
 * model->operand_tensors and operand_row_bytes. Refuses with THAW_STATUS_CORRUPT or
 * THAW_STATUS_UNSUPPORTED and a message naming the node. */
thaw_status thaw_prepare_node(thaw_model *model, uint32_t index, size_t first_operand,
                              thaw_error *error);

/* The kernels' form of an elementwise function of the file; UNSUPPORTED for an unknown one. */
thaw_status thaw_map_unary_attrs(const thaw_unary_attrs *attrs, thaw_unary_params *params);

/* thaw_prepare_node for the quantized ops (runtime/prepare_quant.c): the node's operands are
 * already in model->operand_tensors; `attrs` is the node's attribute blob. */
thaw_status thaw_prepare_qs8_matmul(thaw_model *model, thaw_prepared_node *node,
                                    const uint8_t *attrs, thaw_error *error);
thaw_status thaw_prepare_qs8_conv(thaw_model *model, thaw_prepared_node *node,
                                  const uint8_t *attrs, thaw_error *error);
/* QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (runtime/prepare_quant.c). */
thaw_status thaw_prepare_quantize_linear(thaw_model *model, thaw_prepared_node *node,
                                         const uint8_t *attrs, thaw_error *error);
thaw_status thaw_prepare_dynamic_quantize_linear(thaw_model *model, thaw_prepared_node *node,
                                                 thaw_error *error);
/* LSTM and GRU (runtime/recurrent.c): check the node's operands against the recurrent op
 * contract (FORMAT.md, "Recurrent ops") and fill node->u.recurrent and node->scratch_bytes. The
 * node's operands are already in model->operand_tensors. */
thaw_status thaw_prepare_recurrent(const thaw_model *model, thaw_prepared_node *node,
                                   const uint8_t *attrs, thaw_error *error);
/* Run a prepared LSTM or GRU node over its operands (inputs, then outputs). */
void thaw_run_recurrent(const thaw_kernels *kernels, const thaw_prepared_node *node,
                        void *const *operand, void *scratch);

/* The model a session runs. */
const thaw_model *thaw_session_model(const thaw_session *session);
/* After a run that returned THAW_OK: copy every state output into its state input
 * (runtime/state.c). */
void thaw_session_carry_state(thaw_session *session);

/* The tensor behind model input (output false) or output `index`; INVALID_ARGUMENT when
 * `index` is out of range. */
thaw_status thaw_model_io_tensor(const thaw_model *model, bool output, size_t index, uint32_t *id);

/* Describe a model tensor for the public API, its bytes at `data` (NULL in descriptions). */
void thaw_describe_tensor(const thaw_format_tensor *tensor, void *data, thaw_tensor *description);

#endif /* THAW_RUNTIME_MODEL_H */
