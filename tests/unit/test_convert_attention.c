/* The attention rewrites of tools/convert/fuse_attention.c: the Transposes of a head split,
 * Kᵀ and head merge become PermutedMatMul strides, and the 1/√d scale of the scores moves into
 * the Q projection. Each converted model runs and is compared with a naive double-precision
 * evaluation of the ONNX graph. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "formats/format.h"
#include "test_convert_builder.h"

/* The converted file (malloc'ed). */
static uint8_t *convert_or_fail(builder *b, uint64_t *size) {
  uint8_t *bytes;
  thaw_convert_report report;
  thaw_error error = {0};
  if (convert(b, NULL, &bytes, size, &report, &error) != THAW_OK) fail_msg("%s", error.message);
  thaw_convert_report_free(&report);
  return bytes;
}

static Onnx__NodeProto *add_transpose(builder *b, const char *in, const char *out,
                                      int64_t *perm) {
  Onnx__NodeProto *node = add_node(b, "Transpose", in, NULL, NULL, out);
  add_ints_attribute(b, node, "perm", perm, 4);
  return node;
}

enum { SEQ = 5, HEADS = 2, HEAD_DIM = 3, WIDTH = HEADS * HEAD_DIM };

/* row-major x[SEQ][WIDTH] · w[WIDTH][WIDTH] (+ bias) */
static void project(const float *x, const float *w, const float *bias, double *y) {
  for (int s = 0; s < SEQ; s++)
    for (int j = 0; j < WIDTH; j++) {
      double sum = bias != NULL ? bias[j] : 0.0;
      for (int c = 0; c < WIDTH; c++) sum += (double)x[s * WIDTH + c] * w[c * WIDTH + j];
      y[s * WIDTH + j] = sum;
    }
}

/* One self-attention block as PyTorch exports it: Q (with bias), K and V projections, head
 * split by Reshape + Transpose (Kᵀ by its own perm), scores / √d, Softmax, P·V, head merge by
 * Transpose + Reshape. */
static void test_self_attention(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  thaw_test_rng rng = {77};
  static float wq[WIDTH * WIDTH], wk[WIDTH * WIDTH], wv[WIDTH * WIDTH], bq[WIDTH];
  thaw_test_fill_uniform(&rng, wq, WIDTH * WIDTH, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, wk, WIDTH * WIDTH, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, wv, WIDTH * WIDTH, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, bq, WIDTH, -1.0f, 1.0f);
  static int64_t x_dims[3] = {1, SEQ, WIDTH}, w_dims[2] = {WIDTH, WIDTH}, b_dims[1] = {WIDTH};
  static int64_t shape_dims[1] = {4}, merged_dims[1] = {3};
  static int64_t split_shape[4] = {1, SEQ, HEADS, HEAD_DIM}, merged_shape[3] = {1, SEQ, WIDTH};
  static int64_t heads_first[4] = {0, 2, 1, 3}, keys_transposed[4] = {0, 2, 3, 1};
  static float root_d;
  root_d = sqrtf((float)HEAD_DIM);
  add_input(&b, "x", 3, x_dims);
  add_initializer(&b, "wq", 2, w_dims, wq, WIDTH * WIDTH);
  add_initializer(&b, "wk", 2, w_dims, wk, WIDTH * WIDTH);
  add_initializer(&b, "wv", 2, w_dims, wv, WIDTH * WIDTH);
  add_initializer(&b, "bq", 1, b_dims, bq, WIDTH);
  add_initializer(&b, "root_d", 0, NULL, &root_d, 1);
  b.tensor_list[b.graph.n_initializer++] =
      make_tensor(&b, "split", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, shape_dims, split_shape,
                  sizeof split_shape);
  b.tensor_list[b.graph.n_initializer++] =
      make_tensor(&b, "merged", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, merged_dims,
                  merged_shape, sizeof merged_shape);
  add_node(&b, "MatMul", "x", "wq", NULL, "q_product");
  add_node(&b, "Add", "bq", "q_product", NULL, "q");
  add_node(&b, "Reshape", "q", "split", NULL, "q_split");
  add_transpose(&b, "q_split", "q_heads", heads_first);
  add_node(&b, "MatMul", "x", "wk", NULL, "k");
  add_node(&b, "Reshape", "k", "split", NULL, "k_split");
  add_transpose(&b, "k_split", "k_heads_t", keys_transposed);
  add_node(&b, "MatMul", "x", "wv", NULL, "v");
  add_node(&b, "Reshape", "v", "split", NULL, "v_split");
  add_transpose(&b, "v_split", "v_heads", heads_first);
  add_node(&b, "MatMul", "q_heads", "k_heads_t", NULL, "scores");
  add_node(&b, "Div", "scores", "root_d", NULL, "scaled");
  add_int_attribute(&b, add_node(&b, "Softmax", "scaled", NULL, NULL, "p"), "axis", -1);
  add_node(&b, "MatMul", "p", "v_heads", NULL, "context_heads");
  add_transpose(&b, "context_heads", "context_split", heads_first);
  add_node(&b, "Reshape", "context_split", "merged", NULL, "y");
  add_output(&b, "y");

  uint64_t size;
  uint8_t *bytes = convert_or_fail(&b, &size);
  assert_int_equal(count_ops(bytes, size, THAW_OP_PERMUTED_MATMUL), 2);
  assert_int_equal(count_ops(bytes, size, THAW_OP_TRANSPOSE), 0);
  assert_int_equal(count_ops(bytes, size, THAW_OP_BINARY), 0); /* the Div is folded */

  float x[SEQ * WIDTH], y[SEQ * WIDTH];
  thaw_test_fill_uniform(&rng, x, SEQ * WIDTH, -1.0f, 1.0f);
  run_model(bytes, size, x, SEQ * WIDTH, y, SEQ * WIDTH);

  double q[SEQ * WIDTH], k[SEQ * WIDTH], v[SEQ * WIDTH], expected[SEQ * WIDTH];
  project(x, wq, bq, q);
  project(x, wk, NULL, k);
  project(x, wv, NULL, v);
  for (int h = 0; h < HEADS; h++)
    for (int i = 0; i < SEQ; i++) {
      double p[SEQ], maximum = -INFINITY, sum = 0.0;
      for (int j = 0; j < SEQ; j++) {
        double dot = 0.0;
        for (int d = 0; d < HEAD_DIM; d++)
          dot += q[i * WIDTH + h * HEAD_DIM + d] * k[j * WIDTH + h * HEAD_DIM + d];
        p[j] = dot / root_d;
        maximum = fmax(maximum, p[j]);
      }
      for (int j = 0; j < SEQ; j++) sum += p[j] = exp(p[j] - maximum);
      for (int d = 0; d < HEAD_DIM; d++) {
        double context = 0.0;
        for (int j = 0; j < SEQ; j++) context += p[j] / sum * v[j * WIDTH + h * HEAD_DIM + d];
        expected[i * WIDTH + h * HEAD_DIM + d] = context;
      }
    }
  thaw_test_assert_close("attention", y, expected, SEQ * WIDTH, 1e-5, 1e-5);
  free(bytes);
}

/* With two sequences in the batch, merging the heads of x·xᵀ·x would leave the product's
 * batches unevenly strided: that Transpose stays, the operand ones still go. */
static void test_batched_head_merge_keeps_its_transpose(void **state) {
  (void)state;
  enum { BATCH = 2 };
  builder b;
  builder_init(&b, 13);
  static int64_t x_dims[4] = {BATCH, SEQ, HEADS, HEAD_DIM};
  static int64_t heads_first[4] = {0, 2, 1, 3}, keys_transposed[4] = {0, 2, 3, 1};
  add_input(&b, "x", 4, x_dims);
  add_transpose(&b, "x", "rows", heads_first);
  add_transpose(&b, "x", "columns", keys_transposed);
  add_transpose(&b, "x", "values", heads_first);
  add_node(&b, "MatMul", "rows", "columns", NULL, "gram");
  add_node(&b, "MatMul", "gram", "values", NULL, "mixed");
  add_transpose(&b, "mixed", "y", heads_first);
  add_output(&b, "y");

  uint64_t size;
  uint8_t *bytes = convert_or_fail(&b, &size);
  assert_int_equal(count_ops(bytes, size, THAW_OP_PERMUTED_MATMUL), 2);
  assert_int_equal(count_ops(bytes, size, THAW_OP_TRANSPOSE), 1);

  enum { COUNT = BATCH * SEQ * HEADS * HEAD_DIM };
  thaw_test_rng rng = {78};
  float x[COUNT], y[COUNT];
  thaw_test_fill_uniform(&rng, x, COUNT, -1.0f, 1.0f);
  run_model(bytes, size, x, COUNT, y, COUNT);
#define X(n, s, h, d) ((double)x[(((n) * SEQ + (s)) * HEADS + (h)) * HEAD_DIM + (d)])
  double expected[COUNT];
  for (int n = 0; n < BATCH; n++)
    for (int h = 0; h < HEADS; h++)
      for (int i = 0; i < SEQ; i++)
        for (int d = 0; d < HEAD_DIM; d++) {
          double sum = 0.0;
          for (int j = 0; j < SEQ; j++) {
            double gram = 0.0;
            for (int e = 0; e < HEAD_DIM; e++) gram += X(n, i, h, e) * X(n, j, h, e);
            sum += gram * X(n, j, h, d);
          }
          expected[((n * SEQ + i) * HEADS + h) * HEAD_DIM + d] = sum;
        }
#undef X
  thaw_test_assert_close("batched", y, expected, COUNT, 1e-5, 1e-5);
  free(bytes);
}

/* Softmax(x_h·x_hᵀ + mask) with a mask row [1, 1, 1, SEQ] (large negative on the padded last
 * position): the Add becomes the product's per-column bias. */
static void test_mask_becomes_bias(void **state) {
  (void)state;
  builder b;
  builder_init(&b, 13);
  static int64_t x_dims[4] = {1, SEQ, HEADS, HEAD_DIM}, mask_dims[4] = {1, 1, 1, SEQ};
  static int64_t heads_first[4] = {0, 2, 1, 3}, keys_transposed[4] = {0, 2, 3, 1};
  static float mask[SEQ] = {0.0f, 0.0f, 0.0f, 0.0f, -10000.0f};
  add_input(&b, "x", 4, x_dims);
  add_initializer(&b, "mask", 4, mask_dims, mask, SEQ);
  add_transpose(&b, "x", "rows", heads_first);
  add_transpose(&b, "x", "columns", keys_transposed);
  add_node(&b, "MatMul", "rows", "columns", NULL, "scores");
  add_node(&b, "Add", "scores", "mask", NULL, "masked");
  add_int_attribute(&b, add_node(&b, "Softmax", "masked", NULL, NULL, "y"), "axis", -1);
  add_output(&b, "y");

  uint64_t size;
  uint8_t *bytes = convert_or_fail(&b, &size);
  assert_int_equal(count_ops(bytes, size, THAW_OP_PERMUTED_MATMUL), 1);
  assert_int_equal(count_ops(bytes, size, THAW_OP_BINARY), 0);

  enum { IN = SEQ * HEADS * HEAD_DIM, OUT = HEADS * SEQ * SEQ };
  thaw_test_rng rng = {79};
  float x[IN], y[OUT];
  thaw_test_fill_uniform(&rng, x, IN, -1.0f, 1.0f);
  run_model(bytes, size, x, IN, y, OUT);
  double expected[OUT];
  for (int h = 0; h < HEADS; h++)
    for (int i = 0; i < SEQ; i++) {
      double row[SEQ], maximum = -INFINITY, sum = 0.0;
      for (int j = 0; j < SEQ; j++) {
        row[j] = mask[j];
        for (int d = 0; d < HEAD_DIM; d++)
          row[j] += (double)x[(i * HEADS + h) * HEAD_DIM + d] * x[(j * HEADS + h) * HEAD_DIM + d];
        maximum = fmax(maximum, row[j]);
      }
      for (int j = 0; j < SEQ; j++) sum += row[j] = exp(row[j] - maximum);
      for (int j = 0; j < SEQ; j++) expected[(h * SEQ + i) * SEQ + j] = row[j] / sum;
    }
  thaw_test_assert_close("masked", y, expected, OUT, 1e-5, 1e-6);
  free(bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_self_attention),
      cmocka_unit_test(test_batched_head_merge_keeps_its_transpose),
      cmocka_unit_test(test_mask_becomes_bias),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
