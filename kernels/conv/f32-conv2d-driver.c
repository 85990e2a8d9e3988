#include <stdint.h>

#include "kernels/conv/conv-driver.h"
#include "kernels/scalar.h"

/* An im2col chunk stays within this many bytes, so that the GEMM finds its packed columns still
 * in L2 (about half of it), and the session scratch is bounded whatever the layer's size;
 * but a chunk holds at least IM2COL_MIN_CHUNK_PIXELS (more bytes when k is large): each chunk
 * reads all of the group's weights, which a layer with many of them (ResNet's last stage,
 * 9 MiB) would otherwise wait on. The plane's panels are dealt out to the chunks evenly.
 *
 * With threads, a large image is cut into smaller chunks, one task each (im2col into the
 * thread's scratch, then the GEMM on that thread); every chunk reads all the weights, so a
 * chunk keeps at least IM2COL_MIN_TASK_PIXELS. A small image with many channels (ResNet's last
 * stages) is instead gathered once per chunk by all threads into a shared buffer, and the GEMM
 * splits its output rows over them. Either way each output value is one GEMM row times one
 * column, computed the same way, so the split changes no bit. */
enum {
  IM2COL_CHUNK_BYTES = 256 << 10,
  IM2COL_MIN_CHUNK_PIXELS = 8 * THAW_GEMM_NR,
  IM2COL_MIN_TASK_PIXELS = 4 * THAW_GEMM_NR,
};
/* What gathering one value costs in the GEMM flops thaw_parallel_task_count counts (a copy
 * that misses L1 now and then, some 0.5 ns). */
#define IM2COL_VALUE_COST 16.0

typedef enum conv_path {
  PATH_DEPTHWISE,
  PATH_POINTWISE,
  PATH_STRIDED_POINTWISE,
  PATH_WINOGRAD,
  PATH_IGEMM,
  PATH_IM2COL,
} conv_path;

/* A 1x1 convolution with a stride, no top or left padding, and every output pixel on an input
 * pixel (ResNet's downsampling shortcuts). im2col would pad and phase-split every input row for
 * it though only one row and one column in each stride is read (four times the values the
 * GEMM multiplies, at stride 2); instead the pixels read are sampled into a dense image, which
 * the GEMMs of the stride-1 case then read in place. */
static bool is_strided_pointwise(const thaw_conv2d_params *p) {
  size_t last_row, last_column;
  return p->kernel_height == 1 && p->kernel_width == 1 && p->pad_top == 0 && p->pad_left == 0 &&
         (p->stride_h > 1 || p->stride_w > 1) && p->in_channels > 0 && p->out_height > 0 &&
         p->out_width > 0 &&
         !__builtin_mul_overflow(p->out_height - 1, p->stride_h, &last_row) &&
         last_row < p->in_height &&
         !__builtin_mul_overflow(p->out_width - 1, p->stride_w, &last_column) &&
         last_column < p->in_width;
}

static conv_path choose_path(const thaw_conv2d_params *p) {
  if (p->groups == p->in_channels && p->out_channels == p->in_channels &&
      thaw_f32_dwconv2d_supports(p))
    return PATH_DEPTHWISE;
  if (p->kernel_height == 1 && p->kernel_width == 1 && p->stride_h == 1 && p->stride_w == 1 &&
      p->pad_top == 0 && p->pad_left == 0 && p->out_height == p->in_height &&
      p->out_width == p->in_width)
    return PATH_POINTWISE;
  if (is_strided_pointwise(p)) return PATH_STRIDED_POINTWISE;
  if (thaw_f32_winograd_pays(p)) return PATH_WINOGRAD;
  if (thaw_f32_igemm_pays(p)) return PATH_IGEMM;
  return PATH_IM2COL;
}

static size_t im2col_rows(const thaw_conv2d_params *p) {
  return p->in_channels / p->groups * p->kernel_height * p->kernel_width;
}

/* The most output pixels of an im2col chunk: a multiple of the GEMM's panel width unless the
 * whole plane is smaller. */
static size_t im2col_chunk_pixels(const thaw_conv2d_params *p) {
  const size_t out_plane = p->out_height * p->out_width;
  size_t pixels = IM2COL_CHUNK_BYTES / sizeof(float) / im2col_rows(p);
  pixels -= pixels % THAW_GEMM_NR;
  if (pixels < IM2COL_MIN_CHUNK_PIXELS) pixels = IM2COL_MIN_CHUNK_PIXELS;
  return pixels < out_plane ? pixels : out_plane;
}

/* The most output rows a chunk of `pixels` consecutive output pixels touches. */
static size_t chunk_out_rows(const thaw_conv2d_params *p, size_t pixels) {
  const size_t rows = (pixels + 2 * p->out_width - 2) / p->out_width;
  return rows < p->out_height ? rows : p->out_height;
}

/* The GEMM of one group's weights (m = group outputs, one row of k weights each) by k rows of
 * `columns` pixels; C rows are output planes of out_plane floats. */
static thaw_gemm_params group_gemm(const thaw_conv2d_params *p, size_t k, size_t columns,
                                   bool has_bias) {
  const size_t out_plane = p->out_height * p->out_width;
  return (thaw_gemm_params){
      .m = p->out_channels / p->groups,
      .n = columns,
      .k = k,
      .a_row_stride = (ptrdiff_t)k,
      .a_k_stride = 1,
      .b_packed = false,
      .b_row_stride = (ptrdiff_t)columns,
      .b_column_stride = 1,
      .c_row_stride = (ptrdiff_t)out_plane,
      .bias = has_bias ? THAW_GEMM_BIAS_PER_ROW : THAW_GEMM_BIAS_NONE,
      .activation = p->activation,
  };
}

/* Bytes of one image sampled for the strided 1x1 path (SIZE_MAX on overflow). */
static size_t sampled_bytes(const thaw_conv2d_params *p) {
  size_t bytes;
  if (__builtin_mul_overflow(p->in_channels, p->out_height * p->out_width, &bytes) ||
      __builtin_mul_overflow(bytes, sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

size_t thaw_f32_conv2d_drive_scratch_size(const thaw_conv2d_params *p) {
  switch (choose_path(p)) {
  case PATH_DEPTHWISE: return 0; /* the planes are read in place */
  case PATH_POINTWISE: {
    const thaw_gemm_params gemm =
        group_gemm(p, p->in_channels / p->groups, p->in_height * p->in_width, true);
    return thaw_f32_gemm_scratch_size(&gemm);
  }
  case PATH_STRIDED_POINTWISE: {
    /* The sampled image, then the GEMM's slice. */
    const thaw_gemm_params gemm =
        group_gemm(p, p->in_channels / p->groups, p->out_height * p->out_width, true);
    const size_t sampled = sampled_bytes(p), gemm_bytes = thaw_f32_gemm_scratch_size(&gemm);
    if (sampled > SIZE_MAX / 4 || gemm_bytes > SIZE_MAX / 4) return SIZE_MAX;
    return thaw_scratch_slice_bytes(sampled) + gemm_bytes;
  }
  case PATH_WINOGRAD: return thaw_f32_winograd_scratch_size(p);
  case PATH_IGEMM: return thaw_f32_igemm_scratch_size(p);
  case PATH_IM2COL: break;
  }
  return thaw_f32_conv2d_im2col_scratch_size(p);
}

size_t thaw_f32_conv2d_im2col_scratch_size(const thaw_conv2d_params *p) {
  /* An empty output plane is not computed at all. */
  if (p->out_height == 0 || p->out_width == 0) return 0;
  /* A slice: a chunk's columns, gathered straight into the GEMM's packed panels, then the
   * zero-padded input rows the chunk reads. */
  const size_t chunk = im2col_chunk_pixels(p);
  const size_t padded_chunk = (chunk + THAW_GEMM_NR - 1) / THAW_GEMM_NR * THAW_GEMM_NR;
  const size_t padded_rows_bytes = thaw_f32_im2col_padded_size(p, chunk_out_rows(p, chunk));
  size_t packed_bytes, total;
  if (padded_rows_bytes == SIZE_MAX ||
      __builtin_mul_overflow(im2col_rows(p), padded_chunk, &packed_bytes) ||
      __builtin_mul_overflow(packed_bytes, sizeof(float), &packed_bytes) ||
      packed_bytes > SIZE_MAX - THAW_SCRATCH_ALIGNMENT ||
      __builtin_add_overflow(thaw_scratch_slice_bytes(packed_bytes), padded_rows_bytes, &total))
    return SIZE_MAX;
  return total;
}

/* The microkernel for p's window. */
static thaw_f32_dwconv2d_ukernel choose_dwconv(const thaw_conv2d_isa *isa,
                                               const thaw_conv2d_params *p) {
  const size_t kernel = p->kernel_height;
  if (p->kernel_width != kernel || (kernel != 3 && kernel != 5) || p->dilation_h != 1 ||
      p->dilation_w != 1)
    return isa->dwconv_generic;
  if (p->stride_h == 1 && p->stride_w == 1)
    return kernel == 3 ? isa->dwconv_3x3s1 : isa->dwconv_5x5s1;
  if (p->stride_h == 2 && p->stride_w == 2)
    return kernel == 3 ? isa->dwconv_3x3s2 : isa->dwconv_5x5s2;
  if (p->stride_h == 2 && p->stride_w == 1)
    return kernel == 3 ? isa->dwconv_3x3s2x1 : isa->dwconv_5x5s2x1;
  if (p->stride_h == 1 && p->stride_w == 2 && kernel == 3) return isa->dwconv_3x3s1x2;
  return isa->dwconv_generic;
}

static size_t ceil_div(size_t numerator, size_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The output pixels one GEMM of the im2col path covers, and the output rows they lie in. */
typedef struct im2col_chunk {
  size_t image_group, first_pixel, pixels, first_out_row, out_rows;
} im2col_chunk;

/* What the im2col work of one convolution shares. */
typedef struct im2col_run {
  const thaw_conv2d_isa *isa;
  const thaw_conv2d_params *p;
  const float *x, *w, *bias;
  float *y;
  char *scratch;
  size_t scratch_stride; /* bytes between the threads' scratch slices */
  size_t padded_offset;  /* bytes from a slice's packed columns to its padded input rows */
  size_t k, chunks;
  /* Panels per chunk: the first taller_chunks chunks have one more. */
  size_t chunk_panels, taller_chunks;
  /* The shared gathering: the chunk being gathered, the channels each task pads and the
   * panels each task gathers. */
  im2col_chunk shared;
  size_t channels_per_task, panels_per_task;
} im2col_run;

static im2col_chunk chunk_at(const im2col_run *r, size_t image_group, size_t chunk) {
  const thaw_conv2d_params *p = r->p;
  const size_t first_pixel =
      (chunk * r->chunk_panels + min_size(chunk, r->taller_chunks)) * THAW_GEMM_NR;
  const size_t pixels =
      min_size((r->chunk_panels + (chunk < r->taller_chunks)) * THAW_GEMM_NR,
               p->out_height * p->out_width - first_pixel);
  const size_t first_out_row = first_pixel / p->out_width;
  return (im2col_chunk){image_group, first_pixel, pixels, first_out_row,
                        (first_pixel + pixels - 1) / p->out_width - first_out_row + 1};
}

static const float *group_input(const im2col_run *r, size_t image_group) {
  const thaw_conv2d_params *p = r->p;
  const size_t n = image_group / p->groups, g = image_group % p->groups;
  return r->x + (n * p->in_channels + g * (p->in_channels / p->groups)) * p->in_height *
                    p->in_width;
}

/* The GEMM of a group's weights by a chunk's packed columns. */
static void chunk_gemm(const im2col_run *r, const im2col_chunk *chunk, const float *columns,
                       const thaw_parallel *parallel) {
  const thaw_conv2d_params *p = r->p;
  const size_t n = chunk->image_group / p->groups, g = chunk->image_group % p->groups;
  const size_t group_out = p->out_channels / p->groups;
  thaw_gemm_params gemm = group_gemm(p, r->k, chunk->pixels, r->bias != NULL);
  gemm.b_packed = true;
  r->isa->gemm(&gemm, r->w + g * group_out * r->k, columns,
               r->bias != NULL ? r->bias + g * group_out : NULL,
               r->y + (n * p->out_channels + g * group_out) * p->out_height * p->out_width +
                   chunk->first_pixel,
               NULL, parallel);
}

/* A task of the chunked form: one chunk of one (image, group), start to end on one thread in
 * its slice: the input rows padded, the columns gathered from them, then the GEMM. */
static void chunk_task(void *context, size_t thread_index, size_t task_index) {
  const im2col_run *r = context;
  const im2col_chunk chunk =
      chunk_at(r, task_index / r->chunks, task_index % r->chunks);
  char *slice = r->scratch + thread_index * r->scratch_stride;
  float *columns = (float *)slice, *padded = (float *)(slice + r->padded_offset);
  thaw_f32_im2col_pad(r->p, group_input(r, chunk.image_group), chunk.first_out_row,
                      chunk.out_rows, 0, r->p->in_channels / r->p->groups, padded);
  thaw_f32_im2col(r->p, padded, chunk.first_out_row, chunk.out_rows, chunk.first_pixel,
                  chunk.pixels, columns);
  chunk_gemm(r, &chunk, columns, &thaw_parallel_serial);
}

/* Tasks of the shared form, in thread 0's slice: some channels of the chunk's padded rows,
 * then (in a second run) some panels of its columns. */
static void pad_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const im2col_run *r = context;
  const size_t first = task_index * r->channels_per_task;
  thaw_f32_im2col_pad(r->p, group_input(r, r->shared.image_group), r->shared.first_out_row,
                      r->shared.out_rows, first,
                      min_size(r->channels_per_task, r->p->in_channels / r->p->groups - first),
                      (float *)(r->scratch + r->padded_offset));
}

static void gather_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const im2col_run *r = context;
  const size_t first = task_index * r->panels_per_task * THAW_GEMM_NR;
  thaw_f32_im2col(r->p, (const float *)(r->scratch + r->padded_offset), r->shared.first_out_row,
                  r->shared.out_rows, r->shared.first_pixel + first,
                  min_size(r->panels_per_task * THAW_GEMM_NR, r->shared.pixels - first),
                  (float *)r->scratch + first * r->k);
}

/* Chunked when the chunks can feed every thread and still hold IM2COL_MIN_TASK_PIXELS each (on
 * one thread, always: then it is the serial im2col-and-GEMM loop); otherwise each chunk is
 * gathered by all threads and its GEMM split over them. */
static void run_im2col(const thaw_parallel *parallel, im2col_run *r) {
  const thaw_conv2d_params *p = r->p;
  const size_t image_groups = p->batch * p->groups, out_plane = p->out_height * p->out_width;
  const size_t largest_chunk = im2col_chunk_pixels(p);
  const size_t wanted = thaw_parallel_task_count(
      parallel, image_groups * ceil_div(out_plane, THAW_GEMM_NR),
      2.0 * (double)(r->k * THAW_GEMM_NR * (p->out_channels / p->groups)));
  size_t chunks = ceil_div(out_plane, largest_chunk);
  const bool chunked = image_groups * chunks >= wanted ||
                       out_plane / ceil_div(wanted, image_groups) >= IM2COL_MIN_TASK_PIXELS;
  if (chunked && image_groups * chunks < wanted) chunks = ceil_div(wanted, image_groups);
  const size_t panels = ceil_div(out_plane, THAW_GEMM_NR);
  r->chunks = chunks;
  r->chunk_panels = panels / chunks;
  r->taller_chunks = panels % chunks;
  r->scratch_stride = thaw_scratch_slice_bytes(thaw_f32_conv2d_im2col_scratch_size(p));
  r->padded_offset = thaw_scratch_slice_bytes(
      r->k * ceil_div(largest_chunk, THAW_GEMM_NR) * THAW_GEMM_NR * sizeof(float));
  if (chunked) {
    parallel->run(parallel, image_groups * r->chunks, chunk_task, r);
    return;
  }
  const size_t group_in = p->in_channels / p->groups;
  for (size_t image_group = 0; image_group < image_groups; image_group++) {
    for (size_t chunk = 0; chunk < r->chunks; chunk++) {
      r->shared = chunk_at(r, image_group, chunk);
      const size_t channel_values = thaw_f32_im2col_padded_size(p, r->shared.out_rows) /
                                    sizeof(float) / group_in;
      r->channels_per_task = ceil_div(
          group_in, thaw_parallel_task_count(parallel, group_in,
                                             IM2COL_VALUE_COST * (double)channel_values));
      parallel->run(parallel, ceil_div(group_in, r->channels_per_task), pad_task, r);
      const size_t chunk_panels = ceil_div(r->shared.pixels, THAW_GEMM_NR);
      r->panels_per_task = ceil_div(
          chunk_panels,
          thaw_parallel_task_count(parallel, chunk_panels,
                                   IM2COL_VALUE_COST * (double)(r->k * THAW_GEMM_NR)));
      parallel->run(parallel, ceil_div(chunk_panels, r->panels_per_task), gather_task, r);
      chunk_gemm(r, &r->shared, (const float *)r->scratch, parallel);
    }
  }
}

/* Per group of one image, one GEMM of the weights by the group's input planes, each as large as
 * an output plane, read in place; the GEMM splits itself. */
static void run_pointwise_image(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                                const float *x_image, const float *w, const float *bias,
                                float *y_image, void *scratch, const thaw_parallel *parallel) {
  const size_t group_in = p->in_channels / p->groups, group_out = p->out_channels / p->groups;
  const size_t plane = p->out_height * p->out_width;
  const thaw_gemm_params gemm = group_gemm(p, group_in, plane, bias != NULL);
  for (size_t g = 0; g < p->groups; g++) {
    isa->gemm(&gemm, w + g * group_out * group_in, x_image + g * group_in * plane,
              bias != NULL ? bias + g * group_out : NULL, y_image + g * group_out * plane,
              scratch, parallel);
  }
}

/* Sampling one image for the strided 1x1 path: a task takes some of its channels. */
typedef struct sampling {
  const thaw_conv2d_params *p;
  const float *x_image;
  float *sampled;
  size_t channels_per_task;
} sampling;

static void sample_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const sampling *s = context;
  const thaw_conv2d_params *p = s->p;
  const size_t first = task_index * s->channels_per_task;
  const size_t end = min_size(first + s->channels_per_task, p->in_channels);
  for (size_t c = first; c < end; c++) {
    for (size_t oh = 0; oh < p->out_height; oh++) {
      const float *row = s->x_image + (c * p->in_height + oh * p->stride_h) * p->in_width;
      float *sampled_row = s->sampled + (c * p->out_height + oh) * p->out_width;
      for (size_t ow = 0; ow < p->out_width; ow++) sampled_row[ow] = row[ow * p->stride_w];
    }
  }
}

/* The sampled image goes at the front of the scratch and the GEMM's slices after it: the
 * thread_count slices of thaw_f32_conv2d_drive_scratch_size hold thread_count sampled images,
 * of which only the first is used. */
static void run_strided_pointwise(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                                  const float *x, const float *w, const float *bias, float *y,
                                  void *scratch, const thaw_parallel *parallel) {
  const size_t out_plane = p->out_height * p->out_width;
  sampling s = {.p = p, .sampled = scratch};
  s.channels_per_task = ceil_div(
      p->in_channels, thaw_parallel_task_count(parallel, p->in_channels,
                                               IM2COL_VALUE_COST * (double)out_plane));
  void *gemm_scratch = (char *)scratch + thaw_scratch_slice_bytes(sampled_bytes(p));
  for (size_t n = 0; n < p->batch; n++) {
    s.x_image = x + n * p->in_channels * p->in_height * p->in_width;
    parallel->run(parallel, ceil_div(p->in_channels, s.channels_per_task), sample_task, &s);
    run_pointwise_image(isa, p, s.sampled, w, bias, y + n * p->out_channels * out_plane,
                        gemm_scratch, parallel);
  }
}

void thaw_f32_conv2d_drive(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel) {
  const conv_path path = choose_path(p);
  if (path == PATH_DEPTHWISE) {
    thaw_f32_dwconv2d(p, x, w, bias, y, choose_dwconv(isa, p), isa->unary, parallel);
    return;
  }
  if (path == PATH_POINTWISE) {
    const size_t plane = p->in_height * p->in_width;
    for (size_t n = 0; n < p->batch; n++)
      run_pointwise_image(isa, p, x + n * p->in_channels * plane, w, bias,
                          y + n * p->out_channels * plane, scratch, parallel);
    return;
  }
  if (path == PATH_STRIDED_POINTWISE) {
    run_strided_pointwise(isa, p, x, w, bias, y, scratch, parallel);
    return;
  }
  if (path == PATH_WINOGRAD) {
    thaw_f32_winograd_run(isa, p, x, w, bias, y, scratch, parallel);
    return;
  }
  if (path == PATH_IGEMM) {
    thaw_f32_igemm_run(isa, p, x, w, bias, y, scratch, parallel);
    return;
  }
  thaw_f32_conv2d_drive_im2col(isa, p, x, w, bias, y, scratch, parallel);
}

void thaw_f32_conv2d_drive_im2col(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                                  const float *x, const float *w, const float *bias, float *y,
                                  void *scratch, const thaw_parallel *parallel) {
  if (p->batch == 0 || p->out_height * p->out_width == 0 || p->out_channels == 0) return;
  im2col_run r = {.isa = isa, .p = p, .x = x, .w = w, .bias = bias, .y = y,
                  .scratch = scratch, .k = im2col_rows(p)};
  run_im2col(parallel, &r);
}
