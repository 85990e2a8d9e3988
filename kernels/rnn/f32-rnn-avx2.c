#include "kernels/avx2.h"
#include "kernels/rnn/rnn-driver.h"

static const thaw_rnn_isa avx2_rnn = {
    .gemm = thaw_f32_gemm__avx2,
    .lstm_gates = thaw_f32_lstm_gates__avx2,
    .gru_reset = thaw_f32_gru_reset__avx2,
    .gru_gates = thaw_f32_gru_gates__avx2,
};

void thaw_f32_rnn__avx2(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch) {
  thaw_f32_rnn_drive(&avx2_rnn, p, t, scratch);
}
