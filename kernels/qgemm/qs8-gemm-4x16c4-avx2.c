/*
 * 4x16 tile in eight ymm int32 accumulators. AVX2 has no signed x signed byte product, so each
 * group of 4 k per row uses the sign trick: vpmaddubsw(|a|, b * sign(a)) forms |a|*b*sign(a) =
 * a*b as pairs summed into 16 bits, which cannot saturate because both factors are at most 128
 * and 127 in magnitude (2 * 128 * 127 < 2^15); vpmaddwd by ones widens the pairs into int32.
 * Per group: two loads of B, then per row one broadcast, one vpabsb and twice vpsignb,
 * vpmaddubsw, vpmaddwd, vpaddd.
 */
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

/* The 4 bytes of one row's k group in every 32-bit lane. */
static inline __m256i broadcast_group(const int8_t *a) {
  int32_t group;
  memcpy(&group, a, sizeof group);
  return _mm256_set1_epi32(group);
}

static inline __m256i multiply_add(__m256i acc, __m256i va, __m256i va_abs, __m256i vb,
                                   __m256i vones) {
  const __m256i vpairs = _mm256_maddubs_epi16(va_abs, _mm256_sign_epi8(vb, va));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(vpairs, vones));
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

void thaw_qs8_gemm_ukernel_4x16c4__avx2(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                        size_t a_row_stride, const int8_t *packed_b, float *c,
                                        ptrdiff_t c_row_stride, const thaw_qs8_tile_args *args) {
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
    const __m256i vb0 = _mm256_loadu_si256((const __m256i *)packed_b);
    const __m256i vb1 = _mm256_loadu_si256((const __m256i *)(packed_b + 32));
    packed_b += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;

    const __m256i va0 = broadcast_group(a0 + k0);
    const __m256i va0_abs = _mm256_abs_epi8(va0);
    vacc0x0 = multiply_add(vacc0x0, va0, va0_abs, vb0, vones);
    vacc0x1 = multiply_add(vacc0x1, va0, va0_abs, vb1, vones);
    const __m256i va1 = broadcast_group(a1 + k0);
    const __m256i va1_abs = _mm256_abs_epi8(va1);
    vacc1x0 = multiply_add(vacc1x0, va1, va1_abs, vb0, vones);
    vacc1x1 = multiply_add(vacc1x1, va1, va1_abs, vb1, vones);
    const __m256i va2 = broadcast_group(a2 + k0);
    const __m256i va2_abs = _mm256_abs_epi8(va2);
    vacc2x0 = multiply_add(vacc2x0, va2, va2_abs, vb0, vones);
    vacc2x1 = multiply_add(vacc2x1, va2, va2_abs, vb1, vones);
    const __m256i va3 = broadcast_group(a3 + k0);
    const __m256i va3_abs = _mm256_abs_epi8(va3);
    vacc3x0 = multiply_add(vacc3x0, va3, va3_abs, vb0, vones);
    vacc3x1 = multiply_add(vacc3x1, va3, va3_abs, vb1, vones);
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
