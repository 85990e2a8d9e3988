#include "kernels/quantize/quantize-linear-avx2.h"
#include "kernels/quantize/quantize-linear-driver.h"

void thaw_f32_dynamic_quantize_linear__avx2(size_t n, const float *x, uint8_t *y, float *scale,
                                            uint8_t *zero_point) {
  thaw_f32_dynamic_quantize_linear_drive(n, x, y, scale, zero_point);
}
