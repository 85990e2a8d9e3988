/* Status strings, dtype and layout facts, dims as text, and the shared error formatter. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "formats/format.h"

const char *thaw_status_str(thaw_status status) {
  switch (status) {
    case THAW_OK: return "ok";
    case THAW_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case THAW_STATUS_IO: return "i/o error";
    case THAW_STATUS_NOT_A_MODEL: return "not a thaw model";
    case THAW_STATUS_VERSION: return "unsupported format version";
    case THAW_STATUS_CORRUPT: return "corrupt file";
    case THAW_STATUS_CHECKSUM: return "checksum mismatch";
    case THAW_STATUS_UNSUPPORTED: return "unsupported";
    case THAW_STATUS_OUT_OF_MEMORY: return "out of memory";
    case THAW_STATUS_NOT_FOUND: return "not found";
    case THAW_STATUS_LIMIT: return "over the memory limit";
    case THAW_STATUS_DEADLINE: return "deadline passed";
    case THAW_STATUS_CANCELLED: return "cancelled";
    case THAW_STATUS_NO_RESULT: return "no result";
  }
  return "unknown status";
}

const char *thaw_dtype_name(thaw_dtype dtype) {
  switch (dtype) {
    case THAW_DTYPE_F32: return "f32";
    case THAW_DTYPE_I8: return "i8";
    case THAW_DTYPE_U8: return "u8";
    case THAW_DTYPE_I32: return "i32";
    case THAW_DTYPE_I64: return "i64";
    case THAW_DTYPE_BOOL: return "bool";
  }
  return "?";
}

size_t thaw_dtype_size(thaw_dtype dtype) {
  switch (dtype) {
    case THAW_DTYPE_F32: return 4;
    case THAW_DTYPE_I8: return 1;
    case THAW_DTYPE_U8: return 1;
    case THAW_DTYPE_I32: return 4;
    case THAW_DTYPE_I64: return 8;
    case THAW_DTYPE_BOOL: return 1;
  }
  return 0;
}

const char *thaw_layout_name(uint32_t layout) {
  switch (layout) {
    case THAW_LAYOUT_PLAIN: return "plain";
    case THAW_LAYOUT_F32_GEMM_PANEL16: return "f32_gemm_panel16";
    case THAW_LAYOUT_QS8_GEMM_PANEL16: return "qs8_gemm_panel16";
  }
  return NULL;
}

bool thaw_layout_panel16_size(uint64_t k, uint64_t n, uint64_t *size) {
  const uint64_t panel_bytes = THAW_LAYOUT_PANEL16_WIDTH * sizeof(float);
  const uint64_t panels = n / THAW_LAYOUT_PANEL16_WIDTH + (n % THAW_LAYOUT_PANEL16_WIDTH != 0);
  return !__builtin_mul_overflow(panels, k, size) &&
         !__builtin_mul_overflow(*size, panel_bytes, size);
}

bool thaw_layout_qs8_panel16_size(uint32_t rank, const int64_t *shape, uint64_t *k, uint64_t *n,
                                  uint64_t *size) {
  if (rank == 2) {
    *k = (uint64_t)shape[0];
    *n = (uint64_t)shape[1];
  } else if (rank == 4) {
    *n = (uint64_t)shape[0];
    if (__builtin_mul_overflow((uint64_t)shape[1], (uint64_t)shape[2], k) ||
        __builtin_mul_overflow(*k, (uint64_t)shape[3], k)) {
      return false;
    }
  } else {
    return false;
  }
  /* Dims are below 2^63, so rounding up cannot wrap. */
  const uint64_t n16 = (*n + 15) / 16 * 16, k4 = (*k + 3) / 4 * 4;
  return !__builtin_add_overflow(k4, 8, size) && !__builtin_mul_overflow(n16, *size, size);
}

thaw_status thaw_error_set(thaw_error *error, thaw_status status, const char *format, ...) {
  if (error != NULL) {
    error->status = status;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof error->message, format, arguments);
    va_end(arguments);
  }
  return status;
}

void thaw_dims_text(char *text, size_t capacity, uint32_t rank, const int64_t *dims) {
  size_t length = (size_t)snprintf(text, capacity, "[");
  for (uint32_t d = 0; d < rank && length < capacity; d++)
    length += (size_t)snprintf(text + length, capacity - length, "%s%" PRId64, d == 0 ? "" : ",",
                               dims[d]);
  if (length < capacity) snprintf(text + length, capacity - length, "]");
}
