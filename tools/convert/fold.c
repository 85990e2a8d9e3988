/*
 * Constant folding through the runtime: a node whose inputs are all constant is written as a
 * one-node .thaw, opened from memory and run, so every op the runtime executes has exactly one
 * implementation (DESIGN.md §8).
 */
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

static thaw_status run_single_node(cv_graph *graph, const cv_node *node, const uint8_t *bytes,
                                   uint64_t size, uint32_t input_count,
                                   const uint32_t *input_values, thaw_error *error) {
  thaw_model *model = NULL;
  thaw_session *session = NULL;
  thaw_status status = thaw_model_open_memory(bytes, (size_t)size, 0, &model, error);
  if (status == THAW_OK) status = thaw_session_create(model, NULL, &session, error);
  for (uint32_t i = 0; status == THAW_OK && i < input_count; ++i) {
    thaw_tensor tensor;
    status = thaw_session_input(session, i, &tensor);
    if (status == THAW_OK) {
      const cv_value *value = &graph->values[input_values[i]];
      memcpy(tensor.data, value->data, (size_t)cv_value_bytes(value));
    }
  }
  if (status == THAW_OK) status = thaw_session_run(session, NULL, error);
  for (uint32_t i = 0; status == THAW_OK && i < node->output_count; ++i) {
    thaw_tensor tensor;
    status = thaw_session_output(session, i, &tensor);
    cv_value *value = &graph->values[node->outputs[i]];
    uint64_t value_size = cv_value_bytes(value);
    if (status == THAW_OK && tensor.size_bytes != value_size)
      status = thaw_error_set(error, THAW_STATUS_CORRUPT,
                              "folding node \"%s\": the runtime produced %zu bytes, not %zu",
                              node->name, tensor.size_bytes, (size_t)value_size);
    if (status != THAW_OK) break;
    value->data = malloc(value_size ? (size_t)value_size : 1);
    if (!value->data) {
      status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
      break;
    }
    memcpy(value->data, tensor.data, (size_t)value_size);
  }
  thaw_session_destroy(session);
  thaw_model_close(model);
  return status;
}

thaw_status cv_fold_node(cv_graph *graph, const cv_node *node, thaw_error *error) {
  uint64_t output_bytes = 0;
  for (uint32_t i = 0; i < node->output_count; ++i)
    output_bytes += cv_value_bytes(&graph->values[node->outputs[i]]);
  thaw_status status = cv_check_computed_constant(graph, node->inputs, node->input_count,
                                                  output_bytes, error);
  if (status != THAW_OK) return status;
  thaw_writer *writer = thaw_writer_create();
  uint32_t *ids = malloc((node->input_count + node->output_count + 1) * sizeof(uint32_t));
  uint32_t *input_values = malloc((node->input_count + 1) * sizeof(uint32_t));
  if (!writer || !ids || !input_values) {
    thaw_writer_destroy(writer);
    free(ids);
    free(input_values);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  /* The constants enter as model inputs; a value read twice (Mul(x, x)) is one input. */
  uint32_t input_count = 0;
  for (uint32_t i = 0; i < node->input_count; ++i) {
    uint32_t local = UINT32_MAX;
    for (uint32_t j = 0; j < i; ++j)
      if (node->inputs[j] == node->inputs[i]) local = ids[j];
    if (local == UINT32_MAX) {
      local = cv_writer_add_value(writer, &graph->values[node->inputs[i]], THAW_TENSOR_ACTIVATION);
      thaw_writer_add_input(writer, local);
      input_values[input_count++] = node->inputs[i];
    }
    ids[i] = local;
  }
  for (uint32_t i = 0; i < node->output_count; ++i) {
    ids[node->input_count + i] =
        cv_writer_add_value(writer, &graph->values[node->outputs[i]], THAW_TENSOR_ACTIVATION);
    thaw_writer_add_output(writer, ids[node->input_count + i]);
  }
  thaw_writer_add_node(writer, node->op, node->name, &node->attrs, ids, node->input_count,
                       ids + node->input_count, node->output_count);
  uint8_t *bytes = NULL;
  uint64_t size = 0;
  status = thaw_writer_finish(writer, 0, &bytes, &size, NULL, error);
  thaw_writer_destroy(writer);
  if (status == THAW_OK)
    status = run_single_node(graph, node, bytes, size, input_count, input_values, error);
  free(bytes);
  free(ids);
  free(input_values);
  return status;
}
