#include "kernels/rnn/rnn-driver.h"
#include "kernels/scalar.h"

void thaw_f32_gru_reset__scalar(size_t rows, size_t hidden_size, const float *projected,
                                size_t projected_stride, const float *recurrent,
                                size_t recurrent_stride, const float *hidden,
                                float *reset_hidden) {
  const size_t h = hidden_size;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    for (size_t j = 0; j < h; j++) {
      const float reset = thaw_rnn_sigmoid(p[h + j] + r[h + j]);
      reset_hidden[b * h + j] = reset * hidden[b * h + j];
    }
  }
}
