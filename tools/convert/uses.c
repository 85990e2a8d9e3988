/* Queries the fusion passes share on the working graph (convert_internal.h): who reads each
 * value (cv_uses), who produces it, and what a scalar constant holds. */
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

void cv_uses_free(cv_uses *u) {
  free(u->start);
  free(u->readers);
  free(u->extra);
}

thaw_status cv_uses_build(const cv_graph *graph, cv_uses *u, thaw_error *error) {
  memset(u, 0, sizeof(*u));
  size_t total = 0;
  for (uint32_t n = 0; n < graph->node_count; ++n)
    if (graph->nodes[n].op) total += graph->nodes[n].input_count;
  u->start = calloc((size_t)graph->value_count + 2, sizeof(uint32_t));
  u->readers = malloc((total + 1) * sizeof(uint32_t));
  u->extra = calloc((size_t)graph->value_count + 1, sizeof(uint32_t));
  if (!u->start || !u->readers || !u->extra) {
    cv_uses_free(u);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (uint32_t n = 0; n < graph->node_count; ++n)
    if (graph->nodes[n].op)
      for (uint32_t i = 0; i < graph->nodes[n].input_count; ++i)
        u->start[graph->nodes[n].inputs[i] + 2]++;
  for (uint32_t v = 0; v < graph->value_count; ++v) u->start[v + 2] += u->start[v + 1];
  for (uint32_t n = 0; n < graph->node_count; ++n)
    if (graph->nodes[n].op)
      for (uint32_t i = 0; i < graph->nodes[n].input_count; ++i)
        u->readers[u->start[graph->nodes[n].inputs[i] + 1]++] = n;
  for (uint32_t i = 0; i < graph->output_count; ++i) u->extra[graph->outputs[i]]++;
  return THAW_OK;
}

uint32_t cv_reader_count(const cv_uses *u, uint32_t value) {
  return u->start[value + 1] - u->start[value] + u->extra[value];
}

uint32_t cv_sole_reader(const cv_graph *graph, const cv_uses *u, uint32_t value) {
  if (cv_reader_count(u, value) != 1 || u->extra[value]) return CV_NONE;
  uint32_t node = u->readers[u->start[value]];
  return graph->nodes[node].op ? node : CV_NONE;
}

cv_node *cv_producer(const cv_graph *graph, uint32_t value) {
  uint32_t node = graph->values[value].producer;
  return node != CV_NONE && graph->nodes[node].op ? &graph->nodes[node] : NULL;
}

bool cv_constant_scalar(const cv_graph *graph, uint32_t value, float *scalar) {
  const cv_value *v = &graph->values[value];
  if (!v->data || v->dtype != THAW_DTYPE_F32 || v->element_count != 1) return false;
  memcpy(scalar, v->data, sizeof *scalar);
  return true;
}
