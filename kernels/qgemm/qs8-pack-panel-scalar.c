/* A panel of quantized activations, byte by byte (qs8-gemm-ukernel.h, thaw_qs8_pack_panel_fn). */
#include <string.h>

#include "kernels/scalar.h"

void thaw_qs8_pack_panel__scalar(size_t channels, size_t taps, const int8_t *x,
                                 size_t channel_stride, const ptrdiff_t *tap_offsets,
                                 int8_t *panel) {
  const size_t k = channels * taps;
  memset(panel, 0, thaw_qs8_round_k(k) * THAW_QS8_GEMM_NR);
  size_t kk = 0;
  for (size_t c = 0; c < channels; c++) {
    for (size_t t = 0; t < taps; t++, kk++) {
      const int8_t *row = x + c * channel_stride + tap_offsets[t];
      int8_t *group = panel + kk / THAW_QS8_GEMM_KR * THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR;
      for (size_t j = 0; j < THAW_QS8_GEMM_NR; j++)
        group[j * THAW_QS8_GEMM_KR + kk % THAW_QS8_GEMM_KR] = row[j];
    }
  }
}
