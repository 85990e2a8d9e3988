/*
 * The pooling driver, one source for every vector ISA: the walk over output rows, which
 * computes a vector of outputs at once wherever their whole windows lie inside the input and
 * leaves the outputs near the borders to a per-output path with bounds checks, for max and
 * average pools alike; and the global average pool. An ISA's pool files include its f32 vector
 * interface and its f32-pool2d-<isa>.h (column loads, a NaN-keeping running maximum), then this
 * header, and bind thaw_f32_pool2d_drive.
 *
 * Compiled per ISA: the window loop's load and maximum or sum are a few instructions per tap.
 */
#ifndef THAW_KERNELS_POOL_F32_POOL2D_DRIVER_H
#define THAW_KERNELS_POOL_F32_POOL2D_DRIVER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

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
  return kind == THAW_POOL_MAX ? thaw_pool_maximum_result(&maximum) : sum;
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

/* A vector step's windows lie inside the input, so all their kernel_width columns count and
 * the average's divisor is the row's. A row's last outputs, fewer than a vector, are one vector
 * step that ends at the row's end and recomputes a few outputs already written (the same values
 * again, from the same taps in the same order) when that step's windows fit; otherwise they,
 * like the outputs whose windows cross the left padding, go one by one. */
static inline __attribute__((always_inline)) void
thaw_f32_pool2d_drive(thaw_pool_kind kind, const thaw_pool2d_params *p, const float *x, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  const thaw_pool_columns columns = thaw_pool_columns_for(p->stride_w);
  const size_t last_step = p->out_width >= lanes ? p->out_width - lanes : 0;
  const bool last_step_fits =
      p->out_width >= lanes && thaw_pool_vector_step_fits(p, &columns, last_step);
  for (size_t plane = 0; plane < p->batch_channels; plane++) {
    const float *x_plane = x + plane * p->in_height * p->in_width;
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const ptrdiff_t ih_origin = (ptrdiff_t)(oh * p->stride_h) - (ptrdiff_t)p->pad_top;
      const thaw_pool_tap_range rows =
          thaw_pool_taps_inside(ih_origin, p->kernel_height, p->dilation_h, p->in_height);
      const size_t rows_counted =
          kind == THAW_POOL_AVERAGE
              ? thaw_pool_counted_taps(p, ih_origin, p->kernel_height, p->dilation_h,
                                       p->in_height, p->pad_top, p->pad_bottom)
              : 0;
      const thaw_f32v row_scale = thaw_f32v_dup(1.0f / (float)(rows_counted * p->kernel_width));
      float *y_row = y + (plane * p->out_height + oh) * p->out_width;
      for (size_t ow = 0; ow < p->out_width;) {
        size_t step = ow;
        if (!thaw_pool_vector_step_fits(p, &columns, ow)) {
          if (!last_step_fits || ow <= last_step) {
            const ptrdiff_t iw_origin = (ptrdiff_t)(ow * p->stride_w) - (ptrdiff_t)p->pad_left;
            float output = thaw_pool_border_step(kind, p, x_plane, rows, ih_origin, iw_origin);
            if (kind == THAW_POOL_AVERAGE)
              output /= (float)(rows_counted *
                                thaw_pool_counted_taps(p, iw_origin, p->kernel_width,
                                                       p->dilation_w, p->in_width, p->pad_left,
                                                       p->pad_right));
            y_row[ow++] = output;
            continue;
          }
          step = last_step;
        }
        const thaw_f32v output =
            thaw_pool_vector_step(kind, p, x_plane, rows, ih_origin, step, &columns);
        thaw_f32v_store(y_row + step,
                        kind == THAW_POOL_AVERAGE ? thaw_f32v_mul(output, row_scale) : output);
        ow = step + lanes;
      }
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
