#include "kernels/quantize/quantize-linear.h"
#include "kernels/scalar.h"

/* ONNX's DynamicQuantizeLinear, operation for operation in f32 (its expanded test graph is that
 * sequence): the range always holds 0, so 0 is exact in u8. */
void thaw_f32_dynamic_quantize_linear__scalar(size_t n, const float *x, uint8_t *y, float *scale,
                                              uint8_t *zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; i++) {
    lo = fminf(lo, x[i]);
    hi = fmaxf(hi, x[i]);
  }
  const float step = (hi - lo) / 255.0f;
  if (!(step > 0.0f)) {
    /* Only zeros (and NaN): every value is the zero point. */
    *scale = 0.0f;
    *zero_point = 0;
    for (size_t i = 0; i < n; i++) y[i] = 0;
    return;
  }
  const float unclamped = 0.0f - lo / step;
  const float zero = nearbyintf(unclamped < 0.0f ? 0.0f : (unclamped > 255.0f ? 255.0f : unclamped));
  *scale = step;
  *zero_point = (uint8_t)zero;
  for (size_t i = 0; i < n; i++) y[i] = (uint8_t)thaw_quantize_value(x[i], step, zero, 0.0f, 255.0f);
}
