#include "kernels/kernels.h"

enum {
  /* Tasks per thread: a thread that finishes early takes another, so the threads end within
   * one task of each other; more tasks would only add hand-offs and repeated packing. */
  TASKS_PER_THREAD = 4,
};

/* Below about this much work (some 30 us on one AVX2 core) waking another thread costs more
 * than it can save: the MLP's layers (0.8 and 0.5 MFLOP) stay on the caller's thread. Above
 * it, a split costs little even when the other thread wakes late: tasks are claimed one by
 * one, so the caller takes whatever the sleeper has not started. */
#define MIN_TASK_FLOPS 1.0e6

static void run_serially(const thaw_parallel *parallel, size_t task_count,
                         thaw_parallel_task task, void *context) {
  (void)parallel;
  for (size_t i = 0; i < task_count; i++) task(context, 0, i);
}

const thaw_parallel thaw_parallel_serial = {.thread_count = 1, .run = run_serially};

size_t thaw_parallel_task_count(const thaw_parallel *parallel, size_t units, double unit_flops) {
  if (parallel->thread_count <= 1 || units <= 1) return 1;
  const double worth = (double)units * unit_flops / MIN_TASK_FLOPS;
  size_t tasks = parallel->thread_count * TASKS_PER_THREAD;
  if (worth < (double)tasks) tasks = worth < 1.0 ? 1 : (size_t)worth;
  return tasks < units ? tasks : units;
}
