#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/elementwise/unary-clamp.h"

static size_t round_up(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

/* The windows of the outputs cover padded rows [0, padded_height) and columns [0, padded_width);
 * input rows or columns past them are never read. A step of TILE outputs at the last tile
 * (ow = round_up(out_width, TILE) - TILE) reads, by phase, up to position ow + TILE - 1 + the
 * widest tap's offset in its phase; in order (at stride 1 or 2), the 16 columns of each tap pair
 * from ow * stride_w, up to column (ow + TILE) * stride_w + widest_tap - 1. phase_width keeps
 * both inside the row. */
static void geometry_init(const thaw_conv2d_params *p, thaw_dwconv2d_columns columns,
                          thaw_dwconv2d_geometry *g) {
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
  const size_t steps_width = round_up(p->out_width, THAW_DWCONV2D_TILE);
  if (columns == THAW_DWCONV2D_COLUMNS_IN_ORDER) {
    g->phases = 1;
    g->phase_width = round_up(steps_width * p->stride_w + widest_tap, THAW_DWCONV2D_TILE);
  } else {
    g->phases = p->stride_w;
    g->phase_width = round_up(steps_width + widest_tap / p->stride_w, THAW_DWCONV2D_TILE);
  }
  g->row_stride = g->phases * g->phase_width;
}

static size_t plane_bytes(const thaw_dwconv2d_geometry *g) {
  return g->padded_height * g->row_stride * sizeof(float);
}

size_t thaw_f32_dwconv2d_scratch_size(const thaw_conv2d_params *p) {
  /* The geometry itself is small: every term is bounded by a validated tensor dimension or
   * attribute. Only the plane's byte count needs a check. The size does not depend on which
   * microkernel an ISA binds: it covers both layouts. */
  static const thaw_dwconv2d_columns layouts[] = {THAW_DWCONV2D_COLUMNS_BY_PHASE,
                                                  THAW_DWCONV2D_COLUMNS_IN_ORDER};
  size_t largest = 0;
  for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
    thaw_dwconv2d_geometry g;
    geometry_init(p, layouts[i], &g);
    size_t bytes;
    if (__builtin_mul_overflow(g.padded_height, g.row_stride, &bytes) ||
        __builtin_mul_overflow(bytes, sizeof(float), &bytes))
      return SIZE_MAX;
    if (bytes > largest) largest = bytes;
  }
  return largest;
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

/* Copies the input rows of one plane that fall in padded rows [first_row, end_row) into the
 * interior of the padded plane; the padding around them stays as the driver zeroed it, since
 * every plane has the same interior. */
static void copy_interior(const thaw_conv2d_params *p, const thaw_dwconv2d_geometry *g,
                          const float *x_plane, size_t first_row, size_t end_row, float *padded) {
  const size_t first_ih = first_row > p->pad_top ? first_row - p->pad_top : 0;
  const size_t end_ih = end_row > p->pad_top ? min_size(p->in_height, end_row - p->pad_top) : 0;
  const size_t columns =
      g->padded_width > p->pad_left ? min_size(p->in_width, g->padded_width - p->pad_left) : 0;
  for (size_t ih = first_ih; ih < end_ih; ih++) {
    const float *source = x_plane + ih * p->in_width;
    float *row = padded + (ih + p->pad_top) * g->row_stride;
    if (g->phases == 1) {
      memcpy(row + p->pad_left, source, columns * sizeof(float));
    } else if (g->phases == 2) {
      split_pairs(source, columns, p->pad_left, row, row + g->phase_width);
    } else {
      split_phases(source, columns, p->pad_left, g->phases, g->phase_width, row);
    }
  }
}

/* What a plane costs beyond its taps' multiply-adds, in the GEMM flops
 * thaw_parallel_task_count weighs work in (1/30 ns each): copying it into the padded scratch
 * and calling the microkernel take some 100 ns whatever its size, and each output some 0.3 ns
 * more (measured on MobileNetV2's layers, whose 7x7 planes run at a fifth of the taps' rate).
 * Counting taps only, its 960-channel 7x7 layers (140 us on one thread) stayed on one. */
enum { DWCONV_PLANE_FLOPS = 3000, DWCONV_OUTPUT_FLOPS = 9 };

/* Output rows per thread below which planes are not cut into bands: the rows a band's windows
 * share with the next band's are copied twice. */
enum { DWCONV_MIN_BAND_ROWS = 8 };

/* What the tasks of one convolution share. A task is a band of output rows of a range of planes
 * (image, channel), the tasks of one band in a row: with one band per thread, each thread's
 * share of the tasks (thaw_threadpool) is its band, which holds the pixels it produced in the
 * GEMM before (1x1 convolutions split over pixels in order) and which it hands to the next. */
typedef struct dwconv_run {
  const thaw_conv2d_params *p;
  thaw_dwconv2d_geometry g;
  const float *x, *w, *bias;
  float *y;
  char *scratch;
  size_t scratch_stride; /* bytes between the threads' padded planes */
  size_t bands, plane_ranges, planes_per_task;
  thaw_f32_dwconv2d_ukernel ukernel;
  void (*unary)(const thaw_unary_params *, size_t, const float *, float *);
  bool activation_fused;
} dwconv_run;

static void dwconv_task(void *context, size_t thread_index, size_t task_index) {
  const dwconv_run *r = context;
  const thaw_conv2d_params *p = r->p;
  const size_t taps = p->kernel_height * p->kernel_width;
  const size_t in_plane = p->in_height * p->in_width, out_plane = p->out_height * p->out_width;
  float *padded = (float *)(r->scratch + thread_index * r->scratch_stride);
  const size_t band = task_index / r->plane_ranges;
  const size_t first = task_index % r->plane_ranges * r->planes_per_task;
  const size_t end = min_size(first + r->planes_per_task, p->batch * p->in_channels);
  /* The band's output rows, and the padded rows their windows cover. */
  const size_t first_oh = band * p->out_height / r->bands;
  thaw_dwconv2d_geometry g = r->g;
  g.out_height = (band + 1) * p->out_height / r->bands - first_oh;
  const size_t first_row = first_oh * p->stride_h;
  const size_t end_row = first_row + (g.out_height - 1) * p->stride_h +
                         (p->kernel_height - 1) * p->dilation_h + 1;
  const size_t band_outputs = g.out_height * p->out_width;
  for (size_t plane = first; plane < end; plane++) {
    const size_t c = plane % p->in_channels;
    float *y_band = r->y + plane * out_plane + first_oh * p->out_width;
    copy_interior(p, &g, r->x + plane * in_plane, first_row, end_row, padded);
    r->ukernel(&g, padded + first_row * g.row_stride, r->w + c * taps,
               r->bias != NULL ? r->bias[c] : 0.0f, y_band);
    if (!r->activation_fused) r->unary(&p->activation, band_outputs, y_band, y_band);
  }
}

void thaw_f32_dwconv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                       const float *bias, float *y, void *scratch,
                       thaw_f32_dwconv2d_ukernel ukernel, thaw_dwconv2d_columns columns,
                       void (*unary)(const thaw_unary_params *, size_t, const float *, float *),
                       const thaw_parallel *parallel) {
  dwconv_run r = {.p = p, .x = x, .w = w, .bias = bias, .y = y, .scratch = scratch,
                  .ukernel = ukernel, .unary = unary};
  geometry_init(p, columns, &r.g);
  r.activation_fused = thaw_unary_as_clamp(&p->activation, &r.g.output_min, &r.g.output_max);
  /* The slices are as wide as thaw_f32_dwconv2d_scratch_size, whichever layout this run uses. */
  r.scratch_stride = thaw_scratch_slice_bytes(thaw_f32_dwconv2d_scratch_size(p));
  /* Each thread's padded plane is zeroed once: the tasks then only write its interior. */
  for (size_t t = 0; t < parallel->thread_count; t++)
    memset(r.scratch + t * r.scratch_stride, 0, plane_bytes(&r.g));

  const size_t planes = p->batch * p->in_channels;
  if (planes == 0 || p->out_height == 0) return;
  const double taps = (double)(p->kernel_height * p->kernel_width);
  const double outputs = (double)(p->out_height * p->out_width);
  const size_t tasks = thaw_parallel_task_count(
      parallel, planes, DWCONV_PLANE_FLOPS + outputs * (2.0 * taps + DWCONV_OUTPUT_FLOPS));
  r.bands = tasks > 1 && p->out_height >= parallel->thread_count * DWCONV_MIN_BAND_ROWS
                ? min_size(parallel->thread_count, tasks)
                : 1;
  r.planes_per_task = (planes * r.bands + tasks - 1) / tasks;
  r.plane_ranges = (planes + r.planes_per_task - 1) / r.planes_per_task;
  parallel->run(parallel, r.bands * r.plane_ranges, dwconv_task, &r);
}
