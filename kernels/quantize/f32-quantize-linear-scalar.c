#include "kernels/quantize/quantize-linear.h"
#include "kernels/scalar.h"

void thaw_f32_quantize_linear__scalar(const thaw_quantize_params *p, const float *x,
                                      const float *scale, const void *zero_point, void *y) {
  const bool is_signed = p->quantized == THAW_DTYPE_I8;
  const float lowest = is_signed ? -128.0f : 0.0f, highest = is_signed ? 127.0f : 255.0f;
  size_t i = 0;
  for (size_t o = 0; o < p->outer; o++) {
    for (size_t c = 0; c < p->channels; c++) {
      const float zero = thaw_zero_point_of(p, zero_point, c);
      for (size_t e = 0; e < p->inner; e++, i++) {
        const float q = thaw_quantize_value(x[i], scale[c], zero, lowest, highest);
        if (is_signed) {
          ((int8_t *)y)[i] = (int8_t)q;
        } else {
          ((uint8_t *)y)[i] = (uint8_t)q;
        }
      }
    }
  }
}
