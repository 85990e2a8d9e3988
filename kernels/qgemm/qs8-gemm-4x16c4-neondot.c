/*
 * The 4x16 qs8 GEMM tile on the Armv8.2 dot product: SDOT (by element) adds to each int32 lane
 * the 4 products of a column's 4 consecutive k in B with a row's 4 k in A, which is exactly how
 * the packed B holds them (one 16-byte register = 4 columns x 4 k). SDOT multiplies signed
 * bytes exactly, so one kernel serves A in [0, 127] (DYNAMIC) and anywhere in int8 (STATIC).
 * 16 accumulators hold the tile; per 8 k, 4 loads of A (8 bytes per row, its 2 groups taken by
 * lane), 8 loads of B and 32 SDOT: 46 instructions in all (GCC 12). A 6x16 tile would need 24
 * accumulators, 4 B and 6 A registers: more than the 32 there are. 16 k per step would save
 * the loads of A, but GCC then hoists all 16 loads of B and moves two accumulators through the
 * stack.
 * Built with the dotprod extension (its file name ends in -neondot.c, see CMakeLists.txt) and
 * called only when getauxval(AT_HWCAP) has HWCAP_ASIMDDP.
 */
#include <arm_neon.h>

#include "kernels/neon.h"
#include "kernels/qgemm/qs8-dot4-neon.h"
#include "kernels/qgemm/qs8-requantize-neon.h"

/* acc[q] += the 4-products of the row's group in lane `lane` of va with columns 4q .. 4q+3. */
#define DOT_ROW(acc, vb, va, lane)                         \
  do {                                                     \
    (acc)[0] = vdotq_lane_s32((acc)[0], (vb)[0], va, lane); \
    (acc)[1] = vdotq_lane_s32((acc)[1], (vb)[1], va, lane); \
    (acc)[2] = vdotq_lane_s32((acc)[2], (vb)[2], va, lane); \
    (acc)[3] = vdotq_lane_s32((acc)[3], (vb)[3], va, lane); \
  } while (0)

/* One group of 4 k of the panel (16 columns) into 4 registers, advancing the panel pointer. */
static inline void load_group(const int8_t **packed_b, int8x16_t vb[4]) {
  vb[0] = vld1q_s8(*packed_b);
  vb[1] = vld1q_s8(*packed_b + 16);
  vb[2] = vld1q_s8(*packed_b + 32);
  vb[3] = vld1q_s8(*packed_b + 48);
  *packed_b += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
}

void thaw_qs8_gemm_ukernel_4x16c4__neondot(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                           size_t a_row_stride, const int8_t *packed_b, float *c,
                                           ptrdiff_t c_row_stride,
                                           const thaw_qs8_tile_args *args) {
  /* Rows past mr alias the last real row: they compute its values again and are not stored,
   * which keeps one code path for every tile height without reading outside the tile. */
  const int8_t *a0 = a;
  const int8_t *a1 = mr > 1 ? a0 + a_row_stride : a0;
  const int8_t *a2 = mr > 2 ? a1 + a_row_stride : a1;
  const int8_t *a3 = mr > 3 ? a2 + a_row_stride : a2;

  int32x4_t acc0[4], acc1[4], acc2[4], acc3[4];
  for (size_t q = 0; q < 4; q++) {
    acc0[q] = acc1[q] = acc2[q] = acc3[q] = vdupq_n_s32(0);
  }
  int8x16_t vb[4];
  size_t k = 0;
  for (; k + 2 * THAW_QS8_GEMM_KR <= k4; k += 2 * THAW_QS8_GEMM_KR) {
    const int8x8_t va0 = vld1_s8(a0 + k), va1 = vld1_s8(a1 + k);
    const int8x8_t va2 = vld1_s8(a2 + k), va3 = vld1_s8(a3 + k);
    load_group(&packed_b, vb);
    DOT_ROW(acc0, vb, va0, 0);
    DOT_ROW(acc1, vb, va1, 0);
    DOT_ROW(acc2, vb, va2, 0);
    DOT_ROW(acc3, vb, va3, 0);
    load_group(&packed_b, vb);
    DOT_ROW(acc0, vb, va0, 1);
    DOT_ROW(acc1, vb, va1, 1);
    DOT_ROW(acc2, vb, va2, 1);
    DOT_ROW(acc3, vb, va3, 1);
  }
  if (k < k4) { /* an odd number of groups: the last one alone, its A broadcast from 4 bytes */
    load_group(&packed_b, vb);
    DOT_ROW(acc0, vb, vget_low_s8(thaw_qs8_broadcast4__neon(a0 + k)), 0);
    DOT_ROW(acc1, vb, vget_low_s8(thaw_qs8_broadcast4__neon(a1 + k)), 0);
    DOT_ROW(acc2, vb, vget_low_s8(thaw_qs8_broadcast4__neon(a2 + k)), 0);
    DOT_ROW(acc3, vb, vget_low_s8(thaw_qs8_broadcast4__neon(a3 + k)), 0);
  }

  const thaw_qs8_row_quantization *rows = args->rows;
  if (mr > 3) thaw_qs8_store_gemm_row__neon(acc3, &rows[3], args, nr, c + 3 * c_row_stride);
  if (mr > 2) thaw_qs8_store_gemm_row__neon(acc2, &rows[2], args, nr, c + 2 * c_row_stride);
  if (mr > 1) thaw_qs8_store_gemm_row__neon(acc1, &rows[1], args, nr, c + c_row_stride);
  thaw_qs8_store_gemm_row__neon(acc0, &rows[0], args, nr, c);
}
