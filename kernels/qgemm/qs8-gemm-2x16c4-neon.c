/*
 * The 2x16 qs8 GEMM tile for Armv8.0 NEON, without the dot product: widening multiplies and
 * pairwise accumulation (qs8-dot4-neon.h), exact for A in [0, 127] (DYNAMIC) and anywhere in
 * int8 (STATIC) alike. Each accumulator holds 2 columns as 2 partial sums each, so a row of 16
 * columns takes 8 registers; 2 rows (16 accumulators), 8 registers of B and 4 of A fit in the 32
 * there are, where 3 rows would not. Per 2 groups (8 k): 4 broadcasts of A, 8 loads of B, 16
 * SMULL(2), 16 SMLAL(2) and 16 SADALP for 256 multiply-adds. GCC 12 schedules all 32 products
 * ahead of their SADALP and so moves 4 accumulators through the stack: 73 instructions per 8 k,
 * 8 of them loads and stores of those.
 */
#include <arm_neon.h>

#include "kernels/neon.h"
#include "kernels/qgemm/qs8-dot4-neon.h"
#include "kernels/qgemm/qs8-requantize-neon.h"

enum { GROUP_BYTES = THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR };

/* Requantize and store one row: acc[q] holds columns 4q .. 4q+3 as partial sums. */
static inline void store_row(const int32x4_t acc[4][2], const thaw_qs8_row_quantization *row,
                             const thaw_qs8_tile_args *args, size_t nr, float *c) {
  int32x4_t vsums[4];
  for (size_t q = 0; q < 4; q++) vsums[q] = thaw_qs8_dot4_sums__neon(acc[q]);
  thaw_qs8_store_gemm_row__neon(vsums, row, args, nr, c);
}

void thaw_qs8_gemm_ukernel_2x16c4__neon(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                        size_t a_row_stride, const int8_t *packed_b, float *c,
                                        ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args) {
  /* A second row past mr aliases the first: it computes its values again and is not stored. */
  const int8_t *a0 = a;
  const int8_t *a1 = mr > 1 ? a0 + a_row_stride : a0;
  int32x4_t acc0[4][2], acc1[4][2];
  for (size_t q = 0; q < 4; q++) acc0[q][0] = acc0[q][1] = acc1[q][0] = acc1[q][1] = vdupq_n_s32(0);

  size_t k = 0;
  for (; k + 2 * THAW_QS8_GEMM_KR <= k4; k += 2 * THAW_QS8_GEMM_KR) {
    const int8x16_t va0 = thaw_qs8_broadcast4__neon(a0 + k);
    const int8x16_t va0_next = thaw_qs8_broadcast4__neon(a0 + k + THAW_QS8_GEMM_KR);
    const int8x16_t va1 = thaw_qs8_broadcast4__neon(a1 + k);
    const int8x16_t va1_next = thaw_qs8_broadcast4__neon(a1 + k + THAW_QS8_GEMM_KR);
    /* A quarter of each group at a time keeps 2 registers of B live, not 8. */
    for (size_t q = 0; q < 4; q++) {
      const int8x16_t vb = vld1q_s8(packed_b + 16 * q);
      const int8x16_t vb_next = vld1q_s8(packed_b + GROUP_BYTES + 16 * q);
      thaw_qs8_dot4x2_add__neon(acc0[q], va0, vb, va0_next, vb_next);
      thaw_qs8_dot4x2_add__neon(acc1[q], va1, vb, va1_next, vb_next);
    }
    packed_b += 2 * GROUP_BYTES;
  }
  if (k < k4) { /* an odd number of groups: the last one alone */
    const int8x16_t va0 = thaw_qs8_broadcast4__neon(a0 + k);
    const int8x16_t va1 = thaw_qs8_broadcast4__neon(a1 + k);
    for (size_t q = 0; q < 4; q++) {
      const int8x16_t vb = vld1q_s8(packed_b + 16 * q);
      thaw_qs8_dot4_add__neon(acc0[q], va0, vb);
      thaw_qs8_dot4_add__neon(acc1[q], va1, vb);
    }
  }

  if (mr > 1) store_row(acc1, &args->rows[1], args, nr, c + c_row_stride);
  store_row(acc0, &args->rows[0], args, nr, c);
}
