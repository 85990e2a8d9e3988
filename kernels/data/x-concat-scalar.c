#include <string.h>

#include "kernels/scalar.h"

void thaw_x_concat__scalar(size_t outer, size_t count, const size_t *row_bytes,
                           const void *const *x, void *y) {
  char *y_bytes = y;
  for (size_t row = 0; row < outer; row++) {
    for (size_t i = 0; i < count; i++) {
      memcpy(y_bytes, (const char *)x[i] + row * row_bytes[i], row_bytes[i]);
      y_bytes += row_bytes[i];
    }
  }
}
