/* Unary and binary elementwise kernels of every variant against double-precision oracles. */
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct unary_case {
  thaw_unary_params params;
  float lo, hi; /* input domain */
} unary_case;

static const unary_case unary_cases[] = {
    {{THAW_KERNEL_IDENTITY, 0, 0}, -10, 10},
    {{THAW_KERNEL_RELU, 0, 0}, -10, 10},
    {{THAW_KERNEL_CLIP, -1.5f, 2.25f}, -5, 5},
    {{THAW_KERNEL_CLIP, 0.0f, 6.0f}, -8, 8},
    {{THAW_KERNEL_SIGMOID, 0, 0}, -20, 20},
    {{THAW_KERNEL_HARD_SIGMOID, 0.2f, 0.5f}, -5, 5},
    {{THAW_KERNEL_HARD_SWISH, 0, 0}, -6, 6},
    {{THAW_KERNEL_TANH, 0, 0}, -6, 6},
    {{THAW_KERNEL_ERF, 0, 0}, -4, 4},
    {{THAW_KERNEL_GELU, 0, 0}, -6, 6},
    {{THAW_KERNEL_SILU, 0, 0}, -20, 20},
    {{THAW_KERNEL_LEAKY_RELU, 0.01f, 0}, -10, 10},
    {{THAW_KERNEL_LEAKY_RELU, 0.3f, 0}, -10, 10},
    {{THAW_KERNEL_SQRT, 0, 0}, 0, 100},
    {{THAW_KERNEL_EXP, 0, 0}, -20, 20},
    {{THAW_KERNEL_NEG, 0, 0}, -10, 10},
    {{THAW_KERNEL_ABS, 0, 0}, -10, 10},
    {{THAW_KERNEL_RECIPROCAL, 0, 0}, 0.01f, 100},
    {{THAW_KERNEL_LOG, 0, 0}, 1e-3f, 1e3f},
};

/* Every length from 1 to 17 (vector kernels' tails of every size, with and without a full
 * vector before them) and two long odd ones. */
static const size_t odd_lengths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
                                     203, 1003};
#define ODD_LENGTH_COUNT (sizeof(odd_lengths) / sizeof(odd_lengths[0]))

static void test_unary_against_oracle(void **state) {
  (void)state;
  thaw_test_rng rng = {1};
  for (size_t c = 0; c < sizeof(unary_cases) / sizeof(unary_cases[0]); c++) {
    const unary_case *uc = &unary_cases[c];
    for (size_t l = 0; l < ODD_LENGTH_COUNT; l++) {
      const size_t n = odd_lengths[l];
      float *x = oracle_random(&rng, n, uc->lo, uc->hi);
      double *expected = oracle_doubles(n);
      for (size_t i = 0; i < n; i++) expected[i] = oracle_unary(&uc->params, x[i]);
      for (size_t v = 0; v < variant_count; v++) {
        /* Exactly n floats, so AddressSanitizer catches a vector access past the end. */
        float *y = oracle_floats(n);
        variants[v]->f32_unary(&uc->params, n, x, y);
        char what[96];
        snprintf(what, sizeof(what), "%s unary %d, n %zu", variants[v]->isa,
                 (int)uc->params.func, n);
        thaw_test_assert_close(what, y, expected, n, 1e-5, 1e-6);
        /* In place, as the conv and matmul epilogues use it. */
        memcpy(y, x, n * sizeof(float));
        variants[v]->f32_unary(&uc->params, n, y, y);
        thaw_test_assert_close(what, y, expected, n, 1e-5, 1e-6);
        free(y);
      }
      free(x);
      free(expected);
    }
  }
}

/* n = 0 writes nothing. */
static void test_unary_empty(void **state) {
  (void)state;
  const thaw_unary_params params = {THAW_KERNEL_EXP, 0, 0};
  for (size_t v = 0; v < variant_count; v++) {
    float y = 42.0f;
    variants[v]->f32_unary(&params, 0, &y, &y);
    assert_true(y == 42.0f);
  }
}

/* Values worked out by hand from the definitions in the ONNX operator docs. */
static void test_unary_hand_values(void **state) {
  (void)state;
  static const struct {
    thaw_unary_params params;
    float x;
    double y;
  } cases[] = {
      {{THAW_KERNEL_GELU, 0, 0}, 1.0f, 0.8413447460685429},
      {{THAW_KERNEL_GELU, 0, 0}, -1.0f, -0.15865525393145707},
      {{THAW_KERNEL_SILU, 0, 0}, 1.0f, 0.7310585786300049},
      {{THAW_KERNEL_HARD_SWISH, 0, 0}, 1.0f, 2.0 / 3.0},
      {{THAW_KERNEL_HARD_SWISH, 0, 0}, -3.0f, 0.0},
      {{THAW_KERNEL_HARD_SWISH, 0, 0}, 3.0f, 3.0},
      {{THAW_KERNEL_HARD_SIGMOID, 0.2f, 0.5f}, 1.0f, 0.7},
      {{THAW_KERNEL_HARD_SIGMOID, 0.2f, 0.5f}, 3.0f, 1.0},
      {{THAW_KERNEL_HARD_SIGMOID, 0.2f, 0.5f}, -3.0f, 0.0},
      {{THAW_KERNEL_CLIP, -1.0f, 1.0f}, -2.0f, -1.0},
      {{THAW_KERNEL_CLIP, -1.0f, 1.0f}, 0.5f, 0.5},
      {{THAW_KERNEL_LEAKY_RELU, 0.1f, 0}, -2.0f, -0.2},
      {{THAW_KERNEL_SIGMOID, 0, 0}, 0.0f, 0.5},
      {{THAW_KERNEL_ERF, 0, 0}, 0.5f, 0.5204998778130465},
      {{THAW_KERNEL_SILU, 0, 0}, -100.0f, 0.0},
      {{THAW_KERNEL_SIGMOID, 0, 0}, -100.0f, 0.0},
  };
  for (size_t v = 0; v < variant_count; v++) {
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
      float y;
      variants[v]->f32_unary(&cases[c].params, 1, &cases[c].x, &y);
      thaw_test_assert_close(variants[v]->isa, &y, &cases[c].y, 1, 1e-6, 1e-7);
    }
  }
}

static double oracle_binary(thaw_kernel_binary func, double a, double b) {
  switch (func) {
  case THAW_KERNEL_ADD: return a + b;
  case THAW_KERNEL_SUB: return a - b;
  case THAW_KERNEL_MUL: return a * b;
  case THAW_KERNEL_DIV: return a / b;
  case THAW_KERNEL_POW: return pow(a, b);
  case THAW_KERNEL_MAX: return a > b ? a : b;
  case THAW_KERNEL_MIN: return a < b ? a : b;
  }
  fail_msg("unknown binary function %d", (int)func);
  return 0.0;
}

typedef struct broadcast_case {
  const char *name;
  uint32_t rank;
  size_t a[4], b[4];
} broadcast_case;

static const broadcast_case broadcast_cases[] = {
    {"same shape", 3, {3, 5, 7}, {3, 5, 7}},
    {"scalar b", 3, {3, 5, 7}, {1, 1, 1}},
    {"scalar a", 3, {1, 1, 1}, {3, 5, 7}},
    {"row b", 2, {9, 13}, {1, 13}},
    {"column b", 2, {9, 13}, {9, 1}},
    {"row a", 2, {1, 13}, {9, 13}},
    {"middle axis b", 3, {3, 5, 7}, {3, 1, 7}},
    {"channel b (NCHW bias)", 4, {2, 5, 3, 7}, {1, 5, 1, 1}},
    {"both sides", 2, {9, 1}, {1, 13}},
    {"both sides, 4-d", 4, {2, 1, 3, 1}, {1, 5, 1, 7}},
    {"single element", 1, {1}, {1}},
    {"vector", 1, {37}, {37}},
};

static void test_binary_broadcasting(void **state) {
  (void)state;
  thaw_test_rng rng = {2};
  for (size_t c = 0; c < sizeof(broadcast_cases) / sizeof(broadcast_cases[0]); c++) {
    const broadcast_case *bc = &broadcast_cases[c];
    size_t out[4];
    for (uint32_t d = 0; d < bc->rank; d++) out[d] = bc->a[d] > bc->b[d] ? bc->a[d] : bc->b[d];
    const size_t a_count = oracle_product(bc->rank, bc->a);
    const size_t b_count = oracle_product(bc->rank, bc->b);
    const size_t y_count = oracle_product(bc->rank, out);
    /* Positive operands keep POW real; b stays away from 0 for DIV. */
    float *a = oracle_random(&rng, a_count, 0.1f, 3.0f);
    float *b = oracle_random(&rng, b_count, 0.5f, 2.5f);
    thaw_binary_params params;
    const size_t *shapes[2] = {bc->a, bc->b};
    oracle_broadcast(bc->rank, out, 2, shapes, &params.iter);
    double *expected = oracle_doubles(y_count);
    float *y = oracle_floats(y_count);
    for (int func = THAW_KERNEL_ADD; func <= THAW_KERNEL_MIN; func++) {
      params.func = (thaw_kernel_binary)func;
      for (size_t e = 0; e < y_count; e++) {
        const float a_value = a[oracle_broadcast_offset(bc->rank, out, bc->a, e)];
        const float b_value = b[oracle_broadcast_offset(bc->rank, out, bc->b, e)];
        expected[e] = oracle_binary(params.func, a_value, b_value);
      }
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->f32_binary(&params, a, b, y);
        char what[128];
        snprintf(what, sizeof(what), "%s binary %d, %s", variants[v]->isa, func, bc->name);
        thaw_test_assert_close(what, y, expected, y_count, 1e-5, 1e-6);
      }
    }
    free(a);
    free(b);
    free(y);
    free(expected);
  }
}

/* The innermost-axis patterns the vector kernels specialise (both contiguous, b broadcast, a
 * broadcast), and a column broadcast whose rows are single elements, at every odd length. */
static void test_binary_odd_lengths(void **state) {
  (void)state;
  thaw_test_rng rng = {3};
  for (size_t l = 0; l < ODD_LENGTH_COUNT; l++) {
    const size_t n = odd_lengths[l];
    const broadcast_case patterns[] = {
        {"same shape", 2, {2, n}, {2, n}},
        {"row b", 2, {2, n}, {1, n}},
        {"scalar b", 2, {2, n}, {1, 1}},
        {"scalar a", 2, {1, 1}, {2, n}},
        {"column a", 2, {n, 1}, {n, 3}},
    };
    for (size_t c = 0; c < sizeof(patterns) / sizeof(patterns[0]); c++) {
      const broadcast_case *bc = &patterns[c];
      size_t out[2];
      for (uint32_t d = 0; d < 2; d++) out[d] = bc->a[d] > bc->b[d] ? bc->a[d] : bc->b[d];
      const size_t a_count = oracle_product(2, bc->a), b_count = oracle_product(2, bc->b);
      const size_t y_count = oracle_product(2, out);
      float *a = oracle_random(&rng, a_count, 0.1f, 3.0f);
      float *b = oracle_random(&rng, b_count, 0.5f, 2.5f);
      thaw_binary_params params;
      const size_t *shapes[2] = {bc->a, bc->b};
      oracle_broadcast(2, out, 2, shapes, &params.iter);
      double *expected = oracle_doubles(y_count);
      float *y = oracle_floats(y_count);
      for (int func = THAW_KERNEL_ADD; func <= THAW_KERNEL_MIN; func++) {
        params.func = (thaw_kernel_binary)func;
        for (size_t e = 0; e < y_count; e++)
          expected[e] = oracle_binary(params.func, a[oracle_broadcast_offset(2, out, bc->a, e)],
                                      b[oracle_broadcast_offset(2, out, bc->b, e)]);
        for (size_t v = 0; v < variant_count; v++) {
          variants[v]->f32_binary(&params, a, b, y);
          char what[128];
          snprintf(what, sizeof(what), "%s binary %d, %s, n %zu", variants[v]->isa, func,
                   bc->name, n);
          thaw_test_assert_close(what, y, expected, y_count, 1e-5, 1e-6);
        }
      }
      free(a);
      free(b);
      free(y);
      free(expected);
    }
  }
}

/* An operand read with a step other than 0 or 1 along the last axis (a transposed view): a
 * is stored [n][2] and read as [2][n], b is dense [2][n]. */
static void test_binary_strided_last_axis(void **state) {
  (void)state;
  thaw_test_rng rng = {4};
  for (size_t l = 0; l < ODD_LENGTH_COUNT; l++) {
    const size_t n = odd_lengths[l];
    float *a = oracle_random(&rng, 2 * n, 0.1f, 3.0f);
    float *b = oracle_random(&rng, 2 * n, 0.5f, 2.5f);
    thaw_binary_params params;
    memset(&params, 0, sizeof(params));
    params.iter.rank = 2;
    params.iter.shape[0] = 2;
    params.iter.shape[1] = n;
    params.iter.strides[0][0] = 1;
    params.iter.strides[0][1] = 2;
    params.iter.strides[1][0] = (ptrdiff_t)n;
    params.iter.strides[1][1] = 1;
    double *expected = oracle_doubles(2 * n);
    float *y = oracle_floats(2 * n);
    for (int func = THAW_KERNEL_ADD; func <= THAW_KERNEL_MIN; func++) {
      params.func = (thaw_kernel_binary)func;
      for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < n; j++)
          expected[i * n + j] = oracle_binary(params.func, a[j * 2 + i], b[i * n + j]);
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->f32_binary(&params, a, b, y);
        char what[128];
        snprintf(what, sizeof(what), "%s binary %d, transposed a, n %zu", variants[v]->isa,
                 func, n);
        thaw_test_assert_close(what, y, expected, 2 * n, 1e-5, 1e-6);
      }
    }
    free(a);
    free(b);
    free(y);
    free(expected);
  }
}

/* x^2 by a broadcast scalar exponent, the squaring in decomposed LayerNorms, negative bases
 * included: within a float rounding of the exact square. */
static void test_binary_pow_by_scalar_two(void **state) {
  (void)state;
  thaw_test_rng rng = {5};
  const float two = 2.0f;
  for (size_t l = 0; l < ODD_LENGTH_COUNT; l++) {
    const size_t n = odd_lengths[l];
    float *a = oracle_random(&rng, 3 * n, -4.0f, 4.0f);
    const size_t a_shape[2] = {3, n}, b_shape[2] = {1, 1};
    const size_t *shapes[2] = {a_shape, b_shape};
    thaw_binary_params params;
    params.func = THAW_KERNEL_POW;
    oracle_broadcast(2, a_shape, 2, shapes, &params.iter);
    double *expected = oracle_doubles(3 * n);
    for (size_t i = 0; i < 3 * n; i++) expected[i] = (double)a[i] * a[i];
    float *y = oracle_floats(3 * n);
    for (size_t v = 0; v < variant_count; v++) {
      variants[v]->f32_binary(&params, a, &two, y);
      char what[96];
      snprintf(what, sizeof(what), "%s pow by 2, n %zu", variants[v]->isa, n);
      thaw_test_assert_close(what, y, expected, 3 * n, 2e-7, 0.0);
    }
    free(a);
    free(y);
    free(expected);
  }
}

static void test_binary_nan_and_hand_values(void **state) {
  (void)state;
  const float a[4] = {NAN, 1.0f, 2.0f, -8.0f};
  const float b[4] = {1.0f, NAN, 0.5f, 1.0f / 3.0f};
  thaw_binary_params params;
  const size_t shape[1] = {4};
  const size_t *shapes[2] = {shape, shape};
  oracle_broadcast(1, shape, 2, shapes, &params.iter);
  for (size_t v = 0; v < variant_count; v++) {
    float y[4];
    params.func = THAW_KERNEL_MAX;
    variants[v]->f32_binary(&params, a, b, y);
    assert_true(isnan(y[0]) && isnan(y[1]));
    assert_true(y[2] == 2.0f);
    params.func = THAW_KERNEL_MIN;
    variants[v]->f32_binary(&params, a, b, y);
    assert_true(isnan(y[0]) && isnan(y[1]));
    assert_true(y[2] == 0.5f);
    params.func = THAW_KERNEL_POW;
    variants[v]->f32_binary(&params, a, b, y);
    /* 2^0.5, and a negative base to a fractional power is NaN as in powf. */
    const double sqrt2 = 1.4142135623730951;
    thaw_test_assert_close("pow", &y[2], &sqrt2, 1, 1e-6, 0.0);
    assert_true(isnan(y[3]));
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unary_against_oracle),
      cmocka_unit_test(test_unary_empty),
      cmocka_unit_test(test_unary_hand_values),
      cmocka_unit_test(test_binary_broadcasting),
      cmocka_unit_test(test_binary_odd_lengths),
      cmocka_unit_test(test_binary_strided_last_axis),
      cmocka_unit_test(test_binary_pow_by_scalar_two),
      cmocka_unit_test(test_binary_nan_and_hand_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
