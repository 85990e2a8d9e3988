#include <string.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/scalar.h"

void thaw_x_where__scalar(size_t element_size, const thaw_broadcast *iter, const uint8_t *cond,
                          const void *x, const void *y, void *z) {
  const size_t rows = thaw_broadcast_rows(iter);
  const size_t length = thaw_broadcast_row_length(iter);
  const ptrdiff_t cond_step = iter->strides[0][iter->rank - 1];
  const ptrdiff_t x_step = iter->strides[1][iter->rank - 1] * (ptrdiff_t)element_size;
  const ptrdiff_t y_step = iter->strides[2][iter->rank - 1] * (ptrdiff_t)element_size;
  const char *x_bytes = x, *y_bytes = y;
  char *z_bytes = z;
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t row = 0; row < rows; row++) {
    const uint8_t *cond_row = cond + cursor.offset[0];
    const char *x_row = x_bytes + cursor.offset[1] * (ptrdiff_t)element_size;
    const char *y_row = y_bytes + cursor.offset[2] * (ptrdiff_t)element_size;
    for (size_t i = 0; i < length; i++) {
      const ptrdiff_t at = (ptrdiff_t)i;
      const char *chosen = cond_row[at * cond_step] ? x_row + at * x_step : y_row + at * y_step;
      memcpy(z_bytes, chosen, element_size);
      z_bytes += element_size;
    }
    thaw_broadcast_cursor_advance(iter, 3, &cursor);
  }
}
