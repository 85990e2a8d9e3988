#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* y = x * scale + shift for `count` (<= 8) elements; inlined so that whole blocks use plain
 * loads and stores. */
static inline __attribute__((always_inline)) void
affine_block(size_t count, const float *x, __m256 scale, __m256 shift, float *y) {
  thaw_store_f32__avx2(y, count, _mm256_fmadd_ps(thaw_load_f32__avx2(x, count), scale, shift));
}

/* With inner == 1 (a [N, C] tensor) each row runs over the channels with a scale and shift per
 * element; otherwise each channel's inner run uses that channel's scale and shift. */
void thaw_f32_channel_affine__avx2(size_t outer, size_t channels, size_t inner, const float *x,
                                   const float *scale, const float *shift, float *y) {
  for (size_t o = 0; o < outer; o++) {
    if (inner == 1) {
      size_t c = 0;
      for (; c + 8 <= channels; c += 8)
        affine_block(8, x + c, _mm256_loadu_ps(scale + c), _mm256_loadu_ps(shift + c), y + c);
      if (c < channels)
        affine_block(channels - c, x + c, thaw_load_f32__avx2(scale + c, channels - c),
                     thaw_load_f32__avx2(shift + c, channels - c), y + c);
      x += channels;
      y += channels;
      continue;
    }
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const __m256 channel_scale = _mm256_broadcast_ss(scale + c);
      const __m256 channel_shift = _mm256_broadcast_ss(shift + c);
      size_t i = 0;
      for (; i + 8 <= inner; i += 8) affine_block(8, x + i, channel_scale, channel_shift, y + i);
      if (i < inner) affine_block(inner - i, x + i, channel_scale, channel_shift, y + i);
    }
  }
}
