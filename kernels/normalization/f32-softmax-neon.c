#include <arm_neon.h>
#include <math.h>

#include "kernels/math/f32-vmath-neon.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* A contiguous line (inner == 1), the attention and classifier case: maximum, then e^(x - max)
 * written to y and summed, then y scaled by 1/sum while it is still in cache. Lanes past the
 * end of the line are -inf for the maximum and 0 for the sum. */
static void softmax_line(size_t length, const float *x, float *y) {
  const float32x4_t minus_infinity = vdupq_n_f32(-INFINITY);
  float32x4_t maximum = minus_infinity;
  size_t i = 0;
  for (; i + 4 <= length; i += 4) maximum = vmaxq_f32(maximum, vld1q_f32(x + i));
  const size_t tail = length - i;
  const uint32x4_t tail_mask = thaw_tail_mask__neon(tail);
  if (tail != 0) {
    const float32x4_t values = thaw_load_f32__neon(x + i, tail);
    maximum = vmaxq_f32(maximum, vbslq_f32(tail_mask, values, minus_infinity));
  }
  const float32x4_t line_maximum = vdupq_n_f32(vmaxvq_f32(maximum));

  float32x4_t sum = vdupq_n_f32(0.0f);
  for (i = 0; i + 4 <= length; i += 4) {
    const float32x4_t e = thaw_vexp_f32__neon(vsubq_f32(vld1q_f32(x + i), line_maximum));
    vst1q_f32(y + i, e);
    sum = vaddq_f32(sum, e);
  }
  if (tail != 0) {
    const float32x4_t values = thaw_load_f32__neon(x + i, tail);
    const float32x4_t e = vreinterpretq_f32_u32(vandq_u32(
        vreinterpretq_u32_f32(thaw_vexp_f32__neon(vsubq_f32(values, line_maximum))), tail_mask));
    thaw_store_f32__neon(y + i, tail, e);
    sum = vaddq_f32(sum, e);
  }

  const float inverse = 1.0f / vaddvq_f32(sum);
  for (i = 0; i + 4 <= length; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), inverse));
  if (tail != 0)
    thaw_store_f32__neon(y + i, tail, vmulq_n_f32(thaw_load_f32__neon(y + i, tail), inverse));
}

/* Up to four neighbouring lines of a [axis_size][inner] block at once, one per lane: the same
 * three passes with every load a row of `count` contiguous floats. Inlined so that the whole
 * blocks (count 4) use plain loads and stores. */
static inline __attribute__((always_inline)) void
softmax_columns(size_t axis_size, size_t inner, size_t count, const float *x, float *y) {
  float32x4_t maximum = vdupq_n_f32(-INFINITY);
  for (size_t a = 0; a < axis_size; a++)
    maximum = vmaxq_f32(maximum, thaw_load_f32__neon(x + a * inner, count));
  float32x4_t sum = vdupq_n_f32(0.0f);
  for (size_t a = 0; a < axis_size; a++) {
    const float32x4_t values = thaw_load_f32__neon(x + a * inner, count);
    const float32x4_t e = thaw_vexp_f32__neon(vsubq_f32(values, maximum));
    thaw_store_f32__neon(y + a * inner, count, e);
    sum = vaddq_f32(sum, e);
  }
  const float32x4_t inverse = vdivq_f32(vdupq_n_f32(1.0f), sum);
  for (size_t a = 0; a < axis_size; a++)
    thaw_store_f32__neon(y + a * inner, count,
                         vmulq_f32(thaw_load_f32__neon(y + a * inner, count), inverse));
}

void thaw_f32_softmax__neon(size_t outer, size_t axis_size, size_t inner, const float *x,
                            float *y) {
  const size_t block = axis_size * inner;
  for (size_t o = 0; o < outer; o++, x += block, y += block) {
    if (inner == 1) {
      softmax_line(axis_size, x, y);
      continue;
    }
    size_t j = 0;
    for (; j + 4 <= inner; j += 4) softmax_columns(axis_size, inner, 4, x + j, y + j);
    if (j < inner) softmax_columns(axis_size, inner, inner - j, x + j, y + j);
  }
}
