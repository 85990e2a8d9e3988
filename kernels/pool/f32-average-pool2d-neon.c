/* AveragePool on NEON: the shared pool driver with this ISA's column loads. */
#include "kernels/neon.h"
#include "kernels/pool/f32-pool2d-neon.h"
#include "kernels/pool/f32-pool2d-driver.h"

void thaw_f32_average_pool2d__neon(const thaw_pool2d_params *p, const float *x, float *y) {
  thaw_f32_pool2d_drive(THAW_POOL_AVERAGE, p, x, y);
}
