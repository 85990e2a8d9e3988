/* `thaw inspect --cost`: what one run of a model costs, node by node, and the latency the
 * on-machine calibration predicts. */
#ifndef THAW_CLI_COST_H
#define THAW_CLI_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/cost.h"

/* Per-node facts and predictions of a whole model, and their sums. */
typedef struct thaw_cli_cost {
  uint32_t node_count;
  thaw_cost_node *nodes;  /* node_count */
  double *predicted_seconds; /* node_count */
  uint64_t flops, activation_bytes_read, weight_bytes_read, bytes_written;
  double total_seconds;
  /* The threads asked for, and those a session runs the model on (one for a model of little
   * arithmetic: thaw_cost_worth_threads), which the predictions assume. */
  uint32_t threads, threads_used;
} thaw_cli_cost;

/* Fill `cost` for `model` from calibrated `rates`; false when out of memory. */
bool thaw_cli_cost_compute(const thaw_model *model, const thaw_cost_rates *rates,
                           uint32_t threads, thaw_cli_cost *cost);
void thaw_cli_cost_free(thaw_cli_cost *cost);

/* A table of nodes, a summary per kernel class and the totals. */
void thaw_cli_cost_print_text(const thaw_model *model, const thaw_cost_rates *rates,
                              const thaw_cli_cost *cost);
/* The value of a "cost" key: {"isa", "threads", "threads_used", "calibration_ms",
 * "nodes": [...], "classes": {...}, "total": {...}}. */
void thaw_cli_cost_print_json(const thaw_model *model, const thaw_cost_rates *rates,
                              const thaw_cli_cost *cost);

#endif /* THAW_CLI_COST_H */
