#include <string.h>

#include "kernels/scalar.h"

/* The range may start and end inside an input's row: an NCHW concat over channels has one outer
 * row, so threads split it by bytes. Each piece is the part of one input row the range
 * overlaps. */
void thaw_x_concat__scalar(size_t count, const size_t *row_bytes, const void *const *x, void *y,
                           size_t first_byte, size_t end_byte) {
  if (first_byte >= end_byte) return;
  size_t out_row_bytes = 0;
  for (size_t i = 0; i < count; i++) out_row_bytes += row_bytes[i];
  char *y_bytes = y;
  size_t at = first_byte, row = at / out_row_bytes, offset = at % out_row_bytes, input = 0;
  while (offset >= row_bytes[input]) offset -= row_bytes[input++];
  while (at < end_byte) {
    const size_t left_in_row = row_bytes[input] - offset;
    const size_t bytes = left_in_row < end_byte - at ? left_in_row : end_byte - at;
    memcpy(y_bytes + at, (const char *)x[input] + row * row_bytes[input] + offset, bytes);
    at += bytes;
    offset = 0;
    if (++input == count) {
      input = 0;
      row++;
    }
  }
}
