/* The working graph -> .thaw through the formats writer (which plans the arena by liveness and
 * orders the weights by first use). MatMul weights are written packed for the GEMM kernels;
 * every other constant row-major (PLAIN). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

uint32_t cv_writer_add_value(thaw_writer *writer, const cv_value *value, uint32_t kind) {
  static const int64_t scalar_shape[1] = {1};
  uint32_t rank = value->rank ? value->rank : 1;
  const int64_t *shape = value->rank ? value->shape : scalar_shape;
  bool constant = kind == THAW_TENSOR_CONSTANT;
  return thaw_writer_add_tensor(writer, value->name, kind, value->dtype, rank, shape,
                                constant ? value->layout : THAW_LAYOUT_PLAIN,
                                constant ? value->data : NULL,
                                constant ? cv_value_bytes(value) : 0);
}

/* A MatMul B operand the GEMM can read packed: a row-major f32 matrix known offline. */
static bool is_packable_weight(const cv_value *value) {
  return value->data != NULL && value->dtype == THAW_DTYPE_F32 && value->rank == 2 &&
         value->layout == THAW_LAYOUT_PLAIN;
}

/* Whether input `i` of `node` is a GEMM B operand: a MatMul's B, an LSTM's or GRU's W and R. */
static bool is_gemm_weight_input(const cv_node *node, uint32_t i) {
  if (node->op == THAW_OP_MATMUL) return i == 1;
  return (node->op == THAW_OP_LSTM || node->op == THAW_OP_GRU) && (i == 1 || i == 2);
}

static bool reads_packable_weight(const cv_graph *graph, const cv_node *node, uint32_t i) {
  return is_gemm_weight_input(node, i) && is_packable_weight(&graph->values[node->inputs[i]]);
}

/* Store the row-major [K, N] f32 matrix of `source` into `target` (the same value, or a fresh
 * one of the same shape) in THAW_LAYOUT_F32_GEMM_PANEL16. */
static thaw_status pack_weight(cv_graph *graph, uint32_t source, uint32_t target,
                               thaw_error *error) {
  cv_value *value = &graph->values[target];
  const size_t k = (size_t)value->shape[0], n = (size_t)value->shape[1];
  const size_t packed_size = thaw_f32_gemm_packed_b_size(k, n);
  float *packed = packed_size == SIZE_MAX ? NULL : malloc(packed_size);
  if (!packed)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "no memory to pack MatMul weight \"%s\" [%zu,%zu]", value->name, k, n);
  thaw_f32_gemm_pack_b(k, n, (const float *)graph->values[source].data, (ptrdiff_t)n, 1, packed);
  free(value->data); /* the row-major bytes when packing in place, else NULL */
  value->data = (uint8_t *)packed;
  value->layout = THAW_LAYOUT_F32_GEMM_PANEL16;
  graph->report->packed_weights_bytes += packed_size;
  return THAW_OK;
}

/* Pack every live GEMM weight (a MatMul's constant B, an LSTM's or GRU's W and R) offline
 * (DESIGN.md §1), so the GEMM reads it in place. A matrix that other ops also read keeps its
 * row-major bytes, and the GEMMs read a packed copy of it (one per matrix). */
static thaw_status pack_matmul_weights(cv_graph *graph, const bool *live, thaw_error *error) {
  const uint32_t value_count = graph->value_count;
  bool *read_plain = calloc(value_count + 1, sizeof(bool));
  uint32_t *packed_of = malloc((value_count + 1) * sizeof(uint32_t));
  if (!read_plain || !packed_of) {
    free(read_plain);
    free(packed_of);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (uint32_t n = 0; n < graph->node_count; ++n) {
    const cv_node *node = &graph->nodes[n];
    if (!node->op || !live[n]) continue;
    for (uint32_t i = 0; i < node->input_count; ++i)
      if (node->inputs[i] != CV_NONE && !reads_packable_weight(graph, node, i))
        read_plain[node->inputs[i]] = true;
  }
  memset(packed_of, 0xff, (value_count + 1) * sizeof(uint32_t));
  thaw_status status = THAW_OK;
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; ++n) {
    if (!graph->nodes[n].op || !live[n]) continue;
    for (uint32_t i = 0; status == THAW_OK && i < graph->nodes[n].input_count; ++i) {
      if (!reads_packable_weight(graph, &graph->nodes[n], i)) continue;
      const uint32_t weight = graph->nodes[n].inputs[i];
      if (packed_of[weight] == CV_NONE) {
        uint32_t packed = weight;
        if (read_plain[weight]) {
          /* Copied out: adding a value may move graph->values. */
          const cv_value source = graph->values[weight];
          packed = cv_add_derived_value(graph, source.name, "packed", source.dtype, source.rank,
                                        source.shape);
          if (packed == CV_NONE) {
            status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
            break;
          }
        }
        status = pack_weight(graph, weight, packed, error);
        packed_of[weight] = packed;
      }
      graph->nodes[n].inputs[i] = packed_of[weight];
    }
  }
  free(read_plain);
  free(packed_of);
  return status;
}

/* Give `value` a fresh name derived from its current one, freeing its ONNX name for a copy. */
static thaw_status rename_aside(cv_graph *graph, cv_value *value, thaw_error *error) {
  size_t length = strlen(value->name) + 24;
  char *renamed = malloc(length);
  if (!renamed) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  /* value_count is never a suffix of an earlier derived name (see cv_add_derived_value). */
  snprintf(renamed, length, "%s/source%" PRIu32, value->name, graph->value_count);
  free(value->name);
  value->name = renamed;
  return THAW_OK;
}

/* Graph outputs live in the arena under their ONNX names: an output that is a constant, a
 * model input, another output or a renamed alias gets its own copy (an EXPAND to its shape). */
static thaw_status name_outputs(cv_graph *graph, thaw_error *error) {
  for (uint32_t i = 0; i < graph->output_count; ++i) {
    const char *name = graph->output_names[i];
    cv_value *value = &graph->values[graph->outputs[i]];
    if (value->element_count == 0)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "graph output \"%s\" is a zero-size tensor, which is not supported",
                            name);
    /* Inside the graph a scalar is stored as [1] unnoticed; at the interface it would change
     * the shape callers see. */
    if (value->rank == 0)
      return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                            "graph output \"%s\" is a scalar; .thaw tensors have rank >= 1",
                            name);
    bool own = !value->data && !value->is_input && !value->is_output &&
               value->producer != CV_NONE;
    if (own && strcmp(value->name, name) != 0) {
      char *renamed = strdup(name);
      if (!renamed) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
      free(value->name);
      value->name = renamed;
    }
    if (own) {
      value->is_output = true;
      continue;
    }
    /* A folded constant keeps the ONNX name its producer gave it; the copy takes it over. A
     * model input cannot be renamed: its name is part of the model's interface. */
    if (strcmp(value->name, name) == 0) {
      if (value->is_input)
        return thaw_error_set(error, THAW_STATUS_UNSUPPORTED,
                              "\"%s\" is both a graph input and a graph output", name);
      if (value->is_output)
        return thaw_error_set(error, THAW_STATUS_CORRUPT, "graph output \"%s\" is listed twice",
                              name);
      thaw_status status = rename_aside(graph, value, error);
      if (status != THAW_OK) return status;
    }
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, value->shape, sizeof(shape));
    uint32_t source = graph->outputs[i];
    uint32_t copy = cv_add_value(graph, name, value->dtype, value->rank, shape);
    if (copy == CV_NONE ||
        cv_add_node(graph, THAW_OP_EXPAND, name, NULL, &source, 1, &copy, 1) == CV_NONE)
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    graph->values[copy].is_output = true;
    graph->outputs[i] = copy;
  }
  return THAW_OK;
}

/* Nodes whose outputs nobody reads (folded shape arithmetic, unused branches) are dropped. */
static bool *mark_live_nodes(const cv_graph *graph) {
  bool *live_value = calloc(graph->value_count + 1, sizeof(bool));
  bool *live_node = calloc(graph->node_count + 1, sizeof(bool));
  if (!live_value || !live_node) {
    free(live_value);
    free(live_node);
    return NULL;
  }
  for (uint32_t i = 0; i < graph->output_count; ++i) live_value[graph->outputs[i]] = true;
  for (uint32_t n = graph->node_count; n-- > 0;) {
    const cv_node *node = &graph->nodes[n];
    if (!node->op) continue;
    for (uint32_t o = 0; o < node->output_count; ++o) live_node[n] |= live_value[node->outputs[o]];
    if (!live_node[n]) continue;
    for (uint32_t i = 0; i < node->input_count; ++i) live_value[node->inputs[i]] = true;
  }
  free(live_value);
  return live_node;
}

static uint32_t writer_id(thaw_writer *writer, const cv_graph *graph, uint32_t *ids,
                          uint32_t value) {
  if (ids[value] == CV_NONE) {
    const cv_value *v = &graph->values[value];
    ids[value] = cv_writer_add_value(writer, v, v->data ? THAW_TENSOR_CONSTANT
                                                        : THAW_TENSOR_ACTIVATION);
  }
  return ids[value];
}

/* The writer id of the graph input or output (by ONNX name) a --state pair names. */
static thaw_status state_tensor(const cv_graph *graph, const uint32_t *ids, bool output,
                                const char *name, uint32_t *id, thaw_error *error) {
  const uint32_t count = output ? graph->output_count : graph->input_count;
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t value = output ? graph->outputs[i] : graph->inputs[i];
    const char *value_name = output ? graph->output_names[i] : graph->values[value].name;
    if (strcmp(value_name, name) == 0) {
      *id = ids[value];
      return THAW_OK;
    }
  }
  thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "state pair: \"%s\" is not a graph %s",
                 name, output ? "output" : "input");
  return THAW_STATUS_INVALID_ARGUMENT; /* a literal, so callers see *id is set on THAW_OK */
}

thaw_status cv_emit(cv_graph *graph, const uint8_t source_hash[32],
                    const thaw_convert_options *options, uint8_t **bytes, uint64_t *size,
                    thaw_error *error) {
  thaw_status status = name_outputs(graph, error);
  if (status != THAW_OK) return status;
  bool *live = mark_live_nodes(graph);
  if (live) status = pack_matmul_weights(graph, live, error);
  if (status != THAW_OK) {
    free(live);
    return status;
  }
  size_t most_refs = 1;
  for (uint32_t n = 0; n < graph->node_count; ++n) {
    size_t node_refs = (size_t)graph->nodes[n].input_count + graph->nodes[n].output_count;
    most_refs = node_refs > most_refs ? node_refs : most_refs;
  }
  uint32_t *ids = malloc((graph->value_count + 1) * sizeof(uint32_t));
  uint32_t *refs = malloc(most_refs * sizeof(uint32_t));
  thaw_writer *writer = thaw_writer_create();
  if (!live || !ids || !refs || !writer) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  memset(ids, 0xff, (graph->value_count + 1) * sizeof(uint32_t));
  for (uint32_t i = 0; i < graph->input_count; ++i)
    thaw_writer_add_input(writer, writer_id(writer, graph, ids, graph->inputs[i]));
  uint32_t ops_out = 0;
  for (uint32_t n = 0; n < graph->node_count; ++n) {
    const cv_node *node = &graph->nodes[n];
    if (!node->op || !live[n]) continue;
    uint32_t count = 0;
    for (uint32_t i = 0; i < node->input_count; ++i)
      refs[count++] = writer_id(writer, graph, ids, node->inputs[i]);
    for (uint32_t o = 0; o < node->output_count; ++o)
      refs[count++] = writer_id(writer, graph, ids, node->outputs[o]);
    thaw_writer_add_node(writer, node->op, node->name, &node->attrs, refs, node->input_count,
                         refs + node->input_count, node->output_count);
    ops_out++;
  }
  for (uint32_t i = 0; i < graph->output_count; ++i)
    thaw_writer_add_output(writer, writer_id(writer, graph, ids, graph->outputs[i]));
  for (size_t i = 0; i < options->state_count; ++i) {
    uint32_t output, input;
    status = state_tensor(graph, ids, true, options->states[i].output, &output, error);
    if (status == THAW_OK)
      status = state_tensor(graph, ids, false, options->states[i].input, &input, error);
    if (status != THAW_OK) goto done;
    thaw_writer_add_state(writer, output, input);
  }
  thaw_writer_set_producer(writer, graph->producer ? graph->producer : "");
  thaw_writer_set_source_hash(writer, source_hash);
  thaw_writer_stats stats = {0};
  status = thaw_writer_finish(writer, options->writer_flags, bytes, size, &stats, error);
  if (status == THAW_OK) {
    graph->report->ops_out = ops_out;
    graph->report->weights_bytes = stats.weights_bytes;
    graph->report->arena_bytes = stats.arena_bytes;
    graph->report->activation_bytes = stats.activation_bytes;
    graph->report->file_bytes = stats.file_bytes;
  }
done:
  thaw_writer_destroy(writer);
  free(live);
  free(ids);
  free(refs);
  return status;
}
