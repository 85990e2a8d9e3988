#include <arm_neon.h>

#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* y = x * scale + shift for `count` (<= 4) elements; inlined so that whole blocks use plain
 * loads and stores. */
static inline __attribute__((always_inline)) void
affine_block(size_t count, const float *x, float32x4_t scale, float32x4_t shift, float *y) {
  thaw_store_f32__neon(y, count, vfmaq_f32(shift, thaw_load_f32__neon(x, count), scale));
}

/* With inner == 1 (a [N, C] tensor) each row runs over the channels with a scale and shift per
 * element; otherwise each channel's inner run uses that channel's scale and shift. */
void thaw_f32_channel_affine__neon(size_t outer, size_t channels, size_t inner, const float *x,
                                   const float *scale, const float *shift, float *y) {
  for (size_t o = 0; o < outer; o++) {
    if (inner == 1) {
      size_t c = 0;
      for (; c + 4 <= channels; c += 4)
        affine_block(4, x + c, vld1q_f32(scale + c), vld1q_f32(shift + c), y + c);
      if (c < channels)
        affine_block(channels - c, x + c, thaw_load_f32__neon(scale + c, channels - c),
                     thaw_load_f32__neon(shift + c, channels - c), y + c);
      x += channels;
      y += channels;
      continue;
    }
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const float32x4_t channel_scale = vld1q_dup_f32(scale + c);
      const float32x4_t channel_shift = vld1q_dup_f32(shift + c);
      size_t i = 0;
      for (; i + 4 <= inner; i += 4) affine_block(4, x + i, channel_scale, channel_shift, y + i);
      if (i < inner) affine_block(inner - i, x + i, channel_scale, channel_shift, y + i);
    }
  }
}
