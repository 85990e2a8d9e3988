/*
 * The GEMM driver shared by every ISA: cache blocking, packing of a plain B, bias and
 * activation, around one ISA's microkernels (gemm-ukernel.h).
 *
 * Loop order (Goto/BLIS): columns in blocks of NC, then k in blocks of at most KC (a plain B
 * block is packed into scratch here, so scratch is bounded whatever the size), then groups of row
 * tiles, then one 16-wide panel at a time, then the row tiles of the group. A panel (KC x 16
 * floats, 24 KiB) stays in L1 while the group's rows of A stay in L2: 96 x KC floats
 * (MC_TILES tiles) next to a plain B's packed block; with a packed B, which is not copied,
 * up to GEMM_GROUP_A_BYTES, and its wider column blocks are read from L2, L3 or memory with
 * the next panel prefetched; with a plain B, whose A is usually a convolution's weights read
 * from memory, each group fetches the next group's rows of A while it walks its panels. A
 * packed B multiplied by a few rows is walked in memory order instead (each panel through all
 * of k): it is read only once. A right edge of at most
 * THAW_GEMM_DOT_NR columns (a 7x7 or 14x14 plane: n = 49, 196), when A's rows are contiguous
 * in k, runs through the ISA's dot edge tile on a k-contiguous copy of its columns (at
 * m = 512, n = 49, k = 4608, ResNet-18's last 3x3 layers, the 6x16 kernel's half-width tile
 * made the product 26 % more instructions than n = 48, and 20-25 % slower; the dot tile
 * makes it 5 % more).
 *
 * Threads split C, never k: a task is a range of at most NC columns (packing its own part of a
 * plain B into its thread's scratch slice) by a range of row tiles, or for a GEMV a range of
 * panels. Columns are split first, down to single panels, so that no two tasks pack the same
 * part of B; rows only when there are too few panels, or when a packed B is narrower than A is
 * tall (see column_chunks_for). A plain B of one column block that is
 * smaller than A (a 1x1 convolution on a 7x7 or 14x14 plane, with hundreds of output channels)
 * is the exception: there threads split rows only, and each packs the whole of B once into its
 * slice (see whole_b_per_thread). Every tile of C goes through the same k blocks in the same
 * order whatever the split, so the result is bit-identical for any thread count.
 */
#include <math.h>

#include "kernels/elementwise/unary-clamp.h"
#include "kernels/gemm/gemm-prefetch.h"
#include "kernels/gemm/gemm-ukernel.h"
#include "kernels/scalar.h"

enum {
  GEMM_KC_MAX = 384, /* measured: k = 384 in one block beats two of 192 at large m */
  /* Measured: with a packed B, k = 576 in one block beats 288 + 288 (m = 3136, n = 64: +12 %;
   * m = 128..196: +3 %), though its panel (36 KiB) no longer fits in L1: C is not read back,
   * and each tile reads its rows of A in one sweep. */
  GEMM_KC_PACKED_SINGLE = 576,
  GEMM_NC = 256, /* a multiple of THAW_GEMM_NR */
  /* A plain B up to this deep and at most GEMM_PLAIN_BLOCK_FLOATS in all is packed as one k
   * block (see plain_block_depth): summing all of k in registers saves storing and reloading
   * C between blocks. bench_gemm pointwise_cold, alternated: 1000 x 169 x 512 (SqueezeNet's
   * classifier) and 64 x 169 x 512 +12-15 %; k = 576 level, k = 960 5-10 % slower (MobileNetV2's
   * 7x7 stage), which stays in blocks. */
  GEMM_KC_PLAIN_SINGLE = 512,
  GEMM_PLAIN_BLOCK_FLOATS = GEMM_KC_MAX * GEMM_NC,
  /* A packed B is not copied, and its panels are prefetched (run_panel): its column block only
   * bounds how often A is read again, from L3 at large m (measured at m = 3136: +4 % over
   * 256). */
  GEMM_NC_PACKED = 512,
  GEMM_MC_TILES = 16,
  /* With a packed B, a row group's block of A (its tiles' rows over one k block) may take up
   * to half of L2. A model's weights come from memory (MiniLM's 42 MB at every run): at
   * m = 128 (22 tiles) B is then read once, by one group, instead of by a group of 16 tiles
   * and again by one of 6 (measured with B from memory, 61 interleaved runs: m = 128, k = 384:
   * 5.6 % faster at n = 384, 4.4 % at n = 1536). */
  GEMM_GROUP_A_BYTES = 256 * 1024,
  /* The deepest k block: a packed B's single one, or a plain B's. */
  GEMM_KC_LARGEST =
      GEMM_KC_PACKED_SINGLE > GEMM_KC_PLAIN_SINGLE ? GEMM_KC_PACKED_SINGLE : GEMM_KC_PLAIN_SINGLE,
  GEMM_STREAM_A_MAX_FLOATS = 64 * 1024, /* a quarter of L2 */
  /* A k block at most this deep is cheap to multiply next to storing its tile of C: each row
   * tile then walks the block's panels (its 6 rows of C written as 6 sequential streams)
   * instead of each panel walking the row tiles (every row of C written a panel at a time, as
   * many streams as rows). MobileNetV2's 1x1 layers on the 112^2 plane, THAW_PROFILE=nodes
   * alternated 8 times: 16 -> 96 0.86x the time, 32 -> 16 0.92x, and the depthwise layer
   * reading the first 0.93x (old and new CLI alternated 10 times: the three 0.92x on one
   * thread, 0.97x on two; the whole model level); k = 24 and 32 on smaller planes level. With
   * the bound at 64 the model measured no better, at 160 slower. */
  GEMM_SHORT_K = 32,
  /* The most of a plain B packed whole per thread (whole_b_per_thread): 384 KiB, MobileNetV2's
   * 7x7 layers (k = 960, n = 49) need 240. */
  GEMM_WHOLE_B_FLOATS = 96 * 1024,
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

/* Columns rounded up to whole panels: what a plain B's packed block holds. */
static size_t padded_to_panels(size_t columns) {
  return (columns + THAW_GEMM_NR - 1) / THAW_GEMM_NR * THAW_GEMM_NR;
}

/*
 * Whether threads split a plain B's product by rows only, each packing all of B (every k
 * block, side by side) once into its scratch slice, whatever number of tasks it then runs.
 * Splitting columns has each column chunk read all of A again, which pays when A is the small
 * operand; a 1x1 convolution on a small plane has it the other way round (960 x 160 weights
 * against 160 x 49 pixels). On two threads, `thaw run MODEL --input image=random --repeat 100
 * --threads 2` of the old and new CLI alternated 8 rounds: MobileNetV2 0.97x the time,
 * SqueezeNet (its 1000 x 169 x 512 classifier) 0.94x; bench/e2e/thaw_ab --threads 2 --runs
 * 300 with the two builds, in minutes when two threads ran as slowly as one: MobileNetV2
 * 0.95-1.03x, SqueezeNet 0.99-1.00x. Only for one column
 * block, and only while the whole of B stays under GEMM_WHOLE_B_FLOATS (a slice per thread
 * holds it). Decided on the shape alone, so one thread packs the same blocks and runs the same
 * tiles.
 */
static bool whole_b_per_thread(const thaw_gemm_params *p) {
  return !p->b_packed && p->n <= GEMM_NC && p->m >= p->n &&
         p->k * padded_to_panels(p->n) <= GEMM_WHOLE_B_FLOATS;
}

/* The k rows of a plain B's packed block: all of k when the columns fit in
 * GEMM_PLAIN_BLOCK_FLOATS that way (up to GEMM_KC_PLAIN_SINGLE), else equal blocks of at most
 * GEMM_KC_MAX. A deeper block in fewer columns would read A once per column block. */
static size_t plain_block_depth(size_t k, size_t n) {
  if (k <= GEMM_KC_MAX ||
      (k <= GEMM_KC_PLAIN_SINGLE && padded_to_panels(n) * k <= GEMM_PLAIN_BLOCK_FLOATS))
    return k;
  const size_t blocks = (k + GEMM_KC_MAX - 1) / GEMM_KC_MAX;
  return (k + blocks - 1) / blocks;
}

/* A slice holding the whole of B starts with whether its thread has packed B yet. */
enum { WHOLE_B_HEADER_BYTES = THAW_SCRATCH_ALIGNMENT };

size_t thaw_f32_gemm_scratch_size(const thaw_gemm_params *p) {
  if (p->b_packed) return 0;
  if (whole_b_per_thread(p))
    return WHOLE_B_HEADER_BYTES + p->k * padded_to_panels(p->n) * sizeof(float);
  return plain_block_depth(p->k, p->n) * padded_to_panels(min_size(p->n, GEMM_NC)) *
         sizeof(float);
}

static thaw_gemm_tile_init initial_tile(thaw_gemm_bias bias) {
  switch (bias) {
  case THAW_GEMM_BIAS_PER_ROW: return THAW_GEMM_TILE_BIAS_PER_ROW;
  case THAW_GEMM_BIAS_PER_COLUMN: return THAW_GEMM_TILE_BIAS_PER_COLUMN;
  case THAW_GEMM_BIAS_NONE: break;
  }
  return THAW_GEMM_TILE_ZERO;
}

static void apply_activation(const thaw_gemm_isa *isa, const thaw_unary_params *activation,
                             size_t rows, size_t columns, float *c, ptrdiff_t c_row_stride) {
  for (size_t i = 0; i < rows; i++) {
    float *row = c + (ptrdiff_t)i * c_row_stride;
    isa->unary(activation, columns, row, row);
  }
}

/* The m rows are cut into ceil(m / MR) tiles of nearly equal height rather than full tiles and
 * one short one: a short tile has too few independent accumulators to keep the FMA units busy
 * (m = 8 runs as 4 + 4, not 6 + 2). */
typedef struct row_tiling {
  size_t count, base_rows, taller_tiles; /* the first taller_tiles tiles have one more row */
} row_tiling;

static row_tiling tile_rows(size_t m, size_t mr) {
  row_tiling tiling;
  tiling.count = (m + mr - 1) / mr;
  tiling.base_rows = m / tiling.count;
  tiling.taller_tiles = m % tiling.count;
  return tiling;
}

static size_t tile_first_row(const row_tiling *tiling, size_t tile) {
  return tile * tiling->base_rows + min_size(tile, tiling->taller_tiles);
}

static size_t tile_height(const row_tiling *tiling, size_t tile) {
  return tiling->base_rows + (tile < tiling->taller_tiles);
}

/* What every task of one product shares. */
typedef struct gemm_run {
  const thaw_gemm_isa *isa;
  const thaw_gemm_params *p;
  const float *a, *b, *bias;
  float *c;
  char *scratch;
  size_t scratch_stride; /* bytes between the threads' scratch slices */
  row_tiling tiling;
  size_t k_blocks, kc_nominal;
  size_t group_tiles; /* row tiles per group, which share each panel while it is in L1 */
  thaw_gemm_tile_init first_init;
  float clamp_min, clamp_max;
  bool fused;    /* the activation is the clamp; otherwise finish_block applies it */
  bool stream_b; /* see thaw_f32_gemm_drive */
  bool dot_edge; /* a right edge of at most THAW_GEMM_DOT_NR columns takes isa->dot */
  bool prefetch_a; /* see run_block */
  bool whole_b;    /* see whole_b_per_thread */
  /* Tasks: column chunk x row chunk, each of near-equal whole panels and row tiles. */
  size_t column_chunks, row_chunks;
  size_t panels_per_task;             /* GEMV tasks */
} gemm_run;

/* The k rows of k block k_block: kc_nominal, fewer in the last block. */
static size_t block_depth(const gemm_run *r, size_t k_block) {
  return min_size(r->kc_nominal, r->p->k - k_block * r->kc_nominal);
}

/* Points args->bias at the bias of the tile whose first row is i and first column j. */
static void select_tile_bias(const gemm_run *r, size_t i, size_t j, thaw_gemm_tile_args *args) {
  if (args->init == THAW_GEMM_TILE_BIAS_PER_ROW) args->bias = r->bias + i;
  if (args->init == THAW_GEMM_TILE_BIAS_PER_COLUMN) args->bias = r->bias + j;
}

/* The nr columns of one k block of a panel, each made kc contiguous floats for isa->dot. */
static void gather_edge_columns(size_t kc, size_t nr, const float *panel, float *columns) {
  for (size_t kk = 0; kk < kc; kk++)
    for (size_t j = 0; j < nr; j++) columns[j * kc + kk] = panel[kk * THAW_GEMM_NR + j];
}

/* The right-edge panel of at most THAW_GEMM_DOT_NR columns: one k block against the row tiles
 * [first_tile, end_tile), through isa->dot, with a share of `prefetch` fetched before each
 * tile. */
static void run_dot_edge(const gemm_run *r, size_t first_tile, size_t end_tile, size_t k_block,
                         size_t j, const float *panel, const thaw_gemm_tile_args *args,
                         thaw_prefetch_stream *prefetch) {
  const thaw_gemm_params *p = r->p;
  const size_t k0 = k_block * r->kc_nominal;
  const size_t kc = block_depth(r, k_block);
  const size_t nr = p->n - j;
  float columns[THAW_GEMM_DOT_NR * GEMM_KC_LARGEST];
  gather_edge_columns(kc, nr, panel, columns);
  thaw_gemm_tile_args tile_args = *args;
  for (size_t tile = first_tile; tile < end_tile; tile++) {
    thaw_prefetch_share(prefetch);
    const size_t i = tile_first_row(&r->tiling, tile);
    select_tile_bias(r, i, j, &tile_args);
    r->isa->dot(tile_height(&r->tiling, tile), nr, kc,
                r->a + (ptrdiff_t)i * p->a_row_stride + (ptrdiff_t)k0, p->a_row_stride,
                columns, (ptrdiff_t)kc, r->c + (ptrdiff_t)i * p->c_row_stride + j,
                p->c_row_stride, &tile_args);
  }
}

/* One k block of one panel (columns j onwards) against the row tiles [first_tile, end_tile),
 * with a share of `prefetch` fetched before each tile. */
static void run_panel(const gemm_run *r, size_t first_tile, size_t end_tile, size_t k_block,
                      size_t j, const float *panel, thaw_prefetch_stream *prefetch) {
  const thaw_gemm_params *p = r->p;
  const size_t k0 = k_block * r->kc_nominal;
  const size_t kc = block_depth(r, k_block);
  const bool last_k_block = k_block + 1 == r->k_blocks;
  thaw_gemm_tile_args args = {
      .init = k_block == 0 ? r->first_init : THAW_GEMM_TILE_ACCUMULATE,
      .min = last_k_block ? r->clamp_min : -INFINITY,
      .max = last_k_block ? r->clamp_max : INFINITY,
  };
  const size_t nr = min_size(THAW_GEMM_NR, p->n - j);
  if (r->dot_edge && nr <= THAW_GEMM_DOT_NR) {
    run_dot_edge(r, first_tile, end_tile, k_block, j, panel, &args, prefetch);
    return;
  }
  for (size_t tile = first_tile; tile < end_tile; tile++) {
    thaw_prefetch_share(prefetch);
    const size_t i = tile_first_row(&r->tiling, tile);
    select_tile_bias(r, i, j, &args);
    r->isa->ukernel(tile_height(&r->tiling, tile), nr, kc,
                    r->a + (ptrdiff_t)i * p->a_row_stride + (ptrdiff_t)k0 * p->a_k_stride,
                    p->a_row_stride, p->a_k_stride, panel,
                    r->c + (ptrdiff_t)i * p->c_row_stride + j, p->c_row_stride, &args);
  }
}

static void finish_block(const gemm_run *r, size_t first_tile, size_t end_tile, size_t j0,
                         size_t nc) {
  const size_t i = tile_first_row(&r->tiling, first_tile);
  apply_activation(r->isa, &r->p->activation, tile_first_row(&r->tiling, end_tile) - i, nc,
                   r->c + (ptrdiff_t)i * r->p->c_row_stride + j0, r->p->c_row_stride);
}

/* Columns [j0, j0 + nc) (at most NC) of the row tiles [first_tile, end_tile); `packing` holds
 * a KC x NC block of a plain B, or with whole_b all of B's k blocks, packed already. */
static void run_block(const gemm_run *r, size_t j0, size_t nc, size_t first_tile,
                      size_t end_tile, float *packing) {
  const thaw_gemm_params *p = r->p;
  const size_t panel_count = (nc + THAW_GEMM_NR - 1) / THAW_GEMM_NR;
  if (r->stream_b) {
    /* B is read in memory order: the hardware prefetcher keeps up, and a software prefetch
     * as well only costs (measured at m = 8: -15 %). */
    for (size_t panel = 0; panel < panel_count; panel++) {
      const size_t j = j0 + panel * THAW_GEMM_NR;
      for (size_t k_block = 0; k_block < r->k_blocks; k_block++) {
        thaw_prefetch_stream none = {.runs = 0};
        run_panel(r, first_tile, end_tile, k_block, j,
                  r->b + j * p->k + k_block * r->kc_nominal * THAW_GEMM_NR, &none);
      }
    }
    if (!r->fused) finish_block(r, first_tile, end_tile, j0, nc);
    return;
  }
  for (size_t k_block = 0; k_block < r->k_blocks; k_block++) {
    const size_t k0 = k_block * r->kc_nominal;
    const size_t kc = block_depth(r, k_block);
    const float *panels;
    size_t panel_stride;
    if (p->b_packed) {
      panels = r->b + (j0 * p->k + k0 * THAW_GEMM_NR);
      panel_stride = p->k * THAW_GEMM_NR;
    } else if (r->whole_b) {
      panels = packing + k0 * panel_count * THAW_GEMM_NR;
      panel_stride = kc * THAW_GEMM_NR;
    } else {
      thaw_f32_gemm_pack_b(kc, nc,
                           r->b + (ptrdiff_t)k0 * p->b_row_stride +
                               (ptrdiff_t)j0 * p->b_column_stride,
                           p->b_row_stride, p->b_column_stride, packing);
      panels = packing;
      panel_stride = kc * THAW_GEMM_NR;
    }
    for (size_t group = first_tile; group < end_tile; group += r->group_tiles) {
      const size_t group_end = min_size(group + r->group_tiles, end_tile);
      const size_t tiles = group_end - group;
      if (kc <= GEMM_SHORT_K) {
        thaw_prefetch_stream none = {.runs = 0};
        for (size_t tile = group; tile < group_end; tile++)
          for (size_t panel = 0; panel < panel_count; panel++)
            run_panel(r, tile, tile + 1, k_block, j0 + panel * THAW_GEMM_NR,
                      panels + panel * panel_stride, &none);
        if (k_block + 1 == r->k_blocks && !r->fused) finish_block(r, group, group_end, j0, nc);
        continue;
      }
      /* A task's first group has no group before it to fetch its rows: they are fetched in
       * one go, the misses overlapping rather than waiting row after row. Its last group fetches
       * the rows after the task's, the next task's, which its thread usually takes next (a
       * thread's share of tasks is contiguous). MobileNetV2 on two threads, old and new
       * `thaw run --repeat 100 --threads 2` alternated 10 rounds: 0.97x the time; thaw_ab
       * --threads 2 --runs 300 with the two builds (slow minutes): 0.98x. */
      if (r->prefetch_a && group == first_tile && k_block == 0) {
        const size_t i = tile_first_row(&r->tiling, group);
        thaw_prefetch_stream rows_of_a = thaw_prefetch_stream_make(
            r->a + (ptrdiff_t)i * p->a_row_stride, tile_first_row(&r->tiling, group_end) - i,
            p->k * sizeof(float), (size_t)p->a_row_stride * sizeof(float), 1);
        thaw_prefetch_share(&rows_of_a);
      }
      thaw_prefetch_stream next_rows_of_a = {.runs = 0};
      if (r->prefetch_a && group_end < r->tiling.count) {
        const size_t i = tile_first_row(&r->tiling, group_end);
        const size_t rows =
            tile_first_row(&r->tiling, min_size(group_end + r->group_tiles, r->tiling.count)) - i;
        next_rows_of_a = thaw_prefetch_stream_make(
            r->a + (ptrdiff_t)i * p->a_row_stride, rows, p->k * sizeof(float),
            (size_t)p->a_row_stride * sizeof(float), tiles * panel_count);
      }
      for (size_t panel = 0; panel < panel_count; panel++) {
        /* A packed B is read from L3 or memory once per row group, and its k blocks of one
         * panel are far from those of the next, so the hardware prefetcher loses the stream
         * at every panel and the first tile would wait on memory: the next panel is fetched
         * while this one runs (measured: +8 % at m = 64, n = 1000, k = 1280). */
        thaw_prefetch_stream next_panel = {.runs = 0};
        if (p->b_packed && panel + 1 < panel_count) {
          const size_t panel_bytes = kc * THAW_GEMM_NR * sizeof(float);
          next_panel = thaw_prefetch_stream_make(panels + (panel + 1) * panel_stride, 1,
                                                 panel_bytes, panel_bytes, tiles);
        }
        run_panel(r, group, group_end, k_block, j0 + panel * THAW_GEMM_NR,
                  panels + panel * panel_stride, p->b_packed ? &next_panel : &next_rows_of_a);
      }
      if (k_block + 1 == r->k_blocks && !r->fused) finish_block(r, group, group_end, j0, nc);
    }
  }
}

/*
 * How many column chunks a product split into `tasks` tasks takes: down to one panel each,
 * unless A is taller than B is wide. Each column chunk reads all of A again and each row chunk
 * all of its columns of B, so c column chunks and tasks / c row chunks read A and B
 * c * m * k + tasks / c * n * k floats, least at c = sqrt(tasks * n / m). That matters for a
 * packed B by a taller A: a small plane's im2col columns by hundreds of filters read from
 * memory (ResNet-18's 7x7 layers, m = 512, n = 49, k = 4608: in 4 column chunks, the threads
 * read 38 MB of weights instead of 9). A chain of four such layers on two threads (one session,
 * runs alternated with and without, nearby cores, 100 rounds): 0.85x and 0.87x the time;
 * ResNet-18 0.97x. A packed B by a shorter A is a MatMul's weights (from memory) by its
 * activations (from cache): there columns are still split down to single panels (the
 * MiniLM-shaped encoder split by this rule took 1.03x the time), as are a plain B's, whose
 * chunks each pack their own part.
 */
static size_t column_chunks_for(const thaw_gemm_params *p, size_t tasks, size_t panel_count) {
  const size_t most = min_size(tasks, panel_count);
  if (!p->b_packed || p->m <= p->n) return most;
  const size_t least_traffic =
      (size_t)(sqrt((double)tasks * (double)p->n / (double)p->m) + 0.5);
  return min_size(max_size(least_traffic, 1), most);
}

/* The packed whole of B in the slice `slice` of a whole_b product, packed by the first task
 * the slice's thread runs. */
static float *packed_whole_b(const gemm_run *r, char *slice) {
  const thaw_gemm_params *p = r->p;
  float *packed = (float *)(slice + WHOLE_B_HEADER_BYTES);
  bool *ready = (bool *)slice;
  if (!*ready) {
    const size_t padded = padded_to_panels(p->n);
    for (size_t k_block = 0; k_block < r->k_blocks; k_block++) {
      const size_t k0 = k_block * r->kc_nominal;
      thaw_f32_gemm_pack_b(block_depth(r, k_block), p->n, r->b + (ptrdiff_t)k0 * p->b_row_stride,
                           p->b_row_stride, p->b_column_stride, packed + k0 * padded);
    }
    *ready = true;
  }
  return packed;
}

/* Where chunk `index` of `count` near-equal chunks of `total` units starts (a chunk ends where
 * the next starts): sizes differ by one unit at most, so that no task is much shorter than
 * the others (30 panels in 8 chunks of 4 left the last with 2, and its thread idle for half a
 * task at the end of each of PP-OCR's 1x1 layers). */
static size_t chunk_start(size_t index, size_t count, size_t total) {
  return index * total / count;
}

static void gemm_task(void *context, size_t thread_index, size_t task_index) {
  const gemm_run *r = context;
  const size_t column_chunk = task_index / r->row_chunks, row_chunk = task_index % r->row_chunks;
  const size_t panels = (r->p->n + THAW_GEMM_NR - 1) / THAW_GEMM_NR;
  const size_t j0 = chunk_start(column_chunk, r->column_chunks, panels) * THAW_GEMM_NR;
  const size_t j_end =
      min_size(chunk_start(column_chunk + 1, r->column_chunks, panels) * THAW_GEMM_NR, r->p->n);
  /* A packed B needs no scratch, and callers may then pass none: no offset from NULL. */
  char *slice = r->p->b_packed ? NULL : r->scratch + thread_index * r->scratch_stride;
  float *packing = r->whole_b ? packed_whole_b(r, slice) : (float *)slice;
  run_block(r, j0, j_end - j0, chunk_start(row_chunk, r->row_chunks, r->tiling.count),
            chunk_start(row_chunk + 1, r->row_chunks, r->tiling.count), packing);
}

/* Panels [first, first + panels_per_task) of a GEMV. */
static void gemv_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  const gemm_run *r = context;
  const thaw_gemm_params *p = r->p;
  const size_t j = task_index * r->panels_per_task * THAW_GEMM_NR;
  const size_t columns = min_size(r->panels_per_task * THAW_GEMM_NR, p->n - j);
  thaw_gemm_tile_args args = {.init = r->first_init, .min = r->clamp_min, .max = r->clamp_max};
  if (r->first_init == THAW_GEMM_TILE_BIAS_PER_ROW) args.bias = r->bias;
  if (r->first_init == THAW_GEMM_TILE_BIAS_PER_COLUMN) args.bias = r->bias + j;
  r->isa->gemv(p->m, columns, p->k, r->a, p->a_row_stride, p->a_k_stride, r->b + j * p->k,
               r->c + j, p->c_row_stride, &args);
  if (!r->fused) apply_activation(r->isa, &p->activation, p->m, columns, r->c + j,
                                  p->c_row_stride);
}

void thaw_f32_gemm_drive(const thaw_gemm_isa *isa, const thaw_gemm_params *p, const float *a,
                         const float *b, const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel) {
  if (p->m == 0 || p->n == 0) return;
  gemm_run r = {.isa = isa, .p = p, .a = a, .b = b, .bias = bias, .c = c, .scratch = scratch,
                .scratch_stride = thaw_scratch_slice_bytes(thaw_f32_gemm_scratch_size(p)),
                .first_init = initial_tile(p->bias)};
  r.fused = thaw_unary_as_clamp(&p->activation, &r.clamp_min, &r.clamp_max);
  const size_t panel_count = (p->n + THAW_GEMM_NR - 1) / THAW_GEMM_NR;

  if (p->b_packed && p->m <= THAW_GEMV_MAX_M) {
    const size_t tasks = thaw_parallel_task_count(parallel, panel_count,
                                                  2.0 * (double)(p->m * p->k * THAW_GEMM_NR));
    r.panels_per_task = (panel_count + tasks - 1) / tasks;
    parallel->run(parallel, (panel_count + r.panels_per_task - 1) / r.panels_per_task,
                  gemv_task, &r);
    return;
  }

  /* Equal k blocks (k = 1040 runs as 3 x 347, not 384 + 384 + 272); k = 0 still takes one
   * block, which writes the bias. A packed B, which no scratch bounds, takes a k up to
   * GEMM_KC_PACKED_SINGLE in one block. */
  if (p->b_packed) {
    r.k_blocks = p->k <= GEMM_KC_PACKED_SINGLE ? 1 : (p->k + GEMM_KC_MAX - 1) / GEMM_KC_MAX;
    r.kc_nominal = (p->k + r.k_blocks - 1) / r.k_blocks;
  } else {
    r.kc_nominal = plain_block_depth(p->k, p->n);
    r.k_blocks = p->k == 0 ? 1 : (p->k + r.kc_nominal - 1) / r.kc_nominal;
    r.whole_b = whole_b_per_thread(p);
  }
  r.tiling = tile_rows(p->m, isa->mr);
  /* Row groups of nearly equal size (m = 196 with a packed B: 17 + 16 tiles, not 28 + 5). A
   * plain B's block is packed in scratch, in L2, next to its group's rows of A (a 1x1
   * convolution's weights): groups taller than GEMM_MC_TILES measured 3 % slower there
   * (m = 1000, n = 169, k = 512, SqueezeNet's classifier). */
  size_t max_group_tiles = GEMM_MC_TILES;
  if (p->b_packed) {
    const size_t tile_a_bytes = isa->mr * (r.kc_nominal > 0 ? r.kc_nominal : 1) * sizeof(float);
    max_group_tiles = max_size(max_group_tiles, GEMM_GROUP_A_BYTES / tile_a_bytes);
  }
  const size_t group_count = (r.tiling.count + max_group_tiles - 1) / max_group_tiles;
  r.group_tiles = (r.tiling.count + group_count - 1) / group_count;
  /* A packed B read by few rows that fit in L2 is not reused from cache across row groups:
   * then walk it in memory order (each panel through all of k), which streams best. */
  r.stream_b = p->b_packed && r.tiling.count <= GEMM_MC_TILES &&
               p->m * p->k <= GEMM_STREAM_A_MAX_FLOATS;

  r.dot_edge = p->a_k_stride == 1;
  /* With a plain B, A is usually a 1x1 convolution's weights, read from memory at every run.
   * The microkernel reads a tile's MR rows as MR short streams (at k = 160 a row is 10 lines),
   * too short for the hardware prefetcher, so the first panel of each row group would wait on
   * memory row after row: instead, while a group walks its panels, the next group's rows are
   * fetched, a share before each tile. Measured with weights from memory (three sets of 5-6
   * interleaved runs): m = 960, n = 49, k = 160 +29 to +41 %, m = 1280, n = 49, k = 320 +14
   * to +19 %; in MobileNetV2 those layers take 24 % and 13 % less time. Weights kept hot in L3
   * by a loop over one layer lose 5-10 % instead. Only up to k = GEMM_KC_MAX: a deeper row
   * (k = 576, 960) is a stream long enough for the hardware prefetcher, and fetching the next
   * group as well cost 5-10 % (measured with those rows in blocks of 288 and 320). Only for
   * one column block: a wider product (a larger plane, fewer channels) reads its A again for
   * each block, from cache, where prefetches only cost. */
  r.prefetch_a = !p->b_packed && p->k <= GEMM_KC_MAX && p->n <= GEMM_NC &&
                 p->a_k_stride == 1 && p->a_row_stride >= 0;

  const size_t column_block = p->b_packed ? GEMM_NC_PACKED : GEMM_NC;
  /* At least one task per NC columns; more column chunks, down to one panel each, while the
   * threads want more tasks (unless each thread packs the whole of B); then row chunks. */
  const size_t tasks = thaw_parallel_task_count(
      parallel, panel_count * r.tiling.count, 2.0 * (double)(isa->mr * p->k * THAW_GEMM_NR));
  r.column_chunks = (p->n + column_block - 1) / column_block;
  if (r.column_chunks < tasks && !r.whole_b)
    r.column_chunks = max_size(r.column_chunks, column_chunks_for(p, tasks, panel_count));
  r.row_chunks = min_size((tasks + r.column_chunks - 1) / r.column_chunks, r.tiling.count);
  if (r.whole_b)
    for (size_t t = 0; t < parallel->thread_count; t++)
      *(bool *)(r.scratch + t * r.scratch_stride) = false;
  parallel->run(parallel, r.column_chunks * r.row_chunks, gemm_task, &r);
}
