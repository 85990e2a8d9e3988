#include <arm_neon.h>

#include "kernels/math/f32-vmath-neon.h"
#include "kernels/math/x32-tail-neon.h"
#include "kernels/neon.h"

/* `count` (<= 4) neighbouring columns, each summed down the reduced axis in a register, so
 * every load is a contiguous row slice. Inlined so that whole blocks use plain loads. */
static inline __attribute__((always_inline)) void
column_means(size_t reduce, size_t inner, size_t count, const float *x, float inverse_count,
             float *y) {
  float32x4_t sum = vdupq_n_f32(0.0f);
  for (size_t r = 0; r < reduce; r++)
    sum = vaddq_f32(sum, thaw_load_f32__neon(x + r * inner, count));
  thaw_store_f32__neon(y, count, vmulq_n_f32(sum, inverse_count));
}

/* A contiguous row per output when inner == 1 (the mean over the last axis), else columns
 * four at a time. */
void thaw_f32_reduce_mean__neon(size_t outer, size_t reduce, size_t inner, const float *x,
                                float *y) {
  const float inverse_count = 1.0f / (float)reduce;
  for (size_t o = 0; o < outer; o++, x += reduce * inner, y += inner) {
    if (inner == 1) {
      y[0] = thaw_row_sum_f32__neon(reduce, x) * inverse_count;
      continue;
    }
    size_t j = 0;
    for (; j + 4 <= inner; j += 4) column_means(reduce, inner, 4, x + j, inverse_count, y + j);
    if (j < inner) column_means(reduce, inner, inner - j, x + j, inverse_count, y + j);
  }
}
