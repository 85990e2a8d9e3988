/* Rows of f32 to int8, 32 values per step: the same arithmetic as the scalar reference
 * (multiply by the inverse scale, round half to even, add the zero point, clamp), so both agree
 * to the bit. */
#include "kernels/avx2.h"
#include "kernels/math/x32-tail-mask-avx2.h"

static float horizontal_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}

static float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

/* min and max over the row and 0; NaN is skipped (vminps returns its second operand when the
 * first is NaN). */
static thaw_qs8_row_quantization dynamic_quantization(size_t k, const float *row) {
  __m256 vmin = _mm256_setzero_ps(), vmax = _mm256_setzero_ps();
  for (size_t kk = 0; kk < k; kk += 8) {
    const size_t count = k - kk < 8 ? k - kk : 8;
    const __m256 vx = thaw_load_f32__avx2(row + kk, count); /* zeros past the row */
    vmin = _mm256_min_ps(vx, vmin);
    vmax = _mm256_max_ps(vx, vmax);
  }
  return thaw_qs8_dynamic_quantization(horizontal_min(vmin), horizontal_max(vmax));
}

static inline __m256i quantize8(const float *x, __m256 vinverse_scale, __m256 vzero_point) {
  const __m256 vrounded = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), vinverse_scale),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  /* vmaxps returns its second operand for NaN: NaN becomes -128. */
  const __m256 vclamped = _mm256_min_ps(
      _mm256_max_ps(_mm256_add_ps(vrounded, vzero_point), _mm256_set1_ps(-128.0f)),
      _mm256_set1_ps(127.0f));
  return _mm256_cvtps_epi32(vclamped);
}

void thaw_qs8_quantize_rows__avx2(size_t rows, size_t k, const float *x, ptrdiff_t x_row_stride,
                                  const thaw_qs8_input *input, int8_t *y, size_t y_row_stride,
                                  thaw_qs8_row_quantization *quantization) {
  /* packs interleaves the 128-bit lanes; this puts the four vectors' bytes back in order. */
  const __m256i vunshuffle = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (size_t r = 0; r < rows; r++) {
    const float *row = x + (ptrdiff_t)r * x_row_stride;
    int8_t *out = y + r * y_row_stride;
    const thaw_qs8_row_quantization q =
        input->mode == THAW_QS8_DYNAMIC ? dynamic_quantization(k, row)
                                        : (thaw_qs8_row_quantization){input->scale,
                                                                      input->zero_point};
    const float inverse_scale = 1.0f / q.scale, zero_point = (float)q.zero_point;
    const __m256 vinverse_scale = _mm256_set1_ps(inverse_scale);
    const __m256 vzero_point = _mm256_set1_ps(zero_point);
    size_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m256i v01 = _mm256_packs_epi32(quantize8(row + kk, vinverse_scale, vzero_point),
                                             quantize8(row + kk + 8, vinverse_scale, vzero_point));
      const __m256i v23 =
          _mm256_packs_epi32(quantize8(row + kk + 16, vinverse_scale, vzero_point),
                             quantize8(row + kk + 24, vinverse_scale, vzero_point));
      const __m256i vbytes =
          _mm256_permutevar8x32_epi32(_mm256_packs_epi16(v01, v23), vunshuffle);
      _mm256_storeu_si256((__m256i *)(out + kk), vbytes);
    }
    for (; kk < k; kk++) out[kk] = thaw_qs8_quantize_value(row[kk], inverse_scale, zero_point);
    for (; kk < thaw_qs8_round_k(k); kk++) out[kk] = 0;
    quantization[r] = q;
  }
}
