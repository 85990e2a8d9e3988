/*
 * The strided copy driver (Transpose, Slice, Expand), one source for every vector ISA. A copy
 * of 32-bit elements whose last output axis is strided in x while the one before it is
 * contiguous (a transpose that moves the last axis, attention's K -> K^T) is cut into square
 * tiles transposed in registers: each tile reads whole contiguous vectors of x and writes whole
 * contiguous vectors of y. Everything else, contiguous rows included (one memcpy each), is the
 * scalar reference's row walk.
 *
 * An ISA's x-strided-copy-<isa>.c defines THAW_X32_TILE (its vector length in 32-bit lanes) and
 * thaw_x32_transpose_tile (one tile transposed in registers), then includes this header and
 * binds thaw_x_strided_copy_drive.
 */
#ifndef THAW_KERNELS_DATA_X_STRIDED_COPY_DRIVER_H
#define THAW_KERNELS_DATA_X_STRIDED_COPY_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/scalar.h"

#ifndef THAW_X32_TILE
#error "define THAW_X32_TILE and thaw_x32_transpose_tile before this driver"
#endif

/* y[a][b] = x[a + b * x_stride] for a in [a_begin, a_end), b in [b_begin, b_end): the edges
 * that whole tiles do not cover. */
static inline void thaw_x32_transpose_edge(const char *x, ptrdiff_t x_stride, char *y,
                                           size_t y_stride, size_t a_begin, size_t a_end,
                                           size_t b_begin, size_t b_end) {
  for (size_t a = a_begin; a < a_end; a++)
    for (size_t b = b_begin; b < b_end; b++)
      memcpy(y + (a * y_stride + b) * sizeof(uint32_t),
             x + ((ptrdiff_t)a + (ptrdiff_t)b * x_stride) * (ptrdiff_t)sizeof(uint32_t),
             sizeof(uint32_t));
}

/* Whether the copy is a transpose of its last two output axes that whole tiles can cover. */
static inline bool thaw_strided_copy_transposes(const thaw_strided_copy_params *p) {
  const thaw_broadcast *iter = &p->iter;
  const uint32_t rank = iter->rank;
  return p->element_size == sizeof(uint32_t) && rank >= 2 && iter->strides[0][rank - 2] == 1 &&
         iter->strides[0][rank - 1] != 1 && iter->shape[rank - 2] >= THAW_X32_TILE &&
         iter->shape[rank - 1] >= THAW_X32_TILE;
}

static inline void thaw_x_strided_copy_drive(const thaw_strided_copy_params *p, const void *x,
                                             void *y) {
  if (!thaw_strided_copy_transposes(p)) {
    thaw_x_strided_copy__scalar(p, x, y);
    return;
  }
  /* The axes before the last two as rows of an iteration whose "row" is output axis rank - 2:
   * each step of its cursor is one (rows x columns) matrix to transpose. */
  thaw_broadcast outer = p->iter;
  outer.rank--;
  const size_t rows = thaw_broadcast_row_length(&outer);
  const size_t columns = p->iter.shape[p->iter.rank - 1];
  const ptrdiff_t column_stride = p->iter.strides[0][p->iter.rank - 1];
  const size_t tile = THAW_X32_TILE;
  const size_t tiled_rows = rows - rows % tile, tiled_columns = columns - columns % tile;
  const size_t matrices = thaw_broadcast_rows(&outer);
  const char *x_bytes = x;
  char *y_matrix = y;
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t m = 0; m < matrices; m++) {
    const char *x_matrix = x_bytes + cursor.offset[0] * (ptrdiff_t)sizeof(uint32_t);
    for (size_t a = 0; a < tiled_rows; a += tile) {
      for (size_t b = 0; b < tiled_columns; b += tile) {
        thaw_x32_transpose_tile(
            x_matrix + ((ptrdiff_t)a + (ptrdiff_t)b * column_stride) * (ptrdiff_t)sizeof(uint32_t),
            column_stride, y_matrix + (a * columns + b) * sizeof(uint32_t), columns);
      }
      thaw_x32_transpose_edge(x_matrix, column_stride, y_matrix, columns, a, a + tile,
                              tiled_columns, columns);
    }
    thaw_x32_transpose_edge(x_matrix, column_stride, y_matrix, columns, tiled_rows, rows, 0,
                            columns);
    y_matrix += rows * columns * sizeof(uint32_t);
    thaw_broadcast_cursor_advance(&outer, 1, &cursor);
  }
}

#endif /* THAW_KERNELS_DATA_X_STRIDED_COPY_DRIVER_H */
