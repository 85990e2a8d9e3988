#include <math.h>

#include "kernels/neon.h"
#include "kernels/pool/f32-pool2d-neon.h"

/* One output near a border: taps outside the input are skipped, a NaN tap wins. */
static float border_maximum(const thaw_pool2d_params *p, const float *x_plane,
                            thaw_pool_tap_range rows, ptrdiff_t ih_origin, size_t ow) {
  const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
  float maximum = -INFINITY;
  for (size_t kh = rows.begin; kh < rows.end; kh++) {
    const float *x_row =
        x_plane + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
      if (iw < 0 || iw >= (ptrdiff_t)p->in_width) continue;
      if (x_row[iw] > maximum || isnan(x_row[iw])) maximum = x_row[iw];
    }
  }
  return maximum;
}

/* FMAX propagates NaN, so a NaN tap wins in the vector steps with no extra mask. */
void thaw_f32_max_pool2d__neon(const thaw_pool2d_params *p, const float *x, float *y) {
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      const thaw_pool_tap_range rows =
          thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
      for (size_t ow = 0; ow < p->out_width;) {
        if (!thaw_pool_vector_step_fits(p, ow)) {
          *y++ = border_maximum(p, x_plane, rows, ih_origin, ow);
          ow++;
          continue;
        }
        const float *window = x_plane + (ow * p->stride_w - p->pad_left);
        float32x4_t maximum = vdupq_n_f32(-INFINITY);
        for (size_t kh = rows.begin; kh < rows.end; kh++) {
          const float *x_row =
              window + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
          for (size_t kw = 0; kw < p->kernel_width; kw++)
            maximum = vmaxq_f32(maximum, thaw_pool_load_columns_neon(x_row + kw * p->dilation_w,
                                                                     p->stride_w));
        }
        vst1q_f32(y, maximum);
        y += THAW_POOL_NEON_STEP;
        ow += THAW_POOL_NEON_STEP;
      }
    }
  }
}
