/*
 * `bootstrap` for an AWS Lambda custom runtime (provided.al2023): the Runtime API loop around
 * one thaw session.
 *
 * At start it opens the model: the embedded one if the binary has it, else $THAW_MODEL, else
 * $LAMBDA_TASK_ROOT/model.thaw (the deployment zip's model). A model that cannot be opened is
 * reported to POST /runtime/init/error and the process exits. Then, forever:
 *
 *   GET  /2018-06-01/runtime/invocation/next            blocks until an event arrives
 *   POST /2018-06-01/runtime/invocation/{id}/response   {"outputs": {...}}
 *   POST /2018-06-01/runtime/invocation/{id}/error      {"errorMessage", "errorType"}
 *
 * The event is {"inputs": {...}} (examples/common/function.h). errorType is InvalidInput for
 * an event that does not fit the model, InferenceError for a failed run, DeadlineExceeded for a
 * run stopped THAW_DEADLINE_MARGIN_MS (default 200) before the invocation's deadline, so the
 * error still reaches the Runtime API before Lambda ends the invocation. An environment
 * serves one invocation at a time, so one session is enough. The request id and the time left
 * before the deadline (Lambda-Runtime-Deadline-Ms) are logged for each invocation.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "function.h"

#define RUNTIME_API_VERSION "2018-06-01"
/* Lambda's synchronous payload limit is 6 MB; anything larger is not a valid event. */
#define BOOTSTRAP_MAX_EVENT_BYTES (6ul << 20)
/* Request ids are UUIDs; the bound keeps the URL built from one small and safe. */
#define BOOTSTRAP_MAX_REQUEST_ID 128

typedef struct runtime_client {
  CURL *curl;
  char base_url[256]; /* http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime */
} runtime_client;

/* What GET /invocation/next returned. */
typedef struct invocation {
  char request_id[BOOTSTRAP_MAX_REQUEST_ID + 1];
  long long deadline_ms; /* Unix time in ms, 0 if the header was missing */
  char *event;
  size_t event_length;
  bool event_too_large;
} invocation;

static size_t collect_event(char *data, size_t size, size_t count, void *context) {
  invocation *next = context;
  size_t length = size * count;
  if (next->event_too_large || length > BOOTSTRAP_MAX_EVENT_BYTES - next->event_length) {
    next->event_too_large = true;
    return length;
  }
  char *event = realloc(next->event, next->event_length + length + 1);
  if (event == NULL) return 0; /* curl reports CURLE_WRITE_ERROR */
  memcpy(event + next->event_length, data, length);
  next->event = event;
  next->event_length += length;
  next->event[next->event_length] = '\0';
  return length;
}

/* The value of header `name` when `line` is that header ("Name: value\r\n"), trimmed. */
static bool header_value(const char *line, size_t length, const char *name, const char **value,
                         size_t *value_length) {
  size_t name_length = strlen(name);
  if (length <= name_length || line[name_length] != ':' ||
      strncasecmp(line, name, name_length) != 0)
    return false;
  const char *start = line + name_length + 1, *end = line + length;
  while (start < end && (*start == ' ' || *start == '\t')) start++;
  while (end > start && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  *value = start;
  *value_length = (size_t)(end - start);
  return true;
}

static size_t collect_header(char *line, size_t size, size_t count, void *context) {
  invocation *next = context;
  size_t length = size * count;
  const char *value;
  size_t value_length;
  if (header_value(line, length, "Lambda-Runtime-Aws-Request-Id", &value, &value_length)) {
    /* It goes into a URL path: accept only what a UUID-like id holds. */
    bool safe = value_length <= BOOTSTRAP_MAX_REQUEST_ID;
    for (size_t i = 0; safe && i < value_length; i++)
      safe = (value[i] >= '0' && value[i] <= '9') || (value[i] >= 'a' && value[i] <= 'z') ||
             (value[i] >= 'A' && value[i] <= 'Z') || value[i] == '-';
    if (safe) {
      memcpy(next->request_id, value, value_length);
      next->request_id[value_length] = '\0';
    }
  } else if (header_value(line, length, "Lambda-Runtime-Deadline-Ms", &value, &value_length)) {
    char text[32];
    if (value_length < sizeof text) {
      memcpy(text, value, value_length);
      text[value_length] = '\0';
      next->deadline_ms = strtoll(text, NULL, 10);
    }
  }
  return length;
}

static double now_unix_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* The Runtime API's answer to a POST carries nothing the bootstrap needs; without this,
 * libcurl would print it on stdout. */
static size_t discard_answer(char *data, size_t size, size_t count, void *context) {
  (void)data, (void)context;
  return size * count;
}

/* POST `body` to base_url + `path`; true when the Runtime API answered 2xx. */
static bool runtime_post(runtime_client *client, const char *path, const char *body,
                         size_t length, const char *error_type) {
  char url[sizeof client->base_url + BOOTSTRAP_MAX_REQUEST_ID + 64];
  snprintf(url, sizeof url, "%s%s", client->base_url, path);
  struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
  if (error_type != NULL) {
    char header[128];
    snprintf(header, sizeof header, "Lambda-Runtime-Function-Error-Type: %s", error_type);
    headers = curl_slist_append(headers, header);
  }
  CURL *curl = client->curl;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)length);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_answer);
  CURLcode result = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  if (result != CURLE_OK || status < 200 || status > 299) {
    fprintf(stderr, "bootstrap: POST %s: %s (HTTP %ld)\n", url,
            result != CURLE_OK ? curl_easy_strerror(result) : "refused", status);
    return false;
  }
  return true;
}

/* {"errorMessage": "...", "errorType": "..."} posted to `path`. */
static bool post_error(runtime_client *client, const char *path, const char *error_type,
                       const char *format, ...) __attribute__((format(printf, 4, 5)));
static bool post_error(runtime_client *client, const char *path, const char *error_type,
                       const char *format, ...) {
  char message[512];
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(message, sizeof message, format, arguments);
  va_end(arguments);
  fprintf(stderr, "bootstrap: %s: %s\n", error_type, message);

  char *body = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&body, &length);
  if (stream == NULL) return false;
  fputs("{\"errorMessage\":", stream);
  function_write_json_string(stream, message);
  fprintf(stream, ",\"errorType\":\"%s\",\"stackTrace\":[]}", error_type);
  bool posted = fclose(stream) == 0 && runtime_post(client, path, body, length, error_type);
  free(body);
  return posted;
}

/* GET /invocation/next; false when the Runtime API cannot be reached. */
static bool next_invocation(runtime_client *client, invocation *next) {
  memset(next, 0, sizeof *next);
  char url[sizeof client->base_url + 32];
  snprintf(url, sizeof url, "%s/invocation/next", client->base_url);
  CURL *curl = client->curl;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_event);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, next);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, next);
  CURLcode result = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (result != CURLE_OK || status != 200) {
    fprintf(stderr, "bootstrap: GET %s: %s (HTTP %ld)\n", url,
            result != CURLE_OK ? curl_easy_strerror(result) : "refused", status);
    return false;
  }
  return true;
}

static const char *error_type_of(function_fault fault) {
  switch (fault) {
    case FUNCTION_TIMED_OUT: return "DeadlineExceeded";
    case FUNCTION_FAILED: return "InferenceError";
    case FUNCTION_OK:
    case FUNCTION_BAD_BODY:
    case FUNCTION_WRONG_INPUT: break;
  }
  return "InvalidInput";
}

/* The invocation's deadline (Unix time) less the margin, on the run's monotonic clock; 0 when
 * the Runtime API sent none. */
static uint64_t run_deadline_ns(const invocation *next) {
  if (next->deadline_ms <= 0) return 0;
  const char *margin_text = getenv("THAW_DEADLINE_MARGIN_MS");
  const double margin_ms = margin_text != NULL ? strtod(margin_text, NULL) : 200.0;
  const double left_ms = (double)next->deadline_ms - margin_ms - now_unix_ms();
  const uint64_t now = thaw_monotonic_ns();
  /* Already past: a deadline of "now" makes the run stop before its first node. */
  return left_ms <= 0 ? now : now + (uint64_t)(left_ms * 1e6);
}

/* Handle one event; false when the Runtime API can no longer be reached. */
static bool serve_invocation(runtime_client *client, thaw_session *session, invocation *next) {
  double started_ms = now_unix_ms();
  fprintf(stderr, "bootstrap: request %s, %.0f ms before the deadline\n", next->request_id,
          next->deadline_ms > 0 ? (double)next->deadline_ms - started_ms : -1.0);
  char path[BOOTSTRAP_MAX_REQUEST_ID + 64];
  snprintf(path, sizeof path, "/invocation/%s/error", next->request_id);
  if (next->event_too_large)
    return post_error(client, path, "InvalidInput", "the event is over %lu bytes",
                      BOOTSTRAP_MAX_EVENT_BYTES);

  function_error error;
  function_fault fault = function_read_json_inputs(session, next->event != NULL ? next->event : "",
                                                   next->event_length, &error);
  if (fault == FUNCTION_OK) fault = function_run(session, run_deadline_ns(next), &error);
  if (fault != FUNCTION_OK)
    return post_error(client, path, error_type_of(fault), "%s", error.message);

  char *body = NULL;
  size_t length = 0;
  FILE *stream = open_memstream(&body, &length);
  if (stream == NULL) return post_error(client, path, "InferenceError", "out of memory");
  bool written = function_write_json_outputs(session, stream);
  if (fclose(stream) != 0 || !written) {
    free(body);
    return post_error(client, path, "InferenceError", "out of memory");
  }
  snprintf(path, sizeof path, "/invocation/%s/response", next->request_id);
  bool posted = runtime_post(client, path, body, length, NULL);
  free(body);
  fprintf(stderr, "bootstrap: request %s answered in %.2f ms\n", next->request_id,
          now_unix_ms() - started_ms);
  return posted;
}

/* The model's path when none is embedded: $THAW_MODEL, else the zip's model.thaw. */
static const char *model_path(char *buffer, size_t capacity) {
  const char *path = getenv("THAW_MODEL");
  if (path != NULL && path[0] != '\0') return path;
  const char *task_root = getenv("LAMBDA_TASK_ROOT");
  snprintf(buffer, capacity, "%s/model.thaw", task_root != NULL ? task_root : ".");
  return buffer;
}

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL || api[0] == '\0' || strlen(api) > 200) {
    fputs("bootstrap: AWS_LAMBDA_RUNTIME_API is not set (host:port of the Runtime API)\n",
          stderr);
    return 1;
  }
  if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) return 1;
  runtime_client client = {.curl = curl_easy_init()};
  if (client.curl == NULL) return 1;
  snprintf(client.base_url, sizeof client.base_url, "http://%s/" RUNTIME_API_VERSION "/runtime",
           api);

  char path_buffer[4096];
  thaw_model *model = NULL;
  thaw_session *session = NULL;
  thaw_error error;
  if (function_open_model(model_path(path_buffer, sizeof path_buffer), &model, &error) !=
          THAW_OK ||
      thaw_session_create(model, NULL, &session, &error) != THAW_OK) {
    post_error(&client, "/init/error", "Runtime.InitError", "%s: %s",
               thaw_status_str(error.status), error.message);
    thaw_model_close(model);
    curl_easy_cleanup(client.curl);
    curl_global_cleanup();
    return 1;
  }

  /* The loop ends only when the Runtime API goes away; Lambda then ends the environment. */
  bool reachable = true;
  while (reachable) {
    invocation next;
    reachable = next_invocation(&client, &next);
    if (reachable && next.request_id[0] == '\0')
      fputs("bootstrap: an event came without a valid Lambda-Runtime-Aws-Request-Id; it "
            "cannot be answered\n",
            stderr);
    else if (reachable)
      reachable = serve_invocation(&client, session, &next);
    free(next.event);
  }
  thaw_session_destroy(session);
  thaw_model_close(model);
  curl_easy_cleanup(client.curl);
  curl_global_cleanup();
  return 1;
}
