/* Per-channel scale and shift on AVX2: the shared driver, compiled with this ISA's f32 vector
 * interface. */
#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/normalization/f32-channel-affine-driver.h"

void thaw_f32_channel_affine__avx2(size_t outer, size_t channels, size_t inner, const float *x,
                                   const float *scale, const float *shift, float *y) {
  thaw_f32_channel_affine_drive(outer, channels, inner, x, scale, shift, y);
}
