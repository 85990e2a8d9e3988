/* Sessions: one allocation per session, and the executor that walks the prepared nodes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cost.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/threadpool.h"

/* THAW_PROFILE: where thaw_session_run spends its time, per op type; THAW_PROFILE=nodes adds
 * a line per node, with its rate, to find the layers that fall short of the kernels' peak. */
typedef struct op_profile {
  double seconds;
  uint64_t nodes; /* node executions, over all runs */
} op_profile;

struct thaw_session {
  const thaw_model *model;
  void *block; /* the single allocation this session lives in */
  uint8_t *arena;
  /* One slice of model->scratch_bytes per thread, scratch_stride bytes apart, shared by the
   * nodes: each uses it only while it runs. */
  void *scratch;
  size_t scratch_stride;
  size_t thread_count;
  /* The session's own threads, NULL on one thread or with a shared pool; their workers start
   * at the first run. */
  thaw_threadpool *pool;
  thaw_pool *shared_pool; /* thaw_session_options.pool */
  /* Whether runs use threads (thaw_cost_worth_threads): decided at the first run, so that
   * creating a session costs the same at any thread count. */
  bool pool_decided, pool_pays;
  /* The bytes behind every operand of every node, resolved once at creation. */
  void **operands;
  /* THAW_OP_MAX + 1 entries when THAW_PROFILE was set at creation, else NULL. */
  op_profile *profile;
  double *node_seconds; /* one per node under THAW_PROFILE=nodes, else NULL */
  uint64_t profiled_runs;
  /* The profile has dropped the session's first run, which pays for page faults on the
   * weights and the arena and for cold caches: a node's share of those is no speed of its. */
  bool profile_skipped_first_run;
  /* False while the outputs hold the remains of a run that stopped early. */
  bool outputs_are_results;
};

/* Where each part lives inside the session's single allocation. The arena and the scratch come
 * first, on the huge pages the block starts with; the small tables written at creation (the
 * session, its operands, pool and profile) follow from tables_at, in small pages, so creating
 * a session does not fault in and clear a whole huge page. */
typedef struct session_layout {
  size_t arena_at, scratch_at, tables_at, operands_at, pool_at, profile_at, node_seconds_at;
  size_t total;
} session_layout;

/* Append `bytes` at the next `alignment` boundary after *end; false on overflow. */
static bool append_region(size_t *end, uint64_t bytes, size_t alignment, size_t *start) {
  size_t aligned;
  if (bytes > SIZE_MAX || __builtin_add_overflow(*end, alignment - 1, &aligned)) return false;
  *start = aligned & ~(alignment - 1);
  return !__builtin_add_overflow(*start, (size_t)bytes, end);
}

/* The profile starts over: at creation, and once a second run starts (see
 * profile_skipped_first_run). */
static void clear_profile(thaw_session *session) {
  memset(session->profile, 0, (THAW_OP_MAX + 1) * sizeof(op_profile));
  if (session->node_seconds != NULL)
    memset(session->node_seconds, 0, session->model->view.node_count * sizeof(double));
  session->profiled_runs = 0;
}

/* False when the session would not fit in the address space. */
static bool plan_session(const thaw_model *model, size_t thread_count, bool own_pool,
                         bool profiled, bool nodes_profiled, session_layout *layout) {
  size_t operand_bytes, scratch_bytes;
  layout->total = 0;
  return !__builtin_mul_overflow(model->operand_count, sizeof(void *), &operand_bytes) &&
         model->scratch_bytes <= SIZE_MAX - THAW_SCRATCH_ALIGNMENT &&
         !__builtin_mul_overflow(thaw_scratch_slice_bytes(model->scratch_bytes), thread_count,
                                 &scratch_bytes) &&
         append_region(&layout->total, model->view.arena_size, THAW_FORMAT_ARENA_ALIGNMENT,
                       &layout->arena_at) &&
         append_region(&layout->total, scratch_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->scratch_at) &&
         append_region(&layout->total, sizeof(struct thaw_session), THAW_PLATFORM_ALIGNMENT,
                       &layout->tables_at) &&
         append_region(&layout->total, operand_bytes, THAW_PLATFORM_ALIGNMENT,
                       &layout->operands_at) &&
         append_region(&layout->total, own_pool ? thaw_threadpool_bytes(thread_count) : 0,
                       THAW_PLATFORM_ALIGNMENT, &layout->pool_at) &&
         append_region(&layout->total, profiled ? (THAW_OP_MAX + 1) * sizeof(op_profile) : 0,
                       THAW_PLATFORM_ALIGNMENT, &layout->profile_at) &&
         append_region(&layout->total,
                       nodes_profiled ? (uint64_t)model->view.node_count * sizeof(double) : 0,
                       THAW_PLATFORM_ALIGNMENT, &layout->node_seconds_at);
}

size_t thaw_model_session_bytes(const thaw_model *model) {
  session_layout layout;
  if (model == NULL || !plan_session(model, 1, false, false, false, &layout)) return 0;
  return layout.total;
}

static void *tensor_data(const thaw_session *session, uint32_t id) {
  const thaw_format_tensor *tensor = &session->model->tensors[id];
  if (tensor->kind == THAW_TENSOR_ACTIVATION) return session->arena + tensor->offset;
  /* Constants stay in the read-only file image; preparation proved no kernel writes them. */
  return (void *)(session->model->view.bytes + tensor->offset);
}

thaw_status thaw_session_create(const thaw_model *model, const thaw_session_options *options,
                                thaw_session **session, thaw_error *error) {
  if (session != NULL) *session = NULL;
  if (model == NULL || session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_create: model and session must not be NULL");
  }
  thaw_pool *const shared_pool = options != NULL ? options->pool : NULL;
  size_t thread_count = options != NULL && options->threads > 1 ? options->threads : 1;
  if (thread_count > THAW_THREADPOOL_MAX_THREADS) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_create: %zu threads requested, at most %d are supported",
                          thread_count, THAW_THREADPOOL_MAX_THREADS);
  }
  if (shared_pool != NULL) {
    const size_t pool_threads = thaw_pool_thread_count(shared_pool);
    if (options->threads != 0 && options->threads != pool_threads) {
      return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "thaw_session_create: %" PRIu32
                            " threads requested on a pool of %zu (give 0 or the pool's count)",
                            options->threads, pool_threads);
    }
    thread_count = pool_threads;
  }
  const bool own_pool = thread_count > 1 && shared_pool == NULL;
  /* Read once per session, so a run never looks at the environment. */
  const char *profile_setting = getenv("THAW_PROFILE");
  const bool profiled = profile_setting != NULL;
  const bool nodes_profiled = profiled && strcmp(profile_setting, "nodes") == 0;
  session_layout layout;
  if (!plan_session(model, thread_count, own_pool, profiled, nodes_profiled, &layout)) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "a session with a %" PRIu64 "-byte arena does not fit in memory",
                          model->view.arena_size);
  }
  if (options != NULL && options->max_bytes != 0 && layout.total > options->max_bytes) {
    return thaw_error_set(error, THAW_STATUS_LIMIT,
                          "a session needs %zu bytes (a %" PRIu64 "-byte arena and %" PRIu64
                          " bytes of kernel scratch for each of %zu threads), over the limit of "
                          "%zu",
                          layout.total, model->view.arena_size, (uint64_t)model->scratch_bytes,
                          thread_count, options->max_bytes);
  }
  uint8_t *block = thaw_platform_aligned_alloc_huge(layout.total, layout.tables_at);
  if (block == NULL) {
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "cannot allocate %zu bytes for a session", layout.total);
  }
  thaw_session *result = (thaw_session *)(block + layout.tables_at);
  result->model = model;
  result->block = block;
  result->operands = (void **)(block + layout.operands_at);
  result->arena = block + layout.arena_at;
  result->scratch = block + layout.scratch_at;
  result->scratch_stride = thaw_scratch_slice_bytes(model->scratch_bytes);
  result->thread_count = thread_count;
  result->pool = own_pool ? thaw_threadpool_place(block + layout.pool_at, thread_count) : NULL;
  result->shared_pool = shared_pool;
  result->pool_decided = false;
  result->pool_pays = false;
  result->profile = profiled ? (op_profile *)(block + layout.profile_at) : NULL;
  result->node_seconds = nodes_profiled ? (double *)(block + layout.node_seconds_at) : NULL;
  if (profiled) clear_profile(result);
  result->profile_skipped_first_run = false;
  result->outputs_are_results = true;
  for (size_t i = 0; i < model->operand_count; i++) {
    result->operands[i] = tensor_data(result, model->operand_tensors[i]);
  }
  thaw_session_state_reset(result);
  *session = result;
  return THAW_OK;
}

/* The THAW_PROFILE report, on stderr: time per run and share of each op type. */
static void print_profile(const thaw_session *session) {
  double total = 0;
  for (uint32_t op = 0; op <= THAW_OP_MAX; op++) total += session->profile[op].seconds;
  fprintf(stderr, "thaw profile (%s kernels): %" PRIu64 " run%s%s, %.3f ms per run\n",
          session->model->kernels->isa, session->profiled_runs,
          session->profiled_runs == 1 ? "" : "s",
          session->profile_skipped_first_run ? " after the first" : "",
          session->profiled_runs > 0 ? 1e3 * total / (double)session->profiled_runs : 0.0);
  if (session->profiled_runs == 0 || total <= 0) return;
  for (uint32_t op = 0; op <= THAW_OP_MAX; op++) {
    const op_profile *entry = &session->profile[op];
    if (entry->nodes == 0) continue;
    fprintf(stderr, "  %-18s %4" PRIu64 " nodes  %9.3f ms per run  %5.1f %%\n",
            thaw_op_name(op), entry->nodes / session->profiled_runs,
            1e3 * entry->seconds / (double)session->profiled_runs,
            100.0 * entry->seconds / total);
  }
  if (session->node_seconds == NULL) return;
  const thaw_model *model = session->model;
  fprintf(stderr, "  per node: ms per run, share, GFLOP/s, op and shape\n");
  for (uint32_t n = 0; n < model->view.node_count; n++) {
    thaw_cost_node facts;
    thaw_cost_node_facts(model, n, &facts);
    const double seconds = session->node_seconds[n] / (double)session->profiled_runs;
    fprintf(stderr, "  %4" PRIu32 " %9.3f %5.1f %% %7.1f  %-14s %-24s %s\n", n, 1e3 * seconds,
            100.0 * session->node_seconds[n] / total,
            seconds > 0 ? 1e-9 * (double)facts.flops / seconds : 0.0,
            thaw_op_name(model->nodes[n].op), facts.detail, model->nodes[n].name);
  }
}

void thaw_session_destroy(thaw_session *session) {
  if (session == NULL) return;
  if (session->profile != NULL) print_profile(session);
  if (session->pool != NULL) thaw_threadpool_release(session->pool);
  thaw_platform_free(session->block);
}

const thaw_model *thaw_session_model(const thaw_session *session) { return session->model; }

static thaw_status describe_io(thaw_session *session, bool output, size_t index,
                               thaw_tensor *tensor) {
  uint32_t id;
  if (session == NULL || tensor == NULL ||
      thaw_model_io_tensor(session->model, output, index, &id) != THAW_OK) {
    return THAW_STATUS_INVALID_ARGUMENT;
  }
  thaw_describe_tensor(&session->model->tensors[id], tensor_data(session, id), tensor);
  return THAW_OK;
}

thaw_status thaw_session_input(thaw_session *session, size_t index, thaw_tensor *tensor) {
  return describe_io(session, false, index, tensor);
}

thaw_status thaw_session_output(thaw_session *session, size_t index, thaw_tensor *tensor) {
  if (session != NULL && !session->outputs_are_results) return THAW_STATUS_NO_RESULT;
  return describe_io(session, true, index, tensor);
}

/* Why the run must stop now, or THAW_OK. */
static thaw_status stop_reason(const thaw_run_options *options) {
  if (options->cancel_flag != NULL && __atomic_load_n(options->cancel_flag, __ATOMIC_RELAXED)) {
    return THAW_STATUS_CANCELLED;
  }
  if (options->deadline_ns != 0 && thaw_monotonic_ns() >= options->deadline_ns) {
    return THAW_STATUS_DEADLINE;
  }
  return THAW_OK;
}

/* What the kernels see of a run: a thaw_parallel (the first member, so run() finds the rest)
 * whose tasks first check the run's stop condition and, once it is met, skip the remaining
 * tasks of the node; the node then reports it. */
typedef struct executor {
  thaw_parallel parallel;
  thaw_threadpool *pool; /* NULL on one thread */
  const thaw_run_options *options;
  int *stop; /* thaw_status, atomically; THAW_OK while the run goes on */
  const thaw_kernels *kernels;
  char *scratch;
  size_t scratch_stride;
} executor;

typedef struct guarded_task {
  const executor *e;
  thaw_parallel_task task;
  void *context;
} guarded_task;

/* A relaxed load per task, and a clock read (vDSO, tens of ns) only when the run has a
 * deadline: a split task holds some 13 us of work or more (thaw_parallel_task_count), so the
 * check costs nothing measurable and a stop is seen within about one task per thread. */
static void run_guarded(void *context, size_t thread_index, size_t task_index) {
  const guarded_task *guarded = context;
  const executor *e = guarded->e;
  if (__atomic_load_n(e->stop, __ATOMIC_RELAXED) != THAW_OK) return;
  const thaw_status reason = stop_reason(e->options);
  if (reason != THAW_OK) {
    __atomic_store_n(e->stop, (int)reason, __ATOMIC_RELAXED);
    return;
  }
  guarded->task(guarded->context, thread_index, task_index);
}

static void executor_run(const thaw_parallel *parallel, size_t task_count,
                         thaw_parallel_task task, void *context) {
  const executor *e = (const executor *)parallel;
  guarded_task guarded = {e, task, context};
  if (e->pool != NULL) {
    thaw_threadpool_run(e->pool, task_count, run_guarded, &guarded);
  } else {
    for (size_t i = 0; i < task_count; i++) run_guarded(&guarded, 0, i);
  }
}

static void *thread_scratch(const executor *e, size_t thread_index) {
  return e->scratch + thread_index * e->scratch_stride;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Batches [first, end) of a MATMUL, one GEMM each, walking the batch dims like an odometer
 * from `first`, whose offsets are divided out once. */
static void run_matmul_batches(const thaw_kernels *kernels, const thaw_matmul_plan *plan,
                               size_t first, size_t end, const float *a, const float *b,
                               const float *bias, float *y, void *scratch,
                               const thaw_parallel *parallel) {
  size_t index[THAW_MAX_RANK] = {0};
  ptrdiff_t a_offset = 0, b_offset = 0;
  size_t divided = first;
  for (uint32_t d = plan->batch_rank; d-- > 0;) {
    index[d] = divided % plan->batch_shape[d];
    divided /= plan->batch_shape[d];
    a_offset += plan->a_batch_stride[d] * (ptrdiff_t)index[d];
    b_offset += plan->b_batch_stride[d] * (ptrdiff_t)index[d];
  }
  for (size_t batch = first; batch < end; batch++) {
    kernels->f32_gemm(&plan->gemm, a + a_offset, b + b_offset, bias,
                      y + batch * plan->y_batch_stride, scratch, parallel);
    for (uint32_t d = plan->batch_rank; d-- > 0;) {
      a_offset += plan->a_batch_stride[d];
      b_offset += plan->b_batch_stride[d];
      if (++index[d] < plan->batch_shape[d]) break;
      a_offset -= plan->a_batch_stride[d] * (ptrdiff_t)plan->batch_shape[d];
      b_offset -= plan->b_batch_stride[d] * (ptrdiff_t)plan->batch_shape[d];
      index[d] = 0;
    }
  }
}

typedef struct matmul_split {
  const executor *e;
  const thaw_matmul_plan *plan;
  const float *a, *b, *bias;
  float *y;
  size_t batches_per_task;
} matmul_split;

static void matmul_task(void *context, size_t thread_index, size_t task_index) {
  const matmul_split *m = context;
  const size_t first = task_index * m->batches_per_task;
  run_matmul_batches(m->e->kernels, m->plan, first,
                     min_size(first + m->batches_per_task, m->plan->batch_count), m->a, m->b,
                     m->bias, m->y, thread_scratch(m->e, thread_index), &thaw_parallel_serial);
}

/* With at least as many batches (attention heads, say) as threads, the threads take whole
 * GEMMs; otherwise the GEMMs run one after another, each split over the threads. */
static void run_matmul(const executor *e, const thaw_matmul_plan *plan, const float *a,
                       const float *b, const float *bias, float *y) {
  if (plan->batch_count < e->parallel.thread_count) {
    run_matmul_batches(e->kernels, plan, 0, plan->batch_count, a, b, bias, y, e->scratch,
                       &e->parallel);
    return;
  }
  const thaw_gemm_params *g = &plan->gemm;
  const size_t tasks = thaw_parallel_task_count(&e->parallel, plan->batch_count,
                                                2.0 * (double)g->m * (double)g->n * (double)g->k);
  matmul_split split = {e, plan, a, b, bias, y, (plan->batch_count + tasks - 1) / tasks};
  e->parallel.run(&e->parallel, (plan->batch_count + split.batches_per_task - 1) /
                                    split.batches_per_task,
                  matmul_task, &split);
}

/* Ops whose kernels treat `rows` rows independently run as ranges of rows, one range per
 * task: each row is computed exactly as in one call over all rows. */
typedef struct row_split row_split;
typedef void (*rows_fn)(const row_split *split, size_t first, size_t count);
struct row_split {
  const thaw_kernels *kernels;
  const thaw_prepared_node *node;
  void *const *operand;
  rows_fn rows_function;
  size_t rows, rows_per_task;
};

static void row_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const row_split *split = context;
  const size_t first = task_index * split->rows_per_task;
  split->rows_function(split, first, min_size(split->rows_per_task, split->rows - first));
}

/* What one element costs, in the GEMM flops thaw_parallel_task_count weighs work in (a GEMM
 * flop takes about 1/30 ns on one AVX2 core): these ops are bound by memory and by
 * transcendentals, so a task needs some 64K elements of an Add, 16K of a softmax. */
enum {
  COST_ELEMENTWISE = 16,
  COST_LAYER_NORM = 32,
  COST_SOFTMAX = 64,
  COST_POOL_TAP = 8,
  COST_RESIZE = 24, /* bench_data: 0.4 ns per nearest output, about 1 ns per linear one */
  COST_COPY_BYTE = 2, /* a large memcpy moves some 16 bytes per ns */
};
enum { CONCAT_BLOCK_BYTES = 16384 }; /* bytes per "row" of a Concat's output */
enum { UNARY_BLOCK = 256 }; /* elements per "row" of a unary op */

static void run_rows(const executor *e, const thaw_prepared_node *node, void *const *operand,
                     rows_fn function, size_t rows, double row_cost) {
  if (rows == 0) return;
  const size_t tasks = thaw_parallel_task_count(&e->parallel, rows, row_cost);
  row_split split = {e->kernels, node, operand, function, rows, (rows + tasks - 1) / tasks};
  e->parallel.run(&e->parallel, (rows + split.rows_per_task - 1) / split.rows_per_task,
                  row_task, &split);
}

static const float *input_f32(const row_split *s, size_t i) { return s->operand[i]; }
static float *output_f32(const row_split *s) { return s->operand[s->node->input_count]; }

/* Unary: rows are blocks of UNARY_BLOCK elements, the last one short. */
static void unary_rows(const row_split *s, size_t first, size_t count) {
  const size_t begin = first * UNARY_BLOCK;
  const size_t end = min_size((first + count) * UNARY_BLOCK, s->node->u.unary.count);
  s->kernels->f32_unary(&s->node->u.unary.params, end - begin, input_f32(s, 0) + begin,
                        output_f32(s) + begin);
}

/* Broadcast iterations (Binary, the strided copies) split along their first axis longer than
 * one: every axis before it has a single index, so rows [first, first + count) of it are the
 * iteration with that axis shortened to count, each operand advanced by `first` of its strides
 * and the dense output by `first` rows. */
static uint32_t broadcast_split_axis(const thaw_broadcast *iter) {
  uint32_t axis = 0;
  while (axis + 1 < iter->rank && iter->shape[axis] == 1) axis++;
  return axis;
}

static size_t broadcast_row_elements(const thaw_broadcast *iter) {
  size_t elements = 1;
  for (uint32_t d = broadcast_split_axis(iter) + 1; d < iter->rank; d++)
    elements *= iter->shape[d];
  return elements;
}

static void binary_rows(const row_split *s, size_t first, size_t count) {
  thaw_binary_params params = s->node->u.binary;
  const uint32_t axis = broadcast_split_axis(&params.iter);
  const size_t output_offset = first * broadcast_row_elements(&params.iter);
  params.iter.shape[axis] = count;
  const ptrdiff_t start = (ptrdiff_t)first;
  s->kernels->f32_binary(&params, input_f32(s, 0) + start * params.iter.strides[0][axis],
                         input_f32(s, 1) + start * params.iter.strides[1][axis],
                         output_f32(s) + output_offset);
}

/* Slice, Transpose, Expand. */
static void copy_rows(const row_split *s, size_t first, size_t count) {
  thaw_strided_copy_params params = s->node->u.strided_copy.params;
  const uint32_t axis = broadcast_split_axis(&params.iter);
  const size_t output_offset = first * broadcast_row_elements(&params.iter);
  params.iter.shape[axis] = count;
  const uint8_t *x = (const uint8_t *)s->operand[0] + s->node->u.strided_copy.input_byte_offset;
  s->kernels->strided_copy(
      &params, x + (ptrdiff_t)first * params.iter.strides[0][axis] * (ptrdiff_t)params.element_size,
      (uint8_t *)s->operand[s->node->input_count] + output_offset * params.element_size);
}

static void softmax_rows(const row_split *s, size_t first, size_t count) {
  const size_t axis = s->node->u.axis.axis_size, inner = s->node->u.axis.inner;
  s->kernels->f32_softmax(count, axis, inner, input_f32(s, 0) + first * axis * inner,
                          output_f32(s) + first * axis * inner);
}

static void layer_norm_rows(const row_split *s, size_t first, size_t count) {
  const size_t cols = s->node->u.layer_norm.cols;
  s->kernels->f32_layer_norm(count, cols, s->node->u.layer_norm.epsilon,
                             input_f32(s, 0) + first * cols, input_f32(s, 1),
                             s->node->input_count > 2 ? input_f32(s, 2) : NULL,
                             output_f32(s) + first * cols);
}

/* Resize: the leading axes that keep their size at scale 1 (N and C of an NCHW resize) map
 * every index to itself in every coordinate mode, so ranges of them, merged into one axis,
 * resize alone; rows are indices over those axes. */
static uint32_t resize_kept_axes(const thaw_resize_params *p) {
  uint32_t kept = 0;
  while (kept + 1 < p->rank && p->in_shape[kept] == p->out_shape[kept] &&
         p->scales[kept] == 1.0f)
    kept++;
  return kept;
}

static void resize_rows(const row_split *s, size_t first, size_t count) {
  const thaw_resize_params *whole = &s->node->u.resize;
  const uint32_t kept = resize_kept_axes(whole);
  thaw_resize_params part = *whole;
  part.rank = whole->rank - kept + 1;
  part.in_shape[0] = part.out_shape[0] = count;
  part.scales[0] = 1.0f;
  size_t in_inner = 1, out_inner = 1;
  for (uint32_t d = kept; d < whole->rank; d++) {
    part.in_shape[d - kept + 1] = whole->in_shape[d];
    part.out_shape[d - kept + 1] = whole->out_shape[d];
    part.scales[d - kept + 1] = whole->scales[d];
    in_inner *= whole->in_shape[d];
    out_inner *= whole->out_shape[d];
  }
  s->kernels->f32_resize(&part, input_f32(s, 0) + first * in_inner,
                         output_f32(s) + first * out_inner);
}

/* Pools: rows are (image, channel) planes. */
static void pool_rows(const row_split *s, size_t first, size_t count) {
  thaw_pool2d_params params = s->node->u.pool2d;
  params.batch_channels = count;
  const float *x = input_f32(s, 0) + first * params.in_height * params.in_width;
  float *y = output_f32(s) + first * params.out_height * params.out_width;
  if (s->node->op == THAW_OP_MAX_POOL) {
    s->kernels->f32_max_pool2d(&params, x, y);
  } else {
    s->kernels->f32_average_pool2d(&params, x, y);
  }
}

/* ChannelAffine: rows are the [N, C] tensor's rows when inner is 1, else (image, channel)
 * planes of inner elements; a range of planes may run over several images. */
static void channel_affine_rows(const row_split *s, size_t first, size_t count) {
  const size_t channels = s->node->u.axis.axis_size, inner = s->node->u.axis.inner;
  const float *x = input_f32(s, 0), *scale = input_f32(s, 1), *shift = input_f32(s, 2);
  float *y = output_f32(s);
  if (inner == 1) {
    s->kernels->f32_channel_affine(count, channels, 1, x + first * channels, scale, shift,
                                   y + first * channels);
    return;
  }
  for (size_t plane = first, end = first + count; plane < end;) {
    const size_t c = plane % channels, planes = min_size(channels - c, end - plane);
    s->kernels->f32_channel_affine(1, planes, inner, x + plane * inner, scale + c, shift + c,
                                   y + plane * inner);
    plane += planes;
  }
}

/* GlobalAveragePool: rows are (image, channel) planes. */
static void global_pool_rows(const row_split *s, size_t first, size_t count) {
  const size_t spatial = s->node->u.global_pool.spatial;
  s->kernels->f32_global_average_pool(count, spatial, input_f32(s, 0) + first * spatial,
                                      output_f32(s) + first);
}

/* Bytes of one outer row of a Concat's output: one row of each input. */
static size_t concat_row_bytes(const thaw_prepared_node *node) {
  size_t bytes = 0;
  for (size_t i = 0; i < node->input_count; i++) bytes += node->u.concat.row_bytes[i];
  return bytes;
}

/* Concat: rows are blocks of CONCAT_BLOCK_BYTES of the output, the last one short (its outer
 * rows are often few: one for an NCHW concat over channels). */
static void concat_rows(const row_split *s, size_t first, size_t count) {
  const size_t inputs = s->node->input_count;
  s->kernels->concat(inputs, s->node->u.concat.row_bytes, (const void *const *)s->operand,
                     s->operand[inputs], first * CONCAT_BLOCK_BYTES,
                     min_size((first + count) * CONCAT_BLOCK_BYTES,
                              s->node->u.concat.outer * concat_row_bytes(s->node)));
}

/* Run one node. It fails only on bad data the file could not rule out: a Gather index out
 * of range. A node whose tasks were skipped because the run must stop is left incomplete;
 * the caller reports it. */
static thaw_status run_node(const executor *e, const thaw_prepared_node *node,
                            void *const *operand, thaw_error *error) {
  const thaw_kernels *kernels = e->kernels;
  void *y = operand[node->input_count];
  switch ((thaw_op)node->op) {
    case THAW_OP_CONV:
      kernels->f32_conv2d(&node->u.conv2d, operand[0], operand[1],
                          node->input_count > 2 ? operand[2] : NULL, y, e->scratch, &e->parallel);
      break;
    case THAW_OP_CONV_TRANSPOSE:
      kernels->f32_conv_transpose2d(&node->u.conv2d, operand[0], operand[1],
                                    node->input_count > 2 ? operand[2] : NULL, y, &e->parallel);
      break;
    case THAW_OP_MATMUL:
    case THAW_OP_PERMUTED_MATMUL:
      run_matmul(e, &node->u.matmul, operand[0], operand[1],
                 node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_QS8_MATMUL:
      kernels->qs8_gemm(&node->u.qs8_matmul, operand[0], operand[1],
                        node->input_count > 2 ? operand[2] : NULL, y, e->scratch, &e->parallel);
      break;
    case THAW_OP_QS8_CONV:
      kernels->qs8_conv2d(&node->u.qs8_conv.conv2d, &node->u.qs8_conv.input, operand[0],
                          operand[1], node->input_count > 2 ? operand[2] : NULL, y, e->scratch,
                          &e->parallel);
      break;
    case THAW_OP_BINARY: {
      const thaw_broadcast *iter = &node->u.binary.iter;
      run_rows(e, node, operand, binary_rows, iter->shape[broadcast_split_axis(iter)],
               COST_ELEMENTWISE * (double)broadcast_row_elements(iter));
      break;
    }
    case THAW_OP_UNARY:
      run_rows(e, node, operand, unary_rows,
               (node->u.unary.count + UNARY_BLOCK - 1) / UNARY_BLOCK,
               COST_ELEMENTWISE * UNARY_BLOCK);
      break;
    case THAW_OP_SOFTMAX:
      run_rows(e, node, operand, softmax_rows, node->u.axis.outer,
               COST_SOFTMAX * (double)node->u.axis.axis_size * (double)node->u.axis.inner);
      break;
    case THAW_OP_LAYER_NORM:
      run_rows(e, node, operand, layer_norm_rows, node->u.layer_norm.rows,
               COST_LAYER_NORM * (double)node->u.layer_norm.cols);
      break;
    case THAW_OP_MAX_POOL:
    case THAW_OP_AVERAGE_POOL: {
      const thaw_pool2d_params *pool = &node->u.pool2d;
      run_rows(e, node, operand, pool_rows, pool->batch_channels,
               COST_POOL_TAP * (double)(pool->out_height * pool->out_width) *
                   (double)(pool->kernel_height * pool->kernel_width));
      break;
    }
    case THAW_OP_GLOBAL_AVERAGE_POOL:
      run_rows(e, node, operand, global_pool_rows, node->u.global_pool.channels,
               COST_POOL_TAP * (double)node->u.global_pool.spatial);
      break;
    case THAW_OP_CONCAT: {
      const size_t bytes = node->u.concat.outer * concat_row_bytes(node);
      run_rows(e, node, operand, concat_rows,
               (bytes + CONCAT_BLOCK_BYTES - 1) / CONCAT_BLOCK_BYTES,
               COST_COPY_BYTE * CONCAT_BLOCK_BYTES);
      break;
    }
    case THAW_OP_CONCAT_IN_PLACE:
      break; /* the parts' producers wrote the output */
    case THAW_OP_SPLIT:
      kernels->split(node->u.concat.outer, node->output_count, node->u.concat.row_bytes, operand[0],
                     &operand[1]);
      break;
    case THAW_OP_SLICE:
    case THAW_OP_TRANSPOSE:
    case THAW_OP_EXPAND: {
      const thaw_broadcast *iter = &node->u.strided_copy.params.iter;
      run_rows(e, node, operand, copy_rows, iter->shape[broadcast_split_axis(iter)],
               COST_ELEMENTWISE * (double)broadcast_row_elements(iter));
      break;
    }
    case THAW_OP_RESHAPE:
      if (!node->u.reshape.is_view) memcpy(y, operand[0], node->u.reshape.size);
      break;
    case THAW_OP_GATHER:
    case THAW_OP_QS8_GATHER: {
      int64_t bad_index;
      const bool gathered =
          node->op == THAW_OP_GATHER
              ? kernels->gather(&node->u.gather, operand[0], operand[1], y, &bad_index)
              : kernels->qs8_gather(&node->u.gather, operand[0], operand[1], operand[2], y,
                                    &bad_index);
      if (!gathered) {
        return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                              "node \"%s\" (%s): index %" PRId64 " is outside [-%zu, %zu)",
                              node->name, thaw_op_name(node->op), bad_index,
                              node->u.gather.axis_size, node->u.gather.axis_size);
      }
      break;
    }
    case THAW_OP_RESIZE: {
      const thaw_resize_params *resize = &node->u.resize;
      const uint32_t kept = resize_kept_axes(resize);
      if (kept == 0) {
        kernels->f32_resize(resize, operand[0], y);
        break;
      }
      size_t rows = 1, row_outputs = 1;
      for (uint32_t d = 0; d < kept; d++) rows *= resize->in_shape[d];
      for (uint32_t d = kept; d < resize->rank; d++) row_outputs *= resize->out_shape[d];
      run_rows(e, node, operand, resize_rows, rows, COST_RESIZE * (double)row_outputs);
      break;
    }
    case THAW_OP_PAD:
      kernels->f32_pad(&node->u.pad, operand[0], y);
      break;
    case THAW_OP_REDUCE_MEAN:
      kernels->f32_reduce_mean(node->u.axis.outer, node->u.axis.axis_size, node->u.axis.inner,
                               operand[0], y);
      break;
    case THAW_OP_CAST:
      kernels->cast(node->u.cast.from, node->u.cast.to, node->u.cast.count, operand[0], y);
      break;
    case THAW_OP_WHERE:
      kernels->where(node->u.where.element_size, &node->u.where.iter, operand[0], operand[1],
                     operand[2], y);
      break;
    case THAW_OP_CHANNEL_AFFINE: {
      const size_t inner = node->u.axis.inner, channels = node->u.axis.axis_size;
      run_rows(e, node, operand, channel_affine_rows,
               node->u.axis.outer * (inner == 1 ? 1 : channels),
               COST_ELEMENTWISE * (double)(inner == 1 ? channels : inner));
      break;
    }
    case THAW_OP_QUANTIZE_LINEAR:
      kernels->quantize_linear(&node->u.quantize, operand[0], operand[1],
                               node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_DEQUANTIZE_LINEAR:
      kernels->dequantize_linear(&node->u.quantize, operand[0], operand[1],
                                 node->input_count > 2 ? operand[2] : NULL, y);
      break;
    case THAW_OP_DYNAMIC_QUANTIZE_LINEAR:
      kernels->dynamic_quantize_linear(node->u.dynamic_quantize_count, operand[0], y,
                                       operand[2], operand[3]);
      break;
    case THAW_OP_LSTM:
    case THAW_OP_GRU:
      thaw_run_recurrent(kernels, node, operand, e->scratch);
      break;
  }
  return THAW_OK;
}

static thaw_status stopped(thaw_status status, const char *where, uint32_t n,
                          const thaw_model *model, thaw_error *error) {
  return thaw_error_set(error, status, "the run stopped %s node %" PRIu32 " of %" PRIu32
                        " (\"%s\"): %s", where, n, model->view.node_count, model->nodes[n].name,
                        status == THAW_STATUS_CANCELLED ? "its cancel flag was set"
                                                        : "its deadline passed");
}

/* Every node in order; stops at the first that fails or at the run's stop condition. */
static thaw_status run_nodes(const thaw_session *session, const executor *e,
                             const thaw_run_options *options, thaw_error *error) {
  const thaw_model *model = session->model;
  op_profile *const profile = session->profile;
  for (uint32_t n = 0; n < model->view.node_count; n++) {
    const thaw_prepared_node *node = &model->nodes[n];
    thaw_status status = stop_reason(options);
    if (status != THAW_OK) return stopped(status, "before", n, model, error);
    const uint64_t start = profile != NULL ? thaw_monotonic_ns() : 0;
    status = run_node(e, node, &session->operands[node->first_operand], error);
    if (status != THAW_OK) return status;
    /* The workers are done with the node: run() returned after its last task. */
    status = (thaw_status)__atomic_load_n(e->stop, __ATOMIC_RELAXED);
    if (status != THAW_OK) return stopped(status, "inside", n, model, error);
    if (profile != NULL) {
      const double seconds = 1e-9 * (double)(thaw_monotonic_ns() - start);
      profile[node->op].seconds += seconds;
      profile[node->op].nodes++;
      if (session->node_seconds != NULL) session->node_seconds[n] += seconds;
    }
  }
  return THAW_OK;
}

thaw_status thaw_session_run(thaw_session *session, const thaw_run_options *options,
                             thaw_error *error) {
  if (session == NULL) {
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_session_run: session must not be NULL");
  }
  static const thaw_run_options defaults = {0};
  if (options == NULL) options = &defaults;
  session->outputs_are_results = false;
  if (session->profile != NULL && session->profiled_runs == 1 &&
      !session->profile_skipped_first_run) {
    clear_profile(session);
    session->profile_skipped_first_run = true;
  }
  if (session->thread_count > 1 && !session->pool_decided) {
    session->pool_pays = thaw_cost_worth_threads(thaw_cost_run_flops(session->model));
    session->pool_decided = true;
  }
  thaw_pool *const shared_pool = session->shared_pool;
  thaw_threadpool *pool = NULL;
  if (session->pool_pays) pool = shared_pool != NULL ? thaw_pool_take(shared_pool) : session->pool;
  if (pool != NULL) {
    const thaw_status status = thaw_threadpool_start(pool, error);
    if (status != THAW_OK) {
      if (shared_pool != NULL) thaw_pool_give_back(shared_pool);
      return status;
    }
    thaw_threadpool_enter_run(pool);
  }
  int stop = THAW_OK;
  const executor e = {
      .parallel = {.thread_count = pool != NULL ? session->thread_count : 1,
                   .run = executor_run},
      .pool = pool,
      .options = options,
      .stop = &stop,
      .kernels = session->model->kernels,
      .scratch = session->scratch,
      .scratch_stride = session->scratch_stride,
  };
  const thaw_status status = run_nodes(session, &e, options, error);
  /* The workers stop spinning: nothing may burn CPU once the run returns. */
  if (pool != NULL) {
    thaw_threadpool_leave_run(pool);
    if (shared_pool != NULL) thaw_pool_give_back(shared_pool);
  }
  if (status != THAW_OK) return status;
  if (session->profile != NULL) session->profiled_runs++;
  session->outputs_are_results = true;
  thaw_session_carry_state(session);
  return THAW_OK;
}
