/* Which activations a microkernel can apply in registers as a clamp of its accumulators. */
#ifndef THAW_KERNELS_ELEMENTWISE_UNARY_CLAMP_H
#define THAW_KERNELS_ELEMENTWISE_UNARY_CLAMP_H

#include <math.h>
#include <stdbool.h>

#include "kernels/kernels.h"

/* Identity, ReLU and Clip are the clamp [*min, *max] (infinite bounds for "none"); false for any
 * other function, which the driver then applies over the finished output with f32_unary. */
static inline bool thaw_unary_as_clamp(const thaw_unary_params *activation, float *min,
                                       float *max) {
  *min = -INFINITY;
  *max = INFINITY;
  switch (activation->func) {
    case THAW_KERNEL_IDENTITY: return true;
    case THAW_KERNEL_RELU: *min = 0.0f; return true;
    case THAW_KERNEL_CLIP:
      *min = activation->alpha;
      *max = activation->beta;
      return true;
    default: return false;
  }
}

#endif /* THAW_KERNELS_ELEMENTWISE_UNARY_CLAMP_H */
