/* f32 to int8, 32 values per step: the same arithmetic as the scalar reference (multiply by
 * the inverse scale, round half to even, add the zero point, clamp), so both agree to the bit. */
#include <immintrin.h>
#include <string.h>

#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

static inline __m256i quantize8(__m256 vx, __m256 vinverse_scale, __m256 vzero_point,
                                __m256 vlowest) {
  const __m256 vrounded = _mm256_round_ps(_mm256_mul_ps(vx, vinverse_scale),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* vmaxps returns its second operand for NaN: NaN becomes the lowest value. */
  const __m256 vclamped = _mm256_min_ps(
      _mm256_max_ps(_mm256_add_ps(vrounded, vzero_point), vlowest), _mm256_set1_ps(127.0f));
  return _mm256_cvtps_epi32(vclamped);
}

void thaw_qs8_quantize__avx2(size_t n, const float *x, const thaw_qs8_row_quantization *q,
                             float lowest, int8_t *y) {
  const float inverse_scale = 1.0f / q->scale, zero_point = (float)q->zero_point;
  const __m256 vinverse_scale = _mm256_set1_ps(inverse_scale);
  const __m256 vzero_point = _mm256_set1_ps(zero_point), vlowest = _mm256_set1_ps(lowest);
  /* packs interleaves the 128-bit lanes; this puts the four vectors' bytes back in order. */
  const __m256i vunshuffle = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v0 = quantize8(_mm256_loadu_ps(x + i), vinverse_scale, vzero_point, vlowest);
    const __m256i v1 = quantize8(_mm256_loadu_ps(x + i + 8), vinverse_scale, vzero_point, vlowest);
    const __m256i v2 = quantize8(_mm256_loadu_ps(x + i + 16), vinverse_scale, vzero_point, vlowest);
    const __m256i v3 = quantize8(_mm256_loadu_ps(x + i + 24), vinverse_scale, vzero_point, vlowest);
    const __m256i v01 = _mm256_packs_epi32(v0, v1), v23 = _mm256_packs_epi32(v2, v3);
    const __m256i vbytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(v01, v23), vunshuffle);
    _mm256_storeu_si256((__m256i *)(y + i), vbytes);
  }
  /* The rest 8 at a time (short rows are common: a padded copy quantizes one image row per call,
   * 7 to 56 values), the last ones loaded masked and stored through a copy. */
  for (; i < n; i += 8) {
    const size_t count = n - i < 8 ? n - i : 8;
    const __m256i vwords =
        quantize8(thaw_load_f32__avx2(x + i, count), vinverse_scale, vzero_point, vlowest);
    const __m128i vhalves = _mm_packs_epi32(_mm256_castsi256_si128(vwords),
                                            _mm256_extracti128_si256(vwords, 1));
    const __m128i vbytes = _mm_packs_epi16(vhalves, vhalves);
    if (count == 8) {
      _mm_storel_epi64((__m128i *)(y + i), vbytes);
    } else {
      int8_t bytes[16];
      _mm_storeu_si128((__m128i *)bytes, vbytes);
      memcpy(y + i, bytes, count);
    }
  }
}
