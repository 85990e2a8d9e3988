#include "kernels/scalar.h"

void thaw_qs8_quantize_rows__scalar(size_t rows, size_t k, const float *x, ptrdiff_t x_row_stride,
                                    const thaw_qs8_input *input, int8_t *y, size_t y_row_stride,
                                    thaw_qs8_row_quantization *quantization) {
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + (ptrdiff_t)r * x_row_stride;
    int8_t *out = y + r * y_row_stride;
    thaw_qs8_row_quantization q = {input->scale, input->zero_point};
    if (input->mode == THAW_QS8_DYNAMIC) {
      float min = 0.0f, max = 0.0f; /* NaN compares false and is skipped */
      for (size_t kk = 0; kk < k; kk++) {
        min = row[kk] < min ? row[kk] : min;
        max = row[kk] > max ? row[kk] : max;
      }
      q = thaw_qs8_dynamic_quantization(min, max);
    }
    const float inverse_scale = 1.0f / q.scale, zero_point = (float)q.zero_point;
    for (size_t kk = 0; kk < k; kk++)
      out[kk] = thaw_qs8_quantize_value(row[kk], inverse_scale, zero_point);
    for (size_t kk = k; kk < thaw_qs8_round_k(k); kk++) out[kk] = 0;
    quantization[r] = q;
  }
}
