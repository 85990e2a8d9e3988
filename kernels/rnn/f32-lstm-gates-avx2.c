#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/rnn/f32-rnn-gates-driver.h"

void thaw_f32_lstm_gates__avx2(size_t rows, size_t hidden_size, const float *projected,
                               size_t projected_stride, const float *recurrent,
                               size_t recurrent_stride, float *cell, float *hidden) {
  thaw_f32_lstm_gates_drive(rows, hidden_size, projected, projected_stride, recurrent,
                            recurrent_stride, cell, hidden);
}
