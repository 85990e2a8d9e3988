#include "kernels/scalar.h"

void thaw_qs8_quantize__scalar(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                               float lowest, int8_t *y) {
  const float inverse_scale = 1.0f / q->scale, zero_point = (float)q->zero_point;
  for (size_t i = 0; i < n; i++)
    y[i] = thaw_qs8_quantize_value(x[i], inverse_scale, zero_point, lowest);
}
