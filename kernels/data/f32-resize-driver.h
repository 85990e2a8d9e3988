/*
 * The Resize driver, one source for every vector ISA. The source samples of the width axis are
 * tabulated once per block of output columns instead of once per output element, and each
 * output row is then one row operation: a gather (nearest), a broadcast of every input value
 * `factor` times (nearest at an integer scale, PyTorch's and PaddleOCR's upsampling), or a
 * horizontal blend of one or two input rows followed by a vertical blend (linear). An output
 * row that samples the same input rows with the same weight as the row above it is a copy.
 *
 * An ISA's f32-resize-<isa>.c includes its f32 vector interface, defines
 * thaw_resize_gather(x, index) (x[index[k]] for every lane k) and
 * thaw_resize_repeat_lanes(v, factor, part) (output vector `part` of v's lanes each repeated
 * `factor` times, for the factors that divide THAW_F32V_LANES), then includes this header and
 * binds thaw_f32_resize_drive.
 *
 * Source indices and weights come from f32-resize-sample.h like the scalar reference's, so
 * nearest results equal the reference's bit for bit. Linear results may differ from it by a
 * few ulp of the largest corner: the reference sums the four corners with weight products,
 * this driver blends horizontally, then vertically, with fused multiply-adds.
 */
#ifndef THAW_KERNELS_DATA_F32_RESIZE_DRIVER_H
#define THAW_KERNELS_DATA_F32_RESIZE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/data/f32-resize-sample.h"
#include "kernels/scalar.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's f32 vector interface before this driver"
#endif

/* Output columns tabulated at once. The tables and the two cached horizontal rows of a block
 * take 12 KiB of stack whatever the image width. */
#define THAW_RESIZE_COLUMN_BLOCK 512

/* Output columns [first, first + count) of every row: the input columns they sample (int32
 * for the vector gathers; the driver leaves inputs wider than INT32_MAX to the reference). */
typedef struct thaw_resize_columns {
  size_t first, count;
  /* Nonzero when output column first + j reads input column (first + j) / repeat for every j
   * of the block: a nearest upsampling by the integer `repeat`. */
  size_t repeat;
  int32_t lower[THAW_RESIZE_COLUMN_BLOCK], upper[THAW_RESIZE_COLUMN_BLOCK];
  float lower_weight[THAW_RESIZE_COLUMN_BLOCK], upper_weight[THAW_RESIZE_COLUMN_BLOCK];
} thaw_resize_columns;

/* Two input rows of a plane blended horizontally, kept for the next output rows: upsampling
 * by s reads each input row for about 2s output rows. */
typedef struct thaw_resize_row_cache {
  size_t source_row[2]; /* SIZE_MAX: empty */
  float values[2][THAW_RESIZE_COLUMN_BLOCK];
} thaw_resize_row_cache;

static inline void thaw_resize_tabulate_columns(const thaw_resize_params *p, size_t first,
                                                size_t count, thaw_resize_columns *columns) {
  const uint32_t axis = p->rank - 1;
  columns->first = first;
  columns->count = count;
  for (size_t j = 0; j < count; j++) {
    const thaw_resize_sample sample = thaw_resize_sample_axis(p, axis, first + j);
    columns->lower[j] = (int32_t)sample.lower;
    columns->upper[j] = (int32_t)sample.upper;
    columns->lower_weight[j] = 1.0f - sample.upper_weight;
    columns->upper_weight[j] = sample.upper_weight;
  }
  const size_t in_width = p->in_shape[axis], out_width = p->out_shape[axis];
  const size_t factor = out_width / in_width;
  columns->repeat = 0;
  if (!thaw_resize_is_nearest(p) || factor == 0 || factor * in_width != out_width ||
      first % factor != 0 || count % factor != 0)
    return;
  for (size_t j = 0; j < count; j++)
    if ((size_t)columns->lower[j] != (first + j) / factor) return;
  columns->repeat = factor;
}

/* x[index[k]] for k in [0, count), count < THAW_F32V_LANES, and zeros in the other lanes. */
static inline thaw_f32v thaw_resize_gather_partial(const float *x, const int32_t *index,
                                                   size_t count) {
  float lanes[THAW_F32V_LANES] = {0.0f};
  for (size_t k = 0; k < count; k++) lanes[k] = x[index[k]];
  return thaw_f32v_load(lanes);
}

/* Each of the `count` values of x `factor` times in a row. */
static inline void thaw_resize_repeat_row(size_t count, size_t factor, const float *x,
                                          float *y) {
  const size_t lanes = THAW_F32V_LANES;
  if (lanes % factor != 0) {
    for (size_t i = 0; i < count; i++, y += factor) {
      const thaw_f32v value = thaw_f32v_dup(x[i]);
      size_t k = 0;
      for (; k + lanes <= factor; k += lanes) thaw_f32v_store(y + k, value);
      if (k < factor) thaw_f32v_store_partial(y + k, factor - k, value);
    }
    return;
  }
  size_t i = 0;
  for (; i + lanes <= count; i += lanes) {
    const thaw_f32v values = thaw_f32v_load(x + i);
    for (size_t part = 0; part < factor; part++)
      thaw_f32v_store(y + i * factor + part * lanes,
                      thaw_resize_repeat_lanes(values, factor, part));
  }
  if (i < count) {
    const thaw_f32v values = thaw_f32v_load_partial(x + i, count - i);
    const size_t outputs = (count - i) * factor;
    for (size_t part = 0; part * lanes < outputs; part++) {
      const size_t stored = outputs - part * lanes < lanes ? outputs - part * lanes : lanes;
      thaw_f32v_store_partial(y + i * factor + part * lanes, stored,
                              thaw_resize_repeat_lanes(values, factor, part));
    }
  }
}

/* Nearest: the block's output columns of one row from input row x. */
static inline void thaw_resize_nearest_row(const thaw_resize_columns *columns, const float *x,
                                           float *y) {
  if (columns->repeat != 0) {
    thaw_resize_repeat_row(columns->count / columns->repeat, columns->repeat,
                           x + columns->first / columns->repeat, y);
    return;
  }
  const size_t lanes = THAW_F32V_LANES, count = columns->count;
  size_t j = 0;
  for (; j + lanes <= count; j += lanes)
    thaw_f32v_store(y + j, thaw_resize_gather(x, columns->lower + j));
  if (j < count)
    thaw_f32v_store_partial(y + j, count - j,
                            thaw_resize_gather_partial(x, columns->lower + j, count - j));
}

/* Linear along the width: the block's output columns of one row from input row x. */
static inline void thaw_resize_linear_row(const thaw_resize_columns *columns, const float *x,
                                          float *y) {
  const size_t lanes = THAW_F32V_LANES, count = columns->count;
  for (size_t j = 0; j < count; j += lanes) {
    const size_t n = count - j < lanes ? count - j : lanes;
    const bool whole = n == lanes;
    const thaw_f32v lower = whole ? thaw_resize_gather(x, columns->lower + j)
                                  : thaw_resize_gather_partial(x, columns->lower + j, n);
    const thaw_f32v upper = whole ? thaw_resize_gather(x, columns->upper + j)
                                  : thaw_resize_gather_partial(x, columns->upper + j, n);
    const thaw_f32v lower_weight = thaw_f32v_load_partial(columns->lower_weight + j, n);
    const thaw_f32v upper_weight = thaw_f32v_load_partial(columns->upper_weight + j, n);
    thaw_f32v_store_partial(
        y + j, n, thaw_f32v_fmadd(upper_weight, upper, thaw_f32v_mul(lower_weight, lower)));
  }
}

/* y = lower_weight * lower + upper_weight * upper over n floats. */
static inline void thaw_resize_blend_rows(size_t n, const float *lower, float lower_weight,
                                          const float *upper, float upper_weight, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const thaw_f32v lower_weights = thaw_f32v_dup(lower_weight);
  const thaw_f32v upper_weights = thaw_f32v_dup(upper_weight);
  size_t j = 0;
  for (; j + lanes <= n; j += lanes) {
    const thaw_f32v blend = thaw_f32v_fmadd(
        upper_weights, thaw_f32v_load(upper + j),
        thaw_f32v_mul(lower_weights, thaw_f32v_load(lower + j)));
    thaw_f32v_store(y + j, blend);
  }
  if (j < n) {
    const thaw_f32v blend = thaw_f32v_fmadd(
        upper_weights, thaw_f32v_load_partial(upper + j, n - j),
        thaw_f32v_mul(lower_weights, thaw_f32v_load_partial(lower + j, n - j)));
    thaw_f32v_store_partial(y + j, n - j, blend);
  }
}

/* Input row `row` of the plane blended along the width, from the cache or into the slot that
 * does not hold `keep_row` (the other row the caller needs now). */
static inline const float *thaw_resize_cached_row(thaw_resize_row_cache *cache,
                                                  const thaw_resize_columns *columns,
                                                  const float *x_plane, size_t in_width,
                                                  size_t row, size_t keep_row) {
  for (size_t slot = 0; slot < 2; slot++)
    if (cache->source_row[slot] == row) return cache->values[slot];
  const size_t slot = cache->source_row[0] == keep_row ? 1 : 0;
  thaw_resize_linear_row(columns, x_plane + row * in_width, cache->values[slot]);
  cache->source_row[slot] = row;
  return cache->values[slot];
}

/* Whether this driver handles p: every axis before the last two maps each index to itself
 * (the executor merges N and C of an NCHW resize into one such axis), and an input row's
 * columns fit the int32 gather indices. The rest goes to the scalar reference. */
static inline bool thaw_resize_rows_apply(const thaw_resize_params *p) {
  if (p->rank == 0 || p->in_shape[p->rank - 1] > INT32_MAX) return false;
  for (uint32_t d = 0; d + 2 < p->rank; d++)
    if (p->in_shape[d] != p->out_shape[d] || (p->in_shape[d] != 1 && p->scales[d] != 1.0f))
      return false;
  return true;
}

static inline void thaw_f32_resize_drive(const thaw_resize_params *p, const float *x, float *y) {
  if (!thaw_resize_rows_apply(p)) {
    thaw_f32_resize__scalar(p, x, y);
    return;
  }
  const uint32_t rank = p->rank;
  const bool has_rows = rank >= 2;
  size_t planes = 1;
  for (uint32_t d = 0; d + 2 < rank; d++) planes *= p->out_shape[d];
  const size_t in_height = has_rows ? p->in_shape[rank - 2] : 1;
  const size_t out_height = has_rows ? p->out_shape[rank - 2] : 1;
  const size_t in_width = p->in_shape[rank - 1], out_width = p->out_shape[rank - 1];
  thaw_resize_columns columns;
  thaw_resize_row_cache cache;
  for (size_t first = 0; first < out_width; first += THAW_RESIZE_COLUMN_BLOCK) {
    const size_t count = out_width - first < THAW_RESIZE_COLUMN_BLOCK ? out_width - first
                                                                      : THAW_RESIZE_COLUMN_BLOCK;
    thaw_resize_tabulate_columns(p, first, count, &columns);
    for (size_t plane = 0; plane < planes; plane++) {
      const float *x_plane = x + plane * in_height * in_width;
      float *y_plane = y + plane * out_height * out_width + first;
      cache.source_row[0] = cache.source_row[1] = SIZE_MAX;
      thaw_resize_sample previous = {SIZE_MAX, SIZE_MAX, 0.0f};
      for (size_t oh = 0; oh < out_height; oh++) {
        const thaw_resize_sample sample = has_rows ? thaw_resize_sample_axis(p, rank - 2, oh)
                                                   : (thaw_resize_sample){0, 0, 0.0f};
        float *y_row = y_plane + oh * out_width;
        if (sample.lower == previous.lower && sample.upper == previous.upper &&
            sample.upper_weight == previous.upper_weight) {
          memcpy(y_row, y_row - out_width, count * sizeof(float));
          continue;
        }
        previous = sample;
        const float *x_row = x_plane + sample.lower * in_width;
        if (thaw_resize_is_nearest(p)) {
          thaw_resize_nearest_row(&columns, x_row, y_row);
        } else if (sample.upper_weight == 0.0f) {
          thaw_resize_linear_row(&columns, x_row, y_row);
        } else {
          const float *lower = thaw_resize_cached_row(&cache, &columns, x_plane, in_width,
                                                      sample.lower, SIZE_MAX);
          const float *upper = thaw_resize_cached_row(&cache, &columns, x_plane, in_width,
                                                      sample.upper, sample.lower);
          thaw_resize_blend_rows(count, lower, 1.0f - sample.upper_weight, upper,
                                 sample.upper_weight, y_row);
        }
      }
    }
  }
}

#endif /* THAW_KERNELS_DATA_F32_RESIZE_DRIVER_H */
