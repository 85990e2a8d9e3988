#include <math.h>

#include "kernels/rnn/rnn-driver.h"
#include "kernels/scalar.h"

void thaw_f32_lstm_gates__scalar(size_t rows, size_t hidden_size, const float *projected,
                                 size_t projected_stride, const float *recurrent,
                                 size_t recurrent_stride, float *cell, float *hidden) {
  const size_t h = hidden_size;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *c = cell + b * h, *out = hidden + b * h;
    for (size_t j = 0; j < h; j++) {
      const float input = thaw_rnn_sigmoid(p[j] + r[j]);
      const float output = thaw_rnn_sigmoid(p[h + j] + r[h + j]);
      const float forget = thaw_rnn_sigmoid(p[2 * h + j] + r[2 * h + j]);
      const float candidate = tanhf(p[3 * h + j] + r[3 * h + j]);
      c[j] = forget * c[j] + input * candidate;
      out[j] = output * tanhf(c[j]);
    }
  }
}
