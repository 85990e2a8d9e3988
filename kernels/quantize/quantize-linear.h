/*
 * What ONNX's linear quantization kernels share: the range of a quantized dtype and the
 * rounding of one value. Internal to kernels/quantize/.
 */
#ifndef THAW_KERNELS_QUANTIZE_LINEAR_H
#define THAW_KERNELS_QUANTIZE_LINEAR_H

#include <math.h>

#include "kernels/kernels.h"

/* Element i of an integer operand of dtype `quantized` (I8, U8 or I32). */
static inline int32_t thaw_load_quantized(thaw_dtype quantized, const void *data, size_t i) {
  switch (quantized) {
    case THAW_DTYPE_I8: return ((const int8_t *)data)[i];
    case THAW_DTYPE_U8: return ((const uint8_t *)data)[i];
    default: return ((const int32_t *)data)[i];
  }
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

#endif /* THAW_KERNELS_QUANTIZE_LINEAR_H */
