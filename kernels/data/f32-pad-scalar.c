#include "kernels/scalar.h"

/* The input index that position `i` (relative to the start of the input, so negative inside
 * the leading padding) reads along an axis of `length`, or -1 where the constant applies. */
static ptrdiff_t source_index(int mode, ptrdiff_t i, size_t length) {
  const ptrdiff_t n = (ptrdiff_t)length;
  if (i >= 0 && i < n) return i;
  switch (mode) {
  case 3: /* edge */
    return i < 0 ? 0 : n - 1;
  case 2: { /* reflect: mirror about the first and last element without repeating them */
    if (n == 1) return 0;
    const ptrdiff_t period = 2 * (n - 1);
    ptrdiff_t folded = i % period;
    if (folded < 0) folded += period;
    return folded < n ? folded : period - folded;
  }
  default: /* constant */
    return -1;
  }
}

void thaw_f32_pad__scalar(const thaw_pad_params *p, const float *x, float *y) {
  const uint32_t last = p->rank - 1;
  size_t in_strides[THAW_MAX_RANK];
  size_t stride = 1;
  for (uint32_t d = p->rank; d-- > 0;) {
    in_strides[d] = stride;
    stride *= p->in_shape[d];
  }
  size_t rows = 1;
  for (uint32_t d = 0; d < last; d++) rows *= p->out_shape[d];
  const size_t out_length = p->out_shape[last], in_length = p->in_shape[last];
  const ptrdiff_t begin = (ptrdiff_t)p->begin[last];

  for (size_t row = 0; row < rows; row++) {
    /* Which input row this output row reads, axis by axis from the innermost outer axis. */
    bool constant_row = false;
    size_t x_offset = 0, remaining = row;
    for (uint32_t d = last; d-- > 0;) {
      const size_t index = remaining % p->out_shape[d];
      remaining /= p->out_shape[d];
      const ptrdiff_t source =
          source_index(p->mode, (ptrdiff_t)index - (ptrdiff_t)p->begin[d], p->in_shape[d]);
      if (source < 0) constant_row = true;
      else x_offset += (size_t)source * in_strides[d];
    }
    float *y_row = y + row * out_length;
    if (constant_row) {
      for (size_t i = 0; i < out_length; i++) y_row[i] = p->value;
      continue;
    }
    const float *x_row = x + x_offset;
    for (size_t i = 0; i < out_length; i++) {
      const ptrdiff_t source = source_index(p->mode, (ptrdiff_t)i - begin, in_length);
      y_row[i] = source < 0 ? p->value : x_row[source];
    }
  }
}
