/* ReduceMean over a middle axis on AVX2: the shared driver, compiled with this ISA's f32 vector
 * interface. */
#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/normalization/f32-reduce-mean-driver.h"

void thaw_f32_reduce_mean__avx2(size_t outer, size_t reduce, size_t inner, const float *x,
                                float *y) {
  thaw_f32_reduce_mean_drive(outer, reduce, inner, x, y);
}
