#include "runtime/threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "formats/format.h"
#include "runtime/platform.h"

typedef struct region {
  thaw_parallel_task task;
  void *context;
  size_t task_count;
} region;

typedef struct worker {
  thaw_threadpool *pool;
  size_t thread_index;
  pthread_t thread;
} worker;

struct thaw_threadpool {
  pthread_mutex_t mutex;
  pthread_cond_t region_started; /* workers wait here between regions */
  pthread_cond_t region_finished; /* the caller waits here for the last task */
  /* Under the mutex. */
  uint32_t generation; /* of the latest region */
  region current;
  size_t finished_tasks;
  bool exiting;
  bool started;
  /* The generation in the high 32 bits, the next unclaimed task in the low 32: claiming is one
   * compare-and-swap, and a late worker cannot claim a task of a later region with the task
   * and context of an earlier one. */
  uint64_t claim;
  size_t worker_count;
  worker workers[];
};

size_t thaw_threadpool_bytes(size_t thread_count) {
  size_t bytes;
  if (thread_count == 0 ||
      __builtin_mul_overflow(thread_count - 1, sizeof(worker), &bytes) ||
      __builtin_add_overflow(bytes, sizeof(thaw_threadpool), &bytes))
    return SIZE_MAX;
  return bytes;
}

thaw_threadpool *thaw_threadpool_place(void *memory, size_t thread_count) {
  thaw_threadpool *pool = memory;
  memset(pool, 0, sizeof *pool);
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->region_started, NULL);
  pthread_cond_init(&pool->region_finished, NULL);
  pool->worker_count = thread_count - 1;
  return pool;
}

/* Claims and runs tasks of region `generation` until none is left; returns how many it ran. */
static size_t run_tasks(thaw_threadpool *pool, uint32_t generation, const region *work,
                        size_t thread_index) {
  size_t done = 0;
  uint64_t claim = __atomic_load_n(&pool->claim, __ATOMIC_RELAXED);
  for (;;) {
    const uint64_t task = claim & UINT32_MAX;
    if ((uint32_t)(claim >> 32) != generation || task >= work->task_count) return done;
    if (__atomic_compare_exchange_n(&pool->claim, &claim, claim + 1, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      work->task(work->context, thread_index, (size_t)task);
      done++;
      claim = __atomic_load_n(&pool->claim, __ATOMIC_RELAXED);
    }
  }
}

/* Tasks a thread ran count towards its region under the mutex, which is also what makes their
 * writes visible to the caller once the count is complete. */
static void count_finished(thaw_threadpool *pool, size_t done) {
  pool->finished_tasks += done;
  if (pool->finished_tasks == pool->current.task_count)
    pthread_cond_signal(&pool->region_finished);
}

static void *worker_main(void *argument) {
  const worker *self = argument;
  thaw_threadpool *pool = self->pool;
  pthread_mutex_lock(&pool->mutex);
  uint32_t seen = pool->generation;
  for (;;) {
    while (pool->generation == seen && !pool->exiting)
      pthread_cond_wait(&pool->region_started, &pool->mutex);
    if (pool->exiting) break;
    seen = pool->generation;
    const region work = pool->current;
    pthread_mutex_unlock(&pool->mutex);
    const size_t done = run_tasks(pool, seen, &work, self->thread_index);
    pthread_mutex_lock(&pool->mutex);
    /* A worker that ran none leaves the count alone: its region may be over already. */
    if (done > 0) count_finished(pool, done);
  }
  pthread_mutex_unlock(&pool->mutex);
  return NULL;
}

static void join_workers(thaw_threadpool *pool, size_t count) {
  pthread_mutex_lock(&pool->mutex);
  pool->exiting = true;
  pthread_cond_broadcast(&pool->region_started);
  pthread_mutex_unlock(&pool->mutex);
  for (size_t i = 0; i < count; i++) pthread_join(pool->workers[i].thread, NULL);
  pool->exiting = false;
}

thaw_status thaw_threadpool_start(thaw_threadpool *pool, thaw_error *error) {
  if (pool->started) return THAW_OK;
  for (size_t i = 0; i < pool->worker_count; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].thread_index = i + 1;
    const int failure = pthread_create(&pool->workers[i].thread, NULL, worker_main,
                                       &pool->workers[i]);
    if (failure != 0) {
      join_workers(pool, i);
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                            "cannot start worker thread: %s (thread %zu of %zu)",
                            strerror(failure), i + 2, pool->worker_count + 1);
    }
  }
  pool->started = true;
  return THAW_OK;
}

void thaw_threadpool_release(thaw_threadpool *pool) {
  if (pool->started) join_workers(pool, pool->worker_count);
  pool->started = false;
  pthread_cond_destroy(&pool->region_finished);
  pthread_cond_destroy(&pool->region_started);
  pthread_mutex_destroy(&pool->mutex);
}

void thaw_threadpool_run(thaw_threadpool *pool, size_t task_count, thaw_parallel_task task,
                         void *context) {
  /* One task, or more than a claim can number (no kernel cuts its work that fine): the
   * caller's thread alone. */
  if (!pool->started || task_count <= 1 || task_count > UINT32_MAX) {
    for (size_t i = 0; i < task_count; i++) task(context, 0, i);
    return;
  }
  pthread_mutex_lock(&pool->mutex);
  const uint32_t generation = ++pool->generation;
  pool->current = (region){task, context, task_count};
  pool->finished_tasks = 0;
  __atomic_store_n(&pool->claim, (uint64_t)generation << 32, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&pool->region_started);
  pthread_mutex_unlock(&pool->mutex);

  const region work = {task, context, task_count};
  const size_t done = run_tasks(pool, generation, &work, 0);
  pthread_mutex_lock(&pool->mutex);
  count_finished(pool, done);
  while (pool->finished_tasks < task_count)
    pthread_cond_wait(&pool->region_finished, &pool->mutex);
  pthread_mutex_unlock(&pool->mutex);
}
