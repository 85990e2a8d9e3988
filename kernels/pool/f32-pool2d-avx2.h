/*
 * What the pool driver (f32-pool2d-driver.h) needs from AVX2 beyond the f32 vector interface:
 * loading a vector step's 8 input columns at the row's stride, and a running maximum that
 * keeps NaN. Include only from *-avx2.c files, before the driver.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_AVX2_H
#define THAW_KERNELS_POOL_F32_POOL2D_AVX2_H

#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernels/math/f32-vector-avx2.h"

/* Loads of the columns stride apart that one vector step reads. */
typedef struct thaw_pool_columns {
  size_t stride;
  bool loadable;   /* whether vector steps can load columns at this stride */
  size_t overread; /* columns a load reads past the last one it uses */
  __m256i gather_offsets; /* in floats, for the strides other than 1 and 2 */
} thaw_pool_columns;

/* Gather offsets are int32: a stride whose eighth column is out of their range goes scalar. */
static inline thaw_pool_columns thaw_pool_columns_for(size_t stride) {
  thaw_pool_columns columns = {.stride = stride, .loadable = stride <= INT32_MAX / 8};
  const int32_t s = columns.loadable ? (int32_t)stride : 0;
  columns.gather_offsets = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
  return columns;
}

/* Input columns i*stride for i in [0, 8): stride 1 is one load, stride 2 two loads
 * de-interleaved, any other stride a gather. The stride-2 loads cover columns 0-7 and 7-14,
 * whose even and odd lanes hold columns 0, 2, 4, 6 and 8, 10, 12, 14: nothing past the last
 * column used is read. */
static inline __m256 thaw_pool_load_columns(const float *row, const thaw_pool_columns *columns) {
  if (columns->stride == 1) return _mm256_loadu_ps(row);
  if (columns->stride == 2) {
    const __m256 low = _mm256_loadu_ps(row), high = _mm256_loadu_ps(row + 7);
    /* Per 128-bit half: low's lanes 0 and 2, high's lanes 1 and 3, giving columns
     * 0, 2, 8, 10 | 4, 6, 12, 14; the permute puts the quarters in column order. */
    const __m256 even = _mm256_shuffle_ps(low, high, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_castpd_ps(
        _mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  return _mm256_i32gather_ps(row, columns->gather_offsets, sizeof(float));
}

/* max_ps returns its second operand when either is NaN, so the running maximum keeps a NaN once
 * it has one; a NaN tap is caught by a separate unordered mask and written at the end. */
typedef struct thaw_pool_maximum {
  __m256 maximum, unordered;
} thaw_pool_maximum;

static inline thaw_pool_maximum thaw_pool_maximum_start(void) {
  return (thaw_pool_maximum){_mm256_set1_ps(-INFINITY), _mm256_setzero_ps()};
}

static inline void thaw_pool_maximum_add(thaw_pool_maximum *m, __m256 value) {
  m->maximum = _mm256_max_ps(value, m->maximum);
  m->unordered = _mm256_or_ps(m->unordered, _mm256_cmp_ps(value, value, _CMP_UNORD_Q));
}

static inline __m256 thaw_pool_maximum_result(const thaw_pool_maximum *m) {
  return _mm256_blendv_ps(m->maximum, _mm256_set1_ps(NAN), m->unordered);
}

#endif /* THAW_KERNELS_POOL_F32_POOL2D_AVX2_H */
