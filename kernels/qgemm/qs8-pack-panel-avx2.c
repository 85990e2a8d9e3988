/* A panel of quantized activations (qs8-gemm-ukernel.h, thaw_qs8_pack_panel_fn): four rows of 16
 * bytes at a time become one group of 64 (4 consecutive k per pixel) through two rounds of
 * byte and word interleaves. */
#include <immintrin.h>

#include "kernels/avx2.h"

/* Rows k, k+1, k+2, k+3 (16 bytes each) into one 64-byte group. */
static inline void interleave_group(const int8_t *r0, const int8_t *r1, const int8_t *r2,
                                    const int8_t *r3, int8_t *group) {
  const __m128i v0 = _mm_loadu_si128((const __m128i *)r0);
  const __m128i v1 = _mm_loadu_si128((const __m128i *)r1);
  const __m128i v2 = _mm_loadu_si128((const __m128i *)r2);
  const __m128i v3 = _mm_loadu_si128((const __m128i *)r3);
  const __m128i v01_low = _mm_unpacklo_epi8(v0, v1), v01_high = _mm_unpackhi_epi8(v0, v1);
  const __m128i v23_low = _mm_unpacklo_epi8(v2, v3), v23_high = _mm_unpackhi_epi8(v2, v3);
  _mm_storeu_si128((__m128i *)group, _mm_unpacklo_epi16(v01_low, v23_low));
  _mm_storeu_si128((__m128i *)(group + 16), _mm_unpackhi_epi16(v01_low, v23_low));
  _mm_storeu_si128((__m128i *)(group + 32), _mm_unpacklo_epi16(v01_high, v23_high));
  _mm_storeu_si128((__m128i *)(group + 48), _mm_unpackhi_epi16(v01_high, v23_high));
}

void thaw_qs8_pack_panel__avx2(size_t channels, size_t taps, const int8_t *x,
                               size_t channel_stride, const ptrdiff_t *tap_offsets,
                               int8_t *panel) {
  static const int8_t zeros[THAW_QS8_GEMM_NR];
  const int8_t *rows[THAW_QS8_GEMM_KR];
  size_t filled = 0;
  for (size_t c = 0; c < channels; c++) {
    const int8_t *channel = x + c * channel_stride;
    for (size_t t = 0; t < taps; t++) {
      rows[filled++] = channel + tap_offsets[t];
      if (filled == THAW_QS8_GEMM_KR) {
        interleave_group(rows[0], rows[1], rows[2], rows[3], panel);
        panel += THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
        filled = 0;
      }
    }
  }
  if (filled == 0) return;
  for (size_t r = filled; r < THAW_QS8_GEMM_KR; r++) rows[r] = zeros; /* k past the end */
  interleave_group(rows[0], rows[1], rows[2], rows[3], panel);
}
