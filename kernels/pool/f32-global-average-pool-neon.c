#include "kernels/math/f32-vmath-neon.h"
#include "kernels/neon.h"

/* Each channel's plane is one contiguous row: its mean is the row sum (16 lanes, partial tail,
 * nothing past the plane read) times 1/spatial. */
void thaw_f32_global_average_pool__neon(size_t channels, size_t spatial, const float *x,
                                        float *y) {
  const float scale = 1.0f / (float)spatial;
  for (size_t c = 0; c < channels; c++)
    y[c] = thaw_row_sum_f32__neon(spatial, x + c * spatial) * scale;
}
