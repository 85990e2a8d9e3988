#include "kernels/neon.h"
#include "kernels/math/f32-vector-neon.h"
#include "kernels/rnn/f32-rnn-gates-driver.h"

void thaw_f32_gru_reset__neon(size_t rows, size_t hidden_size, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, const float *hidden,
                              float *reset_hidden) {
  thaw_f32_gru_reset_drive(rows, hidden_size, projected, projected_stride, recurrent,
                           recurrent_stride, hidden, reset_hidden);
}
