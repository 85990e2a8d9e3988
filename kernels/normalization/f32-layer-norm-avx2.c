/* Layer normalization on AVX2: the shared driver, compiled with this ISA's f32 vector interface. */
#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/normalization/f32-layer-norm-driver.h"

void thaw_f32_layer_norm__avx2(size_t rows, size_t cols, float epsilon, const float *x,
                               const float *scale, const float *bias, float *y) {
  thaw_f32_layer_norm_drive(rows, cols, epsilon, x, scale, bias, y);
}
