#include <math.h>

#include "kernels/avx2.h"
#include "kernels/pool/f32-pool2d-avx2.h"

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

/* Outputs [ow, ow + 8) of a row, for a step that thaw_pool_vector_step_fits. max_ps returns its
 * second operand when either is NaN, so the running maximum keeps a NaN once it has one; a NaN
 * tap is caught by a separate unordered mask and written at the end. */
static __m256 vector_maximum(const thaw_pool2d_params *p, const float *x_plane,
                             thaw_pool_tap_range rows, ptrdiff_t ih_origin, size_t ow,
                             __m256i gather_offsets) {
  const float *window = x_plane + (ow * p->stride_w - p->pad_left);
  __m256 maximum = _mm256_set1_ps(-INFINITY), unordered = _mm256_setzero_ps();
  for (size_t kh = rows.begin; kh < rows.end; kh++) {
    const float *x_row =
        window + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      const __m256 value = thaw_pool_load_columns_avx2(x_row + kw * p->dilation_w, p->stride_w,
                                                       gather_offsets);
      maximum = _mm256_max_ps(value, maximum);
      unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
    }
  }
  return _mm256_blendv_ps(maximum, _mm256_set1_ps(NAN), unordered);
}

/* A row's last outputs, fewer than 8, are one vector step that ends at the row's end and
 * recomputes a few outputs already written (the same values again) when that step's windows
 * fit; otherwise they, like the outputs whose windows cross the left padding, go one by one. */
void thaw_f32_max_pool2d__avx2(const thaw_pool2d_params *p, const float *x, float *y) {
  const __m256i gather_offsets = thaw_pool_gather_offsets(p->stride_w);
  const size_t last_step = p->out_width >= 8 ? p->out_width - 8 : 0;
  const bool last_step_fits = p->out_width >= 8 && thaw_pool_vector_step_fits(p, last_step);
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      const thaw_pool_tap_range rows =
          thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
      float *y_row = y + (plane * p->out_height + oh) * p->out_width;
      for (size_t ow = 0; ow < p->out_width;) {
        if (thaw_pool_vector_step_fits(p, ow)) {
          _mm256_storeu_ps(y_row + ow,
                           vector_maximum(p, x_plane, rows, ih_origin, ow, gather_offsets));
          ow += 8;
        } else if (last_step_fits && ow > last_step) {
          _mm256_storeu_ps(y_row + last_step,
                           vector_maximum(p, x_plane, rows, ih_origin, last_step, gather_offsets));
          ow = p->out_width;
        } else {
          y_row[ow] = border_maximum(p, x_plane, rows, ih_origin, ow);
          ow++;
        }
      }
    }
  }
}
