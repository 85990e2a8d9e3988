/* Pre-quantized (QDQ) models: QuantizeLinear -> DequantizeLinear -> MatMul with weights from a
 * DequantizeLinear of int8 constants must run as one QS8MatMul with the model's own integers,
 * and give the product of the dequantized values (computed here in double); weights that the
 * int8 kernels cannot hold exactly (a level of -128) must stay f32 with the same result. An
 * integer product too long for its f32 sums to stay exact is refused, not rounded, unless it is
 * ONNX Runtime's dynamically quantized MatMul (DynamicQuantizeLinear, MatMulInteger of constant
 * weights, Cast to float, Mul by the scales), which runs on the int8 kernels to the bit. */
#include <math.h>

#include "test_convert_builder.h"

enum { M = 2, K = 5, N = 3 };

typedef struct qdq_model {
  float x_scale;
  uint8_t x_zero;
  int8_t w[K * N];
  float w_scales[N];
  int8_t w_zeros[N];
} qdq_model;

static void add_constant(builder *b, const char *name, int32_t type, size_t rank, int64_t *dims,
                         void *data, size_t bytes) {
  b->tensor_list[b->graph.n_initializer++] = make_tensor(b, name, type, rank, dims, data, bytes);
}

/* Convert the model; returns the file and the number of ops it made int8. */
static uint8_t *convert_qdq(qdq_model *m, uint64_t *size, uint32_t *quantized_ops) {
  static int64_t x_dims[2] = {M, K}, w_dims[2] = {K, N}, channel_dims[1] = {N};
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_constant(&b, "xs", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &m->x_scale, 4);
  add_constant(&b, "xz", ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 0, NULL, &m->x_zero, 1);
  add_constant(&b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, w_dims, m->w, sizeof m->w);
  add_constant(&b, "ws", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, channel_dims, m->w_scales,
               sizeof m->w_scales);
  add_constant(&b, "wz", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, channel_dims, m->w_zeros,
               sizeof m->w_zeros);
  add_node(&b, "QuantizeLinear", "x", "xs", "xz", "xq");
  add_node(&b, "DequantizeLinear", "xq", "xs", "xz", "xd");
  add_int_attribute(&b, add_node(&b, "DequantizeLinear", "w", "ws", "wz", "wd"), "axis", 1);
  add_node(&b, "MatMul", "xd", "wd", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes = NULL;
  thaw_convert_report report;
  thaw_error error;
  thaw_status status = convert(&b, NULL, &bytes, size, &report, &error);
  if (status != THAW_OK) fail_msg("conversion failed: %s", error.message);
  *quantized_ops = report.quantized_ops;
  thaw_convert_report_free(&report);
  return bytes;
}

/* y = dequantize(quantize(x)) * dequantize(w), in double. The scale is a power of two, so
 * x / scale and x * (1 / scale) round alike. */
static void expected_product(const qdq_model *m, const float *x, double *y) {
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int k = 0; k < K; k++) {
        double level = nearbyint((double)x[i * K + k] / m->x_scale) + m->x_zero;
        level = level < 0 ? 0 : level > 255 ? 255 : level;
        sum += (level - m->x_zero) * m->x_scale * (m->w[k * N + j] - m->w_zeros[j]) *
               (double)m->w_scales[j];
      }
      y[i * N + j] = sum;
    }
  }
}

static void check(qdq_model *m, uint32_t want_quantized_ops) {
  const float x[M * K] = {0.3f, -1.2f, 2.9f, 0.0f, 7.5f, -0.6f, 1.1f, -31.0f, 4.25f, 0.8f};
  uint64_t size;
  uint32_t quantized_ops;
  uint8_t *bytes = convert_qdq(m, &size, &quantized_ops);
  assert_int_equal(quantized_ops, want_quantized_ops);
  float y[M * N];
  run_model(bytes, size, x, M * K, y, M * N);
  double want[M * N];
  expected_product(m, x, want);
  for (int i = 0; i < M * N; i++) {
    if (fabs(y[i] - want[i]) > 1e-5 * fabs(want[i]) + 1e-6)
      fail_msg("y[%d] = %.9g, want %.9g", i, (double)y[i], want[i]);
  }
  free(bytes);
}

static qdq_model model(void) {
  qdq_model m = {.x_scale = 0.25f, .x_zero = 100, .w_scales = {0.02f, 0.5f, 0.125f},
                 .w_zeros = {0, 3, -2}};
  for (int i = 0; i < K * N; i++) m.w[i] = (int8_t)((i * 37) % 201 - 100);
  return m;
}

static void test_qdq_matmul_runs_on_int8(void **state) {
  (void)state;
  qdq_model m = model();
  check(&m, 1);
}

/* -128 less a zero point of 0 is outside the kernels' [-127, 127]: the product stays f32. */
static void test_unrepresentable_weights_stay_f32(void **state) {
  (void)state;
  qdq_model m = model();
  m.w[4] = -128;
  m.w_zeros[1] = 0;
  check(&m, 0);
}

static void add_u8_input(builder *b, const char *name, size_t rank, const int64_t *dims) {
  add_input(b, name, rank, dims);
  b->input_list[b->graph.n_input - 1]->type->tensor_type->elem_type =
      ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
}

/* MatMulInteger over K terms of u8 values: exact in f32 up to 2^24 / 255^2 = 258 terms. */
static thaw_status convert_matmul_integer(int64_t k, thaw_convert_report *report,
                                          thaw_error *error) {
  int64_t a_dims[2] = {1, k}, b_dims[2] = {k, 1};
  builder b;
  builder_init(&b, 13);
  add_u8_input(&b, "a", 2, a_dims);
  add_u8_input(&b, "b", 2, b_dims);
  add_node(&b, "MatMulInteger", "a", "b", NULL, "y");
  add_output(&b, "y");
  uint8_t *bytes = NULL;
  uint64_t size;
  const thaw_status status = convert(&b, NULL, &bytes, &size, report, error);
  free(bytes);
  return status;
}

static void test_long_integer_product_is_refused(void **state) {
  (void)state;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert_matmul_integer(258, &report, &error), THAW_OK);
  thaw_convert_report_free(&report);
  assert_int_equal(convert_matmul_integer(259, &report, &error), THAW_STATUS_UNSUPPORTED);
  assert_int_equal(report.unsupported_count, 1);
  assert_non_null(strstr(report.unsupported[0].reason, "a reduction over 259 terms"));
  thaw_convert_report_free(&report);
}

/* ---- ONNX Runtime's dynamic quantization: x -> DynamicQuantizeLinear -> MatMulInteger ---- */

enum { DYNAMIC_M = 3, DYNAMIC_K = 300, DYNAMIC_N = 5 };

typedef struct dynamic_model {
  bool unsigned_weights; /* u8 levels with a zero point per column, else int8 and 0 */
  uint8_t levels[DYNAMIC_K * DYNAMIC_N];
  uint8_t zero_points[DYNAMIC_N];
  float weight_scale;
} dynamic_model;

static dynamic_model dynamic_weights(bool unsigned_weights) {
  dynamic_model m = {.unsigned_weights = unsigned_weights, .weight_scale = 0.0371f};
  for (int j = 0; j < DYNAMIC_N; j++)
    m.zero_points[j] = unsigned_weights ? (uint8_t)(120 + 3 * j) : 0;
  for (int i = 0; i < DYNAMIC_K * DYNAMIC_N; i++) {
    /* [-120, 120] less the zero point: within u8 with it, within [-127, 127] without. */
    const int level = (i * 53) % 241 - 120;
    m.levels[i] = (uint8_t)(unsigned_weights ? level + m.zero_points[i % DYNAMIC_N] : level);
  }
  return m;
}

static void add_multi_io_node(builder *b, const char *op, const char *const *inputs,
                              size_t input_count, const char *const *outputs,
                              size_t output_count) {
  Onnx__NodeProto *node = add_node(b, op, inputs[0], NULL, NULL, outputs[0]);
  const size_t i = b->graph.n_node - 1;
  for (size_t k = 0; k < input_count; k++) b->node_io[i][0][k] = (char *)inputs[k];
  for (size_t k = 0; k < output_count; k++) b->node_io[i][1][k] = (char *)outputs[k];
  node->n_input = input_count;
  node->n_output = output_count;
}

typedef enum dynamic_graph {
  ORT_DYNAMIC,          /* y = Cast(MatMulInteger(DynamicQuantizeLinear(x), W)) * (xs * ws) */
  SUMS_OBSERVED,        /* the same, the MatMulInteger's i32 output a graph output too */
  WEIGHT_SCALE_ONLY,    /* y = Cast(MatMulInteger(...)) * ws: not ONNX Runtime's pattern */
} dynamic_graph;

static thaw_status convert_dynamic(dynamic_model *m, dynamic_graph graph, uint8_t **bytes,
                                   uint64_t *size, thaw_convert_report *report) {
  static int64_t x_dims[2] = {DYNAMIC_M, DYNAMIC_K}, w_dims[2] = {DYNAMIC_K, DYNAMIC_N},
                 column_dims[1] = {DYNAMIC_N};
  static const char *const x_name[1] = {"x"}, *const sums_name[1] = {"sums"};
  static const char *const quantize_outputs[3] = {"xq", "xs", "xz"};
  static const char *const product_inputs[4] = {"xq", "w", "xz", "wz"};
  const int32_t type = m->unsigned_weights ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8
                                           : ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_constant(&b, "w", type, 2, w_dims, m->levels, sizeof m->levels);
  add_constant(&b, "wz", type, 1, column_dims, m->zero_points, sizeof m->zero_points);
  add_constant(&b, "ws", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &m->weight_scale, 4);
  add_multi_io_node(&b, "DynamicQuantizeLinear", x_name, 1, quantize_outputs, 3);
  add_multi_io_node(&b, "MatMulInteger", product_inputs, 4, sums_name, 1);
  add_int_attribute(&b, add_node(&b, "Cast", "sums", NULL, NULL, "sums_f32"), "to",
                    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  add_node(&b, "Mul", "xs", "ws", NULL, "scale");
  add_node(&b, "Mul", "sums_f32", graph == WEIGHT_SCALE_ONLY ? "ws" : "scale", NULL, "y");
  add_output(&b, "y");
  if (graph == SUMS_OBSERVED) add_output(&b, "sums");
  thaw_error error;
  return convert(&b, NULL, bytes, size, report, &error);
}

/* ONNX's DynamicQuantizeLinear and MatMulInteger, then the f32 Cast and Mul, from the spec's
 * formulas (x * (1 / scale) for its division: these inputs hold no value where they differ). */
/* ONNX's DynamicQuantizeLinear of n floats: the levels less the zero point, and the scale. */
static float dynamic_levels(size_t n, const float *x, int32_t *levels) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; i++) {
    lo = fminf(lo, x[i]);
    hi = fmaxf(hi, x[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  const float zero = fminf(fmaxf(nearbyintf(0.0f - lo / scale), 0.0f), 255.0f);
  for (size_t i = 0; i < n; i++)
    levels[i] = (int32_t)fminf(fmaxf(nearbyintf(x[i] * (1.0f / scale)) + zero, 0.0f), 255.0f) -
                (int32_t)zero;
  return scale;
}

static void expected_dynamic(const dynamic_model *m, const float *x, float *y) {
  int32_t levels[DYNAMIC_M * DYNAMIC_K];
  const float scale = dynamic_levels(DYNAMIC_M * DYNAMIC_K, x, levels);
  for (int i = 0; i < DYNAMIC_M; i++) {
    for (int j = 0; j < DYNAMIC_N; j++) {
      int64_t sum = 0;
      for (int k = 0; k < DYNAMIC_K; k++) {
        const uint8_t w = m->levels[k * DYNAMIC_N + j];
        const int32_t weight = m->unsigned_weights ? (int32_t)w - m->zero_points[j] : (int8_t)w;
        sum += (int64_t)levels[i * DYNAMIC_K + k] * weight;
      }
      y[i * DYNAMIC_N + j] = (float)sum * (scale * m->weight_scale);
    }
  }
}

static void check_dynamic(bool unsigned_weights) {
  dynamic_model m = dynamic_weights(unsigned_weights);
  float x[DYNAMIC_M * DYNAMIC_K];
  for (int i = 0; i < DYNAMIC_M * DYNAMIC_K; i++) x[i] = (float)((i * 7919) % 1000) / 97.0f - 3.1f;
  uint8_t *bytes = NULL;
  uint64_t size;
  thaw_convert_report report;
  assert_int_equal(convert_dynamic(&m, ORT_DYNAMIC, &bytes, &size, &report), THAW_OK);
  assert_int_equal(report.quantized_ops, 1);
  assert_int_equal(report.ops_out, 1); /* the quantize, Cast and both Muls folded in */
  thaw_convert_report_free(&report);
  float y[DYNAMIC_M * DYNAMIC_N], want[DYNAMIC_M * DYNAMIC_N];
  run_model(bytes, size, x, DYNAMIC_M * DYNAMIC_K, y, DYNAMIC_M * DYNAMIC_N);
  expected_dynamic(&m, x, want);
  for (int i = 0; i < DYNAMIC_M * DYNAMIC_N; i++)
    if (y[i] != want[i]) fail_msg("y[%d] = %.9g, want %.9g", i, (double)y[i], (double)want[i]);
  free(bytes);
}

static void test_dynamic_quantization_runs_on_int8(void **state) {
  (void)state;
  check_dynamic(false);
  check_dynamic(true);
}

/* Outside the pattern the MatMulInteger stays an exact integer product, which the f32 path
 * computes only up to 258 terms: with the i32 sums a graph output (the int8 kernel's sums
 * reach the model as f32), or a scale that is not the input's times the weights', 300 terms
 * are refused rather than run on the int8 kernels. */
static void test_outside_the_pattern_stays_exact(void **state) {
  (void)state;
  static const dynamic_graph graphs[2] = {SUMS_OBSERVED, WEIGHT_SCALE_ONLY};
  for (size_t g = 0; g < 2; g++) {
    dynamic_model m = dynamic_weights(false);
    uint8_t *bytes = NULL;
    uint64_t size;
    thaw_convert_report report;
    assert_int_equal(convert_dynamic(&m, graphs[g], &bytes, &size, &report),
                     THAW_STATUS_UNSUPPORTED);
    assert_null(bytes);
    assert_non_null(strstr(report.unsupported[0].reason, "a reduction over 300 terms"));
    thaw_convert_report_free(&report);
  }
}

/* Convert `b`, which must give `ops` thaw ops, `quantized` of them int8; the file. */
static uint8_t *convert_quantized(builder *b, uint32_t ops, uint32_t quantized, uint64_t *size) {
  uint8_t *bytes = NULL;
  thaw_convert_report report;
  thaw_error error;
  if (convert(b, NULL, &bytes, size, &report, &error) != THAW_OK)
    fail_msg("conversion failed: %s", error.message);
  assert_int_equal(report.ops_out, ops);
  assert_int_equal(report.quantized_ops, quantized);
  thaw_convert_report_free(&report);
  return bytes;
}

/* Two MatMulIntegers reading one DynamicQuantizeLinear (ONNX Runtime shares it between the
 * products of one input), the second Mul with its operands swapped: two QS8MatMuls, each to the
 * bit. */
static void test_shared_dynamic_quantization(void **state) {
  (void)state;
  enum { M = 2, K = 12, N0 = 3, N1 = 4 };
  static int8_t w0[K * N0], w1[K * N1], zero = 0;
  static float scale0 = 0.01f, scale1 = 0.03f;
  static int64_t x_dims[2] = {M, K}, w0_dims[2] = {K, N0}, w1_dims[2] = {K, N1};
  static const char *const x_name[1] = {"x"}, *const quantize_outputs[3] = {"xq", "xs", "xz"};
  static const char *const inputs0[4] = {"xq", "w0", "xz", "wz"}, *const sums0[1] = {"sums0"};
  static const char *const inputs1[4] = {"xq", "w1", "xz", "wz"}, *const sums1[1] = {"sums1"};
  for (int i = 0; i < K * N0; i++) w0[i] = (int8_t)((i * 29) % 255 - 127);
  for (int i = 0; i < K * N1; i++) w1[i] = (int8_t)((i * 41) % 255 - 127);
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 2, x_dims);
  add_constant(&b, "w0", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, w0_dims, w0, sizeof w0);
  add_constant(&b, "w1", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 2, w1_dims, w1, sizeof w1);
  add_constant(&b, "wz", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 0, NULL, &zero, 1);
  add_constant(&b, "ws0", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &scale0, 4);
  add_constant(&b, "ws1", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &scale1, 4);
  add_multi_io_node(&b, "DynamicQuantizeLinear", x_name, 1, quantize_outputs, 3);
  add_multi_io_node(&b, "MatMulInteger", inputs0, 4, sums0, 1);
  add_multi_io_node(&b, "MatMulInteger", inputs1, 4, sums1, 1);
  add_int_attribute(&b, add_node(&b, "Cast", "sums0", NULL, NULL, "f0"), "to",
                    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  add_int_attribute(&b, add_node(&b, "Cast", "sums1", NULL, NULL, "f1"), "to",
                    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  add_node(&b, "Mul", "xs", "ws0", NULL, "s0");
  add_node(&b, "Mul", "ws1", "xs", NULL, "s1");
  add_node(&b, "Mul", "f0", "s0", NULL, "y0");
  add_node(&b, "Mul", "s1", "f1", NULL, "y1");
  add_node(&b, "Concat", "y0", "y1", NULL, "y");
  add_int_attribute(&b, b.node_list[b.graph.n_node - 1], "axis", 1);
  add_output(&b, "y");
  uint64_t size;
  uint8_t *bytes = convert_quantized(&b, 3, 2, &size); /* and the Concat */
  float x[M * K], y[M * (N0 + N1)];
  for (int i = 0; i < M * K; i++) x[i] = (float)((i * 13) % 17) / 3.0f - 2.2f;
  run_model(bytes, size, x, M * K, y, M * (N0 + N1));
  int32_t levels[M * K];
  const float scale = dynamic_levels(M * K, x, levels);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N0 + N1; j++) {
      const bool first = j < N0;
      const int n = first ? N0 : N1, column = first ? j : j - N0;
      int64_t sum = 0;
      for (int k = 0; k < K; k++)
        sum += (int64_t)levels[i * K + k] * (first ? w0 : w1)[k * n + column];
      const float want = (float)sum * (scale * (first ? scale0 : scale1));
      if (y[i * (N0 + N1) + j] != want)
        fail_msg("y[%d][%d] = %.9g, want %.9g", i, j, (double)y[i * (N0 + N1) + j], (double)want);
    }
  free(bytes);
}

/* The same chain on a Conv (ConvInteger), 30 channels of 3x3 (270 terms) with padding 1: one
 * QS8Conv, the Cast, the Mul and the Add of a per-channel bias folded in, to the bit. */
enum { CONV_C = 30, CONV_M = 3, CONV_H = 5, CONV_K = CONV_C * 9 };

static void test_dynamic_conv_runs_on_int8(void **state) {
  (void)state;
  static int8_t w[CONV_M * CONV_K];
  static int64_t x_dims[4] = {1, CONV_C, CONV_H, CONV_H}, w_dims[4] = {CONV_M, CONV_C, 3, 3},
                 bias_dims[4] = {1, CONV_M, 1, 1}, pads[4] = {1, 1, 1, 1};
  static int8_t zero = 0;
  static float weight_scale = 0.021f, bias[CONV_M] = {0.5f, -1.25f, 2.0f};
  static const char *const x_name[1] = {"x"}, *const sums_name[1] = {"sums"};
  static const char *const quantize_outputs[3] = {"xq", "xs", "xz"};
  static const char *const product_inputs[4] = {"xq", "w", "xz", "wz"};
  for (int i = 0; i < CONV_M * CONV_K; i++) w[i] = (int8_t)((i * 37) % 255 - 127);
  builder b;
  builder_init(&b, 13);
  add_input(&b, "x", 4, x_dims);
  add_constant(&b, "w", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 4, w_dims, w, sizeof w);
  add_constant(&b, "wz", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 0, NULL, &zero, 1);
  add_constant(&b, "ws", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &weight_scale, 4);
  add_constant(&b, "bias", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, bias_dims, bias, sizeof bias);
  add_multi_io_node(&b, "DynamicQuantizeLinear", x_name, 1, quantize_outputs, 3);
  add_multi_io_node(&b, "ConvInteger", product_inputs, 4, sums_name, 1);
  add_ints_attribute(&b, b.node_list[b.graph.n_node - 1], "pads", pads, 4);
  add_int_attribute(&b, add_node(&b, "Cast", "sums", NULL, NULL, "sums_f32"), "to",
                    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  add_node(&b, "Mul", "xs", "ws", NULL, "scale");
  add_node(&b, "Mul", "sums_f32", "scale", NULL, "scaled");
  add_node(&b, "Add", "scaled", "bias", NULL, "y");
  add_output(&b, "y");
  uint64_t size;
  uint8_t *bytes = convert_quantized(&b, 1, 1, &size);

  float x[CONV_C * CONV_H * CONV_H], y[CONV_M * CONV_H * CONV_H];
  for (int i = 0; i < CONV_C * CONV_H * CONV_H; i++)
    x[i] = (float)((i * 7919) % 1000) / 89.0f - 4.3f;
  run_model(bytes, size, x, CONV_C * CONV_H * CONV_H, y, CONV_M * CONV_H * CONV_H);
  int32_t levels[CONV_C * CONV_H * CONV_H];
  const float scale = dynamic_levels(CONV_C * CONV_H * CONV_H, x, levels);
  for (int m = 0; m < CONV_M; m++)
    for (int oh = 0; oh < CONV_H; oh++)
      for (int ow = 0; ow < CONV_H; ow++) {
        int64_t sum = 0; /* padding is the input's 0, level 0 less the zero point */
        for (int c = 0; c < CONV_C; c++)
          for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++) {
              const int ih = oh + kh - 1, iw = ow + kw - 1;
              if (ih < 0 || iw < 0 || ih >= CONV_H || iw >= CONV_H) continue;
              sum += (int64_t)levels[(c * CONV_H + ih) * CONV_H + iw] *
                     w[((m * CONV_C + c) * 3 + kh) * 3 + kw];
            }
        const float want = (float)sum * (scale * weight_scale) + bias[m];
        const float got = y[(m * CONV_H + oh) * CONV_H + ow];
        if (got != want) fail_msg("y[%d][%d][%d] = %.9g, want %.9g", m, oh, ow, (double)got, (double)want);
      }
  free(bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qdq_matmul_runs_on_int8),
      cmocka_unit_test(test_unrepresentable_weights_stay_f32),
      cmocka_unit_test(test_long_integer_product_is_refused),
      cmocka_unit_test(test_dynamic_quantization_runs_on_int8),
      cmocka_unit_test(test_outside_the_pattern_stays_exact),
      cmocka_unit_test(test_shared_dynamic_quantization),
      cmocka_unit_test(test_dynamic_conv_runs_on_int8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
