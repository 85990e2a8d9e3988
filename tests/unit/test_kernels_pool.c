/* MaxPool, AveragePool and GlobalAveragePool of every variant against naive double loops. */
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct pool_case {
  size_t planes, height, width, kernel_height, kernel_width, stride_h, stride_w;
  size_t dilation_h, dilation_w, pad_top, pad_left, pad_bottom, pad_right;
  bool ceil_mode;
} pool_case;

/* ONNX output size; with ceil_mode the last window must still start inside the input or the
 * leading padding. */
static size_t pool_out_size(size_t in, size_t pad_begin, size_t pad_end, size_t kernel,
                            size_t stride, size_t dilation, bool ceil_mode) {
  const size_t extent = (kernel - 1) * dilation + 1;
  const size_t span = in + pad_begin + pad_end - extent;
  size_t out = (span + (ceil_mode ? stride - 1 : 0)) / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) out--;
  return out;
}

static thaw_pool2d_params pool_params(const pool_case *c, bool count_include_pad) {
  thaw_pool2d_params p = {
      .batch_channels = c->planes, .in_height = c->height, .in_width = c->width,
      .kernel_height = c->kernel_height, .kernel_width = c->kernel_width,
      .stride_h = c->stride_h, .stride_w = c->stride_w, .dilation_h = c->dilation_h,
      .dilation_w = c->dilation_w, .pad_top = c->pad_top, .pad_left = c->pad_left,
      .pad_bottom = c->pad_bottom, .pad_right = c->pad_right,
      .count_include_pad = count_include_pad};
  p.out_height = pool_out_size(c->height, c->pad_top, c->pad_bottom, c->kernel_height,
                               c->stride_h, c->dilation_h, c->ceil_mode);
  p.out_width = pool_out_size(c->width, c->pad_left, c->pad_right, c->kernel_width,
                              c->stride_w, c->dilation_w, c->ceil_mode);
  return p;
}

enum pool_kind { POOL_MAX, POOL_AVERAGE };

/* Every tap of a window is real input, padding, or overhang past the padded input (from
 * ceil_mode). Max takes the real taps; average divides their sum by the real taps, or with
 * count_include_pad by the real and padding taps. */
static void oracle_pool(enum pool_kind kind, const thaw_pool2d_params *p, const float *x,
                        double *y) {
  const long padded_h = (long)(p->in_height + p->pad_bottom);
  const long padded_w = (long)(p->in_width + p->pad_right);
  for (size_t plane = 0; plane < p->batch_channels; plane++)
    for (size_t oh = 0; oh < p->out_height; oh++)
      for (size_t ow = 0; ow < p->out_width; ow++) {
        double maximum = -INFINITY, sum = 0.0;
        size_t real = 0, padding = 0;
        for (size_t kh = 0; kh < p->kernel_height; kh++)
          for (size_t kw = 0; kw < p->kernel_width; kw++) {
            const long ih = (long)(oh * p->stride_h + kh * p->dilation_h) - (long)p->pad_top;
            const long iw = (long)(ow * p->stride_w + kw * p->dilation_w) - (long)p->pad_left;
            if (ih >= padded_h || iw >= padded_w) continue; /* overhang */
            if (ih < 0 || iw < 0 || ih >= (long)p->in_height || iw >= (long)p->in_width) {
              padding++;
              continue;
            }
            const double value =
                x[(plane * p->in_height + (size_t)ih) * p->in_width + (size_t)iw];
            real++;
            sum += value;
            if (value > maximum) maximum = value;
          }
        double result = maximum;
        if (kind == POOL_AVERAGE)
          result = sum / (double)(real + (p->count_include_pad ? padding : 0));
        y[(plane * p->out_height + oh) * p->out_width + ow] = result;
      }
}

static void run_pool_case(const pool_case *pc, thaw_test_rng *rng) {
  const size_t x_count = pc->planes * pc->height * pc->width;
  float *x = oracle_random(rng, x_count, -5, 5);
  for (int include = 0; include < 2; include++) {
    const thaw_pool2d_params p = pool_params(pc, include);
    const size_t y_count = p.batch_channels * p.out_height * p.out_width;
    double *expected_max = oracle_doubles(y_count);
    double *expected_average = oracle_doubles(y_count);
    oracle_pool(POOL_MAX, &p, x, expected_max);
    oracle_pool(POOL_AVERAGE, &p, x, expected_average);
    for (size_t v = 0; v < variant_count; v++) {
      float *y = oracle_floats(y_count);
      char what[160];
      snprintf(what, sizeof(what), "%s pool %zux%zu k%zux%zu s%zu,%zu d%zu,%zu include_pad %d",
               variants[v]->isa, pc->height, pc->width, pc->kernel_height, pc->kernel_width,
               pc->stride_h, pc->stride_w, pc->dilation_h, pc->dilation_w, include);
      variants[v]->f32_max_pool2d(&p, x, y);
      thaw_test_assert_close(what, y, expected_max, y_count, 0, 0);
      variants[v]->f32_average_pool2d(&p, x, y);
      thaw_test_assert_close(what, y, expected_average, y_count, 1e-5, 1e-6 * 25);
      free(y);
    }
    free(expected_max);
    free(expected_average);
  }
  free(x);
}

static void test_pools(void **state) {
  (void)state;
  static const pool_case cases[] = {
      /* planes H W  kh kw  sh sw  dh dw  pt pl pb pr  ceil */
      {3, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false},
      {2, 10, 7, 3, 2, 2, 3, 1, 1, 0, 1, 1, 0, true},
      {1, 13, 12, 3, 3, 1, 1, 2, 2, 2, 1, 2, 3, false},
      {4, 8, 8, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false},
      {2, 7, 9, 4, 4, 3, 3, 1, 1, 1, 2, 0, 1, true},
      {1, 6, 5, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, false},
      {2, 11, 10, 3, 2, 2, 2, 2, 3, 1, 0, 1, 1, true},
      /* stride 2: 8 outputs end at the input's last float, so a 16-float load would overrun */
      {1, 1, 15, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, false},
      {1, 3, 17, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, false},
      /* rows wider than a max pool's 1024-column stack row, which it cuts into chunks */
      {2, 5, 2501, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true},
      {1, 2, 1100, 2, 3, 1, 1, 1, 2, 0, 1, 0, 1, false},
      /* windows too wide for that row, and strides too long for a vector of windows in it */
      {1, 2, 2300, 1, 2, 1, 1, 1, 1100, 0, 0, 0, 0, false},
      {1, 3, 2000, 2, 3, 1, 600, 1, 1, 0, 0, 0, 0, false},
  };
  thaw_test_rng rng = {6};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) run_pool_case(&cases[c], &rng);
}

/* Widths around the 8-output vector step, at strides 1 (one load), 2 (de-interleaved loads)
 * and 3 (a gather), with dilation, unequal padding and ceil_mode, so that every variant's
 * border and vector outputs meet at many positions. */
static void test_pools_widths(void **state) {
  (void)state;
  static const size_t widths[] = {1, 3, 7, 9, 15, 17, 33, 64, 111};
  thaw_test_rng rng = {9};
  for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
    for (size_t stride = 1; stride <= 3; stride++) {
      for (size_t kernel = 2; kernel <= 5; kernel += 3) {
        const size_t dilation = kernel == 2 ? 2 : 1;
        const size_t extent = (kernel - 1) * dilation + 1;
        const size_t pad_left = kernel / 2, pad_right = (kernel - 1) / 2;
        if (widths[i] + pad_left + pad_right < extent) continue;
        const pool_case c = {2, 7, widths[i], kernel, kernel, stride, stride, dilation,
                             dilation, pad_left, pad_left, pad_right, pad_right, stride == 2};
        run_pool_case(&c, &rng);
      }
    }
  }
}
/* The averagepool_2d_ceil and maxpool_2d_ceil examples of the ONNX operator docs: a 4x4 ramp,
 * 3x3 windows, stride 2, ceil_mode. The overhang is not counted even with count_include_pad
 * (as ONNX Runtime does), so both settings agree here. */
static void test_pools_onnx_ceil_example(void **state) {
  (void)state;
  float x[16];
  for (int i = 0; i < 16; i++) x[i] = (float)(i + 1);
  const pool_case c = {1, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true};
  static const double average[4] = {6, 7.5, 12, 13.5}, maximum[4] = {11, 12, 15, 16};
  for (int include = 0; include < 2; include++) {
    const thaw_pool2d_params p = pool_params(&c, include);
    assert_int_equal(p.out_height, 2);
    assert_int_equal(p.out_width, 2);
    double oracle[4];
    oracle_pool(POOL_AVERAGE, &p, x, oracle);
    for (int i = 0; i < 4; i++) assert_true(oracle[i] == average[i]);
    for (size_t v = 0; v < variant_count; v++) {
      float y[4];
      variants[v]->f32_average_pool2d(&p, x, y);
      thaw_test_assert_close(variants[v]->isa, y, average, 4, 1e-6, 0);
      variants[v]->f32_max_pool2d(&p, x, y);
      thaw_test_assert_close(variants[v]->isa, y, maximum, 4, 0, 0);
    }
  }
}

/* 3x3 ramp, 2x2 windows, stride 1, padding 1: the corners see one real element. */
static void test_average_pool_padding_hand_values(void **state) {
  (void)state;
  float x[9];
  for (int i = 0; i < 9; i++) x[i] = (float)(i + 1);
  const pool_case c = {1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, false};
  const double excluded[16] = {1, 1.5, 2.5, 3, 2.5, 3, 4, 4.5, 5.5, 6, 7, 7.5, 7, 7.5, 8.5, 9};
  const double included[16] = {0.25, 0.75, 1.25, 0.75, 1.25, 3, 4, 2.25,
                               2.75, 6, 7, 3.75, 1.75, 3.75, 4.25, 2.25};
  for (size_t v = 0; v < variant_count; v++) {
    float y[16];
    thaw_pool2d_params p = pool_params(&c, false);
    assert_int_equal(p.out_height * p.out_width, 16);
    variants[v]->f32_average_pool2d(&p, x, y);
    thaw_test_assert_close("count_include_pad=0", y, excluded, 16, 1e-6, 0);
    p.count_include_pad = true;
    variants[v]->f32_average_pool2d(&p, x, y);
    thaw_test_assert_close("count_include_pad=1", y, included, 16, 1e-6, 0);
  }
}

static void test_max_pool_nan_propagates(void **state) {
  (void)state;
  const float x[4] = {1, NAN, 3, 2};
  const pool_case c = {1, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, false};
  const thaw_pool2d_params p = pool_params(&c, false);
  for (size_t v = 0; v < variant_count; v++) {
    float y[1];
    variants[v]->f32_max_pool2d(&p, x, y);
    assert_true(isnan(y[0]));
  }
}

/* A NaN in the middle of a wide row reaches exactly the outputs whose windows hold it, whether
 * they are computed by a vector step or one by one, and whichever tap of the window it is. */
static void test_max_pool_nan_in_wide_rows(void **state) {
  (void)state;
  enum { WIDTH = 40 };
  const pool_case c = {1, 1, WIDTH, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, false};
  const thaw_pool2d_params p = pool_params(&c, false);
  assert_int_equal(p.out_width, WIDTH);
  for (size_t position = 0; position < WIDTH; position++) {
    float x[WIDTH], y[WIDTH];
    for (size_t i = 0; i < WIDTH; i++) x[i] = (float)i;
    x[position] = NAN;
    for (size_t v = 0; v < variant_count; v++) {
      variants[v]->f32_max_pool2d(&p, x, y);
      for (size_t ow = 0; ow < WIDTH; ow++) {
        const bool window_holds_nan = ow + 1 >= position && ow <= position + 1;
        if (isnan(y[ow]) != window_holds_nan)
          fail_msg("%s: NaN at %zu, output %zu is %g", variants[v]->isa, position, ow, y[ow]);
      }
    }
  }
}

/* The same in two dimensions, for MaxPool's 3x3 stride-2 windows with padding: a NaN at each
 * position of the plane reaches the outputs whose windows hold it, and only those, whichever
 * window row and column it is in. Widths below, at and above a vector. */
static void test_max_pool_nan_in_planes(void **state) {
  (void)state;
  static const size_t widths[] = {5, 8, 21};
  enum { HEIGHT = 7, MAX_WIDTH = 21 };
  for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
    const pool_case c = {1, HEIGHT, widths[w], 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false};
    const thaw_pool2d_params p = pool_params(&c, false);
    const size_t x_count = HEIGHT * widths[w];
    for (size_t position = 0; position < x_count; position++) {
      float x[HEIGHT * MAX_WIDTH], y[HEIGHT * MAX_WIDTH];
      for (size_t i = 0; i < x_count; i++) x[i] = (float)(i % 13) - 6.0f;
      x[position] = NAN;
      const size_t nan_h = position / widths[w], nan_w = position % widths[w];
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->f32_max_pool2d(&p, x, y);
        for (size_t oh = 0; oh < p.out_height; oh++)
          for (size_t ow = 0; ow < p.out_width; ow++) {
            /* Window rows 2*oh-1 .. 2*oh+1, and the same for columns. */
            const bool window_holds_nan =
                nan_h + 1 >= 2 * oh && nan_h <= 2 * oh + 1 && nan_w + 1 >= 2 * ow &&
                nan_w <= 2 * ow + 1;
            const float output = y[oh * p.out_width + ow];
            if (isnan(output) != window_holds_nan)
              fail_msg("%s: width %zu, NaN at (%zu, %zu), output (%zu, %zu) is %g",
                       variants[v]->isa, widths[w], nan_h, nan_w, oh, ow, output);
          }
      }
    }
  }
}

static void test_global_average_pool(void **state) {
  (void)state;
  thaw_test_rng rng = {7};
  static const size_t shapes[][2] = {{1, 1}, {3, 49}, {17, 13 * 11}, {5, 3137}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    const size_t channels = shapes[s][0], spatial = shapes[s][1];
    float *x = oracle_random(&rng, channels * spatial, -2, 3);
    double *expected = oracle_doubles(channels);
    for (size_t c = 0; c < channels; c++) {
      for (size_t i = 0; i < spatial; i++) expected[c] += x[c * spatial + i];
      expected[c] /= (double)spatial;
    }
    for (size_t v = 0; v < variant_count; v++) {
      float *y = oracle_floats(channels);
      variants[v]->f32_global_average_pool(channels, spatial, x, y);
      thaw_test_assert_close(variants[v]->isa, y, expected, channels, 1e-5,
                             1e-7 * (double)spatial);
      free(y);
    }
    free(x);
    free(expected);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pools),
      cmocka_unit_test(test_pools_widths),
      cmocka_unit_test(test_pools_onnx_ceil_example),
      cmocka_unit_test(test_average_pool_padding_hand_values),
      cmocka_unit_test(test_max_pool_nan_propagates),
      cmocka_unit_test(test_max_pool_nan_in_wide_rows),
      cmocka_unit_test(test_max_pool_nan_in_planes),
      cmocka_unit_test(test_global_average_pool),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
