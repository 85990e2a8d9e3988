#include "kernels/conv/f32-dwconv2d-plane-neon.h"
#include "kernels/neon.h"

void thaw_f32_dwconv2d_ukernel_3x3s1x2__neon(const thaw_dwconv2d_geometry *g,
                                             const float *restrict input,
                                             const float *restrict filter, float bias,
                                             float *restrict output) {
  thaw_f32_dwconv2d_plane(g, input, filter, bias, output, THAW_DWCONV2D_BLOCK_ROWS, 3, 3, 1,
                          2, 1, 1);
}
