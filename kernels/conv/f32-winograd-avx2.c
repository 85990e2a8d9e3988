/* The F(4x4, 3x3) transforms on AVX2, eight tile slots or input channels per vector. */
#include "kernels/math/f32-vector-avx2.h"

/* The 4 x 4 floats from each of two quads on as 8 tiles of 4 phases; phases[q] lane t =
 * quads[t / 4][4 (t % 4) + q]: two cross-lane permutes pair tile t with tile t + 4, then a
 * 4 x 4 transpose per 128-bit lane. */
static inline void winograd_split_phases(const float *const *quads, size_t offset,
                                         __m256 *phases) {
  const __m256 tiles01 = _mm256_loadu_ps(quads[0] + offset);
  const __m256 tiles23 = _mm256_loadu_ps(quads[0] + offset + 8);
  const __m256 tiles45 = _mm256_loadu_ps(quads[1] + offset);
  const __m256 tiles67 = _mm256_loadu_ps(quads[1] + offset + 8);
  const __m256 tiles04 = _mm256_permute2f128_ps(tiles01, tiles45, 0x20);
  const __m256 tiles15 = _mm256_permute2f128_ps(tiles01, tiles45, 0x31);
  const __m256 tiles26 = _mm256_permute2f128_ps(tiles23, tiles67, 0x20);
  const __m256 tiles37 = _mm256_permute2f128_ps(tiles23, tiles67, 0x31);
  const __m256 low01 = _mm256_unpacklo_ps(tiles04, tiles15);
  const __m256 high01 = _mm256_unpackhi_ps(tiles04, tiles15);
  const __m256 low23 = _mm256_unpacklo_ps(tiles26, tiles37);
  const __m256 high23 = _mm256_unpackhi_ps(tiles26, tiles37);
  phases[0] = _mm256_shuffle_ps(low01, low23, 0x44);
  phases[1] = _mm256_shuffle_ps(low01, low23, 0xEE);
  phases[2] = _mm256_shuffle_ps(high01, high23, 0x44);
  phases[3] = _mm256_shuffle_ps(high01, high23, 0xEE);
}

/* The 6 columns of the patches of two quads of 4 neighbouring tiles, each quad read from its
 * padded row: d[j] lane t = quads[t / 4][4 (t % 4) + j]. */
static inline void winograd_load_patch_row(const float *const *quads, __m256 *d) {
  __m256 next[4];
  winograd_split_phases(quads, 0, d);
  winograd_split_phases(quads, 4, next);
  d[4] = next[0];
  d[5] = next[1];
}

/* quads[t / 4][4 (t % 4) + q] = phases[q] lane t for the 8 tiles: the inverse of
 * winograd_split_phases. */
static inline void winograd_store_tile_row(float *const *quads, const __m256 *phases) {
  const __m256 low01 = _mm256_unpacklo_ps(phases[0], phases[1]);
  const __m256 high01 = _mm256_unpackhi_ps(phases[0], phases[1]);
  const __m256 low23 = _mm256_unpacklo_ps(phases[2], phases[3]);
  const __m256 high23 = _mm256_unpackhi_ps(phases[2], phases[3]);
  const __m256 tiles04 = _mm256_shuffle_ps(low01, low23, 0x44);
  const __m256 tiles15 = _mm256_shuffle_ps(low01, low23, 0xEE);
  const __m256 tiles26 = _mm256_shuffle_ps(high01, high23, 0x44);
  const __m256 tiles37 = _mm256_shuffle_ps(high01, high23, 0xEE);
  _mm256_storeu_ps(quads[0], _mm256_permute2f128_ps(tiles04, tiles15, 0x20));
  _mm256_storeu_ps(quads[0] + 8, _mm256_permute2f128_ps(tiles26, tiles37, 0x20));
  _mm256_storeu_ps(quads[1], _mm256_permute2f128_ps(tiles04, tiles15, 0x31));
  _mm256_storeu_ps(quads[1] + 8, _mm256_permute2f128_ps(tiles26, tiles37, 0x31));
}

/* The 9 taps of 8 consecutive 3x3 filters (72 floats), tap-major: taps[t] lane l =
 * filters[9 l + t]. Taps 0-7 of each filter are one load and a row of an 8 x 8 transpose, tap
 * 8 a gather: assembling the vectors through memory lane by lane stalls every load on the 8
 * stores it cannot forward from. */
static inline void winograd_load_filter_taps(const float *filters, __m256 *taps) {
  __m256 pairs[8], quads[8];
  for (int r = 0; r < 8; r += 2) {
    const __m256 even = _mm256_loadu_ps(filters + 9 * r);
    const __m256 odd = _mm256_loadu_ps(filters + 9 * r + 9);
    pairs[r] = _mm256_unpacklo_ps(even, odd);
    pairs[r + 1] = _mm256_unpackhi_ps(even, odd);
  }
  for (int half = 0; half < 8; half += 4) {
    quads[half] = _mm256_shuffle_ps(pairs[half], pairs[half + 2], 0x44);
    quads[half + 1] = _mm256_shuffle_ps(pairs[half], pairs[half + 2], 0xEE);
    quads[half + 2] = _mm256_shuffle_ps(pairs[half + 1], pairs[half + 3], 0x44);
    quads[half + 3] = _mm256_shuffle_ps(pairs[half + 1], pairs[half + 3], 0xEE);
  }
  for (int t = 0; t < 4; t++) {
    taps[t] = _mm256_permute2f128_ps(quads[t], quads[t + 4], 0x20);
    taps[t + 4] = _mm256_permute2f128_ps(quads[t], quads[t + 4], 0x31);
  }
  taps[8] = _mm256_i32gather_ps(filters + 8, _mm256_setr_epi32(0, 9, 18, 27, 36, 45, 54, 63), 4);
}

#include "kernels/conv/f32-winograd-driver.h"

THAW_F32_WINOGRAD_TRANSFORMS(avx2)
