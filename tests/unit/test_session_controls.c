/* What a caller controls around a run: the session's memory limit, a run's deadline and its
 * cancel flag, and that outputs of a run that stopped early are never handed out as results.
 * Every run test runs on one thread and on two: with two, a product is split in tasks and a
 * run may also stop between the tasks of a node. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "test_runtime_builder.h"

/* A chain of CHAIN_LENGTH products with the identity, so every node takes the same time and
 * the output equals the input exactly: long enough to be stopped in the middle. */
enum { CHAIN_SIZE = 192, CHAIN_LENGTH = 48 };

static test_model_bytes build_identity_chain(void) {
  float *identity = calloc(CHAIN_SIZE * CHAIN_SIZE, sizeof(float));
  assert_non_null(identity);
  for (size_t i = 0; i < CHAIN_SIZE; i++) identity[i * CHAIN_SIZE + i] = 1.0f;
  thaw_writer *w = thaw_writer_create();
  const uint32_t weight = test_packed_constant(w, "identity", CHAIN_SIZE, CHAIN_SIZE, identity);
  free(identity);
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  uint32_t value = test_activation(w, "x", THAW_DTYPE_F32, DIMS(CHAIN_SIZE, CHAIN_SIZE));
  thaw_writer_add_input(w, value);
  for (int n = 0; n < CHAIN_LENGTH; n++) {
    char name[32];
    snprintf(name, sizeof name, "h%d", n);
    const uint32_t next = test_activation(w, name, THAW_DTYPE_F32, DIMS(CHAIN_SIZE, CHAIN_SIZE));
    snprintf(name, sizeof name, "product%d", n);
    test_node(w, THAW_OP_MATMUL, name, &plain, 2, (uint32_t[]){value, weight}, next);
    value = next;
  }
  thaw_writer_add_output(w, value);
  return test_finish(w);
}

typedef struct chain_fixture {
  test_model_bytes bytes;
  thaw_model *model;
  thaw_session *session;
  float *input;
} chain_fixture;

static int chain_setup(void **state, uint32_t threads) {
  chain_fixture *f = calloc(1, sizeof *f);
  f->bytes = build_identity_chain();
  f->model = test_open(&f->bytes);
  thaw_error error = {0};
  const thaw_session_options options = {.threads = threads};
  if (thaw_session_create(f->model, &options, &f->session, &error) != THAW_OK) {
    fail_msg("session: %s", error.message);
  }
  f->input = malloc(CHAIN_SIZE * CHAIN_SIZE * sizeof(float));
  thaw_test_rng rng = {7};
  thaw_test_fill_uniform(&rng, f->input, CHAIN_SIZE * CHAIN_SIZE, -1.0f, 1.0f);
  test_set_input(f->session, 0, f->input);
  *state = f;
  return 0;
}

static int chain_setup_one_thread(void **state) { return chain_setup(state, 1); }
static int chain_setup_two_threads(void **state) { return chain_setup(state, 2); }

static int chain_teardown(void **state) {
  chain_fixture *f = *state;
  thaw_session_destroy(f->session);
  thaw_model_close(f->model);
  free(f->bytes.bytes);
  free(f->input);
  free(f);
  return 0;
}

/* A run with `options` must finish and give back the input unchanged. */
static void assert_run_succeeds(chain_fixture *f, const thaw_run_options *options) {
  thaw_error error = {0};
  if (thaw_session_run(f->session, options, &error) != THAW_OK) fail_msg("run: %s", error.message);
  const float *output = test_output(f->session, 0);
  assert_memory_equal(output, f->input, CHAIN_SIZE * CHAIN_SIZE * sizeof(float));
}

/* The fastest of a few runs, in ns: with other load on the machine (and on two threads, a
 * worker that is not scheduled at once) single runs vary a lot, and a deadline at a fraction
 * of a slow run could let a fast run finish. The first run also faults the arena in and
 * starts the workers. */
static uint64_t fastest_run_ns(chain_fixture *f, const thaw_run_options *options) {
  uint64_t fastest = UINT64_MAX;
  for (int run = 0; run < 4; run++) {
    const uint64_t start = thaw_monotonic_ns();
    assert_run_succeeds(f, options);
    const uint64_t elapsed = thaw_monotonic_ns() - start;
    if (elapsed < fastest) fastest = elapsed;
  }
  return fastest;
}

/* The run stopped with `status` somewhere inside the chain: between two nodes (not before the
 * first) or between the tasks of one. */
static void assert_stopped_inside(chain_fixture *f, thaw_status status, const thaw_error *error) {
  assert_int_equal(error->status, status);
  unsigned node = 0, node_count = 0;
  char where[16];
  if (sscanf(error->message, "the run stopped %15s node %u of %u", where, &node, &node_count) !=
          3 ||
      (strcmp(where, "before") != 0 && strcmp(where, "inside") != 0)) {
    fail_msg("unexpected message: %s", error->message);
  }
  assert_int_equal(node_count, CHAIN_LENGTH);
  assert_true(node < CHAIN_LENGTH);
  if (strcmp(where, "before") == 0) assert_true(node > 0);
  thaw_tensor output;
  assert_int_equal(thaw_session_output(f->session, 0, &output), THAW_STATUS_NO_RESULT);
}

static void test_deadline_already_passed(void **state) {
  chain_fixture *f = *state;
  const thaw_run_options options = {.deadline_ns = thaw_monotonic_ns()};
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(f->session, &options, &error), THAW_STATUS_DEADLINE);
  assert_non_null(strstr(error.message, "stopped before node 0 of 48 (\"product0\")"));
  assert_non_null(strstr(error.message, "deadline passed"));
  thaw_tensor output;
  assert_int_equal(thaw_session_output(f->session, 0, &output), THAW_STATUS_NO_RESULT);
  assert_run_succeeds(f, NULL);
}

/* One attempt at cutting a run half-way: the deadline is half of `run_ns` (an unhindered run's
 * time) from the start. False when the machine's load got in the way: the run ended before the
 * deadline, or the process was not scheduled for a while after it passed. */
static bool cut_in_the_middle(chain_fixture *f, uint64_t run_ns) {
  const uint64_t node_ns = run_ns / CHAIN_LENGTH;
  const thaw_run_options options = {.deadline_ns = thaw_monotonic_ns() + run_ns / 2};
  thaw_error error = {0};
  const thaw_status status = thaw_session_run(f->session, &options, &error);
  const uint64_t returned = thaw_monotonic_ns();
  if (status == THAW_OK) return false;
  assert_int_equal(status, THAW_STATUS_DEADLINE);
  assert_true(returned >= options.deadline_ns);
  unsigned stopped_before = 0;
  if (sscanf(error.message, "the run stopped before node %u", &stopped_before) == 1 &&
      stopped_before == 0)
    return false; /* not scheduled at all before the deadline */
  assert_stopped_inside(f, THAW_STATUS_DEADLINE, &error);
  /* Within a few nodes' time of the deadline (generous, for a busy machine). */
  return returned - options.deadline_ns <= 8 * node_ns + 20000000u;
}

/* A deadline half-way through a run cuts it inside the chain, the status comes back soon after
 * the deadline, and the session is reusable. On a loaded machine one attempt may be disturbed,
 * so the property must hold in one of several. */
static void test_deadline_in_the_middle(void **state) {
  chain_fixture *f = *state;
  const uint64_t run_ns = fastest_run_ns(f, NULL);
  bool cut = false;
  for (int attempt = 0; attempt < 8 && !cut; attempt++) cut = cut_in_the_middle(f, run_ns);
  if (!cut) fail_msg("no run out of 8 was cut near a deadline half-way through it");
  const thaw_run_options later = {.deadline_ns = thaw_monotonic_ns() + 1000000000000u};
  assert_run_succeeds(f, &later);
}

typedef struct canceller {
  int *flag;
  uint64_t delay_ns;
} canceller;

static void *cancel_later(void *argument) {
  const canceller *c = argument;
  const struct timespec delay = {(time_t)(c->delay_ns / 1000000000u),
                                 (long)(c->delay_ns % 1000000000u)};
  nanosleep(&delay, NULL);
  __atomic_store_n(c->flag, 1, __ATOMIC_RELAXED);
  return NULL;
}

static void test_cancel_from_another_thread(void **state) {
  chain_fixture *f = *state;
  int cancel = 1;
  const thaw_run_options options = {.cancel_flag = &cancel};
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(f->session, &options, &error), THAW_STATUS_CANCELLED);
  assert_non_null(strstr(error.message, "stopped before node 0 of 48"));
  assert_non_null(strstr(error.message, "cancel flag was set"));

  /* Cancel a third of the way into a run, from another thread. */
  cancel = 0;
  const uint64_t run_ns = fastest_run_ns(f, &options);
  canceller c = {&cancel, run_ns / 3};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, cancel_later, &c), 0);
  const thaw_status status = thaw_session_run(f->session, &options, &error);
  assert_int_equal(pthread_join(thread, NULL), 0);
  /* On a machine too busy to start the thread within the run, the run ends first. */
  if (status == THAW_OK) {
    skip();
  }
  assert_int_equal(status, THAW_STATUS_CANCELLED);
  assert_stopped_inside(f, THAW_STATUS_CANCELLED, &error);
  __atomic_store_n(&cancel, 0, __ATOMIC_RELAXED);
  assert_run_succeeds(f, &options);
}

static void test_memory_limit(void **state) {
  chain_fixture *f = *state;
  const size_t needed = thaw_model_session_bytes(f->model);
  assert_true(needed > 2 * CHAIN_SIZE * CHAIN_SIZE * sizeof(float));
  thaw_session *session = NULL;
  thaw_error error = {0};
  const thaw_session_options tight = {.max_bytes = needed - 1};
  assert_int_equal(thaw_session_create(f->model, &tight, &session, &error), THAW_STATUS_LIMIT);
  assert_null(session);
  char expected[96];
  snprintf(expected, sizeof expected, "a session needs %zu bytes", needed);
  assert_non_null(strstr(error.message, expected));
  snprintf(expected, sizeof expected, "over the limit of %zu", needed - 1);
  assert_non_null(strstr(error.message, expected));

  const thaw_session_options exact = {.max_bytes = needed};
  assert_int_equal(thaw_session_create(f->model, &exact, &session, &error), THAW_OK);
  thaw_session_destroy(session);
}

static void test_every_status_has_a_name(void **state) {
  (void)state;
  for (int s = 0; s < THAW_STATUS_COUNT; s++) {
    const char *name = thaw_status_str((thaw_status)s);
    assert_non_null(name);
    assert_true(strcmp(name, "unknown status") != 0);
    for (int t = 0; t < s; t++) assert_string_not_equal(name, thaw_status_str((thaw_status)t));
  }
  assert_string_equal(thaw_status_str(THAW_STATUS_COUNT), "unknown status");
}

#define ON_ONE_AND_TWO_THREADS(test)                                            \
  {#test " on 1 thread", test, chain_setup_one_thread, chain_teardown, NULL},     \
      {#test " on 2 threads", test, chain_setup_two_threads, chain_teardown, NULL}

int main(void) {
  const struct CMUnitTest tests[] = {
      ON_ONE_AND_TWO_THREADS(test_deadline_already_passed),
      ON_ONE_AND_TWO_THREADS(test_deadline_in_the_middle),
      ON_ONE_AND_TWO_THREADS(test_cancel_from_another_thread),
      cmocka_unit_test_setup_teardown(test_memory_limit, chain_setup_one_thread, chain_teardown),
      cmocka_unit_test(test_every_status_has_a_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
