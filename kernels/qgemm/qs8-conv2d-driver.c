/*
 * The qs8 convolution driver shared by every ISA (groups == 1), one image at a time:
 *  1. the image is quantized once (DYNAMIC: over its whole range, to [0, 127]) into an int8 copy
 *     framed by its padding, which holds the zero point (the quantized 0.0), so that every tap of
 *     every window reads inside the copy without a bounds check. With a horizontal stride s,
 *     each padded row is stored as s phases (columns s*i + phase, for phase = 0 .. s-1), so that
 *     the taps of consecutive output pixels are consecutive bytes whatever the stride. Rows
 *     and phases that no window reads keep the zero point unquantized (a 1x1 convolution with
 *     stride 2 reads a quarter of its image);
 *  2. the output pixels, in raster order, are taken 16 at a time: their patches are packed into
 *     one panel (k4 x 16 bytes, the packed-B layout), reading 16 consecutive bytes of the copy
 *     per k when the pixels are consecutive there, else one run per output row they span;
 *  3. the weights, read as rows of 8 output channels, multiply a block of panels (up to
 *     BLOCK_BYTES of them), and each tile lands in the NCHW output as it is: 8 channels by 16
 *     consecutive pixels. Per block, each tile of weights stays in L1 while it meets every panel,
 *     and each output channel is written in runs of up to 16 panels rather than 64 bytes. The
 *     image's quantization is folded into per-channel scales and offsets once per image, so a
 *     tile's epilogue reads three numbers per channel.
 * Threads split the output, never k: per image, tasks over ranges of input channels take the
 * image's range (each thread folding its tasks' ranges into its own slice, combined after) and
 * write the copy into the first thread's slice, which every later task reads with the folded
 * epilogue; then a task is a range of blocks by a range of 8-channel weight tiles, its panels
 * packed in its own thread's slice.
 * Blocks are split first, channel tiles too when there are fewer blocks than wanted tasks (a
 * small plane: its panels are then packed once per channel range). Each tile meets the same
 * panel bytes whatever the split, so results are bit-identical for any thread count.
 */
#include <string.h>

#include "kernels/elementwise/unary-clamp.h"
#include "kernels/qgemm/qs8-gemm-ukernel.h"

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* The padded copy of one image: `height` rows of `pitch` bytes per channel; a row is `phases`
 * (the horizontal stride) runs of `phase_width` bytes. */
typedef struct padded_image {
  size_t height, width, phases, phase_width, pitch, channel_bytes;
} padded_image;

/* The padded extent along one axis: the input and its leading pad, and as much trailing pad as
 * the last window needs. */
static size_t padded_extent(size_t input, size_t pad_begin, size_t output, size_t kernel,
                            size_t stride, size_t dilation) {
  const size_t needed = (output - 1) * stride + (kernel - 1) * dilation + 1;
  return needed > pad_begin + input ? needed : pad_begin + input;
}

/* For parameters whose window geometry was checked (the output size follows from the padded
 * input), so that the extents fit; the products are checked by scratch_offsets. */
static padded_image padded_geometry(const thaw_conv2d_params *p) {
  padded_image image;
  image.height = padded_extent(p->in_height, p->pad_top, p->out_height, p->kernel_height,
                               p->stride_h, p->dilation_h);
  image.width = padded_extent(p->in_width, p->pad_left, p->out_width, p->kernel_width,
                              p->stride_w, p->dilation_w);
  image.phases = p->stride_w;
  image.phase_width = (image.width + p->stride_w - 1) / p->stride_w;
  image.pitch = image.phases * image.phase_width;
  image.channel_bytes = image.height * image.pitch;
  return image;
}

/* Where a padded column lies inside its row of the copy. */
static size_t column_offset(const padded_image *image, size_t column) {
  return column % image->phases * image->phase_width + column / image->phases;
}

static size_t patch_length(const thaw_conv2d_params *p) {
  return p->in_channels * p->kernel_height * p->kernel_width;
}

/* Panels packed per block: as many as fit in BLOCK_BYTES (at least one), at most
 * BLOCK_MAX_PANELS. */
enum { BLOCK_BYTES = 64 * 1024, BLOCK_MAX_PANELS = 16 };

static size_t panel_bytes(const thaw_conv2d_params *p) {
  return thaw_qs8_round_k(patch_length(p)) * THAW_QS8_GEMM_NR;
}

static size_t block_panels(const thaw_conv2d_params *p) {
  const size_t fitting = BLOCK_BYTES / panel_bytes(p);
  return fitting == 0 ? 1 : min_size(fitting, BLOCK_MAX_PANELS);
}

/* Where each part of the scratch lies. */
typedef struct conv_scratch {
  int8_t *image;   /* in_channels x channel_bytes, then THAW_QS8_GEMM_NR slack bytes */
  int8_t *row;     /* one quantized input row, before its phases are split */
  int8_t *runs;    /* k rows of 16 bytes (and 16 slack) gathered for a panel */
  int8_t *panels; /* block_panels() panels of k4 x 16 */
  /* Per row of the patches (k of them): where its bytes start in the copy (from a pixel's
   * window origin), and in the gathered runs. */
  ptrdiff_t *row_offsets, *gathered_offsets;
  /* The epilogue's per-channel values (thaw_qs8_conv_tile_args), out_channels rounded up to
   * whole weight panels. */
  float *scales;
  int32_t *offsets;
  float *biases;
  float *range; /* the minimum and maximum of the image this thread's tasks have seen */
} conv_scratch;

enum { SCRATCH_PARTS = 10 };

static size_t padded_channels(const thaw_conv2d_params *p) {
  return (p->out_channels + THAW_QS8_GEMM_NR - 1) / THAW_QS8_GEMM_NR * THAW_QS8_GEMM_NR;
}

/* Byte offsets of the parts and the total, for a patch length of at most THAW_QS8_GEMM_MAX_K
 * (which keeps all but the image small); false when they do not fit in size_t. The panel reads
 * up to 15 bytes past the last pixel it packs: the slack keeps those inside the scratch. */
static bool scratch_offsets(const thaw_conv2d_params *p, size_t offsets[SCRATCH_PARTS],
                            size_t *total) {
  const padded_image image = padded_geometry(p);
  size_t image_bytes;
  if (__builtin_mul_overflow(image.height, image.pitch, &image_bytes) ||
      __builtin_mul_overflow(image_bytes, p->in_channels, &image_bytes) ||
      image_bytes > SIZE_MAX / 2) {
    return false;
  }
  const size_t k = patch_length(p), row_offsets_bytes = k * sizeof(ptrdiff_t);
  const size_t channel_values_bytes = padded_channels(p) * sizeof(float);
  const size_t sizes[SCRATCH_PARTS] = {
      image_bytes + THAW_QS8_GEMM_NR, p->in_width,
      (k + 1) * THAW_QS8_GEMM_NR,     block_panels(p) * panel_bytes(p),
      row_offsets_bytes,              row_offsets_bytes,
      channel_values_bytes,           channel_values_bytes,
      channel_values_bytes,           2 * sizeof(float),
  };
  size_t offset = 0;
  for (size_t part = 0; part < SCRATCH_PARTS; part++) {
    offsets[part] = offset;
    if (__builtin_add_overflow(offset, align64(sizes[part]), &offset)) return false;
  }
  *total = offset;
  return true;
}

size_t thaw_qs8_conv2d_scratch_size(const thaw_conv2d_params *p) {
  size_t offsets[SCRATCH_PARTS], total;
  const bool patch_fits =
      p->kernel_height != 0 && p->kernel_width != 0 &&
      p->in_channels <= THAW_QS8_GEMM_MAX_K / p->kernel_height / p->kernel_width;
  return patch_fits && p->out_height != 0 && p->out_width != 0 && p->in_width <= SIZE_MAX / 2 &&
                 p->out_channels <= SIZE_MAX / 8 && scratch_offsets(p, offsets, &total)
             ? total
             : SIZE_MAX;
}

/* Whether some window reads padded row `row`: row = oh * stride_h + kh * dilation_h for an
 * output row oh and a kernel row kh. A 1x1 convolution with stride 2 reads every other row, and
 * the rows no window reads are left unquantized. */
static bool row_is_read(const thaw_conv2d_params *p, size_t row) {
  for (size_t kh = 0; kh < p->kernel_height && kh * p->dilation_h <= row; kh++) {
    const size_t origin = row - kh * p->dilation_h;
    if (origin % p->stride_h == 0 && origin / p->stride_h < p->out_height) return true;
  }
  return false;
}

/* Whether some window reads the padded columns of phase `phase` (column % stride_w): a window's
 * kernel column kw reads phase kw * dilation_w % stride_w, which repeats with a period of at
 * most stride_w kernel columns. */
static bool phase_is_read(const thaw_conv2d_params *p, size_t phase) {
  for (size_t kw = 0; kw < p->kernel_width && kw < p->stride_w; kw++)
    if (kw * p->dilation_w % p->stride_w == phase) return true;
  return false;
}

static bool every_row_read(const thaw_conv2d_params *p) {
  for (size_t row = p->pad_top; row < p->pad_top + p->in_height; row++)
    if (!row_is_read(p, row)) return false;
  return true;
}

static bool every_phase_read(const thaw_conv2d_params *p) {
  for (size_t phase = 0; phase < p->stride_w; phase++)
    if (!phase_is_read(p, phase)) return false;
  return true;
}

/* Bytes `from[i * phases]` for i < count to `to`, for one phase of a quantized row. Inlined with
 * phases = 2 (the common stride), the compiler turns it into vector shuffles. */
static inline __attribute__((always_inline)) void deal_phase(size_t count, size_t phases,
                                                             const int8_t *from, int8_t *to) {
  for (size_t i = 0; i < count; i++) to[i] = from[i * phases];
}

/* Deal the `width` bytes of a quantized row, which start at padded column `first`, to the
 * phases of the copy's row (column_offset) that some window reads: every `phases`-th byte lands
 * next to the previous one. */
static void split_phases(const thaw_conv2d_params *p, const padded_image *image,
                         bool every_phase_read, size_t first, size_t width,
                         const int8_t *quantized, int8_t *row) {
  for (size_t start = 0; start < image->phases && start < width; start++) {
    if (!every_phase_read && !phase_is_read(p, (first + start) % image->phases)) continue;
    int8_t *out = row + column_offset(image, first + start);
    const size_t count = (width - start + image->phases - 1) / image->phases;
    if (image->phases == 2)
      deal_phase(count, 2, quantized + start, out);
    else
      deal_phase(count, image->phases, quantized + start, out);
  }
}

/* The image's quantization folded into each channel's scale and weight sum, zeros past the last
 * channel (the padding of the packed weights' sums is not validated: it is never multiplied). */
static void fold_epilogue(const thaw_conv2d_params *p, const thaw_qs8_packed_b *weights,
                          const thaw_qs8_row_quantization *input, const float *bias,
                          const conv_scratch *parts) {
  const size_t padded = padded_channels(p);
  for (size_t c = 0; c < padded; c++) {
    const bool real = c < p->out_channels;
    parts->scales[c] = real ? input->scale * weights->column_scales[c] : 0.0f;
    parts->offsets[c] = real ? input->zero_point * weights->column_sums[c] : 0;
    parts->biases[c] = real && bias != NULL ? bias[c] : 0.0f;
  }
}

/* Step 2 for 16 pixels that are not consecutive in the copy (they span output rows): each
 * k's 16 bytes gathered as one 16-byte copy per output row, later runs overwriting the tail of
 * earlier ones, then packed like consecutive pixels. */
static void gather_panel(const thaw_qs8_gemm_isa *isa, const thaw_conv2d_params *p,
                         const padded_image *image, const conv_scratch *parts,
                         size_t first_pixel, size_t pixels, int8_t *panel) {
  size_t run_starts[THAW_QS8_GEMM_NR], run_sources[THAW_QS8_GEMM_NR], runs = 0;
  for (size_t j = 0; j < pixels; runs++) {
    const size_t oh = (first_pixel + j) / p->out_width, ow = (first_pixel + j) % p->out_width;
    run_starts[runs] = j;
    run_sources[runs] = oh * p->stride_h * image->pitch + ow;
    j += p->out_width - ow;
  }
  const size_t k = patch_length(p);
  int8_t *gathered = parts->runs;
  for (size_t kk = 0; kk < k; kk++, gathered += THAW_QS8_GEMM_NR) {
    const int8_t *row = parts->image + parts->row_offsets[kk];
    for (size_t r = 0; r < runs; r++)
      memcpy(gathered + run_starts[r], row + run_sources[r], THAW_QS8_GEMM_NR);
  }
  isa->pack_panel(k, parts->runs, parts->gathered_offsets, panel);
}

/* Where the parts of thread `thread_index`'s scratch slice lie. */
static conv_scratch slice_parts(uint8_t *scratch, size_t scratch_stride, size_t thread_index,
                                const size_t offsets[SCRATCH_PARTS]) {
  uint8_t *base = scratch + thread_index * scratch_stride;
  return (conv_scratch){
      .image = (int8_t *)(base + offsets[0]),
      .row = (int8_t *)(base + offsets[1]),
      .runs = (int8_t *)(base + offsets[2]),
      .panels = (int8_t *)(base + offsets[3]),
      .row_offsets = (ptrdiff_t *)(base + offsets[4]),
      .gathered_offsets = (ptrdiff_t *)(base + offsets[5]),
      .scales = (float *)(base + offsets[6]),
      .offsets = (int32_t *)(base + offsets[7]),
      .biases = (float *)(base + offsets[8]),
      .range = (float *)(base + offsets[9]),
  };
}

/* What every task of one image shares. */
typedef struct qs8_conv_run {
  const thaw_qs8_gemm_isa *isa;
  const thaw_conv2d_params *p;
  padded_image image;
  conv_scratch shared; /* the first slice: the copy, row offsets, epilogue values */
  uint8_t *scratch;
  size_t scratch_stride;
  size_t offsets[SCRATCH_PARTS];
  thaw_qs8_packed_b weights;
  thaw_qs8_conv_ukernel_fn ukernel;
  float min, max;
  bool fused;
  bool rows_consecutive; /* see thaw_qs8_conv2d_drive */
  /* Whether windows read every padded row and every phase: the usual case, which spares the
   * copy the divisions of row_is_read and phase_is_read. */
  bool every_row_read, every_phase_read;
  float *y_image;
  size_t pixels, block_pixels, k4, panel_step;
  size_t blocks_per_task, channel_chunks, channels_per_task; /* channels: a multiple of MR */
} qs8_conv_run;

/* What quantizing one image (step 1) on the threads shares: tasks are ranges of input
 * channels. */
typedef struct image_run {
  const qs8_conv_run *r;
  const float *x;
  thaw_qs8_row_quantization quantization;
  float lowest;
  size_t channels_per_task;
} image_run;

/* What quantizing one input value costs in the flops thaw_parallel_task_count counts (some
 * 0.4 ns: a range pass and a quantizing pass over it). */
#define QUANTIZE_VALUE_COST 12.0

/* The range of the task's channels, folded into its thread's slice: a minimum and a maximum do
 * not depend on the order they are taken in, so the image's range is the same for any split. */
static void range_task(void *context, size_t thread_index, size_t task_index) {
  const image_run *run = context;
  const qs8_conv_run *r = run->r;
  const size_t plane = r->p->in_height * r->p->in_width;
  const size_t first = task_index * run->channels_per_task;
  const size_t end = min_size(first + run->channels_per_task, r->p->in_channels);
  float min, max;
  r->isa->range((end - first) * plane, run->x + first * plane, &min, &max);
  float *range = slice_parts(r->scratch, r->scratch_stride, thread_index, r->offsets).range;
  range[0] = min < range[0] ? min : range[0];
  range[1] = max > range[1] ? max : range[1];
}

/* The task's channels of the padded, phase-split int8 copy. */
static void copy_task(void *context, size_t thread_index, size_t task_index) {
  const image_run *run = context;
  const qs8_conv_run *r = run->r;
  const thaw_conv2d_params *p = r->p;
  const size_t plane = p->in_height * p->in_width;
  const size_t first = task_index * run->channels_per_task;
  const size_t end = min_size(first + run->channels_per_task, p->in_channels);
  int8_t *copy = r->shared.image + first * r->image.channel_bytes;
  const float *x = run->x + first * plane;
  if (r->image.height == p->in_height && r->image.pitch == p->in_width && r->image.phases == 1) {
    r->isa->quantize((end - first) * plane, x, &run->quantization, run->lowest, copy);
    return;
  }
  memset(copy, (int)run->quantization.zero_point, (end - first) * r->image.channel_bytes);
  int8_t *quantized_row =
      slice_parts(r->scratch, r->scratch_stride, thread_index, r->offsets).row;
  for (size_t c = first; c < end; c++, copy += r->image.channel_bytes, x += plane) {
    for (size_t h = 0; h < p->in_height; h++) {
      if (!r->every_row_read && !row_is_read(p, p->pad_top + h)) continue;
      int8_t *row = copy + (p->pad_top + h) * r->image.pitch;
      const float *x_row = x + h * p->in_width;
      if (r->image.phases == 1) {
        r->isa->quantize(p->in_width, x_row, &run->quantization, run->lowest, row + p->pad_left);
        continue;
      }
      r->isa->quantize(p->in_width, x_row, &run->quantization, run->lowest, quantized_row);
      split_phases(p, &r->image, r->every_phase_read, p->pad_left, p->in_width, quantized_row,
                   row);
    }
  }
}

/* Step 1: the quantization of the image x and its padded, phase-split int8 copy. */
static thaw_qs8_row_quantization quantize_image(const qs8_conv_run *r, const thaw_qs8_input *input,
                                                const float *x, const thaw_parallel *parallel) {
  const thaw_conv2d_params *p = r->p;
  const size_t plane = p->in_height * p->in_width;
  image_run run = {.r = r, .x = x, .quantization = {input->scale, input->zero_point},
                   .lowest = thaw_qs8_lowest(input->mode)};
  const size_t tasks =
      thaw_parallel_task_count(parallel, p->in_channels, QUANTIZE_VALUE_COST * (double)plane);
  run.channels_per_task = (p->in_channels + tasks - 1) / tasks;
  const size_t task_count = (p->in_channels + run.channels_per_task - 1) / run.channels_per_task;
  if (input->mode == THAW_QS8_DYNAMIC) {
    /* Each thread's range starts at 0, as the range of a run of values does. */
    for (size_t t = 0; t < parallel->thread_count; t++) {
      float *range = slice_parts(r->scratch, r->scratch_stride, t, r->offsets).range;
      range[0] = range[1] = 0.0f;
    }
    parallel->run(parallel, task_count, range_task, &run);
    float min = 0.0f, max = 0.0f;
    for (size_t t = 0; t < parallel->thread_count; t++) {
      const float *range = slice_parts(r->scratch, r->scratch_stride, t, r->offsets).range;
      min = range[0] < min ? range[0] : min;
      max = range[1] > max ? range[1] : max;
    }
    run.quantization = thaw_qs8_dynamic_quantization(min, max);
  }
  memset(r->shared.image + p->in_channels * r->image.channel_bytes, 0, THAW_QS8_GEMM_NR);
  parallel->run(parallel, task_count, copy_task, &run);
  return run.quantization;
}

/* Step 2: the panels of pixels [block, block_end) into `own` slice's panels. */
static void pack_block(const qs8_conv_run *r, const conv_scratch *own, size_t block,
                       size_t block_end) {
  const thaw_conv2d_params *p = r->p;
  int8_t *panel = own->panels;
  for (size_t first = block; first < block_end; first += THAW_QS8_GEMM_NR, panel += r->panel_step) {
    const size_t nr = min_size(THAW_QS8_GEMM_NR, r->pixels - first);
    const size_t oh = first / p->out_width, ow = first % p->out_width;
    if (r->rows_consecutive || ow + nr <= p->out_width) {
      const int8_t *origin = r->shared.image + oh * p->stride_h * r->image.pitch + ow;
      r->isa->pack_panel(patch_length(p), origin, r->shared.row_offsets, panel);
    } else {
      gather_panel(r->isa, p, &r->image, own, first, nr, panel);
    }
  }
}

static void conv_task(void *context, size_t thread_index, size_t task_index) {
  const qs8_conv_run *r = context;
  const thaw_conv2d_params *p = r->p;
  /* The shared parts, with this thread's gathering and panels. */
  conv_scratch own = r->shared;
  const conv_scratch slice = slice_parts(r->scratch, r->scratch_stride, thread_index, r->offsets);
  own.runs = slice.runs;
  own.panels = slice.panels;
  const size_t first_channel = task_index % r->channel_chunks * r->channels_per_task;
  const size_t end_channel = min_size(first_channel + r->channels_per_task, p->out_channels);
  const size_t first_pixel =
      task_index / r->channel_chunks * r->blocks_per_task * r->block_pixels;
  const size_t end_pixel = min_size(first_pixel + r->blocks_per_task * r->block_pixels, r->pixels);
  thaw_qs8_conv_tile_args args = {.min = r->min, .max = r->max};
  for (size_t block = first_pixel; block < end_pixel; block += r->block_pixels) {
    const size_t block_end = min_size(block + r->block_pixels, r->pixels);
    pack_block(r, &own, block, block_end);
    for (size_t channel = first_channel; channel < end_channel; channel += THAW_QS8_CONV_MR) {
      const int8_t *w = r->weights.panels + channel / THAW_QS8_GEMM_NR * r->weights.panel_bytes +
                        channel % THAW_QS8_GEMM_NR * THAW_QS8_GEMM_KR;
      args.scales = r->shared.scales + channel;
      args.offsets = r->shared.offsets + channel;
      args.biases = r->shared.biases + channel;
      const size_t mr = min_size(THAW_QS8_CONV_MR, end_channel - channel);
      const int8_t *panel = own.panels;
      for (size_t first = block; first < block_end;
           first += THAW_QS8_GEMM_NR, panel += r->panel_step) {
        r->ukernel(mr, min_size(THAW_QS8_GEMM_NR, r->pixels - first), r->k4, w, panel,
                   r->y_image + channel * r->pixels + first, r->pixels, &args);
      }
    }
    if (r->fused) continue;
    for (size_t channel = first_channel; channel < end_channel; channel++) {
      float *run = r->y_image + channel * r->pixels + block;
      r->isa->unary(&p->activation, block_end - block, run, run);
    }
  }
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

void thaw_qs8_conv2d_drive(const thaw_qs8_gemm_isa *isa, const thaw_conv2d_params *p,
                           const thaw_qs8_input *input, const float *x, const void *packed_w,
                           const float *bias, float *y, void *scratch,
                           const thaw_parallel *parallel) {
  qs8_conv_run r = {.isa = isa, .p = p, .image = padded_geometry(p), .scratch = scratch,
                    .scratch_stride = thaw_scratch_slice_bytes(thaw_qs8_conv2d_scratch_size(p))};
  size_t total;
  scratch_offsets(p, r.offsets, &total); /* checked when the scratch was sized */
  r.shared = slice_parts(scratch, r.scratch_stride, 0, r.offsets);
  size_t kk = 0;
  for (size_t c = 0; c < p->in_channels; c++) {
    for (size_t kh = 0; kh < p->kernel_height; kh++) {
      for (size_t kw = 0; kw < p->kernel_width; kw++, kk++) {
        r.shared.row_offsets[kk] =
            (ptrdiff_t)(c * r.image.channel_bytes + kh * p->dilation_h * r.image.pitch +
                        column_offset(&r.image, kw * p->dilation_w));
        r.shared.gathered_offsets[kk] = (ptrdiff_t)(kk * THAW_QS8_GEMM_NR);
      }
    }
  }
  r.k4 = thaw_qs8_round_k(patch_length(p));
  r.pixels = p->out_height * p->out_width;
  r.block_pixels = block_panels(p) * THAW_QS8_GEMM_NR;
  r.panel_step = panel_bytes(p);
  /* Rows of pixels follow each other in the copy when the output is as wide as a row of it
   * (a 1x1 convolution with stride 1 and no padding). */
  r.rows_consecutive = p->stride_h * r.image.pitch == p->out_width;
  r.every_row_read = every_row_read(p);
  r.every_phase_read = every_phase_read(p);
  thaw_qs8_packed_b_parts(patch_length(p), p->out_channels, packed_w, &r.weights);
  const size_t image_floats = p->in_channels * p->in_height * p->in_width;
  const thaw_qs8_input resolved =
      input->mode == THAW_QS8_DYNAMIC_TENSOR
          ? thaw_qs8_whole_tensor_input(isa, p->batch, image_floats, (ptrdiff_t)image_floats, x)
          : *input;
  input = &resolved;
  r.ukernel = input->mode == THAW_QS8_DYNAMIC ? isa->conv_unsigned7 : isa->conv_signed;
  r.fused = thaw_unary_as_clamp(&p->activation, &r.min, &r.max);

  const size_t blocks = ceil_div(r.pixels, r.block_pixels);
  const size_t channel_tiles = ceil_div(p->out_channels, THAW_QS8_CONV_MR);
  const size_t tasks = thaw_parallel_task_count(
      parallel, blocks * channel_tiles, 2.0 * (double)(THAW_QS8_CONV_MR * r.block_pixels * r.k4));
  r.blocks_per_task = ceil_div(blocks, min_size(tasks, blocks));
  const size_t block_tasks = ceil_div(blocks, r.blocks_per_task);
  r.channels_per_task =
      ceil_div(channel_tiles, min_size(ceil_div(tasks, block_tasks), channel_tiles)) *
      THAW_QS8_CONV_MR;
  r.channel_chunks = ceil_div(p->out_channels, r.channels_per_task);
  for (size_t n = 0; n < p->batch; n++) {
    const thaw_qs8_row_quantization quantization =
        quantize_image(&r, input, x + n * p->in_channels * p->in_height * p->in_width, parallel);
    fold_epilogue(p, &r.weights, &quantization, bias, &r.shared);
    r.y_image = y + n * p->out_channels * r.pixels;
    parallel->run(parallel, block_tasks * r.channel_chunks, conv_task, &r);
  }
}
