/*
 * The depthwise plane microkernel body, one source for every vector ISA, written against the
 * f32 vector interface (kernels/math/f32-vector-<isa>.h). An ISA's f32-dwconv2d-plane-<isa>.h
 * includes its interface, defines its edge loads' description (see below), includes this
 * header and defines the primitives declared here; each microkernel calls
 * thaw_f32_dwconv2d_plane with its window shape as constants, and always_inline lets the
 * compiler unroll the taps and keep the filter in registers. The general microkernel passes the
 * geometry's values.
 *
 * The input plane is read in place (but for narrow planes at stride 1: see the flat path
 * below). A window row above or below the plane is skipped: its taps would add zeros, and they
 * would lengthen the FMA chains of the blocks at the top and bottom, which make up all of a
 * plane of a few rows (the text-line models'). A step (THAW_F32V_LANES
 * outputs of a row) whose taps all lie inside the plane's columns loads them as plain vectors;
 * at the left or right edge, the vectors that cross it are loaded from the nearest vector of
 * the row and their lanes moved into place, the columns outside the plane zeroed (a load, and
 * a permute and a mask made once per block, on AVX2; a load and a table lookup on NEON).
 *
 * Outputs are computed in blocks of several rows by one vector of columns. Every input row of a
 * block's windows is loaded once per tap column and feeds all the output rows whose windows
 * contain it: at 3x3 stride 1, four output rows read six input rows (18 loads for 36 FMAs
 * instead of 36 for 36), and the four accumulators are independent FMA chains. The rows left
 * over after the last whole block make one smaller block, so a plane of 2 or 3 rows is still
 * computed as 2 or 3 chains. Whatever the block, an output's taps are summed in the same order
 * (window row by window row, left to right), so a band of rows gives the same bits as the whole
 * plane.
 *
 * At stride 2, taps kw = 2j and 2j + 1 share two vector loads from column 2j, which hold their
 * columns at even and odd positions; the ISA separates them in registers, possibly in its own
 * lane order (AVX2 works within 128-bit halves), which one permute per stored vector undoes.
 * Wider strides gather their columns lane by lane: no model seen so far has one.
 */
#ifndef THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_H
#define THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/conv/f32-dwconv2d.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this header"
#endif

/* What an ISA's f32-dwconv2d-plane-<isa>.h defines before including this header: the type
 * thaw_f32_dwconv2d_lanes, how the lanes of a vector loaded from a row move to make a vector of
 * columns of which some lie outside the row. Then, after it: */
/* Lane j of the result takes lane column + j - nearest of the loaded vector when column + j is
 * one of the `width` columns of the row, else 0. */
static inline thaw_f32_dwconv2d_lanes thaw_f32_dwconv2d_lanes_at(ptrdiff_t column,
                                                                 ptrdiff_t nearest, size_t width);
static inline thaw_f32v thaw_f32_dwconv2d_move_lanes(thaw_f32v loaded,
                                                     const thaw_f32_dwconv2d_lanes *lanes);
/* The even and the odd columns of the 2 * THAW_F32V_LANES columns in low:high, in the ISA's
 * stride-2 lane order. */
static inline thaw_f32v thaw_f32_dwconv2d_even_columns(thaw_f32v low, thaw_f32v high);
static inline thaw_f32v thaw_f32_dwconv2d_odd_columns(thaw_f32v low, thaw_f32v high);
/* Sums in the stride-2 lane order, put in output order. */
static inline thaw_f32v thaw_f32_dwconv2d_in_output_order(thaw_f32v sums);

/* A vector of columns [column, column + THAW_F32V_LANES) of rows of `width` floats, some of them
 * outside the row: loaded as the vector of the row nearest to them, its lanes then moved into
 * place. Made once per block (it depends on the columns alone), it leaves one load and the lane
 * move per row. The load is a plain one unless the row is narrower than a vector: masked loads
 * cost several times more on AMD Zen, and a plain load of the vector at column 0 is shared with
 * the taps that start there. */
typedef struct thaw_f32_dwconv2d_edge {
  ptrdiff_t nearest;
  size_t loaded_columns; /* THAW_F32V_LANES, or the row's width below that */
  thaw_f32_dwconv2d_lanes lanes;
} thaw_f32_dwconv2d_edge;

/* `whole_vector`: the row is known to hold at least one vector. */
static inline __attribute__((always_inline)) thaw_f32_dwconv2d_edge thaw_f32_dwconv2d_edge_at(
    ptrdiff_t column, size_t width, bool whole_vector) {
  const bool narrow = !whole_vector && width < THAW_F32V_LANES;
  const ptrdiff_t last = narrow ? 0 : (ptrdiff_t)(width - THAW_F32V_LANES);
  const ptrdiff_t nearest = column < 0 ? 0 : (column > last ? last : column);
  return (thaw_f32_dwconv2d_edge){
      .nearest = nearest,
      .loaded_columns = narrow ? width : THAW_F32V_LANES,
      .lanes = thaw_f32_dwconv2d_lanes_at(column, nearest, width),
  };
}

/* The edge's columns of `row`, 0 for the ones outside it; nothing outside the row is read. */
static inline __attribute__((always_inline)) thaw_f32v thaw_f32_dwconv2d_edge_load(
    const float *row, const thaw_f32_dwconv2d_edge *edge) {
  return thaw_f32_dwconv2d_move_lanes(
      thaw_f32v_load_partial(row + edge->nearest, edge->loaded_columns), &edge->lanes);
}

/* The loops over a constant window's taps and rows are unrolled. A file that compiles the body
 * for windows known only at run time defines THAW_DWCONV2D_RUNTIME_WINDOW first: unrolled over
 * run-time bounds, its loops would take hundreds of KB of code and gain nothing. */
#define THAW_DWCONV2D_PRAGMA(text) _Pragma(#text)
#ifdef THAW_DWCONV2D_RUNTIME_WINDOW
#define THAW_DWCONV2D_UNROLL(count) THAW_DWCONV2D_PRAGMA(GCC unroll 1)
#else
#define THAW_DWCONV2D_UNROLL(count) THAW_DWCONV2D_PRAGMA(GCC unroll count)
#endif

/* Windows of up to this many taps (5x5) keep their weights as vectors in a local array. */
#define THAW_DWCONV2D_HOISTED_TAPS 25
/* Output rows per block in the microkernels with a constant window. */
#define THAW_DWCONV2D_BLOCK_ROWS 4
/* Blocks that read up to this many input rows (any constant window's) list them once. */
#define THAW_DWCONV2D_LISTED_ROWS 16

/* Input row ih of the plane, or NULL above or below it; `clipped` is false when ih is known to
 * lie inside. */
static inline __attribute__((always_inline)) const float *thaw_f32_dwconv2d_row(
    const thaw_dwconv2d_geometry *g, const float *input, ptrdiff_t ih, bool clipped) {
  /* A row above the plane wraps round to a large unsigned index. */
  if (clipped && (size_t)ih >= g->in_height) return NULL;
  return input + (size_t)ih * g->in_width;
}

/* Columns origin + j * stride_w of `row` for the lanes j, 0 outside the plane. */
static inline thaw_f32v thaw_f32_dwconv2d_gather_columns(const float *row, ptrdiff_t origin,
                                                         size_t stride_w, size_t width) {
  float lanes[THAW_F32V_LANES];
  for (size_t j = 0; j < THAW_F32V_LANES; j++) {
    const ptrdiff_t column = origin + (ptrdiff_t)(j * stride_w);
    lanes[j] = column >= 0 && (size_t)column < width ? row[column] : 0.0f;
  }
  return thaw_f32v_load(lanes);
}

/* Tap columns up to this many per row have their edge vectors made once per block (two each at
 * stride 2); a wider window makes them as it loads. */
#define THAW_DWCONV2D_PREPARED_COLUMNS 8

/* The first column of vector `half` (0, or 1 for the high one of a stride-2 pair) that tap
 * column kw loads, for the step whose first window starts at column `origin`. */
static inline __attribute__((always_inline)) ptrdiff_t thaw_f32_dwconv2d_vector_column(
    ptrdiff_t origin, size_t kw, size_t half, size_t stride_w, size_t dilation_w) {
  const size_t offset = kw * dilation_w;
  if (stride_w == 1) return origin + (ptrdiff_t)offset;
  return origin + (ptrdiff_t)(offset / 2 * 2 + half * THAW_F32V_LANES);
}

/* Vector `half` of tap column kw: a plain load inside the row, else through the edge
 * description `prepared` (NULL: made here). */
static inline __attribute__((always_inline)) thaw_f32v thaw_f32_dwconv2d_vector(
    const float *row, ptrdiff_t origin, size_t width, bool edge,
    const thaw_f32_dwconv2d_edge *prepared, size_t kw, size_t half, size_t stride_w,
    size_t dilation_w) {
  const ptrdiff_t column =
      thaw_f32_dwconv2d_vector_column(origin, kw, half, stride_w, dilation_w);
  if (!edge) return thaw_f32v_load(row + column);
  if (prepared != NULL) return thaw_f32_dwconv2d_edge_load(row, prepared);
  const thaw_f32_dwconv2d_edge columns = thaw_f32_dwconv2d_edge_at(column, width, false);
  return thaw_f32_dwconv2d_edge_load(row, &columns);
}

/* Whether vector `index` (see thaw_f32_dwconv2d_tap) is among `edge_vectors`: all of them when it
 * is UINT32_MAX, as for windows too wide to number their vectors. */
static inline __attribute__((always_inline)) bool thaw_f32_dwconv2d_among(uint32_t edge_vectors,
                                                                          size_t index) {
  return index < 32 ? (edge_vectors >> index & 1) != 0 : edge_vectors == UINT32_MAX;
}

/* The columns tap kw multiplies for the step whose first window starts at column `origin`.
 * Bit 2 * kw + half of `edge_vectors` is set when vector `half` of tap column kw may reach
 * outside the row (all bits: any of them may); `edges` holds their prepared descriptions, or is
 * NULL. */
static inline __attribute__((always_inline)) thaw_f32v thaw_f32_dwconv2d_tap(
    const float *row, ptrdiff_t origin, size_t width, uint32_t edge_vectors,
    const thaw_f32_dwconv2d_edge *edges, size_t kw, size_t stride_w, size_t dilation_w) {
  if (stride_w > 2)
    return thaw_f32_dwconv2d_gather_columns(row, origin + (ptrdiff_t)(kw * dilation_w), stride_w,
                                            width);
  const thaw_f32_dwconv2d_edge *low_edge = edges != NULL ? &edges[2 * kw] : NULL;
  const thaw_f32v low =
      thaw_f32_dwconv2d_vector(row, origin, width, thaw_f32_dwconv2d_among(edge_vectors, 2 * kw),
                               low_edge, kw, 0, stride_w, dilation_w);
  if (stride_w == 1) return low;
  const thaw_f32_dwconv2d_edge *high_edge = edges != NULL ? &edges[2 * kw + 1] : NULL;
  const thaw_f32v high = thaw_f32_dwconv2d_vector(
      row, origin, width, thaw_f32_dwconv2d_among(edge_vectors, 2 * kw + 1), high_edge, kw, 1,
      stride_w, dilation_w);
  return kw * dilation_w % 2 == 0 ? thaw_f32_dwconv2d_even_columns(low, high)
                                  : thaw_f32_dwconv2d_odd_columns(low, high);
}

/* Whether the edge vectors of a step are numbered and described ahead (two per tap column). */
static inline __attribute__((always_inline)) bool thaw_f32_dwconv2d_preparable(
    size_t kernel_width, size_t stride_w) {
  return stride_w <= 2 && kernel_width <= THAW_DWCONV2D_PREPARED_COLUMNS;
}

/* The descriptions of the edge vectors (`edge_vectors`, as thaw_f32_dwconv2d_tap numbers
 * them) of the step whose first window starts at column `origin`. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_prepare(
    thaw_f32_dwconv2d_edge *edges, uint32_t edge_vectors, ptrdiff_t origin, size_t width,
    size_t kernel_width, size_t stride_w, size_t dilation_w) {
  /* A step with a vector inside the row proves the row holds one: then, when edge_vectors is a
   * constant, so are the edge loads' widths, and the loads are plain. */
  bool whole_vector = false;
THAW_DWCONV2D_UNROLL(8)
  for (size_t kw = 0; kw < kernel_width; kw++) {
THAW_DWCONV2D_UNROLL(2)
    for (size_t half = 0; half < stride_w; half++)
      whole_vector = whole_vector || !thaw_f32_dwconv2d_among(edge_vectors, 2 * kw + half);
  }
THAW_DWCONV2D_UNROLL(8)
  for (size_t kw = 0; kw < kernel_width; kw++) {
THAW_DWCONV2D_UNROLL(2)
    for (size_t half = 0; half < stride_w; half++) {
      if (thaw_f32_dwconv2d_among(edge_vectors, 2 * kw + half))
        edges[2 * kw + half] = thaw_f32_dwconv2d_edge_at(
            thaw_f32_dwconv2d_vector_column(origin, kw, half, stride_w, dilation_w), width,
            whole_vector);
    }
  }
}

/* The vectors of the step whose first window starts at column `origin` that reach outside a row
 * of `width` floats, numbered as thaw_f32_dwconv2d_tap numbers them; for a window that
 * thaw_f32_dwconv2d_preparable takes. */
static inline __attribute__((always_inline)) uint32_t thaw_f32_dwconv2d_outside(
    ptrdiff_t origin, size_t width, size_t kernel_width, size_t stride_w, size_t dilation_w) {
  uint32_t outside = 0;
THAW_DWCONV2D_UNROLL(8)
  for (size_t kw = 0; kw < kernel_width; kw++) {
THAW_DWCONV2D_UNROLL(2)
    for (size_t half = 0; half < stride_w; half++) {
      const ptrdiff_t column =
          thaw_f32_dwconv2d_vector_column(origin, kw, half, stride_w, dilation_w);
      if (column < 0 || (size_t)column + THAW_F32V_LANES > width)
        outside |= (uint32_t)1 << (2 * kw + half);
    }
  }
  return outside;
}

/* Whether every tap of the step whose first window starts at column `origin` loads inside the
 * row: at stride 2 the pair loads reach one column past the widest tap. */
static inline __attribute__((always_inline)) bool thaw_f32_dwconv2d_inside(
    ptrdiff_t origin, size_t width, size_t kernel_width, size_t stride_w, size_t dilation_w) {
  const size_t widest = (kernel_width - 1) * dilation_w;
  const size_t span = stride_w == 2 ? widest / 2 * 2 + 2 * THAW_F32V_LANES
                                    : widest + THAW_F32V_LANES;
  return origin >= 0 && (size_t)origin + span <= width;
}

/* The sums of block_rows output rows from `oh` by one vector of columns, bias included: input
 * row r of the block's windows serves output row o when r - o * stride_h is a multiple of
 * dilation_h below kernel_height * dilation_h; rows above or below the plane add nothing.
 * `rows` lists the block's input rows, NULL outside the plane (or is NULL: they are found as
 * they are read); `edge_vectors` (see thaw_f32_dwconv2d_tap) are the vectors whose columns
 * may lie left or right of the plane. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_block(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const thaw_f32v *weights,
    const float *restrict filter, thaw_f32v bias, thaw_f32v *sums, size_t oh,
    const float *const *rows, ptrdiff_t origin, uint32_t edge_vectors, size_t block_rows,
    bool clipped, size_t kernel_height, size_t kernel_width, size_t stride_h, size_t stride_w,
    size_t dilation_h, size_t dilation_w) {
  const size_t taps = kernel_height * kernel_width;
  const bool hoisted = taps <= THAW_DWCONV2D_HOISTED_TAPS;
  const ptrdiff_t top = (ptrdiff_t)(oh * stride_h) - (ptrdiff_t)g->pad_top;
THAW_DWCONV2D_UNROLL(4)
  for (size_t o = 0; o < block_rows; o++) sums[o] = bias;
  /* The edge vectors' lane moves and masks depend on the columns alone: made once for all the
   * rows of the block. */
  thaw_f32_dwconv2d_edge edges[2 * THAW_DWCONV2D_PREPARED_COLUMNS];
  const bool prepared =
      edge_vectors != 0 && thaw_f32_dwconv2d_preparable(kernel_width, stride_w);
  if (prepared)
    thaw_f32_dwconv2d_prepare(edges, edge_vectors, origin, g->in_width, kernel_width, stride_w,
                              dilation_w);
  const size_t input_rows = (block_rows - 1) * stride_h + (kernel_height - 1) * dilation_h + 1;
THAW_DWCONV2D_UNROLL(16)
  for (size_t r = 0; r < input_rows; r++) {
    const float *row =
        rows != NULL ? rows[r] : thaw_f32_dwconv2d_row(g, input, top + (ptrdiff_t)r, clipped);
    if (clipped && row == NULL) continue;
THAW_DWCONV2D_UNROLL(8)
    for (size_t kw = 0; kw < kernel_width; kw++) {
      const thaw_f32v values = thaw_f32_dwconv2d_tap(row, origin, g->in_width, edge_vectors,
                                                     prepared ? edges : NULL, kw, stride_w,
                                                     dilation_w);
THAW_DWCONV2D_UNROLL(4)
      for (size_t o = 0; o < block_rows; o++) {
        if (r < o * stride_h) continue;
        const size_t offset = r - o * stride_h;
        /* Without dilation (nearly always), no division: at run time it would cost more than
         * the taps' FMAs. */
        const bool dilated = dilation_h != 1;
        if (dilated && offset % dilation_h != 0) continue;
        const size_t kh = dilated ? offset / dilation_h : offset;
        if (kh >= kernel_height) continue;
        const size_t t = kh * kernel_width + kw;
        const thaw_f32v weight = hoisted ? weights[t] : thaw_f32v_dup(filter[t]);
        sums[o] = thaw_f32v_fmadd(values, weight, sums[o]);
      }
    }
  }
}

/* block_rows output rows from output row `oh`, one vector of columns at a time. A row at least
 * a vector wide ends with a step that overlaps the one before and ends at its last column, so
 * every store is a whole vector of real outputs. A narrower row is one step whose lanes past
 * the row run into the next rows: they are stored whole too, since those rows are computed and
 * stored later, up to the end of the band, where the store stops. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_rows(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const thaw_f32v *weights,
    const float *restrict filter, thaw_f32v bias, float *restrict output, size_t oh,
    size_t block_rows, bool clipped, size_t kernel_height, size_t kernel_width, size_t stride_h,
    size_t stride_w, size_t dilation_h, size_t dilation_w) {
  const size_t out_width = g->out_width;
  const size_t band_end = (g->first_row + g->rows) * out_width;
  const thaw_f32v output_min = thaw_f32v_dup(g->output_min);
  const thaw_f32v output_max = thaw_f32v_dup(g->output_max);
  thaw_f32v sums[THAW_DWCONV2D_BLOCK_ROWS];
  const ptrdiff_t top = (ptrdiff_t)(oh * stride_h) - (ptrdiff_t)g->pad_top;
  const size_t input_rows = (block_rows - 1) * stride_h + (kernel_height - 1) * dilation_h + 1;
  /* The block's input rows (NULL above and below the plane), found once for all its steps. */
  const float *listed_rows[THAW_DWCONV2D_LISTED_ROWS];
  const bool listed = input_rows <= THAW_DWCONV2D_LISTED_ROWS;
  if (listed) {
THAW_DWCONV2D_UNROLL(16)
    for (size_t r = 0; r < input_rows; r++)
      listed_rows[r] = thaw_f32_dwconv2d_row(g, input, top + (ptrdiff_t)r, clipped);
  }
  const float *const *rows = listed ? listed_rows : NULL;
  /* The edge vectors of the first and last steps of a wide row whose window is centred by its
   * padding, (kernel_width - 1) / 2 * dilation_w on the left: constants for a constant window. */
  const bool numbered = thaw_f32_dwconv2d_preparable(kernel_width, stride_w);
  const size_t centred_pad = (kernel_width - 1) / 2 * dilation_w;
  const size_t wide = 16 * THAW_F32V_LANES;
  const size_t wide_out =
      (wide + 2 * centred_pad - (kernel_width - 1) * dilation_w - 1) / stride_w + 1;
  const uint32_t centred_left =
      numbered ? thaw_f32_dwconv2d_outside(-(ptrdiff_t)centred_pad, wide, kernel_width,
                                           stride_w, dilation_w)
               : UINT32_MAX;
  const uint32_t centred_right =
      numbered ? thaw_f32_dwconv2d_outside(
                     (ptrdiff_t)((wide_out - THAW_F32V_LANES) * stride_w) -
                         (ptrdiff_t)centred_pad,
                     wide, kernel_width, stride_w, dilation_w)
               : UINT32_MAX;
  size_t ow = 0;
  for (;;) {
    const ptrdiff_t origin = (ptrdiff_t)(ow * stride_w) - (ptrdiff_t)g->pad_left;
    const bool columns_inside =
        thaw_f32_dwconv2d_inside(origin, g->in_width, kernel_width, stride_w, dilation_w);
    /* Instances of the block: the middle of a row stays free of the edges' masks, and the
     * first and last steps of a window centred by its padding (the common case) mask only the
     * vectors that cross the edge, which the compiler then knows. */
    if (columns_inside) {
      thaw_f32_dwconv2d_block(g, input, weights, filter, bias, sums, oh, rows, origin, 0,
                              block_rows, clipped, kernel_height, kernel_width, stride_h,
                              stride_w, dilation_h, dilation_w);
    } else {
      const uint32_t outside = numbered ? thaw_f32_dwconv2d_outside(origin, g->in_width,
                                                                    kernel_width, stride_w,
                                                                    dilation_w)
                                        : UINT32_MAX;
      if (outside == centred_left)
        thaw_f32_dwconv2d_block(g, input, weights, filter, bias, sums, oh, rows, origin,
                                centred_left, block_rows, clipped, kernel_height, kernel_width,
                                stride_h, stride_w, dilation_h, dilation_w);
      else if (outside == centred_right)
        thaw_f32_dwconv2d_block(g, input, weights, filter, bias, sums, oh, rows, origin,
                                centred_right, block_rows, clipped, kernel_height, kernel_width,
                                stride_h, stride_w, dilation_h, dilation_w);
      else
        thaw_f32_dwconv2d_block(g, input, weights, filter, bias, sums, oh, rows, origin,
                                UINT32_MAX, block_rows, clipped, kernel_height, kernel_width,
                                stride_h, stride_w, dilation_h, dilation_w);
    }
THAW_DWCONV2D_UNROLL(4)
    for (size_t o = 0; o < block_rows; o++) {
      /* max and min return their second operand when either is NaN (FMAX/FMIN: NaN). */
      thaw_f32v result = thaw_f32v_min(output_max, thaw_f32v_max(output_min, sums[o]));
      if (stride_w == 2) result = thaw_f32_dwconv2d_in_output_order(result);
      const size_t position = (oh + o) * out_width + ow;
      if (out_width >= THAW_F32V_LANES || position + THAW_F32V_LANES <= band_end)
        thaw_f32v_store(output + position, result);
      else
        thaw_f32v_store_partial(output + position, band_end - position, result);
    }
    if (ow + THAW_F32V_LANES >= out_width) break;
    ow = ow + 2 * THAW_F32V_LANES <= out_width ? ow + THAW_F32V_LANES
                                              : out_width - THAW_F32V_LANES;
  }
}

/* Output rows [g->first_row, + g->rows) of a plane read in place, in blocks of block_rows rows,
 * then one block of the rows left over. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_in_place(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t block_rows, size_t kernel_height,
    size_t kernel_width, size_t stride_h, size_t stride_w, size_t dilation_h,
    size_t dilation_w) {
  const thaw_f32v bias_vector = thaw_f32v_dup(bias);
  /* Broadcast once per plane. With a constant window of up to 9 taps they all stay in registers;
   * the output stores would otherwise make the compiler reload them (it cannot tell that output
   * does not alias filter). */
  const size_t taps = kernel_height * kernel_width;
  thaw_f32v weights[THAW_DWCONV2D_HOISTED_TAPS];
  for (size_t t = 0; taps <= THAW_DWCONV2D_HOISTED_TAPS && t < taps; t++)
    weights[t] = thaw_f32v_dup(filter[t]);

  const size_t end = g->first_row + g->rows;
  const size_t block_input_rows =
      (block_rows - 1) * stride_h + (kernel_height - 1) * dilation_h + 1;
  size_t oh = g->first_row;
  for (; end - oh >= block_rows; oh += block_rows) {
    /* The blocks between the top and bottom ones, most of a tall plane, check no rows. */
    const ptrdiff_t top = (ptrdiff_t)(oh * stride_h) - (ptrdiff_t)g->pad_top;
    if (top >= 0 && (size_t)top + block_input_rows <= g->in_height)
      thaw_f32_dwconv2d_rows(g, input, weights, filter, bias_vector, output, oh, block_rows,
                             false, kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                             dilation_w);
    else
      thaw_f32_dwconv2d_rows(g, input, weights, filter, bias_vector, output, oh, block_rows,
                             true, kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                             dilation_w);
  }
  /* One instance per count of rows left over, each with constant bounds. */
THAW_DWCONV2D_UNROLL(4)
  for (size_t left_over = 1; left_over < block_rows; left_over++) {
    if (end - oh == left_over)
      thaw_f32_dwconv2d_rows(g, input, weights, filter, bias_vector, output, oh, left_over,
                             true, kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                             dilation_w);
  }
}

/* Planes whose rows are at most this many vectors wide take the flat path (see below). */
#define THAW_DWCONV2D_FLAT_VECTORS 2
/* Floats of the stack copy the flat path reads. */
#define THAW_DWCONV2D_FLAT_FLOATS 2048

/* A narrow plane crosses the left or the right edge at every step of its rows, and each of
 * its taps would be an edge load. At stride 1 with the width kept (the padding of a centred
 * window), output (oh, ow) and input (oh + kh - pad_top, ow + kw - pad_left) lie the same
 * distance apart in the flat planes for every output, so a vector of consecutive outputs,
 * across rows, takes each tap from one plain load of the flat input: the plane is copied, a
 * chunk of rows at a time, between zeros that stand for the rows above and below it. A tap
 * column that reaches across the left or right edge picks up the neighbouring row's end there:
 * each tap column's taps are summed apart, and its sum zeroed in the lanes whose column it
 * reaches outside, which the lanes' column numbers (kept in floats) tell. An output's sum is
 * the bias, then the tap columns' sums from the left; it is the same in any lane, whichever
 * rows a call computes. */
static inline __attribute__((always_inline)) bool thaw_f32_dwconv2d_flat_fits(
    const thaw_dwconv2d_geometry *g, size_t kernel_height, size_t kernel_width,
    size_t stride_h, size_t stride_w, size_t dilation_h, size_t dilation_w) {
  const size_t width = g->in_width;
  if (stride_h != 1 || stride_w != 1 || g->out_width != width ||
      g->pad_left > (kernel_width - 1) * dilation_w ||
      width > THAW_DWCONV2D_FLAT_VECTORS * THAW_F32V_LANES ||
      kernel_width > THAW_DWCONV2D_PREPARED_COLUMNS ||
      kernel_height * kernel_width > THAW_DWCONV2D_HOISTED_TAPS)
    return false;
  /* The copy holds a chunk's window rows, and the reach of the first and last lanes' taps
   * before and after them; at least one output row per chunk. */
  const size_t window_rows = (kernel_height - 1) * dilation_h + 1;
  const size_t around = (kernel_width - 1) * dilation_w + 2 * THAW_F32V_LANES;
  return window_rows <= THAW_DWCONV2D_FLAT_FLOATS / width &&
         window_rows * width + around <= THAW_DWCONV2D_FLAT_FLOATS;
}

/* Window rows [top, top + count) of the plane into copy + pad_left, the rows above and below
 * the plane as zeros, with `after` more zeros past them and pad_left before; zeros stored a
 * vector at a time, up to a vector past that end. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_flat_copy(
    const thaw_dwconv2d_geometry *g, const float *restrict input, ptrdiff_t top, size_t count,
    size_t after, float *copy) {
  const size_t width = g->in_width;
  const ptrdiff_t bottom = top + (ptrdiff_t)count;
  const size_t first = top < 0 ? 0 : (size_t)top;
  const size_t last = bottom <= (ptrdiff_t)first                ? first
                      : bottom > (ptrdiff_t)g->in_height ? g->in_height
                                                         : (size_t)bottom;
  const size_t copied = (last - first) * width;
  const size_t end = g->pad_left + count * width + after;
  const size_t begin = copied != 0 ? g->pad_left + (size_t)((ptrdiff_t)first - top) * width : end;
  for (size_t i = 0; i < begin; i += THAW_F32V_LANES) thaw_f32v_store(copy + i, thaw_f32v_zero());
  for (size_t i = begin + copied; i < end; i += THAW_F32V_LANES)
    thaw_f32v_store(copy + i, thaw_f32v_zero());
  const float *from = input + first * width;
  if (copied >= THAW_F32V_LANES) {
    for (size_t i = 0; i + THAW_F32V_LANES < copied; i += THAW_F32V_LANES)
      thaw_f32v_store(copy + begin + i, thaw_f32v_load(from + i));
    thaw_f32v_store(copy + begin + copied - THAW_F32V_LANES,
                    thaw_f32v_load(from + copied - THAW_F32V_LANES));
  } else if (copied != 0) {
    thaw_f32v_store(copy + begin, thaw_f32v_load_partial(from, copied));
  }
}

/* Output rows [g->first_row, + g->rows) by the flat path, the window's left padding pad_left
 * (a constant for a centred constant window, so that its column masks are). */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_flat(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t kernel_height, size_t kernel_width,
    size_t dilation_h, size_t dilation_w, size_t pad_left) {
  float copy[THAW_DWCONV2D_FLAT_FLOATS];
  const size_t width = g->in_width;
  const size_t window_rows = (kernel_height - 1) * dilation_h + 1;
  /* Lanes read from pad_left floats before a chunk's first window row to the last tap
   * column's reach past its last vector. */
  const size_t after = (kernel_width - 1) * dilation_w - pad_left + THAW_F32V_LANES;
  const size_t chunk_rows =
      (THAW_DWCONV2D_FLAT_FLOATS - THAW_F32V_LANES - pad_left - after) / width -
      (window_rows - 1);
  /* How far each step moves the lanes' columns: THAW_F32V_LANES modulo the width (no division:
   * it costs more than a narrow plane's taps). */
  size_t step = THAW_F32V_LANES;
  while (step >= width) step -= width;
  static const float lane_numbers[] = {0, 1, 2, 3, 4, 5, 6, 7};
  _Static_assert(sizeof(lane_numbers) / sizeof(float) >= THAW_F32V_LANES, "a vector's lanes");
  const size_t end = g->first_row + g->rows;
  for (size_t oh = g->first_row; oh < end; oh += chunk_rows) {
    const size_t rows = end - oh < chunk_rows ? end - oh : chunk_rows;
    thaw_f32_dwconv2d_flat_copy(g, input, (ptrdiff_t)oh - (ptrdiff_t)g->pad_top,
                                rows + window_rows - 1, after, copy);
    /* Broadcast after the copy, which may be a library call that would make them spill. */
    thaw_f32v weights[THAW_DWCONV2D_HOISTED_TAPS];
    for (size_t t = 0; t < kernel_height * kernel_width; t++)
      weights[t] = thaw_f32v_dup(filter[t]);
    const thaw_f32v output_min = thaw_f32v_dup(g->output_min);
    const thaw_f32v output_max = thaw_f32v_dup(g->output_max);
    const thaw_f32v last_column = thaw_f32v_dup((float)(width - 1));
    const thaw_f32v width_vector = thaw_f32v_dup((float)width);
    const thaw_f32v step_columns = thaw_f32v_dup((float)step);
    /* Output q of the chunk (row-major) reads copy[q + kh * dilation_h * width + kw *
     * dilation_w]. */
    const size_t outputs = rows * width;
    float *chunk_output = output + oh * width;
    /* The lanes' columns at the first step: the lane numbers modulo the width. */
    thaw_f32v columns = thaw_f32v_load(lane_numbers);
    for (size_t wrapped = width; wrapped < THAW_F32V_LANES; wrapped += width)
      columns = thaw_f32v_sub(columns, thaw_f32v_zero_below(width_vector, columns, width_vector));
    for (size_t q = 0; q < outputs; q += THAW_F32V_LANES) {
      const thaw_f32v columns_left = thaw_f32v_sub(last_column, columns);
      thaw_f32v sum = thaw_f32v_dup(bias);
THAW_DWCONV2D_UNROLL(8)
      for (size_t kw = 0; kw < kernel_width; kw++) {
        const float *tap = copy + q + kw * dilation_w;
        thaw_f32v column_sum = thaw_f32v_mul(thaw_f32v_load(tap), weights[kw]);
THAW_DWCONV2D_UNROLL(8)
        for (size_t kh = 1; kh < kernel_height; kh++)
          column_sum = thaw_f32v_fmadd(thaw_f32v_load(tap + kh * dilation_h * width),
                                       weights[kh * kernel_width + kw], column_sum);
        /* Tap column kw reads column + kw * dilation_w - pad_left of the output's row. */
        const ptrdiff_t shift = (ptrdiff_t)(kw * dilation_w) - (ptrdiff_t)pad_left;
        if (shift < 0)
          column_sum = thaw_f32v_zero_below(column_sum, columns, thaw_f32v_dup((float)-shift));
        else if (shift > 0)
          column_sum =
              thaw_f32v_zero_below(column_sum, columns_left, thaw_f32v_dup((float)shift));
        sum = thaw_f32v_add(sum, column_sum);
      }
      const thaw_f32v result = thaw_f32v_min(output_max, thaw_f32v_max(output_min, sum));
      if (q + THAW_F32V_LANES <= outputs)
        thaw_f32v_store(chunk_output + q, result);
      else
        thaw_f32v_store_partial(chunk_output + q, outputs - q, result);
      /* The next step's columns: THAW_F32V_LANES further along the rows, modulo the width. */
      columns = thaw_f32v_add(columns, step_columns);
      columns = thaw_f32v_sub(columns,
                              thaw_f32v_zero_below(width_vector, columns, width_vector));
    }
  }
}

/* Output rows [g->first_row, + g->rows): by the flat path where it fits, else in place. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output, size_t block_rows, size_t kernel_height,
    size_t kernel_width, size_t stride_h, size_t stride_w, size_t dilation_h,
    size_t dilation_w) {
  const size_t centred_pad = (kernel_width - 1) / 2 * dilation_w;
  if (!thaw_f32_dwconv2d_flat_fits(g, kernel_height, kernel_width, stride_h, stride_w,
                                   dilation_h, dilation_w))
    thaw_f32_dwconv2d_plane_in_place(g, input, filter, bias, output, block_rows, kernel_height,
                                     kernel_width, stride_h, stride_w, dilation_h, dilation_w);
  else if (g->pad_left == centred_pad)
    thaw_f32_dwconv2d_plane_flat(g, input, filter, bias, output, kernel_height, kernel_width,
                                 dilation_h, dilation_w, centred_pad);
  else
    thaw_f32_dwconv2d_plane_flat(g, input, filter, bias, output, kernel_height, kernel_width,
                                 dilation_h, dilation_w, g->pad_left);
}

/* Any window, stride and dilation, read from g (for the general microkernels, compiled with
 * THAW_DWCONV2D_RUNTIME_WINDOW). The undilated windows at stride 1 or 2 across, nearly all of
 * them, have those as constants: at run time, the choice of how to load each tap would cost
 * more than its FMAs. */
static inline __attribute__((always_inline)) void thaw_f32_dwconv2d_plane_any_window(
    const thaw_dwconv2d_geometry *g, const float *restrict input, const float *restrict filter,
    float bias, float *restrict output) {
  const size_t block_rows = THAW_DWCONV2D_BLOCK_ROWS;
  if (g->stride_w == 1 && g->dilation_h == 1 && g->dilation_w == 1)
    thaw_f32_dwconv2d_plane(g, input, filter, bias, output, block_rows, g->kernel_height,
                            g->kernel_width, g->stride_h, 1, 1, 1);
  else if (g->stride_w == 2 && g->dilation_h == 1 && g->dilation_w == 1)
    thaw_f32_dwconv2d_plane(g, input, filter, bias, output, block_rows, g->kernel_height,
                            g->kernel_width, g->stride_h, 2, 1, 1);
  else
    thaw_f32_dwconv2d_plane(g, input, filter, bias, output, block_rows, g->kernel_height,
                            g->kernel_width, g->stride_h, g->stride_w, g->dilation_h,
                            g->dilation_w);
}

#endif /* THAW_KERNELS_CONV_F32_DWCONV2D_PLANE_H */
