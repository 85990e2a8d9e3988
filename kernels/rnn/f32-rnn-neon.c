#include "kernels/neon.h"
#include "kernels/rnn/rnn-driver.h"

static const thaw_rnn_isa neon_rnn = {
    .gemm = thaw_f32_gemm__neon,
    .lstm_gates = thaw_f32_lstm_gates__neon,
    .gru_reset = thaw_f32_gru_reset__neon,
    .gru_gates = thaw_f32_gru_gates__neon,
};

void thaw_f32_rnn__neon(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch) {
  thaw_f32_rnn_drive(&neon_rnn, p, t, scratch);
}
