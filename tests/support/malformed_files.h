/* Malformed .thaw files, each with the status and message fragment that opening it must give.
 * The format reader's tests, the runtime's tests and the CLI's tests all walk the same tables,
 * so every refusal is checked through the library and through `thaw` alike. */
#ifndef THAW_TEST_MALFORMED_FILES_H
#define THAW_TEST_MALFORMED_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"

/* ---- Writing small models ---- */

/* A file in a 64-byte aligned buffer (as thaw_model_open_memory wants) of `size` bytes rounded
 * up to 64; free with free(). */
typedef struct test_model_bytes {
  uint8_t *bytes;
  size_t size;
} test_model_bytes;

/* An uninitialised buffer for a file of `size` bytes. */
test_model_bytes test_model_alloc(size_t size);
size_t test_element_count(uint32_t rank, const int64_t *shape);
uint32_t test_activation(thaw_writer *writer, const char *name, thaw_dtype dtype, uint32_t rank,
                         const int64_t *shape);
uint32_t test_constant(thaw_writer *writer, const char *name, thaw_dtype dtype, uint32_t rank,
                       const int64_t *shape, const void *data);
/* The writer's file (with a weights checksum), then the writer destroyed. */
test_model_bytes test_finish(thaw_writer *writer);

/* Little-endian field write, as the format stores every integer. */
void thaw_test_store_le(uint8_t *bytes, int width, uint64_t value);

/* ---- The tables ---- */

enum { THAW_MALFORMED_MAX_INPUTS = 3 };

typedef struct thaw_malformed_file {
  char name[64];             /* what is wrong with it, for failure messages */
  test_model_bytes file;
  thaw_status status;        /* what opening it must return */
  const char *fragment;      /* a piece of the message that must come with it */
  /* The inputs of the valid model the file was made from, to feed `thaw run`. */
  const char *input_names[THAW_MALFORMED_MAX_INPUTS];
  uint32_t input_count;
} thaw_malformed_file;

/* Each table: how many cases it holds, and case `index` built afresh (free it with
 * thaw_malformed_file_free). */
typedef size_t (*thaw_malformed_count_fn)(void);
typedef void (*thaw_malformed_build_fn)(size_t index, thaw_malformed_file *file);

/* One field of a valid file set to a value the format reader must refuse, the header checksum
 * recomputed so the rule under test is what refuses it (unless the checksum is the rule). */
size_t thaw_malformed_format_count(void);
void thaw_malformed_format_build(size_t index, thaw_malformed_file *file);

/* The same valid file cut at every section boundary and a few bytes past each. */
size_t thaw_malformed_truncated_count(void);
void thaw_malformed_truncated_build(size_t index, thaw_malformed_file *file);

/* One-node files the format reader accepts but whose shapes or dtypes contradict the node's
 * op, so the runtime refuses them at open. */
size_t thaw_malformed_runtime_count(void);
void thaw_malformed_runtime_build(size_t index, thaw_malformed_file *file);

void thaw_malformed_file_free(thaw_malformed_file *file);

/* The valid file the format and truncation tables are made from. */
test_model_bytes thaw_malformed_format_base(void);

#endif /* THAW_TEST_MALFORMED_FILES_H */
