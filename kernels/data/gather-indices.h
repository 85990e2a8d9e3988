/*
 * The index rules every gather shares: i32 or i64 indices, negative ones counted from the
 * end, and every index checked before anything is written, so a bad one leaves y untouched.
 */
#ifndef THAW_KERNELS_DATA_GATHER_INDICES_H
#define THAW_KERNELS_DATA_GATHER_INDICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

static inline int64_t thaw_gather_load_index(const thaw_gather_params *p, const void *indices,
                                             size_t i) {
  if (p->indices_are_i64) return ((const int64_t *)indices)[i];
  return ((const int32_t *)indices)[i];
}

/* False, with *bad_index set to the first one, when an index is outside
 * [-axis_size, axis_size). */
static inline bool thaw_gather_indices_valid(const thaw_gather_params *p, const void *indices,
                                             int64_t *bad_index) {
  const int64_t axis_size = (int64_t)p->axis_size;
  for (size_t i = 0; i < p->index_count; i++) {
    const int64_t index = thaw_gather_load_index(p, indices, i);
    if (index < -axis_size || index >= axis_size) {
      *bad_index = index;
      return false;
    }
  }
  return true;
}

/* Index i as a position along the axis; valid only after thaw_gather_indices_valid. */
static inline size_t thaw_gather_position(const thaw_gather_params *p, const void *indices,
                                          size_t i) {
  const int64_t index = thaw_gather_load_index(p, indices, i);
  return (size_t)(index < 0 ? index + (int64_t)p->axis_size : index);
}

#endif
