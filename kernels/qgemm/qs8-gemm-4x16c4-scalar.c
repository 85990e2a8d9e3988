/* The oracle microkernel: plain integer loops over the tile, for checking the vector ones and
 * for CPUs without them. */
#include "kernels/gemm/gemm-ukernel.h"
#include "kernels/scalar.h"

enum { MR = 4 };

void thaw_qs8_gemm_ukernel_4x16c4__scalar(size_t mr, size_t nr, size_t k4, const int8_t *a,
                                          size_t a_row_stride, const int8_t *packed_b, float *c,
                                          ptrdiff_t c_row_stride,
                                          const thaw_qs8_tile_args *args) {
  int32_t acc[MR][THAW_QS8_GEMM_NR] = {{0}};
  for (size_t k0 = 0; k0 < k4; k0 += THAW_QS8_GEMM_KR) {
    const int8_t *group = packed_b + k0 * THAW_QS8_GEMM_NR;
    for (size_t i = 0; i < mr; i++) {
      const int8_t *a_group = a + i * a_row_stride + k0;
      for (size_t j = 0; j < nr; j++) {
        for (size_t t = 0; t < THAW_QS8_GEMM_KR; t++)
          acc[i][j] += (int32_t)a_group[t] * group[j * THAW_QS8_GEMM_KR + t];
      }
    }
  }
  for (size_t i = 0; i < mr; i++) {
    float *c_row = c + (ptrdiff_t)i * c_row_stride;
    for (size_t j = 0; j < nr; j++) {
      float value = thaw_qs8_requantize(acc[i][j], &args->rows[i], args->column_scales[j],
                                        args->column_sums[j]);
      if (args->bias != NULL) value += args->bias[j];
      c_row[j] = thaw_gemm_clamp(value, args->min, args->max);
    }
  }
}
