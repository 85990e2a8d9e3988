/* GlobalAveragePool on AVX2: the shared driver with this ISA's row sum. */
#include "kernels/avx2.h"
#include "kernels/pool/f32-pool2d-avx2.h"
#include "kernels/pool/f32-pool2d-driver.h"

void thaw_f32_global_average_pool__avx2(size_t channels, size_t spatial, const float *x,
                                        float *y) {
  thaw_f32_global_average_pool_drive(channels, spatial, x, y);
}
