/*
 * The pooling driver, one source for every vector ISA: for max pools, a separable walk (column
 * maxima over a window's rows, then a slide along them); for average pools and the max pool
 * rows that walk leaves, a walk over output windows, which computes a vector of outputs at once
 * wherever their whole windows lie inside the input and leaves the outputs near the borders to
 * a per-output path with bounds checks; and the global average pool. An ISA's pool files
 * include its f32 vector interface and its f32-pool2d-<isa>.h (column loads, a NaN-keeping
 * running maximum, a NaN watch), then this header, and bind thaw_f32_pool2d_drive.
 *
 * Compiled per ISA: the window loop's load and maximum or sum are a few instructions per tap.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_DRIVER_H
#define THAW_KERNELS_POOL_F32_POOL2D_DRIVER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "kernels/kernels.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/pool/f32-pool2d-<isa>.h before this driver"
#endif

typedef enum thaw_pool_kind {
  THAW_POOL_MAX,
  THAW_POOL_AVERAGE,
} thaw_pool_kind;

/* Taps [begin, end) of a window. */
typedef struct thaw_pool_tap_range {
  size_t begin, end;
} thaw_pool_tap_range;

/* The taps of a window starting at `origin`, stepping by `dilation`, that land in [0, limit):
 * the ones that read real input. */
static inline thaw_pool_tap_range thaw_pool_taps_inside(ptrdiff_t origin, size_t taps,
                                                        size_t dilation, size_t limit) {
  thaw_pool_tap_range range = {0, taps};
  /* Most windows lie inside. */
  if (origin >= 0 && origin + (ptrdiff_t)((taps - 1) * dilation) < (ptrdiff_t)limit)
    return range;
  while (range.begin < taps && origin + (ptrdiff_t)(range.begin * dilation) < 0) range.begin++;
  while (range.end > range.begin &&
         origin + (ptrdiff_t)((range.end - 1) * dilation) >= (ptrdiff_t)limit)
    range.end--;
  return range;
}

/* The average's divisor, rows or columns: real taps, or with count_include_pad the taps inside
 * the padded input (never the overhang past it that a ceil_mode output size creates). */
static inline size_t thaw_pool_counted_taps(const thaw_pool2d_params *p, ptrdiff_t origin,
                                            size_t taps, size_t dilation, size_t extent,
                                            size_t pad_begin, size_t pad_end) {
  const thaw_pool_tap_range counted =
      p->count_include_pad ? thaw_pool_taps_inside(origin + (ptrdiff_t)pad_begin, taps, dilation,
                                                   extent + pad_begin + pad_end)
                           : thaw_pool_taps_inside(origin, taps, dilation, extent);
  return counted.end - counted.begin;
}

/* Whether outputs [ow, ow + lanes) of a row can be one vector step: the stride loads, and
 * every column their windows read, the loads' overread included, is inside the input. */
static inline bool thaw_pool_vector_step_fits(const thaw_pool2d_params *p,
                                              const thaw_pool_columns *columns, size_t ow) {
  const size_t lanes = THAW_F32V_LANES;
  if (!columns->loadable || ow + lanes > p->out_width || ow * p->stride_w < p->pad_left)
    return false;
  const size_t reach = (p->kernel_width - 1) * p->dilation_w + columns->overread;
  return (ow + lanes - 1) * p->stride_w + reach < p->in_width + p->pad_left;
}

/* The maximum or the sum of the windows of outputs [ow, ow + lanes), a step that
 * thaw_pool_vector_step_fits, over the window rows inside the input. */
static inline __attribute__((always_inline)) thaw_f32v
thaw_pool_vector_step(thaw_pool_kind kind, const thaw_pool2d_params *p, const float *x_plane,
                      thaw_pool_tap_range rows, ptrdiff_t ih_origin, size_t ow,
                      const thaw_pool_columns *columns) {
  const float *window = x_plane + (ow * p->stride_w - p->pad_left);
  thaw_pool_maximum maximum = thaw_pool_maximum_start();
  thaw_f32v sum = thaw_f32v_zero();
  for (size_t kh = rows.begin; kh < rows.end; kh++) {
    const float *x_row =
        window + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      const thaw_f32v value = thaw_pool_load_columns(x_row + kw * p->dilation_w, columns);
      if (kind == THAW_POOL_MAX)
        thaw_pool_maximum_add(&maximum, value);
      else
        sum = thaw_f32v_add(sum, value);
    }
  }
  return thaw_pool_columns_in_order(
      kind == THAW_POOL_MAX ? thaw_pool_maximum_result(&maximum) : sum, columns);
}

/* The same for one output near a border: taps outside the input are skipped, a NaN tap wins
 * the maximum. */
static inline __attribute__((always_inline)) float
thaw_pool_border_step(thaw_pool_kind kind, const thaw_pool2d_params *p, const float *x_plane,
                      thaw_pool_tap_range rows, ptrdiff_t ih_origin, ptrdiff_t iw_origin) {
  float maximum = -INFINITY, sum = 0.0f;
  for (size_t kh = rows.begin; kh < rows.end; kh++) {
    const float *x_row =
        x_plane + (size_t)(ih_origin + (ptrdiff_t)(kh * p->dilation_h)) * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      const ptrdiff_t iw = iw_origin + (ptrdiff_t)(kw * p->dilation_w);
      if (iw < 0 || iw >= (ptrdiff_t)p->in_width) continue;
      if (kind == THAW_POOL_AVERAGE)
        sum += x_row[iw];
      else if (x_row[iw] > maximum || isnan(x_row[iw]))
        maximum = x_row[iw];
    }
  }
  return kind == THAW_POOL_MAX ? maximum : sum;
}

/* One output row, window by window: a vector step wherever the windows lie inside the input, so
 * all their kernel_width columns count and the average's divisor is the row's. The row's last
 * outputs, fewer than a vector, are one vector step that ends at the row's end and recomputes a
 * few outputs already written (the same values again, from the same taps in the same order)
 * when that step's windows fit; otherwise they, like the outputs whose windows cross the left
 * padding, go one by one. */
static inline __attribute__((always_inline)) void
thaw_pool_windows_row(thaw_pool_kind kind, const thaw_pool2d_params *p,
                      const thaw_pool_columns *columns, const float *x_plane, size_t oh,
                      float *y_row) {
  const size_t lanes = THAW_F32V_LANES;
  const size_t last_step = p->out_width >= lanes ? p->out_width - lanes : 0;
  const bool last_step_fits =
      p->out_width >= lanes && thaw_pool_vector_step_fits(p, columns, last_step);
  const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
  const thaw_pool_tap_range rows =
      thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
  const size_t rows_counted =
      kind == THAW_POOL_AVERAGE ? thaw_pool_counted_taps(p, ih_origin, p->kernel_height,
                                                         p->dilation_h, p->in_height, p->pad_top,
                                                         p->pad_bottom)
                                : 0;
  const thaw_f32v row_scale = thaw_f32v_dup(1.0f / (float)(rows_counted * p->kernel_width));
  for (size_t ow = 0; ow < p->out_width;) {
    size_t step = ow;
    if (!thaw_pool_vector_step_fits(p, columns, ow)) {
      if (!last_step_fits || ow <= last_step) {
        const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
        float output = thaw_pool_border_step(kind, p, x_plane, rows, ih_origin, iw_origin);
        if (kind == THAW_POOL_AVERAGE)
          output /= (float)(rows_counted * thaw_pool_counted_taps(p, iw_origin, p->kernel_width,
                                                                  p->dilation_w, p->in_width,
                                                                  p->pad_left, p->pad_right));
        y_row[ow++] = output;
        continue;
      }
      step = last_step;
    }
    const thaw_f32v output =
        thaw_pool_vector_step(kind, p, x_plane, rows, ih_origin, step, columns);
    thaw_f32v_store(y_row + step,
                    kind == THAW_POOL_AVERAGE ? thaw_f32v_mul(output, row_scale) : output);
    ow = step + lanes;
  }
}

/* A max pool is separable: the maximum of a window is the maximum over its columns of each
 * column's maximum over the window's rows. An output row first reduces its window rows into a
 * row of column maxima, then slides the window along that row, which costs about kernel_height
 * + kernel_width maxima per output instead of their product and reads the input in whole
 * vectors. The column row lives on the stack and holds the row's padded columns, with -inf in
 * the padding and past the input (taps there never win), so every output is a vector step;
 * a row too wide for it is cut into chunks of outputs. */
enum { THAW_POOL_COLUMN_MAXIMA = 1024 };

/* Outputs per chunk, a whole number of vectors, whose window columns (and the column loads'
 * overread) fit in THAW_POOL_COLUMN_MAXIMA; 0 where not even one vector's do. */
static inline size_t thaw_pool_separable_chunk(const thaw_pool2d_params *p,
                                               const thaw_pool_columns *columns) {
  const size_t lanes = THAW_F32V_LANES;
  if (!columns->loadable || p->kernel_width - 1 > THAW_POOL_COLUMN_MAXIMA / p->dilation_w)
    return 0;
  const size_t window_columns = (p->kernel_width - 1) * p->dilation_w + 1 + columns->overread;
  if (window_columns > THAW_POOL_COLUMN_MAXIMA) return 0;
  const size_t outputs = ((THAW_POOL_COLUMN_MAXIMA - window_columns) / p->stride_w + 1);
  return outputs / lanes * lanes;
}

/* The column maxima of one vector of columns over row_count rows, row_step floats apart: the
 * rows fold from the last one up into thaw_f32v_max(row, maximum). Every row is watched for
 * NaN, two at a time: the fold may drop one, and so may the slide along the column maxima. */
static inline __attribute__((always_inline)) void
thaw_pool_column_maxima_vector(const float *x_column, size_t row_step, size_t row_count,
                               float *maxima, thaw_f32v *nan_watch) {
  const thaw_f32v last = thaw_f32v_load(x_column + (row_count - 1) * row_step);
  thaw_f32v maximum = last;
  size_t row = row_count - 1;
  for (; row >= 2; row -= 2) {
    const thaw_f32v lower = thaw_f32v_load(x_column + (row - 1) * row_step);
    const thaw_f32v upper = thaw_f32v_load(x_column + (row - 2) * row_step);
    maximum = thaw_f32v_max(upper, thaw_f32v_max(lower, maximum));
    *nan_watch = thaw_pool_watch_nan(*nan_watch, lower, upper);
  }
  if (row == 1) {
    const thaw_f32v upper = thaw_f32v_load(x_column);
    maximum = thaw_f32v_max(upper, maximum);
    *nan_watch = thaw_pool_watch_nan(*nan_watch, upper, last);
  } else {
    *nan_watch = thaw_pool_watch_nan(*nan_watch, last, last);
  }
  thaw_f32v_store(maxima, maximum);
}

/* Column maxima of columns [0, count) from x_top, all inside the input. The last columns,
 * fewer than a vector, are one vector that ends at the last column and recomputes a few
 * maxima; only a row narrower than a vector goes column by column. True when no input read is
 * NaN. */
static inline __attribute__((always_inline)) bool
thaw_pool_column_maxima(const float *x_top, size_t row_step, size_t row_count, size_t count,
                        float *maxima) {
  const size_t lanes = THAW_F32V_LANES;
  thaw_f32v nan_watch = thaw_f32v_zero();
  if (count >= lanes) {
    for (size_t i = 0; i + lanes < count; i += lanes)
      thaw_pool_column_maxima_vector(x_top + i, row_step, row_count, maxima + i, &nan_watch);
    thaw_pool_column_maxima_vector(x_top + count - lanes, row_step, row_count,
                                   maxima + count - lanes, &nan_watch);
  }
  bool nan_seen = false;
  for (size_t i = 0; i < count && count < lanes; i++) {
    float maximum = -INFINITY;
    for (size_t row = 0; row < row_count; row++) {
      const float value = x_top[i + row * row_step];
      nan_seen |= isnan(value);
      maximum = value > maximum ? value : maximum;
    }
    maxima[i] = maximum;
  }
  return !nan_seen && !thaw_pool_nan_seen(nan_watch);
}

/* Outputs [ow_first, ow_first + outputs) of a row: the window slides along its column maxima,
 * whose every column the steps read is set. The last outputs, fewer than a vector, are one step
 * that ends at the last output and rewrites a few (a masked store is slow on some cores); only
 * a chunk narrower than a vector goes through a copy. Inlined per stride, so that the column
 * loads compile for a known one, and for the common window. */
static inline __attribute__((always_inline)) void
thaw_pool_slide_max(thaw_pool_columns columns, size_t kernel_width, size_t dilation,
                    const float *maxima, size_t ow_first, size_t outputs, float *y_row) {
  const size_t lanes = THAW_F32V_LANES;
  for (size_t next = 0; next < outputs; next += lanes) {
    const size_t step = next + lanes <= outputs || outputs < lanes ? next : outputs - lanes;
    const float *window = maxima + step * columns.stride;
    thaw_f32v maximum = thaw_pool_load_columns(window, &columns);
    for (size_t kw = 1; kw < kernel_width; kw++)
      maximum = thaw_f32v_max(thaw_pool_load_columns(window + kw * dilation, &columns), maximum);
    maximum = thaw_pool_columns_in_order(maximum, &columns);
    if (outputs >= lanes) {
      thaw_f32v_store(y_row + ow_first + step, maximum);
    } else {
      float narrow[THAW_F32V_LANES];
      thaw_f32v_store(narrow, maximum);
      memcpy(y_row + ow_first, narrow, outputs * sizeof(float));
    }
  }
}

/* A chunk of outputs of a row, [ow_first, ow_first + outputs), and the columns its steps read
 * (the column loads' overread included): `span` columns from input column `origin`, those in
 * [inside_first, inside_end) of them inside the input. The same for every row of every plane. */
typedef struct thaw_pool_chunk {
  size_t ow_first, outputs;
  ptrdiff_t origin;
  size_t span, inside_first, inside_end;
} thaw_pool_chunk;

static inline thaw_pool_chunk thaw_pool_chunk_at(const thaw_pool2d_params *p,
                                                 const thaw_pool_columns *columns, size_t chunk,
                                                 size_t ow_first) {
  const size_t lanes = THAW_F32V_LANES;
  const size_t outputs = p->out_width - ow_first < chunk ? p->out_width - ow_first : chunk;
  const size_t span = ((outputs > lanes ? outputs : lanes) - 1) * p->stride_w +
                      (p->kernel_width - 1) * p->dilation_w + 1 + columns->overread;
  const ptrdiff_t origin = (ptrdiff_t)(ow_first * p->stride_w) - (ptrdiff_t)p->pad_left;
  const ptrdiff_t right_of_input = (ptrdiff_t)p->in_width - origin;
  return (thaw_pool_chunk){
      .ow_first = ow_first,
      .outputs = outputs,
      .origin = origin,
      .span = span,
      .inside_first = origin < 0 ? (size_t)-origin : 0,
      .inside_end = right_of_input <= 0                ? 0
                    : (size_t)right_of_input < span ? (size_t)right_of_input
                                                     : span,
  };
}

/* The column maxima of a chunk (one that reaches the input) in the columns outside the input:
 * -inf, which no tap beats. */
static inline void thaw_pool_fill_outside(const thaw_pool_chunk *c, float *maxima) {
  for (size_t i = 0; i < c->inside_first; i++) maxima[i] = -INFINITY;
  for (size_t i = c->inside_end; i < c->span; i++) maxima[i] = -INFINITY;
}

/* Output row oh by the separable maximum, through the column maxima row `maxima`, its first
 * chunk `first`. A row of one chunk finds the columns outside the input already filled (they
 * are the same for every row); a wider one fills them chunk by chunk. Windows that read no
 * input (padding wider than the window, or a ceil_mode overhang) are -inf. False, with the
 * row partly written, when an input it reads is NaN, which the plain maxima may have
 * dropped. */
static inline __attribute__((always_inline)) bool
thaw_pool_separable_max_row(const thaw_pool2d_params *p, const thaw_pool_columns *columns,
                            size_t chunk, const thaw_pool_chunk *first, float *maxima,
                            const float *x_plane, size_t oh, float *y_row) {
  const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
  const thaw_pool_tap_range rows =
      thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
  for (size_t ow_first = 0; ow_first < p->out_width; ow_first += chunk) {
    const thaw_pool_chunk c =
        ow_first == 0 ? *first : thaw_pool_chunk_at(p, columns, chunk, ow_first);
    if (rows.begin == rows.end || c.inside_first >= c.inside_end) {
      for (size_t i = 0; i < c.outputs; i++) y_row[c.ow_first + i] = -INFINITY;
      continue;
    }
    if (c.outputs != p->out_width) thaw_pool_fill_outside(&c, maxima);
    const size_t top_row = (size_t)(ih_origin + (ptrdiff_t)(rows.begin * p->dilation_h));
    const float *x_top =
        x_plane + top_row * p->in_width + (size_t)(c.origin + (ptrdiff_t)c.inside_first);
    const size_t row_step = p->dilation_h * p->in_width, row_count = rows.end - rows.begin;
    const size_t count = c.inside_end - c.inside_first;
    /* The common 3-row window compiles with its fold unrolled. */
    const bool no_nan =
        row_count == 3
            ? thaw_pool_column_maxima(x_top, row_step, 3, count, maxima + c.inside_first)
            : thaw_pool_column_maxima(x_top, row_step, row_count, count,
                                      maxima + c.inside_first);
    if (!no_nan) return false;
    /* The common 3-wide stride-2 window compiles unrolled. */
    if (columns->stride == 2 && p->kernel_width == 3 && p->dilation_w == 1)
      thaw_pool_slide_max(thaw_pool_columns_for(2), 3, 1, maxima, c.ow_first, c.outputs, y_row);
    else if (columns->stride == 1)
      thaw_pool_slide_max(thaw_pool_columns_for(1), p->kernel_width, p->dilation_w, maxima,
                          c.ow_first, c.outputs, y_row);
    else if (columns->stride == 2)
      thaw_pool_slide_max(thaw_pool_columns_for(2), p->kernel_width, p->dilation_w, maxima,
                          c.ow_first, c.outputs, y_row);
    else
      thaw_pool_slide_max(*columns, p->kernel_width, p->dilation_w, maxima, c.ow_first,
                          c.outputs, y_row);
  }
  return true;
}

/* Max pools take the separable path row by row, falling back to the window path on a row whose
 * inputs hold a NaN (rare, and the window path keeps every NaN) or a geometry too wide for the
 * column row; average pools take the window path. */
static inline __attribute__((always_inline)) void
thaw_f32_pool2d_drive(thaw_pool_kind kind, const thaw_pool2d_params *p, const float *x, float *y) {
  const thaw_pool_columns columns = thaw_pool_columns_for(p->stride_w);
  const size_t chunk = kind == THAW_POOL_MAX ? thaw_pool_separable_chunk(p, &columns) : 0;
  const thaw_pool_chunk first = chunk != 0 ? thaw_pool_chunk_at(p, &columns, chunk, 0)
                                           : (thaw_pool_chunk){0, 0, 0, 0, 0, 0};
  float maxima[THAW_POOL_COLUMN_MAXIMA];
  if (chunk != 0 && first.outputs == p->out_width && first.inside_first < first.inside_end)
    thaw_pool_fill_outside(&first, maxima);
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      float *y_row = y + (plane * p->out_height + oh) * p->out_width;
      if (chunk == 0 ||
          !thaw_pool_separable_max_row(p, &columns, chunk, &first, maxima, x_plane, oh, y_row))
        thaw_pool_windows_row(kind, p, &columns, x_plane, oh, y_row);
    }
  }
}

/* Each channel's plane is one contiguous row: its mean is the row sum (in as many lanes as the
 * vector interface sums with, nothing past the plane read) times 1/spatial. */
static inline void thaw_f32_global_average_pool_drive(size_t channels, size_t spatial,
                                                      const float *x, float *y) {
  const float scale = 1.0f / (float)spatial;
  for (size_t c = 0; c < channels; c++) y[c] = thaw_f32v_row_sum(spatial, x + c * spatial) * scale;
}

#endif /* THAW_KERNELS_POOL_F32_POOL2D_DRIVER_H */
