/* A panel of quantized activations (qs8-pack-panel-driver.h): four rows of 16 bytes become one
 * group of 64 (4 consecutive k per pixel) through two rounds of byte and word interleaves. */
#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/qgemm/qs8-pack-panel-driver.h"

static inline void interleave_group(const int8_t *const rows[THAW_QS8_GEMM_KR], int8_t *group) {
  const __m128i v0 = _mm_loadu_si128((const __m128i *)rows[0]);
  const __m128i v1 = _mm_loadu_si128((const __m128i *)rows[1]);
  const __m128i v2 = _mm_loadu_si128((const __m128i *)rows[2]);
  const __m128i v3 = _mm_loadu_si128((const __m128i *)rows[3]);
  const __m128i v01_low = _mm_unpacklo_epi8(v0, v1), v01_high = _mm_unpackhi_epi8(v0, v1);
  const __m128i v23_low = _mm_unpacklo_epi8(v2, v3), v23_high = _mm_unpackhi_epi8(v2, v3);
  _mm_storeu_si128((__m128i *)group, _mm_unpacklo_epi16(v01_low, v23_low));
  _mm_storeu_si128((__m128i *)(group + 16), _mm_unpackhi_epi16(v01_low, v23_low));
  _mm_storeu_si128((__m128i *)(group + 32), _mm_unpacklo_epi16(v01_high, v23_high));
  _mm_storeu_si128((__m128i *)(group + 48), _mm_unpackhi_epi16(v01_high, v23_high));
}

void thaw_qs8_pack_panel__avx2(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                               int8_t *panel) {
  thaw_qs8_pack_panel_drive(k, x, row_offsets, panel, interleave_group);
}
