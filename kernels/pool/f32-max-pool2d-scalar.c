#include <math.h>

#include "kernels/scalar.h"

/* Taps in the padding are skipped (they never win), as are taps past the padded input that a
 * ceil_mode output size makes the last windows reach. A NaN input propagates. */
void thaw_f32_max_pool2d__scalar(const thaw_pool2d_params *p, const float *x, float *y) {
  const ptrdiff_t in_height = (ptrdiff_t)p->in_height, in_width = (ptrdiff_t)p->in_width;
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      for (size_t ow = 0; ow < p->out_width; ow++) {
        const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
        float maximum = -INFINITY;
        for (size_t kh = 0; kh < p->kernel_height; kh++) {
          const ptrdiff_t ih = ih_origin + (ptrdiff_t)(kh * p->dilation_h);
          if (ih < 0 || ih >= in_height) continue;
          const float *x_row = x_plane + ih * in_width;
          for (size_t kw = 0; kw < p->kernel_width; kw++) {
            const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
            if (iw < 0 || iw >= in_width) continue;
            const float value = x_row[iw];
            if (value > maximum || isnan(value)) maximum = value;
          }
        }
        *y++ = maximum;
      }
    }
  }
}
