/*
 * ConvTranspose as a gather, one source for every vector ISA: an ISA's
 * f32-conv-transpose2d-<isa>.c includes its f32 vector interface (kernels/math/f32-vector-
 * <isa>.h), then this header, and binds thaw_f32_conv_transpose2d_drive to its activation.
 *
 * Output column ow is reached through tap kw from input column (ow + pad_left - kw*dilation_w) /
 * stride_w when that division is exact, so the outputs of one column phase (ow = phase +
 * stride_w*j) all see the same taps, and a vector of consecutive j of a phase reads as many
 * consecutive input columns: one vector load per tap and input channel. Four output channels
 * are computed together, so each load feeds four independent FMA chains. Accumulating in
 * registers over every input channel and tap, each output is written once.
 */
#ifndef THAW_KERNELS_CONV_F32_CONV_TRANSPOSE2D_DRIVER_H
#define THAW_KERNELS_CONV_F32_CONV_TRANSPOSE2D_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/elementwise/unary-clamp.h"
#include "kernels/kernels.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* An ISA's f32_unary, which may run in place. */
typedef void (*thaw_f32_unary_fn)(const thaw_unary_params *p, size_t n, const float *x, float *y);

enum { CHANNEL_BLOCK = 4, STEP = THAW_F32V_LANES };

/* a / b rounded towards minus infinity, for b > 0; *exact tells whether b divides a. */
static inline ptrdiff_t floor_divide(ptrdiff_t a, ptrdiff_t b, bool *exact) {
  const ptrdiff_t remainder = a % b;
  *exact = remainder == 0;
  return a / b - (remainder < 0);
}

/* The input row that reaches output row oh through tap kh, if there is one. */
static inline bool input_row_of(const thaw_conv2d_params *p, size_t oh, size_t kh, size_t *ih) {
  bool exact;
  const ptrdiff_t row =
      floor_divide((ptrdiff_t)(oh + p->pad_top) - (ptrdiff_t)(kh * p->dilation_h),
                   (ptrdiff_t)p->stride_h, &exact);
  if (!exact || row < 0 || row >= (ptrdiff_t)p->in_height) return false;
  *ih = (size_t)row;
  return true;
}

/* Lanes [first_lane, end_lane) from row[first_column + lane], zero elsewhere: the vector of a
 * step that overlaps the input row's ends, read without touching memory outside the row. */
static inline thaw_f32v load_lanes(const float *row, ptrdiff_t first_column, size_t first_lane,
                                   size_t end_lane) {
  float lanes[STEP] = {0};
  for (size_t lane = first_lane; lane < end_lane; lane++)
    lanes[lane] = row[first_column + (ptrdiff_t)lane];
  return thaw_f32v_load(lanes);
}

/* sums[o] += x(c) * w(c, o) over `count` input channels c, x(c) the vector at x + c *
 * x_stride and w(c, o) = w[c * w_stride + o * taps]: the loop every output runs. A function of
 * its own, with the sums in local variables (sums could alias x and w), so that the compiler
 * allocates its registers apart from the big loop nest around it: the loop is then loads, FMAs
 * and the pointer steps. */
static __attribute__((noinline)) void accumulate_tap(size_t count, const float *x,
                                                     size_t x_stride, const float *w,
                                                     size_t w_stride, size_t taps,
                                                     size_t channels, thaw_f32v *sums) {
  /* Every entry set, the ones past `channels` too: GCC cannot see that channels <=
   * CHANNEL_BLOCK and warns about the others at -O2. */
  thaw_f32v acc[CHANNEL_BLOCK];
#pragma GCC unroll 4
  for (size_t o = 0; o < CHANNEL_BLOCK; o++) acc[o] = o < channels ? sums[o] : thaw_f32v_zero();
  for (; count != 0; count--, x += x_stride, w += w_stride) {
    const thaw_f32v values = thaw_f32v_load(x);
#pragma GCC unroll 4
    for (size_t o = 0; o < channels; o++)
      acc[o] = thaw_f32v_fmadd(values, thaw_f32v_dup(w[o * taps]), acc[o]);
  }
#pragma GCC unroll 4
  for (size_t o = 0; o < channels; o++) sums[o] = acc[o];
}

/* The same for a step whose lanes outside [first_lane, end_lane) fall outside the input rows
 * (row 0 at x, a step from column first_column). */
static inline __attribute__((always_inline)) void
accumulate_border_tap(size_t count, const float *x, size_t x_stride, ptrdiff_t first_column,
                      size_t first_lane, size_t end_lane, const float *w, size_t w_stride,
                      size_t taps, size_t channels, thaw_f32v *sums) {
  for (; count != 0; count--, x += x_stride, w += w_stride) {
    const thaw_f32v values = load_lanes(x, first_column, first_lane, end_lane);
#pragma GCC unroll 4
    for (size_t o = 0; o < channels; o++)
      sums[o] = thaw_f32v_fmadd(values, thaw_f32v_dup(w[o * taps]), sums[o]);
  }
}

/* accumulate_tap for the two column phases of a filter two columns wide at column stride 2
 * (see pair_step): the phases' inputs at x_even and x_odd, their taps at w_even and w_odd. */
static __attribute__((noinline)) void accumulate_tap_pair(size_t count, const float *x_even,
                                                          const float *x_odd, size_t x_stride,
                                                          const float *w_even, const float *w_odd,
                                                          size_t w_stride, size_t taps,
                                                          size_t channels, thaw_f32v *even_sums,
                                                          thaw_f32v *odd_sums) {
  thaw_f32v even_acc[CHANNEL_BLOCK], odd_acc[CHANNEL_BLOCK];
#pragma GCC unroll 4
  for (size_t o = 0; o < CHANNEL_BLOCK; o++) {
    even_acc[o] = o < channels ? even_sums[o] : thaw_f32v_zero();
    odd_acc[o] = o < channels ? odd_sums[o] : thaw_f32v_zero();
  }
  for (size_t c = 0; c < count; c++) {
    const thaw_f32v even_values = thaw_f32v_load(x_even + c * x_stride);
    const thaw_f32v odd_values = thaw_f32v_load(x_odd + c * x_stride);
    const float *w_even_channel = w_even + c * w_stride, *w_odd_channel = w_odd + c * w_stride;
#pragma GCC unroll 4
    for (size_t o = 0; o < channels; o++) {
      even_acc[o] = thaw_f32v_fmadd(even_values, thaw_f32v_dup(w_even_channel[o * taps]),
                                    even_acc[o]);
      odd_acc[o] = thaw_f32v_fmadd(odd_values, thaw_f32v_dup(w_odd_channel[o * taps]),
                                   odd_acc[o]);
    }
  }
#pragma GCC unroll 4
  for (size_t o = 0; o < channels; o++) {
    even_sums[o] = even_acc[o];
    odd_sums[o] = odd_acc[o];
  }
}

/* What the steps of one column phase of one output row share. */
typedef struct phase_row {
  const thaw_conv2d_params *p;
  const float *x_group;   /* the group's first input channel */
  const float *w_block;   /* the filter from the group's first input channel to the block's
                             first output channel */
  size_t group_in, group_out;
  size_t oh, phase, phase_outputs; /* outputs ow = phase + stride_w*j for j < phase_outputs */
} phase_row;

/* Sums, bias included, of outputs j0 .. j0+STEP-1 of a phase row for `channels` output
 * channels. */
static inline __attribute__((always_inline)) void phase_step(const phase_row *r, size_t j0,
                                                             const float *bias, size_t channels,
                                                             thaw_f32v *sums) {
  const thaw_conv2d_params *p = r->p;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  const size_t w_channel_stride = r->group_out * taps;
  const size_t live_lanes = r->phase_outputs - j0 < STEP ? r->phase_outputs - j0 : STEP;
#pragma GCC unroll 4
  for (size_t o = 0; o < channels; o++)
    sums[o] = thaw_f32v_dup(bias != NULL ? bias[o] : 0.0f);
  for (size_t kh = 0; kh < p->kernel_height; kh++) {
    size_t ih;
    if (!input_row_of(p, r->oh, kh, &ih)) continue;
    const float *x_row = r->x_group + ih * p->in_width;
    for (size_t kw = 0; kw < p->kernel_width; kw++) {
      bool exact;
      /* Lane l reads input column first_column + l. */
      const ptrdiff_t first_column =
          floor_divide((ptrdiff_t)(r->phase + p->pad_left) - (ptrdiff_t)(kw * p->dilation_w),
                       (ptrdiff_t)p->stride_w, &exact) +
          (ptrdiff_t)j0;
      if (!exact || first_column >= (ptrdiff_t)p->in_width ||
          first_column + (ptrdiff_t)live_lanes <= 0)
        continue;
      const size_t first_lane = first_column < 0 ? (size_t)-first_column : 0;
      const size_t columns_left = (size_t)((ptrdiff_t)p->in_width - first_column);
      const size_t end_lane = columns_left < live_lanes ? columns_left : live_lanes;
      const float *w_tap = r->w_block + kh * p->kernel_width + kw;
      if (first_lane == 0 && end_lane == STEP)
        accumulate_tap(r->group_in, x_row + first_column, in_plane, w_tap, w_channel_stride,
                       taps, channels, sums);
      else
        accumulate_border_tap(r->group_in, x_row, in_plane, first_column, first_lane, end_lane,
                              w_tap, w_channel_stride, taps, channels, sums);
    }
  }
}

/* A filter two columns wide at column stride 2 (the 2x upsampling of segmentation and
 * detection heads) gives every output column one tap: output 2j + q reads input column
 * (q + pad_left) / 2 + j through tap column (q + pad_left) % 2. Both phases of a step then run
 * together, and their outputs interleave into 2 * STEP contiguous floats, instead of two steps
 * of 4 FMA chains each storing every other float one by one. The number of phase outputs j,
 * from 0 and a multiple of STEP, whose steps read only inside the input row: 0 for other
 * filters. */
static inline size_t paired_outputs(const thaw_conv2d_params *p) {
  if (p->kernel_width != 2 || p->stride_w != 2 || p->dilation_w != 1) return 0;
  const size_t odd_outputs = p->out_width / 2, odd_first_column = (1 + p->pad_left) / 2;
  if (odd_first_column >= p->in_width) return 0;
  const size_t columns_left = p->in_width - odd_first_column;
  const size_t outputs = odd_outputs < columns_left ? odd_outputs : columns_left;
  return outputs - outputs % STEP;
}

/* Sums, bias included, of outputs 2*j0 .. 2*j0 + 2*STEP - 1 of output row r->oh (even and odd
 * columns apart), for j0 < paired_outputs. */
static inline __attribute__((always_inline)) void pair_step(const phase_row *r, size_t j0,
                                                            const float *bias, size_t channels,
                                                            thaw_f32v *even, thaw_f32v *odd) {
  const thaw_conv2d_params *p = r->p;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t taps = p->kernel_height * 2;
  const size_t even_column = p->pad_left / 2, odd_column = (1 + p->pad_left) / 2;
  const size_t even_tap = p->pad_left % 2, odd_tap = (1 + p->pad_left) % 2;
#pragma GCC unroll 4
  for (size_t o = 0; o < channels; o++)
    even[o] = odd[o] = thaw_f32v_dup(bias != NULL ? bias[o] : 0.0f);
  for (size_t kh = 0; kh < p->kernel_height; kh++) {
    size_t ih;
    if (!input_row_of(p, r->oh, kh, &ih)) continue;
    const float *x_row = r->x_group + ih * p->in_width + j0;
    const float *w_row = r->w_block + kh * 2;
    accumulate_tap_pair(r->group_in, x_row + even_column, x_row + odd_column, in_plane,
                        w_row + even_tap, w_row + odd_tap, r->group_out * taps, taps, channels,
                        even, odd);
  }
}

/* Rows [first_row, end_row) of the planes of `channels` consecutive output channels of one
 * group, clamped to [min, max]. */
static inline __attribute__((always_inline)) void transpose_channels(
    phase_row *r, const float *bias, float *y_block, size_t channels, size_t first_row,
    size_t end_row, float min, float max) {
  const thaw_conv2d_params *p = r->p;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t stride_w = p->stride_w;
  const thaw_f32v vmin = thaw_f32v_dup(min), vmax = thaw_f32v_dup(max);
  const size_t phases = stride_w < p->out_width ? stride_w : p->out_width;
  const size_t paired = paired_outputs(p);
  for (size_t oh = first_row; oh < end_row; oh++) {
    r->oh = oh;
    for (size_t j0 = 0; j0 < paired; j0 += STEP) {
      thaw_f32v even[CHANNEL_BLOCK], odd[CHANNEL_BLOCK];
      pair_step(r, j0, bias, channels, even, odd);
#pragma GCC unroll 4
      for (size_t o = 0; o < channels; o++) {
        thaw_f32v_store_interleaved(y_block + o * out_plane + oh * p->out_width + 2 * j0,
                                    thaw_f32v_min(vmax, thaw_f32v_max(vmin, even[o])),
                                    thaw_f32v_min(vmax, thaw_f32v_max(vmin, odd[o])));
      }
    }
    for (size_t phase = 0; phase < phases; phase++) {
      r->phase = phase;
      r->phase_outputs = (p->out_width - phase + stride_w - 1) / stride_w;
      for (size_t j0 = paired; j0 < r->phase_outputs; j0 += STEP) {
        thaw_f32v sums[CHANNEL_BLOCK];
        phase_step(r, j0, bias, channels, sums);
        const size_t live_lanes = r->phase_outputs - j0 < STEP ? r->phase_outputs - j0 : STEP;
#pragma GCC unroll 4
        for (size_t o = 0; o < channels; o++) {
          /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
          const thaw_f32v clamped = thaw_f32v_min(vmax, thaw_f32v_max(vmin, sums[o]));
          float *y_row = y_block + o * out_plane + oh * p->out_width + phase;
          if (stride_w == 1) {
            thaw_f32v_store_partial(y_row + j0, live_lanes, clamped);
          } else {
            float lanes[STEP];
            thaw_f32v_store(lanes, clamped);
            for (size_t lane = 0; lane < live_lanes; lane++)
              y_row[(j0 + lane) * stride_w] = lanes[lane];
          }
        }
      }
    }
  }
}

/* What the tasks of one ConvTranspose share. The output channels of each group are cut into
 * blocks of CHANNEL_BLOCK, the last group_out % CHANNEL_BLOCK one by one (a cut that depends on
 * the shape only), and a task is a range of such blocks, of every image and group, by a range
 * of output rows: each output is computed the same way whatever the split. */
typedef struct transpose_run {
  const thaw_conv2d_params *p;
  const float *x, *w, *bias;
  float *y;
  float min, max;
  bool activation_fused;
  thaw_f32_unary_fn unary; /* the ISA's, for an activation that is no clamp */
  size_t group_in, group_out, full_blocks, group_blocks; /* blocks per (image, group) */
  size_t blocks_per_task, rows_per_task, row_chunks;
} transpose_run;

static inline void transpose_block(const transpose_run *t, size_t block, size_t first_row,
                                   size_t end_row) {
  const thaw_conv2d_params *p = t->p;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  const size_t image_group = block / t->group_blocks, block_in_group = block % t->group_blocks;
  const size_t n = image_group / p->groups, group = image_group % p->groups;
  const bool full = block_in_group < t->full_blocks;
  const size_t channels = full ? CHANNEL_BLOCK : 1;
  const size_t oc = full ? block_in_group * CHANNEL_BLOCK
                         : t->full_blocks * CHANNEL_BLOCK + (block_in_group - t->full_blocks);
  const size_t first_channel = group * t->group_out + oc;
  phase_row r = {
      .p = p,
      .x_group = t->x + (n * p->in_channels + group * t->group_in) * in_plane,
      .w_block = t->w + (group * t->group_in * t->group_out + oc) * taps,
      .group_in = t->group_in,
      .group_out = t->group_out,
  };
  const float *bias_block = t->bias != NULL ? t->bias + first_channel : NULL;
  float *y_block = t->y + (n * p->out_channels + first_channel) * out_plane;
  if (full)
    transpose_channels(&r, bias_block, y_block, CHANNEL_BLOCK, first_row, end_row, t->min,
                       t->max);
  else
    transpose_channels(&r, bias_block, y_block, 1, first_row, end_row, t->min, t->max);
  if (!t->activation_fused) {
    for (size_t o = 0; o < channels; o++) {
      float *rows = y_block + o * out_plane + first_row * p->out_width;
      t->unary(&p->activation, (end_row - first_row) * p->out_width, rows, rows);
    }
  }
}

static inline void transpose_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const transpose_run *t = context;
  const thaw_conv2d_params *p = t->p;
  const size_t blocks = p->batch * p->groups * t->group_blocks;
  const size_t first_block = task_index / t->row_chunks * t->blocks_per_task;
  const size_t end_block = first_block + t->blocks_per_task < blocks
                               ? first_block + t->blocks_per_task
                               : blocks;
  const size_t first_row = task_index % t->row_chunks * t->rows_per_task;
  const size_t end_row = first_row + t->rows_per_task < p->out_height
                             ? first_row + t->rows_per_task
                             : p->out_height;
  for (size_t block = first_block; block < end_block; block++)
    transpose_block(t, block, first_row, end_row);
}

static inline size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

static inline void thaw_f32_conv_transpose2d_drive(const thaw_conv2d_params *p, const float *x,
                                                   const float *w, const float *bias, float *y,
                                                   const thaw_parallel *parallel,
                                                   thaw_f32_unary_fn unary) {
  transpose_run t = {.p = p, .x = x, .w = w, .bias = bias, .y = y, .unary = unary,
                     .group_in = p->in_channels / p->groups,
                     .group_out = p->out_channels / p->groups};
  t.activation_fused = thaw_unary_as_clamp(&p->activation, &t.min, &t.max);
  t.full_blocks = t.group_out / CHANNEL_BLOCK;
  t.group_blocks = t.full_blocks + t.group_out % CHANNEL_BLOCK;
  const size_t blocks = p->batch * p->groups * t.group_blocks;
  if (blocks == 0 || p->out_height == 0) return;
  /* A unit is one output row of one block; each output gathers about group_in * taps /
   * (stride_h * stride_w) products. Blocks are split first, rows when there are too few
   * blocks for the threads (the last layers of a segmentation head have one channel). */
  const double unit_flops = 2.0 * CHANNEL_BLOCK * (double)(t.group_in * p->kernel_height *
                                                           p->kernel_width * p->out_width) /
                            (double)(p->stride_h * p->stride_w);
  const size_t tasks = thaw_parallel_task_count(parallel, blocks * p->out_height, unit_flops);
  t.blocks_per_task = ceil_div(blocks, tasks < blocks ? tasks : blocks);
  const size_t block_chunks = ceil_div(blocks, t.blocks_per_task);
  const size_t wanted_row_chunks = ceil_div(tasks, block_chunks);
  t.rows_per_task = ceil_div(p->out_height,
                             wanted_row_chunks < p->out_height ? wanted_row_chunks : p->out_height);
  t.row_chunks = ceil_div(p->out_height, t.rows_per_task);
  parallel->run(parallel, block_chunks * t.row_chunks, transpose_task, &t);
}

#endif /* THAW_KERNELS_CONV_F32_CONV_TRANSPOSE2D_DRIVER_H */
