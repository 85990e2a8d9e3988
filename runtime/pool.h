/*
 * A thaw_pool (thaw.h): worker threads that several sessions use, one run at a time. A run
 * takes the pool's threads for its duration; a run that finds them taken by another session's
 * run goes on without them, on its caller's thread, which the split rules make give the same
 * bytes. It never waits: a run's latency and deadline depend on its own work only.
 */
#ifndef THAW_RUNTIME_POOL_H
#define THAW_RUNTIME_POOL_H

#include <stddef.h>

#include "runtime/threadpool.h"
#include "thaw.h"

/* The pool's threads for one run, or NULL while another run holds them. */
thaw_threadpool *thaw_pool_take(thaw_pool *pool);
/* Ends the hold of a run that took the threads. */
void thaw_pool_give_back(thaw_pool *pool);
/* Threads per run, the caller's included. */
size_t thaw_pool_thread_count(const thaw_pool *pool);

#endif /* THAW_RUNTIME_POOL_H */
