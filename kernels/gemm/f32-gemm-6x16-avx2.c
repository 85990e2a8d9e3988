/* 6x16 tile in twelve ymm accumulators: per k step two loads of B, six broadcasts of A and
 * twelve FMAs, which keeps both FMA pipes busy with FMA latency hidden (GCC 12 keeps all
 * twelve in registers, and the k loop is 89 instructions per 4 steps: checked on the objdump).
 * A shorter tile runs a body with as many rows as it has (see gemm_rows_x16_tile).
 *
 * Full-width tiles, nearly all of a large product, touch C and a column bias with plain
 * loads and stores: masked moves are slow on AMD Zen (a masked store costs about ten
 * cycles). Only a tile at the right edge of C takes the masked copy of the body, or, when it
 * is at most 8 columns wide, a half-width body (gemm_6x8_tile). */
#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* For the half-width edge body: rows past mr alias the last real row, computing and storing
 * its values again, which keeps one code path for every tile height without touching memory
 * outside the tile. */
static inline __attribute__((always_inline)) void tile_rows(size_t mr, const float *a,
                                                            ptrdiff_t a_row_stride, float *c,
                                                            ptrdiff_t c_row_stride,
                                                            const float *a_rows[6],
                                                            float *c_rows[6]) {
  a_rows[0] = a;
  c_rows[0] = c;
  for (size_t i = 1; i < 6; i++) {
    a_rows[i] = mr > i ? a_rows[i - 1] + a_row_stride : a_rows[i - 1];
    c_rows[i] = mr > i ? c_rows[i - 1] + c_row_stride : c_rows[i - 1];
  }
}

/* rows and full_width are constants at each call, so the body is compiled once per tile
 * height and width kind: with every move of C and bias plain or masked to the tile's nr
 * columns, and with exactly `rows` chains of FMAs. A tile of fewer than 6 rows then costs in
 * proportion to its rows (aliasing its missing rows to the last one, as gemm_6x8_tile does,
 * made M = 8 two full tiles of work: 64 % of the FMA peak at M = 8, where the 4-row body
 * keeps its 8 chains on both FMA pipes). */
static inline __attribute__((always_inline)) void gemm_rows_x16_tile(
    const size_t rows, size_t nr, size_t kc, const float *a, ptrdiff_t a_row_stride,
    ptrdiff_t a_k_stride, const float *packed_b, float *c, ptrdiff_t c_row_stride,
    const thaw_gemm_tile_args *args, bool full_width) {
  /* Each row of A gets a pointer of its own, hidden from the optimiser: seeing them as
   * a + i * a_row_stride, GCC recomputes them in the k loop (two more instructions a step). */
  const float *a_row[6];
  float *c_row[6];
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    a_row[i] = a + (ptrdiff_t)i * a_row_stride;
    __asm__("" : "+r"(a_row[i]));
    c_row[i] = c + (ptrdiff_t)i * c_row_stride;
  }
  __m256i vmask0, vmask1;
  thaw_column_masks(nr, &vmask0, &vmask1);
#define LOAD_LOW(p) (full_width ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, vmask0))
#define LOAD_HIGH(p) (full_width ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, vmask1))

  /* C is usually far from L1 (a big output is written once per k block): start fetching the
   * tile now and read it only after the k loop, where an accumulating call adds it. */
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    _mm_prefetch((const char *)c_row[i], _MM_HINT_T0);
    _mm_prefetch((const char *)(c_row[i] + 15), _MM_HINT_T0);
  }

  __m256 vacc[6][2];
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    switch (args->init) {
    case THAW_GEMM_TILE_BIAS_PER_ROW:
      vacc[i][0] = vacc[i][1] = _mm256_broadcast_ss(args->bias + i);
      break;
    case THAW_GEMM_TILE_BIAS_PER_COLUMN:
      vacc[i][0] = LOAD_LOW(args->bias);
      vacc[i][1] = LOAD_HIGH(args->bias + 8);
      break;
    case THAW_GEMM_TILE_ZERO:
    case THAW_GEMM_TILE_ACCUMULATE:
    default: vacc[i][0] = vacc[i][1] = _mm256_setzero_ps(); break;
    }
  }

  const float *w = packed_b;
  ptrdiff_t a_offset = 0;
  /* Unrolled: one k step is 24 instructions, and at kc = 384 (the driver's k block, whose
   * 24 KiB panel shares L1 with the A rows) the loop counter and branch measurably cost. */
#pragma GCC unroll 4
  for (size_t kk = 0; kk < kc; kk++) {
    const __m256 vb0 = _mm256_loadu_ps(w);
    const __m256 vb1 = _mm256_loadu_ps(w + 8);
    w += THAW_GEMM_NR;
#pragma GCC unroll 6
    for (size_t i = 0; i < rows; i++) {
      const __m256 va = _mm256_broadcast_ss(a_row[i] + a_offset);
      vacc[i][0] = _mm256_fmadd_ps(va, vb0, vacc[i][0]);
      vacc[i][1] = _mm256_fmadd_ps(va, vb1, vacc[i][1]);
    }
    a_offset += a_k_stride;
  }

  if (args->init == THAW_GEMM_TILE_ACCUMULATE) {
#pragma GCC unroll 6
    for (size_t i = 0; i < rows; i++) {
      vacc[i][0] = _mm256_add_ps(vacc[i][0], LOAD_LOW(c_row[i]));
      vacc[i][1] = _mm256_add_ps(vacc[i][1], LOAD_HIGH(c_row[i] + 8));
    }
  }
#undef LOAD_LOW
#undef LOAD_HIGH

  /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
  const __m256 vmin = _mm256_set1_ps(args->min);
  const __m256 vmax = _mm256_set1_ps(args->max);
#pragma GCC unroll 6
  for (size_t i = 0; i < rows; i++) {
    const __m256 low = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vacc[i][0]));
    const __m256 high = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vacc[i][1]));
    if (full_width) {
      _mm256_storeu_ps(c_row[i], low);
      _mm256_storeu_ps(c_row[i] + 8, high);
    } else {
      _mm256_maskstore_ps(c_row[i], vmask0, low);
      _mm256_maskstore_ps(c_row[i] + 8, vmask1, high);
    }
  }
}

/* One body per tile height, each in a plain and a masked width. */
static inline __attribute__((always_inline)) void gemm_x16_tile(
    size_t mr, size_t nr, size_t kc, const float *a, ptrdiff_t a_row_stride,
    ptrdiff_t a_k_stride, const float *packed_b, float *c, ptrdiff_t c_row_stride,
    const thaw_gemm_tile_args *args, bool full_width) {
  switch (mr) {
#define TILE(rows)                                                                            \
  case rows:                                                                                  \
    gemm_rows_x16_tile(rows, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride,  \
                       args, full_width);                                                     \
    return;
    TILE(1)
    TILE(2)
    TILE(3)
    TILE(4)
    TILE(5)
#undef TILE
  default:
    gemm_rows_x16_tile(6, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args,
                       full_width);
  }
}

/* A tile at most 8 columns wide, the right edge of C when n % 16 is 1..8 (n = 1000; n = 49, a
 * 7x7 plane, when the dot edge tile does not apply): only the low half of the panel is read,
 * six FMAs per k step. Each value sums its k steps in the same order as in the full tile, so
 * that a column gets the same bits in this edge as in a full tile (a caller may cut C into
 * column chunks that depend on its thread count). The six chains wait on the FMA latency, yet
 * the tile costs 72 % of a full one at kc = 384, 8 % less than summing even and odd k steps
 * apart (which gave other bits than the full tile), where the masked full-width body costs
 * more than a full one. */
static void gemm_6x8_tile(size_t mr, size_t nr, size_t kc, const float *a,
                          ptrdiff_t a_row_stride, ptrdiff_t a_k_stride, const float *packed_b,
                          float *c, ptrdiff_t c_row_stride, const thaw_gemm_tile_args *args) {
  const float *a_rows[6];
  float *c_rows[6];
  tile_rows(mr, a, a_row_stride, c, c_row_stride, a_rows, c_rows);

  __m256 vacc[6];
#pragma GCC unroll 6
  for (size_t i = 0; i < 6; i++) {
    switch (args->init) {
    case THAW_GEMM_TILE_BIAS_PER_ROW:
      vacc[i] = _mm256_broadcast_ss(args->bias + (i < mr ? i : mr - 1));
      break;
    case THAW_GEMM_TILE_BIAS_PER_COLUMN: vacc[i] = thaw_load_f32__avx2(args->bias, nr); break;
    case THAW_GEMM_TILE_ZERO:
    case THAW_GEMM_TILE_ACCUMULATE:
    default: vacc[i] = _mm256_setzero_ps(); break;
    }
  }

  const float *w = packed_b;
  ptrdiff_t a_offset = 0;
#pragma GCC unroll 2
  for (size_t kk = 0; kk < kc; kk++) {
    const __m256 vb = _mm256_loadu_ps(w);
    w += THAW_GEMM_NR;
#pragma GCC unroll 6
    for (size_t i = 0; i < 6; i++)
      vacc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(a_rows[i] + a_offset), vb, vacc[i]);
    a_offset += a_k_stride;
  }

  /* Every row of C is read before any is stored: an aliased row reads the real one. */
  if (args->init == THAW_GEMM_TILE_ACCUMULATE) {
#pragma GCC unroll 6
    for (size_t i = 0; i < 6; i++)
      vacc[i] = _mm256_add_ps(vacc[i], thaw_load_f32__avx2(c_rows[i], nr));
  }
  /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
  const __m256 vmin = _mm256_set1_ps(args->min);
  const __m256 vmax = _mm256_set1_ps(args->max);
#pragma GCC unroll 6
  for (size_t i = 0; i < 6; i++)
    thaw_store_f32__avx2(c_rows[i], nr, _mm256_min_ps(vmax, _mm256_max_ps(vmin, vacc[i])));
}

void thaw_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t kc, const float *a,
                                      ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                      const float *packed_b, float *c, ptrdiff_t c_row_stride,
                                      const thaw_gemm_tile_args *args) {
  if (nr <= THAW_GEMM_NR / 2)
    gemm_6x8_tile(mr, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args);
  else if (nr == THAW_GEMM_NR)
    gemm_x16_tile(mr, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args,
                  true);
  else
    gemm_x16_tile(mr, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args,
                  false);
}
