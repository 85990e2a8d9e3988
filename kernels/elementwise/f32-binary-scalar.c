#include <math.h>

#include "kernels/broadcast-scalar.h"
#include "kernels/scalar.h"

static inline float apply_binary(thaw_kernel_binary func, float a, float b) {
  switch (func) {
  case THAW_KERNEL_ADD: return a + b;
  case THAW_KERNEL_SUB: return a - b;
  case THAW_KERNEL_MUL: return a * b;
  case THAW_KERNEL_DIV: return a / b;
  case THAW_KERNEL_POW: return powf(a, b);
  /* ONNX Max/Min propagate NaN, which fmaxf/fminf would drop. */
  case THAW_KERNEL_MAX: return isnan(a) || a > b ? a : b;
  case THAW_KERNEL_MIN: return isnan(a) || a < b ? a : b;
  }
  /* The runtime validates the function code when the model is opened. */
  return a;
}

void thaw_f32_binary__scalar(const thaw_binary_params *p, const float *a, const float *b,
                             float *y) {
  const thaw_broadcast *iter = &p->iter;
  const size_t rows = thaw_broadcast_rows(iter);
  const size_t length = thaw_broadcast_row_length(iter);
  const ptrdiff_t a_step = iter->strides[0][iter->rank - 1];
  const ptrdiff_t b_step = iter->strides[1][iter->rank - 1];
  thaw_broadcast_cursor cursor;
  thaw_broadcast_cursor_init(&cursor);
  for (size_t row = 0; row < rows; row++) {
    const float *a_row = a + cursor.offset[0];
    const float *b_row = b + cursor.offset[1];
    for (size_t i = 0; i < length; i++)
      y[i] = apply_binary(p->func, a_row[(ptrdiff_t)i * a_step], b_row[(ptrdiff_t)i * b_step]);
    y += length;
    thaw_broadcast_cursor_advance(iter, 2, &cursor);
  }
}
