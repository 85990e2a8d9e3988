/* A panel of quantized activations, byte by byte (qs8-gemm-ukernel.h, thaw_qs8_pack_panel_fn). */
#include <string.h>

#include "kernels/scalar.h"

void thaw_qs8_pack_panel__scalar(size_t k, const int8_t *x, const ptrdiff_t *row_offsets,
                                 int8_t *panel) {
  memset(panel, 0, thaw_qs8_round_k(k) * THAW_QS8_GEMM_NR);
  for (size_t kk = 0; kk < k; kk++) {
    const int8_t *row = x + row_offsets[kk];
    int8_t *group = panel + kk / THAW_QS8_GEMM_KR * THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
    for (size_t j = 0; j < THAW_QS8_GEMM_NR; j++)
      group[j * THAW_QS8_GEMM_KR + kk % THAW_QS8_GEMM_KR] = row[j];
  }
}
