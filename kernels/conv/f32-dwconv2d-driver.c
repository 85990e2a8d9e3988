#include <stdint.h>

#include "kernels/conv/f32-dwconv2d.h"
#include "kernels/elementwise/unary-clamp.h"

bool thaw_f32_dwconv2d_supports(const thaw_conv2d_params *p) {
  /* A step reaches at most two vectors of columns (of at most 8 lanes) past its first output's
   * window. */
  const size_t limit = INT32_MAX;
  size_t reach, widest_tap;
  return !__builtin_add_overflow(p->out_width, 16, &reach) &&
         !__builtin_mul_overflow(reach, p->stride_w, &reach) &&
         !__builtin_mul_overflow(p->kernel_width, p->dilation_w, &widest_tap) &&
         !__builtin_add_overflow(reach, widest_tap, &reach) && reach <= limit &&
         p->in_width <= limit && p->pad_left <= limit;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* What a plane costs beyond its taps' multiply-adds, in the GEMM flops
 * thaw_parallel_task_count weighs work in (1/30 ns each): some 100 ns whatever its size, and
 * each output some 0.3 ns more, as measured on MobileNetV2's layers when each plane was still
 * copied into a padded scratch first. The in-place microkernels cost less per plane, which only
 * makes the split a little coarser than it could be. Counting taps only, the 960-channel 7x7
 * layers (140 us on one thread then) stayed on one. */
enum { DWCONV_PLANE_FLOPS = 3000, DWCONV_OUTPUT_FLOPS = 9 };

/* Planes are split whole while every thread gets this many: a band of a plane costs more than
 * its share of the rows. The microkernels' four-row blocks split and the per-plane setup is
 * paid once per band (on one thread, MobileNetV2's 192-channel 28x28 layer in two bands per
 * plane took 1.23x the time of whole planes, in a scratch build); and on two threads a band
 * reads the window rows around it from the other core and writes lines that core last read,
 * a few scattered lines per plane, while whole planes read their input in long streams that
 * the prefetchers follow, even where the 1x1 convolution before split its pixels over the
 * other core. `thaw_ab --threads 2 --runs 300` of bands against whole planes: MobileNetV2
 * 0.974x the time, PP-OCR det 0.978x, rec 0.998x. */
enum { DWCONV_MIN_PLANES_PER_THREAD = 8 };

/* Output rows per thread below which planes are not cut into bands: each band reads the
 * window rows it shares with the next band again, and splits the microkernels' row blocks. */
enum { DWCONV_MIN_BAND_ROWS = 8 };

/* What the tasks of one convolution share. A task is a band of output rows of a range of planes
 * (image, channel), the tasks of one band in a row: with one band per thread, each thread's
 * share of the tasks (thaw_threadpool) is its band. Bands are cut only for too few planes to
 * share out (a few channels on tall planes, or many threads). */
typedef struct dwconv_run {
  const thaw_conv2d_params *p;
  thaw_dwconv2d_geometry g;
  const float *x, *w, *bias;
  float *y;
  size_t bands, plane_ranges, planes_per_task;
  thaw_f32_dwconv2d_ukernel ukernel;
  void (*unary)(const thaw_unary_params *, size_t, const float *, float *);
  bool activation_fused;
} dwconv_run;

static void dwconv_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const dwconv_run *r = context;
  const thaw_conv2d_params *p = r->p;
  const size_t taps = p->kernel_height * p->kernel_width;
  const size_t in_plane = p->in_height * p->in_width, out_plane = p->out_height * p->out_width;
  const size_t band = task_index / r->plane_ranges;
  const size_t first = task_index % r->plane_ranges * r->planes_per_task;
  const size_t end = min_size(first + r->planes_per_task, p->batch * p->in_channels);
  thaw_dwconv2d_geometry g = r->g;
  g.first_row = band * p->out_height / r->bands;
  g.rows = (band + 1) * p->out_height / r->bands - g.first_row;
  const size_t band_outputs = g.rows * p->out_width;
  for (size_t plane = first; plane < end; plane++) {
    const size_t c = plane % p->in_channels;
    float *y_plane = r->y + plane * out_plane;
    r->ukernel(&g, r->x + plane * in_plane, r->w + c * taps, r->bias != NULL ? r->bias[c] : 0.0f,
               y_plane);
    float *y_band = y_plane + g.first_row * p->out_width;
    if (!r->activation_fused) r->unary(&p->activation, band_outputs, y_band, y_band);
  }
}

void thaw_f32_dwconv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                       const float *bias, float *y, thaw_f32_dwconv2d_ukernel ukernel,
                       void (*unary)(const thaw_unary_params *, size_t, const float *, float *),
                       const thaw_parallel *parallel) {
  const size_t planes = p->batch * p->in_channels;
  if (planes == 0 || p->out_height == 0 || p->out_width == 0) return;
  dwconv_run r = {
      .p = p,
      .g = {.in_height = p->in_height, .in_width = p->in_width, .out_height = p->out_height,
            .out_width = p->out_width, .kernel_height = p->kernel_height,
            .kernel_width = p->kernel_width, .stride_h = p->stride_h, .stride_w = p->stride_w,
            .dilation_h = p->dilation_h, .dilation_w = p->dilation_w, .pad_top = p->pad_top,
            .pad_left = p->pad_left},
      .x = x, .w = w, .bias = bias, .y = y, .ukernel = ukernel, .unary = unary};
  r.activation_fused = thaw_unary_as_clamp(&p->activation, &r.g.output_min, &r.g.output_max);

  const double taps = (double)(p->kernel_height * p->kernel_width);
  const double outputs = (double)(p->out_height * p->out_width);
  const size_t tasks = thaw_parallel_task_count(
      parallel, planes, DWCONV_PLANE_FLOPS + outputs * (2.0 * taps + DWCONV_OUTPUT_FLOPS));
  const size_t threads = parallel->thread_count;
  r.bands = tasks > 1 && planes < threads * DWCONV_MIN_PLANES_PER_THREAD &&
                    p->out_height >= threads * DWCONV_MIN_BAND_ROWS
                ? min_size(threads, tasks)
                : 1;
  r.planes_per_task = (planes * r.bands + tasks - 1) / tasks;
  r.plane_ranges = (planes + r.planes_per_task - 1) / r.planes_per_task;
  parallel->run(parallel, r.bands * r.plane_ranges, dwconv_task, &r);
}
