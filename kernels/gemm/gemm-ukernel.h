/*
 * The contract between the GEMM driver (f32-gemm-driver.c) and its per-ISA microkernels.
 * Internal to kernels/.
 *
 * A microkernel computes one tile of C: mr <= MR rows by nr <= 16 columns, over kc steps of k.
 * A(i, kk) is a[i * a_row_stride + kk * a_k_stride]; B is one packed 16-wide panel (kc rows of
 * 16 floats, zero past the matrix's last column); C(i, j) is c[i * c_row_stride + j]. Edge
 * tiles (mr < MR, nr < 16) go through the same kernel, which touches no row of A or C at or
 * past mr and no column of C or bias at or past nr, and sums each value in the same order
 * whatever nr: a column gets the same bits in an edge tile as in a full one, so a caller may
 * cut C into column chunks that depend on its thread count (Winograd's chunks of tile rows).
 *
 * Blocking over k calls a kernel several times on the same tile: the first call starts the
 * tile from zero or from the bias, the later ones accumulate into what C already holds, and
 * only the last one clamps (the other calls pass -INFINITY, +INFINITY). Clamping is how ReLU
 * and Clip are fused in registers; NaN passes through it unchanged.
 */
#ifndef THAW_KERNELS_GEMM_UKERNEL_H
#define THAW_KERNELS_GEMM_UKERNEL_H

#include <stddef.h>

#include "kernels/kernels.h"

typedef enum thaw_gemm_tile_init {
  THAW_GEMM_TILE_ZERO,
  THAW_GEMM_TILE_ACCUMULATE,      /* start from C */
  THAW_GEMM_TILE_BIAS_PER_ROW,    /* C(i, j) starts at bias[i] */
  THAW_GEMM_TILE_BIAS_PER_COLUMN, /* C(i, j) starts at bias[j] */
} thaw_gemm_tile_init;

typedef struct thaw_gemm_tile_args {
  thaw_gemm_tile_init init;
  /* For a microkernel, the bias of the tile's first row or column; for a GEMV kernel, the
   * bias of the whole product. */
  const float *bias;
  float min, max; /* every stored value is clamped to [min, max] */
} thaw_gemm_tile_args;

typedef void (*thaw_f32_gemm_ukernel_fn)(size_t mr, size_t nr, size_t kc, const float *a,
                                         ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                         const float *packed_b, float *c,
                                         ptrdiff_t c_row_stride,
                                         const thaw_gemm_tile_args *args);

/* The scalar form of the clamp: comparisons are false for NaN, so NaN is stored unchanged. */
static inline float thaw_gemm_clamp(float value, float min, float max) {
  value = value < min ? min : value;
  return value > max ? max : value;
}

/* C(i, j) of a tile that is finished in scalar form: `product`, row i of A times column j of B
 * over this call's k steps, started by args->init and clamped (i and j count from the tile's
 * first row and column). */
static inline void thaw_gemm_store_value(const thaw_gemm_tile_args *args, size_t i, size_t j,
                                         float product, float *c_cell) {
  switch (args->init) {
  case THAW_GEMM_TILE_ACCUMULATE: product += *c_cell; break;
  case THAW_GEMM_TILE_BIAS_PER_ROW: product += args->bias[i]; break;
  case THAW_GEMM_TILE_BIAS_PER_COLUMN: product += args->bias[j]; break;
  case THAW_GEMM_TILE_ZERO: break;
  }
  *c_cell = thaw_gemm_clamp(product, args->min, args->max);
}

/* A narrow tile at the right edge of C (mr <= MR rows, nr <= THAW_GEMM_DOT_NR columns) as dot
 * products along k, for an A whose rows are contiguous in k (a_k_stride 1): B's nr columns
 * are each kc contiguous floats, b_column_stride apart. The 6x16 microkernel spreads columns
 * over vector lanes, so an edge of one column costs it as much as 8 columns (more than half a
 * full tile); here lanes run along k and every FMA does useful work. Same init and clamp
 * contract as the microkernel; a tile's sums are ordered differently from the microkernel's,
 * so the driver takes it only for the last columns of the C it is given: no split of the
 * driver's own changes a bit, but a caller that cuts its C into column chunks must cut at
 * multiples of 8 columns (Winograd's are) so that no chunk ends on an edge this tile takes. */
#define THAW_GEMM_DOT_NR 4
typedef void (*thaw_f32_gemm_dot_ukernel_fn)(size_t mr, size_t nr, size_t kc, const float *a,
                                             ptrdiff_t a_row_stride, const float *b,
                                             ptrdiff_t b_column_stride, float *c,
                                             ptrdiff_t c_row_stride,
                                             const thaw_gemm_tile_args *args);

/* The bandwidth-bound product for a few rows (m <= THAW_GEMV_MAX_M): all of C at once, in a
 * single pass over a whole packed B (n columns, k rows, every panel); args->init is never
 * THAW_GEMM_TILE_ACCUMULATE. */
#define THAW_GEMV_MAX_M 4
typedef void (*thaw_f32_gemv_ukernel_fn)(size_t m, size_t n, size_t k, const float *a,
                                         ptrdiff_t a_row_stride, ptrdiff_t a_k_stride,
                                         const float *packed_b, float *c,
                                         ptrdiff_t c_row_stride,
                                         const thaw_gemm_tile_args *args);

/* What one ISA brings to the shared driver. */
typedef struct thaw_gemm_isa {
  thaw_f32_gemm_ukernel_fn ukernel;
  size_t mr; /* the ukernel's MR */
  thaw_f32_gemv_ukernel_fn gemv;
  thaw_f32_gemm_dot_ukernel_fn dot;
  /* The same table's f32_unary, applied to finished blocks of C for activations that are
   * not a clamp. */
  void (*unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
} thaw_gemm_isa;

void thaw_f32_gemm_drive(const thaw_gemm_isa *isa, const thaw_gemm_params *p, const float *a,
                         const float *b, const float *bias, float *c, void *scratch,
                         const thaw_parallel *parallel);

#endif /* THAW_KERNELS_GEMM_UKERNEL_H */
