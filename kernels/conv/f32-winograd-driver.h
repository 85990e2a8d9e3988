/*
 * The F(4x4, 3x3) transforms (f32-winograd.h), one source for every vector ISA: an ISA's
 * f32-winograd-<isa>.c includes its f32 vector interface (kernels/math/f32-vector-<isa>.h),
 * defines winograd_load_patch_row and winograd_store_tile_row (the stride-4 reads and writes
 * of neighbouring tiles, an in-register transpose) and winograd_load_filter_taps (a vector of
 * filters' taps, tap-major), includes this header, then says
 * THAW_F32_WINOGRAD_TRANSFORMS(<isa>). Those two read and write the tiles of a vector a quad
 * (4 neighbouring tiles of one tile row) at a time, one pointer per quad, since the quads of a
 * stacked slot row lie in different tile rows.
 *
 * Each transform is separable: a 1-D transform along the rows of a tile, then along its
 * columns. The input and output transforms run over the vectors of THAW_F32V_LANES
 * neighbouring tile slots, so every load and store of V and M is contiguous; the weight
 * transform runs over THAW_F32V_LANES input channels, contiguous in U.
 */
#ifndef THAW_KERNELS_CONV_F32_WINOGRAD_DRIVER_H
#define THAW_KERNELS_CONV_F32_WINOGRAD_DRIVER_H

#include <string.h>

#include "kernels/conv/f32-winograd.h"

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

enum { WINOGRAD_LANES = THAW_F32V_LANES, WINOGRAD_QUADS = THAW_F32V_LANES / 4 };

/* The tile row within the chunk and the first tile across of quad `quad` of a slot row. */
typedef struct winograd_quad {
  size_t tile_row, first_tile;
} winograd_quad;

static inline winograd_quad winograd_quad_at(const thaw_winograd_chunk *c, size_t slot_row,
                                             size_t quad) {
  const size_t quads_per_tile_row = c->tile_slots / c->stacked_rows / 4;
  return (winograd_quad){c->stacked_rows * slot_row + quad / quads_per_tile_row,
                         4 * (quad % quads_per_tile_row)};
}

/* G g for a 3-vector g (rows of G: 1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 * 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1). */
static inline void winograd_filter_1d(thaw_f32v g0, thaw_f32v g1, thaw_f32v g2, thaw_f32v *u) {
  const thaw_f32v outer = thaw_f32v_add(g0, g2);
  const thaw_f32v even = thaw_f32v_fmadd(g0, thaw_f32v_dup(1.0f / 24.0f),
                                         thaw_f32v_mul(g2, thaw_f32v_dup(1.0f / 6.0f)));
  const thaw_f32v odd = thaw_f32v_mul(g1, thaw_f32v_dup(1.0f / 12.0f));
  u[0] = thaw_f32v_mul(g0, thaw_f32v_dup(0.25f));
  u[1] = thaw_f32v_mul(thaw_f32v_add(outer, g1), thaw_f32v_dup(-1.0f / 6.0f));
  u[2] = thaw_f32v_mul(thaw_f32v_sub(outer, g1), thaw_f32v_dup(-1.0f / 6.0f));
  u[3] = thaw_f32v_add(even, odd);
  u[4] = thaw_f32v_sub(even, odd);
  u[5] = g2;
}

/* B^T d for a 6-vector d (rows of B^T: 4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 * 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1). */
static inline void winograd_input_1d(const thaw_f32v *d, thaw_f32v *v) {
  const thaw_f32v four = thaw_f32v_dup(4.0f), minus_four = thaw_f32v_dup(-4.0f);
  const thaw_f32v minus_five = thaw_f32v_dup(-5.0f), two = thaw_f32v_dup(2.0f);
  const thaw_f32v inner_sum = thaw_f32v_add(d[1], d[2]), inner_difference = thaw_f32v_sub(d[1], d[2]);
  const thaw_f32v high_sum = thaw_f32v_add(d[3], d[4]), high_difference = thaw_f32v_sub(d[4], d[3]);
  const thaw_f32v far = thaw_f32v_sub(d[4], d[2]), near = thaw_f32v_sub(d[3], d[1]);
  v[0] = thaw_f32v_fmadd(four, d[0], thaw_f32v_fmadd(minus_five, d[2], d[4]));
  v[1] = thaw_f32v_fmadd(minus_four, inner_sum, high_sum);
  v[2] = thaw_f32v_fmadd(four, inner_difference, high_difference);
  v[3] = thaw_f32v_fmadd(two, near, far);
  v[4] = thaw_f32v_fmadd(thaw_f32v_dup(-2.0f), near, far);
  v[5] = thaw_f32v_fmadd(four, d[1], thaw_f32v_fmadd(minus_five, d[3], d[5]));
}

/* A^T m for a 6-vector m (rows of A^T: 1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
 * 0 1 -1 8 -8 1). */
static inline void winograd_output_1d(const thaw_f32v *m, thaw_f32v *o) {
  const thaw_f32v inner_sum = thaw_f32v_add(m[1], m[2]), inner_difference = thaw_f32v_sub(m[1], m[2]);
  const thaw_f32v outer_sum = thaw_f32v_add(m[3], m[4]), outer_difference = thaw_f32v_sub(m[3], m[4]);
  o[0] = thaw_f32v_add(thaw_f32v_add(m[0], inner_sum), outer_sum);
  o[1] = thaw_f32v_fmadd(thaw_f32v_dup(2.0f), outer_difference, inner_difference);
  o[2] = thaw_f32v_fmadd(thaw_f32v_dup(4.0f), outer_sum, inner_sum);
  o[3] = thaw_f32v_add(thaw_f32v_fmadd(thaw_f32v_dup(8.0f), outer_difference, inner_difference),
                       m[5]);
}

static void winograd_weights(size_t in_channels, size_t first_out, size_t out_count,
                             const float *w, float *u) {
  for (size_t o = first_out; o < first_out + out_count; o++) {
    for (size_t c = 0; c < in_channels; c += WINOGRAD_LANES) {
      const size_t count = in_channels - c < WINOGRAD_LANES ? in_channels - c : WINOGRAD_LANES;
      /* The 9 taps of `count` filters, tap-major: a filter's taps are contiguous in w. */
      const float *filters = w + (o * in_channels + c) * 9;
      thaw_f32v taps[9];
      if (count == WINOGRAD_LANES) {
        winograd_load_filter_taps(filters, taps);
      } else {
        float partial[9][WINOGRAD_LANES] = {{0.0f}};
        for (size_t lane = 0; lane < count; lane++)
          for (size_t tap = 0; tap < 9; tap++) partial[tap][lane] = filters[lane * 9 + tap];
        for (size_t tap = 0; tap < 9; tap++) taps[tap] = thaw_f32v_load(partial[tap]);
      }
      thaw_f32v columns[3][6];
      for (size_t kw = 0; kw < 3; kw++)
        winograd_filter_1d(taps[kw], taps[3 + kw], taps[6 + kw], columns[kw]);
      float *out = u + o * THAW_WINOGRAD_POINTS * in_channels + c;
      for (size_t row = 0; row < 6; row++) {
        thaw_f32v points[6];
        winograd_filter_1d(columns[0][row], columns[1][row], columns[2][row], points);
        for (size_t column = 0; column < 6; column++) {
          float *point = out + (row * 6 + column) * in_channels;
          if (count == WINOGRAD_LANES) thaw_f32v_store(point, points[column]);
          else thaw_f32v_store_partial(point, count, points[column]);
        }
      }
    }
  }
}

static void winograd_input(const thaw_winograd_chunk *c, size_t channels, const float *padded,
                           float *v) {
  const size_t channel_floats = (4 * c->stacked_rows * c->slot_rows + 2) * c->row_floats;
  const size_t slots = c->slot_rows * c->tile_slots;
  for (size_t channel = 0; channel < channels; channel++) {
    for (size_t slot_row = 0; slot_row < c->slot_rows; slot_row++) {
      for (size_t s = 0; s < c->tile_slots; s += WINOGRAD_LANES) {
        const float *quads[WINOGRAD_QUADS];
        for (size_t k = 0; k < WINOGRAD_QUADS; k++) {
          const winograd_quad quad = winograd_quad_at(c, slot_row, s / 4 + k);
          quads[k] = padded + channel * channel_floats + 4 * quad.tile_row * c->row_floats +
                     4 * quad.first_tile;
        }
        thaw_f32v rows[6][6];
        for (size_t i = 0; i < 6; i++) {
          const float *patch_rows[WINOGRAD_QUADS];
          for (size_t k = 0; k < WINOGRAD_QUADS; k++) patch_rows[k] = quads[k] + i * c->row_floats;
          thaw_f32v d[6];
          winograd_load_patch_row(patch_rows, d);
          winograd_input_1d(d, rows[i]);
        }
        const size_t slot = slot_row * c->tile_slots + s;
        float *out = v + slot / THAW_GEMM_NR * channels * THAW_GEMM_NR +
                     channel * THAW_GEMM_NR + slot % THAW_GEMM_NR;
        for (size_t column = 0; column < 6; column++) {
          const thaw_f32v d[6] = {rows[0][column], rows[1][column], rows[2][column],
                                  rows[3][column], rows[4][column], rows[5][column]};
          thaw_f32v points[6];
          winograd_input_1d(d, points);
          for (size_t row = 0; row < 6; row++)
            thaw_f32v_store(out + (row * 6 + column) * c->v_point_stride, points[row]);
        }
      }
    }
    /* A last panel only half filled by slots has zero lanes, as the packed layout asks. */
    if (slots % THAW_GEMM_NR != 0) {
      float *last = v + slots / THAW_GEMM_NR * channels * THAW_GEMM_NR +
                    channel * THAW_GEMM_NR + slots % THAW_GEMM_NR;
      for (size_t point = 0; point < THAW_WINOGRAD_POINTS; point++)
        for (size_t lane = slots % THAW_GEMM_NR; lane < THAW_GEMM_NR; lane += WINOGRAD_LANES)
          thaw_f32v_store(last + point * c->v_point_stride + (lane - slots % THAW_GEMM_NR),
                          thaw_f32v_zero());
    }
  }
}

static void winograd_output(const thaw_winograd_chunk *c, size_t slot_row, const float *m,
                            size_t row, float bias, float min, float max, float *out,
                            size_t out_width, size_t out_rows) {
  const thaw_f32v bias_v = thaw_f32v_dup(bias);
  const thaw_f32v min_v = thaw_f32v_dup(min), max_v = thaw_f32v_dup(max);
  const float *products = m + row * c->slot_rows * c->tile_slots + slot_row * c->tile_slots;
  for (size_t s = 0; s < c->tile_slots; s += WINOGRAD_LANES) {
    /* Where each quad's tiles go: how many of their 4 rows and 16 columns lie inside the plane
     * (the rest are computed and dropped) and, for a quad with any, its first output. */
    float *targets[WINOGRAD_QUADS];
    size_t rows_inside[WINOGRAD_QUADS], columns_inside[WINOGRAD_QUADS];
    bool any_inside = false;
    for (size_t k = 0; k < WINOGRAD_QUADS; k++) {
      const winograd_quad quad = winograd_quad_at(c, slot_row, s / 4 + k);
      const size_t first_row = 4 * quad.tile_row, first_column = 4 * quad.first_tile;
      rows_inside[k] = first_row < out_rows ? out_rows - first_row : 0;
      columns_inside[k] = first_column < out_width ? out_width - first_column : 0;
      if (rows_inside[k] > 4) rows_inside[k] = 4;
      if (columns_inside[k] > 16) columns_inside[k] = 16;
      if (rows_inside[k] == 0) columns_inside[k] = 0;
      /* Only a quad inside the plane gets a pointer: past it there is no object to point into. */
      targets[k] = columns_inside[k] > 0 ? out + first_row * out_width + first_column : NULL;
      any_inside |= columns_inside[k] > 0;
    }
    if (!any_inside) continue;
    thaw_f32v rows[6][4];
    for (size_t i = 0; i < 6; i++) {
      thaw_f32v point_row[6];
      for (size_t j = 0; j < 6; j++)
        point_row[j] = thaw_f32v_load(products + (i * 6 + j) * c->m_point_stride + s);
      winograd_output_1d(point_row, rows[i]);
    }
    thaw_f32v out_rows_v[4][4];
    for (size_t q = 0; q < 4; q++) {
      const thaw_f32v column[6] = {rows[0][q], rows[1][q], rows[2][q],
                                   rows[3][q], rows[4][q], rows[5][q]};
      thaw_f32v values[4];
      winograd_output_1d(column, values);
      /* max(min, x) then min(max, x): NaN in x comes through both. */
      for (size_t r = 0; r < 4; r++)
        out_rows_v[r][q] =
            thaw_f32v_min(max_v, thaw_f32v_max(min_v, thaw_f32v_add(values[r], bias_v)));
    }
    for (size_t r = 0; r < 4; r++) {
      /* A quad wholly inside is stored in place; the others go through `spill`, from which
       * only the part inside the plane is copied. */
      float spill[WINOGRAD_QUADS][16];
      float *destinations[WINOGRAD_QUADS];
      for (size_t k = 0; k < WINOGRAD_QUADS; k++)
        destinations[k] = r < rows_inside[k] && columns_inside[k] == 16
                              ? targets[k] + r * out_width
                              : spill[k];
      winograd_store_tile_row(destinations, out_rows_v[r]);
      for (size_t k = 0; k < WINOGRAD_QUADS; k++)
        if (r < rows_inside[k] && columns_inside[k] > 0 && columns_inside[k] < 16)
          memcpy(targets[k] + r * out_width, spill[k], columns_inside[k] * sizeof(float));
    }
  }
}

/* The public transforms of ISA `isa`, as f32-winograd.h declares them. */
#define THAW_F32_WINOGRAD_TRANSFORMS(isa)                                                     \
  void thaw_f32_winograd_weights__##isa(size_t in_channels, size_t first_out,               \
                                        size_t out_count, const float *w, float *u) {       \
    winograd_weights(in_channels, first_out, out_count, w, u);                              \
  }                                                                                          \
  void thaw_f32_winograd_input__##isa(const thaw_winograd_chunk *c, size_t channels,        \
                                      const float *padded, float *v) {                      \
    winograd_input(c, channels, padded, v);                                                 \
  }                                                                                          \
  void thaw_f32_winograd_output__##isa(const thaw_winograd_chunk *c, size_t slot_row,       \
                                       const float *m, size_t row, float bias, float min,   \
                                       float max, float *out, size_t out_width,             \
                                       size_t out_rows) {                                   \
    winograd_output(c, slot_row, m, row, bias, min, max, out, out_width, out_rows);         \
  }

#endif /* THAW_KERNELS_CONV_F32_WINOGRAD_DRIVER_H */
