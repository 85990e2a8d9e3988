#define THAW_DWCONV2D_RUNTIME_WINDOW
#include "kernels/conv/f32-dwconv2d-plane-neon.h"
#include "kernels/neon.h"

void thaw_f32_dwconv2d_ukernel_generic__neon(const thaw_dwconv2d_geometry *g,
                                             const float *restrict input,
                                             const float *restrict filter, float bias,
                                             float *restrict output) {
  thaw_f32_dwconv2d_plane_any_window(g, input, filter, bias, output);
}
