/*
 * The worker threads of one session. Nothing starts when the pool is placed: the threads are
 * created at the first run that needs them, so opening a model and creating a session cost the
 * same at any thread count. Inside a run, a worker that finished a region spins for a short
 * while waiting for the next one (the session's nodes follow each other by microseconds, and
 * waking a sleeping thread costs tens); once the run ends, or after that short while, the
 * workers sleep on a condition variable: an idle session burns no CPU.
 *
 * One region at a time, started by the session's own thread, which takes tasks too (thread
 * index 0; workers are 1 .. thread_count - 1). Each thread starts on its own contiguous share
 * of the tasks, in thread order (of n tasks on T threads, thread t's share starts at task
 * ceil(t * n / T)), so that consecutive nodes split alike leave each output on the core that
 * produced it; a thread that finishes early then takes tasks from the back of the others'.
 * (Regions of more than 65535 tasks deal them out in groups of consecutive tasks.)
 */
#ifndef THAW_RUNTIME_THREADPOOL_H
#define THAW_RUNTIME_THREADPOOL_H

#include <stddef.h>

#include "kernels/kernels.h"
#include "thaw.h"

typedef struct thaw_threadpool thaw_threadpool;

/* The most threads a session or a shared pool runs on, the caller's included: more than any
 * machine a function runs on has cores, and a bound on a session's size. */
#define THAW_THREADPOOL_MAX_THREADS 256

/* Bytes for a pool of `thread_count` threads (the caller's included), THAW_PLATFORM_ALIGNMENT
 * aligned; SIZE_MAX when that does not fit. */
size_t thaw_threadpool_bytes(size_t thread_count);
/* Prepares a pool in `memory` (thaw_threadpool_bytes); starts no thread. */
thaw_threadpool *thaw_threadpool_place(void *memory, size_t thread_count);
/* Starts the workers unless they run already. On failure no worker is left running,
 * THAW_STATUS_OUT_OF_MEMORY is returned and the next call tries again. */
thaw_status thaw_threadpool_start(thaw_threadpool *pool, thaw_error *error);
/* Joins the workers (if they were started) and releases the pool's synchronisation objects;
 * the memory stays the caller's. */
void thaw_threadpool_release(thaw_threadpool *pool);
/* Brackets a run: between the two, workers spin briefly between regions instead of going
 * straight to sleep; after leave_run they sleep as soon as they are out of work. */
void thaw_threadpool_enter_run(thaw_threadpool *pool);
void thaw_threadpool_leave_run(thaw_threadpool *pool);
/* Runs task(context, thread_index, i) for every i < task_count on the caller and the started
 * workers, and returns when every task has returned. */
void thaw_threadpool_run(thaw_threadpool *pool, size_t task_count, thaw_parallel_task task,
                         void *context);

#endif /* THAW_RUNTIME_THREADPOOL_H */
