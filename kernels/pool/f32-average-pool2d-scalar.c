#include "kernels/scalar.h"

/* Number of taps from `origin` (stepping by `dilation`) that land in [low, high). */
static size_t taps_inside(ptrdiff_t origin, size_t taps, size_t dilation, ptrdiff_t low,
                          ptrdiff_t high) {
  size_t count = 0;
  for (size_t k = 0; k < taps; k++) {
    const ptrdiff_t position = origin + (ptrdiff_t)(k * dilation);
    count += position >= low && position < high;
  }
  return count;
}

/* count_include_pad = 0 divides by the real input elements in the window. With 1 the divisor
 * counts padding too, but like ONNX Runtime not the overhang past the padded input that a
 * ceil_mode output size creates. */
void thaw_f32_average_pool2d__scalar(const thaw_pool2d_params *p, const float *x, float *y) {
  const ptrdiff_t in_height = (ptrdiff_t)p->in_height, in_width = (ptrdiff_t)p->in_width;
  const ptrdiff_t low_h = p->count_include_pad ? -(ptrdiff_t)p->pad_top : 0;
  const ptrdiff_t low_w = p->count_include_pad ? -(ptrdiff_t)p->pad_left : 0;
  const ptrdiff_t high_h = in_height + (p->count_include_pad ? (ptrdiff_t)p->pad_bottom : 0);
  const ptrdiff_t high_w = in_width + (p->count_include_pad ? (ptrdiff_t)p->pad_right : 0);
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      const size_t rows_counted =
          taps_inside(ih_origin, p->kernel_height, p->dilation_h, low_h, high_h);
      for (size_t ow = 0; ow < p->out_width; ow++) {
        const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
        const size_t columns_counted =
            taps_inside(iw_origin, p->kernel_width, p->dilation_w, low_w, high_w);
        float sum = 0.0f;
        for (size_t kh = 0; kh < p->kernel_height; kh++) {
          const ptrdiff_t ih = ih_origin + (ptrdiff_t)(kh * p->dilation_h);
          if (ih < 0 || ih >= in_height) continue;
          const float *x_row = x_plane + ih * in_width;
          for (size_t kw = 0; kw < p->kernel_width; kw++) {
            const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
            if (iw < 0 || iw >= in_width) continue;
            sum += x_row[iw];
          }
        }
        *y++ = sum / (float)(rows_counted * columns_counted);
      }
    }
  }
}
