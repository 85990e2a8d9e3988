#include <string.h>

#include "kernels/scalar.h"

void thaw_x_split__scalar(size_t outer, size_t count, const size_t *row_bytes, const void *x,
                          void *const *y) {
  const char *x_bytes = x;
  for (size_t row = 0; row < outer; row++) {
    for (size_t i = 0; i < count; i++) {
      memcpy((char *)y[i] + row * row_bytes[i], x_bytes, row_bytes[i]);
      x_bytes += row_bytes[i];
    }
  }
}
