#include "kernels/scalar.h"

/* ConvTranspose as a gather: input pixel (ih, iw) reaches output (oh, ow) through tap (kh, kw)
 * when oh = ih*stride_h - pad_top + kh*dilation_h (likewise for w), so each output sums the
 * taps for which that equation has an integer solution inside the input. Computing outputs
 * one plane at a time lets the fused activation run over the finished plane. */
void thaw_f32_conv_transpose2d__scalar(const thaw_conv2d_params *p, const float *x,
                                       const float *w, const float *bias, float *y,
                                       const thaw_parallel *parallel) {
  (void)parallel;
  const size_t group_in = p->in_channels / p->groups;
  const size_t group_out = p->out_channels / p->groups;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  const ptrdiff_t stride_h = (ptrdiff_t)p->stride_h, stride_w = (ptrdiff_t)p->stride_w;
  const ptrdiff_t in_height = (ptrdiff_t)p->in_height, in_width = (ptrdiff_t)p->in_width;

  for (size_t n = 0; n < p->batch; n++) {
    for (size_t oc = 0; oc < p->out_channels; oc++) {
      const size_t group = oc / group_out;
      const size_t oc_in_group = oc % group_out;
      const float *x_group = x + (n * p->in_channels + group * group_in) * in_plane;
      /* w[group*group_in + ic][oc_in_group] is the filter between those two channels. */
      const float *w_group = w + (group * group_in * group_out + oc_in_group) * taps;
      const float initial = bias != NULL ? bias[oc] : 0.0f;
      float *y_plane = y + (n * p->out_channels + oc) * out_plane;

      for (size_t oh = 0; oh < p->out_height; oh++) {
        const ptrdiff_t h_origin = (ptrdiff_t)(oh + p->pad_top);
        for (size_t ow = 0; ow < p->out_width; ow++) {
          const ptrdiff_t w_origin = (ptrdiff_t)(ow + p->pad_left);
          float sum = initial;
          for (size_t kh = 0; kh < p->kernel_height; kh++) {
            const ptrdiff_t h_scaled = h_origin - (ptrdiff_t)(kh * p->dilation_h);
            if (h_scaled < 0 || h_scaled % stride_h != 0) continue;
            const ptrdiff_t ih = h_scaled / stride_h;
            if (ih >= in_height) continue;
            for (size_t kw = 0; kw < p->kernel_width; kw++) {
              const ptrdiff_t w_scaled = w_origin - (ptrdiff_t)(kw * p->dilation_w);
              if (w_scaled < 0 || w_scaled % stride_w != 0) continue;
              const ptrdiff_t iw = w_scaled / stride_w;
              if (iw >= in_width) continue;
              const size_t tap = kh * p->kernel_width + kw;
              const size_t pixel = (size_t)(ih * in_width + iw);
              for (size_t ic = 0; ic < group_in; ic++)
                sum += x_group[ic * in_plane + pixel] * w_group[ic * group_out * taps + tap];
            }
          }
          y_plane[oh * p->out_width + ow] = sum;
        }
      }
      thaw_f32_unary__scalar(&p->activation, out_plane, y_plane, y_plane);
    }
  }
}
