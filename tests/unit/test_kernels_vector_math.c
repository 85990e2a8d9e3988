/*
 * Accuracy of the transcendental unary functions of every vector kernel table, in ulp, over
 * more than three million inputs per function: a walk over float bit patterns that covers the
 * whole range (denormals, huge values), a dense sample of the range where each function is not
 * yet constant, and the edge values (±0, denormals, ±inf, NaN, overflow/underflow thresholds).
 *
 * The oracle is SLEEF's double-precision 1-ulp functions: their error is about 2^-29 of a float
 * ulp, so the figure measured is the kernel's own. An ulp is that of the exact result's float
 * binade, 2^-149 in the denormal range (gradual underflow is checked, not flushed), and an
 * infinite result counts as 2^128 (one ulp past FLT_MAX).
 */
#include <float.h>
#include <sleef.h>

#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct math_case {
  const char *name;
  thaw_kernel_unary func;
  double (*oracle)(double x);
  float lo, hi;   /* where the function is not yet constant in float */
  double max_ulp; /* the bound on every vector table (kernels/math/f32-vmath-avx2.h, ...) */
} math_case;

static double oracle_sigmoid(double x) { return 1.0 / (1.0 + Sleef_exp_u10(-x)); }

static const math_case math_cases[] = {
    {"exp", THAW_KERNEL_EXP, Sleef_exp_u10, -104.0f, 89.0f, 1.5},
    {"tanh", THAW_KERNEL_TANH, Sleef_tanh_u10, -10.0f, 10.0f, 2.0},
    {"erf", THAW_KERNEL_ERF, Sleef_erf_u10, -4.5f, 4.5f, 1.5},
    {"sigmoid", THAW_KERNEL_SIGMOID, oracle_sigmoid, -105.0f, 20.0f, 3.0},
    {"log", THAW_KERNEL_LOG, Sleef_log_u10, 0.0f, 4.0f, 1.5},
};

static const float edge_values[] = {
    0.0f, -0.0f, 0x1p-149f, -0x1p-149f, 0x1.fffffcp-127f, -0x1.fffffcp-127f, 0x1p-126f,
    -0x1p-126f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN, -NAN,
    /* exp: the last finite result, the first infinite one, the last normal and the last
     * non-zero (denormal) results. */
    0x1.62e42ep+6f, 0x1.62e430p+6f, -0x1.5d589ep+6f, -0x1.5d58a0p+6f, -0x1.9fe368p+6f,
    -0x1.9fe36ap+6f, -103.972084f, -103.972076f,
    /* tanh and erf: where they round to ±1; the polynomial/formula switch points. */
    9.010913f, -9.010913f, 3.9192059f, -3.9192059f, 0.5493f, 0.54929996f, 0.921875f,
    0.92187494f, 4.0f, 3.9999998f, 1e-20f, -1e-20f,
    /* log: around 1 and the mantissa split point sqrt(2). */
    1.0f, 0x1.fffffep-1f, 0x1.000002p+0f, 1.4142135f, 1.4142137f, 0.70710677f,
};

/* Error of `actual` in ulp of the exact `expected`; NaN must map to NaN. */
static double ulp_error(float actual, double expected) {
  if (isnan(expected)) return isnan(actual) ? 0.0 : INFINITY;
  if (isnan(actual)) return INFINITY;
  const double past_max = 0x1p128;
  const double a = isinf(actual) ? copysign(past_max, actual) : actual;
  /* Past FLT_MAX + ulp/2 the correctly rounded float is inf. */
  const double e = isinf((float)expected) ? copysign(past_max, expected) : expected;
  int exponent;
  frexp(e, &exponent); /* |e| in [2^(exponent-1), 2^exponent) */
  const double ulp = ldexp(1.0, (exponent - 1 < -126 ? -126 : exponent - 1) - 23);
  return fabs(a - e) / ulp;
}

typedef struct accuracy {
  double max_ulp;
  float worst_input;
  size_t count;
} accuracy;

static void measure(const thaw_kernels *table, const math_case *mc, const float *x, size_t n,
                    float *y, accuracy *result) {
  const thaw_unary_params params = {mc->func, 0.0f, 0.0f};
  table->f32_unary(&params, n, x, y);
  for (size_t i = 0; i < n; i++) {
    const double error = ulp_error(y[i], mc->oracle(x[i]));
    if (error > result->max_ulp) {
      result->max_ulp = error;
      result->worst_input = x[i];
    }
  }
  result->count += n;
}

#define BIT_WALK_COUNT (1u << 21)
#define DENSE_COUNT (1u << 20)

static void test_ulp_error_against_sleef(void **state) {
  (void)state;
  float *x = malloc(BIT_WALK_COUNT * sizeof(float));
  float *y = malloc(BIT_WALK_COUNT * sizeof(float));
  assert_non_null(x);
  assert_non_null(y);
  for (size_t c = 0; c < sizeof(math_cases) / sizeof(math_cases[0]); c++) {
    const math_case *mc = &math_cases[c];
    for (size_t v = 0; v < variant_count; v++) {
      accuracy result = {0.0, 0.0f, 0};
      /* Every 2048th bit pattern, offset by an odd amount so that the mantissas vary. */
      for (uint32_t i = 0; i < BIT_WALK_COUNT; i++) {
        const uint32_t bits = i * 2048u + (i * 0x9e3779b9u >> 21);
        memcpy(&x[i], &bits, sizeof(bits));
      }
      measure(variants[v], mc, x, BIT_WALK_COUNT, y, &result);
      thaw_test_rng rng = {42 + c};
      thaw_test_fill_uniform(&rng, x, DENSE_COUNT, mc->lo, mc->hi);
      measure(variants[v], mc, x, DENSE_COUNT, y, &result);
      /* Odd sizes: the same values through the masked tail. */
      const size_t edge_count = sizeof(edge_values) / sizeof(edge_values[0]);
      memcpy(x, edge_values, sizeof(edge_values));
      for (size_t e = 0; e < edge_count; e++) measure(variants[v], mc, x + e, 1, y, &result);
      measure(variants[v], mc, x, edge_count, y, &result);

      printf("%-7s %-7s max %.3f ulp at %a over %zu inputs\n", variants[v]->isa, mc->name,
             result.max_ulp, (double)result.worst_input, result.count);
      /* The bound is the vector math's; the scalar reference is libm's and printed only. */
      if (variants[v] != thaw_kernels_scalar() && !(result.max_ulp <= mc->max_ulp))
        fail_msg("%s %s: %.3f ulp at %a, bound %.1f", variants[v]->isa, mc->name,
                 result.max_ulp, (double)result.worst_input, mc->max_ulp);
    }
  }
  free(x);
  free(y);
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ulp_error_against_sleef),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
