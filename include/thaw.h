/*
 * thaw — inference for cold-start-sensitive serverless functions.
 *
 * A .thaw file (made offline by `thaw convert`) holds the graph, the memory plan and weights
 * already packed for the kernels. Opening a model maps the file and validates it; nothing is
 * copied or repacked. A model is immutable and may be shared by any number of sessions and
 * threads; a session owns one arena for all activations and is used by one thread at a time.
 *
 *     thaw_model *model;  thaw_session *session;  thaw_error error;
 *     if (thaw_model_open("model.thaw", 0, &model, &error) != THAW_OK) { puts(error.message); ... }
 *     thaw_session_create(model, NULL, &session, &error);   // NULL: default options
 *     thaw_tensor input, output;
 *     thaw_session_input(session, 0, &input);      // input.data points into the session arena
 *     memcpy(input.data, pixels, input.size_bytes);
 *     if (thaw_session_run(session, NULL, &error) == THAW_OK)
 *       thaw_session_output(session, 0, &output);  // valid until the next run
 *     thaw_session_destroy(session);  thaw_model_close(model);
 *
 * Every fallible call returns a thaw_status and, when `error` is not NULL, fills it with the
 * status and a message naming what is wrong. There is no global mutable state.
 */
#ifndef THAW_H
#define THAW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define THAW_API
#else
#define THAW_API __attribute__((visibility("default")))
#endif

#define THAW_VERSION_MAJOR 0
#define THAW_VERSION_MINOR 1
#define THAW_VERSION_PATCH 0
#define THAW_VERSION_STRING "0.1.0"

/* The largest tensor rank a model may use. */
#define THAW_MAX_RANK 8

typedef enum thaw_status {
  THAW_OK = 0,
  THAW_STATUS_INVALID_ARGUMENT = 1, /* a NULL pointer, an index out of range, a bad option */
  THAW_STATUS_IO = 2,               /* the file cannot be opened, sized or mapped */
  THAW_STATUS_NOT_A_MODEL = 3,      /* the bytes do not start with the .thaw magic */
  THAW_STATUS_VERSION = 4,          /* the file needs a newer reader */
  THAW_STATUS_CORRUPT = 5,          /* truncated, out-of-range or inconsistent structure */
  THAW_STATUS_CHECKSUM = 6,         /* the stored checksum does not match the bytes */
  THAW_STATUS_UNSUPPORTED = 7,      /* an op, dtype, layout or attribute this build cannot run */
  THAW_STATUS_OUT_OF_MEMORY = 8,
  THAW_STATUS_NOT_FOUND = 9,        /* no input or output of that name */
  THAW_STATUS_LIMIT = 10,           /* more memory than the caller's limit allows */
  THAW_STATUS_DEADLINE = 11,        /* the run passed its deadline and stopped */
  THAW_STATUS_CANCELLED = 12,       /* the run's cancel flag was set and it stopped */
  THAW_STATUS_NO_RESULT = 13,       /* the last run did not finish: its outputs are not results */
} thaw_status;

/* The number of distinct status codes; every code below it has a string. */
#define THAW_STATUS_COUNT 14

/* A short, static, human-readable name for a status ("corrupt file", ...). Never NULL. */
THAW_API const char *thaw_status_str(thaw_status status);

/* Caller-owned detail of a failed call. */
typedef struct thaw_error {
  thaw_status status;
  char message[256];
} thaw_error;

typedef enum thaw_dtype {
  THAW_DTYPE_F32 = 1,
  THAW_DTYPE_I8 = 2,
  THAW_DTYPE_U8 = 3,
  THAW_DTYPE_I32 = 4,
  THAW_DTYPE_I64 = 5,
  THAW_DTYPE_BOOL = 6, /* one byte, 0 or 1 */
} thaw_dtype;

/* Name ("f32", "i64", ...) and element size of a dtype; "?" and 0 for an unknown value. */
THAW_API const char *thaw_dtype_name(thaw_dtype dtype);
THAW_API size_t thaw_dtype_size(thaw_dtype dtype);

/* A model input or output. `data` is NULL in model descriptions and points into the session's
 * arena (aligned to 64 bytes) in session descriptions. `name` lives as long as the model. */
typedef struct thaw_tensor {
  const char *name;
  thaw_dtype dtype;
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  size_t element_count;
  size_t size_bytes;
  void *data;
} thaw_tensor;

typedef struct thaw_model thaw_model;
typedef struct thaw_session thaw_session;
typedef struct thaw_pool thaw_pool;

/* Flags for thaw_model_open and thaw_model_open_memory. */
enum {
  /* Also verify the weights: their checksum, and that int8 weights are within the kernels'
   * [-127, 127] (reads every weight page: O(file size)). Without it, corrupted weight bytes
   * are not detected; they change values, never memory safety. */
  THAW_OPEN_VERIFY_WEIGHTS = 1u << 0,
  /* Ask the kernel to start reading the weights in the background (madvise WILLNEED), so a
   * cold-page-cache first run overlaps I/O with compute. */
  THAW_OPEN_PREFETCH = 1u << 1,
};

/* Map `path` read-only and validate it. The weights are used in place, never copied. */
THAW_API thaw_status thaw_model_open(const char *path, uint32_t flags, thaw_model **model,
                                     thaw_error *error);

/* Validate and use `size` caller-owned bytes in place (a model linked into the binary, say).
 * The bytes must start at a 64-byte aligned address and outlive the model. */
THAW_API thaw_status thaw_model_open_memory(const void *bytes, size_t size, uint32_t flags,
                                            thaw_model **model, thaw_error *error);

/* Closing NULL is a no-op. Every session of the model must be destroyed first. */
THAW_API void thaw_model_close(thaw_model *model);

THAW_API size_t thaw_model_input_count(const thaw_model *model);
THAW_API size_t thaw_model_output_count(const thaw_model *model);
THAW_API thaw_status thaw_model_input(const thaw_model *model, size_t index, thaw_tensor *tensor);
THAW_API thaw_status thaw_model_output(const thaw_model *model, size_t index, thaw_tensor *tensor);
/* The index of the input/output called `name`, or THAW_STATUS_NOT_FOUND. */
THAW_API thaw_status thaw_model_find_input(const thaw_model *model, const char *name,
                                           size_t *index);
THAW_API thaw_status thaw_model_find_output(const thaw_model *model, const char *name,
                                            size_t *index);
/* Bytes one session on one thread allocates (arena plus kernel scratch); see
 * thaw_session_options.threads for more threads. */
THAW_API size_t thaw_model_session_bytes(const thaw_model *model);

/* Options for thaw_session_create. Zero-initialise the struct and set what you need: every
 * field's zero value is its default, so fields added later keep existing code's behaviour. */
typedef struct thaw_session_options {
  /* Refuse, with THAW_STATUS_LIMIT, a session that would allocate more than this many bytes
   * (thaw_model_session_bytes); 0: no limit. A function host serving files it does not trust
   * sets it to what its memory size allows. */
  size_t max_bytes;
  /* Threads per run: 0 or 1, the caller's thread only; N > 1 (at most 256), the caller's and
   * N - 1 workers the session starts at its first run (never at create) and joins at destroy.
   * They sleep between runs, burning no CPU. Large layers are split over output tiles, never
   * over a sum, so results are bit-identical for any N; a layer under 1 MFLOP, and every layer
   * of a model under 100 MFLOP per run (which a second thread would save a fraction of a
   * millisecond at most), stays on the caller's thread, and such a model starts no worker.
   * Each thread takes its own kernel
   * scratch: the session allocates (N - 1) * (kernel scratch) more bytes than
   * thaw_model_session_bytes, and max_bytes applies to that total. */
  uint32_t threads;
  /* Run on a pool's threads (thaw_pool_create) instead of threads of the session's own; NULL:
   * its own. threads must then be 0 or the pool's count, and the session takes a scratch for
   * each of the pool's threads. */
  thaw_pool *pool;
} thaw_session_options;

/* Worker threads that sessions share: the detector, classifier and recogniser of an OCR
 * pipeline, run one after another for each request, need one set of workers, not three. Like a
 * session's own, a pool starts its workers at the first run that needs them (never at create),
 * and they sleep between runs. A pool serves one run at a time: a run that finds it serving
 * another session's run (called from another thread) does not wait, it runs on its caller's
 * thread alone, with the same results. `threads` counts the caller's thread: 2 to 256.
 * Destroy a pool after every session that uses it; destroying NULL is a no-op. */
THAW_API thaw_status thaw_pool_create(uint32_t threads, thaw_pool **pool, thaw_error *error);
THAW_API void thaw_pool_destroy(thaw_pool *pool);

/* Allocate the session's single arena; `options` may be NULL for the defaults. Nothing is
 * allocated by thaw_session_run. */
THAW_API thaw_status thaw_session_create(const thaw_model *model,
                                         const thaw_session_options *options,
                                         thaw_session **session, thaw_error *error);
THAW_API void thaw_session_destroy(thaw_session *session);

/* Describe input/output `index` with `data` pointing at its buffer in the arena; the buffers
 * stay where they are for the session's life. A run never writes an input buffer (only a state
 * input, after a successful run: see "State" below), so inputs written once stay valid for later
 * runs. Output buffers hold results only after a run
 * returned THAW_OK: while the last run stopped early (an error, a deadline, a cancel),
 * thaw_session_output refuses with THAW_STATUS_NO_RESULT until a run succeeds. */
THAW_API thaw_status thaw_session_input(thaw_session *session, size_t index, thaw_tensor *tensor);
THAW_API thaw_status thaw_session_output(thaw_session *session, size_t index,
                                         thaw_tensor *tensor);

/* The clock deadlines are measured on (CLOCK_MONOTONIC), in nanoseconds. */
THAW_API uint64_t thaw_monotonic_ns(void);

/* Options for one run. Zero-initialise; every field's zero value is its default. */
typedef struct thaw_run_options {
  /* Stop with THAW_STATUS_DEADLINE once thaw_monotonic_ns() reaches this; 0: no deadline. */
  uint64_t deadline_ns;
  /* Stop with THAW_STATUS_CANCELLED once *cancel_flag is nonzero; NULL: not cancellable.
   * Another thread sets it while the run goes on, with an atomic store (C11 atomic_store on
   * an atomic_int, or __atomic_store_n). */
  const int *cancel_flag;
} thaw_run_options;

/* Run the graph once on the current contents of the input buffers; `options` may be NULL.
 * A run checks its deadline and cancel flag between nodes and between the blocks of work
 * inside long kernels; a run that stops leaves the session ready for the next one. */
THAW_API thaw_status thaw_session_run(thaw_session *session, const thaw_run_options *options,
                                      thaw_error *error);

/* ---- State that outlives a run, and a function instance ----
 *
 * A recurrent or streaming model carries state from one run to the next: LSTM/GRU hidden and
 * cell states, or the explicit state inputs/outputs of a streaming export. The model names its
 * state pairs (`thaw convert --state OUT=IN,...` stores them in the file): after every run that
 * returns THAW_OK, the session copies each state output into its state input, so the next run
 * continues from there. A run that stops early (error, deadline, cancel) leaves the state
 * inputs as they were. A new session starts with every state input zero.
 *
 * To park the state between invocations of a stateless function, save it into a buffer of
 * thaw_session_state_size bytes, keep it in any store, and load it into a fresh session later.
 * The blob is versioned and checksummed and names the model it came from; loading validates
 * all of it (wrong model, truncation, checksum, names, dtypes, shapes) before changing any
 * byte of the session's state. */

/* The number of state pairs the model declares. */
THAW_API size_t thaw_model_state_count(const thaw_model *model);
/* State pair `index`: model input `*input_index` receives model output `*output_index`. */
THAW_API thaw_status thaw_model_state(const thaw_model *model, size_t index, size_t *input_index,
                                      size_t *output_index);

/* Set every state input to zero: the start of a new stream. */
THAW_API thaw_status thaw_session_state_reset(thaw_session *session);
/* Bytes thaw_session_state_save writes for this session's model (0 for a NULL session). */
THAW_API size_t thaw_session_state_size(const thaw_session *session);
/* Serialise the state inputs (what the next run starts from) into `buffer`. With `capacity`
 * below thaw_session_state_size, nothing is written and THAW_STATUS_LIMIT is returned;
 * `*written` receives the size needed in either case. */
THAW_API thaw_status thaw_session_state_save(thaw_session *session, void *buffer, size_t capacity,
                                             size_t *written, thaw_error *error);
/* Replace the state inputs with a blob saved from a session of the same model (the same .thaw
 * file, identified by its header checksum). A blob that is not one (CORRUPT), was written by a
 * newer version (VERSION), fails its checksum (CHECKSUM), comes from another model
 * (INVALID_ARGUMENT) or does not match the model's states (CORRUPT) is refused and the state
 * is left as it was. */
THAW_API thaw_status thaw_session_state_load(thaw_session *session, const void *bytes,
                                             size_t size, thaw_error *error);

#ifdef __cplusplus
}
#endif

#endif /* THAW_H */
