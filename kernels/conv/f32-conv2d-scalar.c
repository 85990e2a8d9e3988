#include "kernels/scalar.h"

/* Direct convolution, one output plane at a time, so the fused activation can run over the
 * finished plane. Taps that fall into the padding are skipped. The reference stays serial: it
 * is the oracle, not a fast path. */
size_t thaw_f32_conv2d_scratch_size__scalar(const thaw_conv2d_params *p) {
  (void)p;
  return 0;
}

void thaw_f32_conv2d__scalar(const thaw_conv2d_params *p, const float *x, const float *w,
                             const float *bias, float *y, void *scratch,
                             const thaw_parallel *parallel) {
  (void)scratch;
  (void)parallel;
  const size_t group_in = p->in_channels / p->groups;
  const size_t group_out = p->out_channels / p->groups;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t filter_size = group_in * p->kernel_height * p->kernel_width;
  const ptrdiff_t in_height = (ptrdiff_t)p->in_height, in_width = (ptrdiff_t)p->in_width;

  for (size_t n = 0; n < p->batch; n++) {
    for (size_t oc = 0; oc < p->out_channels; oc++) {
      const size_t group = oc / group_out;
      const float *x_group = x + (n * p->in_channels + group * group_in) * in_plane;
      const float *filter = w + oc * filter_size;
      const float initial = bias != NULL ? bias[oc] : 0.0f;
      float *y_plane = y + (n * p->out_channels + oc) * out_plane;

      for (size_t oh = 0; oh < p->out_height; oh++) {
        const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
        for (size_t ow = 0; ow < p->out_width; ow++) {
          const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
          float sum = initial;
          for (size_t ic = 0; ic < group_in; ic++) {
            const float *x_channel = x_group + ic * in_plane;
            const float *filter_channel = filter + ic * p->kernel_height * p->kernel_width;
            for (size_t kh = 0; kh < p->kernel_height; kh++) {
              const ptrdiff_t ih = ih_origin + (ptrdiff_t)(kh * p->dilation_h);
              if (ih < 0 || ih >= in_height) continue;
              const float *x_row = x_channel + ih * in_width;
              const float *filter_row = filter_channel + kh * p->kernel_width;
              for (size_t kw = 0; kw < p->kernel_width; kw++) {
                const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
                if (iw < 0 || iw >= in_width) continue;
                sum += x_row[iw] * filter_row[kw];
              }
            }
          }
          y_plane[oh * p->out_width + ow] = sum;
        }
      }
      thaw_f32_unary__scalar(&p->activation, out_plane, y_plane, y_plane);
    }
  }
}
