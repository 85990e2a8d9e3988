#include <string.h>

#include "kernels/quantize/quantize-linear.h"
#include "kernels/scalar.h"

/* ONNX's DynamicQuantizeLinear: the range of x and 0, NaN skipped, then QuantizeLinear to u8. */
void thaw_f32_dynamic_quantize_linear__scalar(size_t n, const float *x, uint8_t *y, float *scale,
                                              uint8_t *zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; i++) {
    lo = fminf(lo, x[i]);
    hi = fmaxf(hi, x[i]);
  }
  float step, zero;
  if (!thaw_dynamic_quantization(lo, hi, &step, &zero)) {
    *scale = 0.0f;
    *zero_point = 0;
    memset(y, 0, n);
    return;
  }
  *scale = step;
  *zero_point = (uint8_t)zero;
  for (size_t i = 0; i < n; i++) y[i] = (uint8_t)thaw_quantize_value(x[i], step, zero, 0.0f, 255.0f);
}
