/* Sessions: one allocation per session, and the executor that walks the prepared nodes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/model.h"

/* THAW_PROFILE: where thaw_session_run spends its time, per op type. */
typedef struct op_profile {
  double seconds;
  uint64_t nodes; /* node executions, over all runs */
} op_profile;

struct thaw_session {
  const thaw_model *model;
  uint8_t *arena;
  void *scratch; /* model->scratch_bytes, shared by the nodes: each uses it only while it runs */
  /* The bytes behind every operand of every node, resolved once at creation. */
  void **operands;
  /* THAW_OP_MAX + 1 entries when THAW_PROFILE was set at creation, else NULL. */
  op_profile *profile;
  uint64_t profiled_runs;
  /* False while the outputs hold the remains of a run that stopped early. */
  bool outputs_are_results;
};

/* Where each part lives inside the session's single allocation. */
typedef struct session_layout {
  size_t operands_at, arena_at, scratch_at, profile_at, total;
} session_layout;

/* Append `bytes` at the next `alignment` boundary after *end; false on overflow. */
static bool append_region(size_t *end, uint64_t bytes, size_t alignment, size_t *start) {
  size_t aligned;
  if (bytes > SIZE_MAX || __builtin_add_overflow(*end, alignment - 1, &aligned)) return false;
  *start = aligned & ~(alignment - 1);
  return !__builtin_add_overflow(*start, (size_t)bytes, end);
}

/* False when the session would not fit in the address space. */
static bool plan_session(const thaw_model *model, bool profiled, session_layout *layout) {
  size_t operand_bytes;
  layout->total = sizeof(struct thaw_session); /* the session itself comes first */
  return !__builtin_mul_overflow(model->operand_count, sizeof(void *), &operand_bytes) &&
         append_region(&layout->total, operand_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->operands_at) &&
         append_region(&layout->total, model->view.arena_size, THAW_FORMAT_ARENA_ALIGNMENT,
                       &layout->arena_at) &&
         append_region(&layout->total, model->scratch_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->scratch_at) &&
         append_region(&layout->total, profiled ? (THAW_OP_MAX + 1) * sizeof(op_profile) : 0,
                       THAW_PLATFORM_ALIGNMENT, &layout->profile_at);
}

size_t thaw_model_session_bytes(const thaw_model *model) {
  session_layout layout;
  if (model == NULL || !plan_session(model, false, &layout)) return 0;
  return layout.total;
}

static void *tensor_data(const thaw_session *session, uint32_t id) {
  const thaw_format_tensor *tensor = &session->model->tensors[id];
  if (tensor->kind == THAW_TENSOR_ACTIVATION) return session->arena + tensor->offset;
  /* Constants stay in the read-only file image; preparation proved no kernel writes them. */
  return (void *)(session->model->view.bytes + tensor->offset);
}

thaw_status thaw_session_create(const thaw_model *model, const thaw_session_options *options,
                                thaw_session **session, thaw_error *error) {
  if (session != NULL) *session = NULL;
  if (model == NULL || session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_create: model and session must not be NULL");
  }
  /* Read once per session, so a run never looks at the environment. */
  const bool profiled = getenv("THAW_PROFILE") != NULL;
  session_layout layout;
  if (!plan_session(model, profiled, &layout)) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "a session with a %" PRIu64 "-byte arena does not fit in memory",
                          model->view.arena_size);
  }
  if (options != NULL && options->max_bytes != 0 && layout.total > options->max_bytes) {
    return thaw_error_set(error, THAW_STATUS_LIMIT,
                          "a session needs %zu bytes (a %" PRIu64 "-byte arena and %" PRIu64
                          " bytes of kernel scratch), over the limit of %zu",
                          layout.total, model->view.arena_size, (uint64_t)model->scratch_bytes,
                          options->max_bytes);
  }
  uint8_t *block = thaw_platform_aligned_alloc(layout.total);
  if (block == NULL) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "cannot allocate %zu bytes for a session", layout.total);
  }
  thaw_session *result = (thaw_session *)block;
  result->model = model;
  result->operands = (void **)(block + layout.operands_at);
  result->arena = block + layout.arena_at;
  result->scratch = block + layout.scratch_at;
  result->profile = profiled ? (op_profile *)(block + layout.profile_at) : NULL;
  result->profiled_runs = 0;
  result->outputs_are_results = true;
  if (profiled) memset(result->profile, 0, (THAW_OP_MAX + 1) * sizeof(op_profile));
  for (size_t i = 0; i < model->operand_count; i++) {
    result->operands[i] = tensor_data(result, model->operand_tensors[i]);
  }
  thaw_session_state_reset(result);
  *session = result;
  return THAW_OK;
}

/* The THAW_PROFILE report, on stderr: time per run and share of each op type. */
static void print_profile(const thaw_session *session) {
  double total = 0;
  for (uint32_t op = 0; op <= THAW_OP_MAX; op++) total += session->profile[op].seconds;
  fprintf(stderr, "thaw profile (%s kernels): %" PRIu64 " runs, %.3f ms per run\n",
          session->model->kernels->isa, session->profiled_runs,
          session->profiled_runs > 0 ? 1e3 * total / (double)session->profiled_runs : 0.0);
  if (session->profiled_runs == 0 || total <= 0) return;
  for (uint32_t op = 0; op <= THAW_OP_MAX; op++) {
    const op_profile *entry = &session->profile[op];
    if (entry->nodes == 0) continue;
    fprintf(stderr, "  %-18s %4" PRIu64 " nodes  %9.3f ms per run  %5.1f %%\n",
            thaw_op_name(op), entry->nodes / session->profiled_runs,
            1e3 * entry->seconds / (double)session->profiled_runs,
            100.0 * entry->seconds / total);
  }
}

void thaw_session_destroy(thaw_session *session) {
  if (session != NULL && session->profile != NULL) print_profile(session);
  thaw_platform_free(session);
}

const thaw_model *thaw_session_model(const thaw_session *session) { return session->model; }

static thaw_status describe_io(thaw_session *session, bool output, size_t index,
                               thaw_tensor *tensor) {
  uint32_t id;
  if (session == NULL || tensor == NULL ||
      thaw_model_io_tensor(session->model, output, index, &id) != THAW_OK) {
    return THAW_STATUS_INVALID_ARGUMENT;
  }
  thaw_describe_tensor(&session->model->tensors[id], tensor_data(session, id), tensor);
  return THAW_OK;
}

thaw_status thaw_session_input(thaw_session *session, size_t index, thaw_tensor *tensor) {
  return describe_io(session, false, index, tensor);
}

thaw_status thaw_session_output(thaw_session *session, size_t index, thaw_tensor *tensor) {
  if (session != NULL && !session->outputs_are_results) return THAW_STATUS_NO_RESULT;
  return describe_io(session, true, index, tensor);
}

/* One GEMM per batch index, walking the batch dims like an odometer so no index is divided
 * out at run time. */
static void run_matmul(const thaw_kernels *kernels, const thaw_matmul_plan *plan, const float *a,
                       const float *b, const float *bias, float *y, void *scratch) {
  size_t index[THAW_MAX_RANK] = {0};
  ptrdiff_t a_offset = 0, b_offset = 0;
  for (size_t batch = 0; batch < plan->batch_count; batch++) {
    kernels->f32_gemm(&plan->gemm, a + a_offset, b + b_offset, bias,
                      y + batch * plan->y_batch_stride, scratch);
    for (uint32_t d = plan->batch_rank; d-- > 0;) {
      a_offset += plan->a_batch_stride[d];
      b_offset += plan->b_batch_stride[d];
      if (++index[d] < plan->batch_shape[d]) break;
      a_offset -= plan->a_batch_stride[d] * (ptrdiff_t)plan->batch_shape[d];
      b_offset -= plan->b_batch_stride[d] * (ptrdiff_t)plan->batch_shape[d];
      index[d] = 0;
    }
  }
}

/* Run one node. It fails only on bad data the file could not rule out: a Gather index out
 * of range. */
static thaw_status run_node(const thaw_kernels *kernels, const thaw_prepared_node *node,
                            void *const *operand, void *scratch, thaw_error *error) {
  void *y = operand[node->input_count];
  switch ((thaw_op)node->op) {
    case THAW_OP_CONV:
      kernels->f32_conv2d(&node->u.conv2d, operand[0], operand[1],
                          node->input_count > 2 ? operand[2] : NULL, y, scratch);
      break;
    case THAW_OP_CONV_TRANSPOSE:
      kernels->f32_conv_transpose2d(&node->u.conv2d, operand[0], operand[1],
                                    node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_MATMUL:
      run_matmul(kernels, &node->u.matmul, operand[0], operand[1],
                 node->input_count > 2 ? operand[2] : NULL, y, scratch);
      break;
    case THAW_OP_QS8_MATMUL:
      kernels->qs8_gemm(&node->u.qs8_matmul, operand[0], operand[1],
                        node->input_count > 2 ? operand[2] : NULL, y, scratch);
      break;
    case THAW_OP_QS8_CONV:
      kernels->qs8_conv2d(&node->u.qs8_conv.conv2d, &node->u.qs8_conv.input, operand[0],
                          operand[1], node->input_count > 2 ? operand[2] : NULL, y, scratch);
      break;
    case THAW_OP_BINARY:
      kernels->f32_binary(&node->u.binary, operand[0], operand[1], y);
      break;
    case THAW_OP_UNARY:
      kernels->f32_unary(&node->u.unary.params, node->u.unary.count, operand[0], y);
      break;
    case THAW_OP_SOFTMAX:
      kernels->f32_softmax(node->u.axis.outer, node->u.axis.axis_size, node->u.axis.inner,
                           operand[0], y);
      break;
    case THAW_OP_LAYER_NORM:
      kernels->f32_layer_norm(node->u.layer_norm.rows, node->u.layer_norm.cols,
                              node->u.layer_norm.epsilon, operand[0], operand[1],
                              node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_MAX_POOL:
      kernels->f32_max_pool2d(&node->u.pool2d, operand[0], y);
      break;
    case THAW_OP_AVERAGE_POOL:
      kernels->f32_average_pool2d(&node->u.pool2d, operand[0], y);
      break;
    case THAW_OP_GLOBAL_AVERAGE_POOL:
      kernels->f32_global_average_pool(node->u.global_pool.channels, node->u.global_pool.spatial,
                                       operand[0], y);
      break;
    case THAW_OP_CONCAT:
      kernels->concat(node->u.concat.outer, node->input_count, node->u.concat.row_bytes,
                      (const void *const *)operand, y);
      break;
    case THAW_OP_SPLIT:
      kernels->split(node->u.concat.outer, node->output_count, node->u.concat.row_bytes, operand[0],
                     &operand[1]);
      break;
    case THAW_OP_SLICE:
    case THAW_OP_TRANSPOSE:
    case THAW_OP_EXPAND:
      kernels->strided_copy(&node->u.strided_copy.params,
                            (const uint8_t *)operand[0] + node->u.strided_copy.input_byte_offset,
                            y);
      break;
    case THAW_OP_RESHAPE:
      if (!node->u.reshape.is_view) memcpy(y, operand[0], node->u.reshape.size);
      break;
    case THAW_OP_GATHER: {
      int64_t bad_index;
      if (!kernels->gather(&node->u.gather, operand[0], operand[1], y, &bad_index)) {
        return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "node \"%s\" (Gather): index %" PRId64 " is outside [-%zu, %zu)",
                              node->name, bad_index, node->u.gather.axis_size,
                              node->u.gather.axis_size);
      }
      break;
    }
    case THAW_OP_RESIZE:
      kernels->f32_resize(&node->u.resize, operand[0], y);
      break;
    case THAW_OP_PAD:
      kernels->f32_pad(&node->u.pad, operand[0], y);
      break;
    case THAW_OP_REDUCE_MEAN:
      kernels->f32_reduce_mean(node->u.axis.outer, node->u.axis.axis_size, node->u.axis.inner,
                               operand[0], y);
      break;
    case THAW_OP_CAST:
      kernels->cast(node->u.cast.from, node->u.cast.to, node->u.cast.count, operand[0], y);
      break;
    case THAW_OP_WHERE:
      kernels->where(node->u.where.element_size, &node->u.where.iter, operand[0], operand[1],
                     operand[2], y);
      break;
    case THAW_OP_CHANNEL_AFFINE:
      kernels->f32_channel_affine(node->u.axis.outer, node->u.axis.axis_size, node->u.axis.inner,
                                  operand[0], operand[1], operand[2], y);
      break;
    case THAW_OP_QUANTIZE_LINEAR:
      kernels->quantize_linear(&node->u.quantize, operand[0], operand[1],
                               node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_DEQUANTIZE_LINEAR:
      kernels->dequantize_linear(&node->u.quantize, operand[0], operand[1],
                                 node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_DYNAMIC_QUANTIZE_LINEAR:
      kernels->dynamic_quantize_linear(node->u.dynamic_quantize_count, operand[0], y,
                                       operand[2], operand[3]);
      break;
    case THAW_OP_LSTM:
    case THAW_OP_GRU:
      thaw_run_recurrent(kernels, node, operand, scratch);
      break;
  }
  return THAW_OK;
}

/* Why the run must stop now, or THAW_OK. */
static thaw_status stop_reason(const thaw_run_options *options) {
  if (options->cancel_flag != NULL && __atomic_load_n(options->cancel_flag, __ATOMIC_RELAXED)) {
    return THAW_STATUS_CANCELLED;
  }
  if (options->deadline_ns != 0 && thaw_monotonic_ns() >= options->deadline_ns) {
    return THAW_STATUS_DEADLINE;
  }
  return THAW_OK;
}

thaw_status thaw_session_run(thaw_session *session, const thaw_run_options *options,
                             thaw_error *error) {
  if (session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_run: session must not be NULL");
  }
  static const thaw_run_options defaults = {0};
  if (options == NULL) options = &defaults;
  const thaw_model *model = session->model;
  op_profile *const profile = session->profile;
  session->outputs_are_results = false;
  for (uint32_t n = 0; n < model->view.node_count; n++) {
    const thaw_prepared_node *node = &model->nodes[n];
    thaw_status status = stop_reason(options);
    if (status != THAW_OK) {
      return thaw_error_set(error, status, "the run stopped before node %" PRIu32 " of %" PRIu32
                            " (\"%s\"): %s", n, model->view.node_count, node->name,
                            status == THAW_STATUS_CANCELLED ? "its cancel flag was set"
                                                            : "its deadline passed");
    }
    const uint64_t start = profile != NULL ? thaw_monotonic_ns() : 0;
    status = run_node(model->kernels, node, &session->operands[node->first_operand],
                      session->scratch, error);
    if (status != THAW_OK) return status;
    if (profile != NULL) {
      profile[node->op].seconds += 1e-9 * (double)(thaw_monotonic_ns() - start);
      profile[node->op].nodes++;
    }
  }
  if (profile != NULL) session->profiled_runs++;
  session->outputs_are_results = true;
  thaw_session_carry_state(session);
  return THAW_OK;
}
