#include "kernels/conv/f32-dwconv2d-plane-neon.h"
#include "kernels/neon.h"

/* Any window, stride and dilation: the taps are loaded as the loops reach them. */
void thaw_f32_dwconv2d_ukernel_generic__neon(const thaw_dwconv2d_geometry *g,
                                             const float *restrict input,
                                             const float *restrict filter, float bias,
                                             float *restrict output) {
  thaw_f32_dwconv2d_plane_neon(g, input, filter, bias, output, g->kernel_height, g->kernel_width,
                               g->stride_h, g->stride_w, g->dilation_h, g->dilation_w);
}
