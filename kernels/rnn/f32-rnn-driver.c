/*
 * The LSTM/GRU driver shared by every ISA: one GEMM for the input projection of the whole
 * sequence, then per step and direction a GEMM for h * R and the ISA's gate kernel
 * (rnn-driver.h). Directions are independent, so they run one after the other through the
 * same state buffers.
 */
#include <string.h>

#include "kernels/rnn/rnn-driver.h"
#include "kernels/scalar.h"

/* Byte offsets of the scratch regions, each 64-byte aligned. */
typedef struct rnn_scratch_layout {
  size_t projected; /* [steps * batch rows in X's order, directions * direction_columns] */
  size_t gates;     /* [batch, direction_columns]: one step's recurrent products */
  size_t hidden;    /* [batch, hidden] */
  size_t second;    /* [batch, hidden]: the LSTM cell, or the GRU's reset hidden state */
  size_t gemm;      /* the GEMM's own scratch (for a row-major W or R) */
  size_t total;
} rnn_scratch_layout;

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static thaw_gemm_params projection_product(const thaw_rnn_params *p, bool biased) {
  const size_t columns = p->directions * p->direction_columns;
  return (thaw_gemm_params){
      .m = p->steps * p->batch,
      .n = columns,
      .k = p->input_size,
      .a_row_stride = (ptrdiff_t)p->input_size,
      .a_k_stride = 1,
      .b_packed = p->w_packed,
      .b_row_stride = (ptrdiff_t)columns,
      .b_column_stride = 1,
      .c_row_stride = (ptrdiff_t)columns,
      .bias = biased ? THAW_GEMM_BIAS_PER_COLUMN : THAW_GEMM_BIAS_NONE,
      .activation = {.func = THAW_KERNEL_IDENTITY},
  };
}

/* h * R for `n` gate columns of one direction, into the gates buffer. */
static thaw_gemm_params recurrent_product(const thaw_rnn_params *p, size_t n, bool biased) {
  return (thaw_gemm_params){
      .m = p->batch,
      .n = n,
      .k = p->hidden_size,
      .a_row_stride = (ptrdiff_t)p->hidden_size,
      .a_k_stride = 1,
      .b_packed = p->r_packed,
      .b_row_stride = (ptrdiff_t)(p->directions * p->direction_columns),
      .b_column_stride = 1,
      .c_row_stride = (ptrdiff_t)p->direction_columns,
      .bias = biased ? THAW_GEMM_BIAS_PER_COLUMN : THAW_GEMM_BIAS_NONE,
      .activation = {.func = THAW_KERNEL_IDENTITY},
  };
}

/* The widest recurrent product a step makes: all LSTM gates, or GRU's z and r. */
static size_t widest_recurrent_columns(const thaw_rnn_params *p) {
  return (p->cell == THAW_RNN_LSTM ? 4 : 2) * p->hidden_size;
}

/* Append `floats` floats at the next 64-byte boundary; false on overflow. */
static bool append_floats(size_t *end, size_t floats, size_t *start) {
  size_t bytes, aligned;
  if (__builtin_mul_overflow(floats, sizeof(float), &bytes) ||
      __builtin_add_overflow(*end, (size_t)63, &aligned)) {
    return false;
  }
  *start = aligned & ~(size_t)63;
  return !__builtin_add_overflow(*start, bytes, end);
}

static bool plan_scratch(const thaw_rnn_params *p, rnn_scratch_layout *layout) {
  size_t rows, columns, projected, gates, state;
  if (__builtin_mul_overflow(p->steps, p->batch, &rows) ||
      __builtin_mul_overflow(p->directions, p->direction_columns, &columns) ||
      __builtin_mul_overflow(rows, columns, &projected) ||
      __builtin_mul_overflow(p->batch, p->direction_columns, &gates) ||
      __builtin_mul_overflow(p->batch, p->hidden_size, &state)) {
    return false;
  }
  const thaw_gemm_params projection = projection_product(p, false);
  const thaw_gemm_params recurrent = recurrent_product(p, widest_recurrent_columns(p), false);
  const size_t gemm_bytes = max_size(thaw_f32_gemm_scratch_size(&projection),
                                     thaw_f32_gemm_scratch_size(&recurrent));
  layout->total = 0;
  return append_floats(&layout->total, projected, &layout->projected) &&
         append_floats(&layout->total, gates, &layout->gates) &&
         append_floats(&layout->total, state, &layout->hidden) &&
         append_floats(&layout->total, state, &layout->second) &&
         append_floats(&layout->total, gemm_bytes / sizeof(float), &layout->gemm);
}

size_t thaw_f32_rnn_scratch_size(const thaw_rnn_params *p) {
  rnn_scratch_layout layout;
  return plan_scratch(p, &layout) ? layout.total : SIZE_MAX;
}

/* The columns from `column` of direction d's block of R, as the GEMM's B operand. */
static const float *recurrent_weights(const thaw_rnn_params *p, const float *r, size_t d,
                                      size_t column) {
  const size_t first = d * p->direction_columns + column;
  /* A packed block starts on a panel boundary: every block column is a multiple of 16. */
  return p->r_packed ? r + first * p->hidden_size : r + first;
}

/* Direction d's rows of a state tensor (initial_h, y_h, ...) to or from a dense [batch,
 * hidden] buffer. */
static void load_state(const thaw_rnn_params *p, const float *source, size_t d, float *state) {
  const size_t row_bytes = p->hidden_size * sizeof(float);
  if (source == NULL) {
    memset(state, 0, p->batch * row_bytes);
    return;
  }
  for (size_t b = 0; b < p->batch; b++) {
    const size_t row = d * p->state_direction_stride + b * p->state_batch_stride;
    memcpy(state + b * p->hidden_size, source + row * p->hidden_size, row_bytes);
  }
}

static void store_state(const thaw_rnn_params *p, const float *state, size_t d, float *target) {
  for (size_t b = 0; b < p->batch; b++) {
    const size_t row = d * p->state_direction_stride + b * p->state_batch_stride;
    memcpy(target + row * p->hidden_size, state + b * p->hidden_size,
           p->hidden_size * sizeof(float));
  }
}

static void store_step_output(const thaw_rnn_params *p, const float *hidden, size_t step,
                              size_t d, float *y) {
  for (size_t b = 0; b < p->batch; b++) {
    const size_t row = step * p->y_step_stride + d * p->y_direction_stride + b * p->y_batch_stride;
    memcpy(y + row * p->hidden_size, hidden + b * p->hidden_size, p->hidden_size * sizeof(float));
  }
}

typedef struct rnn_buffers {
  const float *projected;
  float *gates, *hidden, *second;
  void *gemm;
} rnn_buffers;

static void lstm_step(const thaw_rnn_isa *isa, const thaw_rnn_params *p,
                      const thaw_rnn_tensors *t, size_t d, const float *projected,
                      size_t projected_stride, const rnn_buffers *buffers) {
  const thaw_gemm_params product = recurrent_product(p, 4 * p->hidden_size, false);
  isa->gemm(&product, buffers->hidden, recurrent_weights(p, t->r, d, 0), NULL, buffers->gates,
            buffers->gemm, &thaw_parallel_serial);
  isa->lstm_gates(p->batch, p->hidden_size, projected, projected_stride, buffers->gates,
                  p->direction_columns, buffers->second, buffers->hidden);
}

static void gru_step(const thaw_rnn_isa *isa, const thaw_rnn_params *p, const thaw_rnn_tensors *t,
                     size_t d, const float *projected, size_t projected_stride,
                     const rnn_buffers *buffers) {
  const size_t candidate = p->candidate_column;
  const thaw_gemm_params update_reset = recurrent_product(p, 2 * p->hidden_size, false);
  isa->gemm(&update_reset, buffers->hidden, recurrent_weights(p, t->r, d, 0), NULL,
            buffers->gates, buffers->gemm, &thaw_parallel_serial);
  const float *candidate_weights = recurrent_weights(p, t->r, d, candidate);
  if (p->linear_before_reset) {
    const bool biased = t->candidate_bias != NULL;
    const thaw_gemm_params product = recurrent_product(p, p->hidden_size, biased);
    isa->gemm(&product, buffers->hidden, candidate_weights,
              biased ? t->candidate_bias + d * p->hidden_size : NULL,
              buffers->gates + candidate, buffers->gemm, &thaw_parallel_serial);
  } else {
    isa->gru_reset(p->batch, p->hidden_size, projected, projected_stride, buffers->gates,
                   p->direction_columns, buffers->hidden, buffers->second);
    const thaw_gemm_params product = recurrent_product(p, p->hidden_size, false);
    isa->gemm(&product, buffers->second, candidate_weights, NULL, buffers->gates + candidate,
              buffers->gemm, &thaw_parallel_serial);
  }
  isa->gru_gates(p->batch, p->hidden_size, candidate, p->linear_before_reset, projected,
                 projected_stride, buffers->gates, p->direction_columns, buffers->hidden);
}

static void run_direction(const thaw_rnn_isa *isa, const thaw_rnn_params *p,
                          const thaw_rnn_tensors *t, size_t d, const rnn_buffers *buffers) {
  const bool backwards = p->reverse || d == 1;
  const size_t columns = p->directions * p->direction_columns;
  const size_t projected_stride = p->x_batch_stride * columns;
  load_state(p, t->initial_h, d, buffers->hidden);
  if (p->cell == THAW_RNN_LSTM) load_state(p, t->initial_c, d, buffers->second);
  for (size_t s = 0; s < p->steps; s++) {
    const size_t step = backwards ? p->steps - 1 - s : s;
    const float *projected =
        buffers->projected + step * p->x_step_stride * columns + d * p->direction_columns;
    if (p->cell == THAW_RNN_LSTM)
      lstm_step(isa, p, t, d, projected, projected_stride, buffers);
    else
      gru_step(isa, p, t, d, projected, projected_stride, buffers);
    if (t->y != NULL) store_step_output(p, buffers->hidden, step, d, t->y);
  }
  if (t->y_h != NULL) store_state(p, buffers->hidden, d, t->y_h);
  if (t->y_c != NULL) store_state(p, buffers->second, d, t->y_c);
}

void thaw_f32_rnn_drive(const thaw_rnn_isa *isa, const thaw_rnn_params *p,
                        const thaw_rnn_tensors *t, void *scratch) {
  rnn_scratch_layout layout;
  /* The caller sized scratch with thaw_f32_rnn_scratch_size, so the plan exists. */
  if (!plan_scratch(p, &layout)) return;
  uint8_t *base = scratch;
  float *projected = (float *)(base + layout.projected);
  const rnn_buffers buffers = {
      .projected = projected,
      .gates = (float *)(base + layout.gates),
      .hidden = (float *)(base + layout.hidden),
      .second = (float *)(base + layout.second),
      .gemm = base + layout.gemm,
  };
  const thaw_gemm_params projection = projection_product(p, t->bias != NULL);
  isa->gemm(&projection, t->x, t->w, t->bias, projected, buffers.gemm, &thaw_parallel_serial);
  for (size_t d = 0; d < p->directions; d++) run_direction(isa, p, t, d, &buffers);
}
