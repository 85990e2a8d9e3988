#include <string.h>

#include "kernels/conv/conv-driver.h"

static ptrdiff_t ceil_div(ptrdiff_t numerator, ptrdiff_t denominator) {
  return numerator <= 0 ? 0 : (numerator + denominator - 1) / denominator;
}

static size_t clamp_size(ptrdiff_t value, size_t low, size_t high) {
  if (value < (ptrdiff_t)low) return low;
  if (value > (ptrdiff_t)high) return high;
  return (size_t)value;
}

/* The output pixels are walked one output row at a time; within a row, the outputs whose tap lands
 * inside the input form one interval, computed once, so the loop over it neither branches nor
 * divides. */
void thaw_f32_im2col(const thaw_conv2d_params *p, const float *x_group, size_t first_pixel,
                     size_t pixel_count, float *columns) {
  const size_t group_in = p->in_channels / p->groups;
  const ptrdiff_t stride_w = (ptrdiff_t)p->stride_w, in_width = (ptrdiff_t)p->in_width;
  float *out = columns;
  for (size_t c = 0; c < group_in; c++) {
    const float *x_channel = x_group + c * p->in_height * p->in_width;
    for (size_t kh = 0; kh < p->kernel_height; kh++) {
      for (size_t kw = 0; kw < p->kernel_width; kw++) {
        const ptrdiff_t tap_offset = (ptrdiff_t)(kw * p->dilation_w) - (ptrdiff_t)p->pad_left;
        /* Outputs ow with 0 <= ow * stride_w + tap_offset < in_width. */
        const ptrdiff_t inside_begin = ceil_div(-tap_offset, stride_w);
        const ptrdiff_t inside_end = ceil_div(in_width - tap_offset, stride_w);
        size_t oh = first_pixel / p->out_width, ow = first_pixel % p->out_width;
        for (size_t remaining = pixel_count; remaining > 0; oh++, ow = 0) {
          const size_t run_end = ow + remaining < p->out_width ? ow + remaining : p->out_width;
          const size_t run = run_end - ow;
          const ptrdiff_t ih =
              (ptrdiff_t)(oh * p->stride_h + kh * p->dilation_h) - (ptrdiff_t)p->pad_top;
          if (ih < 0 || ih >= (ptrdiff_t)p->in_height) {
            memset(out, 0, run * sizeof(float));
          } else {
            const size_t begin = clamp_size(inside_begin, ow, run_end);
            const size_t end = clamp_size(inside_end, begin, run_end);
            const float *x_row = x_channel + (size_t)ih * p->in_width;
            memset(out, 0, (begin - ow) * sizeof(float));
            if (stride_w == 1) {
              if (end > begin)
                memcpy(out + (begin - ow), x_row + ((ptrdiff_t)begin + tap_offset),
                       (end - begin) * sizeof(float));
            } else {
              for (size_t o = begin; o < end; o++)
                out[o - ow] = x_row[(ptrdiff_t)o * stride_w + tap_offset];
            }
            memset(out + (end - ow), 0, (run_end - end) * sizeof(float));
          }
          out += run;
          remaining -= run;
        }
      }
    }
  }
}
