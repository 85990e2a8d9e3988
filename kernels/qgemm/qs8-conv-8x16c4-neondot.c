/*
 * The 8x16 qs8 convolution tile (8 output channels by 16 pixels) on the Armv8.2 dot product,
 * computed as two 8x8 halves in 16 int32 accumulators each (the whole tile would need all 32
 * registers for them). Per group of 4 k, a half loads its 8 pixels (2 registers of 4 pixels x 4
 * k, the panel's layout) and the 8 channels' weights (2 registers: the tile's channels are 32
 * consecutive bytes of the weight panel's group), then SDOT by element takes each channel's 4
 * weights from a lane: 4 loads and 16 SDOT. SDOT multiplies signed bytes exactly, so one kernel
 * serves activations in [0, 127] (DYNAMIC) and anywhere in int8 (STATIC).
 * Built with the dotprod extension (its file name ends in -neondot.c, see CMakeLists.txt) and
 * called only when getauxval(AT_HWCAP) has HWCAP_ASIMDDP.
 */
#include <arm_neon.h>

#include "kernels/neon.h"
#include "kernels/qgemm/qs8-requantize-neon.h"

/* Channel `lane` of the weight register vw times both registers of pixels. */
#define DOT_CHANNEL(acc, vx0, vx1, vw, lane)                 \
  do {                                                       \
    (acc)[0] = vdotq_laneq_s32((acc)[0], vx0, vw, lane);     \
    (acc)[1] = vdotq_laneq_s32((acc)[1], vx1, vw, lane);     \
  } while (0)

/* One half: the 8 channels (weights w, every channel of the tile: the weight panel holds zeros
 * past the last real channel) by the 8 pixels at panel (32 of each group's 64 bytes), of which
 * the first `pixels` (<= 8) of the first mr channels are stored. */
static void conv_8x8(size_t mr, size_t pixels, size_t k4, const int8_t *w, const int8_t *panel,
                     float *c, size_t c_row_stride, const thaw_qs8_conv_tile_args *args) {
  int32x4_t acc[THAW_QS8_CONV_MR][2];
  for (size_t i = 0; i < THAW_QS8_CONV_MR; i++) acc[i][0] = acc[i][1] = vdupq_n_s32(0);
  for (size_t k0 = 0; k0 < k4; k0 += THAW_QS8_GEMM_KR) {
    const size_t group = k0 * THAW_QS8_GEMM_NR;
    const int8x16_t vx0 = vld1q_s8(panel + group), vx1 = vld1q_s8(panel + group + 16);
    const int8x16_t vw0123 = vld1q_s8(w + group), vw4567 = vld1q_s8(w + group + 16);
    DOT_CHANNEL(acc[0], vx0, vx1, vw0123, 0);
    DOT_CHANNEL(acc[1], vx0, vx1, vw0123, 1);
    DOT_CHANNEL(acc[2], vx0, vx1, vw0123, 2);
    DOT_CHANNEL(acc[3], vx0, vx1, vw0123, 3);
    DOT_CHANNEL(acc[4], vx0, vx1, vw4567, 0);
    DOT_CHANNEL(acc[5], vx0, vx1, vw4567, 1);
    DOT_CHANNEL(acc[6], vx0, vx1, vw4567, 2);
    DOT_CHANNEL(acc[7], vx0, vx1, vw4567, 3);
  }
  for (size_t i = 0; i < mr; i++)
    thaw_qs8_store_conv_channel__neon(acc[i], pixels, args, i, c + i * c_row_stride);
}

void thaw_qs8_conv_ukernel_8x16c4__neondot(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                           const int8_t *panel, float *c, size_t c_row_stride,
                                           const thaw_qs8_conv_tile_args *args) {
  conv_8x8(mr, nr < 8 ? nr : 8, k4, w, panel, c, c_row_stride, args);
  if (nr > 8) conv_8x8(mr, nr - 8, k4, w, panel + 32, c + 8, c_row_stride, args);
}
