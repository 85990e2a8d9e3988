/*
 * One model, many threads: a model is immutable and shared, a session belongs to one thread
 * (README "The API in ten lines"). Two committed models are converted in the test, a CNN
 * (tiny_resnet) and a transformer encoder (encoder_tiny_opset13, attention with a mask), and
 * every output computed on 8 threads must be bit-identical to the same input run on one
 * thread. A second test opens, runs and closes models on 8 threads at once.
 *
 * CI runs this file under ThreadSanitizer too (-DTHAW_SANITIZE=thread), which is what finds a
 * kernel or the executor writing to shared state; the bit-identity check finds a result that
 * depends on which thread or how many threads computed it.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under -std=c11 */

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "test_support.h"
#include "thaw.h"

enum {
  THREADS = 8,
  INPUT_SETS_PER_THREAD = 3, /* each thread cycles through its own inputs */
  RUNS_PER_THREAD = 12,
  OPEN_CLOSE_PER_THREAD = 10,
  MAX_IO = 2,
};

typedef struct converted_model {
  const char *name;
  uint8_t *bytes;
  uint64_t size;
  thaw_model *model; /* shared by every thread of a test */
} converted_model;

/* Converts tests/models/<folder>/model.onnx with every input pinned to `dims`. */
static void convert_committed(converted_model *out, const char *folder, const char *const *inputs,
                              size_t input_count, uint32_t rank, const int64_t *dims) {
  thaw_input_shape shapes[MAX_IO];
  assert_true(input_count <= MAX_IO);
  for (size_t i = 0; i < input_count; ++i) {
    shapes[i].name = inputs[i];
    shapes[i].rank = rank;
    memcpy(shapes[i].dims, dims, rank * sizeof(int64_t));
  }
  char relative[256];
  snprintf(relative, sizeof(relative), "tests/models/%s/model.onnx", folder);
  char *path = thaw_test_source_path(relative);
  thaw_convert_options options = {.input_shapes = shapes, .input_shape_count = input_count};
  thaw_error error;
  out->name = folder;
  if (thaw_convert_onnx_file(path, &options, &out->bytes, &out->size, NULL, &error) != THAW_OK)
    fail_msg("%s: conversion failed: %s", folder, error.message);
  free(path);
  if (thaw_model_open_memory(out->bytes, out->size, 0, &out->model, &error) != THAW_OK)
    fail_msg("%s: the converted model does not open: %s", folder, error.message);
}

static void release(converted_model *converted) {
  thaw_model_close(converted->model);
  free(converted->bytes);
}

/* Fills every input of `session` from a generator seeded by `seed`: f32 inputs uniform in
 * [-1, 1), int64 inputs as token ids below 1000 (the encoder's vocabulary) or, for the
 * attention mask, a run of ones whose length depends on the seed. Returns false for an input
 * of another dtype. Worker threads call it too, so it does not use cmocka's assertions. */
static bool fill_inputs(const thaw_model *model, thaw_session *session, uint64_t seed) {
  thaw_test_rng rng = {seed};
  for (size_t i = 0; i < thaw_model_input_count(model); ++i) {
    thaw_tensor tensor;
    if (thaw_session_input(session, i, &tensor) != THAW_OK) return false;
    if (tensor.dtype == THAW_DTYPE_F32) {
      thaw_test_fill_uniform(&rng, tensor.data, tensor.element_count, -1.0f, 1.0f);
    } else if (tensor.dtype == THAW_DTYPE_I64) {
      int64_t *values = tensor.data;
      bool is_mask = strstr(tensor.name, "mask") != NULL;
      size_t ones = 1 + (size_t)(thaw_test_rng_next(&rng) % tensor.element_count);
      for (size_t k = 0; k < tensor.element_count; ++k)
        values[k] = is_mask ? k < ones : (int64_t)(thaw_test_rng_next(&rng) % 1000);
    } else {
      return false;
    }
  }
  return true;
}

static uint64_t input_seed(size_t thread, size_t set) {
  return 0x5eed0000u + thread * INPUT_SETS_PER_THREAD + set;
}

/* Every output's bytes, concatenated, for one input set. */
typedef struct outputs {
  uint8_t *bytes;
  size_t size;
} outputs;

static size_t output_bytes(const thaw_model *model) {
  size_t total = 0;
  for (size_t o = 0; o < thaw_model_output_count(model); ++o) {
    thaw_tensor tensor;
    assert_int_equal(thaw_model_output(model, o, &tensor), THAW_OK);
    total += tensor.size_bytes;
  }
  return total;
}

/* Copies the session's outputs into `destination` (output_bytes(model) long). */
static thaw_status collect_outputs(const thaw_model *model, thaw_session *session,
                                   uint8_t *destination) {
  for (size_t o = 0; o < thaw_model_output_count(model); ++o) {
    thaw_tensor tensor;
    thaw_status status = thaw_session_output(session, o, &tensor);
    if (status != THAW_OK) return status;
    memcpy(destination, tensor.data, tensor.size_bytes);
    destination += tensor.size_bytes;
  }
  return THAW_OK;
}

/* The single-threaded reference: every (thread, set) input run in one session. */
static void compute_reference(const converted_model *converted,
                              outputs reference[THREADS][INPUT_SETS_PER_THREAD]) {
  thaw_session *session;
  thaw_error error;
  assert_int_equal(thaw_session_create(converted->model, NULL, &session, &error), THAW_OK);
  size_t size = output_bytes(converted->model);
  for (size_t t = 0; t < THREADS; ++t)
    for (size_t s = 0; s < INPUT_SETS_PER_THREAD; ++s) {
      assert_true(fill_inputs(converted->model, session, input_seed(t, s)));
      if (thaw_session_run(session, NULL, &error) != THAW_OK)
        fail_msg("%s: reference run failed: %s", converted->name, error.message);
      reference[t][s].size = size;
      reference[t][s].bytes = malloc(size);
      assert_non_null(reference[t][s].bytes);
      assert_int_equal(collect_outputs(converted->model, session, reference[t][s].bytes), THAW_OK);
    }
  thaw_session_destroy(session);
}

static void free_reference(outputs reference[THREADS][INPUT_SETS_PER_THREAD]) {
  for (size_t t = 0; t < THREADS; ++t)
    for (size_t s = 0; s < INPUT_SETS_PER_THREAD; ++s) free(reference[t][s].bytes);
}

/* What a worker thread did: cmocka's assertions are not thread-safe, so workers only record
 * the first problem and the main thread fails the test. */
typedef struct worker {
  pthread_t thread;
  size_t index;
  const converted_model *converted;
  outputs (*reference)[INPUT_SETS_PER_THREAD];
  pthread_barrier_t *start;
  size_t runs;
  size_t mismatches;
  char problem[sizeof(((thaw_error *)0)->message) + 64];
} worker;

/* Runs this thread's input sets RUNS_PER_THREAD times in its own session on the shared model
 * and compares every result with the single-threaded reference, byte for byte. The input is
 * refilled before every run, so a previous run cannot leave the right answer behind. */
static void *run_shared_model(void *argument) {
  worker *self = argument;
  const thaw_model *model = self->converted->model;
  /* Every thread starts together, session creation included. */
  pthread_barrier_wait(self->start);
  thaw_session *session;
  thaw_error error;
  if (thaw_session_create(model, NULL, &session, &error) != THAW_OK) {
    snprintf(self->problem, sizeof(self->problem), "session: %s", error.message);
    return NULL;
  }
  uint8_t *actual = malloc(self->reference[self->index][0].size);
  for (size_t run = 0; run < RUNS_PER_THREAD && actual; ++run) {
    size_t set = run % INPUT_SETS_PER_THREAD;
    const outputs *expected = &self->reference[self->index][set];
    if (!fill_inputs(model, session, input_seed(self->index, set))) {
      snprintf(self->problem, sizeof(self->problem), "run %zu: cannot fill the inputs", run);
      break;
    }
    if (thaw_session_run(session, NULL, &error) != THAW_OK ||
        collect_outputs(model, session, actual) != THAW_OK) {
      snprintf(self->problem, sizeof(self->problem), "run %zu: %s", run, error.message);
      break;
    }
    self->runs++;
    if (memcmp(actual, expected->bytes, expected->size) != 0) self->mismatches++;
  }
  thaw_session_destroy(session);
  free(actual);
  return NULL;
}

static void check_shared_model(const converted_model *converted) {
  outputs reference[THREADS][INPUT_SETS_PER_THREAD];
  compute_reference(converted, reference);
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
  worker workers[THREADS];
  memset(workers, 0, sizeof(workers));
  for (size_t t = 0; t < THREADS; ++t) {
    workers[t].index = t;
    workers[t].converted = converted;
    workers[t].reference = reference;
    workers[t].start = &start;
    assert_int_equal(pthread_create(&workers[t].thread, NULL, run_shared_model, &workers[t]), 0);
  }
  for (size_t t = 0; t < THREADS; ++t) assert_int_equal(pthread_join(workers[t].thread, NULL), 0);
  pthread_barrier_destroy(&start);
  free_reference(reference);
  for (size_t t = 0; t < THREADS; ++t) {
    if (workers[t].problem[0]) fail_msg("%s thread %zu: %s", converted->name, t, workers[t].problem);
    if (workers[t].mismatches)
      fail_msg("%s thread %zu: %zu of %zu runs differ from the single-threaded run",
               converted->name, t, workers[t].mismatches, workers[t].runs);
    assert_int_equal(workers[t].runs, RUNS_PER_THREAD);
  }
}

static const char *const kImageInputs[] = {"image"};
static const int64_t kImageDims[4] = {1, 3, 32, 32};
static const char *const kEncoderInputs[] = {"input_ids", "attention_mask"};
static const int64_t kTokenDims[2] = {1, 16};

static void test_cnn_shared_by_eight_threads(void **state) {
  (void)state;
  converted_model cnn;
  convert_committed(&cnn, "tiny_resnet", kImageInputs, 1, 4, kImageDims);
  check_shared_model(&cnn);
  release(&cnn);
}

static void test_encoder_shared_by_eight_threads(void **state) {
  (void)state;
  converted_model encoder;
  convert_committed(&encoder, "encoder_tiny_opset13", kEncoderInputs, 2, 2, kTokenDims);
  check_shared_model(&encoder);
  release(&encoder);
}

/* ---- Opening and closing concurrently ---- */

typedef struct opener {
  pthread_t thread;
  size_t index;
  const converted_model *converted;
  const char *path; /* the same model written to a file */
  const outputs *expected; /* for input_seed(0, 0) */
  pthread_barrier_t *start;
  size_t opens;
  char problem[sizeof(((thaw_error *)0)->message) + 64];
} opener;

/* Alternates between the file (mmap) and the shared bytes: open, session, one run, compare,
 * destroy, close. */
static void *open_run_close(void *argument) {
  opener *self = argument;
  uint8_t *actual = malloc(self->expected->size);
  pthread_barrier_wait(self->start);
  for (size_t i = 0; i < OPEN_CLOSE_PER_THREAD && actual; ++i) {
    thaw_model *model;
    thaw_session *session;
    thaw_error error;
    bool from_file = (i + self->index) % 2 == 0;
    thaw_status status =
        from_file ? thaw_model_open(self->path, 0, &model, &error)
                  : thaw_model_open_memory(self->converted->bytes, self->converted->size, 0,
                                           &model, &error);
    if (status != THAW_OK) {
      snprintf(self->problem, sizeof(self->problem), "open %zu: %s", i, error.message);
      break;
    }
    status = thaw_session_create(model, NULL, &session, &error);
    if (status == THAW_OK) {
      if (fill_inputs(model, session, input_seed(0, 0))) {
        status = thaw_session_run(session, NULL, &error);
      } else {
        status = THAW_STATUS_INVALID_ARGUMENT;
        snprintf(error.message, sizeof(error.message), "cannot fill the inputs");
      }
      if (status == THAW_OK) status = collect_outputs(model, session, actual);
      thaw_session_destroy(session);
    }
    thaw_model_close(model);
    if (status != THAW_OK) {
      snprintf(self->problem, sizeof(self->problem), "iteration %zu: %s", i, error.message);
      break;
    }
    if (memcmp(actual, self->expected->bytes, self->expected->size) != 0) {
      snprintf(self->problem, sizeof(self->problem), "iteration %zu (%s): output differs", i,
               from_file ? "file" : "memory");
      break;
    }
    self->opens++;
  }
  free(actual);
  return NULL;
}

static void test_open_and_close_on_eight_threads(void **state) {
  (void)state;
  converted_model encoder;
  convert_committed(&encoder, "encoder_tiny_opset13", kEncoderInputs, 2, 2, kTokenDims);
  outputs reference[THREADS][INPUT_SETS_PER_THREAD];
  compute_reference(&encoder, reference);
  char *path = thaw_test_tmp_path("encoder.thaw");
  thaw_test_write_file(path, encoder.bytes, (size_t)encoder.size);

  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
  opener openers[THREADS];
  memset(openers, 0, sizeof(openers));
  for (size_t t = 0; t < THREADS; ++t) {
    openers[t].index = t;
    openers[t].converted = &encoder;
    openers[t].path = path;
    openers[t].expected = &reference[0][0];
    openers[t].start = &start;
    assert_int_equal(pthread_create(&openers[t].thread, NULL, open_run_close, &openers[t]), 0);
  }
  for (size_t t = 0; t < THREADS; ++t) assert_int_equal(pthread_join(openers[t].thread, NULL), 0);
  pthread_barrier_destroy(&start);
  for (size_t t = 0; t < THREADS; ++t) {
    if (openers[t].problem[0]) fail_msg("thread %zu: %s", t, openers[t].problem);
    assert_int_equal(openers[t].opens, OPEN_CLOSE_PER_THREAD);
  }
  free_reference(reference);
  free(path);
  release(&encoder);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cnn_shared_by_eight_threads),
      cmocka_unit_test(test_encoder_shared_by_eight_threads),
      cmocka_unit_test(test_open_and_close_on_eight_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
