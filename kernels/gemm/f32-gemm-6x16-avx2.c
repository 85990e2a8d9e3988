/* 6x16 tile in twelve ymm accumulators: per k step two loads of B, six broadcasts of A and
 * twelve FMAs, which keeps both FMA pipes busy with FMA latency hidden (GCC 12 keeps all
 * twelve in registers: checked on the objdump of the inner loop).
 *
 * Full-width tiles, nearly all of a large product, touch C and a column bias with plain
 * loads and stores: masked moves are slow on AMD Zen (a masked store costs about ten
 * cycles). Only a tile at the right edge of C takes the masked copy of the body, or, when it
 * is at most 8 columns wide, a half-width body (gemm_6x8_tile). */
#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* Rows past mr alias the last real row: they compute and store its values again, which keeps
 * one code path for every tile height without touching memory outside the tile. */
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

/* full_width is a constant at each call, so the body is compiled twice: with every move of C
 * and bias plain, and with every one masked to the tile's nr columns. */
static inline __attribute__((always_inline)) void gemm_6x16_tile(
    size_t mr, size_t nr, size_t kc, const float *a, ptrdiff_t a_row_stride,
    ptrdiff_t a_k_stride, const float *packed_b, float *c, ptrdiff_t c_row_stride,
    const thaw_gemm_tile_args *args, bool full_width) {
  const float *a_rows[6];
  float *c_rows[6];
  tile_rows(mr, a, a_row_stride, c, c_row_stride, a_rows, c_rows);
  const float *a0 = a_rows[0], *a1 = a_rows[1], *a2 = a_rows[2];
  const float *a3 = a_rows[3], *a4 = a_rows[4], *a5 = a_rows[5];
  float *c0 = c_rows[0], *c1 = c_rows[1], *c2 = c_rows[2];
  float *c3 = c_rows[3], *c4 = c_rows[4], *c5 = c_rows[5];
  __m256i vmask0, vmask1;
  thaw_column_masks(nr, &vmask0, &vmask1);
#define LOAD_LOW(p) (full_width ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, vmask0))
#define LOAD_HIGH(p) (full_width ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, vmask1))

  /* C is usually far from L1 (a big output is written once per k block): start fetching the
   * tile now and read it only after the k loop, where an accumulating call adds it. */
  _mm_prefetch((const char *)c0, _MM_HINT_T0);
  _mm_prefetch((const char *)(c0 + 15), _MM_HINT_T0);
  _mm_prefetch((const char *)c1, _MM_HINT_T0);
  _mm_prefetch((const char *)(c1 + 15), _MM_HINT_T0);
  _mm_prefetch((const char *)c2, _MM_HINT_T0);
  _mm_prefetch((const char *)(c2 + 15), _MM_HINT_T0);
  _mm_prefetch((const char *)c3, _MM_HINT_T0);
  _mm_prefetch((const char *)(c3 + 15), _MM_HINT_T0);
  _mm_prefetch((const char *)c4, _MM_HINT_T0);
  _mm_prefetch((const char *)(c4 + 15), _MM_HINT_T0);
  _mm_prefetch((const char *)c5, _MM_HINT_T0);
  _mm_prefetch((const char *)(c5 + 15), _MM_HINT_T0);

  __m256 vacc0x0, vacc0x1, vacc1x0, vacc1x1, vacc2x0, vacc2x1;
  __m256 vacc3x0, vacc3x1, vacc4x0, vacc4x1, vacc5x0, vacc5x1;
  switch (args->init) {
  case THAW_GEMM_TILE_BIAS_PER_ROW: {
    const float *bias = args->bias;
    vacc0x0 = vacc0x1 = _mm256_broadcast_ss(bias);
    vacc1x0 = vacc1x1 = _mm256_broadcast_ss(mr > 1 ? bias + 1 : bias);
    vacc2x0 = vacc2x1 = _mm256_broadcast_ss(mr > 2 ? bias + 2 : bias);
    vacc3x0 = vacc3x1 = _mm256_broadcast_ss(mr > 3 ? bias + 3 : bias);
    vacc4x0 = vacc4x1 = _mm256_broadcast_ss(mr > 4 ? bias + 4 : bias);
    vacc5x0 = vacc5x1 = _mm256_broadcast_ss(mr > 5 ? bias + 5 : bias);
    break;
  }
  case THAW_GEMM_TILE_BIAS_PER_COLUMN:
    vacc0x0 = vacc1x0 = vacc2x0 = vacc3x0 = vacc4x0 = vacc5x0 = LOAD_LOW(args->bias);
    vacc0x1 = vacc1x1 = vacc2x1 = vacc3x1 = vacc4x1 = vacc5x1 = LOAD_HIGH(args->bias + 8);
    break;
  case THAW_GEMM_TILE_ZERO:
  case THAW_GEMM_TILE_ACCUMULATE:
  default:
    vacc0x0 = vacc0x1 = vacc1x0 = vacc1x1 = vacc2x0 = vacc2x1 = _mm256_setzero_ps();
    vacc3x0 = vacc3x1 = vacc4x0 = vacc4x1 = vacc5x0 = vacc5x1 = _mm256_setzero_ps();
    break;
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

    const __m256 va0 = _mm256_broadcast_ss(a0 + a_offset);
    vacc0x0 = _mm256_fmadd_ps(va0, vb0, vacc0x0);
    vacc0x1 = _mm256_fmadd_ps(va0, vb1, vacc0x1);
    const __m256 va1 = _mm256_broadcast_ss(a1 + a_offset);
    vacc1x0 = _mm256_fmadd_ps(va1, vb0, vacc1x0);
    vacc1x1 = _mm256_fmadd_ps(va1, vb1, vacc1x1);
    const __m256 va2 = _mm256_broadcast_ss(a2 + a_offset);
    vacc2x0 = _mm256_fmadd_ps(va2, vb0, vacc2x0);
    vacc2x1 = _mm256_fmadd_ps(va2, vb1, vacc2x1);
    const __m256 va3 = _mm256_broadcast_ss(a3 + a_offset);
    vacc3x0 = _mm256_fmadd_ps(va3, vb0, vacc3x0);
    vacc3x1 = _mm256_fmadd_ps(va3, vb1, vacc3x1);
    const __m256 va4 = _mm256_broadcast_ss(a4 + a_offset);
    vacc4x0 = _mm256_fmadd_ps(va4, vb0, vacc4x0);
    vacc4x1 = _mm256_fmadd_ps(va4, vb1, vacc4x1);
    const __m256 va5 = _mm256_broadcast_ss(a5 + a_offset);
    vacc5x0 = _mm256_fmadd_ps(va5, vb0, vacc5x0);
    vacc5x1 = _mm256_fmadd_ps(va5, vb1, vacc5x1);
    a_offset += a_k_stride;
  }

  if (args->init == THAW_GEMM_TILE_ACCUMULATE) {
    vacc0x0 = _mm256_add_ps(vacc0x0, LOAD_LOW(c0));
    vacc0x1 = _mm256_add_ps(vacc0x1, LOAD_HIGH(c0 + 8));
    vacc1x0 = _mm256_add_ps(vacc1x0, LOAD_LOW(c1));
    vacc1x1 = _mm256_add_ps(vacc1x1, LOAD_HIGH(c1 + 8));
    vacc2x0 = _mm256_add_ps(vacc2x0, LOAD_LOW(c2));
    vacc2x1 = _mm256_add_ps(vacc2x1, LOAD_HIGH(c2 + 8));
    vacc3x0 = _mm256_add_ps(vacc3x0, LOAD_LOW(c3));
    vacc3x1 = _mm256_add_ps(vacc3x1, LOAD_HIGH(c3 + 8));
    vacc4x0 = _mm256_add_ps(vacc4x0, LOAD_LOW(c4));
    vacc4x1 = _mm256_add_ps(vacc4x1, LOAD_HIGH(c4 + 8));
    vacc5x0 = _mm256_add_ps(vacc5x0, LOAD_LOW(c5));
    vacc5x1 = _mm256_add_ps(vacc5x1, LOAD_HIGH(c5 + 8));
  }
#undef LOAD_LOW
#undef LOAD_HIGH

  /* max(min, x) then min(max, x): with x as the second operand, NaN passes through. */
  const __m256 vmin = _mm256_set1_ps(args->min);
  const __m256 vmax = _mm256_set1_ps(args->max);
#define CLAMP(v) _mm256_min_ps(vmax, _mm256_max_ps(vmin, v))
  vacc0x0 = CLAMP(vacc0x0);
  vacc0x1 = CLAMP(vacc0x1);
  vacc1x0 = CLAMP(vacc1x0);
  vacc1x1 = CLAMP(vacc1x1);
  vacc2x0 = CLAMP(vacc2x0);
  vacc2x1 = CLAMP(vacc2x1);
  vacc3x0 = CLAMP(vacc3x0);
  vacc3x1 = CLAMP(vacc3x1);
  vacc4x0 = CLAMP(vacc4x0);
  vacc4x1 = CLAMP(vacc4x1);
  vacc5x0 = CLAMP(vacc5x0);
  vacc5x1 = CLAMP(vacc5x1);
#undef CLAMP

#define STORE_ROW(row, low, high)                                                             \
  do {                                                                                        \
    if (full_width) {                                                                         \
      _mm256_storeu_ps(row, low);                                                             \
      _mm256_storeu_ps(row + 8, high);                                                        \
    } else {                                                                                  \
      _mm256_maskstore_ps(row, vmask0, low);                                                  \
      _mm256_maskstore_ps(row + 8, vmask1, high);                                             \
    }                                                                                         \
  } while (0)
  STORE_ROW(c5, vacc5x0, vacc5x1);
  STORE_ROW(c4, vacc4x0, vacc4x1);
  STORE_ROW(c3, vacc3x0, vacc3x1);
  STORE_ROW(c2, vacc2x0, vacc2x1);
  STORE_ROW(c1, vacc1x0, vacc1x1);
  STORE_ROW(c0, vacc0x0, vacc0x1);
#undef STORE_ROW
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
    gemm_6x16_tile(mr, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args,
                   true);
  else
    gemm_6x16_tile(mr, nr, kc, a, a_row_stride, a_k_stride, packed_b, c, c_row_stride, args,
                   false);
}
