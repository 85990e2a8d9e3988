#include "kernels/conv/f32-dwconv2d-plane-neon.h"
#include "kernels/neon.h"

void thaw_f32_dwconv2d_ukernel_3x3s2x1__neon(const thaw_dwconv2d_geometry *g,
                                             const float *restrict input,
                                             const float *restrict filter, float bias,
                                             float *restrict output) {
  thaw_f32_dwconv2d_plane_neon(g, input, filter, bias, output, 3, 3, 2, 1, 1, 1);
}
