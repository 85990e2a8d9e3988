/* Binary elementwise ops on NEON: the Max and Min bodies, and the shared driver bound to them. */
#include <arm_neon.h>

#include "kernels/math/f32-vector-neon.h"
#include "kernels/neon.h"
#include "kernels/elementwise/f32-binary-driver.h"

/* ONNX Max/Min propagate NaN from either side, which is what FMAX/FMIN do. */
static inline float32x4_t vector_max(float32x4_t a, float32x4_t b) { return vmaxq_f32(a, b); }
static inline float32x4_t vector_min(float32x4_t a, float32x4_t b) { return vminq_f32(a, b); }

void thaw_f32_binary__neon(const thaw_binary_params *p, const float *a, const float *b,
                           float *y) {
  thaw_f32_binary_drive(p, a, b, y);
}
