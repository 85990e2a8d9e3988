/*
 * The 8x16 qs8 convolution tile (8 output channels by 16 pixels), computed as two halves of 4
 * channels by 16 pixels in eight ymm int32 accumulators each, for activations in [0, 127]
 * (DYNAMIC) or anywhere in int8 (STATIC); qs8-conv-8x16c4-avx2.c and qs8-conv-8x16c4-u7-avx2.c
 * instantiate it. The weights are the broadcast operand (4 bytes per channel and group of 4 k),
 * the activations the vector one, so each row of the tile is consecutive pixels of one NCHW
 * channel. Per group of 4 k a half loads the 16 pixels (two vectors) and broadcasts its 4
 * channels' weights: 8 vpmaddubsw + 8 vpmaddwd for 6 loads. The weight panel holds zeros past the
 * last real channel, so a half computes all of its 4 channels and stores the first mr; a tile of
 * at most 4 channels skips the second half, a tile of at most 8 pixels the second 8 pixels.
 * The first group is taken out of the loop (k4 > 0), so that the loop never starts from the
 * zero constant: from zeros, GCC 12's partial redundancy elimination keeps a second copy of each
 * accumulator live across the loop, and the spills and moves that follow cost a quarter of the
 * speed (k = 576 with the operands in L1 on the AMD EPYC here: ~135 against ~185 Gop/s).
 * A panel of fewer than 8 pixels (the end of a small image: 1 of 49 pixels, 4 of 196) swaps the
 * operands instead: per pixel and group of 4 k, one vpmaddubsw of its broadcast activations
 * with the 8 channels' weights (32 consecutive bytes of the weight panel), nr multiplies where
 * the half above spends 8. The integer sums are exact either way and the epilogue is the same
 * arithmetic per element, so an output does not depend on the path that computed it.
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

enum { HALF_CHANNELS = THAW_QS8_CONV_MR / 2 };

/* acc + the 4-products, lane by lane, of weights vw and activations vx (vx_unsigned = |vx| for
 * signed activations, else vx itself); one of the two is a broadcast. */
static inline __m256i multiply_add(__m256i acc, __m256i vw, __m256i vx, __m256i vx_unsigned,
                                   __m256i vones, bool signed_x) {
  const __m256i vw_signed = signed_x ? _mm256_sign_epi8(vw, vx) : vw;
  return thaw_qs8_dot4_add__avx2(acc, vx_unsigned, vw_signed, vones);
}

/* Requantize and store one channel's 16 pixels (nr of them): (acc - offset) * scale + bias,
 * clamped with NaN passing through (the max/min operand order keeps it). */
static inline void store_channel(float *c, size_t nr, __m256i vacc_low, __m256i vacc_high,
                                 const thaw_qs8_conv_tile_args *args, size_t channel) {
  const __m256i voffset = _mm256_set1_epi32(args->offsets[channel]);
  const __m256 vscale = _mm256_set1_ps(args->scales[channel]);
  const __m256 vbias = _mm256_set1_ps(args->biases[channel]);
  const __m256 vmin = _mm256_set1_ps(args->min), vmax = _mm256_set1_ps(args->max);
  const __m256 vlow = _mm256_add_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(vacc_low, voffset)), vscale), vbias);
  const __m256 vhigh = _mm256_add_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(vacc_high, voffset)), vscale), vbias);
  const __m256 vlow_clamped = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vlow));
  const __m256 vhigh_clamped = _mm256_min_ps(vmax, _mm256_max_ps(vmin, vhigh));
  if (nr == THAW_QS8_GEMM_NR) {
    _mm256_storeu_ps(c, vlow_clamped);
    _mm256_storeu_ps(c + 8, vhigh_clamped);
  } else {
    __m256i vmask_low, vmask_high;
    thaw_column_masks(nr, &vmask_low, &vmask_high);
    _mm256_maskstore_ps(c, vmask_low, vlow_clamped);
    _mm256_maskstore_ps(c + 8, vmask_high, vhigh_clamped);
  }
}

/* One group of 4 k: acc[i][h] += channel i's 4 weights (at w + 4 i) times the 8 pixels of half
 * h < halves of the panel group at x. */
static inline void multiply_group(__m256i acc[HALF_CHANNELS][2], const int8_t *x, const int8_t *w,
                                  size_t halves, __m256i vones, bool signed_x) {
  __m256i vx[2], vx_unsigned[2];
  for (size_t h = 0; h < halves; h++) {
    vx[h] = _mm256_loadu_si256((const __m256i *)(x + 32 * h));
    vx_unsigned[h] = signed_x ? _mm256_abs_epi8(vx[h]) : vx[h];
  }
  for (size_t i = 0; i < HALF_CHANNELS; i++) {
    const __m256i vw = thaw_qs8_broadcast4__avx2(w + i * THAW_QS8_GEMM_KR);
    for (size_t h = 0; h < halves; h++)
      acc[i][h] = multiply_add(acc[i][h], vw, vx[h], vx_unsigned[h], vones, signed_x);
  }
}

/* The tile's channels first .. first + 3 by its first 8 * halves pixels; the channels below mr
 * are stored. */
static inline void conv_half(size_t mr, size_t nr, size_t k4, const int8_t *w, const int8_t *panel,
                             float *c, size_t c_row_stride, const thaw_qs8_conv_tile_args *args,
                             size_t first, size_t halves, bool signed_x) {
  const __m256i vones = _mm256_set1_epi16(1);
  const size_t end = k4 * THAW_QS8_GEMM_NR, group_bytes = THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
  const int8_t *w_half = w + first * THAW_QS8_GEMM_KR;
  __m256i vacc[HALF_CHANNELS][2];
  for (size_t i = 0; i < HALF_CHANNELS; i++) vacc[i][0] = vacc[i][1] = _mm256_setzero_si256();
  multiply_group(vacc, panel, w_half, halves, vones, signed_x);
  for (size_t group = group_bytes; group < end; group += group_bytes)
    multiply_group(vacc, panel + group, w_half + group, halves, vones, signed_x);
  float *c_half = c + first * c_row_stride;
  for (size_t i = 0; i < HALF_CHANNELS && first + i < mr; i++)
    store_channel(c_half + i * c_row_stride, nr, vacc[i][0], vacc[i][1], args, first + i);
}

/* acc + the 4-products of one pixel's group at x (broadcast) with the 8 channels' weights of the
 * same group at w. */
static inline __m256i pixel_group(__m256i acc, const int8_t *w, const int8_t *x, __m256i vones,
                                  bool signed_x) {
  const __m256i vx = thaw_qs8_broadcast4__avx2(x);
  const __m256i vx_unsigned = signed_x ? _mm256_abs_epi8(vx) : vx;
  const __m256i vw = _mm256_loadu_si256((const __m256i *)w);
  return multiply_add(acc, vw, vx, vx_unsigned, vones, signed_x);
}

/* The tile's channels (lanes) at one pixel, summed over the k4 / 4 groups; two accumulators over
 * alternate groups keep two vpaddd chains in flight. */
static inline __m256i pixel_dot(size_t k4, const int8_t *w, const int8_t *x, __m256i vones,
                                bool signed_x) {
  const size_t end = k4 * THAW_QS8_GEMM_NR, group_bytes = THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
  __m256i vacc0 = _mm256_setzero_si256(), vacc1 = _mm256_setzero_si256();
  size_t group = 0;
  for (; group + 2 * group_bytes <= end; group += 2 * group_bytes) {
    vacc0 = pixel_group(vacc0, w + group, x + group, vones, signed_x);
    vacc1 = pixel_group(vacc1, w + group + group_bytes, x + group + group_bytes, vones, signed_x);
  }
  if (group < end) vacc0 = pixel_group(vacc0, w + group, x + group, vones, signed_x);
  return _mm256_add_epi32(vacc0, vacc1);
}

/* The tile for nr < 8 pixels, a pixel at a time: the channels come out as lanes and are stored
 * one element each. */
static inline void conv_narrow(size_t mr, size_t nr, size_t k4, const int8_t *w,
                               const int8_t *panel, float *c, size_t c_row_stride,
                               const thaw_qs8_conv_tile_args *args, bool signed_x) {
  const __m256i vones = _mm256_set1_epi16(1);
  /* The epilogue arrays hold THAW_QS8_CONV_MR values, zeros past the last real channel. */
  const __m256i voffsets = _mm256_loadu_si256((const __m256i *)args->offsets);
  const __m256 vscales = _mm256_loadu_ps(args->scales);
  const __m256 vbiases = _mm256_loadu_ps(args->biases);
  const __m256 vmin = _mm256_set1_ps(args->min), vmax = _mm256_set1_ps(args->max);
  for (size_t j = 0; j < nr; j++) {
    const __m256i vacc = pixel_dot(k4, w, panel + j * THAW_QS8_GEMM_KR, vones, signed_x);
    const __m256 vvalue = _mm256_add_ps(
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(vacc, voffsets)), vscales), vbiases);
    float values[THAW_QS8_CONV_MR];
    _mm256_storeu_ps(values, _mm256_min_ps(vmax, _mm256_max_ps(vmin, vvalue)));
    for (size_t i = 0; i < mr; i++) c[i * c_row_stride + j] = values[i];
  }
}

static inline void qs8_conv_8x16c4_avx2(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                        const int8_t *panel, float *c, size_t c_row_stride,
                                        const thaw_qs8_conv_tile_args *args, bool signed_x) {
  if (nr < 8) {
    conv_narrow(mr, nr, k4, w, panel, c, c_row_stride, args, signed_x);
    return;
  }
  for (size_t first = 0; first < mr; first += HALF_CHANNELS) {
    /* 8 pixels (the end of an image, e.g. the last of 56) skip the other half. */
    if (nr > 8)
      conv_half(mr, nr, k4, w, panel, c, c_row_stride, args, first, 2, signed_x);
    else
      conv_half(mr, nr, k4, w, panel, c, c_row_stride, args, first, 1, signed_x);
  }
}

#endif /* THAW_KERNELS_QGEMM_QS8_CONV_8X16C4_AVX2_H */
