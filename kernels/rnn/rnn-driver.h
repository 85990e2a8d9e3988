/*
 * The LSTM/GRU driver shared by every ISA (f32-rnn-driver.c) and the gate microkernels it calls.
 * Internal to kernels/.
 *
 * The driver computes the input projection of every step and direction with one GEMM (X * W +
 * bias), then walks the steps: per direction, the recurrent product h * R is one more GEMM with
 * m = batch (a GEMV for a single stream), and a gate kernel turns projection plus recurrent
 * product into the new state. The gate kernels are the only ISA-specific code.
 *
 * A gate kernel handles `rows` batch rows of one step. Row b's gates start at projected + b *
 * projected_stride and recurrent + b * recurrent_stride; its states (cell, hidden, reset_hidden)
 * at b * hidden_size. Gate g of a row lies in the hidden_size floats from its gate column (LSTM
 * i o f c at 0, H, 2H, 3H; GRU z r at 0, H and the candidate at candidate_column).
 */
#ifndef THAW_KERNELS_RNN_DRIVER_H
#define THAW_KERNELS_RNN_DRIVER_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"

/* i, o, f = sigmoid(gates), g = tanh(gate c); cell = f * cell + i * g; hidden = o * tanh(cell). */
typedef void (*thaw_f32_lstm_gates_fn)(size_t rows, size_t hidden_size, const float *projected,
                                       size_t projected_stride, const float *recurrent,
                                       size_t recurrent_stride, float *cell, float *hidden);

/* reset_hidden = sigmoid(r) * hidden: the left operand of the candidate's recurrent product in
 * the default GRU (linear_before_reset 0). */
typedef void (*thaw_f32_gru_reset_fn)(size_t rows, size_t hidden_size, const float *projected,
                                      size_t projected_stride, const float *recurrent,
                                      size_t recurrent_stride, const float *hidden,
                                      float *reset_hidden);

/* z = sigmoid(z gates); candidate = tanh(projected c + recurrent c), or with
 * linear_before_reset tanh(projected c + sigmoid(r) * recurrent c); hidden = (1 - z) *
 * candidate + z * hidden. */
typedef void (*thaw_f32_gru_gates_fn)(size_t rows, size_t hidden_size, size_t candidate_column,
                                      bool linear_before_reset, const float *projected,
                                      size_t projected_stride, const float *recurrent,
                                      size_t recurrent_stride, float *hidden);

/* The scalar gate kernels' logistic function; 1 / (1 + inf) is 0, so no input overflows it. */
static inline float thaw_rnn_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* What one ISA brings to the shared driver. */
typedef struct thaw_rnn_isa {
  void (*gemm)(const thaw_gemm_params *p, const float *a, const float *b, const float *bias,
               float *c, void *scratch, const thaw_parallel *parallel);
  thaw_f32_lstm_gates_fn lstm_gates;
  thaw_f32_gru_reset_fn gru_reset;
  thaw_f32_gru_gates_fn gru_gates;
} thaw_rnn_isa;

void thaw_f32_rnn_drive(const thaw_rnn_isa *isa, const thaw_rnn_params *p,
                        const thaw_rnn_tensors *t, void *scratch);

#endif /* THAW_KERNELS_RNN_DRIVER_H */
