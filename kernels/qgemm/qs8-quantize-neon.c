/* f32 to int8, 16 values per step: the same arithmetic as the scalar reference (multiply by the
 * inverse scale, round half to even, add the zero point, clamp), so both agree to the bit. */
#include <arm_neon.h>
#include <string.h>

#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

static inline int32x4_t quantize4(float32x4_t vx, float32x4_t vinverse_scale,
                                  float32x4_t vzero_point, float32x4_t vlowest) {
  const float32x4_t vrounded = vrndnq_f32(vmulq_f32(vx, vinverse_scale));
  /* FMAXNM returns the number when the other operand is NaN: NaN becomes the lowest value. */
  const float32x4_t vclamped =
      vminq_f32(vmaxnmq_f32(vaddq_f32(vrounded, vzero_point), vlowest), vdupq_n_f32(127.0f));
  return vcvtq_s32_f32(vclamped); /* integral already */
}

void thaw_qs8_quantize__neon(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                             float lowest, int8_t *y) {
  const float inverse_scale = 1.0f / q->scale, zero_point = (float)q->zero_point;
  const float32x4_t vinverse_scale = vdupq_n_f32(inverse_scale);
  const float32x4_t vzero_point = vdupq_n_f32(zero_point), vlowest = vdupq_n_f32(lowest);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int32x4_t v0 = quantize4(vld1q_f32(x + i), vinverse_scale, vzero_point, vlowest);
    const int32x4_t v1 = quantize4(vld1q_f32(x + i + 4), vinverse_scale, vzero_point, vlowest);
    const int32x4_t v2 = quantize4(vld1q_f32(x + i + 8), vinverse_scale, vzero_point, vlowest);
    const int32x4_t v3 = quantize4(vld1q_f32(x + i + 12), vinverse_scale, vzero_point, vlowest);
    const int16x8_t v01 = vcombine_s16(vmovn_s32(v0), vmovn_s32(v1));
    const int16x8_t v23 = vcombine_s16(vmovn_s32(v2), vmovn_s32(v3));
    vst1q_s8(y + i, vcombine_s8(vmovn_s16(v01), vmovn_s16(v23)));
  }
  /* The rest 4 at a time (short rows are common: a 7x7 image), the last ones loaded through a
   * copy and stored through one. */
  for (; i < n; i += 4) {
    const size_t count = n - i < 4 ? n - i : 4;
    const int32x4_t vwords =
        quantize4(thaw_load_f32__neon(x + i, count), vinverse_scale, vzero_point, vlowest);
    const int8x8_t vbytes = vmovn_s16(vcombine_s16(vmovn_s32(vwords), vdup_n_s16(0)));
    int8_t bytes[8];
    vst1_s8(bytes, vbytes);
    memcpy(y + i, bytes, count);
  }
}
