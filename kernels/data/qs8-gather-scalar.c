#include "kernels/data/gather-indices.h"
#include "kernels/scalar.h"

/* A plain loop: the compiler vectorises the widening multiply, and an embedding lookup
 * gathers a few hundred rows per run, a few microseconds next to the GEMMs that follow. */
bool thaw_qs8_gather__scalar(const thaw_gather_params *p, const int8_t *x, const void *indices,
                             const float *scales, float *y, int64_t *bad_index) {
  if (!thaw_gather_indices_valid(p, indices, bad_index)) return false;
  for (size_t o = 0; o < p->outer; o++) {
    const int8_t *x_block = x + o * p->axis_size * p->inner;
    for (size_t i = 0; i < p->index_count; i++) {
      const size_t position = thaw_gather_position(p, indices, i);
      const int8_t *slice = x_block + position * p->inner;
      const float scale = scales[position];
      for (size_t e = 0; e < p->inner; e++) y[e] = scale * (float)slice[e];
      y += p->inner;
    }
  }
  return true;
}
