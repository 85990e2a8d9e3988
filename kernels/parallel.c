#include "kernels/kernels.h"

enum {
  /* Tasks per thread: a thread that finishes early takes another, so the threads end within
   * one task of each other; more tasks would only add hand-offs and repeated packing. */
  TASKS_PER_THREAD = 4,
};

/* A node of less work than this (some 30 us on one AVX2 core) stays on the caller's thread:
 * the MLP's layers (0.8 and 0.5 MFLOP) run in less time than a sleeping worker takes to wake
 * (20-50 us), and on one thread they cost nothing extra. */
#define MIN_SPLIT_FLOPS 1.0e6
/* A split node's tasks hold at least this much work (some 13 us). Within a run the workers
 * spin between nodes, and handing a task to a spinning worker costs under a microsecond
 * (bench/e2e/thaw_threads), so a node of 1-2 MFLOP gains from two or three tasks; a worker that
 * sleeps costs the caller only the wake-up call: tasks are claimed one by one, so the caller
 * takes whatever the sleeper has not started. */
#define MIN_TASK_FLOPS 0.4e6

static void run_serially(const thaw_parallel *parallel, size_t task_count,
                         thaw_parallel_task task, void *context) {
  (void)parallel;
  for (size_t i = 0; i < task_count; i++) task(context, 0, i);
}

const thaw_parallel thaw_parallel_serial = {.thread_count = 1, .run = run_serially};

size_t thaw_parallel_task_count(const thaw_parallel *parallel, size_t units, double unit_flops) {
  const double flops = (double)units * unit_flops;
  if (parallel->thread_count <= 1 || units <= 1 || flops < MIN_SPLIT_FLOPS) return 1;
  size_t tasks = parallel->thread_count * TASKS_PER_THREAD;
  /* At least 2: MIN_SPLIT_FLOPS may be under two tasks' worth. */
  const double worth = flops / MIN_TASK_FLOPS;
  if (worth < (double)tasks) tasks = worth < 2.0 ? 2 : (size_t)worth;
  return tasks < units ? tasks : units;
}
