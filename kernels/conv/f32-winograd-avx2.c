/* The F(4x4, 3x3) transforms on AVX2, eight tile slots or input channels per vector. */
#include "kernels/math/f32-vector-avx2.h"

/* The 4 x 8 floats from `row` on as 8 tiles of 4 phases; *_phases[q] lane t = row[4 t + q]:
 * two cross-lane permutes pair tile t with tile t + 4, then a 4 x 4 transpose per 128-bit
 * lane. */
static inline void winograd_split_phases(const float *row, __m256 *phases) {
  const __m256 tiles01 = _mm256_loadu_ps(row), tiles23 = _mm256_loadu_ps(row + 8);
  const __m256 tiles45 = _mm256_loadu_ps(row + 16), tiles67 = _mm256_loadu_ps(row + 24);
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

/* The 6 columns of 8 neighbouring patches from a padded row: d[j] lane t = row[4 t + j]. */
static inline void winograd_load_patch_row(const float *row, __m256 *d) {
  __m256 next[4];
  winograd_split_phases(row, d);
  winograd_split_phases(row + 4, next);
  d[4] = next[0];
  d[5] = next[1];
}

/* out[4 t + q] = phases[q] lane t for the 8 tiles: the inverse of winograd_split_phases. */
static inline void winograd_store_tile_row(float *out, const __m256 *phases) {
  const __m256 low01 = _mm256_unpacklo_ps(phases[0], phases[1]);
  const __m256 high01 = _mm256_unpackhi_ps(phases[0], phases[1]);
  const __m256 low23 = _mm256_unpacklo_ps(phases[2], phases[3]);
  const __m256 high23 = _mm256_unpackhi_ps(phases[2], phases[3]);
  const __m256 tiles04 = _mm256_shuffle_ps(low01, low23, 0x44);
  const __m256 tiles15 = _mm256_shuffle_ps(low01, low23, 0xEE);
  const __m256 tiles26 = _mm256_shuffle_ps(high01, high23, 0x44);
  const __m256 tiles37 = _mm256_shuffle_ps(high01, high23, 0xEE);
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(tiles04, tiles15, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(tiles26, tiles37, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(tiles04, tiles15, 0x31));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(tiles26, tiles37, 0x31));
}

#include "kernels/conv/f32-winograd-driver.h"

THAW_F32_WINOGRAD_TRANSFORMS(avx2)
