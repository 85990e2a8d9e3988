#include <string.h>

#include "kernels/data/gather-indices.h"
#include "kernels/scalar.h"

bool thaw_x_gather__scalar(const thaw_gather_params *p, const void *x, const void *indices,
                           void *y, int64_t *bad_index) {
  if (!thaw_gather_indices_valid(p, indices, bad_index)) return false;
  const size_t slice_bytes = p->inner * p->element_size;
  const char *x_bytes = x;
  char *y_bytes = y;
  for (size_t o = 0; o < p->outer; o++) {
    const char *x_block = x_bytes + o * p->axis_size * slice_bytes;
    for (size_t i = 0; i < p->index_count; i++) {
      memcpy(y_bytes, x_block + thaw_gather_position(p, indices, i) * slice_bytes, slice_bytes);
      y_bytes += slice_bytes;
    }
  }
  return true;
}
