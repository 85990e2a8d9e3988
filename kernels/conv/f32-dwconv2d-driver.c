#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/elementwise/unary-clamp.h"

static size_t round_up(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

/* The windows of the outputs cover padded rows [0, padded_height) and columns [0, padded_width);
 * input rows or columns past them are never read. A step of TILE outputs at the last tile reads up
 * to position round_up(out_width, TILE) - 1 + the widest tap's offset in its phase, which
 * phase_width keeps inside the row. */
static void geometry_init(const thaw_conv2d_params *p, thaw_dwconv2d_geometry *g) {
  const size_t widest_tap = (p->kernel_width - 1) * p->dilation_w;
  g->out_height = p->out_height;
  g->out_width = p->out_width;
  g->kernel_height = p->kernel_height;
  g->kernel_width = p->kernel_width;
  g->stride_h = p->stride_h;
  g->stride_w = p->stride_w;
  g->dilation_h = p->dilation_h;
  g->dilation_w = p->dilation_w;
  g->padded_height = (p->out_height - 1) * p->stride_h + (p->kernel_height - 1) * p->dilation_h + 1;
  g->padded_width = (p->out_width - 1) * p->stride_w + widest_tap + 1;
  g->phase_width = round_up(round_up(p->out_width, THAW_DWCONV2D_TILE) + widest_tap / p->stride_w,
                            THAW_DWCONV2D_TILE);
  g->row_stride = p->stride_w * g->phase_width;
}

size_t thaw_f32_dwconv2d_scratch_size(const thaw_conv2d_params *p) {
  /* The geometry itself is small: every term is bounded by a validated tensor dimension or
   * attribute. Only the plane's byte count needs a check. */
  thaw_dwconv2d_geometry g;
  geometry_init(p, &g);
  size_t bytes;
  if (__builtin_mul_overflow(g.padded_height, g.row_stride, &bytes) ||
      __builtin_mul_overflow(bytes, sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Input column iw is padded column iw + pad_left, which goes to phase (iw + pad_left) %
 * stride_w at position (iw + pad_left) / stride_w. */
static void split_phases(const float *source, size_t columns, size_t pad_left, size_t stride_w,
                         size_t phase_width, float *row) {
  for (size_t phase = 0; phase < stride_w; phase++) {
    /* The first input column whose padded column falls into this phase. */
    const size_t first = (phase + stride_w - pad_left % stride_w) % stride_w;
    float *destination = row + phase * phase_width + (first + pad_left) / stride_w;
    for (size_t iw = first; iw < columns; iw += stride_w) *destination++ = source[iw];
  }
}

/* split_phases for stride 2, the common case, as one pass over pairs of columns that the
 * compiler vectorises (a strided loop per phase it does not). */
static void split_pairs(const float *source, size_t columns, size_t pad_left, float *even,
                        float *odd) {
  size_t iw = 0, position = pad_left / 2;
  if (pad_left % 2 == 1 && columns > 0) odd[position++] = source[iw++];
  const size_t pairs = (columns - iw) / 2;
  even += position;
  odd += position;
  source += iw;
  for (size_t i = 0; i < pairs; i++) {
    even[i] = source[2 * i];
    odd[i] = source[2 * i + 1];
  }
  if ((columns - iw) % 2 == 1) even[pairs] = source[2 * pairs];
}

/* Copies one input plane into the interior of the padded plane; the padding around it stays as the
 * driver zeroed it, since every plane has the same interior. */
static void copy_interior(const thaw_conv2d_params *p, const thaw_dwconv2d_geometry *g,
                          const float *x_plane, float *padded) {
  const size_t rows =
      g->padded_height > p->pad_top ? min_size(p->in_height, g->padded_height - p->pad_top) : 0;
  const size_t columns =
      g->padded_width > p->pad_left ? min_size(p->in_width, g->padded_width - p->pad_left) : 0;
  const size_t stride_w = p->stride_w;
  for (size_t ih = 0; ih < rows; ih++) {
    const float *source = x_plane + ih * p->in_width;
    float *row = padded + (ih + p->pad_top) * g->row_stride;
    if (stride_w == 1) {
      memcpy(row + p->pad_left, source, columns * sizeof(float));
    } else if (stride_w == 2) {
      split_pairs(source, columns, p->pad_left, row, row + g->phase_width);
    } else {
      split_phases(source, columns, p->pad_left, stride_w, g->phase_width, row);
    }
  }
}

void thaw_f32_dwconv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                       const float *bias, float *y, void *scratch,
                       thaw_f32_dwconv2d_ukernel ukernel,
                       void (*unary)(const thaw_unary_params *, size_t, const float *, float *)) {
  thaw_dwconv2d_geometry g;
  geometry_init(p, &g);
  float *padded = scratch;
  memset(padded, 0, g.padded_height * g.row_stride * sizeof(float));

  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t taps = p->kernel_height * p->kernel_width;
  const bool activation_fused =
      thaw_unary_as_clamp(&p->activation, &g.output_min, &g.output_max);
  for (size_t n = 0; n < p->batch; n++) {
    for (size_t c = 0; c < p->in_channels; c++) {
      const size_t plane = n * p->in_channels + c;
      float *y_plane = y + plane * out_plane;
      copy_interior(p, &g, x + plane * in_plane, padded);
      ukernel(&g, padded, w + c * taps, bias != NULL ? bias[c] : 0.0f, y_plane);
      if (!activation_fused) unary(&p->activation, out_plane, y_plane, y_plane);
    }
  }
}
