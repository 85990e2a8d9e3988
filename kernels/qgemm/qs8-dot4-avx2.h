/* The step both AVX2 qs8 tiles repeat: 4-products of bytes summed into int32 lanes. */
#ifndef THAW_KERNELS_QGEMM_QS8_DOT4_AVX2_H
#define THAW_KERNELS_QGEMM_QS8_DOT4_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The 4 bytes at p in every 32-bit lane. */
static inline __m256i thaw_qs8_broadcast4__avx2(const int8_t *p) {
  int32_t group;
  memcpy(&group, p, sizeof group);
  return _mm256_set1_epi32(group);
}

/* acc + in each 32-bit lane the sum of its 4 products u * s: vpmaddubsw (u unsigned, s signed;
 * the callers keep each pair of products below 2^15, so nothing saturates), then vpmaddwd by
 * ones widens the pairs into int32. */
static inline __m256i thaw_qs8_dot4_add__avx2(__m256i acc, __m256i u, __m256i s, __m256i vones) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), vones));
}

#endif /* THAW_KERNELS_QGEMM_QS8_DOT4_AVX2_H */
