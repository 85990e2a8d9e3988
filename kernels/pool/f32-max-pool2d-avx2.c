/* MaxPool on AVX2: the shared pool driver with this ISA's column loads and running maximum. */
#include "kernels/avx2.h"
#include "kernels/pool/f32-pool2d-avx2.h"
#include "kernels/pool/f32-pool2d-driver.h"

void thaw_f32_max_pool2d__avx2(const thaw_pool2d_params *p, const float *x, float *y) {
  thaw_f32_pool2d_drive(THAW_POOL_MAX, p, x, y);
}
