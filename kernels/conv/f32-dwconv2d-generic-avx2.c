#include "kernels/avx2.h"
#include "kernels/conv/f32-dwconv2d-plane-avx2.h"

/* Any window, stride and dilation, one output row at a time: the taps are loaded as the loops
 * reach them. */
void thaw_f32_dwconv2d_ukernel_generic__avx2(const thaw_dwconv2d_geometry *g,
                                             const float *restrict input,
                                             const float *restrict filter, float bias,
                                             float *restrict output) {
  thaw_f32_dwconv2d_plane_avx2(g, input, filter, bias, output, 1, g->kernel_height,
                               g->kernel_width, g->stride_h, g->stride_w, g->dilation_h,
                               g->dilation_w, THAW_DWCONV2D_COLUMNS_BY_PHASE);
}
