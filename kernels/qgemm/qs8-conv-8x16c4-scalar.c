/* The oracle convolution tile: plain integer loops, for checking the vector ones and for CPUs
 * without them. Exact for any int8 activations, so it serves both input modes. */
#include "kernels/gemm/gemm-ukernel.h"
#include "kernels/scalar.h"

void thaw_qs8_conv_ukernel_8x16c4__scalar(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                          const int8_t *panel, float *c, size_t c_row_stride,
                                          const thaw_qs8_conv_tile_args *args) {
  int32_t acc[THAW_QS8_CONV_MR][THAW_QS8_GEMM_NR] = {{0}};
  for (size_t k0 = 0; k0 < k4; k0 += THAW_QS8_GEMM_KR) {
    const size_t group = k0 * THAW_QS8_GEMM_NR;
    for (size_t i = 0; i < mr; i++) {
      for (size_t j = 0; j < nr; j++) {
        for (size_t t = 0; t < THAW_QS8_GEMM_KR; t++) {
          acc[i][j] += (int32_t)w[group + i * THAW_QS8_GEMM_KR + t] *
                       panel[group + j * THAW_QS8_GEMM_KR + t];
        }
      }
    }
  }
  for (size_t i = 0; i < mr; i++) {
    float *c_row = c + i * c_row_stride;
    for (size_t j = 0; j < nr; j++) {
      const float value = (float)(acc[i][j] - args->offsets[i]) * args->scales[i] + args->biases[i];
      c_row[j] = thaw_gemm_clamp(value, args->min, args->max);
    }
  }
}
