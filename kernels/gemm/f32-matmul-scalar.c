#include "kernels/scalar.h"

/* One row of y at a time, accumulated in i-k-j order so the inner loop walks b and y
 * contiguously; the fused activation then runs over the finished row. */
static void matmul_single(const thaw_matmul_params *p, const float *a, const float *b,
                          const float *bias, float *y) {
  for (size_t i = 0; i < p->m; i++) {
    float *y_row = y + i * p->n;
    for (size_t j = 0; j < p->n; j++) y_row[j] = bias != NULL ? bias[j] : 0.0f;
    const float *a_row = a + i * p->k;
    for (size_t kk = 0; kk < p->k; kk++) {
      const float a_value = a_row[kk];
      const float *b_row = b + kk * p->n;
      for (size_t j = 0; j < p->n; j++) y_row[j] += a_value * b_row[j];
    }
    thaw_f32_unary__scalar(&p->activation, p->n, y_row, y_row);
  }
}

void thaw_f32_matmul__scalar(const thaw_matmul_params *p, const float *a, const float *b,
                             const float *bias, float *y) {
  size_t batch_count = 1;
  for (uint32_t d = 0; d < p->batch_rank; d++) batch_count *= p->batch_shape[d];
  const size_t y_matrix = p->m * p->n;
  for (size_t batch = 0; batch < batch_count; batch++) {
    ptrdiff_t a_offset = 0, b_offset = 0;
    size_t remaining = batch;
    for (uint32_t d = p->batch_rank; d-- > 0;) {
      const ptrdiff_t index = (ptrdiff_t)(remaining % p->batch_shape[d]);
      remaining /= p->batch_shape[d];
      a_offset += index * p->a_batch_stride[d];
      b_offset += index * p->b_batch_stride[d];
    }
    matmul_single(p, a + a_offset, b + b_offset, bias, y + batch * y_matrix);
  }
}
