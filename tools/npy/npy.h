/*
 * NumPy .npy files: how the CLI, the tests and the conformance runner exchange tensors with
 * the Python ecosystem.
 *
 * The reader accepts format versions 1.0, 2.0 and 3.0, C order only, and the dtypes thaw
 * models use: '<f4', '<i8', '<i4', '|i1', '|u1', '|b1'. Its input is untrusted: every length
 * and dimension is bounded and overflow-checked, and the data size must match the header
 * exactly. The writer always emits version 1.0 (a header for rank <= THAW_MAX_RANK fits).
 */
#ifndef THAW_NPY_H
#define THAW_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thaw.h"

typedef struct thaw_npy {
  thaw_dtype dtype;
  uint32_t rank; /* 0 for a NumPy scalar, shape () */
  int64_t shape[THAW_MAX_RANK];
  size_t element_count;
  size_t size_bytes;
  void *data; /* malloc'ed, owned by the struct, aligned for any supported dtype */
} thaw_npy;

/* Read the whole file at `path`. On failure `out` holds nothing to free. */
thaw_status thaw_npy_read(const char *path, thaw_npy *out, thaw_error *error);

/* Parse `size` bytes of a .npy file; `name` is used in messages only. The data is copied, so
 * `bytes` may be released afterwards. */
thaw_status thaw_npy_parse(const void *bytes, size_t size, const char *name, thaw_npy *out,
                           thaw_error *error);

/* Release the data of a successfully read file; a zeroed struct is fine too. */
void thaw_npy_free(thaw_npy *npy);

/* Write a C-order array of `rank` dims (0 for a scalar) to `path`. */
thaw_status thaw_npy_write(const char *path, thaw_dtype dtype, uint32_t rank,
                           const int64_t *shape, const void *data, thaw_error *error);

/* The same .npy bytes onto an open stream (an HTTP response body, say); `name` is used in
 * messages only. */
thaw_status thaw_npy_write_stream(FILE *stream, const char *name, thaw_dtype dtype,
                                  uint32_t rank, const int64_t *shape, const void *data,
                                  thaw_error *error);

#endif /* THAW_NPY_H */
