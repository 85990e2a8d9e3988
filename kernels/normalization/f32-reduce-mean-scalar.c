#include "kernels/scalar.h"

/* Accumulates whole inner rows into y so the reads stay contiguous when inner > 1. */
void thaw_f32_reduce_mean__scalar(size_t outer, size_t reduce, size_t inner, const float *x,
                                  float *y) {
  const float inverse_count = 1.0f / (float)reduce;
  for (size_t o = 0; o < outer; o++) {
    const float *x_block = x + o * reduce * inner;
    float *y_row = y + o * inner;
    for (size_t j = 0; j < inner; j++) y_row[j] = 0.0f;
    for (size_t r = 0; r < reduce; r++)
      for (size_t j = 0; j < inner; j++) y_row[j] += x_block[r * inner + j];
    for (size_t j = 0; j < inner; j++) y_row[j] *= inverse_count;
  }
}
