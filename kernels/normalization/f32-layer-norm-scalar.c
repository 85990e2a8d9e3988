#include <math.h>

#include "kernels/scalar.h"

/* The statistics are accumulated in double: normalising divides by the spread, which
 * magnifies any rounding in a mean taken over a long row of large values (a float sum of
 * 768 values near 100 is already off by ~1e-4). Two passes (mean, then the mean squared
 * deviation) rather than E[x^2] - E[x]^2, which cancels when the mean dwarfs the spread. */
void thaw_f32_layer_norm__scalar(size_t rows, size_t cols, float epsilon, const float *x,
                                 const float *scale, const float *bias, float *y) {
  for (size_t r = 0; r < rows; r++) {
    const float *x_row = x + r * cols;
    float *y_row = y + r * cols;
    double sum = 0.0;
    for (size_t c = 0; c < cols; c++) sum += x_row[c];
    const double mean = sum / (double)cols;
    double squares = 0.0;
    for (size_t c = 0; c < cols; c++) {
      const double deviation = x_row[c] - mean;
      squares += deviation * deviation;
    }
    const float inverse_deviation = (float)(1.0 / sqrt(squares / (double)cols + epsilon));
    const float mean_float = (float)mean;
    for (size_t c = 0; c < cols; c++) {
      const float normalized = (x_row[c] - mean_float) * inverse_deviation;
      y_row[c] = normalized * scale[c] + (bias != NULL ? bias[c] : 0.0f);
    }
  }
}
