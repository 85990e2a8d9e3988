#include "kernels/quantize/quantize-linear-avx2.h"
#include "kernels/quantize/quantize-linear-driver.h"

void thaw_f32_quantize_linear__avx2(const thaw_quantize_params *p, const float *x,
                                    const float *scale, const void *zero_point, void *y) {
  thaw_f32_quantize_linear_drive(p, x, scale, zero_point, y);
}
