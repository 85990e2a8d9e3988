/* LSTM and GRU of every kernel table against a double-precision oracle written from the ONNX
 * operator definitions: forward, reverse and bidirectional, both sequence layouts, packed and
 * row-major weights, GRU in both reset forms, optional bias, initial states and outputs, with
 * hidden sizes that leave every tail of the 8-wide gate kernels and 16-wide panels. */
#include <math.h>

#include "formats/format.h"
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

typedef struct rnn_case {
  thaw_rnn_cell cell;
  size_t steps, batch, input_size, hidden;
  uint32_t direction; /* thaw_recurrent_direction */
  bool batch_first, packed, linear_before_reset;
  bool bias, initial_states, all_outputs;
} rnn_case;

/* Weights and inputs as ONNX gives them (per direction d: W [G*H, I], R [G*H, H], Wb and Rb
 * [G*H] each), in doubles for the oracle. */
typedef struct onnx_operands {
  size_t gates, directions;
  float *w, *r, *wb, *rb, *x, *h0, *c0;
} onnx_operands;

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Row (t, b) of X, (d, b) of a state and (t, d, b) of Y in either layout, as element offsets. */
static size_t x_at(const rnn_case *c, size_t t, size_t b) {
  return (c->batch_first ? b * c->steps + t : t * c->batch + b) * c->input_size;
}
static size_t state_at(const rnn_case *c, size_t directions, size_t d, size_t b) {
  return (c->batch_first ? b * directions + d : d * c->batch + b) * c->hidden;
}
static size_t y_at(const rnn_case *c, size_t directions, size_t t, size_t d, size_t b) {
  return (c->batch_first ? (b * c->steps + t) * directions + d
                         : (t * directions + d) * c->batch + b) * c->hidden;
}

/* The ONNX equations, step by step, in double. */
static void oracle(const rnn_case *c, const onnx_operands *o, double *y, double *y_h,
                   double *y_c) {
  const size_t h = c->hidden, in = c->input_size, g = o->gates;
  double *state = oracle_doubles(h), *cell = oracle_doubles(h), *next = oracle_doubles(h);
  double *pre = oracle_doubles(g * h);
  for (size_t d = 0; d < o->directions; d++) {
    const float *w = o->w + d * g * h * in, *r = o->r + d * g * h * h;
    const float *wb = o->wb + d * g * h, *rb = o->rb + d * g * h;
    const bool backwards = c->direction == THAW_RECURRENT_REVERSE || d == 1;
    for (size_t b = 0; b < c->batch; b++) {
      for (size_t j = 0; j < h; j++) {
        state[j] = c->initial_states ? o->h0[state_at(c, o->directions, d, b) + j] : 0.0;
        cell[j] = c->initial_states && o->c0 ? o->c0[state_at(c, o->directions, d, b) + j] : 0.0;
      }
      for (size_t s = 0; s < c->steps; s++) {
        const size_t t = backwards ? c->steps - 1 - s : s;
        const float *x = o->x + x_at(c, t, b);
        /* pre[row] = W x + Wb, and for every row but GRU's candidate also + R h + Rb. */
        for (size_t row = 0; row < g * h; row++) {
          double sum = c->bias ? wb[row] : 0.0;
          for (size_t i = 0; i < in; i++) sum += (double)w[row * in + i] * x[i];
          pre[row] = sum;
        }
        if (c->cell == THAW_RNN_LSTM) {
          for (size_t row = 0; row < 4 * h; row++) {
            double sum = c->bias ? rb[row] : 0.0;
            for (size_t k = 0; k < h; k++) sum += (double)r[row * h + k] * state[k];
            pre[row] += sum;
          }
          for (size_t j = 0; j < h; j++) {
            const double i_gate = sigmoid(pre[j]), o_gate = sigmoid(pre[h + j]);
            const double f_gate = sigmoid(pre[2 * h + j]), candidate = tanh(pre[3 * h + j]);
            cell[j] = f_gate * cell[j] + i_gate * candidate;
            next[j] = o_gate * tanh(cell[j]);
          }
        } else {
          double z[64], reset[64];
          for (size_t j = 0; j < h; j++) {
            double zs = c->bias ? rb[j] : 0.0, rs = c->bias ? rb[h + j] : 0.0;
            for (size_t k = 0; k < h; k++) {
              zs += (double)r[j * h + k] * state[k];
              rs += (double)r[(h + j) * h + k] * state[k];
            }
            z[j] = sigmoid(pre[j] + zs);
            reset[j] = sigmoid(pre[h + j] + rs);
          }
          for (size_t j = 0; j < h; j++) {
            double recurrent = c->bias ? rb[2 * h + j] : 0.0;
            if (c->linear_before_reset) {
              for (size_t k = 0; k < h; k++) recurrent += (double)r[(2 * h + j) * h + k] * state[k];
              recurrent *= reset[j];
            } else {
              for (size_t k = 0; k < h; k++)
                recurrent += (double)r[(2 * h + j) * h + k] * reset[k] * state[k];
            }
            const double candidate = tanh(pre[2 * h + j] + recurrent);
            next[j] = (1.0 - z[j]) * candidate + z[j] * state[j];
          }
        }
        memcpy(state, next, h * sizeof(double));
        for (size_t j = 0; j < h; j++) y[y_at(c, o->directions, t, d, b) + j] = state[j];
      }
      for (size_t j = 0; j < h; j++) {
        y_h[state_at(c, o->directions, d, b) + j] = state[j];
        y_c[state_at(c, o->directions, d, b) + j] = cell[j];
      }
    }
  }
  free(state);
  free(cell);
  free(next);
  free(pre);
}

/* The kernel's operands from ONNX's: W and R transposed into each direction's gate columns
 * (then packed when the case asks), the biases summed into the projection's, except GRU's
 * candidate recurrent bias, which the reset gate scales when linear_before_reset. */
typedef struct kernel_operands {
  float *w, *r, *bias, *candidate_bias;
} kernel_operands;

static float *gate_columns(const rnn_case *c, const onnx_operands *o, const float *onnx,
                           size_t k, size_t columns_per_direction, size_t total_columns) {
  thaw_rnn_cell cell = c->cell;
  const uint32_t op = cell == THAW_RNN_LSTM ? THAW_OP_LSTM : THAW_OP_GRU;
  float *matrix = oracle_floats(k * total_columns);
  for (size_t d = 0; d < o->directions; d++)
    for (uint32_t gate = 0; gate < o->gates; gate++) {
      const size_t first = d * columns_per_direction +
                           (size_t)thaw_recurrent_gate_column(op, (uint32_t)c->hidden, gate);
      for (size_t j = 0; j < c->hidden; j++)
        for (size_t kk = 0; kk < k; kk++)
          matrix[kk * total_columns + first + j] =
              onnx[((d * o->gates + gate) * c->hidden + j) * k + kk];
    }
  return matrix;
}

static float *maybe_packed(const rnn_case *c, float *matrix, size_t k, size_t n) {
  if (!c->packed) return matrix;
  float *packed = malloc(thaw_f32_gemm_packed_b_size(k, n));
  assert_non_null(packed);
  thaw_f32_gemm_pack_b(k, n, matrix, (ptrdiff_t)n, 1, packed);
  free(matrix);
  return packed;
}

static kernel_operands kernel_layout(const rnn_case *c, const onnx_operands *o,
                                     thaw_rnn_params *p) {
  const uint32_t op = c->cell == THAW_RNN_LSTM ? THAW_OP_LSTM : THAW_OP_GRU;
  const size_t s = (size_t)thaw_recurrent_direction_columns(op, (uint32_t)c->hidden);
  const size_t columns = o->directions * s, h = c->hidden;
  kernel_operands k = {0};
  k.w = maybe_packed(c, gate_columns(c, o, o->w, c->input_size, s, columns), c->input_size,
                     columns);
  k.r = maybe_packed(c, gate_columns(c, o, o->r, h, s, columns), h, columns);
  if (c->bias) {
    k.bias = oracle_floats(columns);
    if (c->linear_before_reset) k.candidate_bias = oracle_floats(o->directions * h);
    for (size_t d = 0; d < o->directions; d++)
      for (uint32_t gate = 0; gate < o->gates; gate++)
        for (size_t j = 0; j < h; j++) {
          const size_t onnx = (d * o->gates + gate) * h + j;
          const size_t column = d * s + (size_t)thaw_recurrent_gate_column(op, (uint32_t)h, gate) + j;
          const bool scaled_by_reset = c->linear_before_reset && gate == 2;
          k.bias[column] = o->wb[onnx] + (scaled_by_reset ? 0.0f : o->rb[onnx]);
          if (scaled_by_reset) k.candidate_bias[d * h + j] = o->rb[onnx];
        }
  }
  const size_t t = c->steps, n = c->batch, d = o->directions;
  *p = (thaw_rnn_params){
      .cell = c->cell,
      .steps = t,
      .batch = n,
      .input_size = c->input_size,
      .hidden_size = h,
      .directions = d,
      .reverse = c->direction == THAW_RECURRENT_REVERSE,
      .linear_before_reset = c->linear_before_reset,
      .w_packed = c->packed,
      .r_packed = c->packed,
      .direction_columns = s,
      .candidate_column = (size_t)thaw_recurrent_gate_column(op, (uint32_t)h, 2),
      .x_step_stride = c->batch_first ? 1 : n,
      .x_batch_stride = c->batch_first ? t : 1,
      .y_step_stride = c->batch_first ? d : d * n,
      .y_direction_stride = c->batch_first ? 1 : n,
      .y_batch_stride = c->batch_first ? t * d : 1,
      .state_direction_stride = c->batch_first ? 1 : n,
      .state_batch_stride = c->batch_first ? d : 1,
  };
  return k;
}

static void expect_close(const char *what, const char *isa, const float *actual,
                         const double *expected, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const double tolerance = 2e-5 + 2e-5 * fabs(expected[i]);
    if (fabs((double)actual[i] - expected[i]) > tolerance) {
      fail_msg("%s kernels, %s[%zu]: %.9g, expected %.9g", isa, what, i, (double)actual[i],
               expected[i]);
    }
  }
}

static void run_case(const rnn_case *c, thaw_test_rng *rng) {
  onnx_operands o = {.gates = c->cell == THAW_RNN_LSTM ? 4 : 3,
                     .directions = c->direction == THAW_RECURRENT_BIDIRECTIONAL ? 2 : 1};
  const size_t h = c->hidden, gh = o.gates * h, dirs = o.directions;
  const size_t state_count = dirs * c->batch * h, y_count = c->steps * state_count;
  o.w = oracle_random(rng, dirs * gh * c->input_size, -0.6f, 0.6f);
  o.r = oracle_random(rng, dirs * gh * h, -0.6f, 0.6f);
  o.wb = oracle_random(rng, dirs * gh, -0.5f, 0.5f);
  o.rb = oracle_random(rng, dirs * gh, -0.5f, 0.5f);
  o.x = oracle_random(rng, c->steps * c->batch * c->input_size, -2.0f, 2.0f);
  o.h0 = oracle_random(rng, state_count, -1.0f, 1.0f);
  o.c0 = c->cell == THAW_RNN_LSTM ? oracle_random(rng, state_count, -1.0f, 1.0f) : NULL;
  double *y = oracle_doubles(y_count), *y_h = oracle_doubles(state_count);
  double *y_c = oracle_doubles(state_count);
  oracle(c, &o, y, y_h, y_c);

  thaw_rnn_params p;
  const kernel_operands k = kernel_layout(c, &o, &p);
  for (size_t v = 0; v < variant_count; v++) {
    const size_t scratch_bytes = variants[v]->f32_rnn_scratch_size(&p);
    assert_true(scratch_bytes != SIZE_MAX);
    void *scratch = aligned_alloc(64, (scratch_bytes + 63) / 64 * 64 + 64);
    assert_non_null(scratch);
    float *out_y = oracle_floats(y_count), *out_h = oracle_floats(state_count);
    float *out_c = oracle_floats(state_count);
    const bool lstm = c->cell == THAW_RNN_LSTM;
    const thaw_rnn_tensors t = {
        .x = o.x,
        .w = k.w,
        .r = k.r,
        .bias = k.bias,
        .candidate_bias = k.candidate_bias,
        .initial_h = c->initial_states ? o.h0 : NULL,
        .initial_c = c->initial_states && lstm ? o.c0 : NULL,
        .y = out_y,
        .y_h = c->all_outputs ? out_h : NULL,
        .y_c = c->all_outputs && lstm ? out_c : NULL,
    };
    variants[v]->f32_rnn(&p, &t, scratch);
    expect_close("Y", variants[v]->isa, out_y, y, y_count);
    if (c->all_outputs) expect_close("Y_h", variants[v]->isa, out_h, y_h, state_count);
    if (c->all_outputs && lstm) expect_close("Y_c", variants[v]->isa, out_c, y_c, state_count);
    free(scratch);
    free(out_y);
    free(out_h);
    free(out_c);
  }
  free(k.w);
  free(k.r);
  free(k.bias);
  free(k.candidate_bias);
  free(o.w);
  free(o.r);
  free(o.wb);
  free(o.rb);
  free(o.x);
  free(o.h0);
  free(o.c0);
  free(y);
  free(y_h);
  free(y_c);
}

static void test_rnn_shapes(void **state) {
  (void)state;
  thaw_test_rng rng = {0x5eed1234u};
  static const size_t hiddens[] = {1, 5, 8, 13, 17};
  for (int cell = THAW_RNN_LSTM; cell <= THAW_RNN_GRU; cell++)
    for (uint32_t direction = 0; direction <= THAW_RECURRENT_BIDIRECTIONAL; direction++)
      for (size_t hi = 0; hi < sizeof hiddens / sizeof hiddens[0]; hi++)
        for (int variant = 0; variant < 4; variant++) {
          const bool gru = cell == THAW_RNN_GRU;
          const rnn_case c = {
              .cell = (thaw_rnn_cell)cell,
              .steps = 1 + (size_t)variant + hi % 2 * 2,
              .batch = 1 + (size_t)(variant + hi) % 3,
              .input_size = 3 + 4 * (size_t)(variant % 2),
              .hidden = hiddens[hi],
              .direction = direction,
              .batch_first = variant % 2 == 1,
              .packed = variant < 2,
              .linear_before_reset = gru && (variant + hi) % 2 == 0,
              .bias = variant != 3,
              .initial_states = variant % 3 != 2,
              .all_outputs = variant != 1,
          };
          run_case(&c, &rng);
        }
}

/* One LSTM step by hand: H = I = 1, W = R = 1 per gate, no bias, x = 1, h0 = 0, c0 = 0.5:
 * every gate sees 1, so c = sigmoid(1) * 0.5 + sigmoid(1) * tanh(1), h = sigmoid(1) * tanh(c). */
static void test_lstm_hand_values(void **state) {
  (void)state;
  const float w[16] = {1, 1, 1, 1}, x[1] = {1}, h0[1] = {0}, c0[1] = {0.5f};
  const thaw_rnn_params p = {.cell = THAW_RNN_LSTM, .steps = 1, .batch = 1, .input_size = 1,
                             .hidden_size = 1, .directions = 1, .direction_columns = 16,
                             .x_step_stride = 1, .x_batch_stride = 1, .y_step_stride = 1,
                             .y_direction_stride = 1, .y_batch_stride = 1,
                             .state_direction_stride = 1, .state_batch_stride = 1};
  const double s = 1.0 / (1.0 + exp(-1.0)), c = s * 0.5 + s * tanh(1.0), h = s * tanh(c);
  for (size_t v = 0; v < variant_count; v++) {
    void *scratch = aligned_alloc(64, (variants[v]->f32_rnn_scratch_size(&p) + 63) / 64 * 64);
    float y = 0, y_h = 0, y_c = 0;
    const thaw_rnn_tensors t = {.x = x, .w = w, .r = w, .initial_h = h0, .initial_c = c0,
                                .y = &y, .y_h = &y_h, .y_c = &y_c};
    variants[v]->f32_rnn(&p, &t, scratch);
    assert_float_equal(y_c, c, 1e-6);
    assert_float_equal(y_h, h, 1e-6);
    assert_float_equal(y, h, 1e-6);
    free(scratch);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rnn_shapes),
      cmocka_unit_test(test_lstm_hand_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
