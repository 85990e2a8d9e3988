#include <math.h>

#include "kernels/scalar.h"

/* Where one output index samples one input axis: `lower` with weight 1 - upper_weight and
 * `upper` with upper_weight (always 0 for nearest). */
typedef struct axis_sample {
  size_t lower, upper;
  float upper_weight;
} axis_sample;

/* The output position mapped into input coordinates. In float, as ONNX Runtime computes it,
 * so that nearest rounding of coordinates that land near .5 or an integer agrees with it. */
static float source_coordinate(const thaw_resize_params *p, uint32_t axis, size_t index) {
  const float scale = p->scales[axis];
  const size_t in_length = p->in_shape[axis], out_length = p->out_shape[axis];
  switch (p->coordinates) {
  case 2: /* asymmetric */
    return (float)index / scale;
  case 3: /* align_corners */
    return out_length == 1 ? 0.0f
                           : (float)index * (float)(in_length - 1) / (float)(out_length - 1);
  case 4: /* pytorch_half_pixel: half_pixel, except that a single output samples index 0 */
    if (out_length == 1) return 0.0f;
    break;
  default: /* half_pixel */
    break;
  }
  return ((float)index + 0.5f) / scale - 0.5f;
}

static float round_nearest(int nearest, float coordinate) {
  const float below = floorf(coordinate);
  const bool halfway = coordinate - below == 0.5f;
  switch (nearest) {
  case 2: /* round_prefer_ceil */
    return halfway ? below + 1.0f : roundf(coordinate);
  case 3: /* floor */
    return below;
  case 4: /* ceil */
    return ceilf(coordinate);
  default: /* round_prefer_floor */
    return halfway ? below : roundf(coordinate);
  }
}

static axis_sample sample_axis(const thaw_resize_params *p, uint32_t axis, size_t index) {
  const float last = (float)(p->in_shape[axis] - 1);
  float coordinate = source_coordinate(p, axis, index);
  if (p->mode == 1) coordinate = round_nearest(p->nearest, coordinate);
  /* Clamped in float first so that the conversion to an integer is always defined. */
  coordinate = fminf(fmaxf(coordinate, 0.0f), last);
  axis_sample sample;
  sample.lower = (size_t)coordinate;
  /* (float)(length - 1) rounds up for lengths above 2^24. */
  if (sample.lower > p->in_shape[axis] - 1) sample.lower = p->in_shape[axis] - 1;
  sample.upper = sample.lower + 1 < p->in_shape[axis] ? sample.lower + 1 : sample.lower;
  sample.upper_weight = p->mode == 1 ? 0.0f : coordinate - (float)sample.lower;
  return sample;
}

/* Sum over the 2^k corners spanned by the k axes that actually interpolate (k = 0 for nearest,
 * k = 2 for the usual bilinear NCHW resize). */
static float interpolate(uint32_t rank, const axis_sample *samples, const size_t *in_strides,
                         const float *x) {
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
      const axis_sample *sample = &samples[active[k]];
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
  axis_sample samples[THAW_MAX_RANK];
  size_t stride = 1, total = 1;
  for (uint32_t d = p->rank; d-- > 0;) {
    in_strides[d] = stride;
    stride *= p->in_shape[d];
    total *= p->out_shape[d];
    index[d] = 0;
    samples[d] = sample_axis(p, d, 0);
  }
  for (size_t e = 0; e < total; e++) {
    y[e] = interpolate(p->rank, samples, in_strides, x);
    /* Advance the output position like an odometer, resampling only the axes that moved. */
    for (uint32_t d = p->rank; d-- > 0;) {
      index[d] = index[d] + 1 < p->out_shape[d] ? index[d] + 1 : 0;
      samples[d] = sample_axis(p, d, index[d]);
      if (index[d] != 0) break;
    }
  }
}
