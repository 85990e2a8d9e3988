#include <stdint.h>
#include <string.h>

#include "kernels/conv/conv-driver.h"

enum { LANES = THAW_GEMM_NR };
/* The padded rows end with LANES spare floats: enough for either reader. */
_Static_assert(THAW_IGEMM_NR <= LANES, "an implicit-GEMM tile reads past the padded rows");

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* A padded row holds the columns the output row's taps reach, from input column -pad_left on,
 * split by phase: stride_w phases of phase_width floats, phase q holding columns q,
 * q + stride_w, q + 2 stride_w... So the values a tap reads for consecutive output columns are
 * consecutive floats whatever the stride, and each panel row is one plain copy. */
typedef struct padded_layout {
  size_t phase_width, row_floats, height; /* height: rows per channel */
} padded_layout;

/* The padded columns are overflow-checked by thaw_f32_im2col_padded_size. */
static padded_layout layout_of(const thaw_conv2d_params *p, size_t out_rows) {
  const size_t columns =
      (p->out_width - 1) * p->stride_w + (p->kernel_width - 1) * p->dilation_w + 1;
  const size_t phase_width = (columns + p->stride_w - 1) / p->stride_w;
  const size_t height =
      (out_rows - 1) * p->stride_h + (p->kernel_height - 1) * p->dilation_h + 1;
  return (padded_layout){phase_width, phase_width * p->stride_w, height};
}

size_t thaw_f32_im2col_padded_size(const thaw_conv2d_params *p, size_t out_rows) {
  size_t columns, height, floats;
  /* A panel row's copy reads LANES floats from a run's first value however short the run
   * (see gather_panel): past the last row, that many are read too. */
  if (__builtin_mul_overflow(p->out_width - 1, p->stride_w, &columns) ||
      __builtin_mul_overflow(p->kernel_width - 1, p->dilation_w, &floats) ||
      __builtin_add_overflow(columns, floats, &columns) ||
      __builtin_add_overflow(columns, p->stride_w, &columns) ||
      __builtin_mul_overflow(out_rows - 1, p->stride_h, &height) ||
      __builtin_mul_overflow(p->kernel_height - 1, p->dilation_h, &floats) ||
      __builtin_add_overflow(height, floats, &height) ||
      __builtin_add_overflow(height, 1, &height) ||
      __builtin_mul_overflow(columns, height, &floats) ||
      __builtin_mul_overflow(floats, p->in_channels / p->groups, &floats) ||
      __builtin_add_overflow(floats, LANES, &floats) ||
      __builtin_mul_overflow(floats, sizeof(float), &floats))
    return SIZE_MAX;
  return floats;
}

static ptrdiff_t ceil_div(ptrdiff_t numerator, ptrdiff_t denominator) {
  return numerator <= 0 ? 0 : (numerator + denominator - 1) / denominator;
}

static size_t clamp_size(ptrdiff_t value, size_t low, size_t high) {
  if (value < (ptrdiff_t)low) return low;
  if (value > (ptrdiff_t)high) return high;
  return (size_t)value;
}

void thaw_f32_im2col_pad(const thaw_conv2d_params *p, const float *x_group, size_t first_out_row,
                         size_t out_rows, size_t first_channel, size_t channel_count,
                         float *padded) {
  const padded_layout layout = layout_of(p, out_rows);
  const size_t stride_w = p->stride_w;
  const ptrdiff_t first_input_row =
      (ptrdiff_t)(first_out_row * p->stride_h) - (ptrdiff_t)p->pad_top;
  for (size_t c = first_channel; c < first_channel + channel_count; c++) {
    const float *x_channel = x_group + c * p->in_height * p->in_width;
    float *row = padded + c * layout.height * layout.row_floats;
    for (size_t r = 0; r < layout.height; r++, row += layout.row_floats) {
      const ptrdiff_t ih = first_input_row + (ptrdiff_t)r;
      if (ih < 0 || ih >= (ptrdiff_t)p->in_height) {
        memset(row, 0, layout.row_floats * sizeof(float));
        continue;
      }
      const float *x_row = x_channel + (size_t)ih * p->in_width;
      for (size_t q = 0; q < stride_w; q++) {
        /* Position i of phase q is input column q + i * stride_w - pad_left. */
        float *phase = row + q * layout.phase_width;
        const ptrdiff_t first_column = (ptrdiff_t)q - (ptrdiff_t)p->pad_left;
        const size_t begin =
            clamp_size(ceil_div(-first_column, (ptrdiff_t)stride_w), 0, layout.phase_width);
        const size_t end = clamp_size(
            ceil_div((ptrdiff_t)p->in_width - first_column, (ptrdiff_t)stride_w), begin,
            layout.phase_width);
        memset(phase, 0, begin * sizeof(float));
        if (end > begin) {
          const float *source = x_row + (first_column + (ptrdiff_t)(begin * stride_w));
          if (stride_w == 1) {
            memcpy(phase + begin, source, (end - begin) * sizeof(float));
          } else if (stride_w == 2) {
            /* A constant stride, which the compiler turns into vector loads and shuffles: the
             * stems that read a large image are mostly stride 2. */
            for (size_t i = begin; i < end; i++) phase[i] = source[(i - begin) * 2];
          } else {
            for (size_t i = begin; i < end; i++) phase[i] = source[(i - begin) * stride_w];
          }
        }
        memset(phase + end, 0, (layout.phase_width - end) * sizeof(float));
      }
    }
  }
  if (first_channel + channel_count == p->in_channels / p->groups)
    memset(padded + p->in_channels / p->groups * layout.height * layout.row_floats, 0,
           LANES * sizeof(float));
}

/* Lanes [lane, lane + count) of a panel hold consecutive pixels of one output row, whose tap
 * (0, 0) is `offset` floats into a padded channel. */
typedef struct lane_run {
  size_t lane, count, offset;
} lane_run;

/* The k rows of one panel, row (c, kh, kw) after row (c, kh, kw - 1). Each run of a row but
 * the panel's last is copied as all LANES lanes from the run's first lane on: the values past
 * the run spill into the lanes of later runs and into the next row, both written afterwards,
 * and the copy keeps one fixed size, a few vector moves. */
static void gather_panel(const thaw_conv2d_params *p, const float *padded,
                         const padded_layout *layout, const lane_run *runs, size_t run_count,
                         float *panel) {
  const size_t group_in = p->in_channels / p->groups;
  /* Tap kw reads padded column kw * dilation_w: phase and position within it, stepped. */
  const size_t phase_step = p->dilation_w % p->stride_w;
  const size_t position_step = p->dilation_w / p->stride_w;
  size_t rows_left = group_in * p->kernel_height * p->kernel_width;
  float *row = panel;
  for (size_t c = 0; c < group_in; c++) {
    const float *channel = padded + c * layout->height * layout->row_floats;
    for (size_t kh = 0; kh < p->kernel_height; kh++) {
      const float *tap_row = channel + kh * p->dilation_h * layout->row_floats;
      size_t phase = 0, position = 0;
      for (size_t kw = 0; kw < p->kernel_width; kw++, row += LANES) {
        const float *tap = tap_row + phase * layout->phase_width + position;
        if (--rows_left == 0) {
          for (size_t i = 0; i < run_count; i++)
            memcpy(row + runs[i].lane, tap + runs[i].offset, runs[i].count * sizeof(float));
        } else {
          for (size_t i = 0; i < run_count; i++)
            memcpy(row + runs[i].lane, tap + runs[i].offset, LANES * sizeof(float));
        }
        phase += phase_step;
        position += position_step;
        if (phase >= p->stride_w) phase -= p->stride_w, position++;
      }
    }
  }
}

/* A panel's pixels are cut into runs along output rows once; every one of its k rows then
 * copies the same runs from its own tap, with no bounds test: the padding is in the copy. */
void thaw_f32_im2col(const thaw_conv2d_params *p, const float *padded, size_t first_out_row,
                     size_t out_rows, size_t first_pixel, size_t pixel_count, float *columns) {
  const padded_layout layout = layout_of(p, out_rows);
  const size_t k = p->in_channels / p->groups * p->kernel_height * p->kernel_width;
  size_t oh = first_pixel / p->out_width, ow = first_pixel % p->out_width;
  float *panel = columns;
  for (size_t done = 0; done < pixel_count; done += LANES, panel += k * LANES) {
    lane_run runs[LANES];
    size_t run_count = 0;
    for (size_t lane = 0, lanes = min_size(LANES, pixel_count - done); lane < lanes;) {
      const size_t count = min_size(p->out_width - ow, lanes - lane);
      runs[run_count++] =
          (lane_run){lane, count, (oh - first_out_row) * p->stride_h * layout.row_floats + ow};
      lane += count;
      ow += count;
      if (ow == p->out_width) ow = 0, oh++;
    }
    gather_panel(p, padded, &layout, runs, run_count, panel);
  }
  /* The last panel's lanes past the pixels are zero, as the packed layout requires. */
  const size_t used = pixel_count % LANES;
  if (used == 0) return;
  float *last = columns + pixel_count / LANES * k * LANES;
  for (size_t row = 0; row < k; row++)
    memset(last + row * LANES + used, 0, (LANES - used) * sizeof(float));
}

size_t thaw_f32_im2col_taps(const thaw_conv2d_params *p, size_t out_rows,
                            ptrdiff_t *tap_offsets) {
  const padded_layout layout = layout_of(p, out_rows);
  ptrdiff_t *offset = tap_offsets;
  for (size_t c = 0; c < p->in_channels / p->groups; c++) {
    for (size_t kh = 0; kh < p->kernel_height; kh++) {
      const size_t row = (c * layout.height + kh * p->dilation_h) * layout.row_floats;
      for (size_t kw = 0; kw < p->kernel_width; kw++) {
        const size_t column = kw * p->dilation_w;
        *offset++ = (ptrdiff_t)(row + column % p->stride_w * layout.phase_width +
                                column / p->stride_w);
      }
    }
  }
  return p->stride_h * layout.row_floats;
}
