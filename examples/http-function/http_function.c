/*
 * A thaw model as an HTTP function (Knative, Cloud Run, OpenFaaS of-watchdog "http" mode):
 * listens on $PORT, opens the model once at start, answers
 *
 *   POST /infer        a .npy body (one-input models) → the output as .npy (?output=NAME picks
 *                      which; the first by default); a JSON body {"inputs": {...}} → JSON
 *                      {"outputs": {...}} (examples/common/function.h has the layout)
 *   GET  /_/health     200 while the process serves
 *   GET  /_/ready      200 once the model is open and the sessions exist (before that the
 *                      port is not open at all)
 *
 * Errors are JSON {"error": "..."}: 400 a body that is not .npy/JSON or not the documented
 * layout, 404 an unknown route or output, 405 a wrong method, 413 a body over the limit, 422
 * inputs that do not fit the model, 500 a failed run.
 *
 * Threads: libmicrohttpd's thread pool with one worker per CPU, and as many thaw sessions,
 * taken from a pool for each request. A session per worker runs requests in parallel with no
 * lock held during a run (a single session behind a mutex would serialise them); the model's
 * weights are shared by all sessions, so a worker costs only its arena.
 *
 * Environment: PORT (default 8080), HOST (the IPv4 address to listen on, default all: set
 * 127.0.0.1 to stay on loopback), THAW_MODEL (the .thaw file, when none is embedded),
 * THAW_WORKERS (default: online CPUs), THAW_MAX_BODY_BYTES (default 64 MiB), THAW_DEADLINE_MS
 * (stop a run that takes longer and answer 504, so a stuck request does not hold a worker past
 * the platform's request timeout; default none). SIGTERM or SIGINT stops it cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "function.h"
#include "npy.h"

#define HTTP_DEFAULT_PORT 8080
#define HTTP_DEFAULT_MAX_BODY_BYTES (64ul << 20)
#define HTTP_MAX_WORKERS 256ul
#define HTTP_MAX_DEADLINE_MS 3600000ul
/* Seconds an idle connection is kept open. */
#define HTTP_CONNECTION_TIMEOUT 60u

static const char npy_magic[] = "\x93NUMPY";

typedef struct http_function {
  function_session_pool sessions;
  size_t max_body_bytes;
  uint64_t run_time_limit_ns; /* 0: none */
} http_function;

/* One request's body, collected as libmicrohttpd hands it over in pieces. */
typedef struct request_body {
  char *bytes;
  size_t length;
  size_t capacity;
  bool too_large;
  bool out_of_memory;
} request_body;

/* ---- Responses ---- */

static enum MHD_Result respond(struct MHD_Connection *connection, unsigned int status,
                               const char *content_type, char *body, size_t length) {
  struct MHD_Response *response =
      MHD_create_response_from_buffer(length, body, MHD_RESPMEM_MUST_FREE);
  if (response == NULL) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  enum MHD_Result result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned int status,
                                    const char *text) {
  char *body = strdup(text);
  if (body == NULL) return MHD_NO;
  return respond(connection, status, "text/plain; charset=utf-8", body, strlen(body));
}

/* {"error": "<message>"} with the message escaped as a JSON string. */
static enum MHD_Result respond_error(struct MHD_Connection *connection, unsigned int status,
                                     const char *message) {
  char *body = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&body, &length);
  if (stream == NULL) return MHD_NO;
  fputs("{\"error\":", stream);
  function_write_json_string(stream, message);
  fputs("}\n", stream);
  if (fclose(stream) != 0) {
    free(body);
    return MHD_NO;
  }
  fprintf(stderr, "%u %s\n", status, message);
  return respond(connection, status, "application/json", body, length);
}

static unsigned int http_status_of(function_fault fault) {
  switch (fault) {
    case FUNCTION_OK: return MHD_HTTP_OK;
    case FUNCTION_BAD_BODY: return MHD_HTTP_BAD_REQUEST;
    case FUNCTION_WRONG_INPUT: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case FUNCTION_TIMED_OUT: return MHD_HTTP_GATEWAY_TIMEOUT;
    case FUNCTION_FAILED: break;
  }
  return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- /infer ---- */

static function_fault read_npy_input(thaw_session *session, const request_body *body,
                                     function_error *error) {
  thaw_tensor input;
  if (thaw_session_input(session, 1, &input) == THAW_OK)
    return function_fail(error, FUNCTION_WRONG_INPUT,
                         "a .npy body fills one input, but the model has several: send JSON "
                         "{\"inputs\": {...}}");
  thaw_session_input(session, 0, &input);
  thaw_npy npy;
  thaw_error npy_error;
  if (thaw_npy_parse(body->bytes, body->length, "body", &npy, &npy_error) != THAW_OK)
    return function_fail(error, FUNCTION_BAD_BODY, "bad .npy: %s", npy_error.message);
  bool same_shape = npy.rank == input.rank && npy.dtype == input.dtype;
  for (uint32_t i = 0; same_shape && i < input.rank; i++)
    same_shape = npy.shape[i] == input.shape[i];
  function_fault fault = FUNCTION_OK;
  if (!same_shape) {
    char expected[FUNCTION_SHAPE_TEXT_SIZE], actual[FUNCTION_SHAPE_TEXT_SIZE];
    function_format_shape(expected, input.rank, input.shape);
    function_format_shape(actual, npy.rank, npy.shape);
    fault = function_fail(error, FUNCTION_WRONG_INPUT, "input \"%s\" is %s %s, the body is %s %s",
                          input.name, thaw_dtype_name(input.dtype), expected,
                          thaw_dtype_name(npy.dtype), actual);
  } else {
    memcpy(input.data, npy.data, npy.size_bytes);
  }
  thaw_npy_free(&npy);
  return fault;
}

static enum MHD_Result respond_npy_output(struct MHD_Connection *connection,
                                          thaw_session *session) {
  const char *wanted = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND, "output");
  thaw_tensor output;
  bool found = false;
  for (size_t i = 0; !found && thaw_session_output(session, i, &output) == THAW_OK; i++)
    found = wanted == NULL || strcmp(output.name, wanted) == 0;
  if (!found) {
    char message[320];
    snprintf(message, sizeof message, "the model has no output \"%s\"", wanted);
    return respond_error(connection, MHD_HTTP_NOT_FOUND, message);
  }
  char *body = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&body, &length);
  if (stream == NULL) return MHD_NO;
  thaw_error error;
  thaw_status status = thaw_npy_write_stream(stream, output.name, output.dtype, output.rank,
                                             output.shape, output.data, &error);
  if (fclose(stream) != 0 || status != THAW_OK) {
    free(body);
    return respond_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
                         status != THAW_OK ? error.message : "out of memory");
  }
  return respond(connection, MHD_HTTP_OK, "application/x-npy", body, length);
}

static enum MHD_Result respond_json_outputs(struct MHD_Connection *connection,
                                            thaw_session *session) {
  char *body = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&body, &length);
  if (stream == NULL) return MHD_NO;
  bool written = function_write_json_outputs(session, stream);
  if (fclose(stream) != 0 || !written) {
    free(body);
    return respond_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  }
  return respond(connection, MHD_HTTP_OK, "application/json", body, length);
}

static enum MHD_Result infer(http_function *function, struct MHD_Connection *connection,
                             const request_body *body) {
  bool is_npy = body->length >= sizeof npy_magic - 1 &&
                memcmp(body->bytes, npy_magic, sizeof npy_magic - 1) == 0;
  thaw_session *session = function_session_acquire(&function->sessions);
  function_error error;
  function_fault fault = is_npy ? read_npy_input(session, body, &error)
                                : function_read_json_inputs(session, body->bytes, body->length,
                                                            &error);
  if (fault == FUNCTION_OK) {
    const uint64_t limit = function->run_time_limit_ns;
    fault = function_run(session, limit != 0 ? thaw_monotonic_ns() + limit : 0, &error);
  }
  enum MHD_Result result;
  if (fault != FUNCTION_OK)
    result = respond_error(connection, http_status_of(fault), error.message);
  else if (is_npy)
    result = respond_npy_output(connection, session);
  else
    result = respond_json_outputs(connection, session);
  function_session_release(&function->sessions, session);
  return result;
}

/* Append a piece of the body; past the limit the rest is counted out, not stored. */
static void collect_body(request_body *body, const char *data, size_t size, size_t limit) {
  if (body->too_large || body->out_of_memory) return;
  if (size > limit - body->length) {
    body->too_large = true;
    return;
  }
  if (body->length + size > body->capacity) {
    size_t capacity = body->capacity == 0 ? 4096 : body->capacity;
    while (capacity < body->length + size) capacity = capacity > limit / 2 ? limit : capacity * 2;
    char *bytes = realloc(body->bytes, capacity);
    if (bytes == NULL) {
      body->out_of_memory = true;
      return;
    }
    body->bytes = bytes;
    body->capacity = capacity;
  }
  memcpy(body->bytes + body->length, data, size);
  body->length += size;
}

/* ---- Routing ---- */

static enum MHD_Result handle_request(void *context, struct MHD_Connection *connection,
                                      const char *url, const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **request_state) {
  (void)version;
  http_function *function = context;
  bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

  if (strcmp(url, "/_/health") == 0 || strcmp(url, "/_/ready") == 0) {
    if (!is_get) return respond_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    return respond_text(connection, MHD_HTTP_OK, "ok\n");
  }
  if (strcmp(url, "/infer") != 0) {
    char message[320];
    snprintf(message, sizeof message,
             "no route %s %.200s; POST /infer, GET /_/health, GET /_/ready", method, url);
    return respond_error(connection, MHD_HTTP_NOT_FOUND, message);
  }
  if (!is_post) return respond_error(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");

  request_body *body = *request_state;
  if (body == NULL) {
    /* First call: only the headers are in. Refuse a declared oversized body before reading
     * any of it. */
    const char *declared =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (declared != NULL && strtoull(declared, NULL, 10) > function->max_body_bytes) {
      char message[128];
      snprintf(message, sizeof message, "the body is over the limit of %zu bytes",
               function->max_body_bytes);
      return respond_error(connection, MHD_HTTP_CONTENT_TOO_LARGE, message);
    }
    body = calloc(1, sizeof *body);
    if (body == NULL) return MHD_NO;
    *request_state = body;
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    collect_body(body, upload_data, *upload_data_size, function->max_body_bytes);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (body->too_large) {
    char message[128];
    snprintf(message, sizeof message, "the body is over the limit of %zu bytes",
             function->max_body_bytes);
    return respond_error(connection, MHD_HTTP_CONTENT_TOO_LARGE, message);
  }
  if (body->out_of_memory)
    return respond_error(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  if (body->length == 0)
    return respond_error(connection, MHD_HTTP_BAD_REQUEST,
                         "empty body: send a .npy file or JSON {\"inputs\": {...}}");
  return infer(function, connection, body);
}

static void release_request(void *context, struct MHD_Connection *connection,
                            void **request_state, enum MHD_RequestTerminationCode code) {
  (void)context, (void)connection, (void)code;
  request_body *body = *request_state;
  if (body == NULL) return;
  free(body->bytes);
  free(body);
  *request_state = NULL;
}

/* ---- Start and stop ---- */

/* The decimal value of environment variable `name` in [minimum, maximum], or `fallback` when it
 * is unset; false (after a message) when it is set to something else. */
static bool environment_count(const char *name, unsigned long minimum, unsigned long maximum,
                              unsigned long fallback, unsigned long *value) {
  const char *text = getenv(name);
  if (text == NULL || text[0] == '\0') {
    *value = fallback;
    return true;
  }
  char *end;
  errno = 0;
  unsigned long parsed = strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] == '-' || parsed < minimum || parsed > maximum) {
    fprintf(stderr, "http-function: %s=%s: expected a number in [%lu, %lu]\n", name, text,
            minimum, maximum);
    return false;
  }
  *value = parsed;
  return true;
}

int main(void) {
  long online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned long port, workers, max_body_bytes, deadline_ms;
  if (!environment_count("PORT", 1, 65535, HTTP_DEFAULT_PORT, &port) ||
      !environment_count("THAW_WORKERS", 1, HTTP_MAX_WORKERS,
                         online_cpus > 0 ? (unsigned long)online_cpus : 1, &workers) ||
      !environment_count("THAW_MAX_BODY_BYTES", 1, SIZE_MAX, HTTP_DEFAULT_MAX_BODY_BYTES,
                         &max_body_bytes) ||
      !environment_count("THAW_DEADLINE_MS", 0, HTTP_MAX_DEADLINE_MS, 0, &deadline_ms))
    return 2;
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_ANY)};
  const char *host = getenv("HOST");
  if (host != NULL && host[0] != '\0' && inet_pton(AF_INET, host, &address.sin_addr) != 1) {
    fprintf(stderr, "http-function: HOST=%s: expected an IPv4 address\n", host);
    return 2;
  }

  thaw_model *model;
  thaw_error error;
  if (function_open_model(getenv("THAW_MODEL"), &model, &error) != THAW_OK) {
    fprintf(stderr, "http-function: %s: %s\n", thaw_status_str(error.status), error.message);
    return 1;
  }
  http_function function = {.max_body_bytes = max_body_bytes,
                            .run_time_limit_ns = (uint64_t)deadline_ms * 1000000u};
  if (function_session_pool_create(model, workers, &function.sessions, &error) != THAW_OK) {
    fprintf(stderr, "http-function: %s\n", error.message);
    thaw_model_close(model);
    return 1;
  }

  /* Block the stop signals before libmicrohttpd starts its threads, so they inherit the mask
   * and only sigwait below receives them. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  struct MHD_Daemon *daemon = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
      (uint16_t)port, NULL, NULL, handle_request, &function, MHD_OPTION_SOCK_ADDR, &address,
      MHD_OPTION_THREAD_POOL_SIZE,
      /* One worker is the polling thread itself: libmicrohttpd wants 0, not a pool of 1. */
      (unsigned int)(workers > 1 ? workers : 0), MHD_OPTION_NOTIFY_COMPLETED, release_request, NULL,
      MHD_OPTION_CONNECTION_TIMEOUT, HTTP_CONNECTION_TIMEOUT, MHD_OPTION_END);
  int exit_status = 0;
  if (daemon == NULL) {
    fprintf(stderr, "http-function: cannot listen on %s:%lu\n",
            host != NULL && host[0] != '\0' ? host : "*", port);
    exit_status = 1;
  } else {
    fprintf(stderr, "http-function: listening on port %lu with %lu workers\n", port, workers);
    int received;
    sigwait(&stop_signals, &received);
    MHD_stop_daemon(daemon);
  }
  function_session_pool_destroy(&function.sessions);
  thaw_model_close(model);
  return exit_status;
}
