/* Softmax, LayerNormalization, ReduceMean and the channel affine of every variant against
 * naive double-precision loops. */
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

static const size_t three_axis_shapes[][3] = {
    {1, 1, 1}, {1, 1000, 1}, {7, 13, 1}, {3, 5, 11}, {1, 9, 49}, {4, 1, 6}, {2, 33, 3},
    /* Odd lengths on either side of one vector, along the axis and across it. */
    {2, 7, 1}, {2, 8, 1}, {2, 17, 1}, {1, 1003, 1}, {2, 5, 8}, {2, 5, 9}, {3, 7, 17},
};
#define SHAPE_COUNT (sizeof(three_axis_shapes) / sizeof(three_axis_shapes[0]))

/* Every variant against `expected`; an expected 0 (an underflowed e^x) must come out as 0. */
static void check_softmax_variants(const char *label, size_t outer, size_t axis, size_t inner,
                                   const float *x, const double *expected) {
  const size_t count = outer * axis * inner;
  for (size_t v = 0; v < variant_count; v++) {
    float *y = oracle_floats(count);
    variants[v]->f32_softmax(outer, axis, inner, x, y);
    char what[96];
    snprintf(what, sizeof(what), "%s %s %zux%zux%zu", variants[v]->isa, label, outer, axis,
             inner);
    thaw_test_assert_close(what, y, expected, count, 1e-5, 1e-7);
    for (size_t i = 0; i < count; i++)
      if (expected[i] == 0.0 && y[i] != 0.0f) fail_msg("%s: element %zu is %g", what, i, y[i]);
    free(y);
  }
}

static void test_softmax(void **state) {
  (void)state;
  thaw_test_rng rng = {8};
  for (size_t s = 0; s < SHAPE_COUNT; s++) {
    const size_t outer = three_axis_shapes[s][0], axis = three_axis_shapes[s][1],
                 inner = three_axis_shapes[s][2];
    const size_t count = outer * axis * inner;
    /* Large magnitudes: without the max subtraction expf would overflow. */
    float *x = oracle_random(&rng, count, -50, 120);
    double *expected = oracle_doubles(count);
    for (size_t o = 0; o < outer; o++)
      for (size_t j = 0; j < inner; j++) {
        double maximum = -INFINITY, sum = 0.0;
        for (size_t a = 0; a < axis; a++) maximum = fmax(maximum, x[(o * axis + a) * inner + j]);
        for (size_t a = 0; a < axis; a++) sum += exp(x[(o * axis + a) * inner + j] - maximum);
        for (size_t a = 0; a < axis; a++) {
          const size_t i = (o * axis + a) * inner + j;
          expected[i] = exp(x[i] - maximum) / sum;
        }
      }
    check_softmax_variants("softmax", outer, axis, inner, x, expected);
    free(x);
    free(expected);
  }
}

/* softmax([1, 2, 3]) = e^i / (e + e^2 + e^3). */
static void test_softmax_hand_values(void **state) {
  (void)state;
  const float x[3] = {1, 2, 3};
  const double expected[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  for (size_t v = 0; v < variant_count; v++) {
    float y[3];
    variants[v]->f32_softmax(1, 3, 1, x, y);
    thaw_test_assert_close(variants[v]->isa, y, expected, 3, 1e-6, 0);
  }
}

/* Attention rows whose padded tail carries a -10000 mask, along the line (inner 1) and across
 * it: e^(x - max) is far below the smallest float there, so those outputs must be exactly 0,
 * and the others the softmax of the unmasked values alone. */
static void test_softmax_masked_lines(void **state) {
  (void)state;
  thaw_test_rng rng = {10};
  static const size_t shapes[][3] = {{3, 13, 1}, {2, 128, 1}, {2, 13, 5}, {1, 9, 11}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    const size_t outer = shapes[s][0], axis = shapes[s][1], inner = shapes[s][2];
    const size_t count = outer * axis * inner, kept = axis * 3 / 4;
    float *x = oracle_random(&rng, count, -4, 4);
    double *expected = oracle_doubles(count);
    for (size_t o = 0; o < outer; o++)
      for (size_t j = 0; j < inner; j++) {
        double sum = 0.0;
        for (size_t a = 0; a < axis; a++) {
          const size_t i = (o * axis + a) * inner + j;
          if (a >= kept) x[i] -= 10000.0f;
          expected[i] = a < kept ? exp(x[i]) : 0.0;
          sum += expected[i];
        }
        for (size_t a = 0; a < axis; a++) expected[(o * axis + a) * inner + j] /= sum;
      }
    check_softmax_variants("masked softmax", outer, axis, inner, x, expected);
    free(x);
    free(expected);
  }
}

static void test_layer_norm(void **state) {
  (void)state;
  thaw_test_rng rng = {9};
  static const size_t shapes[][2] = {{1, 1},    {1, 7},    {1, 8},   {2, 17}, {5, 33},
                                     {3, 768},  {2, 1536}, {2, 1003}, {17, 3}};
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
    const size_t rows = shapes[s][0], cols = shapes[s][1];
    /* An offset far larger than the spread catches single-pass variance formulas. */
    float *x = oracle_random(&rng, rows * cols, 95, 105);
    float *scale = oracle_random(&rng, cols, 0.5f, 2);
    float *bias = oracle_random(&rng, cols, -1, 1);
    const float epsilon = 1e-5f;
    double *expected = oracle_doubles(rows * cols);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
      for (size_t r = 0; r < rows; r++) {
        double mean = 0.0, variance = 0.0;
        for (size_t c = 0; c < cols; c++) mean += x[r * cols + c];
        mean /= (double)cols;
        for (size_t c = 0; c < cols; c++)
          variance += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
        variance /= (double)cols;
        for (size_t c = 0; c < cols; c++)
          expected[r * cols + c] = (x[r * cols + c] - mean) / sqrt(variance + epsilon) * scale[c] +
                                   (with_bias ? bias[c] : 0.0);
      }
      for (size_t v = 0; v < variant_count; v++) {
        float *y = oracle_floats(rows * cols);
        variants[v]->f32_layer_norm(rows, cols, epsilon, x, scale, with_bias ? bias : NULL, y);
        char what[96];
        snprintf(what, sizeof(what), "%s layer_norm %zux%zu bias %d", variants[v]->isa, rows,
                 cols, with_bias);
        /* Inputs near 100 carry ~1e-5 absolute rounding; normalised by a spread of ~3. */
        thaw_test_assert_close(what, y, expected, rows * cols, 1e-4, 2e-5);
        free(y);
      }
    }
    free(x);
    free(scale);
    free(bias);
    free(expected);
  }
}

/* [1, 2, 3, 4]: mean 2.5, variance 1.25; scale 2, bias 1, epsilon 0. */
static void test_layer_norm_hand_values(void **state) {
  (void)state;
  const float x[4] = {1, 2, 3, 4}, scale[4] = {2, 2, 2, 2}, bias[4] = {1, 1, 1, 1};
  const double d = 1.0 / sqrt(1.25);
  const double expected[4] = {1 - 3 * d, 1 - d, 1 + d, 1 + 3 * d};
  for (size_t v = 0; v < variant_count; v++) {
    float y[4];
    variants[v]->f32_layer_norm(1, 4, 0.0f, x, scale, bias, y);
    thaw_test_assert_close(variants[v]->isa, y, expected, 4, 1e-6, 1e-6);
  }
}

static void test_reduce_mean(void **state) {
  (void)state;
  thaw_test_rng rng = {10};
  for (size_t s = 0; s < SHAPE_COUNT; s++) {
    const size_t outer = three_axis_shapes[s][0], reduce = three_axis_shapes[s][1],
                 inner = three_axis_shapes[s][2];
    float *x = oracle_random(&rng, outer * reduce * inner, -3, 4);
    double *expected = oracle_doubles(outer * inner);
    for (size_t o = 0; o < outer; o++)
      for (size_t j = 0; j < inner; j++) {
        for (size_t r = 0; r < reduce; r++)
          expected[o * inner + j] += x[(o * reduce + r) * inner + j];
        expected[o * inner + j] /= (double)reduce;
      }
    for (size_t v = 0; v < variant_count; v++) {
      float *y = oracle_floats(outer * inner);
      variants[v]->f32_reduce_mean(outer, reduce, inner, x, y);
      thaw_test_assert_close(variants[v]->isa, y, expected, outer * inner, 1e-5,
                             1e-7 * (double)reduce);
      free(y);
    }
    free(x);
    free(expected);
  }
}

static void test_channel_affine(void **state) {
  (void)state;
  thaw_test_rng rng = {11};
  for (size_t s = 0; s < SHAPE_COUNT; s++) {
    const size_t outer = three_axis_shapes[s][0], channels = three_axis_shapes[s][1],
                 inner = three_axis_shapes[s][2];
    const size_t count = outer * channels * inner;
    float *x = oracle_random(&rng, count, -3, 3);
    float *scale = oracle_random(&rng, channels, -2, 2);
    float *shift = oracle_random(&rng, channels, -1, 1);
    double *expected = oracle_doubles(count);
    for (size_t i = 0; i < count; i++) {
      const size_t c = i / inner % channels;
      expected[i] = (double)x[i] * scale[c] + shift[c];
    }
    for (size_t v = 0; v < variant_count; v++) {
      float *y = oracle_floats(count);
      variants[v]->f32_channel_affine(outer, channels, inner, x, scale, shift, y);
      thaw_test_assert_close(variants[v]->isa, y, expected, count, 1e-6, 1e-6);
      free(y);
    }
    free(x);
    free(scale);
    free(shift);
    free(expected);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_softmax),
      cmocka_unit_test(test_softmax_hand_values),
      cmocka_unit_test(test_softmax_masked_lines),
      cmocka_unit_test(test_layer_norm),
      cmocka_unit_test(test_layer_norm_hand_values),
      cmocka_unit_test(test_reduce_mean),
      cmocka_unit_test(test_channel_affine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
