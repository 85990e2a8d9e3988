/*
 * The LSTM and GRU gate kernels of rnn-driver.h, one source for every vector ISA: an ISA's
 * f32-<gate>-<isa>.c includes its f32 vector interface (kernels/math/f32-vector-<isa>.h), then
 * this header, and defines its entry point as the matching drive function.
 *
 * A row's hidden units go a vector at a time; the last hidden_size % lanes through partial
 * loads and stores, so nothing past a row is touched. Each step is inlined twice, with a
 * constant full count for the main loop (plain loads and stores) and with the tail's count.
 */
#ifndef THAW_KERNELS_RNN_F32_RNN_GATES_DRIVER_H
#define THAW_KERNELS_RNN_F32_RNN_GATES_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#ifndef THAW_F32V_LANES
#error "include an ISA's kernels/math/f32-vector-<isa>.h before this driver"
#endif

/* The sum of a gate's input projection and recurrent product for `count` units. */
static inline __attribute__((always_inline)) thaw_f32v
thaw_rnn_gate_sum(const float *projected, const float *recurrent, size_t count) {
  return thaw_f32v_add(thaw_f32v_load_partial(projected, count),
                       thaw_f32v_load_partial(recurrent, count));
}

/* Units j .. j+count-1 of one LSTM row. */
static inline __attribute__((always_inline)) void
thaw_lstm_gates_step(size_t h, const float *p, const float *r, float *cell, float *hidden,
                     size_t count) {
  const thaw_f32v input = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p, r, count));
  const thaw_f32v output = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p + h, r + h, count));
  const thaw_f32v forget = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p + 2 * h, r + 2 * h, count));
  const thaw_f32v candidate = thaw_f32v_tanh(thaw_rnn_gate_sum(p + 3 * h, r + 3 * h, count));
  const thaw_f32v new_cell = thaw_f32v_fmadd(forget, thaw_f32v_load_partial(cell, count),
                                             thaw_f32v_mul(input, candidate));
  thaw_f32v_store_partial(cell, count, new_cell);
  thaw_f32v_store_partial(hidden, count, thaw_f32v_mul(output, thaw_f32v_tanh(new_cell)));
}

static inline void thaw_f32_lstm_gates_drive(size_t rows, size_t hidden_size,
                                             const float *projected, size_t projected_stride,
                                             const float *recurrent, size_t recurrent_stride,
                                             float *cell, float *hidden) {
  const size_t h = hidden_size, lanes = THAW_F32V_LANES;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *c = cell + b * h, *out = hidden + b * h;
    size_t j = 0;
    for (; j + lanes <= h; j += lanes) thaw_lstm_gates_step(h, p + j, r + j, c + j, out + j, lanes);
    if (j < h) thaw_lstm_gates_step(h, p + j, r + j, c + j, out + j, h - j);
  }
}

/* Units j .. j+count-1 of one GRU row's reset_hidden = sigmoid(r) * hidden. */
static inline __attribute__((always_inline)) void
thaw_gru_reset_step(size_t h, const float *p, const float *r, const float *hidden,
                    float *reset_hidden, size_t count) {
  const thaw_f32v reset = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p + h, r + h, count));
  thaw_f32v_store_partial(reset_hidden, count,
                          thaw_f32v_mul(reset, thaw_f32v_load_partial(hidden, count)));
}

static inline void thaw_f32_gru_reset_drive(size_t rows, size_t hidden_size,
                                            const float *projected, size_t projected_stride,
                                            const float *recurrent, size_t recurrent_stride,
                                            const float *hidden, float *reset_hidden) {
  const size_t h = hidden_size, lanes = THAW_F32V_LANES;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    const float *state = hidden + b * h;
    float *out = reset_hidden + b * h;
    size_t j = 0;
    for (; j + lanes <= h; j += lanes)
      thaw_gru_reset_step(h, p + j, r + j, state + j, out + j, lanes);
    if (j < h) thaw_gru_reset_step(h, p + j, r + j, state + j, out + j, h - j);
  }
}

/* Units j .. j+count-1 of one GRU row's new hidden state; c is the candidate's column. */
static inline __attribute__((always_inline)) void
thaw_gru_gates_step(size_t h, size_t c, bool linear_before_reset, const float *p, const float *r,
                    float *hidden, size_t count) {
  const thaw_f32v update = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p, r, count));
  thaw_f32v recurrent_candidate = thaw_f32v_load_partial(r + c, count);
  if (linear_before_reset) {
    const thaw_f32v reset = thaw_f32v_sigmoid(thaw_rnn_gate_sum(p + h, r + h, count));
    recurrent_candidate = thaw_f32v_mul(reset, recurrent_candidate);
  }
  const thaw_f32v candidate =
      thaw_f32v_tanh(thaw_f32v_add(thaw_f32v_load_partial(p + c, count), recurrent_candidate));
  /* (1 - z) * candidate + z * h = candidate + z * (h - candidate) */
  const thaw_f32v previous = thaw_f32v_load_partial(hidden, count);
  thaw_f32v_store_partial(hidden, count,
                          thaw_f32v_fmadd(update, thaw_f32v_sub(previous, candidate), candidate));
}

static inline void thaw_f32_gru_gates_drive(size_t rows, size_t hidden_size,
                                            size_t candidate_column, bool linear_before_reset,
                                            const float *projected, size_t projected_stride,
                                            const float *recurrent, size_t recurrent_stride,
                                            float *hidden) {
  const size_t h = hidden_size, c = candidate_column, lanes = THAW_F32V_LANES;
  for (size_t b = 0; b < rows; b++) {
    const float *p = projected + b * projected_stride, *r = recurrent + b * recurrent_stride;
    float *state = hidden + b * h;
    size_t j = 0;
    for (; j + lanes <= h; j += lanes)
      thaw_gru_gates_step(h, c, linear_before_reset, p + j, r + j, state + j, lanes);
    if (j < h) thaw_gru_gates_step(h, c, linear_before_reset, p + j, r + j, state + j, h - j);
  }
}

#endif /* THAW_KERNELS_RNN_F32_RNN_GATES_DRIVER_H */
