/*
 * Per-channel scale and shift, one source for every vector ISA, written with the f32 vector
 * interface: an ISA's f32-channel-affine-<isa>.c includes its interface
 * (kernels/math/f32-vector-<isa>.h), then this header, and binds thaw_f32_channel_affine_drive.
 */
#ifndef THAW_KERNELS_NORMALIZATION_F32_CHANNEL_AFFINE_DRIVER_H
#define THAW_KERNELS_NORMALIZATION_F32_CHANNEL_AFFINE_DRIVER_H

#include <stddef.h>

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* y = x * scale + shift for `count` (<= lanes) elements; inlined so that whole blocks use plain
 * loads and stores. */
static inline __attribute__((always_inline)) void
thaw_channel_affine_block(size_t count, const float *x, thaw_f32v scale, thaw_f32v shift,
                          float *y) {
  thaw_f32v_store_partial(y, count,
                          thaw_f32v_fmadd(thaw_f32v_load_partial(x, count), scale, shift));
}

/* With inner == 1 (a [N, C] tensor) each row runs over the channels with a scale and shift per
 * element; otherwise each channel's inner run uses that channel's scale and shift. */
static inline void thaw_f32_channel_affine_drive(size_t outer, size_t channels, size_t inner,
                                                 const float *x, const float *scale,
                                                 const float *shift, float *y) {
  const size_t lanes = THAW_F32V_LANES;
  for (size_t o = 0; o < outer; o++) {
    if (inner == 1) {
      size_t c = 0;
      for (; c + lanes <= channels; c += lanes)
        thaw_channel_affine_block(lanes, x + c, thaw_f32v_load(scale + c),
                                  thaw_f32v_load(shift + c), y + c);
      if (c < channels)
        thaw_channel_affine_block(channels - c, x + c,
                                  thaw_f32v_load_partial(scale + c, channels - c),
                                  thaw_f32v_load_partial(shift + c, channels - c), y + c);
      x += channels;
      y += channels;
      continue;
    }
    for (size_t c = 0; c < channels; c++, x += inner, y += inner) {
      const thaw_f32v channel_scale = thaw_f32v_dup(scale[c]);
      const thaw_f32v channel_shift = thaw_f32v_dup(shift[c]);
      size_t i = 0;
      for (; i + lanes <= inner; i += lanes)
        thaw_channel_affine_block(lanes, x + i, channel_scale, channel_shift, y + i);
      if (i < inner)
        thaw_channel_affine_block(inner - i, x + i, channel_scale, channel_shift, y + i);
    }
  }
}

#endif /* THAW_KERNELS_NORMALIZATION_F32_CHANNEL_AFFINE_DRIVER_H */
