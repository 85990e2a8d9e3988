/* PermutedMatMul (format 1.3): products read and written through transposes, against a naive
 * double-precision product that walks every index through the permutations; the attribute
 * rules of the op contract; and the shape rules the runtime checks when a model opens. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_runtime_builder.h"

enum { MAX_ELEMENTS = 1024 };

typedef struct product_case {
  const char *name;
  uint32_t rank;
  int64_t a_shape[4], b_shape[4], y_shape[4]; /* as stored */
  uint32_t a_perm[THAW_MAX_RANK], b_perm[THAW_MAX_RANK], y_perm[THAW_MAX_RANK];
  uint32_t bias_rank; /* 0: no bias; else [1, ..., 1, N] */
  uint32_t activation; /* thaw_unary_func: identity or relu */
} product_case;

/* Row-major strides of a stored shape. */
static void strides_of(uint32_t rank, const int64_t *shape, size_t *stride) {
  size_t running = 1;
  for (uint32_t d = rank; d-- > 0;) {
    stride[d] = running;
    running *= (size_t)shape[d];
  }
}

/* Offset in a stored tensor of the element at `logical` index of Transpose(tensor, perm);
 * a logical dim of size 1 broadcasts (its index is ignored). */
static size_t stored_offset(uint32_t rank, const int64_t *stored_shape, const uint32_t *perm,
                            const size_t *logical) {
  size_t stride[4], offset = 0;
  strides_of(rank, stored_shape, stride);
  for (uint32_t d = 0; d < rank; d++)
    if (stored_shape[perm[d]] != 1) offset += logical[d] * stride[perm[d]];
  return offset;
}

/* Y as stored, computed from the op's definition in FORMAT.md. */
static void reference_product(const product_case *c, const float *a, const float *b,
                              const float *bias, double *y) {
  const uint32_t r = c->rank;
  int64_t a_dims[4], b_dims[4], y_dims[4];
  for (uint32_t d = 0; d < r; d++) {
    a_dims[d] = c->a_shape[c->a_perm[d]];
    b_dims[d] = c->b_shape[c->b_perm[d]];
  }
  for (uint32_t d = 0; d + 2 < r; d++) y_dims[d] = a_dims[d] > b_dims[d] ? a_dims[d] : b_dims[d];
  y_dims[r - 2] = a_dims[r - 2];
  y_dims[r - 1] = b_dims[r - 1];
  const int64_t k = a_dims[r - 1];
  size_t count = 1;
  for (uint32_t d = 0; d < r; d++) count *= (size_t)y_dims[d];
  for (size_t flat = 0; flat < count; flat++) {
    size_t index[4], rest = flat;
    for (uint32_t d = r; d-- > 0;) {
      index[d] = rest % (size_t)y_dims[d];
      rest /= (size_t)y_dims[d];
    }
    size_t a_index[4], b_index[4];
    memcpy(a_index, index, sizeof a_index);
    memcpy(b_index, index, sizeof b_index);
    double sum = bias != NULL ? bias[index[r - 1]] : 0.0;
    for (int64_t kk = 0; kk < k; kk++) {
      a_index[r - 1] = b_index[r - 2] = (size_t)kk;
      sum += (double)a[stored_offset(r, c->a_shape, c->a_perm, a_index)] *
             (double)b[stored_offset(r, c->b_shape, c->b_perm, b_index)];
    }
    if (c->activation == THAW_UNARY_RELU && sum < 0.0) sum = 0.0;
    /* Stored Y dim e is product dim y_perm[e]. */
    size_t y_stride[4], offset = 0;
    strides_of(r, c->y_shape, y_stride);
    for (uint32_t e = 0; e < r; e++) offset += index[c->y_perm[e]] * y_stride[e];
    y[offset] = sum;
  }
}

static size_t element_count(uint32_t rank, const int64_t *shape) {
  size_t count = 1;
  for (uint32_t d = 0; d < rank; d++) count *= (size_t)shape[d];
  return count;
}

static test_model_bytes build_product(const product_case *c, const float *bias) {
  thaw_writer *w = thaw_writer_create();
  const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, c->rank, c->a_shape);
  const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, c->rank, c->b_shape);
  int64_t bias_shape[4] = {1, 1, 1, 1};
  bias_shape[c->bias_rank > 0 ? c->bias_rank - 1 : 0] = c->y_shape[c->rank - 1];
  const uint32_t bias_id =
      bias != NULL ? test_constant(w, "bias", THAW_DTYPE_F32, c->bias_rank, bias_shape, bias) : 0;
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, c->rank, c->y_shape);
  thaw_permuted_matmul_attrs attrs = {.activation = {c->activation, 0, 0}};
  memcpy(attrs.a_perm, c->a_perm, sizeof attrs.a_perm);
  memcpy(attrs.b_perm, c->b_perm, sizeof attrs.b_perm);
  memcpy(attrs.y_perm, c->y_perm, sizeof attrs.y_perm);
  test_node(w, THAW_OP_PERMUTED_MATMUL, c->name, &attrs, bias != NULL ? 3 : 2,
            (uint32_t[]){a, b, bias_id}, y);
  thaw_writer_add_input(w, a);
  thaw_writer_add_input(w, b);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

/* Y of one run on `threads` threads, copied to `y`. */
static void run_product(thaw_model *model, uint32_t threads, const float *a, const float *b,
                        float *y, size_t y_count) {
  const thaw_session_options options = {.threads = threads};
  thaw_session *session = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_session_create(model, &options, &session, &error), THAW_OK);
  test_set_input(session, 0, a);
  test_set_input(session, 1, b);
  if (thaw_session_run(session, NULL, &error) != THAW_OK) fail_msg("run: %s", error.message);
  memcpy(y, test_output(session, 0), y_count * sizeof *y);
  thaw_session_destroy(session);
}

static const product_case kCases[] = {
    /* Q·Kᵀ of attention: heads split out of [batch, seq, heads, head_dim] on both sides, a
     * mask [1, 1, 1, N] as the bias. */
    {"scores", 4, {1, 5, 3, 4}, {1, 5, 3, 4}, {1, 3, 5, 5},
     {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 1, 2, 3}, 4, THAW_UNARY_IDENTITY},
    /* P·V with the heads merged back: Y stored [batch, seq, heads, head_dim]. */
    {"context", 4, {1, 3, 5, 5}, {1, 5, 3, 4}, {1, 5, 3, 4},
     {0, 1, 2, 3}, {0, 2, 1, 3}, {0, 2, 1, 3}, 0, THAW_UNARY_IDENTITY},
    /* Odd sizes, B broadcast over the batch, bias and ReLU, Y's batch dim in the middle. */
    {"broadcast", 3, {7, 2, 19}, {1, 19, 17}, {7, 2, 17},
     {1, 0, 2}, {0, 1, 2}, {1, 0, 2}, 1, THAW_UNARY_RELU},
    /* A read transposed within the matrix (a k stride other than 1), rank 2. */
    {"transposed_a", 2, {9, 6}, {9, 11}, {6, 11}, {1, 0}, {0, 1}, {0, 1}, 0,
     THAW_UNARY_IDENTITY},
};

static void test_products_match_reference(void **state) {
  (void)state;
  thaw_test_rng rng = {41};
  for (size_t i = 0; i < sizeof kCases / sizeof kCases[0]; i++) {
    const product_case *c = &kCases[i];
    const size_t a_count = element_count(c->rank, c->a_shape);
    const size_t b_count = element_count(c->rank, c->b_shape);
    const size_t y_count = element_count(c->rank, c->y_shape);
    assert_true(a_count <= MAX_ELEMENTS && b_count <= MAX_ELEMENTS && y_count <= MAX_ELEMENTS);
    float a[MAX_ELEMENTS], b[MAX_ELEMENTS], bias[32], y1[MAX_ELEMENTS], y2[MAX_ELEMENTS];
    thaw_test_fill_uniform(&rng, a, a_count, -1.0f, 1.0f);
    thaw_test_fill_uniform(&rng, b, b_count, -1.0f, 1.0f);
    thaw_test_fill_uniform(&rng, bias, 32, -1.0f, 1.0f);
    double expected[MAX_ELEMENTS];
    for (size_t e = 0; e < y_count; e++) expected[e] = NAN; /* every element must be written */
    reference_product(c, a, b, c->bias_rank > 0 ? bias : NULL, expected);

    test_model_bytes bytes = build_product(c, c->bias_rank > 0 ? bias : NULL);
    const thaw_format_view view = test_view(&bytes);
    assert_int_equal(view.minor, 3);
    thaw_model *model = test_open(&bytes);
    run_product(model, 1, a, b, y1, y_count);
    thaw_test_assert_close(c->name, y1, expected, y_count, 1e-5, 1e-6);
    run_product(model, 2, a, b, y2, y_count);
    assert_memory_equal(y1, y2, y_count * sizeof *y1);
    thaw_model_close(model);
    free(bytes.bytes);
  }
}

static thaw_status check_attrs(uint32_t input_rank, const thaw_permuted_matmul_attrs *attrs,
                               thaw_error *error) {
  uint8_t blob[sizeof *attrs];
  thaw_op_attrs_encode(THAW_OP_PERMUTED_MATMUL, attrs, blob);
  return thaw_op_check(THAW_OP_PERMUTED_MATMUL, "p", 2, 1, input_rank, blob, error);
}

static void test_attribute_rules(void **state) {
  (void)state;
  const thaw_permuted_matmul_attrs valid = {
      .a_perm = {0, 2, 1, 3}, .b_perm = {0, 2, 3, 1}, .y_perm = {0, 2, 1, 3}};
  thaw_error error = {0};
  assert_int_equal(check_attrs(4, &valid, &error), THAW_OK);

  thaw_permuted_matmul_attrs attrs = valid;
  attrs.y_perm[1] = 1;
  attrs.y_perm[2] = 3;
  attrs.y_perm[3] = 2;
  assert_int_equal(check_attrs(4, &attrs, &error), THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "y_perm moves the last axis"));

  attrs = valid;
  attrs.b_perm[1] = 0;
  assert_int_equal(check_attrs(4, &attrs, &error), THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "b_perm is not a permutation"));

  attrs = valid;
  attrs.a_perm[4] = 1;
  assert_int_equal(check_attrs(4, &attrs, &error), THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "a_perm entries past the input rank"));

  const thaw_permuted_matmul_attrs vector = {0};
  assert_int_equal(check_attrs(1, &vector, &error), THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "rank below 2"));

  attrs = valid;
  attrs.activation.func = THAW_UNARY_FUNC_MAX + 1;
  assert_int_equal(check_attrs(4, &attrs, &error), THAW_STATUS_UNSUPPORTED);
}

/* The status and message thaw_model_open_memory gives for a product case. */
static void expect_open_refused(const product_case *c, thaw_status status, const char *text) {
  test_model_bytes bytes = build_product(c, NULL);
  thaw_model *model = NULL;
  thaw_error error = {0};
  assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 0, &model, &error), status);
  if (strstr(error.message, text) == NULL) fail_msg("%s: message \"%s\"", c->name, error.message);
  free(bytes.bytes);
}

static void test_shape_rules(void **state) {
  (void)state;
  const product_case rank_mismatch = {"ranks", 3, {2, 3, 4}, {1, 4, 5}, {2, 3, 5},
                                      {0, 1, 2}, {0, 1, 2}, {0, 1, 2}, 0, 0};
  /* B of rank 2 under a rank-3 A: the writer takes it (ranks need shapes), the runtime not. */
  {
    thaw_writer *w = thaw_writer_create();
    const uint32_t a = test_activation(w, "a", THAW_DTYPE_F32, DIMS(2, 3, 4));
    const uint32_t b = test_activation(w, "b", THAW_DTYPE_F32, DIMS(4, 5));
    const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(2, 3, 5));
    const thaw_permuted_matmul_attrs attrs = {
        .a_perm = {0, 1, 2}, .b_perm = {0, 1, 2}, .y_perm = {0, 1, 2}};
    test_node(w, THAW_OP_PERMUTED_MATMUL, "ranks", &attrs, 2, (uint32_t[]){a, b}, y);
    thaw_writer_add_input(w, a);
    thaw_writer_add_input(w, b);
    thaw_writer_add_output(w, y);
    test_model_bytes bytes = test_finish(w);
    thaw_model *model = NULL;
    thaw_error error = {0};
    assert_int_equal(thaw_model_open_memory(bytes.bytes, bytes.size, 0, &model, &error),
                     THAW_STATUS_CORRUPT);
    assert_non_null(strstr(error.message, "differ in rank"));
    free(bytes.bytes);
  }

  product_case inner = rank_mismatch;
  inner.b_perm[1] = 2;
  inner.b_perm[2] = 1; /* B read as [1, 5, 4]: inner dims 4 vs 5 */
  expect_open_refused(&inner, THAW_STATUS_CORRUPT, "inner dims");

  product_case wrong_y = rank_mismatch;
  wrong_y.y_perm[0] = 1;
  wrong_y.y_perm[1] = 0; /* Y [2, 3, 5] read back as [3, 2, 5] */
  expect_open_refused(&wrong_y, THAW_STATUS_CORRUPT, "transposed back");

  /* Product [2, 3, 4, 5] stored as [3, 2, 4, 5]: its batches are not one stride apart (the
   * converter keeps such a Transpose). */
  const product_case uneven = {"uneven", 4, {2, 3, 4, 6}, {2, 3, 6, 5}, {3, 2, 4, 5},
                               {0, 1, 2, 3}, {0, 1, 2, 3}, {1, 0, 2, 3}, 0, 0};
  expect_open_refused(&uneven, THAW_STATUS_UNSUPPORTED, "not evenly strided");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_products_match_reference),
      cmocka_unit_test(test_attribute_rules),
      cmocka_unit_test(test_shape_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
