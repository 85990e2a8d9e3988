#include "kernels/neon.h"
#include "kernels/pool/f32-pool2d-neon.h"

/* The divisor's rows or columns: real taps, or with count_include_pad the taps inside the padded
 * input (never the overhang past it that a ceil_mode output size creates). */
static size_t counted_taps(const thaw_pool2d_params *p, ptrdiff_t origin, size_t taps,
                           size_t dilation, size_t extent, size_t pad_begin, size_t pad_end) {
  const thaw_pool_tap_range counted =
      p->count_include_pad ? thaw_pool_taps_inside(origin + (ptrdiff_t)pad_begin, taps, dilation,
                                                   extent + pad_begin + pad_end)
                           : thaw_pool_taps_inside(origin, taps, dilation, extent);
  return counted.end - counted.begin;
}

static float border_sum(const thaw_pool2d_params *p, const float *x_plane,
                        thaw_pool_tap_range rows, ptrdiff_t ih_origin, ptrdiff_t iw_origin) {
  float sum = 0.0f;
  for (size_t kh = rows.begin; kh < rows.end; kh++) {
    const float *x_row =
        x_plane + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
      if (iw >= 0 && iw < (ptrdiff_t)p->in_width) sum += x_row[iw];
    }
  }
  return sum;
}

/* A vector step's windows lie inside the input, so all their kernel_width columns count and the
 * divisor is the row's. */
void thaw_f32_average_pool2d__neon(const thaw_pool2d_params *p, const float *x, float *y) {
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      const thaw_pool_tap_range rows =
          thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
      const size_t rows_counted = counted_taps(p, ih_origin, p->kernel_height, p->dilation_h,
                                               p->in_height, p->pad_top, p->pad_bottom);
      const float row_scale = 1.0f / (float)(rows_counted * p->kernel_width);
      for (size_t ow = 0; ow < p->out_width;) {
        if (!thaw_pool_vector_step_fits(p, ow)) {
          const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
          const size_t columns_counted = counted_taps(p, iw_origin, p->kernel_width,
                                                      p->dilation_w, p->in_width, p->pad_left,
                                                      p->pad_right);
          *y++ = border_sum(p, x_plane, rows, ih_origin, iw_origin) /
                 (float)(rows_counted * columns_counted);
          ow++;
          continue;
        }
        const float *window = x_plane + (ow * p->stride_w - p->pad_left);
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (size_t kh = rows.begin; kh < rows.end; kh++) {
          const float *x_row =
              window + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
          for (size_t kw = 0; kw < p->kernel_width; kw++)
            sum = vaddq_f32(sum, thaw_pool_load_columns_neon(x_row + kw * p->dilation_w,
                                                             p->stride_w));
        }
        vst1q_f32(y, vmulq_n_f32(sum, row_scale));
        y += THAW_POOL_NEON_STEP;
        ow += THAW_POOL_NEON_STEP;
      }
    }
  }
}
