/* Resize on AVX2: the shared driver (f32-resize-driver.h) with what it needs from this ISA
 * beyond the f32 vector interface: a gather of eight input columns, and the lanes of a vector
 * repeated for an integer upsampling. */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"

/* x[index[k]] for k in [0, 8). */
static inline __m256 thaw_resize_gather(const float *x, const int32_t *index) {
  return _mm256_i32gather_ps(x, _mm256_loadu_si256((const __m256i *)index), sizeof(float));
}

/* Output vector `part` of v's lanes each repeated `factor` times, factor in {1, 2, 4, 8}:
 * lane l holds v's lane part * 8 / factor + l / factor. */
static inline __m256 thaw_resize_repeat_lanes(__m256 v, size_t factor, size_t part) {
  const __m256i first = _mm256_set1_epi32((int32_t)(part * 8 / factor));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i shift = _mm256_set1_epi32(__builtin_ctzll(factor));
  return _mm256_permutevar8x32_ps(v, _mm256_add_epi32(first, _mm256_srlv_epi32(lane, shift)));
}

#include "kernels/data/f32-resize-driver.h"

void thaw_f32_resize__avx2(const thaw_resize_params *p, const float *x, float *y) {
  thaw_f32_resize_drive(p, x, y);
}
