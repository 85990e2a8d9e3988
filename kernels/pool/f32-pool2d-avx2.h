/*
 * What the AVX2 max and average pools share: the walk over output rows, which computes 8 outputs at
 * once wherever their whole windows lie inside the input and leaves the outputs near the borders
 * (and a row's last few) to a per-output function with bounds checks. Include only from *-avx2.c
 * files.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_AVX2_H
#define THAW_KERNELS_POOL_F32_POOL2D_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* Taps [begin, end) of a window. */
typedef struct thaw_pool_tap_range {
  size_t begin, end;
} thaw_pool_tap_range;

/* The taps of a window starting at `origin`, stepping by `dilation`, that land in [0, limit):
 * the ones that read real input. */
static inline thaw_pool_tap_range thaw_pool_taps_inside(ptrdiff_t origin, size_t taps,
                                                        size_t dilation, size_t limit) {
  thaw_pool_tap_range range = {0, taps};
  while (range.begin < taps && origin + (ptrdiff_t)(range.begin * dilation) < 0) range.begin++;
  while (range.end > range.begin &&
         origin + (ptrdiff_t)((range.end - 1) * dilation) >= (ptrdiff_t)limit)
    range.end--;
  return range;
}

/* Input columns ow*stride + offset for ow in [0, 8): stride 1 is one load, stride 2 two loads
 * de-interleaved, any other stride a gather. The stride-2 loads cover columns 0-7 and 7-14, whose
 * even and odd lanes hold columns 0, 2, 4, 6 and 8, 10, 12, 14: nothing past the last column used
 * is read. */
static inline __m256 thaw_pool_load_columns_avx2(const float *row, size_t stride,
                                                 __m256i gather_offsets) {
  if (stride == 1) return _mm256_loadu_ps(row);
  if (stride == 2) {
    const __m256 low = _mm256_loadu_ps(row), high = _mm256_loadu_ps(row + 7);
    /* Per 128-bit half: low's lanes 0 and 2, high's lanes 1 and 3, giving columns
     * 0, 2, 8, 10 | 4, 6, 12, 14; the permute puts the quarters in column order. */
    const __m256 columns = _mm256_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(columns), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  return _mm256_i32gather_ps(row, gather_offsets, sizeof(float));
}

/* Whether outputs [ow, ow + 8) of a row can be one vector step: every column their windows read
 * is inside the input. */
static inline bool thaw_pool_vector_step_fits(const thaw_pool2d_params *p, size_t ow) {
  if (ow + 8 > p->out_width || ow * p->stride_w < p->pad_left) return false;
  if (p->stride_w > INT32_MAX / 8) return false; /* gather offsets are int32 */
  const size_t reach = (p->kernel_width - 1) * p->dilation_w;
  return (ow + 7) * p->stride_w + reach < p->in_width + p->pad_left;
}

/* Offsets, in floats, of the 8 columns of a gathered step; only used for strides that
 * thaw_pool_vector_step_fits lets through, where they fit in int32. */
static inline __m256i thaw_pool_gather_offsets(size_t stride) {
  const int32_t s = stride > INT32_MAX / 8 ? 0 : (int32_t)stride;
  return _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
}

#endif /* THAW_KERNELS_POOL_F32_POOL2D_AVX2_H */
