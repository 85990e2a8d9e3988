/* Softmax on NEON: the shared driver, compiled with this ISA's f32 vector interface. */
#include "kernels/math/f32-vector-neon.h"
#include "kernels/neon.h"
#include "kernels/normalization/f32-softmax-driver.h"

void thaw_f32_softmax__neon(size_t outer, size_t axis_size, size_t inner, const float *x,
                            float *y) {
  thaw_f32_softmax_drive(outer, axis_size, inner, x, y);
}
