/*
 * The 4x16 qs8 GEMM tile in eight ymm int32 accumulators, for A in [0, 127] (DYNAMIC) or
 * anywhere in int8 (STATIC); qs8-gemm-4x16c4-avx2.c and qs8-gemm-4x16c4-u7-avx2.c instantiate
 * it. Per group of 4 k: two loads of B, then per row one broadcast and twice vpmaddubsw,
 * vpmaddwd by ones (pairs into int32), vpaddd. vpmaddubsw multiplies unsigned by signed bytes
 * and saturates the pair sums at 16 bits: A in [0, 127] is already unsigned and a pair is at
 * most 2 * 127 * 127 < 2^15. Signed A takes the sign trick, vpmaddubsw(|a|, b * sign(a)) =
 * a * b, with factors at most 128 and 127 (2 * 128 * 127 < 2^15), for one vpabsb per row and
 * one vpsignb per product: about two thirds of the speed (bench_qgemm).
 */
#ifndef THAW_KERNELS_QGEMM_QS8_GEMM_4X16C4_AVX2_H
#define THAW_KERNELS_QGEMM_QS8_GEMM_4X16C4_AVX2_H

#include <stdbool.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"
#include "kernels/qgemm/qs8-dot4-avx2.h"

/* acc + the 4-products of a row's group (broadcast in va) with 8 columns of B. va_unsigned is
 * |va| for signed A, else va itself. */
static inline __m256i multiply_add(__m256i acc, __m256i va, __m256i va_unsigned, __m256i vb,
                                   __m256i vones, bool signed_a) {
  const __m256i vb_signed = signed_a ? _mm256_sign_epi8(vb, va) : vb;
  return thaw_qs8_dot4_add__avx2(acc, va_unsigned, vb_signed, vones);
}

/* Requantize 8 accumulators of one row: (acc - za * sums) * (sa * scales) + bias, clamped with
 * NaN passing through (the max/min operand order keeps it). */
static inline __m256 requantize(__m256i acc, const thaw_qs8_row_quantization *row, __m256i vsums,
                                __m256 vscales, __m256 vbias, __m256 vmin, __m256 vmax) {
  const __m256i vcorrected =
      _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(row->zero_point), vsums));
  const __m256 vscale = _mm256_mul_ps(_mm256_set1_ps(row->scale), vscales);
  const __m256 vvalue = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(vcorrected), vscale), vbias);
  return _mm256_min_ps(vmax, _mm256_max_ps(vmin, vvalue));
}

static inline void store_row(float *c, size_t nr, __m256i vmask0, __m256i vmask1, __m256 v0,
                             __m256 v1) {
  if (nr == THAW_QS8_GEMM_NR) {
    _mm256_storeu_ps(c, v0);
    _mm256_storeu_ps(c + 8, v1);
  } else {
    _mm256_maskstore_ps(c, vmask0, v0);
    _mm256_maskstore_ps(c + 8, vmask1, v1);
  }
}

static inline void qs8_gemm_4x16c4_avx2(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                        size_t a_row_stride, const int8_t *packed_b, float *c,
                                        ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args,
                                        bool signed_a) {
  /* Rows past mr alias the last real row: they compute and store its values again, which keeps
   * one code path for every tile height without touching memory outside the tile. */
  const int8_t *a0 = a;
  const int8_t *a1 = mr > 1 ? a0 + a_row_stride : a0;
  const int8_t *a2 = mr > 2 ? a1 + a_row_stride : a1;
  const int8_t *a3 = mr > 3 ? a2 + a_row_stride : a2;
  const thaw_qs8_row_quantization *q0 = args->rows;
  const thaw_qs8_row_quantization *q1 = mr > 1 ? q0 + 1 : q0;
  const thaw_qs8_row_quantization *q2 = mr > 2 ? q1 + 1 : q1;
  const thaw_qs8_row_quantization *q3 = mr > 3 ? q2 + 1 : q2;
  float *c0 = c;
  float *c1 = mr > 1 ? c0 + c_row_stride : c0;
  float *c2 = mr > 2 ? c1 + c_row_stride : c1;
  float *c3 = mr > 3 ? c2 + c_row_stride : c2;

  const __m256i vones = _mm256_set1_epi16(1);
  __m256i vacc0x0 = _mm256_setzero_si256(), vacc0x1 = _mm256_setzero_si256();
  __m256i vacc1x0 = _mm256_setzero_si256(), vacc1x1 = _mm256_setzero_si256();
  __m256i vacc2x0 = _mm256_setzero_si256(), vacc2x1 = _mm256_setzero_si256();
  __m256i vacc3x0 = _mm256_setzero_si256(), vacc3x1 = _mm256_setzero_si256();
  for (size_t k0 = 0; k0 < k4; k0 += THAW_QS8_GEMM_KR) {
    /* One half of the panel at a time: one B vector live instead of two (fewer spills). */
    const __m256i vb0 = _mm256_loadu_si256((const __m256i *)packed_b);
    const __m256i va0 = thaw_qs8_broadcast4__avx2(a0 + k0);
    const __m256i va1 = thaw_qs8_broadcast4__avx2(a1 + k0);
    const __m256i va2 = thaw_qs8_broadcast4__avx2(a2 + k0);
    const __m256i va3 = thaw_qs8_broadcast4__avx2(a3 + k0);
    const __m256i va0_unsigned = signed_a ? _mm256_abs_epi8(va0) : va0;
    const __m256i va1_unsigned = signed_a ? _mm256_abs_epi8(va1) : va1;
    const __m256i va2_unsigned = signed_a ? _mm256_abs_epi8(va2) : va2;
    const __m256i va3_unsigned = signed_a ? _mm256_abs_epi8(va3) : va3;
    vacc0x0 = multiply_add(vacc0x0, va0, va0_unsigned, vb0, vones, signed_a);
    vacc1x0 = multiply_add(vacc1x0, va1, va1_unsigned, vb0, vones, signed_a);
    vacc2x0 = multiply_add(vacc2x0, va2, va2_unsigned, vb0, vones, signed_a);
    vacc3x0 = multiply_add(vacc3x0, va3, va3_unsigned, vb0, vones, signed_a);
    const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(packed_b + 32));
    vacc0x1 = multiply_add(vacc0x1, va0, va0_unsigned, vb1, vones, signed_a);
    vacc1x1 = multiply_add(vacc1x1, va1, va1_unsigned, vb1, vones, signed_a);
    vacc2x1 = multiply_add(vacc2x1, va2, va2_unsigned, vb1, vones, signed_a);
    vacc3x1 = multiply_add(vacc3x1, va3, va3_unsigned, vb1, vones, signed_a);
    packed_b += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
  }

  /* Scales and sums are padded to whole panels in the packed B; the bias is not. */
  const __m256i vsums0 = _mm256_loadu_si256((const __m256i *)args->column_sums);
  const __m256i vsums1 = _mm256_loadu_si256((const __m256i *)(args->column_sums + 8));
  const __m256 vscales0 = _mm256_loadu_ps(args->column_scales);
  const __m256 vscales1 = _mm256_loadu_ps(args->column_scales + 8);
  __m256i vmask0, vmask1;
  thaw_column_masks(nr, &vmask0, &vmask1);
  __m256 vbias0 = _mm256_setzero_ps(), vbias1 = _mm256_setzero_ps();
  if (args->bias != NULL) {
    vbias0 = _mm256_maskload_ps(args->bias, vmask0);
    vbias1 = _mm256_maskload_ps(args->bias + 8, vmask1);
  }
  const __m256 vmin = _mm256_set1_ps(args->min), vmax = _mm256_set1_ps(args->max);
  store_row(c3, nr, vmask0, vmask1,
            requantize(vacc3x0, q3, vsums0, vscales0, vbias0, vmin, vmax),
            requantize(vacc3x1, q3, vsums1, vscales1, vbias1, vmin, vmax));
  store_row(c2, nr, vmask0, vmask1,
            requantize(vacc2x0, q2, vsums0, vscales0, vbias0, vmin, vmax),
            requantize(vacc2x1, q2, vsums1, vscales1, vbias1, vmin, vmax));
  store_row(c1, nr, vmask0, vmask1,
            requantize(vacc1x0, q1, vsums0, vscales0, vbias0, vmin, vmax),
            requantize(vacc1x1, q1, vsums1, vscales1, vbias1, vmin, vmax));
  store_row(c0, nr, vmask0, vmask1,
            requantize(vacc0x0, q0, vsums0, vscales0, vbias0, vmin, vmax),
            requantize(vacc0x1, q0, vsums1, vscales1, vbias1, vmin, vmax));
}

#endif /* THAW_KERNELS_QGEMM_QS8_GEMM_4X16C4_AVX2_H */
