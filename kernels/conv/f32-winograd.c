/*
 * The Winograd path of the convolution driver (f32-winograd.h): when it pays, scratch, and the
 * run, with one ISA's transforms and GEMM.
 *
 * A run first transforms every filter into U, at the start of the scratch (all threads read
 * it). Then each task takes one chunk of whole slot rows of one image, in its thread's work
 * area: the chunk's input rows zero-padded, their 36 transformed matrices V, then, for a block of output channels at a time, the 36 GEMMs U[xi] V[xi] and the
 * output transform, which adds the bias, clamps (ReLU, Clip) and writes the NCHW output; any
 * other activation then runs over the finished rows. Every tile goes through the same
 * transforms and the same column of the same kind of GEMM tile whatever chunk it falls in
 * (chunks start at panel-aligned slot rows), so neither the chunk size nor the thread count
 * changes a bit of the output.
 */
#include "kernels/conv/conv-driver.h"
#include "kernels/elementwise/unary-clamp.h"

enum {
  /* The chunk's V and GEMM products stay within this many bytes, about half of L2, so that
   * each GEMM finds its panels and the output transform its products still in cache. */
  WINOGRAD_CHUNK_BYTES = 512 << 10,
  /* Output channels per block of GEMMs: their products M are that many rows per point. */
  WINOGRAD_OUT_BLOCK = 64,
  /* The layer's weights, transformed, at most: U is 4x the size of the weights, written and
   * read once per run, and held in the session's scratch. Above this, im2col. */
  WINOGRAD_MAX_U_BYTES = 3 << 20,
};

/* What the parts of the Winograd path cost, in the multiply-adds of a GEMM that take as
 * long (one core, from bench_conv and perf on ResNet-18's and SqueezeNet's 3x3 layers): the
 * input transform per tile slot and input channel (the padding copy included), the output
 * transform per tile slot and output channel, one filter's transform, and im2col's gathering
 * per value. A filter's transform takes 7-8.5 ns with 32-64 input channels (timed alone on
 * SqueezeNet's layers), some 300-350 multiply-adds of the GEMM on them (~40 per ns); counted
 * at 850, SqueezeNet's 13x13 layers stayed on im2col, which bench_conv measures 1.1-1.3x
 * slower there. */
#define WINOGRAD_INPUT_COST 1000.0
#define WINOGRAD_OUTPUT_COST 800.0
#define WINOGRAD_FILTER_COST 400.0
#define IM2COL_GATHER_COST 13.0

static size_t ceil_div(size_t numerator, size_t denominator) {
  return numerator / denominator + (numerator % denominator != 0);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The tiling of p's output plane (f32-winograd.h), and the largest chunk, in slot rows. */
typedef struct winograd_geometry {
  size_t slot_rows, tile_slots, stacked_rows, row_floats, out_block, chunk_rows;
} winograd_geometry;

/* The fewest slot rows whose slots fill whole GEMM panels. Chunks are cut at multiples of it
 * (but for the plane's last), so that a chunk's columns run in full 16-wide GEMM tiles rather
 * than ending on an 8-wide edge, and every tile falls at the same column of the same kind of
 * tile whatever the chunking, which changes with the thread count. The bits would not change
 * either way (the GEMM's 8-wide edge sums like its full tile, and Winograd's column counts, in
 * multiples of 8, never reach its narrower dot edge); the alignment keeps the tiles full. */
static size_t panel_aligned_rows(size_t tile_slots) {
  size_t rows = 1;
  while (rows * tile_slots % THAW_GEMM_NR != 0) rows++;
  return rows;
}

static size_t round_up(size_t value, size_t multiple) {
  return ceil_div(value, multiple) * multiple;
}

static winograd_geometry geometry_of(const thaw_conv2d_params *p) {
  winograd_geometry g;
  const size_t tiles_across = ceil_div(p->out_width, 4);
  g.stacked_rows = 2 * tiles_across <= THAW_WINOGRAD_SLOT_BLOCK ? 2 : 1;
  g.slot_rows = ceil_div(ceil_div(p->out_height, 4), g.stacked_rows);
  g.tile_slots = round_up(tiles_across * g.stacked_rows, THAW_WINOGRAD_SLOT_BLOCK);
  /* A tile row's patches; the last quad's loads reach 4 floats past its last tile. */
  g.row_floats = 4 * (g.tile_slots / g.stacked_rows) + 4;
  g.out_block = min_size(p->out_channels, WINOGRAD_OUT_BLOCK);
  /* A slot row of V and of one block's products; a width whose panel-aligned rows alone
   * overflow the budget gets chunks of those rows, and work_bytes reports an overflow. */
  size_t row_bytes, rows = 0;
  if (!__builtin_mul_overflow(p->in_channels + g.out_block, g.tile_slots, &row_bytes) &&
      !__builtin_mul_overflow(row_bytes, THAW_WINOGRAD_POINTS * sizeof(float), &row_bytes))
    rows = WINOGRAD_CHUNK_BYTES / row_bytes;
  const size_t aligned = panel_aligned_rows(g.tile_slots);
  g.chunk_rows = min_size(rows < aligned ? aligned : rows - rows % aligned, g.slot_rows);
  return g;
}

/* The padded input rows of a chunk are im2col's padded rows (conv-driver.h) for a 1-wide
 * window over row_floats output columns, 3 rows high: the same copy (4 output rows per tile
 * row). */
static thaw_conv2d_params padded_rows_params(const thaw_conv2d_params *p,
                                             const winograd_geometry *g) {
  thaw_conv2d_params rows = *p;
  rows.out_width = g->row_floats;
  rows.kernel_width = 1;
  return rows;
}

/* One thread's work area for chunks of g->chunk_rows slot rows: the padded rows, then V at
 * v_offset, then the products of one block of output channels at m_offset; bytes in all, or
 * SIZE_MAX on overflow. */
typedef struct work_layout {
  size_t v_offset, m_offset, bytes;
} work_layout;

static work_layout layout_work(const thaw_conv2d_params *p, const winograd_geometry *g) {
  const thaw_conv2d_params rows = padded_rows_params(p, g);
  const size_t padded = thaw_f32_im2col_padded_size(&rows, 4 * g->stacked_rows * g->chunk_rows);
  size_t slots, v, m;
  if (padded == SIZE_MAX || __builtin_mul_overflow(g->chunk_rows, g->tile_slots, &slots) ||
      __builtin_mul_overflow(ceil_div(slots, THAW_GEMM_NR) * THAW_GEMM_NR, p->in_channels, &v) ||
      __builtin_mul_overflow(v, THAW_WINOGRAD_POINTS * sizeof(float), &v) ||
      __builtin_mul_overflow(slots, g->out_block, &m) ||
      __builtin_mul_overflow(m, THAW_WINOGRAD_POINTS * sizeof(float), &m) ||
      padded > SIZE_MAX / 4 || v > SIZE_MAX / 4 || m > SIZE_MAX / 4)
    return (work_layout){0, 0, SIZE_MAX};
  const size_t v_offset = thaw_scratch_slice_bytes(padded);
  const size_t m_offset = v_offset + thaw_scratch_slice_bytes(v);
  return (work_layout){v_offset, m_offset, m_offset + thaw_scratch_slice_bytes(m)};
}

/* Bytes of U, SIZE_MAX on overflow. */
static size_t weight_bytes(const thaw_conv2d_params *p) {
  size_t bytes;
  if (__builtin_mul_overflow(p->out_channels, p->in_channels, &bytes) ||
      __builtin_mul_overflow(bytes, THAW_WINOGRAD_POINTS * sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

bool thaw_f32_winograd_pays(const thaw_conv2d_params *p) {
  if (p->groups != 1 || p->kernel_height != 3 || p->kernel_width != 3 || p->stride_h != 1 ||
      p->stride_w != 1 || p->dilation_h != 1 || p->dilation_w != 1 || p->batch == 0 ||
      p->out_height == 0 || p->out_width == 0 || p->in_channels == 0 || p->out_channels == 0)
    return false;
  if (weight_bytes(p) > WINOGRAD_MAX_U_BYTES) return false;
  const winograd_geometry g = geometry_of(p);
  const double in = (double)p->in_channels, out = (double)p->out_channels;
  const double pixels = (double)p->out_height * (double)p->out_width;
  const double slots = (double)g.slot_rows * (double)g.tile_slots * (double)p->batch;
  const double im2col = 9.0 * in * pixels * (out + IM2COL_GATHER_COST) * (double)p->batch;
  const double winograd = THAW_WINOGRAD_POINTS * in * out * slots +
                          slots * (WINOGRAD_INPUT_COST * in + WINOGRAD_OUTPUT_COST * out) +
                          WINOGRAD_FILTER_COST * in * out;
  return winograd < im2col;
}

size_t thaw_f32_winograd_scratch_size(const thaw_conv2d_params *p) {
  const winograd_geometry g = geometry_of(p);
  const size_t u = weight_bytes(p), work = layout_work(p, &g).bytes;
  if (u == SIZE_MAX || work == SIZE_MAX || u > SIZE_MAX / 4 || work > SIZE_MAX / 4)
    return SIZE_MAX;
  return thaw_scratch_slice_bytes(u) + work;
}

/* What the tasks of one run share. */
typedef struct winograd_run {
  const thaw_conv2d_isa *isa;
  const thaw_conv2d_params *p;
  thaw_conv2d_params padded_rows;
  const float *x, *w, *bias;
  float *y, *u;
  char *work; /* thread t's work area at work + t * layout.bytes */
  work_layout layout;
  winograd_geometry g;
  size_t chunk_rows, chunks; /* this run's chunks: chunk_rows slot rows each, the last fewer */
  size_t filters_per_task;
  float min, max;
  bool fused; /* the activation is the clamp [min, max] */
} winograd_run;

static void weights_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const winograd_run *r = context;
  const size_t first = task_index * r->filters_per_task;
  r->isa->winograd_weights(r->p->in_channels, first,
                           min_size(r->filters_per_task, r->p->out_channels - first), r->w,
                           r->u);
}

/* The output channels [first_out, first_out + count) of a chunk whose V is ready. */
static void chunk_out_block(const winograd_run *r, const thaw_winograd_chunk *chunk,
                            const float *v, float *m, size_t image,
                            size_t first_slot_row, size_t first_out, size_t count) {
  const thaw_conv2d_params *p = r->p;
  const size_t columns = chunk->slot_rows * chunk->tile_slots;
  const thaw_gemm_params gemm = {
      .m = count, .n = columns, .k = p->in_channels,
      .a_row_stride = (ptrdiff_t)(THAW_WINOGRAD_POINTS * p->in_channels), .a_k_stride = 1,
      .b_packed = true,
      .c_row_stride = (ptrdiff_t)columns, .bias = THAW_GEMM_BIAS_NONE,
      .activation = {THAW_KERNEL_IDENTITY, 0.0f, 0.0f}};
  for (size_t point = 0; point < THAW_WINOGRAD_POINTS; point++)
    r->isa->gemm(&gemm,
                 r->u + (first_out * THAW_WINOGRAD_POINTS + point) * p->in_channels,
                 v + point * chunk->v_point_stride, NULL, m + point * chunk->m_point_stride,
                 NULL, &thaw_parallel_serial);
  const size_t out_plane = p->out_height * p->out_width;
  const size_t rows_per_slot_row = 4 * chunk->stacked_rows;
  const size_t first_row = rows_per_slot_row * first_slot_row;
  const size_t end_row =
      min_size(rows_per_slot_row * (first_slot_row + chunk->slot_rows), p->out_height);
  for (size_t o = 0; o < count; o++) {
    const size_t channel = first_out + o;
    float *plane = r->y + (image * p->out_channels + channel) * out_plane;
    const float bias = r->bias != NULL ? r->bias[channel] : 0.0f;
    for (size_t slot_row = 0; slot_row < chunk->slot_rows; slot_row++)
      r->isa->winograd_output(chunk, slot_row, m, o, bias, r->min, r->max,
                              plane + first_row * p->out_width, p->out_width,
                              end_row - first_row);
    if (!r->fused)
      r->isa->unary(&p->activation, (end_row - first_row) * p->out_width,
                    plane + first_row * p->out_width, plane + first_row * p->out_width);
  }
}

static void chunk_task(void *context, size_t thread_index, size_t task_index) {
  const winograd_run *r = context;
  const thaw_conv2d_params *p = r->p;
  const size_t image = task_index / r->chunks;
  const size_t first_slot_row = task_index % r->chunks * r->chunk_rows;
  const size_t slot_rows = min_size(r->chunk_rows, r->g.slot_rows - first_slot_row);
  char *work = r->work + thread_index * r->layout.bytes;
  float *padded = (float *)work, *v = (float *)(work + r->layout.v_offset);
  float *m = (float *)(work + r->layout.m_offset);
  const size_t columns = slot_rows * r->g.tile_slots;
  const thaw_winograd_chunk chunk = {
      .slot_rows = slot_rows, .tile_slots = r->g.tile_slots, .stacked_rows = r->g.stacked_rows,
      .row_floats = r->g.row_floats,
      .v_point_stride = ceil_div(columns, THAW_GEMM_NR) * THAW_GEMM_NR * p->in_channels,
      .m_point_stride = r->g.out_block * columns};
  const size_t rows_per_slot_row = 4 * r->g.stacked_rows;
  thaw_f32_im2col_pad(&r->padded_rows, r->x + image * p->in_channels * p->in_height * p->in_width,
                      rows_per_slot_row * first_slot_row, rows_per_slot_row * slot_rows, 0,
                      p->in_channels, padded);
  r->isa->winograd_input(&chunk, p->in_channels, padded, v);
  for (size_t first_out = 0; first_out < p->out_channels; first_out += r->g.out_block)
    chunk_out_block(r, &chunk, v, m, image, first_slot_row, first_out,
                    min_size(r->g.out_block, p->out_channels - first_out));
}

void thaw_f32_winograd_run(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                           const float *x, const float *w, const float *bias, float *y,
                           void *scratch, const thaw_parallel *parallel) {
  winograd_run r = {.isa = isa, .p = p, .x = x, .w = w, .bias = bias, .y = y, .u = scratch,
                    .g = geometry_of(p)};
  r.padded_rows = padded_rows_params(p, &r.g);
  r.fused = thaw_unary_as_clamp(&p->activation, &r.min, &r.max);
  /* U, then the threads' work areas: within the thread_count slices of
   * thaw_f32_winograd_scratch_size bytes, which each hold U and a work area. */
  r.work = (char *)scratch + thaw_scratch_slice_bytes(weight_bytes(p));
  r.layout = layout_work(p, &r.g);

  const size_t filter_tasks = thaw_parallel_task_count(
      parallel, p->out_channels, 2.0 * WINOGRAD_FILTER_COST * (double)p->in_channels);
  r.filters_per_task = ceil_div(p->out_channels, filter_tasks);
  parallel->run(parallel, ceil_div(p->out_channels, r.filters_per_task), weights_task, &r);

  /* Smaller chunks when the threads want more tasks than the largest chunks make. */
  const double slot_row_flops = 2.0 * THAW_WINOGRAD_POINTS * (double)r.g.tile_slots *
                                (double)p->in_channels * (double)p->out_channels;
  const size_t wanted = ceil_div(
      thaw_parallel_task_count(parallel, p->batch * r.g.slot_rows, slot_row_flops), p->batch);
  r.chunk_rows = min_size(r.g.chunk_rows, round_up(ceil_div(r.g.slot_rows, wanted),
                                                    panel_aligned_rows(r.g.tile_slots)));
  r.chunks = ceil_div(r.g.slot_rows, r.chunk_rows);
  parallel->run(parallel, p->batch * r.chunks, chunk_task, &r);
}
