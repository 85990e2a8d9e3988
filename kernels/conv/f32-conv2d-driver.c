#include <stdint.h>

#include "kernels/conv/conv-driver.h"
#include "kernels/scalar.h"

/* An im2col chunk stays within this many bytes (unless a single 16-pixel chunk is larger): big
 * enough that each GEMM call is wide, small enough to be still in cache when the GEMM packs it,
 * and a bound on the session scratch whatever the layer's size. */
enum { IM2COL_CHUNK_BYTES = 1 << 20, SCRATCH_ALIGNMENT = 64 };

typedef enum conv_path { PATH_DEPTHWISE, PATH_POINTWISE, PATH_IM2COL } conv_path;

static conv_path choose_path(const thaw_conv2d_params *p) {
  if (p->groups == p->in_channels && p->out_channels == p->in_channels) return PATH_DEPTHWISE;
  if (p->kernel_height == 1 && p->kernel_width == 1 && p->stride_h == 1 && p->stride_w == 1 &&
      p->pad_top == 0 && p->pad_left == 0 && p->out_height == p->in_height &&
      p->out_width == p->in_width)
    return PATH_POINTWISE;
  return PATH_IM2COL;
}

static size_t im2col_rows(const thaw_conv2d_params *p) {
  return p->in_channels / p->groups * p->kernel_height * p->kernel_width;
}

/* Output pixels per im2col chunk: a multiple of the GEMM's panel width unless the whole plane is
 * smaller. */
static size_t im2col_chunk_pixels(const thaw_conv2d_params *p) {
  const size_t out_plane = p->out_height * p->out_width;
  size_t pixels = IM2COL_CHUNK_BYTES / sizeof(float) / im2col_rows(p);
  pixels -= pixels % THAW_GEMM_NR;
  if (pixels < THAW_GEMM_NR) pixels = THAW_GEMM_NR;
  return pixels < out_plane ? pixels : out_plane;
}

/* The GEMM of one group's weights (m = group outputs, one row of k weights each) by k rows of
 * `columns` pixels; C rows are output planes of out_plane floats. */
static thaw_gemm_params group_gemm(const thaw_conv2d_params *p, size_t k, size_t columns,
                                   bool has_bias) {
  const size_t out_plane = p->out_height * p->out_width;
  return (thaw_gemm_params){
      .m = p->out_channels / p->groups,
      .n = columns,
      .k = k,
      .a_row_stride = (ptrdiff_t)k,
      .a_k_stride = 1,
      .b_packed = false,
      .b_row_stride = (ptrdiff_t)columns,
      .b_column_stride = 1,
      .c_row_stride = (ptrdiff_t)out_plane,
      .bias = has_bias ? THAW_GEMM_BIAS_PER_ROW : THAW_GEMM_BIAS_NONE,
      .activation = p->activation,
  };
}

static size_t align_scratch(size_t bytes) {
  return (bytes + SCRATCH_ALIGNMENT - 1) / SCRATCH_ALIGNMENT * SCRATCH_ALIGNMENT;
}

size_t thaw_f32_conv2d_drive_scratch_size(const thaw_conv2d_params *p) {
  switch (choose_path(p)) {
  case PATH_DEPTHWISE: return thaw_f32_dwconv2d_scratch_size(p);
  case PATH_POINTWISE: {
    const thaw_gemm_params gemm =
        group_gemm(p, p->in_channels / p->groups, p->in_height * p->in_width, true);
    return thaw_f32_gemm_scratch_size(&gemm);
  }
  case PATH_IM2COL: break;
  }
  const size_t chunk = im2col_chunk_pixels(p);
  const thaw_gemm_params gemm = group_gemm(p, im2col_rows(p), chunk, true);
  size_t im2col_bytes, total;
  if (__builtin_mul_overflow(im2col_rows(p), chunk, &im2col_bytes) ||
      __builtin_mul_overflow(im2col_bytes, sizeof(float), &im2col_bytes) ||
      im2col_bytes > SIZE_MAX - SCRATCH_ALIGNMENT ||
      __builtin_add_overflow(align_scratch(im2col_bytes), thaw_f32_gemm_scratch_size(&gemm),
                             &total))
    return SIZE_MAX;
  return total;
}

static thaw_f32_dwconv2d_ukernel choose_dwconv(const thaw_conv2d_isa *isa,
                                               const thaw_conv2d_params *p) {
  const bool square = p->kernel_height == p->kernel_width && p->stride_h == p->stride_w &&
                      p->dilation_h == 1 && p->dilation_w == 1;
  if (square && p->kernel_height == 3 && p->stride_h == 1) return isa->dwconv_3x3s1;
  if (square && p->kernel_height == 3 && p->stride_h == 2) return isa->dwconv_3x3s2;
  if (square && p->kernel_height == 5 && p->stride_h == 1) return isa->dwconv_5x5s1;
  if (square && p->kernel_height == 5 && p->stride_h == 2) return isa->dwconv_5x5s2;
  return isa->dwconv_generic;
}

void thaw_f32_conv2d_drive(const thaw_conv2d_isa *isa, const thaw_conv2d_params *p, const float *x,
                           const float *w, const float *bias, float *y, void *scratch) {
  const conv_path path = choose_path(p);
  if (path == PATH_DEPTHWISE) {
    thaw_f32_dwconv2d(p, x, w, bias, y, scratch, choose_dwconv(isa, p), isa->unary);
    return;
  }
  const size_t group_in = p->in_channels / p->groups, group_out = p->out_channels / p->groups;
  const size_t in_plane = p->in_height * p->in_width;
  const size_t out_plane = p->out_height * p->out_width;
  const size_t k = im2col_rows(p);
  for (size_t n = 0; n < p->batch; n++) {
    for (size_t g = 0; g < p->groups; g++) {
      const float *x_group = x + (n * p->in_channels + g * group_in) * in_plane;
      const float *w_group = w + g * group_out * k;
      const float *bias_group = bias != NULL ? bias + g * group_out : NULL;
      float *y_group = y + (n * p->out_channels + g * group_out) * out_plane;
      if (path == PATH_POINTWISE) {
        const thaw_gemm_params gemm = group_gemm(p, k, in_plane, bias != NULL);
        isa->gemm(&gemm, w_group, x_group, bias_group, y_group, scratch);
        continue;
      }
      const size_t chunk = im2col_chunk_pixels(p);
      float *columns = scratch;
      void *gemm_scratch = (char *)scratch + align_scratch(k * chunk * sizeof(float));
      for (size_t first = 0; first < out_plane; first += chunk) {
        const size_t pixels = out_plane - first < chunk ? out_plane - first : chunk;
        thaw_f32_im2col(p, x_group, first, pixels, columns);
        const thaw_gemm_params gemm = group_gemm(p, k, pixels, bias != NULL);
        isa->gemm(&gemm, w_group, columns, bias_group, y_group + first, gemm_scratch);
      }
    }
  }
}
