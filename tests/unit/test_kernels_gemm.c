/* MatMul (with fused bias and activation, and batch broadcasting) of every variant against a
 * naive double-precision product. */
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct matmul_case {
  size_t m, n, k;
  uint32_t batch_rank;
  size_t a_batch[3], b_batch[3]; /* NumPy batch shapes, 1 on broadcast axes */
  bool has_bias;
  thaw_unary_params activation;
} matmul_case;

static void run_case(const matmul_case *c, thaw_test_rng *rng) {
  thaw_matmul_params p = {.m = c->m, .n = c->n, .k = c->k, .batch_rank = c->batch_rank,
                          .activation = c->activation};
  size_t a_matrices = 1, b_matrices = 1, y_matrices = 1;
  ptrdiff_t a_stride = (ptrdiff_t)(c->m * c->k), b_stride = (ptrdiff_t)(c->k * c->n);
  for (uint32_t d = c->batch_rank; d-- > 0;) {
    p.batch_shape[d] = c->a_batch[d] > c->b_batch[d] ? c->a_batch[d] : c->b_batch[d];
    p.a_batch_stride[d] = c->a_batch[d] == 1 ? 0 : a_stride;
    p.b_batch_stride[d] = c->b_batch[d] == 1 ? 0 : b_stride;
    a_stride *= (ptrdiff_t)c->a_batch[d];
    b_stride *= (ptrdiff_t)c->b_batch[d];
    a_matrices *= c->a_batch[d];
    b_matrices *= c->b_batch[d];
    y_matrices *= p.batch_shape[d];
  }
  float *a = oracle_random(rng, a_matrices * c->m * c->k, -1, 1);
  float *b = oracle_random(rng, b_matrices * c->k * c->n, -1, 1);
  float *bias = c->has_bias ? oracle_random(rng, c->n, -1, 1) : NULL;
  const size_t y_count = y_matrices * c->m * c->n;
  double *expected = oracle_doubles(y_count);
  for (size_t e = 0; e < y_count; e++) {
    const size_t matrix = e / (c->m * c->n), i = e / c->n % c->m, j = e % c->n;
    const size_t a_matrix = oracle_broadcast_offset(c->batch_rank, p.batch_shape, c->a_batch,
                                                    c->batch_rank ? matrix : 0);
    const size_t b_matrix = oracle_broadcast_offset(c->batch_rank, p.batch_shape, c->b_batch,
                                                    c->batch_rank ? matrix : 0);
    double sum = bias ? bias[j] : 0.0;
    for (size_t kk = 0; kk < c->k; kk++)
      sum += (double)a[(a_matrix * c->m + i) * c->k + kk] * b[(b_matrix * c->k + kk) * c->n + j];
    expected[e] = oracle_unary(&c->activation, sum);
  }
  for (size_t v = 0; v < variant_count; v++) {
    float *y = oracle_floats(y_count);
    variants[v]->f32_matmul(&p, a, b, bias, y);
    char what[128];
    snprintf(what, sizeof(what), "%s matmul %zux%zux%zu batch rank %u", variants[v]->isa, c->m,
             c->n, c->k, c->batch_rank);
    thaw_test_assert_close(what, y, expected, y_count, 1e-5, 1e-6 * (double)c->k);
    free(y);
  }
  free(a);
  free(b);
  free(bias);
  free(expected);
}

static void test_matmul(void **state) {
  (void)state;
  static const matmul_case cases[] = {
      {1, 1, 1, 0, {0}, {0}, false, {THAW_KERNEL_IDENTITY, 0, 0}},
      {7, 13, 29, 0, {0}, {0}, true, {THAW_KERNEL_IDENTITY, 0, 0}},
      {1, 37, 67, 0, {0}, {0}, true, {THAW_KERNEL_RELU, 0, 0}}, /* GEMV */
      {19, 1, 33, 0, {0}, {0}, false, {THAW_KERNEL_SIGMOID, 0, 0}},
      {5, 17, 1, 0, {0}, {0}, true, {THAW_KERNEL_GELU, 0, 0}},
      {23, 31, 41, 0, {0}, {0}, true, {THAW_KERNEL_CLIP, -0.5f, 0.75f}},
      /* batched, both sides dense */
      {3, 5, 7, 1, {4}, {4}, false, {THAW_KERNEL_IDENTITY, 0, 0}},
      /* activations [2,3,M,K] times shared weights [K,N] (a Linear layer) */
      {9, 11, 6, 2, {2, 3}, {1, 1}, true, {THAW_KERNEL_HARD_SWISH, 0, 0}},
      /* broadcast on both sides: [2,1,M,K] x [1,3,K,N] */
      {5, 3, 7, 2, {2, 1}, {1, 3}, false, {THAW_KERNEL_TANH, 0, 0}},
      /* broadcast a: [1,M,K] x [4,K,N] */
      {6, 9, 10, 1, {1}, {4}, true, {THAW_KERNEL_SILU, 0, 0}},
      /* rank-3 batch with a middle broadcast axis */
      {2, 3, 5, 3, {2, 1, 3}, {2, 2, 3}, true, {THAW_KERNEL_LEAKY_RELU, 0.1f, 0}},
  };
  thaw_test_rng rng = {5};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) run_case(&cases[i], &rng);
}

/* [[1,2],[3,4]] x [[5,6],[7,8]] + [1,-100] then ReLU = [[20,0],[44,0]]. */
static void test_matmul_hand_values(void **state) {
  (void)state;
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, bias[2] = {1, -100};
  const double expected[4] = {20, 0, 44, 0};
  const thaw_matmul_params p = {.m = 2, .n = 2, .k = 2, .activation = {THAW_KERNEL_RELU, 0, 0}};
  for (size_t v = 0; v < variant_count; v++) {
    float y[4];
    variants[v]->f32_matmul(&p, a, b, bias, y);
    thaw_test_assert_close(variants[v]->isa, y, expected, 4, 0, 0);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_matmul_hand_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
