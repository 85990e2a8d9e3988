#include "kernels/data/f32-resize-sample.h"
#include "kernels/scalar.h"

/* Sum over the 2^k corners spanned by the k axes that actually interpolate (k = 0 for nearest,
 * k = 2 for the usual bilinear NCHW resize). */
static float interpolate(uint32_t rank, const thaw_resize_sample *samples,
                         const size_t *in_strides, const float *x) {
  uint32_t active[THAW_MAX_RANK], active_count = 0;
  size_t base = 0;
  for (uint32_t d = 0; d < rank; d++) {
    base += samples[d].lower * in_strides[d];
    if (samples[d].upper_weight > 0.0f) active[active_count++] = d;
  }
  float sum = 0.0f;
  for (uint32_t corner = 0; corner < (1u << active_count); corner++) {
    float weight = 1.0f;
    size_t offset = base;
    for (uint32_t k = 0; k < active_count; k++) {
      const thaw_resize_sample *sample = &samples[active[k]];
      if (corner & (1u << k)) {
        weight *= sample->upper_weight;
        offset += (sample->upper - sample->lower) * in_strides[active[k]];
      } else {
        weight *= 1.0f - sample->upper_weight;
      }
    }
    sum += weight * x[offset];
  }
  return sum;
}

void thaw_f32_resize__scalar(const thaw_resize_params *p, const float *x, float *y) {
  size_t in_strides[THAW_MAX_RANK], index[THAW_MAX_RANK];
  thaw_resize_sample samples[THAW_MAX_RANK];
  size_t stride = 1, total = 1;
  for (uint32_t d = p->rank; d-- > 0;) {
    in_strides[d] = stride;
    stride *= p->in_shape[d];
    total *= p->out_shape[d];
    index[d] = 0;
    samples[d] = thaw_resize_sample_axis(p, d, 0);
  }
  for (size_t e = 0; e < total; e++) {
    y[e] = interpolate(p->rank, samples, in_strides, x);
    /* Advance the output position like an odometer, resampling only the axes that moved. */
    for (uint32_t d = p->rank; d-- > 0;) {
      index[d] = index[d] + 1 < p->out_shape[d] ? index[d] + 1 : 0;
      samples[d] = thaw_resize_sample_axis(p, d, index[d]);
      if (index[d] != 0) break;
    }
  }
}
