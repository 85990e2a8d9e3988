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

/* Gather offsets are int32: a stride whose eighth column is out of their range goes scalar. The
 * stride-2 loads read one column past the last one they use. */
static inline thaw_pool_columns thaw_pool_columns_for(size_t stride) {
  thaw_pool_columns columns = {
      .stride = stride, .loadable = stride <= INT32_MAX / 8, .overread = stride == 2};
  const int32_t s = columns.loadable ? (int32_t)stride : 0;
  columns.gather_offsets = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
  return columns;
}

/* Input columns i*stride for i in [0, 8), in an order that thaw_pool_columns_in_order undoes:
 * stride 1 is one load, stride 2 two loads (columns 0-7 and 8-15) whose even lanes make columns
 * 0, 2, 8, 10 | 4, 6, 12, 14 (the middle pairs swapped), any other stride a gather. A vector
 * step takes the lane-wise maximum or sum of its taps in that order and puts it in order once. */
static inline __m256 thaw_pool_load_columns(const float *row, const thaw_pool_columns *columns) {
  if (columns->stride == 1) return _mm256_loadu_ps(row);
  if (columns->stride == 2)
    return _mm256_shuffle_ps(_mm256_loadu_ps(row), _mm256_loadu_ps(row + 8),
                             _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_i32gather_ps(row, columns->gather_offsets, sizeof(float));
}

static inline __m256 thaw_pool_columns_in_order(__m256 v, const thaw_pool_columns *columns) {
  if (columns->stride != 2) return v;
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
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

/* The separable max pool folds inputs in with plain maxima, thaw_f32v_max(input, maximum), which
 * keep the running maximum's NaN but drop the input's; it watches the inputs for NaN instead,
 * two at a time: `watch` gains the lanes where a or b is NaN. */
static inline __m256 thaw_pool_watch_nan(__m256 watch, __m256 a, __m256 b) {
  return _mm256_or_ps(watch, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
}

static inline bool thaw_pool_nan_seen(__m256 watch) { return _mm256_movemask_ps(watch) != 0; }

#endif /* THAW_KERNELS_POOL_F32_POOL2D_AVX2_H */
