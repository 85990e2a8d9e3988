/* Sessions: one allocation per session, and the executor that walks the prepared nodes. */
#include <inttypes.h>
#include <string.h>

#include "runtime/model.h"

struct thaw_session {
  const thaw_model *model;
  uint8_t *arena;
  void *scratch; /* model->scratch_bytes for kernels that need it; the scalar ones do not */
  /* The bytes behind every operand of every node, resolved once at creation. */
  void **operands;
};

/* Where each part lives inside the session's single allocation. */
typedef struct session_layout {
  size_t operands_at, arena_at, scratch_at, total;
} session_layout;

/* Append `bytes` at the next `alignment` boundary after *end; false on overflow. */
static bool append_region(size_t *end, uint64_t bytes, size_t alignment, size_t *start) {
  size_t aligned;
  if (bytes > SIZE_MAX || __builtin_add_overflow(*end, alignment - 1, &aligned)) return false;
  *start = aligned & ~(alignment - 1);
  return !__builtin_add_overflow(*start, (size_t)bytes, end);
}

/* False when the session would not fit in the address space. */
static bool plan_session(const thaw_model *model, session_layout *layout) {
  size_t operand_bytes;
  layout->total = sizeof(struct thaw_session); /* the session itself comes first */
  return !__builtin_mul_overflow(model->operand_count, sizeof(void *), &operand_bytes) &&
         append_region(&layout->total, operand_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->operands_at) &&
         append_region(&layout->total, model->view.arena_size, THAW_FORMAT_ARENA_ALIGNMENT,
                       &layout->arena_at) &&
         append_region(&layout->total, model->scratch_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->scratch_at);
}

size_t thaw_model_session_bytes(const thaw_model *model) {
  session_layout layout;
  if (model == NULL || !plan_session(model, &layout)) return 0;
  return layout.total;
}

static void *tensor_data(const thaw_session *session, uint32_t id) {
  const thaw_format_tensor *tensor = &session->model->tensors[id];
  if (tensor->kind == THAW_TENSOR_ACTIVATION) return session->arena + tensor->offset;
  /* Constants stay in the read-only file image; preparation proved no kernel writes them. */
  return (void *)(session->model->view.bytes + tensor->offset);
}

thaw_status thaw_session_create(const thaw_model *model, thaw_session **session,
                                thaw_error *error) {
  if (session != NULL) *session = NULL;
  if (model == NULL || session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_create: model and session must not be NULL");
  }
  session_layout layout;
  if (!plan_session(model, &layout)) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "a session with a %" PRIu64 "-byte arena does not fit in memory",
                          model->view.arena_size);
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
  for (size_t i = 0; i < model->operand_count; i++) {
    result->operands[i] = tensor_data(result, model->operand_tensors[i]);
  }
  *session = result;
  return THAW_OK;
}

void thaw_session_destroy(thaw_session *session) { thaw_platform_free(session); }

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
  return describe_io(session, true, index, tensor);
}

/* Run one node. It fails only on bad data the file could not rule out: a Gather index out
 * of range. */
static thaw_status run_node(const thaw_kernels *kernels, const thaw_prepared_node *node,
                            void *const *operand, thaw_error *error) {
  void *y = operand[node->input_count];
  switch ((thaw_op)node->op) {
    case THAW_OP_CONV:
      kernels->f32_conv2d(&node->u.conv2d, operand[0], operand[1],
                          node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_CONV_TRANSPOSE:
      kernels->f32_conv_transpose2d(&node->u.conv2d, operand[0], operand[1],
                                    node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_MATMUL:
      kernels->f32_matmul(&node->u.matmul, operand[0], operand[1],
                          node->input_count > 2 ? operand[2] : NULL, y);
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
  }
  return THAW_OK;
}

thaw_status thaw_session_run(thaw_session *session, thaw_error *error) {
  if (session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_run: session must not be NULL");
  }
  const thaw_model *model = session->model;
  for (uint32_t n = 0; n < model->view.node_count; n++) {
    const thaw_prepared_node *node = &model->nodes[n];
    thaw_status status =
        run_node(model->kernels, node, &session->operands[node->first_operand], error);
    if (status != THAW_OK) return status;
  }
  return THAW_OK;
}
