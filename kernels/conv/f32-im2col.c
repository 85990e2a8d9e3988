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

/* Where a run of consecutive pixels of one row goes: pieces of at most one panel's width,
 * `k` rows of panel_width floats per panel. */
typedef struct column_row {
  float *panels; /* pixel 0 of row 0 */
  size_t k, panel_width, row;
} column_row;

/* Stores `count` values for pixels [pixel, pixel + count) of the row: read `stride` apart from
 * `source`, or zeros when source is NULL. */
static void put_run(const column_row *out, size_t pixel, const float *source, ptrdiff_t stride,
                    size_t count) {
  for (size_t done = 0; done < count;) {
    const size_t width = out->panel_width, lane = (pixel + done) % width;
    const size_t piece = width - lane < count - done ? width - lane : count - done;
    float *destination =
        out->panels + ((pixel + done) / width * out->k + out->row) * width + lane;
    if (source == NULL) {
      memset(destination, 0, piece * sizeof(float));
    } else if (stride == 1) {
      memcpy(destination, source + done, piece * sizeof(float));
    } else {
      for (size_t i = 0; i < piece; i++)
        destination[i] = source[(ptrdiff_t)(done + i) * stride];
    }
    done += piece;
  }
}

/* The output pixels are walked one output row at a time; within a row, the outputs whose tap lands
 * inside the input form one interval, computed once, so each run is stored in whole pieces (one
 * per panel it crosses, one in all for a plain matrix) without a test per pixel. */
void thaw_f32_im2col(const thaw_conv2d_params *p, const float *x_group, size_t first_pixel,
                     size_t pixel_count, size_t panel_width, float *columns) {
  const size_t group_in = p->in_channels / p->groups;
  const size_t k = group_in * p->kernel_height * p->kernel_width;
  const ptrdiff_t stride_w = (ptrdiff_t)p->stride_w, in_width = (ptrdiff_t)p->in_width;
  column_row out = {columns, k, panel_width, 0};
  for (size_t c = 0; c < group_in; c++) {
    const float *x_channel = x_group + c * p->in_height * p->in_width;
    for (size_t kh = 0; kh < p->kernel_height; kh++) {
      for (size_t kw = 0; kw < p->kernel_width; kw++) {
        const ptrdiff_t tap_offset = (ptrdiff_t)(kw * p->dilation_w) - (ptrdiff_t)p->pad_left;
        /* Outputs ow with 0 <= ow * stride_w + tap_offset < in_width. */
        const ptrdiff_t inside_begin = ceil_div(-tap_offset, stride_w);
        const ptrdiff_t inside_end = ceil_div(in_width - tap_offset, stride_w);
        size_t oh = first_pixel / p->out_width, ow = first_pixel % p->out_width, pixel = 0;
        for (size_t remaining = pixel_count; remaining > 0; oh++, ow = 0) {
          const size_t run_end = ow + remaining < p->out_width ? ow + remaining : p->out_width;
          const size_t run = run_end - ow;
          const ptrdiff_t ih =
              (ptrdiff_t)(oh * p->stride_h + kh * p->dilation_h) - (ptrdiff_t)p->pad_top;
          if (ih < 0 || ih >= (ptrdiff_t)p->in_height) {
            put_run(&out, pixel, NULL, 0, run);
          } else {
            const size_t begin = clamp_size(inside_begin, ow, run_end);
            const size_t end = clamp_size(inside_end, begin, run_end);
            const float *x_row = x_channel + (size_t)ih * p->in_width;
            put_run(&out, pixel, NULL, 0, begin - ow);
            if (end > begin)
              put_run(&out, pixel + (begin - ow),
                      x_row + ((ptrdiff_t)begin * stride_w + tap_offset), stride_w, end - begin);
            put_run(&out, pixel + (end - ow), NULL, 0, run_end - end);
          }
          pixel += run;
          remaining -= run;
        }
        out.row++;
      }
    }
  }
  /* The last panel's lanes past the chunk are zero, as the packed layout requires. */
  const size_t used = pixel_count % panel_width;
  if (used == 0) return;
  float *last = columns + pixel_count / panel_width * k * panel_width;
  for (size_t row = 0; row < k; row++)
    memset(last + row * panel_width + used, 0, (panel_width - used) * sizeof(float));
}
