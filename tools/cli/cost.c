/* The cost report of `thaw inspect --cost`, as text or JSON. */
#include "cost.h"

#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"

bool thaw_cli_cost_compute(const thaw_model *model, const thaw_cost_rates *rates,
                           uint32_t threads, thaw_cli_cost *cost) {
  *cost = (thaw_cli_cost){.node_count = model->view.node_count, .threads = threads};
  /* One more than needed, so a model without nodes still gets non-NULL arrays. */
  cost->nodes = calloc((size_t)cost->node_count + 1, sizeof *cost->nodes);
  cost->predicted_seconds = calloc((size_t)cost->node_count + 1, sizeof *cost->predicted_seconds);
  if (cost->nodes == NULL || cost->predicted_seconds == NULL) {
    thaw_cli_cost_free(cost);
    return false;
  }
  for (uint32_t i = 0; i < cost->node_count; i++) {
    thaw_cost_node *facts = &cost->nodes[i];
    thaw_cost_node_facts(model, i, facts);
    /* Byte counts are bounded by the file and arena sizes; only FLOPs can saturate. */
    cost->flops = thaw_cost_add_flops(cost->flops, facts->flops);
    cost->activation_bytes_read += facts->activation_bytes_read;
    cost->weight_bytes_read += facts->weight_bytes_read;
    cost->bytes_written += facts->bytes_written;
  }
  /* Predicted on the threads a session would run the model on, which its total decides. */
  cost->threads_used = thaw_cost_worth_threads(cost->flops) ? threads : 1;
  for (uint32_t i = 0; i < cost->node_count; i++) {
    cost->predicted_seconds[i] =
        thaw_cost_predict_seconds(rates, &cost->nodes[i], cost->threads_used);
    cost->total_seconds += cost->predicted_seconds[i];
  }
  return true;
}

void thaw_cli_cost_free(thaw_cli_cost *cost) {
  free(cost->nodes);
  free(cost->predicted_seconds);
  cost->nodes = NULL;
  cost->predicted_seconds = NULL;
}

typedef struct class_total {
  uint32_t nodes;
  uint64_t flops;
  double seconds;
} class_total;

static void sum_classes(const thaw_cli_cost *cost, class_total totals[THAW_COST_CLASS_COUNT]) {
  for (int c = 0; c < THAW_COST_CLASS_COUNT; c++) totals[c] = (class_total){0};
  for (uint32_t i = 0; i < cost->node_count; i++) {
    class_total *total = &totals[cost->nodes[i].kernel_class];
    total->nodes++;
    total->flops = thaw_cost_add_flops(total->flops, cost->nodes[i].flops);
    total->seconds += cost->predicted_seconds[i];
  }
}

void thaw_cli_cost_print_text(const thaw_model *model, const thaw_cost_rates *rates,
                              const thaw_cli_cost *cost) {
  if (cost->threads_used < cost->threads)
    printf("\ncost per run (%s kernels, %" PRIu32 " threads, run on 1: under %.0f MFLOP per run;"
           " calibrated in %.0f ms)\n",
           rates->isa, cost->threads, 1e-6 * THAW_COST_MIN_THREADED_RUN_FLOPS,
           1e3 * rates->calibration_seconds);
  else
    printf("\ncost per run (%s kernels, %" PRIu32 " thread%s; calibrated in %.0f ms)\n",
           rates->isa, cost->threads, cost->threads == 1 ? "" : "s",
           1e3 * rates->calibration_seconds);
  /* The name last and whole: exporters' names are long and differ at the end. */
  printf("  %-4s %-17s %-14s %-22s %10s %9s %9s %9s %9s  %s\n", "#", "op", "class", "shape",
         "MFLOP", "act kB", "weight kB", "out kB", "pred ms", "node");
  for (uint32_t i = 0; i < cost->node_count; i++) {
    const thaw_cost_node *facts = &cost->nodes[i];
    printf("  %-4" PRIu32 " %-17s %-14s %-22s %10.3f %9.1f %9.1f %9.1f %9.4f  %s\n", i,
           thaw_op_name(model->nodes[i].op), thaw_cost_class_name(facts->kernel_class),
           facts->detail, 1e-6 * (double)facts->flops, 1e-3 * (double)facts->activation_bytes_read,
           1e-3 * (double)facts->weight_bytes_read, 1e-3 * (double)facts->bytes_written,
           1e3 * cost->predicted_seconds[i], model->nodes[i].name);
  }
  class_total totals[THAW_COST_CLASS_COUNT];
  sum_classes(cost, totals);
  printf("by kernel class\n");
  for (int c = 0; c < THAW_COST_CLASS_COUNT; c++) {
    if (totals[c].nodes == 0) continue;
    printf("  %-14s %5" PRIu32 " nodes %12.3f MFLOP %10.4f ms %5.1f %%\n",
           thaw_cost_class_name((thaw_cost_class)c), totals[c].nodes,
           1e-6 * (double)totals[c].flops, 1e3 * totals[c].seconds,
           cost->total_seconds > 0 ? 100.0 * totals[c].seconds / cost->total_seconds : 0.0);
  }
  printf("total\n");
  printf("  FLOPs            %" PRIu64 " (%.3f GFLOP)\n", cost->flops, 1e-9 * (double)cost->flops);
  printf("  bytes read       %" PRIu64 " activations, %" PRIu64 " weights\n",
         cost->activation_bytes_read, cost->weight_bytes_read);
  printf("  bytes written    %" PRIu64 "\n", cost->bytes_written);
  printf("  arena            %" PRIu64 " bytes\n", model->view.arena_size);
  printf("  weights          %" PRIu64 " bytes\n", model->view.weights_size);
  printf("  session          %zu bytes\n", thaw_model_session_bytes(model));
  printf("  predicted run    %.4f ms\n", 1e3 * cost->total_seconds);
}

void thaw_cli_cost_print_json(const thaw_model *model, const thaw_cost_rates *rates,
                              const thaw_cli_cost *cost) {
  printf("{\"isa\": \"%s\", \"threads\": %" PRIu32 ", \"threads_used\": %" PRIu32
         ", \"calibration_ms\": %.3f, \"nodes\": [",
         rates->isa, cost->threads, cost->threads_used, 1e3 * rates->calibration_seconds);
  for (uint32_t i = 0; i < cost->node_count; i++) {
    const thaw_cost_node *facts = &cost->nodes[i];
    printf("%s{\"name\": ", i == 0 ? "" : ", ");
    thaw_cli_print_json_string(stdout, model->nodes[i].name);
    printf(", \"op\": \"%s\", \"class\": \"%s\", \"shape\": \"%s\", \"flops\": %" PRIu64
           ", \"activation_bytes_read\": %" PRIu64 ", \"weight_bytes_read\": %" PRIu64
           ", \"bytes_written\": %" PRIu64 ", \"predicted_ms\": %.6f}",
           thaw_op_name(model->nodes[i].op), thaw_cost_class_name(facts->kernel_class),
           facts->detail, facts->flops, facts->activation_bytes_read, facts->weight_bytes_read,
           facts->bytes_written, 1e3 * cost->predicted_seconds[i]);
  }
  printf("], \"classes\": {");
  class_total totals[THAW_COST_CLASS_COUNT];
  sum_classes(cost, totals);
  bool first = true;
  for (int c = 0; c < THAW_COST_CLASS_COUNT; c++) {
    if (totals[c].nodes == 0) continue;
    printf("%s\"%s\": {\"nodes\": %" PRIu32 ", \"flops\": %" PRIu64 ", \"predicted_ms\": %.6f}",
           first ? "" : ", ", thaw_cost_class_name((thaw_cost_class)c), totals[c].nodes,
           totals[c].flops, 1e3 * totals[c].seconds);
    first = false;
  }
  printf("}, \"total\": {\"flops\": %" PRIu64 ", \"activation_bytes_read\": %" PRIu64
         ", \"weight_bytes_read\": %" PRIu64 ", \"bytes_written\": %" PRIu64
         ", \"arena_bytes\": %" PRIu64 ", \"weight_bytes\": %" PRIu64
         ", \"session_bytes\": %zu, \"predicted_ms\": %.6f}}",
         cost->flops, cost->activation_bytes_read, cost->weight_bytes_read, cost->bytes_written,
         model->view.arena_size, model->view.weights_size, thaw_model_session_bytes(model),
         1e3 * cost->total_seconds);
}
