#include "kernels/avx2.h"
#include "kernels/math/f32-vector-avx2.h"
#include "kernels/rnn/f32-rnn-gates-driver.h"

void thaw_f32_gru_gates__avx2(size_t rows, size_t hidden_size, size_t candidate_column,
                              bool linear_before_reset, const float *projected,
                              size_t projected_stride, const float *recurrent,
                              size_t recurrent_stride, float *hidden) {
  thaw_f32_gru_gates_drive(rows, hidden_size, candidate_column, linear_before_reset, projected,
                           projected_stride, recurrent, recurrent_stride, hidden);
}
