/* Conv and ConvTranspose of every variant against naive double-precision loops. */
#include "test_kernels_oracle.h"

#include "kernels/conv/conv-driver.h"

/* The error of F(4x4, 3x3) in fp32, relative to an output's sum of |products|: a few units of
 * rounding amplified by the transforms' largest coefficients (measured here: at most 3e-6). */
#define WINOGRAD_ERROR 1e-5

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct conv_case {
  size_t batch, in_channels, in_height, in_width, out_channels;
  size_t kernel_height, kernel_width, groups;
  size_t stride_h, stride_w, dilation_h, dilation_w;
  size_t pad_top, pad_left, pad_bottom, pad_right;
  size_t output_padding_h, output_padding_w; /* transpose only */
  bool has_bias;
  thaw_unary_params activation;
} conv_case;

static thaw_conv2d_params conv_params(const conv_case *c, bool transpose) {
  const size_t extent_h = (c->kernel_height - 1) * c->dilation_h + 1;
  const size_t extent_w = (c->kernel_width - 1) * c->dilation_w + 1;
  thaw_conv2d_params p = {
      .batch = c->batch, .in_channels = c->in_channels, .in_height = c->in_height,
      .in_width = c->in_width, .out_channels = c->out_channels,
      .kernel_height = c->kernel_height, .kernel_width = c->kernel_width, .groups = c->groups,
      .stride_h = c->stride_h, .stride_w = c->stride_w, .dilation_h = c->dilation_h,
      .dilation_w = c->dilation_w, .pad_top = c->pad_top, .pad_left = c->pad_left,
      .activation = c->activation};
  if (transpose) {
    p.out_height = (c->in_height - 1) * c->stride_h + extent_h + c->output_padding_h -
                   c->pad_top - c->pad_bottom;
    p.out_width = (c->in_width - 1) * c->stride_w + extent_w + c->output_padding_w -
                  c->pad_left - c->pad_right;
  } else {
    p.out_height = (c->in_height + c->pad_top + c->pad_bottom - extent_h) / c->stride_h + 1;
    p.out_width = (c->in_width + c->pad_left + c->pad_right - extent_w) / c->stride_w + 1;
  }
  return p;
}

/* Gather form, straight from the ONNX Conv definition. */
static void oracle_conv2d(const thaw_conv2d_params *p, const float *x, const float *w,
                          const float *bias, double *y) {
  const size_t cg = p->in_channels / p->groups, mg = p->out_channels / p->groups;
  for (size_t n = 0; n < p->batch; n++)
    for (size_t m = 0; m < p->out_channels; m++)
      for (size_t oh = 0; oh < p->out_height; oh++)
        for (size_t ow = 0; ow < p->out_width; ow++) {
          double sum = bias ? bias[m] : 0.0;
          const size_t g = m / mg;
          for (size_t c = 0; c < cg; c++)
            for (size_t kh = 0; kh < p->kernel_height; kh++)
              for (size_t kw = 0; kw < p->kernel_width; kw++) {
                const long ih = (long)(oh * p->stride_h + kh * p->dilation_h) - (long)p->pad_top;
                const long iw = (long)(ow * p->stride_w + kw * p->dilation_w) - (long)p->pad_left;
                if (ih < 0 || iw < 0 || ih >= (long)p->in_height || iw >= (long)p->in_width)
                  continue;
                const size_t xi =
                    ((n * p->in_channels + g * cg + c) * p->in_height + (size_t)ih) *
                        p->in_width + (size_t)iw;
                const size_t wi =
                    ((m * cg + c) * p->kernel_height + kh) * p->kernel_width + kw;
                sum += (double)x[xi] * w[wi];
              }
          y[((n * p->out_channels + m) * p->out_height + oh) * p->out_width + ow] =
              oracle_unary(&p->activation, sum);
        }
}

/* Scatter form, straight from the ONNX ConvTranspose definition: every input pixel adds its
 * weighted kernel into the output. */
static void oracle_conv_transpose2d(const thaw_conv2d_params *p, const float *x, const float *w,
                                    const float *bias, double *y) {
  const size_t cg = p->in_channels / p->groups, mg = p->out_channels / p->groups;
  const size_t out_plane = p->out_height * p->out_width;
  for (size_t n = 0; n < p->batch; n++)
    for (size_t m = 0; m < p->out_channels; m++)
      for (size_t i = 0; i < out_plane; i++)
        y[(n * p->out_channels + m) * out_plane + i] = bias ? bias[m] : 0.0;
  for (size_t n = 0; n < p->batch; n++)
    for (size_t c = 0; c < p->in_channels; c++)
      for (size_t ih = 0; ih < p->in_height; ih++)
        for (size_t iw = 0; iw < p->in_width; iw++) {
          const double xv = x[((n * p->in_channels + c) * p->in_height + ih) * p->in_width + iw];
          const size_t g = c / cg;
          for (size_t m = 0; m < mg; m++)
            for (size_t kh = 0; kh < p->kernel_height; kh++)
              for (size_t kw = 0; kw < p->kernel_width; kw++) {
                const long oh = (long)(ih * p->stride_h + kh * p->dilation_h) - (long)p->pad_top;
                const long ow = (long)(iw * p->stride_w + kw * p->dilation_w) - (long)p->pad_left;
                if (oh < 0 || ow < 0 || oh >= (long)p->out_height || ow >= (long)p->out_width)
                  continue;
                const double wv = w[((c * mg + m) * p->kernel_height + kh) * p->kernel_width + kw];
                y[((n * p->out_channels + g * mg + m) * p->out_height + (size_t)oh) *
                      p->out_width + (size_t)ow] += xv * wv;
              }
        }
  const size_t total = p->batch * p->out_channels * out_plane;
  for (size_t i = 0; i < total; i++) y[i] = oracle_unary(&p->activation, y[i]);
}

static const thaw_unary_params identity = {THAW_KERNEL_IDENTITY, 0, 0};
static const thaw_unary_params relu = {THAW_KERNEL_RELU, 0, 0};
static const thaw_unary_params relu6 = {THAW_KERNEL_CLIP, 0, 6};
static const thaw_unary_params hard_swish = {THAW_KERNEL_HARD_SWISH, 0, 0};
static const thaw_unary_params gelu = {THAW_KERNEL_GELU, 0, 0};
static const thaw_unary_params silu = {THAW_KERNEL_SILU, 0, 0};

/* The sum of |x * w| over the taps of every output, plus |bias|: the scale of the rounding error
 * of any summation order, and of the Winograd transforms. */
static void oracle_conv2d_magnitude(const thaw_conv2d_params *p, const float *x, const float *w,
                                    const float *bias, double *magnitude) {
  const size_t x_count = p->batch * p->in_channels * p->in_height * p->in_width;
  const size_t w_count =
      p->out_channels * p->in_channels / p->groups * p->kernel_height * p->kernel_width;
  float *x_abs = oracle_floats(x_count), *w_abs = oracle_floats(w_count);
  float *bias_abs = bias != NULL ? oracle_floats(p->out_channels) : NULL;
  for (size_t i = 0; i < x_count; i++) x_abs[i] = fabsf(x[i]);
  for (size_t i = 0; i < w_count; i++) w_abs[i] = fabsf(w[i]);
  for (size_t i = 0; bias != NULL && i < p->out_channels; i++) bias_abs[i] = fabsf(bias[i]);
  thaw_conv2d_params linear = *p;
  linear.activation = identity;
  oracle_conv2d(&linear, x_abs, w_abs, bias_abs, magnitude);
  free(x_abs);
  free(w_abs);
  free(bias_abs);
}

/* Each output within its tolerance for Winograd F(4x4, 3x3), whose transforms lose a few
 * bits: a small multiple of its sum of |products|. */
static void assert_within_winograd_error(const char *what, const float *y, const double *expected,
                                         const double *magnitude, size_t count) {
  for (size_t i = 0; i < count; i++) {
    /* Every activation tested has a slope of at most 1.5. */
    const double tolerance = 1.5 * WINOGRAD_ERROR * magnitude[i] + 1e-6;
    if (!(fabs((double)y[i] - expected[i]) <= tolerance))
      fail_msg("%s: y[%zu] = %.9g, expected %.9g (tolerance %.3g)", what, i, (double)y[i],
               expected[i], tolerance);
  }
}

/* The scratch a variant asks for, exactly that size, aligned as a session aligns it; NULL when
 * it needs none. */
static void *conv_scratch(const thaw_kernels *kernels, const thaw_conv2d_params *p) {
  const size_t bytes = kernels->f32_conv2d_scratch_size(p);
  if (bytes == 0) return NULL;
  assert_true(bytes < ((size_t)1 << 30));
  void *scratch = aligned_alloc(64, (bytes + 63) / 64 * 64);
  assert_non_null(scratch);
  return scratch;
}

/* How outputs are compared with the oracle: within a relative and an absolute tolerance, or
 * within the Winograd path's error bound. */
typedef enum conv_check { CHECK_CLOSE, CHECK_WINOGRAD } conv_check;

static void run_case_checked(const conv_case *c, bool transpose, conv_check check,
                             thaw_test_rng *rng) {
  const thaw_conv2d_params p = conv_params(c, transpose);
  const size_t x_count = c->batch * c->in_channels * c->in_height * c->in_width;
  const size_t filter_channels =
      (transpose ? c->out_channels : c->in_channels) / c->groups;
  const size_t w_count = (transpose ? c->in_channels : c->out_channels) * filter_channels *
                         c->kernel_height * c->kernel_width;
  const size_t y_count = c->batch * c->out_channels * p.out_height * p.out_width;
  const size_t reduction = filter_channels * c->kernel_height * c->kernel_width;
  float *x = oracle_random(rng, x_count, -1, 1);
  float *w = oracle_random(rng, w_count, -1, 1);
  float *bias = c->has_bias ? oracle_random(rng, c->out_channels, -1, 1) : NULL;
  double *expected = oracle_doubles(y_count);
  if (transpose) oracle_conv_transpose2d(&p, x, w, bias, expected);
  else oracle_conv2d(&p, x, w, bias, expected);
  double *magnitude = NULL;
  if (check == CHECK_WINOGRAD) {
    magnitude = oracle_doubles(y_count);
    oracle_conv2d_magnitude(&p, x, w, bias, magnitude);
  }
  for (size_t v = 0; v < variant_count; v++) {
    float *y = oracle_floats(y_count);
    void *scratch = transpose ? NULL : conv_scratch(variants[v], &p);
    if (transpose) variants[v]->f32_conv_transpose2d(&p, x, w, bias, y, &thaw_parallel_serial);
    else variants[v]->f32_conv2d(&p, x, w, bias, y, scratch, &thaw_parallel_serial);
    free(scratch);
    char what[160];
    snprintf(what, sizeof(what), "%s %s C%zu %zux%zu M%zu k%zux%zu g%zu s%zu,%zu d%zu,%zu",
             variants[v]->isa, transpose ? "conv_transpose2d" : "conv2d", c->in_channels,
             c->in_height, c->in_width, c->out_channels, c->kernel_height, c->kernel_width,
             c->groups, c->stride_h, c->stride_w, c->dilation_h, c->dilation_w);
    if (check == CHECK_WINOGRAD)
      assert_within_winograd_error(what, y, expected, magnitude, y_count);
    else
      thaw_test_assert_close(what, y, expected, y_count, 1e-5, 1e-6 * (double)reduction);
    free(y);
  }
  free(x);
  free(w);
  free(bias);
  free(expected);
  free(magnitude);
}

static void run_case(const conv_case *c, bool transpose, thaw_test_rng *rng) {
  run_case_checked(c, transpose, CHECK_CLOSE, rng);
}

static void test_conv2d(void **state) {
  (void)state;
  static const conv_case cases[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      {1, 3, 11, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, relu},
      {2, 4, 9, 7, 6, 3, 5, 2, 2, 1, 1, 2, 0, 2, 1, 1, 0, 0, true, identity},
      /* depthwise, and depthwise with a channel multiplier of 2 */
      {1, 6, 10, 9, 6, 3, 3, 6, 2, 2, 1, 1, 1, 1, 0, 1, 0, 0, true, relu6},
      {1, 3, 8, 8, 6, 5, 5, 3, 1, 1, 2, 2, 4, 4, 4, 4, 0, 0, true, hard_swish},
      /* pointwise */
      {1, 7, 5, 3, 11, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, true, gelu},
      /* asymmetric pads, stride 3 with a window larger than the stride */
      {1, 2, 12, 11, 3, 4, 2, 1, 3, 2, 1, 1, 2, 0, 1, 3, 0, 0, false, silu},
      /* a stem-like layer: 3 -> 17 channels, 7x7, stride 2, pad 3 */
      {1, 3, 19, 17, 17, 7, 7, 1, 2, 2, 1, 1, 3, 3, 3, 3, 0, 0, true, relu},
  };
  thaw_test_rng rng = {3};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i], false, &rng);
}

static const thaw_unary_params every_activation[] = {
    {THAW_KERNEL_IDENTITY, 0, 0},
    {THAW_KERNEL_RELU, 0, 0},
    {THAW_KERNEL_CLIP, -0.5f, 0.75f},
    {THAW_KERNEL_SIGMOID, 0, 0},
    {THAW_KERNEL_HARD_SIGMOID, 0.2f, 0.5f},
    {THAW_KERNEL_HARD_SWISH, 0, 0},
    {THAW_KERNEL_TANH, 0, 0},
    {THAW_KERNEL_GELU, 0, 0},
    {THAW_KERNEL_SILU, 0, 0},
    {THAW_KERNEL_LEAKY_RELU, 0.1f, 0},
};
#define ACTIVATION_COUNT (sizeof(every_activation) / sizeof(every_activation[0]))

/* Every dedicated depthwise shape (3x3 and 5x5 at strides 1, 2 and 2 down by 1 across, 3x3 at
 * 1 down by 2 across; 5x5 there takes the general kernel) at widths around the 8-output step
 * and heights that leave every remainder of the 4-row blocks, with unequal padding on every
 * side, cycling through the activations. */
static void test_conv2d_depthwise_widths(void **state) {
  (void)state;
  static const size_t widths[] = {1, 3, 7, 9, 15, 17, 33};
  static const size_t heights[] = {1, 4, 7, 10, 13, 16};
  static const size_t strides[][2] = {{1, 1}, {2, 2}, {2, 1}, {1, 2}};
  thaw_test_rng rng = {5};
  size_t activation = 0;
  for (size_t kernel = 3; kernel <= 5; kernel += 2) {
    for (size_t s = 0; s < sizeof(strides) / sizeof(strides[0]); s++) {
      for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
        for (size_t h = 0; h < sizeof(heights) / sizeof(heights[0]); h++) {
          conv_case c = {1, 3, heights[h], widths[i], 3, kernel, kernel, 3, strides[s][0],
                         strides[s][1], 1, 1,
                         kernel / 2 - 1, kernel / 2 + 1, kernel / 2 + 1, kernel / 2 - 1,
                         0, 0, i % 2 == 0, every_activation[activation++ % ACTIVATION_COUNT]};
          run_case(&c, false, &rng);
        }
      }
    }
  }
}

/* The depthwise kernels read each plane in place, or, at stride 1 on rows of up to two
 * vectors, from a flat copy of a chunk of its rows: windows that cross the plane's top,
 * bottom, left or right edge in every combination. Planes of 1x1, 2x3, 7x7 and 9x17 and rows
 * around one and two vectors (8 and 16 floats on AVX2, 4 and 8 on NEON), rows of 2 and 5 (a
 * vector's lanes span several rows), a 5-wide plane taller than the flat copy holds, pads 0,
 * 1 and 2 on each side (centred and not), strides 1, 2, (2, 1) and (1, 2) with odd sizes
 * (planes of 1 to 14 output rows: every count of rows left over after the 4-row blocks), two
 * images of three channels; a fused clamp and an activation run after the kernel. */
static void test_conv2d_depthwise_edges(void **state) {
  (void)state;
  static const size_t planes[][2] = {{1, 1}, {2, 3},  {7, 7},  {9, 17}, {5, 4},  {6, 7},
                                     {3, 8}, {4, 9},  {8, 15}, {5, 16}, {7, 17}, {11, 24},
                                     {14, 14}, {13, 33}, {6, 2}, {9, 5}, {450, 5}};
  static const size_t pads[][4] = {
      /* top, left, bottom, right */
      {0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 1, 0}, {2, 0, 1, 2}, {1, 2, 0, 1},
  };
  static const size_t strides[][2] = {{1, 1}, {2, 2}, {2, 1}, {1, 2}};
  static const thaw_unary_params activations[] = {{THAW_KERNEL_CLIP, 0, 6},
                                                  {THAW_KERNEL_HARD_SWISH, 0, 0}};
  thaw_test_rng rng = {13};
  size_t variant = 0;
  for (size_t kernel = 3; kernel <= 5; kernel += 2) {
    for (size_t s = 0; s < sizeof(strides) / sizeof(strides[0]); s++) {
      for (size_t i = 0; i < sizeof(planes) / sizeof(planes[0]); i++) {
        for (size_t j = 0; j < sizeof(pads) / sizeof(pads[0]); j++, variant++) {
          const size_t height = planes[i][0], width = planes[i][1];
          /* Windows must fit in the padded plane. */
          if (height + pads[j][0] + pads[j][2] < kernel ||
              width + pads[j][1] + pads[j][3] < kernel)
            continue;
          conv_case c = {2, 3, height, width, 3, kernel, kernel, 3, strides[s][0],
                         strides[s][1], 1, 1, pads[j][0], pads[j][1], pads[j][2], pads[j][3], 0,
                         0, variant % 2 == 0, activations[variant % 2]};
          run_case(&c, false, &rng);
        }
      }
    }
  }
  /* The general kernel with a window wider than the edge vectors it numbers (3x19), at
   * strides 1 and 2. */
  static const conv_case wide[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      {1, 2, 6, 23, 2, 3, 19, 2, 1, 1, 1, 1, 1, 9, 1, 9, 0, 0, true, {THAW_KERNEL_RELU, 0, 0}},
      {1, 2, 7, 30, 2, 3, 19, 2, 2, 2, 1, 1, 1, 8, 1, 9, 0, 0, false, {THAW_KERNEL_CLIP, 0, 6}},
  };
  for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) run_case(&wide[i], false, &rng);
}

/* Each convolution case with 1 / share of the activations, a different share for the next
 * case. A case checked as Winograd must take that path. */
static void run_cases_over_activations(const conv_case *cases, size_t count, size_t share,
                                       conv_check check, thaw_test_rng *rng) {
  for (size_t i = 0; i < count; i++) {
    for (size_t a = i % share; a < ACTIVATION_COUNT; a += share) {
      conv_case c = cases[i];
      c.activation = every_activation[a];
      const thaw_conv2d_params p = conv_params(&c, false);
      if (check == CHECK_WINOGRAD && !thaw_f32_winograd_pays(&p))
        fail_msg("case %zu does not take the Winograd path", i);
      run_case_checked(&c, false, check, rng);
    }
  }
}

/* Shapes that take the other paths of a vector variant: 1x1 as a GEMM on the image in place,
 * im2col + GEMM (grouped, channel multipliers, dilation, strided 1x1) and the general
 * depthwise kernel, with the activations spread over them. */
static void test_conv2d_paths(void **state) {
  (void)state;
  static const conv_case cases[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      /* 1x1 as a GEMM: odd channel counts and planes, grouped, batched */
      {1, 13, 7, 9, 19, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      {2, 12, 5, 11, 9, 1, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, false, {0, 0, 0}},
      {1, 3, 1, 1, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      /* 1x1 with padding goes through im2col; with a stride alone, sampled (odd planes, a
       * stride that skips the last row, grouped and batched at strides 3 and 2) */
      {1, 5, 9, 8, 7, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 1, 0, 0, true, {0, 0, 0}},
      {1, 6, 9, 8, 7, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      {2, 6, 11, 7, 9, 1, 1, 3, 3, 2, 1, 1, 0, 0, 0, 0, 0, 0, false, {0, 0, 0}},
      /* channel multiplier 2: groups == in_channels, but not the depthwise kernel */
      {1, 4, 9, 10, 8, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 3, 11, 13, 6, 5, 5, 3, 2, 2, 1, 1, 2, 1, 2, 3, 0, 0, true, {0, 0, 0}},
      /* grouped K x K */
      {2, 6, 8, 9, 9, 3, 3, 3, 1, 2, 1, 1, 1, 0, 1, 2, 0, 0, true, {0, 0, 0}},
      /* dilation: im2col and the general depthwise kernel */
      {1, 5, 12, 13, 4, 3, 3, 1, 1, 1, 2, 3, 2, 3, 2, 3, 0, 0, true, {0, 0, 0}},
      {1, 4, 14, 19, 4, 3, 3, 4, 1, 1, 2, 2, 2, 2, 1, 3, 0, 0, true, {0, 0, 0}},
      {1, 3, 13, 21, 3, 3, 5, 3, 2, 3, 1, 2, 1, 4, 0, 2, 0, 0, false, {0, 0, 0}},
      {1, 2, 9, 17, 2, 7, 7, 2, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0, true, {0, 0, 0}},
      {1, 2, 8, 9, 2, 3, 3, 2, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* depthwise: padding wider than the window (outputs that see no input at all), and a
       * stride that never reaches the last input row and column */
      {1, 2, 4, 5, 2, 3, 3, 2, 2, 1, 1, 1, 4, 3, 5, 4, 0, 0, true, {0, 0, 0}},
      {1, 3, 8, 9, 3, 3, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      /* large enough that im2col runs in several chunks (K = 288 rows, 1600 pixels; at
       * stride 2, as Winograd takes this at stride 1) */
      {1, 32, 79, 79, 7, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* K = 3200 rows: 20 panels in chunks of 7, 7 and 6, and the GEMM blocks over k */
      {1, 128, 24, 13, 5, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, true, {0, 0, 0}},
      /* im2col panels that span many output rows: one output column (16 runs of one pixel
       * per panel), and rows of 3 */
      {1, 3, 21, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {2, 5, 13, 5, 6, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0, false, {0, 0, 0}},
      /* column phases: stride 3 with a window wider than it, dilation 3 at stride 2 (taps
       * alternate phases), stride 4 with padding wider than the window on the left */
      {1, 3, 10, 29, 5, 3, 5, 1, 1, 3, 1, 1, 1, 2, 1, 2, 0, 0, true, {0, 0, 0}},
      {1, 4, 15, 23, 3, 3, 3, 1, 2, 2, 2, 3, 2, 3, 2, 3, 0, 0, true, {0, 0, 0}},
      {1, 2, 9, 19, 3, 2, 2, 1, 1, 4, 1, 1, 0, 5, 0, 1, 0, 0, true, {0, 0, 0}},
      /* a small plane with many channels: one panel of 16 and one of 5 pixels, k = 1152 */
      {1, 128, 7, 3, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
  };
  thaw_test_rng rng = {8};
  run_cases_over_activations(cases, sizeof(cases) / sizeof(cases[0]), 3, CHECK_CLOSE, &rng);
}

/* 3x3 stride-1 layers that take the Winograd path F(4x4, 3x3): planes whose sides are not
 * multiples of the 4x4 tile, tile rows of 1 to 3 slot blocks, pads 0, 1 and 2 (and unequal),
 * channel counts off the 8 and 16 steps, more output channels than one GEMM block, bias on and
 * off, every activation, batches and a chunked plane; in every order of the run (chunks over
 * U whole, blocks of filters over U whole, blocks that transform their own filters). */
static void test_conv2d_winograd(void **state) {
  (void)state;
  static const conv_case cases[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      {1, 24, 27, 29, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 37, 9, 30, 21, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, false, {0, 0, 0}},
      {2, 30, 25, 23, 70, 3, 3, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, true, {0, 0, 0}},
      {1, 33, 20, 70, 17, 3, 3, 1, 1, 1, 1, 1, 2, 0, 1, 2, 0, 0, true, {0, 0, 0}},
      {1, 40, 26, 23, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      /* 5 tile rows of 24 slots: V and the products of 4 exceed one chunk */
      {1, 16, 18, 90, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* planes at most 4 tiles wide, two tile rows to a slot row: SqueezeNet's 13x13 and
       * ResNet's 14x14; 3 tiles across, the last with 1 column in the plane; 6 tile rows, the
       * last with one row in it; 9 tile rows (the last slot row half empty) 16 wide, the
       * widest stacked; 23 tile rows in several chunks, batch 2 */
      {1, 48, 13, 13, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 35, 14, 14, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      {1, 128, 30, 9, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 64, 21, 13, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      {1, 48, 34, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* one chunk per image, batch 2: V shared image by image, blocks of filters over U */
      {2, 40, 13, 13, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      {2, 160, 91, 12, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* U over 3 MiB, transformed a block of filters at a time over V of the whole image:
       * 151 filters (a last block of 1), on a plane 3 tiles wide; a plane of 3 slot rows in
       * chunks of 2 (and a last chunk half a panel wide), batch 2; and V over 3 MiB too: 4
       * slot rows (the last half in the plane) in bands of 2 */
      {1, 170, 16, 10, 151, 3, 3, 1, 1, 1, 1, 1, 0, 1, 2, 0, 0, 0, true, {0, 0, 0}},
      {2, 160, 12, 17, 140, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      {1, 1024, 14, 30, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
  };
  thaw_test_rng rng = {9};
  run_cases_over_activations(cases, sizeof(cases) / sizeof(cases[0]), 3, CHECK_WINOGRAD, &rng);
}

/* Layers with few taps over output rows at least 16 wide, which take the implicit-GEMM path:
 * 1 to 4 input channels, strides 1 to 3, pads 0 to 3 (unequal on every side), dilation, output
 * widths of one and two 16-pixel tiles and 1 to 3 pixels short of two or three (a row's last
 * tile then overlaps the one before it), output channel counts that leave every tile height (1
 * to 6 rows), groups, batches, no bias, and a tall plane cut into several bands; with every
 * activation spread over them. */
static void test_conv2d_implicit_gemm(void **state) {
  (void)state;
  static const conv_case cases[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      /* stems: MobileNetV2's 3x3/s2 pad 1, SqueezeNet's unpadded 3x3/s2, ResNet's 7x7/s2 */
      {1, 3, 35, 58, 32, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 3, 37, 63, 13, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      {1, 3, 29, 93, 11, 7, 7, 1, 2, 2, 1, 1, 3, 3, 3, 3, 0, 0, true, {0, 0, 0}},
      /* widths of one tile, a pixel short of two, two tiles short of three, two tiles */
      {1, 1, 9, 16, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 2, 8, 33, 7, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      {1, 4, 7, 46, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 0, 0, 0, false, {0, 0, 0}},
      {2, 3, 6, 64, 2, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      /* one output channel, and 12 (two tiles of 6) */
      {1, 2, 5, 30, 1, 2, 2, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, true, {0, 0, 0}},
      {1, 3, 9, 45, 12, 3, 5, 1, 1, 1, 1, 1, 1, 2, 1, 2, 0, 0, true, {0, 0, 0}},
      /* pads wider than the window on some sides: outputs that read only padding */
      {1, 3, 6, 27, 8, 3, 3, 1, 2, 1, 1, 1, 3, 3, 3, 2, 0, 0, true, {0, 0, 0}},
      /* stride 3 (three column phases), dilation 2 and 3 (taps that alternate phases) */
      {1, 2, 13, 91, 9, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 3, 11, 62, 5, 3, 3, 1, 1, 2, 2, 3, 2, 3, 1, 2, 0, 0, true, {0, 0, 0}},
      /* strided 1x1, grouped (2 groups of 2 -> 7), and depthwise with a channel multiplier */
      {1, 4, 9, 61, 10, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, {0, 0, 0}},
      {2, 4, 7, 31, 14, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}},
      {1, 3, 8, 32, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, {0, 0, 0}},
      /* a tall plane: several bands of output rows */
      {1, 4, 260, 16, 7, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, true, {0, 0, 0}},
  };
  thaw_test_rng rng = {10};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const thaw_conv2d_params p = conv_params(&cases[i], false);
    if (thaw_f32_winograd_pays(&p) || !thaw_f32_igemm_pays(&p))
      fail_msg("case %zu does not take the implicit-GEMM path", i);
  }
  run_cases_over_activations(cases, sizeof(cases) / sizeof(cases[0]), 4, CHECK_CLOSE, &rng);
}

/* A session holds the largest scratch of any node, so a large K x K layer must not ask for
 * its whole im2col matrix (here 2304 x 3136 floats, 28 MiB). */
static void test_conv2d_scratch_is_bounded(void **state) {
  (void)state;
  const conv_case c = {1, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, {0, 0, 0}};
  const thaw_conv2d_params p = conv_params(&c, false);
  for (size_t v = 0; v < variant_count; v++) {
    const size_t bytes = variants[v]->f32_conv2d_scratch_size(&p);
    if (bytes > ((size_t)4 << 20))
      fail_msg("%s asks for %zu bytes of scratch for a 256x56x56 3x3 layer", variants[v]->isa,
               bytes);
  }
}

/* A K x K layer whose output plane is empty (a 3x3 window over a 2-wide unpadded input) needs
 * no scratch and writes nothing. */
static void test_conv2d_empty_output(void **state) {
  (void)state;
  const thaw_conv2d_params p = {
      .batch = 1, .in_channels = 2, .in_height = 5, .in_width = 2, .out_channels = 3,
      .out_height = 3, .out_width = 0, .kernel_height = 3, .kernel_width = 3, .groups = 1,
      .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1};
  const float x[20] = {0}, w[54] = {0};
  float y[1] = {42.0f};
  for (size_t v = 0; v < variant_count; v++) {
    assert_int_equal(variants[v]->f32_conv2d_scratch_size(&p), 0);
    variants[v]->f32_conv2d(&p, x, w, NULL, y, NULL, &thaw_parallel_serial);
    assert_true(y[0] == 42.0f);
  }
}

/* Strides 1 to 3 (every output column phase), pads, dilations, groups, output padding and
 * channel multipliers; output channel counts around the vector kernel's block of 4, and rows
 * of a phase shorter than, equal to and longer than its 8-output step, with borders where
 * only some lanes of a step reach the input. */
static void test_conv_transpose2d(void **state) {
  (void)state;
  static const conv_case cases[] = {
      /* batch C H W M  kh kw g  sh sw dh dw  pt pl pb pr  oph opw  bias activation */
      {1, 3, 5, 4, 2, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, true, identity},
      {2, 4, 3, 5, 6, 2, 3, 2, 3, 1, 1, 2, 0, 1, 2, 0, 0, 0, true, relu},
      {1, 5, 4, 4, 5, 3, 3, 5, 2, 2, 1, 1, 1, 0, 0, 1, 1, 0, false, silu},
      {1, 3, 6, 5, 7, 4, 4, 1, 2, 3, 1, 1, 1, 2, 1, 0, 0, 2, true, gelu},
      /* stride 1: a plain full convolution, wide rows */
      {1, 6, 7, 21, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, true, relu6},
      /* 2x upsampling (k 2, s 2) and (k 4, s 2, p 1), 8 and 5 output channels */
      {1, 7, 6, 19, 8, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, true, identity},
      {1, 4, 5, 17, 5, 4, 4, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, true, hard_swish},
      /* 2-wide filters at column stride 2 (both column phases in one step): an odd left pad
       * (the phases read different input columns), 4 + 1 output channels; then 3 rows of
       * taps at row stride 1, two groups, output padding past the last input column */
      {1, 3, 4, 21, 5, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 1, 0, 0, true, relu6},
      {1, 4, 3, 24, 2, 3, 2, 2, 1, 2, 1, 1, 1, 0, 1, 0, 0, 1, true, identity},
      /* k 3 s 2 p 1 with output padding 1, grouped with 4 + 1 output channels per group */
      {2, 6, 4, 11, 10, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, false, relu},
      /* stride 3, dilation 2, pads wider than the dilated window on one side */
      {1, 2, 3, 13, 4, 3, 2, 1, 3, 3, 2, 2, 5, 4, 1, 0, 2, 1, true, identity},
      /* depthwise-like: one channel per group */
      {1, 5, 9, 9, 5, 3, 3, 5, 1, 2, 1, 1, 0, 2, 0, 2, 0, 1, true, silu},
  };
  thaw_test_rng rng = {4};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i], true, &rng);
}

/* The Conv example of the ONNX operator docs ("conv_with_padding"): 5x5 ramp, 3x3 ones. */
static void test_conv2d_onnx_example(void **state) {
  (void)state;
  static const double expected[25] = {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108,
                                      117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
  float x[25], w[9], y[25];
  for (int i = 0; i < 25; i++) x[i] = (float)i;
  for (int i = 0; i < 9; i++) w[i] = 1.0f;
  const conv_case c = {1, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, identity};
  const thaw_conv2d_params p = conv_params(&c, false);
  assert_int_equal(p.out_height * p.out_width, 25);
  double oracle[25];
  oracle_conv2d(&p, x, w, NULL, oracle);
  for (int i = 0; i < 25; i++) assert_true(oracle[i] == expected[i]);
  for (size_t v = 0; v < variant_count; v++) {
    void *scratch = conv_scratch(variants[v], &p);
    variants[v]->f32_conv2d(&p, x, w, NULL, y, scratch, &thaw_parallel_serial);
    free(scratch);
    thaw_test_assert_close(variants[v]->isa, y, expected, 25, 0, 0);
  }
}

/* The ConvTranspose example of the ONNX operator docs: 3x3 ramp, two 3x3 ones filters. */
static void test_conv_transpose2d_onnx_example(void **state) {
  (void)state;
  static const double plane[25] = {0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36,
                                   27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
  double expected[50];
  for (int i = 0; i < 50; i++) expected[i] = plane[i % 25];
  float x[9], w[18], y[50];
  for (int i = 0; i < 9; i++) x[i] = (float)i;
  for (int i = 0; i < 18; i++) w[i] = 1.0f;
  const conv_case c = {1, 1, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, false, identity};
  const thaw_conv2d_params p = conv_params(&c, true);
  assert_int_equal(p.out_height, 5);
  assert_int_equal(p.out_width, 5);
  double oracle[50];
  oracle_conv_transpose2d(&p, x, w, NULL, oracle);
  for (int i = 0; i < 50; i++) assert_true(oracle[i] == expected[i]);
  for (size_t v = 0; v < variant_count; v++) {
    variants[v]->f32_conv_transpose2d(&p, x, w, NULL, y, &thaw_parallel_serial);
    thaw_test_assert_close(variants[v]->isa, y, expected, 50, 0, 0);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv2d),
      cmocka_unit_test(test_conv2d_depthwise_widths),
      cmocka_unit_test(test_conv2d_depthwise_edges),
      cmocka_unit_test(test_conv2d_paths),
      cmocka_unit_test(test_conv2d_winograd),
      cmocka_unit_test(test_conv2d_implicit_gemm),
      cmocka_unit_test(test_conv2d_scratch_is_bounded),
      cmocka_unit_test(test_conv2d_empty_output),
      cmocka_unit_test(test_conv_transpose2d),
      cmocka_unit_test(test_conv2d_onnx_example),
      cmocka_unit_test(test_conv_transpose2d_onnx_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
