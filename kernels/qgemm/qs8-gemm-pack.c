/* The packed B of the qs8 GEMM (kernels.h, "Packed B"): made offline by the converter. */
#include <string.h>

#include "kernels/qgemm/qs8-gemm-ukernel.h"

/* n rounded up to whole panels, for an n whose packed size was checked. */
static size_t padded_columns(size_t n) {
  return (n + THAW_QS8_GEMM_NR - 1) / THAW_QS8_GEMM_NR * THAW_QS8_GEMM_NR;
}

size_t thaw_qs8_gemm_packed_b_size(size_t k, size_t n) {
  size_t bytes;
  if (k > SIZE_MAX - THAW_QS8_GEMM_KR || n > SIZE_MAX - THAW_QS8_GEMM_NR ||
      __builtin_mul_overflow(padded_columns(n),
                             thaw_qs8_round_k(k) + sizeof(float) + sizeof(int32_t), &bytes)) {
    return SIZE_MAX;
  }
  return bytes;
}

void thaw_qs8_packed_b_parts(size_t k, size_t n, const void *packed, thaw_qs8_packed_b *parts) {
  const size_t n16 = padded_columns(n);
  parts->column_scales = packed;
  parts->column_sums = (const int32_t *)((const uint8_t *)packed + n16 * sizeof(float));
  parts->panels = (const int8_t *)packed + n16 * (sizeof(float) + sizeof(int32_t));
  parts->panel_bytes = thaw_qs8_round_k(k) * THAW_QS8_GEMM_NR;
}

void thaw_qs8_gemm_pack_b(size_t k, size_t n, const int8_t *b, ptrdiff_t b_row_stride,
                          ptrdiff_t b_column_stride, const float *scales, void *packed) {
  const size_t n16 = padded_columns(n);
  thaw_qs8_packed_b parts;
  thaw_qs8_packed_b_parts(k, n, packed, &parts);
  float *column_scales = (float *)parts.column_scales;
  int32_t *column_sums = (int32_t *)parts.column_sums;
  int8_t *panels = (int8_t *)parts.panels;
  memset(packed, 0, n16 * (sizeof(float) + sizeof(int32_t)));
  memset(panels, 0, n16 / THAW_QS8_GEMM_NR * parts.panel_bytes);
  for (size_t j = 0; j < n; j++) {
    int8_t *column = panels + j / THAW_QS8_GEMM_NR * parts.panel_bytes +
                     j % THAW_QS8_GEMM_NR * THAW_QS8_GEMM_KR;
    int32_t sum = 0;
    for (size_t kk = 0; kk < k; kk++) {
      const int8_t value = b[(ptrdiff_t)kk * b_row_stride + (ptrdiff_t)j * b_column_stride];
      column[kk / THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR * THAW_QS8_GEMM_KR +
             kk % THAW_QS8_GEMM_KR] = value;
      sum += value;
    }
    column_scales[j] = scales[j];
    column_sums[j] = sum;
  }
}
