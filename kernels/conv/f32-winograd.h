/*
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin & Gray 2015),
 * interpolation points 0, 1, -1, 2, -2 and infinity. Internal to kernels/.
 *
 * The output plane is cut into 4x4 tiles, each computed from a 6x6 input patch:
 *   Y = A^T [ sum over input channels of (G g G^T) (.) (B^T d B) ] A
 * so that, for each of the 36 points xi of the 6x6 transformed domain, the sum over input
 * channels is one GEMM: U[xi] (out_channels x in_channels, the transformed filters) times
 * V[xi] (in_channels x tiles, the transformed patches). Those 36 GEMMs do 36 multiply-adds per
 * 16 outputs and input channel, where im2col's one GEMM does 144.
 *
 * Tiles are numbered by slot: a slot row holds tile_slots slots (the tiles across the plane,
 * rounded up to THAW_WINOGRAD_SLOT_BLOCK), so that the transforms run over vectors of
 * neighbouring tiles; the slots past the plane's right edge are computed and dropped. A plane
 * at most 4 tiles wide (16 columns: SqueezeNet's 13x13, ResNet's 14x14) would leave half of
 * every slot row empty, so its slot rows stack two tile rows instead, 4 slots (a quad) each.
 * The transforms are the per-ISA part, reading and writing quads of 4 tiles; f32-winograd.c
 * pads the input, runs the GEMMs through the ISA's f32 GEMM and splits the work over threads.
 */
#ifndef THAW_KERNELS_CONV_F32_WINOGRAD_H
#define THAW_KERNELS_CONV_F32_WINOGRAD_H

#include "kernels/kernels.h"

/* Tile slots of a tile row are a multiple of this (the widest vector, 8 AVX2 lanes). */
#define THAW_WINOGRAD_SLOT_BLOCK 8
/* Points of the transformed domain: 6 x 6. */
#define THAW_WINOGRAD_POINTS 36

/* Where the transforms of one chunk (a range of whole slot rows) read and write.
 *
 * A slot row holds stacked_rows tile rows (1, or 2 for a narrow plane) of w = tile_slots /
 * stacked_rows slots each: slot s of slot row r is tile s % w of the chunk's tile row
 * stacked_rows * r + s / w.
 *
 * padded: the chunk's input rows, 4 * stacked_rows * slot_rows + 2 per channel from input row
 * 4 * first tile row - pad_top on, row_floats (at least 4 * tile_slots / stacked_rows + 4) each
 * from input column -pad_left on, zero outside the input. Tile t of a tile row reads the
 * columns 4 t .. 4 t + 5 of its 6 rows.
 *
 * v: V[xi] for xi in 0..35, each in the GEMM's packed B layout (THAW_GEMM_PANEL16 of
 * kernels.h): k = channels rows, n = slot_rows * tile_slots columns (slot order, slot row after
 * slot row), v_point_stride floats apart.
 *
 * m: the 36 GEMM products M[xi] for a block of output channels, m_point_stride floats apart,
 * each row-major with one row of n floats per output channel. */
typedef struct thaw_winograd_chunk {
  size_t slot_rows, tile_slots, stacked_rows, row_floats;
  size_t v_point_stride, m_point_stride;
} thaw_winograd_chunk;

/* U[o][xi][c] = (G g(o, c) G^T)[xi] for output channels [first_out, first_out + out_count):
 * w as ONNX stores it ([out_channels][in_channels][3][3]), u holding 36 rows of in_channels
 * floats per output channel, so that each filter's transform is written in one run and
 * U[xi] is the matrix of rows 36 * in_channels floats apart. */
typedef void (*thaw_f32_winograd_weights_fn)(size_t in_channels, size_t first_out,
                                             size_t out_count, const float *w, float *u);
/* V = B^T d B of every slot of the chunk, for `channels` channels of `padded` (each
 * (4 stacked_rows slot_rows + 2) * row_floats floats), into c->v-layout v. */
typedef void (*thaw_f32_winograd_input_fn)(const thaw_winograd_chunk *c, size_t channels,
                                           const float *padded, float *v);
/* The 4x4 outputs A^T M A + bias of every slot of slot row `slot_row` of the chunk, from row
 * `row` of the products in m (one output channel), clamped to [min, max] (NaN passes), where
 * they fall inside `out`: an output plane of out_width columns and out_rows rows from the
 * chunk's first row on. */
typedef void (*thaw_f32_winograd_output_fn)(const thaw_winograd_chunk *c, size_t slot_row,
                                            const float *m, size_t row, float bias, float min,
                                            float max, float *out, size_t out_width,
                                            size_t out_rows);

/* The transforms of one ISA, defined by its f32-winograd-<isa>.c. */
#define THAW_F32_WINOGRAD_DECLARE(isa)                                                         \
  void thaw_f32_winograd_weights__##isa(size_t in_channels, size_t first_out, size_t out_count, \
                                        const float *w, float *u);                            \
  void thaw_f32_winograd_input__##isa(const thaw_winograd_chunk *c, size_t channels,          \
                                      const float *padded, float *v);                         \
  void thaw_f32_winograd_output__##isa(const thaw_winograd_chunk *c, size_t slot_row,         \
                                       const float *m, size_t row, float bias, float min,     \
                                       float max, float *out, size_t out_width,               \
                                       size_t out_rows);
THAW_F32_WINOGRAD_DECLARE(avx2)
THAW_F32_WINOGRAD_DECLARE(neon)

#endif /* THAW_KERNELS_CONV_F32_WINOGRAD_H */
