/* ReduceMean over a middle axis on NEON: the shared driver, compiled with this ISA's f32 vector
 * interface. */
#include "kernels/math/f32-vector-neon.h"
#include "kernels/neon.h"
#include "kernels/normalization/f32-reduce-mean-driver.h"

void thaw_f32_reduce_mean__neon(size_t outer, size_t reduce, size_t inner, const float *x,
                                float *y) {
  thaw_f32_reduce_mean_drive(outer, reduce, inner, x, y);
}
