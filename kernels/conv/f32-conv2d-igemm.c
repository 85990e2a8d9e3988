/* The implicit-GEMM path of the convolution driver (f32-igemm.h): a task pads the input rows of
 * a band of output rows into its scratch slice, then runs the tiles of every output channel
 * over every 16-pixel block of those rows, all channels of a block while its input is in L1. */
#include <stdint.h>

#include "kernels/conv/conv-driver.h"
#include "kernels/elementwise/unary-clamp.h"

enum {
  /* The padded rows of a band stay within this (a quarter of L2), so that a band's rows, each
   * read by kernel_height output rows, are still cached when the later ones come; a band has
   * at least one output row. */
  IGEMM_BAND_BYTES = 128 << 10,
  /* At most this many taps per output, so that the input lines one tile reads (k rows of 16
   * floats, two lines each at most: 20 KiB) stay in L1 for the next tiles of the block. */
  IGEMM_MAX_K = 160,
  /* The lanes a row's overlapping last tile computes again are at most 1/IGEMM_MAX_WASTE of
   * the row (a 28-wide row, 4 of 32 lanes, goes to im2col, which packs pixels across rows). */
  IGEMM_MAX_WASTE = 8,
};

static size_t ceil_div(size_t numerator, size_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

static size_t taps(const thaw_conv2d_params *p) {
  return p->in_channels / p->groups * p->kernel_height * p->kernel_width;
}

bool thaw_f32_igemm_pays(const thaw_conv2d_params *p) {
  /* A tile's pixels lie in one output row, which must be at least a tile wide. */
  if (taps(p) > IGEMM_MAX_K || p->out_width < THAW_IGEMM_NR) return false;
  const size_t recomputed = ceil_div(p->out_width, THAW_IGEMM_NR) * THAW_IGEMM_NR - p->out_width;
  return recomputed * IGEMM_MAX_WASTE <= p->out_width;
}

/* The output rows of a band whose padded rows fit in IGEMM_BAND_BYTES (at least one, at most
 * the plane), or 0 when even one row's size overflows. */
static size_t band_rows(const thaw_conv2d_params *p) {
  const size_t one_row = thaw_f32_im2col_padded_size(p, 1);
  const size_t two_rows = thaw_f32_im2col_padded_size(p, 2);
  if (two_rows == SIZE_MAX) return 0;
  const size_t rows =
      one_row >= IGEMM_BAND_BYTES ? 1 : 1 + (IGEMM_BAND_BYTES - one_row) / (two_rows - one_row);
  return min_size(rows, p->out_height);
}

/* A slice: the tap offsets, then the band's padded rows. */
static size_t offsets_bytes(const thaw_conv2d_params *p) {
  return thaw_scratch_slice_bytes(taps(p) * sizeof(ptrdiff_t));
}

size_t thaw_f32_igemm_scratch_size(const thaw_conv2d_params *p) {
  /* An empty output plane is not computed at all. */
  if (p->out_height == 0 || p->out_width == 0) return 0;
  const size_t rows = band_rows(p);
  size_t offsets, total;
  if (rows == 0 || __builtin_mul_overflow(taps(p), sizeof(ptrdiff_t), &offsets) ||
      offsets > SIZE_MAX - THAW_SCRATCH_ALIGNMENT ||
      __builtin_add_overflow(thaw_scratch_slice_bytes(offsets),
                             thaw_f32_im2col_padded_size(p, rows), &total))
    return SIZE_MAX;
  return total;
}

/* What the tasks of one convolution share: a task is one band of one (image, group). */
typedef struct igemm_run {
  const thaw_conv2d_params *p;
  thaw_f32_igemm_ukernel ukernel;
  void (*unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
  const float *x, *w, *bias;
  float *y;
  char *scratch;
  size_t scratch_stride; /* bytes between the threads' scratch slices */
  size_t bands, rows_per_band;
  float min, max; /* the activation as a clamp, or unbounded when it is applied afterwards */
  bool clamped;
} igemm_run;

static void band_task(void *context, size_t thread_index, size_t task_index) {
  const igemm_run *r = context;
  const thaw_conv2d_params *p = r->p;
  const size_t image_group = task_index / r->bands, band = task_index % r->bands;
  const size_t n = image_group / p->groups, g = image_group % p->groups;
  const size_t group_in = p->in_channels / p->groups, group_out = p->out_channels / p->groups;
  const size_t out_plane = p->out_height * p->out_width, k = taps(p);
  const size_t first_row = band * r->rows_per_band;
  const size_t rows = min_size(r->rows_per_band, p->out_height - first_row);

  char *slice = r->scratch + thread_index * r->scratch_stride;
  ptrdiff_t *tap_offsets = (ptrdiff_t *)slice;
  float *padded = (float *)(slice + offsets_bytes(p));
  thaw_f32_im2col_pad(p, r->x + (n * p->in_channels + g * group_in) * p->in_height * p->in_width,
                      first_row, rows, 0, group_in, padded);
  const size_t row_step = thaw_f32_im2col_taps(p, rows, tap_offsets);

  const float *w = r->w + g * group_out * k;
  const float *bias = r->bias != NULL ? r->bias + g * group_out : NULL;
  float *y = r->y + (n * p->out_channels + g * group_out) * out_plane;
  /* The group's output channels in tiles of nearly equal height (as the GEMM cuts its rows):
   * a short tile has too few accumulators to keep the FMA units busy. */
  const size_t tiles = ceil_div(group_out, THAW_IGEMM_MR);
  const size_t short_rows = group_out / tiles, taller_tiles = group_out % tiles;
  const size_t blocks_per_row = ceil_div(p->out_width, THAW_IGEMM_NR);
  for (size_t row = 0; row < rows; row++) {
    const size_t first_pixel = (first_row + row) * p->out_width;
    for (size_t block = 0; block < blocks_per_row; block++) {
      /* The last block of a row ends at the row's end, overlapping the one before it. */
      const size_t ow = min_size(block * THAW_IGEMM_NR, p->out_width - THAW_IGEMM_NR);
      for (size_t tile = 0, oc = 0; tile < tiles; tile++) {
        const size_t mr = short_rows + (tile < taller_tiles);
        r->ukernel(mr, k, w + oc * k, padded + row * row_step + ow, tap_offsets,
                   bias != NULL ? bias + oc : NULL, y + oc * out_plane + first_pixel + ow,
                   (ptrdiff_t)out_plane, r->min, r->max);
        oc += mr;
      }
    }
    if (!r->clamped) {
      for (size_t oc = 0; oc < group_out; oc++) {
        float *out = y + oc * out_plane + first_pixel;
        r->unary(&p->activation, p->out_width, out, out);
      }
    }
  }
}

void thaw_f32_igemm_run(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                        const float *w, const float *bias, float *y, void *scratch,
                        const thaw_parallel *parallel) {
  if (p->batch == 0 || p->out_height == 0 || p->out_width == 0 || p->out_channels == 0) return;
  igemm_run r = {.p = p, .ukernel = isa->igemm, .unary = isa->unary, .x = x, .w = w,
                 .bias = bias, .y = y, .scratch = scratch,
                 .scratch_stride = thaw_scratch_slice_bytes(thaw_f32_igemm_scratch_size(p))};
  r.clamped = thaw_unary_as_clamp(&p->activation, &r.min, &r.max);
  /* Bands of at most band_rows(p), and more of them when the threads need more tasks. */
  const size_t image_groups = p->batch * p->groups;
  const double row_flops =
      2.0 * (double)taps(p) * (double)p->out_width * (double)(p->out_channels / p->groups);
  const size_t wanted_bands = ceil_div(
      thaw_parallel_task_count(parallel, image_groups * p->out_height, row_flops), image_groups);
  size_t bands = ceil_div(p->out_height, band_rows(p));
  if (bands < wanted_bands) bands = min_size(wanted_bands, p->out_height);
  r.rows_per_band = ceil_div(p->out_height, bands);
  r.bands = ceil_div(p->out_height, r.rows_per_band);
  parallel->run(parallel, image_groups * r.bands, band_task, &r);
}
