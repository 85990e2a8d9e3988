/* Binary elementwise ops on AVX2: the Max and Min bodies, and the shared driver bound to them. */
#include <immintrin.h>

#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/elementwise/f32-binary-driver.h"

/* ONNX Max/Min propagate NaN from either side; _mm256_max_ps alone drops a NaN in a. */
static inline __m256 vector_max(__m256 a, __m256 b) {
  const __m256 take_a =
      _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  return _mm256_blendv_ps(b, a, take_a);
}

static inline __m256 vector_min(__m256 a, __m256 b) {
  const __m256 take_a =
      _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  return _mm256_blendv_ps(b, a, take_a);
}

void thaw_f32_binary__avx2(const thaw_binary_params *p, const float *a, const float *b,
                           float *y) {
  thaw_f32_binary_drive(p, a, b, y);
}
