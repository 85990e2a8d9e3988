/*
 * What ONNX's linear quantization kernels share: the range of a quantized dtype and the
 * rounding of one value. Internal to kernels/quantize/.
 */
#ifndef THAW_KERNELS_QUANTIZE_LINEAR_H
#define THAW_KERNELS_QUANTIZE_LINEAR_H

#include <math.h>
#include <stdbool.h>

#include "kernels/kernels.h"

/* Element i of an integer operand of dtype `quantized` (I8, U8 or I32). */
static inline int32_t thaw_load_quantized(thaw_dtype quantized, const void *data, size_t i) {
  switch (quantized) {
    case THAW_DTYPE_I8: return ((const int8_t *)data)[i];
    case THAW_DTYPE_U8: return ((const uint8_t *)data)[i];
    default: return ((const int32_t *)data)[i];
  }
}

/* Channel c's zero point as a float; 0 without zero points. */
static inline float thaw_zero_point_of(const thaw_quantize_params *p, const void *zero_point,
                                       size_t c) {
  return zero_point != NULL ? (float)thaw_load_quantized(p->quantized, zero_point, c) : 0.0f;
}

/* clamp(round_half_even(x / scale) + zero_point, lowest, highest), NaN to lowest. The division
 * (not a multiplication by 1 / scale) is what ONNX specifies, and it rounds differently near
 * half-way points. Bounds within +-2^24 are exact in float. */
static inline float thaw_quantize_value(float x, float scale, float zero_point, float lowest,
                                        float highest) {
  const float q = nearbyintf(x / scale) + zero_point;
  if (!(q >= lowest)) return lowest;
  return q < highest ? q : highest;
}

/* DynamicQuantizeLinear's scale and zero point for values in [lo, hi] (lo <= 0 <= hi), operation
 * for operation in f32 as ONNX's expanded test graph computes them; the range always holds 0,
 * so 0 is exact in u8. False when the range is empty (only zeros and NaN): then every value is
 * the zero point 0 and the scale is 0. A range from -inf to +inf makes -lo / scale NaN: its zero
 * point is 0 (the comparisons below are false for NaN), not a NaN converted to an integer. */
static inline bool thaw_dynamic_quantization(float lo, float hi, float *scale, float *zero_point) {
  const float step = (hi - lo) / 255.0f;
  if (!(step > 0.0f)) return false;
  const float unclamped = 0.0f - lo / step;
  *scale = step;
  *zero_point = nearbyintf(unclamped > 0.0f ? (unclamped < 255.0f ? unclamped : 255.0f) : 0.0f);
  return true;
}

#endif /* THAW_KERNELS_QUANTIZE_LINEAR_H */
