/*
 * Where one output index of a Resize samples one input axis, for every coordinate and nearest
 * mode the format allows. The scalar reference and the vector driver both sample through this
 * header, so their source indices and weights are the same floats and nearest results agree
 * bit for bit.
 */
#ifndef THAW_KERNELS_DATA_F32_RESIZE_SAMPLE_H
#define THAW_KERNELS_DATA_F32_RESIZE_SAMPLE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"

/* `lower` with weight 1 - upper_weight and `upper` with upper_weight (always 0 for nearest). */
typedef struct thaw_resize_sample {
  size_t lower, upper;
  float upper_weight;
} thaw_resize_sample;

/* Mode 1 of the format's resize attributes (THAW_RESIZE_NEAREST); the other is linear. */
static inline bool thaw_resize_is_nearest(const thaw_resize_params *p) { return p->mode == 1; }

/* The output position mapped into input coordinates. In float, as ONNX Runtime computes it,
 * so that nearest rounding of coordinates that land near .5 or an integer agrees with it. */
static inline float thaw_resize_source_coordinate(const thaw_resize_params *p, uint32_t axis,
                                                  size_t index) {
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

static inline float thaw_resize_round_nearest(int nearest, float coordinate) {
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

static inline thaw_resize_sample thaw_resize_sample_axis(const thaw_resize_params *p,
                                                         uint32_t axis, size_t index) {
  const float last = (float)(p->in_shape[axis] - 1);
  float coordinate = thaw_resize_source_coordinate(p, axis, index);
  if (thaw_resize_is_nearest(p)) coordinate = thaw_resize_round_nearest(p->nearest, coordinate);
  /* Clamped in float first so that the conversion to an integer is always defined. */
  coordinate = fminf(fmaxf(coordinate, 0.0f), last);
  thaw_resize_sample sample;
  sample.lower = (size_t)coordinate;
  /* (float)(length - 1) rounds up for lengths above 2^24. */
  if (sample.lower > p->in_shape[axis] - 1) sample.lower = p->in_shape[axis] - 1;
  sample.upper = sample.lower + 1 < p->in_shape[axis] ? sample.lower + 1 : sample.lower;
  sample.upper_weight = thaw_resize_is_nearest(p) ? 0.0f : coordinate - (float)sample.lower;
  return sample;
}

#endif /* THAW_KERNELS_DATA_F32_RESIZE_SAMPLE_H */
