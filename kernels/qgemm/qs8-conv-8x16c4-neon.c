/*
 * The 8x16 qs8 convolution tile (8 output channels by 16 pixels) for Armv8.0 NEON, without the
 * dot product: widening multiplies and pairwise accumulation (qs8-dot4-neon.h), exact for
 * activations in [0, 127] (DYNAMIC) and anywhere in int8 (STATIC) alike. The pixels are the
 * vector operand (a register holds 4 pixels x 4 k, the panel's layout), each channel's 4 weights
 * the broadcast one, so each row of the tile is consecutive pixels of one NCHW channel. With 2
 * partial sums per pixel, 4 channels by 8 pixels fill 16 accumulators: the tile is 4 such blocks.
 * Per 2 groups (8 k) a block loads 4 registers of pixels and broadcasts 8 weights for 16 SMULL(2),
 * 16 SMLAL(2) and 16 SADALP, 256 multiply-adds (76 instructions with GCC 12, of which 7 move
 * accumulators through the stack, as in qs8-gemm-2x16c4-neon.c).
 */
#include <arm_neon.h>

#include "kernels/neon.h"
#include "kernels/qgemm/qs8-dot4-neon.h"
#include "kernels/qgemm/qs8-requantize-neon.h"

enum { BLOCK_CHANNELS = 4, BLOCK_PIXELS = 8, GROUP_BYTES = THAW_QS8_GEMM_KR * THAW_QS8_GEMM_NR };

/* One block: the 4 channels whose weights start at w by the 8 pixels whose activations start at
 * panel (32 of each group's 64 bytes); the first `channels` by `pixels` are stored. */
static void conv_4x8(size_t channels, size_t pixels, size_t k4, const int8_t *w,
                     const int8_t *panel, float *c, size_t c_row_stride,
                     const thaw_qs8_conv_tile_args *args, size_t first_channel) {
  /* acc[i][h] holds channel i's pixels 4h .. 4h+3 as partial sums. */
  int32x4_t acc[BLOCK_CHANNELS][2][2];
  for (size_t i = 0; i < BLOCK_CHANNELS; i++)
    acc[i][0][0] = acc[i][0][1] = acc[i][1][0] = acc[i][1][1] = vdupq_n_s32(0);
  size_t group = 0;
  const size_t groups_end = k4 * THAW_QS8_GEMM_NR;
  for (; group + 2 * GROUP_BYTES <= groups_end; group += 2 * GROUP_BYTES) {
    const int8_t *next = panel + group + GROUP_BYTES;
    const int8x16_t vx0 = vld1q_s8(panel + group), vx1 = vld1q_s8(panel + group + 16);
    const int8x16_t vx0_next = vld1q_s8(next), vx1_next = vld1q_s8(next + 16);
    for (size_t i = 0; i < BLOCK_CHANNELS; i++) {
      const int8_t *weights = w + group + i * THAW_QS8_GEMM_KR;
      const int8x16_t vw = thaw_qs8_broadcast4__neon(weights);
      const int8x16_t vw_next = thaw_qs8_broadcast4__neon(weights + GROUP_BYTES);
      thaw_qs8_dot4x2_add__neon(acc[i][0], vw, vx0, vw_next, vx0_next);
      thaw_qs8_dot4x2_add__neon(acc[i][1], vw, vx1, vw_next, vx1_next);
    }
  }
  if (group < groups_end) { /* an odd number of groups: the last one alone */
    const int8x16_t vx0 = vld1q_s8(panel + group), vx1 = vld1q_s8(panel + group + 16);
    for (size_t i = 0; i < BLOCK_CHANNELS; i++) {
      const int8x16_t vw = thaw_qs8_broadcast4__neon(w + group + i * THAW_QS8_GEMM_KR);
      thaw_qs8_dot4_add__neon(acc[i][0], vw, vx0);
      thaw_qs8_dot4_add__neon(acc[i][1], vw, vx1);
    }
  }
  for (size_t i = 0; i < channels; i++) {
    const int32x4_t vsums[2] = {thaw_qs8_dot4_sums__neon(acc[i][0]),
                                thaw_qs8_dot4_sums__neon(acc[i][1])};
    thaw_qs8_store_conv_channel__neon(vsums, pixels, args, first_channel + i,
                                      c + i * c_row_stride);
  }
}

void thaw_qs8_conv_ukernel_8x16c4__neon(size_t mr, size_t nr, size_t k4, const int8_t *w,
                                        const int8_t *panel, float *c, size_t c_row_stride,
                                        const thaw_qs8_conv_tile_args *args) {
  /* The weight panel holds zeros past the last real channel, so a block may compute channels
   * past mr; it stores none of them. */
  for (size_t channel = 0; channel < mr; channel += BLOCK_CHANNELS) {
    const size_t channels = mr - channel < BLOCK_CHANNELS ? mr - channel : BLOCK_CHANNELS;
    for (size_t pixel = 0; pixel < nr; pixel += BLOCK_PIXELS) {
      const size_t pixels = nr - pixel < BLOCK_PIXELS ? nr - pixel : BLOCK_PIXELS;
      conv_4x8(channels, pixels, k4, w + channel * THAW_QS8_GEMM_KR,
               panel + pixel * THAW_QS8_GEMM_KR, c + channel * c_row_stride + pixel,
               c_row_stride, args, channel);
    }
  }
}
