/*
 * The qs8 convolution driver shared by every ISA (groups == 1): the output pixels of an image in
 * blocks of THAW_QS8_GEMM_BLOCK_ROWS; per block, the pixels' input patches are gathered as f32
 * rows (im2row), quantized one row per pixel, multiplied by the packed weights into a
 * [pixels x out_channels] block, and written back transposed into the NCHW output. Blocks are
 * independent, so a thread pool can split them without changing a result.
 */
#include "kernels/qgemm/qs8-gemm-ukernel.h"

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static size_t align64(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* Where each part of the scratch lies. */
typedef struct conv_scratch {
  float *patches;                      /* block x k f32 */
  int8_t *quantized;                   /* block x k4 */
  thaw_qs8_row_quantization *rows;     /* block */
  float *products;                     /* block x out_channels */
} conv_scratch;

static size_t patch_length(const thaw_conv2d_params *p) {
  return p->in_channels * p->kernel_height * p->kernel_width;
}

/* Byte offsets of the parts and the total, for a patch length of at most THAW_QS8_GEMM_MAX_K
 * (which keeps the offsets small); false when the products block does not fit in size_t. */
static bool scratch_offsets(const thaw_conv2d_params *p, size_t offsets[4], size_t *total) {
  const size_t k = patch_length(p);
  offsets[0] = 0;
  offsets[1] = align64(THAW_QS8_GEMM_BLOCK_ROWS * k * sizeof(float));
  offsets[2] = offsets[1] + align64(THAW_QS8_GEMM_BLOCK_ROWS * thaw_qs8_round_k(k));
  offsets[3] = offsets[2] + align64(THAW_QS8_GEMM_BLOCK_ROWS * sizeof(thaw_qs8_row_quantization));
  size_t products;
  return !__builtin_mul_overflow(p->out_channels, THAW_QS8_GEMM_BLOCK_ROWS * sizeof(float),
                                 &products) &&
         !__builtin_add_overflow(offsets[3], products, total);
}

size_t thaw_qs8_conv2d_scratch_size(const thaw_conv2d_params *p) {
  size_t offsets[4], total;
  const bool patch_fits = p->kernel_height != 0 && p->kernel_width != 0 &&
                          p->in_channels <= THAW_QS8_GEMM_MAX_K / p->kernel_height / p->kernel_width;
  return patch_fits && scratch_offsets(p, offsets, &total) ? total : SIZE_MAX;
}

/* The patch of each of `rows` output pixels from first_pixel on, in the weights' order
 * (channel, kernel row, kernel column), with zeros where the window reaches into the padding. */
static void gather_patches(const thaw_conv2d_params *p, const float *x, size_t first_pixel,
                           size_t rows, float *patches) {
  const ptrdiff_t height = (ptrdiff_t)p->in_height, width = (ptrdiff_t)p->in_width;
  for (size_t r = 0; r < rows; r++) {
    const size_t pixel = first_pixel + r;
    const ptrdiff_t top = (ptrdiff_t)(pixel / p->out_width * p->stride_h) - (ptrdiff_t)p->pad_top;
    const ptrdiff_t left =
        (ptrdiff_t)(pixel % p->out_width * p->stride_w) - (ptrdiff_t)p->pad_left;
    float *patch = patches + r * patch_length(p);
    const ptrdiff_t bottom = top + (ptrdiff_t)((p->kernel_height - 1) * p->dilation_h);
    const ptrdiff_t right = left + (ptrdiff_t)((p->kernel_width - 1) * p->dilation_w);
    if (top >= 0 && left >= 0 && bottom < height && right < width) {
      /* The whole window inside the image (most pixels): no bounds to check. */
      for (size_t c = 0; c < p->in_channels; c++) {
        const float *window = x + ((ptrdiff_t)c * height + top) * width + left;
        for (size_t kh = 0; kh < p->kernel_height; kh++) {
          const float *window_row = window + (ptrdiff_t)(kh * p->dilation_h) * width;
          for (size_t kw = 0; kw < p->kernel_width; kw++) *patch++ = window_row[kw * p->dilation_w];
        }
      }
      continue;
    }
    for (size_t c = 0; c < p->in_channels; c++) {
      const float *plane = x + (ptrdiff_t)c * height * width;
      for (size_t kh = 0; kh < p->kernel_height; kh++) {
        const ptrdiff_t ih = top + (ptrdiff_t)(kh * p->dilation_h);
        const bool row_inside = ih >= 0 && ih < height;
        for (size_t kw = 0; kw < p->kernel_width; kw++) {
          const ptrdiff_t iw = left + (ptrdiff_t)(kw * p->dilation_w);
          *patch++ = row_inside && iw >= 0 && iw < width ? plane[ih * width + iw] : 0.0f;
        }
      }
    }
  }
}

void thaw_qs8_conv2d_drive(const thaw_qs8_gemm_isa *isa, const thaw_conv2d_params *p,
                           const thaw_qs8_input *input, const float *x, const void *packed_w,
                           const float *bias, float *y, void *scratch) {
  size_t offsets[4], total;
  scratch_offsets(p, offsets, &total); /* checked when the scratch was sized */
  uint8_t *base = scratch;
  const conv_scratch parts = {
      .patches = (float *)(base + offsets[0]),
      .quantized = (int8_t *)(base + offsets[1]),
      .rows = (thaw_qs8_row_quantization *)(base + offsets[2]),
      .products = (float *)(base + offsets[3]),
  };
  const size_t k = patch_length(p), channels = p->out_channels;
  const size_t pixels = p->out_height * p->out_width;
  thaw_qs8_packed_b weights;
  thaw_qs8_packed_b_parts(k, channels, packed_w, &weights);
  for (size_t image = 0; image < p->batch; image++) {
    const float *x_image = x + image * p->in_channels * p->in_height * p->in_width;
    float *y_image = y + image * channels * pixels;
    for (size_t first = 0; first < pixels; first += THAW_QS8_GEMM_BLOCK_ROWS) {
      const size_t rows = min_size(THAW_QS8_GEMM_BLOCK_ROWS, pixels - first);
      gather_patches(p, x_image, first, rows, parts.patches);
      isa->quantize_rows(rows, k, parts.patches, (ptrdiff_t)k, input, parts.quantized,
                         thaw_qs8_round_k(k), parts.rows);
      thaw_qs8_gemm_multiply_block(isa, rows, channels, k, parts.quantized, parts.rows,
                                   &weights, bias, &p->activation, parts.products,
                                   (ptrdiff_t)channels);
      for (size_t channel = 0; channel < channels; channel++) {
        float *y_row = y_image + channel * pixels + first;
        for (size_t r = 0; r < rows; r++) y_row[r] = parts.products[r * channels + channel];
      }
    }
  }
}
