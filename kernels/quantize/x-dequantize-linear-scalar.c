#include "kernels/quantize/quantize-linear.h"
#include "kernels/scalar.h"

void thaw_x_dequantize_linear__scalar(const thaw_quantize_params *p, const void *x,
                                      const float *scale, const void *zero_point, float *y) {
  size_t i = 0;
  for (size_t o = 0; o < p->outer; o++) {
    for (size_t c = 0; c < p->channels; c++) {
      const float zero = thaw_zero_point_of(p, zero_point, c);
      for (size_t e = 0; e < p->inner; e++, i++)
        y[i] = ((float)thaw_load_quantized(p->quantized, x, i) - zero) * scale[c];
    }
  }
}
