/*
 * The Winograd path of the convolution driver (f32-winograd.h): when it pays, scratch, and the
 * run, with one ISA's transforms and GEMM.
 *
 * Transformed weights U are 4x the size of the weights; where they are small (ResNet's first
 * stages, SqueezeNet), a run first transforms every filter into U, at the start of the scratch
 * (all threads read it; where U is smaller still, each thread transforms all of it into its
 * own copy, see WINOGRAD_MAX_U_COPY_BYTES). Then, on a plane of many chunks, each task takes
 * one chunk of whole slot rows of one image, in its thread's work area: the chunk's input rows
 * zero-padded, their 36 transformed matrices V, then, for a block of output channels at a
 * time, the 36 GEMMs U[xi] V[xi] and the output transform, which adds the bias, clamps (ReLU,
 * Clip) and writes the NCHW output; any other activation then runs over the finished rows.
 * Where U is large (ResNet's 14x14 stage) or the plane too small for more than a few chunks
 * (SqueezeNet's 13x13), V is the small operand: a run transforms a band of the image (the
 * whole of a small one) into V, shared after U, then each task takes one block of filters
 * (transforming them into its work area, where they stay in L2, when U is large) and runs
 * the same GEMMs and output transform over the band's chunks; then the next band.
 * Every tile goes through the same transforms and the same column of the same kind of GEMM
 * tile whatever chunk or task it falls in (chunks start at panel-aligned slot rows; the order
 * and the blocks of filters depend on the layer only), so neither the chunk size nor the
 * thread count changes a bit of the output.
 */
#include "kernels/conv/conv-driver.h"
#include "kernels/elementwise/unary-clamp.h"

enum {
  /* The chunk's V and GEMM products stay within this many bytes, about half of L2, so that
   * each GEMM finds its panels and the output transform its products still in cache. */
  WINOGRAD_CHUNK_BYTES = 512 << 10,
  /* Output channels per block of GEMMs: their products M are that many rows per point. */
  WINOGRAD_OUT_BLOCK = 64,
  /* The layer's weights, transformed, at most, for U to be transformed whole at the start of
   * a run and held in the session's scratch (read from L3 by every chunk); above this, a
   * block of filters at a time. */
  WINOGRAD_MAX_U_BYTES = 3 << 20,
  /* U whole at most this large is transformed by every thread into a copy of its own, where
   * the slices' unused shared areas lie, rather than once, split over the threads: shared,
   * each thread reads the part the others wrote from their caches, which on distant cores
   * (bench/e2e/README.md) costs more than transforming it again. Measured with the two ways
   * alternated run by run in one 2-thread session and the runs filed by core placement (a
   * scratch switch): ResNet-18 (its 64-channel layers, 590 KB of U) 1.001x the time on
   * nearby cores and 0.971x on distant ones, SqueezeNet 1.004x and 0.950x; with its
   * 128-channel layers' 2.4 MB copied too, ResNet-18 took 1.019x on nearby cores. */
  WINOGRAD_MAX_U_COPY_BYTES = 1 << 20,
  /* The same bound for V, transformed for a band of whole slot rows at a time (at least a
   * panel's), each band then meeting every block of filters: a plane whose V is larger
   * transforms the filters once per band. */
  WINOGRAD_MAX_V_BYTES = 3 << 20,
  /* A block of transformed filters, at most (at least WINOGRAD_FILTER_STEP filters): with the
   * V panel and products the GEMMs read, within L2. */
  WINOGRAD_U_BLOCK_BYTES = 192 << 10,
  /* Filters per block are a multiple of this, the GEMM tile's rows. */
  WINOGRAD_FILTER_STEP = 6,
  /* A run with fewer chunks than this (of the fewest slot rows a chunk may have, over the
   * batch) and V of an image at most WINOGRAD_SHARED_V_BYTES, about L2 (SqueezeNet's 13x13
   * planes: one chunk), shares V and splits its work by blocks of filters instead, so that
   * threads have work to share. */
  WINOGRAD_MIN_CHUNKS = 4,
  WINOGRAD_SHARED_V_BYTES = 512 << 10,
};

/* What the parts of the Winograd path cost, in the multiply-adds of a GEMM that take as
 * long (one core, from bench_conv and perf on ResNet-18's and SqueezeNet's 3x3 layers): the
 * input transform per tile slot and input channel (the padding copy included), the output
 * transform per tile slot and output channel, one filter's transform, and im2col's gathering
 * per value. A filter's transform takes 3.6 ns with 64 input channels and 5.5 ns with 256 in
 * blocks (timed alone), ~150-220 multiply-adds of the GEMM (~40 per ns); counted at 400, which
 * also stands for the weights it reads from memory once per run, the path is taken on
 * SqueezeNet's 13x13 layers (0.85x im2col's time) and left on 3x3 layers of 8x8 to 10x10
 * (Winograd 1.1-1.5x im2col's time there, forced in an interleaved A/B). */
#define WINOGRAD_INPUT_COST 1000.0
#define WINOGRAD_OUTPUT_COST 800.0
#define WINOGRAD_FILTER_COST 400.0
#define IM2COL_GATHER_COST 13.0

static size_t ceil_div(size_t numerator, size_t denominator) {
  return numerator / denominator + (numerator % denominator != 0);
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Bytes of U, SIZE_MAX on overflow. */
static size_t weight_bytes(const thaw_conv2d_params *p) {
  size_t bytes;
  if (__builtin_mul_overflow(p->out_channels, p->in_channels, &bytes) ||
      __builtin_mul_overflow(bytes, THAW_WINOGRAD_POINTS * sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

/* The tiling of p's output plane (f32-winograd.h), the largest chunk, in slot rows, and the
 * order of the run: whether tasks take blocks of out_block filters, for bands of band_rows
 * slot rows (otherwise chunks), and whether each block transforms its own filters. */
typedef struct winograd_geometry {
  size_t slot_rows, tile_slots, stacked_rows, row_floats, out_block, chunk_rows, band_rows;
  bool filter_blocks, u_per_block;
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

/* Filters per block when tasks take blocks of filters: as many as WINOGRAD_U_BLOCK_BYTES of U
 * hold, a multiple of WINOGRAD_FILTER_STEP (at least one). */
static size_t filters_per_block(const thaw_conv2d_params *p) {
  const size_t filter_channel_bytes = THAW_WINOGRAD_POINTS * sizeof(float);
  size_t filters =
      p->in_channels == 0 ? 0 : WINOGRAD_U_BLOCK_BYTES / filter_channel_bytes / p->in_channels;
  filters -= filters % WINOGRAD_FILTER_STEP;
  return min_size(filters < WINOGRAD_FILTER_STEP ? WINOGRAD_FILTER_STEP : filters,
                  p->out_channels);
}

/* Floats of V for `slots` slots: whole panels of in_channels rows, per point. */
static bool v_point_floats(const thaw_conv2d_params *p, size_t slots, size_t *floats) {
  return !__builtin_mul_overflow(ceil_div(slots, THAW_GEMM_NR) * THAW_GEMM_NR, p->in_channels,
                                 floats);
}

/* Bytes of V for `slot_rows` slot rows, SIZE_MAX on overflow. */
static size_t v_bytes(const thaw_conv2d_params *p, const winograd_geometry *g,
                      size_t slot_rows) {
  size_t slots, v;
  if (__builtin_mul_overflow(slot_rows, g->tile_slots, &slots) ||
      !v_point_floats(p, slots, &v) ||
      __builtin_mul_overflow(v, THAW_WINOGRAD_POINTS * sizeof(float), &v))
    return SIZE_MAX;
  return v;
}

static winograd_geometry geometry_of(const thaw_conv2d_params *p) {
  winograd_geometry g;
  const size_t tiles_across = ceil_div(p->out_width, 4);
  g.stacked_rows = 2 * tiles_across <= THAW_WINOGRAD_SLOT_BLOCK ? 2 : 1;
  g.slot_rows = ceil_div(ceil_div(p->out_height, 4), g.stacked_rows);
  g.tile_slots = round_up(tiles_across * g.stacked_rows, THAW_WINOGRAD_SLOT_BLOCK);
  /* A tile row's patches; the last quad's loads reach 4 floats past its last tile. */
  g.row_floats = 4 * (g.tile_slots / g.stacked_rows) + 4;
  const size_t aligned = panel_aligned_rows(g.tile_slots);
  g.u_per_block = weight_bytes(p) > WINOGRAD_MAX_U_BYTES;
  g.filter_blocks = g.u_per_block ||
                    (p->batch * ceil_div(g.slot_rows, aligned) < WINOGRAD_MIN_CHUNKS &&
                     v_bytes(p, &g, g.slot_rows) <= WINOGRAD_SHARED_V_BYTES);
  g.out_block = g.filter_blocks ? filters_per_block(p)
                                : min_size(p->out_channels, WINOGRAD_OUT_BLOCK);
  /* A slot row of V and of one block's products; a width whose panel-aligned rows alone
   * overflow the budget gets chunks of those rows, and work_bytes reports an overflow. */
  size_t row_bytes, rows = 0;
  if (!__builtin_mul_overflow(p->in_channels + g.out_block, g.tile_slots, &row_bytes) &&
      !__builtin_mul_overflow(row_bytes, THAW_WINOGRAD_POINTS * sizeof(float), &row_bytes))
    rows = WINOGRAD_CHUNK_BYTES / row_bytes;
  g.chunk_rows = min_size(rows < aligned ? aligned : rows - rows % aligned, g.slot_rows);
  const size_t aligned_v = v_bytes(p, &g, aligned);
  const size_t band = aligned_v == SIZE_MAX ? 1 : WINOGRAD_MAX_V_BYTES / aligned_v;
  g.band_rows = min_size(band < 1 ? aligned : band * aligned, g.slot_rows);
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

/* What all threads share, at the start of the scratch: U whole (unless each block transforms
 * its own), then V of a band when tasks take blocks of filters; the bytes to V, and in all, or
 * SIZE_MAX on overflow. */
static size_t u_slice_bytes(const thaw_conv2d_params *p, const winograd_geometry *g) {
  return g->u_per_block ? 0 : thaw_scratch_slice_bytes(weight_bytes(p));
}

static size_t shared_bytes(const thaw_conv2d_params *p, const winograd_geometry *g) {
  /* U whole is at most WINOGRAD_MAX_U_BYTES. */
  const size_t v = g->filter_blocks ? v_bytes(p, g, g->band_rows) : 0;
  return v > SIZE_MAX / 4 ? SIZE_MAX : u_slice_bytes(p, g) + v;
}

/* One thread's work area for chunks of g->chunk_rows slot rows: the padded rows, then at
 * operand_offset the chunk's V (tasks on chunks), a block of U (blocks that transform their
 * filters) or nothing, then the products of one block of output channels at m_offset; bytes in
 * all, or SIZE_MAX on overflow. */
typedef struct work_layout {
  size_t operand_offset, m_offset, bytes;
} work_layout;

static work_layout layout_work(const thaw_conv2d_params *p, const winograd_geometry *g) {
  const thaw_conv2d_params rows = padded_rows_params(p, g);
  const size_t padded = thaw_f32_im2col_padded_size(&rows, 4 * g->stacked_rows * g->chunk_rows);
  size_t slots, operand, m;
  if (padded == SIZE_MAX || __builtin_mul_overflow(g->chunk_rows, g->tile_slots, &slots) ||
      (g->u_per_block    ? __builtin_mul_overflow(g->out_block, p->in_channels, &operand)
       : g->filter_blocks ? (operand = 0, false)
                          : !v_point_floats(p, slots, &operand)) ||
      __builtin_mul_overflow(operand, THAW_WINOGRAD_POINTS * sizeof(float), &operand) ||
      __builtin_mul_overflow(slots, g->out_block, &m) ||
      __builtin_mul_overflow(m, THAW_WINOGRAD_POINTS * sizeof(float), &m) ||
      padded > SIZE_MAX / 4 || operand > SIZE_MAX / 4 || m > SIZE_MAX / 4)
    return (work_layout){0, 0, SIZE_MAX};
  const size_t operand_offset = thaw_scratch_slice_bytes(padded);
  const size_t m_offset = operand_offset + thaw_scratch_slice_bytes(operand);
  return (work_layout){operand_offset, m_offset, m_offset + thaw_scratch_slice_bytes(m)};
}

bool thaw_f32_winograd_pays(const thaw_conv2d_params *p) {
  if (p->groups != 1 || p->kernel_height != 3 || p->kernel_width != 3 || p->stride_h != 1 ||
      p->stride_w != 1 || p->dilation_h != 1 || p->dilation_w != 1 || p->batch == 0 ||
      p->out_height == 0 || p->out_width == 0 || p->in_channels == 0 || p->out_channels == 0)
    return false;
  if (weight_bytes(p) == SIZE_MAX) return false;
  const winograd_geometry g = geometry_of(p);
  const double in = (double)p->in_channels, out = (double)p->out_channels;
  const double pixels = (double)p->out_height * (double)p->out_width;
  const double slots = (double)g.slot_rows * (double)g.tile_slots * (double)p->batch;
  /* Blocks that transform their filters do so once per band of each image. */
  const double filter_passes =
      g.u_per_block ? (double)p->batch * (double)ceil_div(g.slot_rows, g.band_rows) : 1.0;
  const double im2col = 9.0 * in * pixels * (out + IM2COL_GATHER_COST) * (double)p->batch;
  const double winograd = THAW_WINOGRAD_POINTS * in * out * slots +
                          slots * (WINOGRAD_INPUT_COST * in + WINOGRAD_OUTPUT_COST * out) +
                          WINOGRAD_FILTER_COST * in * out * filter_passes;
  return winograd < im2col;
}

size_t thaw_f32_winograd_scratch_size(const thaw_conv2d_params *p) {
  const winograd_geometry g = geometry_of(p);
  const size_t shared = shared_bytes(p, &g), work = layout_work(p, &g).bytes;
  if (shared == SIZE_MAX || work == SIZE_MAX || shared > SIZE_MAX / 4 || work > SIZE_MAX / 4)
    return SIZE_MAX;
  return thaw_scratch_slice_bytes(shared) + work;
}

/* What the tasks of one run share. */
typedef struct winograd_run {
  const thaw_conv2d_isa *isa;
  const thaw_conv2d_params *p;
  thaw_conv2d_params padded_rows;
  const float *x, *w, *bias;
  float *y;
  float *u; /* U whole, unless each block transforms its own */
  /* Thread t > 0's copy of U whole, when each thread has one: u_copies + (t - 1) * stride. */
  char *u_copies;
  size_t u_copy_stride;
  bool u_per_thread;
  float *v; /* V of the band being run, when tasks take blocks of filters */
  char *work;    /* thread t's work area at work + t * layout.bytes */
  work_layout layout;
  winograd_geometry g;
  size_t chunk_rows, chunks; /* this run's chunks: chunk_rows slot rows each, the last fewer */
  size_t filters_per_task;
  size_t image, first_band_row, band_rows; /* the band being run, when filters come in blocks */
  float min, max;
  bool fused; /* the activation is the clamp [min, max] */
} winograd_run;

static const float *thread_u(const winograd_run *r, size_t thread_index) {
  return r->u_per_thread && thread_index > 0
             ? (const float *)(r->u_copies + (thread_index - 1) * r->u_copy_stride)
             : r->u;
}

/* Task t transforms all of U into thread t's copy (another thread may take the task: the copy
 * is then filled from elsewhere, but still before any chunk reads it). */
static void u_copy_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const winograd_run *r = context;
  r->isa->winograd_weights(r->p->in_channels, 0, r->p->out_channels, r->w,
                           (float *)thread_u(r, task_index));
}

static void weights_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const winograd_run *r = context;
  const size_t first = task_index * r->filters_per_task;
  r->isa->winograd_weights(r->p->in_channels, first,
                           min_size(r->filters_per_task, r->p->out_channels - first), r->w,
                           r->u);
}

/* The output channels [first_out, first_out + count) of a chunk whose V is ready, u holding
 * their transformed filters. */
static void chunk_out_block(const winograd_run *r, const thaw_winograd_chunk *chunk,
                            const float *u, const float *v, float *m, size_t image,
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
    r->isa->gemm(&gemm, u + point * p->in_channels, v + point * chunk->v_point_stride, NULL,
                 m + point * chunk->m_point_stride, NULL, &thaw_parallel_serial);
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

/* A chunk of slot_rows slot rows, its V in v_point_stride layout. */
static thaw_winograd_chunk chunk_of(const winograd_run *r, size_t slot_rows,
                                    size_t v_point_stride) {
  return (thaw_winograd_chunk){
      .slot_rows = slot_rows, .tile_slots = r->g.tile_slots, .stacked_rows = r->g.stacked_rows,
      .row_floats = r->g.row_floats, .v_point_stride = v_point_stride,
      .m_point_stride = r->g.out_block * slot_rows * r->g.tile_slots};
}

/* The chunk's input rows padded into the thread's work area, then transformed into v. */
static void transform_chunk_input(const winograd_run *r, char *work, size_t image,
                                  size_t first_slot_row, const thaw_winograd_chunk *chunk,
                                  float *v) {
  const thaw_conv2d_params *p = r->p;
  const size_t rows_per_slot_row = 4 * r->g.stacked_rows;
  thaw_f32_im2col_pad(&r->padded_rows, r->x + image * p->in_channels * p->in_height * p->in_width,
                      rows_per_slot_row * first_slot_row, rows_per_slot_row * chunk->slot_rows,
                      0, p->in_channels, (float *)work);
  r->isa->winograd_input(chunk, p->in_channels, (const float *)work, v);
}

/* U whole: one chunk of one image, start to end. */
static void chunk_task(void *context, size_t thread_index, size_t task_index) {
  const winograd_run *r = context;
  const size_t image = task_index / r->chunks, chunk_index = task_index % r->chunks;
  const size_t first_slot_row = chunk_index * r->chunk_rows;
  char *work = r->work + thread_index * r->layout.bytes;
  float *v = (float *)(work + r->layout.operand_offset);
  float *m = (float *)(work + r->layout.m_offset);
  const size_t slot_rows = min_size(r->chunk_rows, r->g.slot_rows - first_slot_row);
  size_t v_point_stride = 0;
  v_point_floats(r->p, slot_rows * r->g.tile_slots, &v_point_stride);
  const thaw_winograd_chunk chunk = chunk_of(r, slot_rows, v_point_stride);
  transform_chunk_input(r, work, image, first_slot_row, &chunk, v);
  const float *u = thread_u(r, thread_index);
  for (size_t first_out = 0; first_out < r->p->out_channels; first_out += r->g.out_block)
    chunk_out_block(r, &chunk, u + first_out * THAW_WINOGRAD_POINTS * r->p->in_channels,
                    v, m, image, first_slot_row, first_out,
                    min_size(r->g.out_block, r->p->out_channels - first_out));
}

/* Filters in blocks: V of a band of the image (as large as any band), the panels of one chunk
 * of the band. */
static size_t band_v_point_stride(const winograd_run *r) {
  size_t floats = 0;
  v_point_floats(r->p, r->g.band_rows * r->g.tile_slots, &floats);
  return floats;
}

/* Floats from the band's V to the panels of the chunk `slot_rows` slot rows into the band. */
static size_t band_v_offset(const winograd_run *r, size_t slot_rows) {
  return slot_rows * r->g.tile_slots * r->p->in_channels;
}

static void band_v_task(void *context, size_t thread_index, size_t task_index) {
  const winograd_run *r = context;
  const size_t rows_in_band = task_index * r->chunk_rows;
  const size_t slot_rows = min_size(r->chunk_rows, r->band_rows - rows_in_band);
  const thaw_winograd_chunk chunk = chunk_of(r, slot_rows, band_v_point_stride(r));
  transform_chunk_input(r, r->work + thread_index * r->layout.bytes, r->image,
                        r->first_band_row + rows_in_band, &chunk,
                        r->v + band_v_offset(r, rows_in_band));
}

/* Filters in blocks: one block (transformed into the work area, or read from U whole), then
 * its outputs over every chunk of the band. */
static void filter_block_task(void *context, size_t thread_index, size_t task_index) {
  const winograd_run *r = context;
  const thaw_conv2d_params *p = r->p;
  char *work = r->work + thread_index * r->layout.bytes;
  float *m = (float *)(work + r->layout.m_offset);
  const size_t first_out = task_index * r->g.out_block;
  const size_t count = min_size(r->g.out_block, p->out_channels - first_out);
  const float *u;
  if (r->g.u_per_block) {
    float *block = (float *)(work + r->layout.operand_offset);
    r->isa->winograd_weights(p->in_channels, 0, count, r->w + first_out * p->in_channels * 9,
                             block);
    u = block;
  } else {
    u = r->u + first_out * THAW_WINOGRAD_POINTS * p->in_channels;
  }
  const size_t v_point_stride = band_v_point_stride(r);
  for (size_t rows_in_band = 0; rows_in_band < r->band_rows; rows_in_band += r->g.chunk_rows) {
    const thaw_winograd_chunk chunk =
        chunk_of(r, min_size(r->g.chunk_rows, r->band_rows - rows_in_band), v_point_stride);
    chunk_out_block(r, &chunk, u, r->v + band_v_offset(r, rows_in_band), m, r->image,
                    r->first_band_row + rows_in_band, first_out, count);
  }
}

/* Chunk rows for `images` runs of `slot_rows` slot rows of slot_row_flops each: smaller
 * chunks (still panel-aligned) when the threads want more tasks than the largest chunks
 * make. */
static size_t chunk_rows_for_threads(const winograd_run *r, const thaw_parallel *parallel,
                                     size_t images, size_t slot_rows, double slot_row_flops) {
  const size_t wanted =
      ceil_div(thaw_parallel_task_count(parallel, images * slot_rows, slot_row_flops), images);
  return min_size(r->g.chunk_rows, round_up(ceil_div(slot_rows, wanted),
                                            panel_aligned_rows(r->g.tile_slots)));
}

void thaw_f32_winograd_run(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p,
                           const float *x, const float *w, const float *bias, float *y,
                           void *scratch, const thaw_parallel *parallel) {
  winograd_run r = {.isa = isa, .p = p, .x = x, .w = w, .bias = bias, .y = y,
                    .u = scratch, .g = geometry_of(p)};
  r.padded_rows = padded_rows_params(p, &r.g);
  r.fused = thaw_unary_as_clamp(&p->activation, &r.min, &r.max);
  /* What the threads share, then their work areas: within the thread_count slices of
   * thaw_f32_winograd_scratch_size bytes, which each hold both. */
  r.v = (float *)((char *)scratch + u_slice_bytes(p, &r.g));
  r.work = (char *)scratch + thaw_scratch_slice_bytes(shared_bytes(p, &r.g));
  r.layout = layout_work(p, &r.g);
  /* The copies go after the work areas: the thread_count slices hold thread_count shared
   * areas, of which only the first is used otherwise. */
  r.u_per_thread = !r.g.u_per_block && !r.g.filter_blocks && parallel->thread_count > 1 &&
                   weight_bytes(p) <= WINOGRAD_MAX_U_COPY_BYTES;
  r.u_copies = r.work + parallel->thread_count * r.layout.bytes;
  r.u_copy_stride = u_slice_bytes(p, &r.g);
  if (r.u_per_thread) {
    parallel->run(parallel, parallel->thread_count, u_copy_task, &r);
  } else if (!r.g.u_per_block) {
    const size_t filter_tasks = thaw_parallel_task_count(
        parallel, p->out_channels, 2.0 * WINOGRAD_FILTER_COST * (double)p->in_channels);
    r.filters_per_task = ceil_div(p->out_channels, filter_tasks);
    parallel->run(parallel, ceil_div(p->out_channels, r.filters_per_task), weights_task, &r);
  }

  if (r.g.filter_blocks) {
    /* The tasks that transform V split a band by its cost alone (the GEMMs come after). */
    r.chunk_rows = chunk_rows_for_threads(
        &r, parallel, 1, r.g.band_rows,
        2.0 * WINOGRAD_INPUT_COST * (double)r.g.tile_slots * (double)p->in_channels);
    for (r.image = 0; r.image < p->batch; r.image++) {
      for (r.first_band_row = 0; r.first_band_row < r.g.slot_rows;
           r.first_band_row += r.g.band_rows) {
        r.band_rows = min_size(r.g.band_rows, r.g.slot_rows - r.first_band_row);
        parallel->run(parallel, ceil_div(r.band_rows, r.chunk_rows), band_v_task, &r);
        parallel->run(parallel, ceil_div(p->out_channels, r.g.out_block), filter_block_task, &r);
      }
    }
    return;
  }
  r.chunk_rows = chunk_rows_for_threads(&r, parallel, p->batch, r.g.slot_rows,
                                        2.0 * THAW_WINOGRAD_POINTS * (double)r.g.tile_slots *
                                            (double)p->in_channels * (double)p->out_channels);
  r.chunks = ceil_div(r.g.slot_rows, r.chunk_rows);
  parallel->run(parallel, p->batch * r.chunks, chunk_task, &r);
}
