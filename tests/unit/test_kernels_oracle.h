/*
 * Shared by the kernel testers: the list of kernel tables under test and double-precision
 * oracles used by more than one family (the activation that conv and matmul fuse).
 */
#ifndef THAW_TEST_KERNELS_ORACLE_H
#define THAW_TEST_KERNELS_ORACLE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "test_support.h"

#define ORACLE_MAX_VARIANTS 16

/* Every table this CPU runs; the scalar reference must come first. */
static inline size_t oracle_variants(const thaw_kernels **tables) {
  const size_t count = thaw_kernels_variants(tables, ORACLE_MAX_VARIANTS);
  assert_true(count >= 1);
  assert_ptr_equal(tables[0], thaw_kernels_scalar());
  return count;
}

static inline double oracle_unary(const thaw_unary_params *p, double x) {
  const double alpha = p->alpha, beta = p->beta;
  switch (p->func) {
  case THAW_KERNEL_IDENTITY: return x;
  case THAW_KERNEL_RELU: return x < 0.0 ? 0.0 : x;
  case THAW_KERNEL_CLIP: return x < alpha ? alpha : (x > beta ? beta : x);
  case THAW_KERNEL_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case THAW_KERNEL_HARD_SIGMOID: return fmax(0.0, fmin(1.0, alpha * x + beta));
  case THAW_KERNEL_HARD_SWISH: return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
  case THAW_KERNEL_TANH: return tanh(x);
  case THAW_KERNEL_ERF: return erf(x);
  case THAW_KERNEL_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  case THAW_KERNEL_SILU: return x / (1.0 + exp(-x));
  case THAW_KERNEL_LEAKY_RELU: return x < 0.0 ? alpha * x : x;
  case THAW_KERNEL_SQRT: return sqrt(x);
  case THAW_KERNEL_EXP: return exp(x);
  case THAW_KERNEL_NEG: return -x;
  case THAW_KERNEL_ABS: return fabs(x);
  case THAW_KERNEL_RECIPROCAL: return 1.0 / x;
  case THAW_KERNEL_LOG: return log(x);
  }
  fail_msg("unknown unary function %d", (int)p->func);
  return 0.0;
}

/* malloc'ed floats, uniform in [lo, hi). */
static inline float *oracle_random(thaw_test_rng *rng, size_t n, float lo, float hi) {
  float *data = malloc((n ? n : 1) * sizeof(float));
  assert_non_null(data);
  thaw_test_fill_uniform(rng, data, n, lo, hi);
  return data;
}

static inline double *oracle_doubles(size_t n) {
  double *data = calloc(n ? n : 1, sizeof(double));
  assert_non_null(data);
  return data;
}

static inline float *oracle_floats(size_t n) {
  float *data = calloc(n ? n : 1, sizeof(float));
  assert_non_null(data);
  return data;
}

/* NumPy broadcasting of operands of `shapes[k]` (all of `rank`, 1 on broadcast axes) to
 * `out_shape`: dense strides of each operand's own shape, zeroed where it has extent 1. */
static inline void oracle_broadcast(uint32_t rank, const size_t *out_shape, size_t operand_count,
                                    const size_t *const *shapes, thaw_broadcast *iter) {
  memset(iter, 0, sizeof(*iter));
  iter->rank = rank;
  for (uint32_t d = 0; d < rank; d++) iter->shape[d] = out_shape[d];
  for (size_t k = 0; k < operand_count; k++) {
    ptrdiff_t stride = 1;
    for (uint32_t d = rank; d-- > 0;) {
      iter->strides[k][d] = shapes[k][d] == 1 ? 0 : stride;
      stride *= (ptrdiff_t)shapes[k][d];
    }
  }
}

/* Element offset, in an operand of `shape`, of flat output element `flat` of `out_shape`:
 * computed by decomposing the index, independently of the kernels' stride walk. */
static inline size_t oracle_broadcast_offset(uint32_t rank, const size_t *out_shape,
                                             const size_t *shape, size_t flat) {
  size_t index[THAW_MAX_RANK];
  for (uint32_t d = rank; d-- > 0;) {
    index[d] = flat % out_shape[d];
    flat /= out_shape[d];
  }
  size_t offset = 0;
  for (uint32_t d = 0; d < rank; d++) offset = offset * shape[d] + (shape[d] == 1 ? 0 : index[d]);
  return offset;
}

static inline size_t oracle_product(uint32_t rank, const size_t *shape) {
  size_t product = 1;
  for (uint32_t d = 0; d < rank; d++) product *= shape[d];
  return product;
}

#endif /* THAW_TEST_KERNELS_ORACLE_H */
