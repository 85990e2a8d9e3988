/*
 * What the HTTP function and the Lambda bootstrap share: opening the model (embedded or from a
 * file), a pool of sessions, and the JSON request/response bodies
 *
 *     request:  {"inputs": {"image": [[[[0, 0.5, ...]]]], ...}}   every model input, once
 *     response: {"outputs": {"probabilities": [[0.01, ...]], ...}} every model output
 *
 * where each tensor is nested JSON arrays, one level per dim (a bare value for rank 0).
 * Numbers go into f32 inputs as floats, into integer inputs only when they are integers in
 * range; bool inputs take true/false. f32 outputs that are NaN or infinite are written as
 * null, as JSON has no such numbers.
 *
 * Bodies are untrusted: the parser is bounded by the body length and the model's shapes, and
 * every fault is reported as one of the kinds below, with a message naming the input at fault.
 */
#ifndef THAW_EXAMPLES_FUNCTION_H
#define THAW_EXAMPLES_FUNCTION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thaw.h"

typedef enum function_fault {
  FUNCTION_OK = 0,
  FUNCTION_BAD_BODY,     /* not JSON / not .npy, or not the documented layout: HTTP 400 */
  FUNCTION_WRONG_INPUT,  /* well-formed, but not what the model takes: HTTP 422 */
  FUNCTION_FAILED,       /* the model failed to run, or memory ran out: HTTP 500 */
  FUNCTION_TIMED_OUT,    /* the run passed its deadline and stopped: HTTP 504 */
} function_fault;

typedef struct function_error {
  function_fault fault;
  char message[320];
} function_error;

/* Record a fault; returns it, for `return function_fail(...)`. */
function_fault function_fail(function_error *error, function_fault fault, const char *format,
                             ...) __attribute__((format(printf, 3, 4)));

/* "[1,3,224,224]": a sign, 19 digits and a comma per dim fit, with the brackets and NUL. */
#define FUNCTION_SHAPE_TEXT_SIZE (THAW_MAX_RANK * 21 + 3)
void function_format_shape(char text[FUNCTION_SHAPE_TEXT_SIZE], uint32_t rank,
                           const int64_t *shape);

/* The model: the embedded one when the binary has it (thaw_embed_model with the default
 * symbol), else the file named by `path`. A message on stderr says which, and why not. */
thaw_status function_open_model(const char *path, thaw_model **model, thaw_error *error);

/* A fixed set of sessions, one per worker thread that may run the model at the same time.
 * A worker takes one for a request and gives it back; a session is never shared. */
typedef struct function_session_pool {
  pthread_mutex_t lock;
  pthread_cond_t available;
  thaw_session **free_sessions;
  size_t free_count;
  size_t size;
} function_session_pool;

thaw_status function_session_pool_create(const thaw_model *model, size_t size,
                                         function_session_pool *pool, thaw_error *error);
void function_session_pool_destroy(function_session_pool *pool);
/* Blocks while every session is in use. */
thaw_session *function_session_acquire(function_session_pool *pool);
void function_session_release(function_session_pool *pool, thaw_session *session);

/* Parse a {"inputs": {...}} body into the session's input buffers. Other top-level members
 * (a Lambda event may carry some) are skipped. */
function_fault function_read_json_inputs(thaw_session *session, const char *body,
                                         size_t length, function_error *error);

/* Write {"outputs": {...}} for the session's outputs after a run. */
bool function_write_json_outputs(thaw_session *session, FILE *stream);
/* `text` as a JSON string literal, quotes included. */
void function_write_json_string(FILE *stream, const char *text);

/* Run the session, stopping at `deadline_ns` on thaw_monotonic_ns()'s clock (0: none); a
 * failure becomes FUNCTION_TIMED_OUT or FUNCTION_FAILED with the library's message. */
function_fault function_run(thaw_session *session, uint64_t deadline_ns, function_error *error);

#endif /* THAW_EXAMPLES_FUNCTION_H */
