#include "kernels/scalar.h"

void thaw_f32_global_average_pool__scalar(size_t channels, size_t spatial, const float *x,
                                          float *y) {
  for (size_t c = 0; c < channels; c++) {
    const float *x_channel = x + c * spatial;
    float sum = 0.0f;
    for (size_t i = 0; i < spatial; i++) sum += x_channel[i];
    y[c] = sum / (float)spatial;
  }
}
