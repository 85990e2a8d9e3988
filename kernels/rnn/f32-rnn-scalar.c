#include "kernels/rnn/rnn-driver.h"
#include "kernels/scalar.h"

static const thaw_rnn_isa scalar_rnn = {
    .gemm = thaw_f32_gemm__scalar,
    .lstm_gates = thaw_f32_lstm_gates__scalar,
    .gru_reset = thaw_f32_gru_reset__scalar,
    .gru_gates = thaw_f32_gru_gates__scalar,
};

void thaw_f32_rnn__scalar(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch) {
  thaw_f32_rnn_drive(&scalar_rnn, p, t, scratch);
}
