#include "kernels/quantize/quantize-linear-neon.h"
#include "kernels/quantize/quantize-linear-driver.h"

void thaw_x_dequantize_linear__neon(const thaw_quantize_params *p, const void *x,
                                    const float *scale, const void *zero_point, float *y) {
  thaw_x_dequantize_linear_drive(p, x, scale, zero_point, y);
}
