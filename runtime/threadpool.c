#include "runtime/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "formats/format.h"
#include "runtime/platform.h"

/* How long a thread that waits for a region (a worker) or for the end of one (the caller)
 * spins before it sleeps. Waking a sleeping thread costs tens of microseconds on each side
 * (a futex call, and in a virtual machine an interrupt to a halted vCPU), as much as a whole
 * split node of a small CNN; spinning this long covers the gaps between the split nodes of a
 * run (one-thread nodes of some microseconds) while a thread left waiting longer stops
 * burning its core. Spinning is only allowed inside a run (thaw_threadpool_enter_run). */
#define SPIN_NS 200000u
/* Pauses between two reads of the clock while spinning (a pause is some 10-70 ns), each read
 * followed by a sched_yield: with more threads than free cores (other processes, or a session
 * with more threads than the machine has cores) a spinning thread would otherwise hold a core
 * that the thread it waits for needs. With 3 threads on 2 cores this cuts the hand-off from
 * ~40 to ~20 us (the time one core takes for the extra task) and waking sleepers from ~260 to
 * ~45 us; on 2 threads a yield with nothing else to run costs under a microsecond. */
enum { PAUSES_PER_CLOCK_READ = 64 };

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

/*
 * A region's tasks are dealt out in units (one task each unless a region has more than
 * MAX_UNITS), and every thread starts with its own contiguous share of the units: the caller
 * the first, worker 1 the next, and so on; a thread that has finished its share then takes
 * units from the back of the others' (nearest first). Consecutive nodes split the same way
 * (output pixels in order, say) thus leave each pixel on the core that produced it, whose
 * caches still hold it (reading data another core wrote costs some 3x more), while a thread
 * that is late or slow still gets helped.
 *
 * A share is one word on its own cache line, which its owner and the threads that help it
 * compare-and-swap: the region's sequence in the high 32 bits (so that a late worker cannot
 * claim a unit of a later region with the task and context of an earlier one: it would have to
 * sleep through 2^31 regions between reading the region and claiming for the sequence to come
 * round again), then the next unclaimed unit and the end of the share, 16 bits each.
 */
enum { MAX_UNITS = UINT16_MAX };

typedef struct share {
  _Alignas(THAW_PLATFORM_ALIGNMENT) uint64_t word;
} share;

/*
 * A region is published like a sequence lock: the caller makes `sequence` odd, writes the
 * region and the shares, and makes it even again (release); a worker that reads an even
 * sequence, the region, and the same sequence again has a consistent copy. The region's fields
 * are stored with release and loaded with acquire (free on x86 and arm64), so a worker that
 * reads a field of a region being rewritten also sees the odd sequence before it, and no fence
 * is needed (which ThreadSanitizer could not follow). Every field shared with running workers
 * is accessed atomically: a late worker reads something it discards, never a torn value.
 */
struct thaw_threadpool {
  pthread_mutex_t mutex;
  pthread_cond_t region_started;  /* sleeping workers wait here for the next region */
  pthread_cond_t region_finished; /* a sleeping caller waits here for the last task */
  /* Under the mutex. */
  bool exiting;
  bool caller_sleeps;
  /* Atomic. */
  uint32_t sequence;  /* twice the number of regions published; odd while one is written */
  bool spin_allowed;  /* between thaw_threadpool_enter_run and thaw_threadpool_leave_run */
  region current;
  share *shares; /* one per thread, the caller's first */
  size_t finished_units;
  /* The caller's own. */
  bool started;
  size_t worker_count;
  worker workers[];
};

/* Where the shares start: after the workers, on a cache line of their own. */
static size_t shares_offset(size_t thread_count) {
  const size_t end = sizeof(thaw_threadpool) + (thread_count - 1) * sizeof(worker);
  return (end + THAW_PLATFORM_ALIGNMENT - 1) / THAW_PLATFORM_ALIGNMENT * THAW_PLATFORM_ALIGNMENT;
}

size_t thaw_threadpool_bytes(size_t thread_count) {
  size_t bytes;
  /* The bound keeps shares_offset from overflowing: a pool of that many threads could not be
   * allocated anyway. */
  if (thread_count == 0 || thread_count > SIZE_MAX / 2 / (sizeof(worker) + sizeof(share)) ||
      __builtin_mul_overflow(thread_count, sizeof(share), &bytes) ||
      __builtin_add_overflow(bytes, shares_offset(thread_count), &bytes))
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
  pool->shares = (share *)((char *)memory + shares_offset(thread_count));
  memset(pool->shares, 0, thread_count * sizeof(share));
  return pool;
}

/* Spins (pausing, and yielding now and then) until done(pool, argument) holds or SPIN_NS have
 * passed, or, for a worker, until the run ends; returns whether done() holds. */
static bool spin_until(const thaw_threadpool *pool, bool (*done)(const thaw_threadpool *, size_t),
                       size_t argument, bool only_inside_run) {
  uint64_t start = 0;
  for (unsigned pauses = 0;; pauses++) {
    if (done(pool, argument)) return true;
    if (only_inside_run && !__atomic_load_n(&pool->spin_allowed, __ATOMIC_RELAXED)) return false;
    if (pauses % PAUSES_PER_CLOCK_READ == 0) {
      const uint64_t now = thaw_monotonic_ns();
      if (pauses == 0) {
        start = now;
      } else {
        if (now - start >= SPIN_NS) return false;
        sched_yield();
      }
    }
    thaw_platform_spin_pause();
  }
}

/* ---- Workers ---- */

/* Whether a region other than the one with sequence `seen` is published. */
static bool region_published(const thaw_threadpool *pool, size_t seen) {
  const uint32_t sequence = __atomic_load_n(&pool->sequence, __ATOMIC_ACQUIRE);
  return sequence != (uint32_t)seen && sequence % 2 == 0;
}

/* Waits, spinning and then sleeping, until a region after `seen` is published or the pool is
 * exiting; returns false for the latter. */
static bool wait_for_region(thaw_threadpool *pool, uint32_t seen) {
  if (spin_until(pool, region_published, seen, true)) return true;
  pthread_mutex_lock(&pool->mutex);
  while (!region_published(pool, seen) && !pool->exiting)
    pthread_cond_wait(&pool->region_started, &pool->mutex);
  const bool exiting = pool->exiting;
  pthread_mutex_unlock(&pool->mutex);
  return !exiting;
}

/* Copies the latest published region into `work` and returns its sequence, or returns an odd
 * number when the caller rewrote the region meanwhile (a later one is then published). */
static uint32_t read_region(const thaw_threadpool *pool, region *work) {
  const uint32_t sequence = __atomic_load_n(&pool->sequence, __ATOMIC_ACQUIRE);
  work->task = __atomic_load_n(&pool->current.task, __ATOMIC_ACQUIRE);
  work->context = __atomic_load_n(&pool->current.context, __ATOMIC_ACQUIRE);
  work->task_count = __atomic_load_n(&pool->current.task_count, __ATOMIC_ACQUIRE);
  return __atomic_load_n(&pool->sequence, __ATOMIC_RELAXED) == sequence ? sequence : 1;
}

static size_t tasks_per_unit(size_t task_count) {
  return (task_count + MAX_UNITS - 1) / MAX_UNITS;
}

static size_t unit_count(size_t task_count) {
  const size_t per_unit = tasks_per_unit(task_count);
  return (task_count + per_unit - 1) / per_unit;
}

static uint64_t share_word(uint32_t sequence, size_t next, size_t end) {
  return (uint64_t)sequence << 32 | (uint64_t)next << 16 | (uint64_t)end;
}

/* Claims the next unit of a share of the region with `sequence`, or with `from_back` its last
 * one; false when the share is used up or belongs to another region. */
static bool claim_unit(share *s, uint32_t sequence, bool from_back, size_t *unit) {
  uint64_t word = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
  for (;;) {
    const size_t next = (size_t)(word >> 16 & UINT16_MAX), end = (size_t)(word & UINT16_MAX);
    if ((uint32_t)(word >> 32) != sequence || next >= end) return false;
    const uint64_t claimed = from_back ? word - 1 : word + (UINT64_C(1) << 16);
    if (__atomic_compare_exchange_n(&s->word, &word, claimed, true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      *unit = from_back ? end - 1 : next;
      return true;
    }
  }
}

/* Runs the units of the region with `sequence` that this thread can claim: its own share from
 * the front, then the others' from the back; returns how many it ran. */
static size_t run_units(thaw_threadpool *pool, uint32_t sequence, const region *work,
                        size_t thread_index) {
  const size_t thread_count = pool->worker_count + 1, per_unit = tasks_per_unit(work->task_count);
  size_t done = 0, unit;
  for (size_t k = 0; k < thread_count; k++) {
    share *s = &pool->shares[(thread_index + k) % thread_count];
    while (claim_unit(s, sequence, k > 0, &unit)) {
      const size_t first = unit * per_unit;
      const size_t end = first + per_unit < work->task_count ? first + per_unit : work->task_count;
      for (size_t task = first; task < end; task++) work->task(work->context, thread_index, task);
      done++;
    }
  }
  return done;
}

/* Counts a worker's units (with release: the caller reads their outputs once the count is
 * complete) and wakes the caller if it sleeps. A worker that ran none leaves the count alone:
 * its region may be over already. */
static void count_worker_units(thaw_threadpool *pool, size_t done, size_t units) {
  if (__atomic_add_fetch(&pool->finished_units, done, __ATOMIC_ACQ_REL) < units) return;
  pthread_mutex_lock(&pool->mutex);
  if (pool->caller_sleeps) pthread_cond_signal(&pool->region_finished);
  pthread_mutex_unlock(&pool->mutex);
}

static void *worker_main(void *argument) {
  const worker *self = argument;
  thaw_threadpool *pool = self->pool;
  /* A region published before this thread got here is the caller's to finish alone. */
  uint32_t seen = __atomic_load_n(&pool->sequence, __ATOMIC_ACQUIRE);
  while (wait_for_region(pool, seen)) {
    region work;
    seen = read_region(pool, &work);
    if (seen % 2 == 1) continue;
    const size_t done = run_units(pool, seen, &work, self->thread_index);
    if (done > 0) count_worker_units(pool, done, unit_count(work.task_count));
  }
  return NULL;
}

/* ---- The caller ---- */

static void join_workers(thaw_threadpool *pool, size_t count) {
  __atomic_store_n(&pool->spin_allowed, false, __ATOMIC_RELAXED);
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

void thaw_threadpool_enter_run(thaw_threadpool *pool) {
  __atomic_store_n(&pool->spin_allowed, true, __ATOMIC_RELAXED);
}

void thaw_threadpool_leave_run(thaw_threadpool *pool) {
  __atomic_store_n(&pool->spin_allowed, false, __ATOMIC_RELAXED);
}

static bool region_complete(const thaw_threadpool *pool, size_t units) {
  return __atomic_load_n(&pool->finished_units, __ATOMIC_ACQUIRE) == units;
}

void thaw_threadpool_run(thaw_threadpool *pool, size_t task_count, thaw_parallel_task task,
                         void *context) {
  if (!pool->started || task_count <= 1) {
    for (size_t i = 0; i < task_count; i++) task(context, 0, i);
    return;
  }
  const size_t thread_count = pool->worker_count + 1, units = unit_count(task_count);
  const uint32_t sequence = __atomic_load_n(&pool->sequence, __ATOMIC_RELAXED) + 2;
  __atomic_store_n(&pool->sequence, sequence - 1, __ATOMIC_RELAXED);
  __atomic_store_n(&pool->current.task, task, __ATOMIC_RELEASE);
  __atomic_store_n(&pool->current.context, context, __ATOMIC_RELEASE);
  __atomic_store_n(&pool->current.task_count, task_count, __ATOMIC_RELEASE);
  __atomic_store_n(&pool->finished_units, 0, __ATOMIC_RELAXED);
  /* Shares rounded up, so that the caller, which is surely awake, has one even when there are
   * fewer units than threads. */
  for (size_t t = 0; t < thread_count; t++)
    __atomic_store_n(&pool->shares[t].word,
                     share_word(sequence, (t * units + thread_count - 1) / thread_count,
                                ((t + 1) * units + thread_count - 1) / thread_count),
                     __ATOMIC_RELAXED);
  __atomic_store_n(&pool->sequence, sequence, __ATOMIC_RELEASE);
  /* Spinning workers have seen the sequence already; this wakes the sleeping ones (it costs a
   * lock when none sleeps). */
  pthread_mutex_lock(&pool->mutex);
  pthread_cond_broadcast(&pool->region_started);
  pthread_mutex_unlock(&pool->mutex);

  const region work = {task, context, task_count};
  const size_t done = run_units(pool, sequence, &work, 0);
  if (__atomic_add_fetch(&pool->finished_units, done, __ATOMIC_ACQ_REL) == units) return;
  if (spin_until(pool, region_complete, units, false)) return;
  pthread_mutex_lock(&pool->mutex);
  pool->caller_sleeps = true;
  while (!region_complete(pool, units))
    pthread_cond_wait(&pool->region_finished, &pool->mutex);
  pool->caller_sleeps = false;
  pthread_mutex_unlock(&pool->mutex);
}
