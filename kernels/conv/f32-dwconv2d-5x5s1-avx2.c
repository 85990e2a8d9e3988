#include "kernels/avx2.h"
#include "kernels/conv/f32-dwconv2d-plane-avx2.h"

void thaw_f32_dwconv2d_ukernel_5x5s1__avx2(const thaw_dwconv2d_geometry *g,
                                           const float *restrict input,
                                           const float *restrict filter, float bias,
                                           float *restrict output) {
  thaw_f32_dwconv2d_plane(g, input, filter, bias, output, THAW_DWCONV2D_BLOCK_ROWS, 5, 5, 1,
                          1, 1, 1);
}
