#include "runtime/pool.h"

#include <inttypes.h>

#include "formats/format.h"
#include "runtime/platform.h"

/* The header, then the threads, in one allocation. */
struct thaw_pool {
  thaw_threadpool *threads;
  size_t thread_count;
  int held; /* atomic: 1 while a run holds the threads */
};

/* Where the threads start: after the header, on a cache line of their own. */
static size_t threads_offset(void) {
  return (sizeof(struct thaw_pool) + THAW_PLATFORM_ALIGNMENT - 1) / THAW_PLATFORM_ALIGNMENT *
         THAW_PLATFORM_ALIGNMENT;
}

thaw_status thaw_pool_create(uint32_t threads, thaw_pool **pool, thaw_error *error) {
  if (pool != NULL) *pool = NULL;
  if (pool == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_pool_create: pool must not be NULL");
  }
  if (threads < 2 || threads > THAW_THREADPOOL_MAX_THREADS) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_pool_create: %" PRIu32
                          " threads requested, a pool has 2 to %d (the caller's included)",
                          threads, THAW_THREADPOOL_MAX_THREADS);
  }
  const size_t bytes = threads_offset() + thaw_threadpool_bytes(threads);
  char *memory = thaw_platform_aligned_alloc(bytes);
  if (memory == NULL) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "cannot allocate %zu bytes for a pool of %" PRIu32 " threads", bytes,
                          threads);
  }
  thaw_pool *result = (thaw_pool *)memory;
  result->threads = thaw_threadpool_place(memory + threads_offset(), threads);
  result->thread_count = threads;
  result->held = 0;
  *pool = result;
  return THAW_OK;
}

void thaw_pool_destroy(thaw_pool *pool) {
  if (pool == NULL) return;
  thaw_threadpool_release(pool->threads);
  thaw_platform_free(pool);
}

/* Acquire and release order what one run's caller left in the threads' state (whether they
 * started, the region sequence) before the next caller, on another thread, reads it. */
thaw_threadpool *thaw_pool_take(thaw_pool *pool) {
  return __atomic_exchange_n(&pool->held, 1, __ATOMIC_ACQUIRE) == 0 ? pool->threads : NULL;
}

void thaw_pool_give_back(thaw_pool *pool) { __atomic_store_n(&pool->held, 0, __ATOMIC_RELEASE); }

size_t thaw_pool_thread_count(const thaw_pool *pool) { return pool->thread_count; }
