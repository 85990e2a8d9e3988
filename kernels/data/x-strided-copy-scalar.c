#include <string.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/scalar.h"

/* One row of `length` elements `step` bytes apart. Inlined with a constant element size for the
 * common sizes, so that each element is one load and one store instead of a memcpy call. */
static inline __attribute__((always_inline)) void copy_strided_row(size_t element_size,
                                                                   size_t length, ptrdiff_t step,
                                                                   const char *x, char *y) {
  for (size_t i = 0; i < length; i++)
    memcpy(y + i * element_size, x + (ptrdiff_t)i * step, element_size);
}

void thaw_x_strided_copy__scalar(const thaw_strided_copy_params *p, const void *x, void *y) {
  const thaw_broadcast *iter = &p->iter;
  const size_t element_size = p->element_size;
  const size_t rows = thaw_broadcast_rows(iter);
  const size_t length = thaw_broadcast_row_length(iter);
  const ptrdiff_t step = iter->strides[0][iter->rank - 1] * (ptrdiff_t)element_size;
  const char *x_bytes = x;
  char *y_bytes = y;
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t row = 0; row < rows; row++) {
    const char *x_row = x_bytes + cursor.offset[0] * (ptrdiff_t)element_size;
    if (step == (ptrdiff_t)element_size) {
      memcpy(y_bytes, x_row, length * element_size);
    } else {
      switch (element_size) {
      case 1: copy_strided_row(1, length, step, x_row, y_bytes); break;
      case 2: copy_strided_row(2, length, step, x_row, y_bytes); break;
      case 4: copy_strided_row(4, length, step, x_row, y_bytes); break;
      case 8: copy_strided_row(8, length, step, x_row, y_bytes); break;
      default: copy_strided_row(element_size, length, step, x_row, y_bytes); break;
      }
    }
    y_bytes += length * element_size;
    thaw_broadcast_cursor_advance(iter, 1, &cursor);
  }
}
