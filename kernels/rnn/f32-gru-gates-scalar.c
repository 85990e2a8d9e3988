#include <math.h>

#include "kernels/rnn/rnn-driver.h"
#include "kernels/scalar.h"

void thaw_f32_gru_gates__scalar(size_t rows, size_t hidden_size, size_t candidate_column,
                                bool linear_before_reset, const float *projected,
                                size_t projected_stride, const float *recurrent,
                                size_t recurrent_stride, float *hidden) {
  const size_t h = hidden_size, c = candidate_column;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *state = hidden + b * h;
    for (size_t j = 0; j < h; j++) {
      const float update = thaw_rnn_sigmoid(p[j] + r[j]);
      const float recurrent_candidate =
          linear_before_reset ? thaw_rnn_sigmoid(p[h + j] + r[h + j]) * r[c + j] : r[c + j];
      const float candidate = tanhf(p[c + j] + recurrent_candidate);
      state[j] = (1.0f - update) * candidate + update * state[j];
    }
  }
}
