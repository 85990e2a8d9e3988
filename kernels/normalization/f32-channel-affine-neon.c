/* Per-channel scale and shift on NEON: the shared driver, compiled with this ISA's f32 vector
 * interface. */
#include "kernels/math/f32-vector-neon.h"
#include "kernels/neon.h"
#include "kernels/normalization/f32-channel-affine-driver.h"

void thaw_f32_channel_affine__neon(size_t outer, size_t channels, size_t inner, const float *x,
                                   const float *scale, const float *shift, float *y) {
  thaw_f32_channel_affine_drive(outer, channels, inner, x, scale, shift, y);
}
