#include "kernels/scalar.h"

void thaw_f32_channel_affine__scalar(size_t outer, size_t channels, size_t inner,
                                     const float *x, const float *scale, const float *shift,
                                     float *y) {
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++) {
      const float channel_scale = scale[c], channel_shift = shift[c];
      for (size_t i = 0; i < inner; i++) *y++ = *x++ * channel_scale + channel_shift;
    }
  }
}
