#include <math.h>

#include "kernels/scalar.h"

/* Subtracting the maximum keeps expf in range; the result is mathematically unchanged. */
void thaw_f32_softmax__scalar(size_t outer, size_t axis_size, size_t inner, const float *x,
                              float *y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t j = 0; j < inner; j++) {
      const float *x_line = x + o * axis_size * inner + j;
      float *y_line = y + o * axis_size * inner + j;
      float maximum = -INFINITY;
      for (size_t a = 0; a < axis_size; a++) maximum = fmaxf(maximum, x_line[a * inner]);
      float sum = 0.0f;
      for (size_t a = 0; a < axis_size; a++) {
        const float e = expf(x_line[a * inner] - maximum);
        y_line[a * inner] = e;
        sum += e;
      }
      const float inverse = 1.0f / sum;
      for (size_t a = 0; a < axis_size; a++) y_line[a * inner] *= inverse;
    }
  }
}
