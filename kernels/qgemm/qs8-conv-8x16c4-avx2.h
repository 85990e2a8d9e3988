/*
 * The 8x16 qs8 convolution tile (8 output channels by 16 pixels), computed as two 8x8 halves in
 * eight ymm int32 accumulators each, for activations in [0, 127] (DYNAMIC) or anywhere in int8
 * (STATIC); qs8-conv-8x16c4-avx2.c and qs8-conv-8x16c4-u7-avx2.c instantiate it. The weights are
 * the broadcast operand (4 bytes per channel and group of 4 k), the activations the vector one
 * (one load per group), so each row of the tile is consecutive pixels of one NCHW channel. Eight
 * accumulators, one vector of activations and one broadcast at a time leave the compiler enough
 * of the 16 ymm registers not to spill an accumulator in the loop (a 4x16 tile with both halves
 * at once did).
 * vpmaddubsw takes the activations as its unsigned operand: as they are when in [0, 127] (a
 * pair of products is at most 2 * 127 * 127 < 2^15), through the sign trick otherwise
 * (vpmaddubsw(|x|, w * sign(x)) = x * w, factors at most 128 and 127).
 */
#ifndef THAW_KERNELS_QGEMM_QS8_CONV_8X16C4_AVX2_H
#define THAW_KERNELS_QGEMM_QS8_CONV_8X16C4_AVX2_H

#include <stdbool.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"
#include "kernels/qgemm/qs8-dot4-avx2.h"

/* acc + the 4-products of one channel's 4 weights at w with 8 pixels (vx, and vx_unsigned =
 * |vx| for signed activations, else vx itself). */
static inline __m256i multiply_add(__m256i acc, const int8_t *w, __m256i vx, __m256i vx_unsigned,
                                   __m256i vones, bool signed_x) {
  const __m256i vw = thaw_qs8_broadcast4__avx2(w);
  const __m256i vw_signed = signed_x ? _mm256_sign_epi8(vw, vx) : vw;
  return thaw_qs8_dot4_add__avx2(acc, vx_unsigned, vw_signed, vones);
}

/* Requantize and store one channel's 8 pixels: (acc - zx * sum) * (sx * sw) + bias, clamped
 * with NaN passing through (the max/min operand order keeps it). */
static inline void store_channel(float *c, size_t nr, __m256i vacc,
                                 const thaw_qs8_conv_tile_args *args, size_t channel) {
  const __m256i voffset =
      _mm256_set1_epi32(args->input.zero_point * args->channel_sums[channel]);
  const __m256 vscale = _mm256_set1_ps(args->input.scale * args->channel_scales[channel]);
  const __m256 vbias = _mm256_set1_ps(args->bias != NULL ? args->bias[channel] : 0.0f);
  const __m256 vvalue = _mm256_add_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(vacc, voffset)), vscale), vbias);
  const __m256 vclamped =
      _mm256_min_ps(_mm256_set1_ps(args->max), _mm256_max_ps(_mm256_set1_ps(args->min), vvalue));
  thaw_store_f32__avx2(c, nr, vclamped);
}

/* One half of the tile: 8 channels by the 8 pixels of one half of the panel (32 of each group's
 * 64 bytes), nr <= 8 of them stored. */
static inline void conv_8x8(size_t nr, size_t k4, const int8_t *const w[8], const int8_t *panel,
                            float *const c[8], const thaw_qs8_conv_tile_args *args,
                            const size_t channel[8], bool signed_x) {
  const __m256i vones = _mm256_set1_epi16(1);
  __m256i vacc0 = _mm256_setzero_si256(), vacc1 = _mm256_setzero_si256();
  __m256i vacc2 = _mm256_setzero_si256(), vacc3 = _mm256_setzero_si256();
  __m256i vacc4 = _mm256_setzero_si256(), vacc5 = _mm256_setzero_si256();
  __m256i vacc6 = _mm256_setzero_si256(), vacc7 = _mm256_setzero_si256();
  for (size_t k0 = 0; k0 < k4; k0 += THAW_QS8_GEMM_KR) {
    const size_t group = k0 * THAW_QS8_GEMM_NR;
    const __m256i vx = _mm256_loadu_si256((const __m256i *)(panel + group));
    const __m256i vx_unsigned = signed_x ? _mm256_abs_epi8(vx) : vx;
    vacc0 = multiply_add(vacc0, w[0] + group, vx, vx_unsigned, vones, signed_x);
    vacc1 = multiply_add(vacc1, w[1] + group, vx, vx_unsigned, vones, signed_x);
    vacc2 = multiply_add(vacc2, w[2] + group, vx, vx_unsigned, vones, signed_x);
    vacc3 = multiply_add(vacc3, w[3] + group, vx, vx_unsigned, vones, signed_x);
    vacc4 = multiply_add(vacc4, w[4] + group, vx, vx_unsigned, vones, signed_x);
    vacc5 = multiply_add(vacc5, w[5] + group, vx, vx_unsigned, vones, signed_x);
    vacc6 = multiply_add(vacc6, w[6] + group, vx, vx_unsigned, vones, signed_x);
    vacc7 = multiply_add(vacc7, w[7] + group, vx, vx_unsigned, vones, signed_x);
  }
  /* Highest channel first: an aliased channel rewrites the last real one with equal values. */
  store_channel(c[7], nr, vacc7, args, channel[7]);
  store_channel(c[6], nr, vacc6, args, channel[6]);
  store_channel(c[5], nr, vacc5, args, channel[5]);
  store_channel(c[4], nr, vacc4, args, channel[4]);
  store_channel(c[3], nr, vacc3, args, channel[3]);
  store_channel(c[2], nr, vacc2, args, channel[2]);
  store_channel(c[1], nr, vacc1, args, channel[1]);
  store_channel(c[0], nr, vacc0, args, channel[0]);
}

static inline void qs8_conv_8x16c4_avx2(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                        const int8_t *panel, float *c, size_t c_row_stride,
                                        const thaw_qs8_conv_tile_args *args, bool signed_x) {
  /* Channels past mr alias the last real one: they compute its values again and store nothing
   * new, which keeps one code path for every tile height. */
  size_t channel[THAW_QS8_CONV_MR];
  const int8_t *w_rows[THAW_QS8_CONV_MR];
  float *c_rows[THAW_QS8_CONV_MR];
  for (size_t i = 0; i < THAW_QS8_CONV_MR; i++) {
    channel[i] = i < mr ? i : mr - 1;
    w_rows[i] = w + channel[i] * THAW_QS8_GEMM_KR;
    c_rows[i] = c + channel[i] * c_row_stride;
  }
  conv_8x8(nr < 8 ? nr : 8, k4, w_rows, panel, c_rows, args, channel, signed_x);
  if (nr <= 8) return;
  for (size_t i = 0; i < THAW_QS8_CONV_MR; i++) c_rows[i] += 8;
  conv_8x8(nr - 8, k4, w_rows, panel + 32, c_rows, args, channel, signed_x);
}

#endif /* THAW_KERNELS_QGEMM_QS8_CONV_8X16C4_AVX2_H */
