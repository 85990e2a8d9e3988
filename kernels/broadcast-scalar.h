/*
 * Row-by-row walk over a thaw_broadcast: the kernels loop over the last axis themselves and
 * call thaw_broadcast_cursor_advance between rows, which keeps each operand's element offset
 * up to date without any per-element index arithmetic.
 */
#ifndef THAW_KERNELS_BROADCAST_SCALAR_H
#define THAW_KERNELS_BROADCAST_SCALAR_H

#include <stddef.h>
#include <string.h>

#include "kernels/kernels.h"

typedef struct thaw_broadcast_cursor {
  size_t index[THAW_MAX_RANK]; /* position on the outer axes; the last axis is not tracked */
  ptrdiff_t offset[3];         /* element offset of each operand at the start of the row */
} thaw_broadcast_cursor;

static inline void thaw_broadcast_cursor_init(thaw_broadcast_cursor *cursor) {
  memset(cursor, 0, sizeof(*cursor));
}

/* Number of rows (product of every axis but the last) and the length of each row. */
static inline size_t thaw_broadcast_rows(const thaw_broadcast *iter) {
  size_t rows = 1;
  for (uint32_t d = 0; d + 1 < iter->rank; d++) rows *= iter->shape[d];
  return rows;
}

static inline size_t thaw_broadcast_row_length(const thaw_broadcast *iter) {
  return iter->shape[iter->rank - 1];
}

/* Step to the next row, like an odometer over axes [0, rank - 1). */
static inline void thaw_broadcast_cursor_advance(const thaw_broadcast *iter,
                                                 size_t operand_count,
                                                 thaw_broadcast_cursor *cursor) {
  for (uint32_t d = iter->rank - 1; d-- > 0;) {
    cursor->index[d]++;
    for (size_t k = 0; k < operand_count; k++) cursor->offset[k] += iter->strides[k][d];
    if (cursor->index[d] < iter->shape[d]) return;
    for (size_t k = 0; k < operand_count; k++)
      cursor->offset[k] -= (ptrdiff_t)iter->shape[d] * iter->strides[k][d];
    cursor->index[d] = 0;
  }
}

#endif /* THAW_KERNELS_BROADCAST_SCALAR_H */
