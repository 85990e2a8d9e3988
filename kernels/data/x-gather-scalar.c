#include <string.h>

#include "kernels/scalar.h"

static int64_t load_index(const thaw_gather_params *p, const void *indices, size_t i) {
  if (p->indices_are_i64) return ((const int64_t *)indices)[i];
  return ((const int32_t *)indices)[i];
}

/* Every index is checked before anything is written, so a bad one leaves y untouched. */
bool thaw_x_gather__scalar(const thaw_gather_params *p, const void *x, const void *indices,
                           void *y, int64_t *bad_index) {
  const int64_t axis_size = (int64_t)p->axis_size;
  for (size_t i = 0; i < p->index_count; i++) {
    const int64_t index = load_index(p, indices, i);
    if (index < -axis_size || index >= axis_size) {
      *bad_index = index;
      return false;
    }
  }
  const size_t slice_bytes = p->inner * p->element_size;
  const char *x_bytes = x;
  char *y_bytes = y;
  for (size_t o = 0; o < p->outer; o++) {
    const char *x_block = x_bytes + o * p->axis_size * slice_bytes;
    for (size_t i = 0; i < p->index_count; i++) {
      int64_t index = load_index(p, indices, i);
      if (index < 0) index += axis_size;
      memcpy(y_bytes, x_block + (size_t)index * slice_bytes, slice_bytes);
      y_bytes += slice_bytes;
    }
  }
  return true;
}
