/*
 * What threads buy and what they cost, measured side by side in one process:
 *
 *     thaw_threads [--threads N] [--runs R] MODEL.thaw...     (N >= 2, default 2)
 *
 * First the pool's hand-off, on its own (one JSON line, "handoff"): R x 50 regions of N tasks
 * of about 20 us of arithmetic each, with 10 us of work on the calling thread between regions
 * (a one-thread node), timed on one thread and on the pool of N; "overhead_us" is what a
 * region takes beyond the ideal (the gap plus one task). Measured twice: with the regions back
 * to back inside a run, where workers spin between regions, and with a 1 ms pause before each
 * region, after which the workers sleep and the region pays for waking them.
 *
 * Then, per model, one JSON line:
 * - model ready (thaw_model_open + thaw_session_create) with 1 and with N threads, alternated,
 *   R times each: threads start at the first run, so both should be the same;
 * - steady latency of a 1-thread and an N-thread session on the same inputs, run alternately
 *   R times after a warm-up (load from other processes hits both alike), and their ratio;
 *   the two sessions' outputs must be the same bytes;
 * - the CPU time (task-clock) of those runs, of the whole process and of the caller's thread
 *   alone: on a machine whose other cores are busy (shared by other users) the wall-clock ratio
 *   says little, while the busiest thread's CPU time bounds what N free cores could give
 *   ("cpu_bound_speedup" = 1-thread CPU time / the busiest thread's CPU time; a thread that
 *   spins waiting for another burns CPU meanwhile, so this understates what free cores give);
 * - how busy the machine was meanwhile: "other_cpus_busy", the CPUs' worth of time that other
 *   processes ran from the timed runs to the end of the idle samples (/proc/stat minus this
 *   process, over 2.5 s or more);
 * - what the machine gave N threads meanwhile: after each pair of runs, the same GEMM of
 *   operands that stay in a core's L2 (thaw's own kernels, ~0.5 ms) on one thread and then on
 *   each of N threads at once; "machine_speedup", N times the first median over the second,
 *   is what a perfectly split, cache-resident model could gain in those minutes (under N when
 *   the vCPUs share cores or other processes run), and "speedup_of_machine" the model's
 *   speed-up over it;
 * - how far apart the cores were: "round_trip_ns", the median time for a cache line to go from
 *   the calling thread to another and back (2000 times, before and after each round). A
 *   model's threads read what the other cores wrote at every node, and on a virtual machine
 *   this moves by 5x from second to second as the host places the vCPUs on nearby or distant
 *   cores (on this project's 2-vCPU VM: 25-30 ns on one core's two hardware threads, 50-80 ns
 *   on nearby cores, 300-400 ns on distant ones). "speedup_shared_core", "speedup_near" and
 *   "speedup_far" are the medians of the speed-ups of the rounds (1-thread time over N-thread
 *   time of the round's pair) by their slower round trip, under SHARED_CORE_ROUND_TRIP_NS,
 *   under FAR_ROUND_TRIP_NS and over it, each with its count of rounds (0 for none);
 * - idle CPU: the CPU time of all the process's threads across a 500 ms sleep right after an
 *   N-thread run, the worst of 5: what the workers burn once a run has returned.
 *
 * `thaw_threads --round-trip` prints the round trip alone, the median of five, and its
 * placement ({"round_trip_ns": 64.0, "placement": "near"}), for scripts that file other
 * programs' runs by it.
 *
 * `thaw_threads --pipeline [--threads N] [--runs R] MODEL.thaw...` runs the models' sessions
 * in turn, as the stages of one request (an OCR pipeline's detector, classifier and
 * recogniser), R rounds, alternating between sessions with N threads of their own and sessions
 * on one thaw_pool of N, and prints one JSON line: each set's median round, the workers each
 * set started (the process's threads before and after its first rounds), and whether every
 * output is the same bytes.
 *
 * Inputs as thaw_e2e fills them: floats cycling through [-1, 1), integers and booleans 1.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "runtime/platform.h"
#include "runtime/threadpool.h"
#include "bench_inputs.h"
#include "thaw.h"

enum { IDLE_SAMPLES = 5, IDLE_SLEEP_MS = 500, WARMUP_RUNS = 3, MAX_COUNT = 100000 };

static double now_ms(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec / 1e6;
}

static double clock_ms(clockid_t clock) {
  struct timespec time;
  if (clock_gettime(clock, &time) != 0) return 0;
  return (double)time.tv_sec * 1e3 + (double)time.tv_nsec / 1e6;
}

/* The CPU clocks of the process's threads, listed once the sessions' workers have started.
 * getrusage(RUSAGE_SELF) and CLOCK_PROCESS_CPUTIME_ID leave out what another thread has run on
 * another core since the kernel last booked it (at its last tick or switch, up to a few ms
 * ago): the tail of a worker's share of a run would count as CPU burned after the run. A
 * thread's own CPU clock includes it. */
enum { MAX_THREADS = 64 };
typedef struct thread_clocks {
  clockid_t clocks[MAX_THREADS];
  size_t count;
} thread_clocks;

static void list_thread_clocks(thread_clocks *list) {
  list->count = 0;
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == NULL) return;
  const struct dirent *entry;
  while ((entry = readdir(tasks)) != NULL && list->count < MAX_THREADS) {
    if (entry->d_name[0] == '.') continue;
    const pid_t tid = (pid_t)strtol(entry->d_name, NULL, 10);
    /* A thread's CPU clock id, made as glibc's pthread_getcpuclockid makes it (Linux ABI:
     * the complemented tid, "per thread", "scheduler time"). */
    list->clocks[list->count++] = (clockid_t)((~(unsigned)tid << 3) | 6u);
  }
  closedir(tasks);
}

static double process_cpu_ms(const thread_clocks *list) {
  double total = 0;
  for (size_t i = 0; i < list->count; i++) total += clock_ms(list->clocks[i]);
  return total;
}

/* CPU time all processes have run on the machine, from /proc/stat (all but idle and iowait). */
static double machine_busy_ms(void) {
  FILE *file = fopen("/proc/stat", "r");
  if (file == NULL) return 0;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  const int fields = fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
                            &system, &idle, &iowait, &irq, &softirq, &steal);
  fclose(file);
  if (fields != 8) return 0;
  return (double)(user + nice + system + irq + softirq + steal) * 1e3 /
         (double)sysconf(_SC_CLK_TCK);
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, size_t count) {
  qsort(values, count, sizeof *values, compare_doubles);
  return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static double median_or_zero(double *values, size_t count) {
  return count > 0 ? median(values, count) : 0;
}

static void fill_inputs(const thaw_model *model, thaw_session *session) {
  for (size_t i = 0; i < thaw_model_input_count(model); i++) {
    thaw_tensor input;
    thaw_session_input(session, i, &input);
    thaw_bench_fill_input(&input, thaw_dtype_size(input.dtype));
  }
}

/* Whether two sessions of `model` hold the same output bytes. */
static bool same_outputs(const thaw_model *model, thaw_session *a, thaw_session *b) {
  bool same = true;
  for (size_t o = 0; o < thaw_model_output_count(model); o++) {
    thaw_tensor from_a, from_b;
    thaw_session_output(a, o, &from_a);
    thaw_session_output(b, o, &from_b);
    same &= from_a.size_bytes == from_b.size_bytes &&
            memcmp(from_a.data, from_b.data, from_a.size_bytes) == 0;
  }
  return same;
}

static int fail(const char *what, const thaw_error *error) {
  fprintf(stderr, "thaw_threads: %s: %s\n", what, error->message);
  return 1;
}

/* ---- The pool's hand-off ---- */

enum { HANDOFF_REGIONS = 50, HANDOFF_TASK_US = 20, HANDOFF_GAP_US = 10, COLD_PAUSE_US = 1000 };

static volatile uint64_t arithmetic_sink;

/* A chain of dependent multiply-adds: the same time on any core, whatever the caches hold. */
static void arithmetic(uint64_t iterations, uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t i = 0; i < iterations; i++) x = x * 6364136223846793005u + 1442695040888963407u;
  arithmetic_sink = x;
}

static uint64_t task_iterations;

static void arithmetic_task(void *context, size_t thread_index, size_t task_index) {
  (void)context;
  (void)thread_index;
  arithmetic(task_iterations, task_index);
}

/* Iterations of arithmetic() that take `us` microseconds: the fastest of a few timings. */
static uint64_t iterations_for(double us) {
  enum { PROBE = 200000 };
  double fastest_ms = 1e9;
  for (int i = 0; i < 5; i++) {
    const double start = now_ms();
    arithmetic(PROBE, (uint64_t)i);
    const double elapsed = now_ms() - start;
    if (elapsed < fastest_ms) fastest_ms = elapsed;
  }
  return (uint64_t)(us * 1e-3 / fastest_ms * PROBE) + 1;
}

/* Median microseconds of a region (the gap's work on the caller, then `tasks` tasks on the
 * pool, or on the caller alone when pool is NULL), each after a pause of `pause_us`. */
static double median_region_us(thaw_threadpool *pool, size_t tasks, uint64_t gap_iterations,
                               long pause_us, double *samples, size_t count) {
  for (size_t r = 0; r < count; r++) {
    if (pause_us > 0) nanosleep(&(const struct timespec){0, pause_us * 1000L}, NULL);
    const double start = now_ms();
    arithmetic(gap_iterations, r);
    if (pool != NULL) {
      thaw_threadpool_run(pool, tasks, arithmetic_task, NULL);
    } else {
      for (size_t t = 0; t < tasks; t++) arithmetic_task(NULL, 0, t);
    }
    samples[r] = (now_ms() - start) * 1e3;
  }
  return median(samples, count);
}

static int measure_handoff(unsigned long threads, unsigned long runs) {
  const size_t count = runs * HANDOFF_REGIONS;
  double *samples = malloc(count * sizeof(double));
  void *memory = thaw_platform_aligned_alloc(thaw_threadpool_bytes(threads));
  if (samples == NULL || memory == NULL) {
    fputs("thaw_threads: out of memory\n", stderr);
    return 1;
  }
  thaw_threadpool *pool = thaw_threadpool_place(memory, threads);
  thaw_error error;
  if (thaw_threadpool_start(pool, &error) != THAW_OK) return fail("hand-off pool", &error);
  task_iterations = iterations_for(HANDOFF_TASK_US);
  const uint64_t gap_iterations = iterations_for(HANDOFF_GAP_US);
  const double gap_us = median_region_us(NULL, 0, gap_iterations, 0, samples, count);
  const double task_us = median_region_us(NULL, 1, 0, 0, samples, count);
  const double serial_us = median_region_us(NULL, threads, gap_iterations, 0, samples, count);
  thaw_threadpool_enter_run(pool);
  const double warm_us = median_region_us(pool, threads, gap_iterations, 0, samples, count);
  const double cold_us =
      median_region_us(pool, threads, gap_iterations, COLD_PAUSE_US, samples, count);
  thaw_threadpool_leave_run(pool);
  thaw_threadpool_release(pool);
  thaw_platform_free(memory);
  const double ideal_us = gap_us + task_us;
  printf("{\"handoff\": {\"threads\": %lu, \"regions\": %zu, \"task_us\": %.2f, \"gap_us\": %.2f, "
         "\"one_thread_region_us\": %.2f, \"warm_region_us\": %.2f, \"warm_overhead_us\": %.2f, "
         "\"cold_region_us\": %.2f, \"cold_overhead_us\": %.2f}}\n",
         threads, count, task_us, gap_us, serial_us, warm_us, warm_us - ideal_us, cold_us,
         cold_us - ideal_us);
  free(samples);
  return 0;
}

/* ---- What the machine gives N threads ---- */

enum { PROBE_M = 64, PROBE_N = 64, PROBE_K = 256, PROBE_REPEATS = 20 };

/* Each thread's operands: A and C its own, the packed B shared (read only), 192 KiB in all. */
typedef struct machine_probe {
  thaw_threadpool *pool;
  const thaw_kernels *kernels;
  thaw_gemm_params gemm;
  float *a, *packed_b, *c;
  char *scratch;
  size_t scratch_stride;
} machine_probe;

static void probe_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const machine_probe *probe = context;
  for (int r = 0; r < PROBE_REPEATS; r++)
    probe->kernels->f32_gemm(&probe->gemm, probe->a + task_index * PROBE_M * PROBE_K,
                             probe->packed_b, NULL, probe->c + task_index * PROBE_M * PROBE_N,
                             probe->scratch + task_index * probe->scratch_stride,
                             &thaw_parallel_serial);
}

static int probe_create(machine_probe *probe, unsigned long threads) {
  *probe = (machine_probe){
      .kernels = thaw_kernels_get(),
      .gemm = {.m = PROBE_M, .n = PROBE_N, .k = PROBE_K, .a_row_stride = PROBE_K,
               .a_k_stride = 1, .b_packed = true, .c_row_stride = PROBE_N,
               .bias = THAW_GEMM_BIAS_NONE, .activation = {THAW_KERNEL_IDENTITY, 0, 0}},
  };
  probe->scratch_stride =
      thaw_scratch_slice_bytes(probe->kernels->f32_gemm_scratch_size(&probe->gemm));
  float *b = malloc(PROBE_K * PROBE_N * sizeof(float));
  void *pool = thaw_platform_aligned_alloc(thaw_threadpool_bytes(threads));
  probe->a = thaw_platform_aligned_alloc(threads * PROBE_M * PROBE_K * sizeof(float));
  probe->packed_b = thaw_platform_aligned_alloc(thaw_f32_gemm_packed_b_size(PROBE_K, PROBE_N));
  probe->c = thaw_platform_aligned_alloc(threads * PROBE_M * PROBE_N * sizeof(float));
  probe->scratch =
      thaw_platform_aligned_alloc(threads * probe->scratch_stride + THAW_SCRATCH_ALIGNMENT);
  if (b == NULL || pool == NULL || probe->a == NULL || probe->packed_b == NULL ||
      probe->c == NULL || probe->scratch == NULL) {
    fputs("thaw_threads: out of memory\n", stderr);
    return 1;
  }
  /* Any finite values: the GEMM's time does not depend on them. */
  for (size_t i = 0; i < threads * PROBE_M * PROBE_K; i++) probe->a[i] = (float)(i % 7) - 3.0f;
  for (size_t i = 0; i < PROBE_K * PROBE_N; i++) b[i] = (float)(i % 5) - 2.0f;
  thaw_f32_gemm_pack_b(PROBE_K, PROBE_N, b, PROBE_N, 1, probe->packed_b);
  free(b);
  probe->pool = thaw_threadpool_place(pool, threads);
  thaw_error error;
  return thaw_threadpool_start(probe->pool, &error) == THAW_OK ? 0 : fail("probe pool", &error);
}

static void probe_destroy(machine_probe *probe) {
  thaw_threadpool_release(probe->pool);
  thaw_platform_free(probe->pool);
  thaw_platform_free(probe->a);
  thaw_platform_free(probe->packed_b);
  thaw_platform_free(probe->c);
  thaw_platform_free(probe->scratch);
}

static void nothing_task(void *context, size_t thread_index, size_t task_index) {
  (void)context;
  (void)thread_index;
  (void)task_index;
}

enum { ROUND_TRIPS = 2000, WARM_UP_TRIPS = 500 };
enum { SHARED_CORE_ROUND_TRIP_NS = 40, FAR_ROUND_TRIP_NS = 150 };
enum { SHARED_CORE, NEAR, FAR, PLACEMENTS };
static const char *const placement_names[PLACEMENTS] = {"shared_core", "near", "far"};

static int placement(double round_trip_ns) {
  return round_trip_ns < SHARED_CORE_ROUND_TRIP_NS ? SHARED_CORE
         : round_trip_ns < FAR_ROUND_TRIP_NS       ? NEAR
                                                   : FAR;
}

/* The other end of the ping-pong: moves the counter from odd to even. */
static void *answer_pings(void *argument) {
  uint32_t *turn = argument;
  for (uint32_t i = 1; i < 2 * (WARM_UP_TRIPS + ROUND_TRIPS); i += 2) {
    while (__atomic_load_n(turn, __ATOMIC_ACQUIRE) != i) thaw_platform_spin_pause();
    __atomic_store_n(turn, i + 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Nanoseconds for a cache line to go from this thread to another and back, or -1 when no
 * thread can be started. The other end is a thread of its own (the pool's workers could be
 * asleep or not yet started), and the first trips, untimed, wait for it to run. */
static double round_trip_ns(void) {
  _Alignas(THAW_PLATFORM_ALIGNMENT) uint32_t turn = 0;
  pthread_t thread;
  if (pthread_create(&thread, NULL, answer_pings, &turn) != 0) return -1;
  double start = 0;
  for (uint32_t i = 0; i < 2 * (WARM_UP_TRIPS + ROUND_TRIPS); i += 2) {
    if (i == 2 * WARM_UP_TRIPS) start = now_ms();
    __atomic_store_n(&turn, i + 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != i + 2) thaw_platform_spin_pause();
  }
  const double elapsed = now_ms() - start;
  pthread_join(thread, NULL);
  return elapsed * 1e6 / ROUND_TRIPS;
}

/* Milliseconds of the probe's work on one thread (tasks 1) or on each thread of the pool. The
 * workers are woken by an empty region first and spin meanwhile: the probe is the cores'
 * speed, not the hand-off's (which the "handoff" line measures). */
static double probe_ms(machine_probe *probe, size_t tasks) {
  if (tasks == 1) {
    const double start = now_ms();
    probe_task(probe, 0, 0);
    return now_ms() - start;
  }
  thaw_threadpool_enter_run(probe->pool);
  thaw_threadpool_run(probe->pool, tasks, nothing_task, NULL);
  const double start = now_ms();
  thaw_threadpool_run(probe->pool, tasks, probe_task, probe);
  const double elapsed = now_ms() - start;
  thaw_threadpool_leave_run(probe->pool);
  return elapsed;
}

/* ---- Models ---- */

static thaw_status create(const thaw_model *model, unsigned long threads, thaw_session **session,
                          thaw_error *error) {
  const thaw_session_options options = {.threads = (uint32_t)threads};
  return thaw_session_create(model, &options, session, error);
}

/* Per round of a model's measurements, on 1 thread ([0]) and on N ([1]). */
typedef struct samples {
  double *ready[2], *latency[2], *probe[2];
  double *round_trip, *speedup[PLACEMENTS];
} samples;

static int measure_model(const char *path, unsigned long threads, unsigned long runs,
                         machine_probe *probe, const samples *samples) {
  double *const *ready = samples->ready, *const *latency = samples->latency;
  thaw_error error;
  const unsigned long thread_counts[2] = {1, threads};
  for (unsigned long r = 0; r < runs; r++) {
    for (int s = 0; s < 2; s++) {
      thaw_model *model;
      thaw_session *session;
      const double start = now_ms();
      if (thaw_model_open(path, 0, &model, &error) != THAW_OK) return fail(path, &error);
      if (create(model, thread_counts[s], &session, &error) != THAW_OK)
        return fail("session", &error);
      ready[s][r] = now_ms() - start;
      thaw_session_destroy(session);
      thaw_model_close(model);
    }
  }

  thaw_model *model;
  thaw_session *sessions[2];
  if (thaw_model_open(path, 0, &model, &error) != THAW_OK) return fail(path, &error);
  for (int s = 0; s < 2; s++) {
    if (create(model, thread_counts[s], &sessions[s], &error) != THAW_OK)
      return fail("session", &error);
    fill_inputs(model, sessions[s]);
    for (int w = 0; w < WARMUP_RUNS; w++)
      if (thaw_session_run(sessions[s], NULL, &error) != THAW_OK) return fail("run", &error);
  }
  thread_clocks threads_now;
  list_thread_clocks(&threads_now);
  double process_cpu[2] = {0, 0}, caller_cpu[2] = {0, 0};
  const double machine_before = machine_busy_ms();
  const double process_before_all = process_cpu_ms(&threads_now);
  const double wall_before = now_ms();
  size_t rounds[PLACEMENTS] = {0};
  for (unsigned long r = 0; r < runs; r++) {
    /* The probes evict the caches and their thread may move this one to another core: an
     * untimed run of each session after them, so that each timed run finds its data where a
     * run left it and directly follows the other session's, as without the probes; and the
     * sessions take turns at going first. */
    const double round_trip_before = round_trip_ns();
    const int order[2] = {(int)(r % 2), (int)(1 - r % 2)};
    for (int i = 0; i < 2; i++)
      if (thaw_session_run(sessions[order[i]], NULL, &error) != THAW_OK)
        return fail("run", &error);
    for (int i = 0; i < 2; i++) {
      const int s = order[i];
      const double process_before = process_cpu_ms(&threads_now);
      const double caller_before = clock_ms(CLOCK_THREAD_CPUTIME_ID);
      const double start = now_ms();
      if (thaw_session_run(sessions[s], NULL, &error) != THAW_OK) return fail("run", &error);
      latency[s][r] = now_ms() - start;
      caller_cpu[s] += clock_ms(CLOCK_THREAD_CPUTIME_ID) - caller_before;
      process_cpu[s] += process_cpu_ms(&threads_now) - process_before;
    }
    const double round_trip_after = round_trip_ns();
    if (round_trip_before < 0 || round_trip_after < 0) {
      fputs("thaw_threads: cannot start a thread\n", stderr);
      return 1;
    }
    samples->probe[0][r] = probe_ms(probe, 1);
    samples->probe[1][r] = probe_ms(probe, threads);
    samples->round_trip[r] = round_trip_after;
    const int where = placement(round_trip_before > round_trip_after ? round_trip_before
                                                                      : round_trip_after);
    samples->speedup[where][rounds[where]++] = latency[0][r] / latency[1][r];
  }
  /* The workers' share is spread over threads - 1 of them; the busiest thread bounds the run. */
  const double worker_cpu = (process_cpu[1] - caller_cpu[1]) / (double)(threads - 1);
  const double busiest_cpu = caller_cpu[1] > worker_cpu ? caller_cpu[1] : worker_cpu;
  const bool identical = same_outputs(model, sessions[0], sessions[1]);

  double idle_cpu_ms = 0;
  for (int i = 0; i < IDLE_SAMPLES; i++) {
    if (thaw_session_run(sessions[1], NULL, &error) != THAW_OK) return fail("run", &error);
    const double before = process_cpu_ms(&threads_now);
    nanosleep(&(const struct timespec){0, IDLE_SLEEP_MS * 1000000L}, NULL);
    const double burned = process_cpu_ms(&threads_now) - before;
    if (burned > idle_cpu_ms) idle_cpu_ms = burned;
  }
  const double other_cpus_busy =
      (machine_busy_ms() - machine_before - (process_cpu_ms(&threads_now) - process_before_all)) /
      (now_ms() - wall_before);

  const double ready_1 = median(ready[0], runs), ready_n = median(ready[1], runs);
  const double latency_1 = median(latency[0], runs), latency_n = median(latency[1], runs);
  const double machine_speedup = (double)threads * median(samples->probe[0], runs) /
                                 median(samples->probe[1], runs);
  printf("{\"model\": \"%s\", \"threads\": %lu, \"runs\": %lu, \"model_ready_ms_1\": %.4f, "
         "\"model_ready_ms_n\": %.4f, \"latency_ms_1\": %.4f, \"latency_ms_n\": %.4f, "
         "\"speedup\": %.3f, \"machine_speedup\": %.3f, \"speedup_of_machine\": %.3f, "
         "\"round_trip_ns\": %.1f, "
         "\"cpu_ms_per_run_1\": %.4f, \"cpu_ms_per_run_n\": %.4f, "
         "\"caller_cpu_share_n\": %.3f, \"cpu_bound_speedup\": %.3f, "
         "\"other_cpus_busy\": %.2f, \"identical_outputs\": %s, "
         "\"idle_cpu_ms_per_500ms\": %.3f",
         path, threads, runs, ready_1, ready_n, latency_1, latency_n, latency_1 / latency_n,
         machine_speedup, latency_1 / latency_n / machine_speedup,
         median(samples->round_trip, runs),
         process_cpu[0] / (double)runs, process_cpu[1] / (double)runs,
         caller_cpu[1] / process_cpu[1], process_cpu[0] / busiest_cpu, other_cpus_busy,
         identical ? "true" : "false", idle_cpu_ms);
  for (int p = 0; p < PLACEMENTS; p++)
    printf(", \"speedup_%s\": %.3f, \"rounds_%s\": %zu", placement_names[p],
           median_or_zero(samples->speedup[p], rounds[p]), placement_names[p], rounds[p]);
  puts("}");
  fflush(stdout);
  for (int s = 0; s < 2; s++) thaw_session_destroy(sessions[s]);
  thaw_model_close(model);
  return identical ? 0 : 1;
}

/* ---- Sessions sharing a pool ---- */

enum { MAX_PIPELINE_MODELS = 8 };
enum { OWN_THREADS, SHARED_POOL };

static size_t process_thread_count(void) {
  thread_clocks list;
  list_thread_clocks(&list);
  return list.count;
}

static int measure_pipeline(char **paths, int count, unsigned long threads, unsigned long runs,
                            double *const rounds[2]) {
  if (count > MAX_PIPELINE_MODELS) {
    fprintf(stderr, "thaw_threads: a pipeline of at most %d models\n", MAX_PIPELINE_MODELS);
    return 2;
  }
  thaw_error error;
  thaw_pool *pool;
  if (thaw_pool_create((uint32_t)threads, &pool, &error) != THAW_OK) return fail("pool", &error);
  thaw_model *models[MAX_PIPELINE_MODELS];
  thaw_session *sessions[2][MAX_PIPELINE_MODELS];
  for (int m = 0; m < count; m++) {
    if (thaw_model_open(paths[m], 0, &models[m], &error) != THAW_OK) return fail(paths[m], &error);
    for (int set = 0; set < 2; set++) {
      const thaw_session_options options =
          set == OWN_THREADS ? (thaw_session_options){.threads = (uint32_t)threads}
                             : (thaw_session_options){.pool = pool};
      if (thaw_session_create(models[m], &options, &sessions[set][m], &error) != THAW_OK)
        return fail("session", &error);
      fill_inputs(models[m], sessions[set][m]);
    }
  }
  size_t workers[2], thread_count = process_thread_count();
  for (int set = 0; set < 2; set++) {
    for (int w = 0; w < WARMUP_RUNS; w++)
      for (int m = 0; m < count; m++)
        if (thaw_session_run(sessions[set][m], NULL, &error) != THAW_OK)
          return fail("run", &error);
    const size_t now_running = process_thread_count();
    workers[set] = now_running - thread_count;
    thread_count = now_running;
  }
  for (unsigned long r = 0; r < runs; r++) {
    for (int i = 0; i < 2; i++) {
      const int set = (int)((r + (unsigned long)i) % 2);
      const double start = now_ms();
      for (int m = 0; m < count; m++)
        if (thaw_session_run(sessions[set][m], NULL, &error) != THAW_OK)
          return fail("run", &error);
      rounds[set][r] = now_ms() - start;
    }
  }
  bool identical = true;
  for (int m = 0; m < count; m++)
    identical &= same_outputs(models[m], sessions[OWN_THREADS][m], sessions[SHARED_POOL][m]);
  const double own_ms = median(rounds[OWN_THREADS], runs);
  const double shared_ms = median(rounds[SHARED_POOL], runs);
  printf("{\"pipeline\": [");
  for (int m = 0; m < count; m++) printf("%s\"%s\"", m > 0 ? ", " : "", paths[m]);
  printf("], \"threads\": %lu, \"rounds\": %lu, \"own_threads_ms\": %.4f, "
         "\"shared_pool_ms\": %.4f, \"shared_over_own\": %.3f, \"workers_own_threads\": %zu, "
         "\"workers_shared_pool\": %zu, \"identical_outputs\": %s}\n",
         threads, runs, own_ms, shared_ms, shared_ms / own_ms, workers[OWN_THREADS],
         workers[SHARED_POOL], identical ? "true" : "false");
  for (int m = 0; m < count; m++) {
    for (int set = 0; set < 2; set++) thaw_session_destroy(sessions[set][m]);
    thaw_model_close(models[m]);
  }
  thaw_pool_destroy(pool);
  return identical ? 0 : 1;
}

static int parse_count(const char *text, unsigned long *count) {
  char *end;
  errno = 0;
  const unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value == 0 ||
      value > MAX_COUNT)
    return -1;
  *count = value;
  return 0;
}

/* Options anywhere; every other argument is a model, moved to the front of argv. Returns the
 * number of models (0 only with --round-trip), or -1. */
static int parse_arguments(int argc, char **argv, unsigned long *threads, unsigned long *runs,
                           bool *round_trip_only, bool *pipeline) {
  int models = 0;
  for (int i = 1; i < argc; i++) {
    const int has_value = i + 1 < argc;
    if (strcmp(argv[i], "--round-trip") == 0) {
      *round_trip_only = true;
    } else if (strcmp(argv[i], "--pipeline") == 0) {
      *pipeline = true;
    } else if (strcmp(argv[i], "--threads") == 0 && has_value) {
      if (parse_count(argv[++i], threads) != 0 || *threads < 2) return -1;
    } else if (strcmp(argv[i], "--runs") == 0 && has_value) {
      if (parse_count(argv[++i], runs) != 0) return -1;
    } else if (argv[i][0] != '-') {
      argv[models++] = argv[i];
    } else {
      return -1;
    }
  }
  return models > 0 || (*round_trip_only && models == 0) ? models : -1;
}

/* --round-trip: the cores' round trip alone, for scripts that measure other programs between
 * two such probes (scripts/bench_e2e.py): the median of 5. */
static int print_round_trip(void) {
  double round_trips[5];
  for (int i = 0; i < 5; i++) {
    round_trips[i] = round_trip_ns();
    if (round_trips[i] < 0) {
      fputs("thaw_threads: cannot start a thread\n", stderr);
      return 1;
    }
  }
  const double round_trip = median(round_trips, 5);
  printf("{\"round_trip_ns\": %.1f, \"placement\": \"%s\"}\n", round_trip,
         placement_names[placement(round_trip)]);
  return 0;
}

int main(int argc, char **argv) {
  unsigned long threads = 2, runs = 20;
  bool round_trip_only = false, pipeline = false;
  const int models = parse_arguments(argc, argv, &threads, &runs, &round_trip_only, &pipeline);
  if (models < 0 || (pipeline && (round_trip_only || models == 0))) {
    fprintf(stderr,
            "usage: thaw_threads [--threads N] [--runs R] MODEL.thaw... (2 <= N, R <= %d)\n"
            "       thaw_threads --pipeline [--threads N] [--runs R] MODEL.thaw...\n"
            "       thaw_threads --round-trip\n",
            MAX_COUNT);
    return 2;
  }
  if (round_trip_only) return print_round_trip();
  if (pipeline) {
    double *rounds[2] = {malloc(runs * sizeof(double)), malloc(runs * sizeof(double))};
    const int status = rounds[0] != NULL && rounds[1] != NULL
                           ? measure_pipeline(argv, models, threads, runs, rounds)
                           : (fputs("thaw_threads: out of memory\n", stderr), 1);
    free(rounds[0]);
    free(rounds[1]);
    return status;
  }
  samples samples = {.round_trip = malloc(runs * sizeof(double)),
                     .speedup = {malloc(runs * sizeof(double)), malloc(runs * sizeof(double)),
                                 malloc(runs * sizeof(double))}};
  if (samples.round_trip == NULL || samples.speedup[SHARED_CORE] == NULL ||
      samples.speedup[NEAR] == NULL || samples.speedup[FAR] == NULL) {
    fputs("thaw_threads: out of memory\n", stderr);
    return 1;
  }
  for (int s = 0; s < 2; s++) {
    samples.ready[s] = malloc(runs * sizeof(double));
    samples.latency[s] = malloc(runs * sizeof(double));
    samples.probe[s] = malloc(runs * sizeof(double));
    if (samples.ready[s] == NULL || samples.latency[s] == NULL || samples.probe[s] == NULL) {
      fputs("thaw_threads: out of memory\n", stderr);
      return 1;
    }
  }
  machine_probe probe;
  if (probe_create(&probe, threads) != 0) return 1;
  int status = measure_handoff(threads, runs);
  fflush(stdout);
  for (int m = 0; m < models; m++)
    status |= measure_model(argv[m], threads, runs, &probe, &samples);
  probe_destroy(&probe);
  for (int s = 0; s < 2; s++) {
    free(samples.ready[s]);
    free(samples.latency[s]);
    free(samples.probe[s]);
  }
  free(samples.round_trip);
  for (int p = 0; p < PLACEMENTS; p++) free(samples.speedup[p]);
  return status;
}
