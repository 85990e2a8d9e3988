/*
 * ConvTranspose as a gather, 8 outputs of a row at once. Output column ow is reached through
 * tap kw from input column (ow + pad_left - kw*dilation_w) / stride_w when that division is
 * exact, so the outputs of one column phase (ow = phase + stride_w*j) all see the same taps,
 * and 8 consecutive j of a phase read 8 consecutive input columns: one vector load per tap and
 * input channel. Four output channels are computed together, so each load feeds four
 * independent FMA chains. Accumulating in registers over every input channel and tap, each
 * output is written once.
 */
#include "kernels/avx2.h"
#include "kernels/elementwise/unary-clamp.h"
#include "kernels/math/x32-tail-mask-avx2.h"

enum { CHANNEL_BLOCK = 4, STEP = 8 };

/* a / b rounded towards minus infinity, for b > 0; *exact tells whether b divides a. */
static ptrdiff_t floor_divide(ptrdiff_t a, ptrdiff_t b, bool *exact) {
  const ptrdiff_t remainder = a % b;
  *exact = remainder == 0;
  return a / b - (remainder < 0);
}

/* The input row that reaches output row oh through tap kh, if there is one. */
static bool input_row_of(const thaw_conv2d_params *p, size_t oh, size_t kh, size_t *ih) {
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
static __m256 load_lanes(const float *row, ptrdiff_t first_column, size_t first_lane,
                         size_t end_lane) {
  float lanes[STEP] = {0};
  for (size_t lane = first_lane; lane < end_lane; lane++)
    lanes[lane] = row[first_column + (ptrdiff_t)lane];
  return _mm256_loadu_ps(lanes);
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

/* Sums, bias included, of outputs j0 .. j0+7 of a phase row for `channels` output channels. */
static inline __attribute__((always_inline)) void phase_step(const phase_row *r, size_t j0,
                                                             const float *bias, size_t channels,
                                                             __m256 *sums) {
  const thaw_conv2d_params *p = r->p;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  const size_t w_channel_stride = r->group_out * taps;
  const size_t live_lanes = r->phase_outputs - j0 < STEP ? r->phase_outputs - j0 : STEP;
#pragma GCC unroll 4
  for (size_t o = 0; o < channels; o++)
    sums[o] = bias != NULL ? _mm256_broadcast_ss(&bias[o]) : _mm256_setzero_ps();
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
      const bool whole = first_lane == 0 && end_lane == STEP;
      const float *w_tap = r->w_block + kh * p->kernel_width + kw;
      for (size_t c = 0; c < r->group_in; c++) {
        const float *x_channel_row = x_row + c * in_plane;
        const __m256 values = whole ? _mm256_loadu_ps(x_channel_row + first_column)
                                    : load_lanes(x_channel_row, first_column, first_lane,
                                                 end_lane);
        const float *w_channel = w_tap + c * w_channel_stride;
#pragma GCC unroll 4
        for (size_t o = 0; o < channels; o++)
          sums[o] = _mm256_fmadd_ps(values, _mm256_broadcast_ss(w_channel + o * taps), sums[o]);
      }
    }
  }
}

/* The planes of `channels` consecutive output channels of one group, clamped to [min, max]. */
static inline __attribute__((always_inline)) void transpose_channels(
    phase_row *r, const float *bias, float *y_block, size_t channels, float min, float max) {
  const thaw_conv2d_params *p = r->p;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t stride_w = p->stride_w;
  const __m256 vmin = _mm256_set1_ps(min), vmax = _mm256_set1_ps(max);
  const size_t phases = stride_w < p->out_width ? stride_w : p->out_width;
  for (size_t oh = 0; oh < p->out_height; oh++) {
    r->oh = oh;
    for (size_t phase = 0; phase < phases; phase++) {
      r->phase = phase;
      r->phase_outputs = (p->out_width - phase + stride_w - 1) / stride_w;
      for (size_t j0 = 0; j0 < r->phase_outputs; j0 += STEP) {
        __m256 sums[CHANNEL_BLOCK];
        phase_step(r, j0, bias, channels, sums);
        const size_t live_lanes = r->phase_outputs - j0 < STEP ? r->phase_outputs - j0 : STEP;
#pragma GCC unroll 4
        for (size_t o = 0; o < channels; o++) {
          /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
          const __m256 clamped = _mm256_min_ps(vmax, _mm256_max_ps(vmin, sums[o]));
          float *y_row = y_block + o * out_plane + oh * p->out_width + phase;
          if (stride_w == 1) {
            thaw_store_f32__avx2(y_row + j0, live_lanes, clamped);
          } else {
            float lanes[STEP];
            _mm256_storeu_ps(lanes, clamped);
            for (size_t lane = 0; lane < live_lanes; lane++)
              y_row[(j0 + lane) * stride_w] = lanes[lane];
          }
        }
      }
    }
  }
}

void thaw_f32_conv_transpose2d__avx2(const thaw_conv2d_params *p, const float *x,
                                     const float *w, const float *bias, float *y) {
  const size_t group_in = p->in_channels / p->groups;
  const size_t group_out = p->out_channels / p->groups;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  float min, max;
  const bool activation_fused = thaw_unary_as_clamp(&p->activation, &min, &max);
  for (size_t n = 0; n < p->batch; n++) {
    for (size_t group = 0; group < p->groups; group++) {
      for (size_t oc = 0; oc < group_out;) {
        const size_t channels = group_out - oc >= CHANNEL_BLOCK ? CHANNEL_BLOCK : 1;
        const size_t first_channel = group * group_out + oc;
        phase_row r = {
            .p = p,
            .x_group = x + (n * p->in_channels + group * group_in) * in_plane,
            .w_block = w + (group * group_in * group_out + oc) * taps,
            .group_in = group_in,
            .group_out = group_out,
        };
        const float *bias_block = bias != NULL ? bias + first_channel : NULL;
        float *y_block = y + (n * p->out_channels + first_channel) * out_plane;
        if (channels == CHANNEL_BLOCK)
          transpose_channels(&r, bias_block, y_block, CHANNEL_BLOCK, min, max);
        else
          transpose_channels(&r, bias_block, y_block, 1, min, max);
        if (!activation_fused)
          thaw_f32_unary__avx2(&p->activation, channels * out_plane, y_block, y_block);
        oc += channels;
      }
    }
  }
}
