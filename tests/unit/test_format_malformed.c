/*
 * The format reader against the shared table of malformed files (tests/support/
 * malformed_format.c: one field of a valid file mutated, the header checksum recomputed so the
 * rule under test is what refuses it), each refused with its specific status and a message
 * naming what is wrong, and against the same file truncated everywhere. Also a table of node
 * contracts broken one attribute at a time. Runs under ASan/UBSan in CI: nothing may crash.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "malformed_files.h"
#include "test_support.h"

/* The valid file the malformed tables are made from. */
static test_model_bytes g_base;

/* Open `bytes` from a fresh copy sized exactly, so ASan sees any overread. */
static thaw_status open_copy(const uint8_t *bytes, uint64_t size, thaw_error *error) {
  uint8_t *copy = malloc(size > 0 ? size : 1);
  assert_non_null(copy);
  memcpy(copy, bytes, size);
  thaw_format_view view;
  thaw_status status = thaw_format_open(copy, size, &view, error);
  free(copy);
  return status;
}

static void expect_refused(const char *what, const uint8_t *bytes, uint64_t size,
                           thaw_status status, const char *fragment) {
  thaw_error error = {0};
  thaw_status got = open_copy(bytes, size, &error);
  if (got != status || strstr(error.message, fragment) == NULL) {
    fail_msg("%s: got %s '%s', want %s containing '%s'", what, thaw_status_str(got),
             error.message, thaw_status_str(status), fragment);
  }
  assert_int_equal(error.status, status);
}

static void test_malformed_table(void **state) {
  (void)state;
  const size_t count = thaw_malformed_format_count();
  for (size_t i = 0; i < count; i++) {
    thaw_malformed_file c;
    thaw_malformed_format_build(i, &c);
    expect_refused(c.name, c.file.bytes, c.file.size, c.status, c.fragment);
    thaw_malformed_file_free(&c);
  }
}

/* Cut at every section boundary and a few bytes past each: always "truncated". */
static void test_truncated_everywhere(void **state) {
  (void)state;
  const size_t count = thaw_malformed_truncated_count();
  for (size_t i = 0; i < count; i++) {
    thaw_malformed_file c;
    thaw_malformed_truncated_build(i, &c);
    expect_refused(c.name, c.file.bytes, c.file.size, c.status, c.fragment);
    thaw_malformed_file_free(&c);
  }
}

/* Every single-byte prefix of the header region is refused without a fault. */
static void test_every_short_prefix(void **state) {
  (void)state;
  for (uint64_t size = 0; size < 64; size++) {
    thaw_error error = {0};
    thaw_status status = open_copy(g_base.bytes, size, &error);
    assert_true(status == THAW_STATUS_NOT_A_MODEL || status == THAW_STATUS_CORRUPT);
  }
}

/* ---- The GEMM-packed layout ---- */

enum { PACKED_K = 7, PACKED_N = 37, PACKED_BYTES = 3 * 16 * PACKED_K * 4 }; /* 3 panels */

/* x[2,K] · w[K,N] with w packed: a valid 1.1 file, and its tensor ids. */
static test_model_bytes build_packed_matmul(uint32_t *x_id, uint32_t *w_id) {
  static const float packed[PACKED_BYTES / 4];
  thaw_writer *writer = thaw_writer_create();
  const int64_t x_shape[2] = {2, PACKED_K}, w_shape[2] = {PACKED_K, PACKED_N};
  const int64_t y_shape[2] = {2, PACKED_N};
  *x_id = test_activation(writer, "x", THAW_DTYPE_F32, 2, x_shape);
  *w_id = thaw_writer_add_tensor(writer, "w", THAW_TENSOR_CONSTANT, THAW_DTYPE_F32, 2, w_shape,
                                 THAW_LAYOUT_F32_GEMM_PANEL16, packed, sizeof packed);
  const uint32_t y = test_activation(writer, "y", THAW_DTYPE_F32, 2, y_shape);
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  thaw_writer_add_node(writer, THAW_OP_MATMUL, "mm", &plain, (uint32_t[]){*x_id, *w_id}, 2, &y,
                       1);
  thaw_writer_add_input(writer, *x_id);
  thaw_writer_add_output(writer, y);
  return test_finish(writer);
}

/* Overwrite `width` bytes at `at` of tensor record `id` (located through `view`, the file's
 * view before any edit), then recompute the header checksum so the edited field is what gets
 * refused. */
static void edit_tensor_record(test_model_bytes *file, const thaw_format_view *view, uint32_t id,
                               size_t at, int width, uint64_t value) {
  uint8_t *record = file->bytes + (view->tensor_records - view->bytes) +
                    (size_t)id * THAW_FORMAT_TENSOR_RECORD_SIZE;
  thaw_test_store_le(record + at, width, value);
  thaw_test_store_le(file->bytes + 24, 8,
                     thaw_format_header_checksum(file->bytes, view->weights_offset));
}

static void test_packed_layout_rules(void **state) {
  (void)state;
  enum { LAYOUT_AT = 10, SIZE_AT = 88 };
  uint32_t x, w;
  test_model_bytes file = build_packed_matmul(&x, &w);
  thaw_format_view view;
  thaw_error error = {0};
  assert_int_equal(thaw_format_open(file.bytes, file.size, &view, &error), THAW_OK);
  assert_int_equal(view.minor, 1);
  thaw_format_tensor weight;
  thaw_format_get_tensor(&view, w, &weight);
  assert_int_equal(weight.layout, THAW_LAYOUT_F32_GEMM_PANEL16);
  assert_int_equal(weight.size, PACKED_BYTES);
  assert_int_equal(weight.element_count, PACKED_K * PACKED_N);

  edit_tensor_record(&file, &view, w, SIZE_AT, 8, PACKED_K * PACKED_N * 4);
  expect_refused("packed size of a plain matrix", file.bytes, file.size, THAW_STATUS_CORRUPT,
                 "tensor 'w': size is 1036 bytes, f32_gemm_panel16 [7,37] needs 1344");
  edit_tensor_record(&file, &view, w, SIZE_AT, 8, PACKED_BYTES + 64);
  expect_refused("packed size too large", file.bytes, file.size, THAW_STATUS_CORRUPT,
                 "size is 1408 bytes, f32_gemm_panel16 [7,37] needs 1344");
  edit_tensor_record(&file, &view, w, SIZE_AT, 8, PACKED_BYTES);
  edit_tensor_record(&file, &view, w, LAYOUT_AT, 2, THAW_LAYOUT_MAX + 1);
  expect_refused("layout from a later version", file.bytes, file.size, THAW_STATUS_UNSUPPORTED,
                 "tensor 'w': unknown layout");
  edit_tensor_record(&file, &view, w, LAYOUT_AT, 2, THAW_LAYOUT_F32_GEMM_PANEL16);
  edit_tensor_record(&file, &view, x, LAYOUT_AT, 2, THAW_LAYOUT_F32_GEMM_PANEL16);
  expect_refused("packed activation", file.bytes, file.size, THAW_STATUS_CORRUPT,
                 "tensor 'x': layout f32_gemm_panel16 is for rank-2 f32 constants, not a rank-2 "
                 "f32 activation");
  free(file.bytes);
}

/* ---- Node contracts, one broken attribute at a time ---- */

typedef struct contract_case {
  const char *what;
  uint32_t op;
  uint32_t input_count, output_count, input_rank;
  uint32_t words[32]; /* the attribute blob as 32-bit words (the largest blob is 27) */
  thaw_status status;
  const char *fragment;
} contract_case;

/* IEEE-754 single-precision bit patterns. */
#define F_ZERO 0x00000000u
#define F_ONE 0x3F800000u
#define F_SIX 0x40C00000u
#define F_NAN 0x7FC00000u
#define F_INFINITY 0x7F800000u

static const contract_case kContractCases[] = {
    {"concat without inputs", THAW_OP_CONCAT, 0, 1, 0, {0}, THAW_STATUS_CORRUPT, "0 inputs, needs at least 1"},
    {"split without outputs", THAW_OP_SPLIT, 1, 0, 2, {0}, THAW_STATUS_CORRUPT, "0 outputs, needs at least 1"},
    {"where with two inputs", THAW_OP_WHERE, 2, 1, 2, {0}, THAW_STATUS_CORRUPT, "2 inputs, needs 3 to 3"},
    {"softmax axis past rank", THAW_OP_SOFTMAX, 1, 1, 2, {2}, THAW_STATUS_CORRUPT, "axis 2 is not below the input rank 2"},
    {"unknown binary func", THAW_OP_BINARY, 2, 1, 2, {8}, THAW_STATUS_UNSUPPORTED, "unknown binary function 8"},
    {"transpose repeats an axis", THAW_OP_TRANSPOSE, 1, 1, 3, {0, 1, 1}, THAW_STATUS_CORRUPT, "not a permutation"},
    {"transpose axis past rank", THAW_OP_TRANSPOSE, 1, 1, 2, {0, 2}, THAW_STATUS_CORRUPT, "not a permutation"},
    {"transpose tail not zero", THAW_OP_TRANSPOSE, 1, 1, 2, {1, 0, 3}, THAW_STATUS_CORRUPT, "past the input rank must be 0"},
    {"slice step 0", THAW_OP_SLICE, 1, 1, 2, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, THAW_STATUS_CORRUPT, "steps must be non-zero"},
    {"slice negative start", THAW_OP_SLICE, 1, 1, 1, {(uint32_t)-1, 0, 0, 0, 0, 0, 0, 0, 1}, THAW_STATUS_CORRUPT, "starts must be >= 0"},
    {"resize mode", THAW_OP_RESIZE, 1, 1, 2, {3, 1, 1, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "unknown resize mode 3"},
    {"resize coordinates", THAW_OP_RESIZE, 1, 1, 2, {2, 9, 0, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "coordinate transformation 9"},
    {"resize rounding", THAW_OP_RESIZE, 1, 1, 2, {1, 1, 0, F_ONE, F_ONE}, THAW_STATUS_UNSUPPORTED, "nearest rounding 0"},
    {"resize scale zero", THAW_OP_RESIZE, 1, 1, 2, {2, 1, 0, F_ONE, F_ZERO}, THAW_STATUS_CORRUPT, "scales must be finite and > 0"},
    {"pad mode", THAW_OP_PAD, 1, 1, 2, {4}, THAW_STATUS_UNSUPPORTED, "unknown pad mode 4"},
    {"pad value NaN", THAW_OP_PAD, 1, 1, 2, {1, F_NAN}, THAW_STATUS_CORRUPT, "pad value is NaN"},
    {"reduce past rank", THAW_OP_REDUCE_MEAN, 1, 1, 3, {2, 2}, THAW_STATUS_CORRUPT, "exceed the input rank 3"},
    {"reduce no axes", THAW_OP_REDUCE_MEAN, 1, 1, 3, {0, 0}, THAW_STATUS_CORRUPT, "axis_count is 0"},
    {"pool kernel 0", THAW_OP_MAX_POOL, 1, 1, 4, {0, 2, 1, 1, 1, 1}, THAW_STATUS_CORRUPT, "kernel_h is 0"},
    {"pool pad covers window", THAW_OP_AVERAGE_POOL, 1, 1, 4, {2, 2, 1, 1, 1, 1, 2, 0, 0, 0}, THAW_STATUS_CORRUPT, "smaller than the dilated kernel"},
    {"pool ceil_mode 2", THAW_OP_MAX_POOL, 1, 1, 4, {2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 2}, THAW_STATUS_CORRUPT, "ceil_mode is 2"},
    {"layer norm epsilon NaN", THAW_OP_LAYER_NORM, 2, 1, 2, {1, F_NAN}, THAW_STATUS_CORRUPT, "epsilon must be finite"},
    {"clip bounds reversed", THAW_OP_UNARY, 1, 1, 1, {THAW_UNARY_CLIP, F_SIX, F_ZERO}, THAW_STATUS_CORRUPT, "clip bounds"},
    {"leaky relu alpha inf", THAW_OP_UNARY, 1, 1, 1, {THAW_UNARY_LEAKY_RELU, F_INFINITY}, THAW_STATUS_CORRUPT, "alpha must be finite"},
    {"conv output padding", THAW_OP_CONV, 2, 1, 4, {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0}, THAW_STATUS_CORRUPT, "output_padding must be 0 for Conv"},
    {"deconv output padding", THAW_OP_CONV_TRANSPOSE, 2, 1, 4, {2, 2, 1, 1, 0, 0, 0, 0, 1, 2, 0}, THAW_STATUS_CORRUPT, "below the stride or the dilation"},
    {"matmul four inputs", THAW_OP_MATMUL, 4, 1, 2, {0}, THAW_STATUS_CORRUPT, "4 inputs, needs 2 to 3"},
    {"qs8 static scale 0", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_STATIC, F_ZERO, 0}, THAW_STATUS_CORRUPT, "static input scale must be finite and > 0"},
    {"qs8 static scale NaN", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_STATIC, F_NAN, 0}, THAW_STATUS_CORRUPT, "static input scale must be finite and > 0"},
    {"qs8 static scale denormal", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_STATIC, 1, 0}, THAW_STATUS_CORRUPT, "with a finite inverse"},
    {"qs8 zero point 128", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_STATIC, F_ONE, 128}, THAW_STATUS_CORRUPT, "zero_point 128 is outside [-128, 127]"},
    {"qs8 dynamic with scale", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_DYNAMIC, F_ONE, 0}, THAW_STATUS_CORRUPT, "dynamic input quantization must have scale 0"},
    {"qs8 unknown mode", THAW_OP_QS8_MATMUL, 2, 1, 2, {7}, THAW_STATUS_UNSUPPORTED, "unknown input quantization mode 7"},
    {"qs8 whole tensor with scale", THAW_OP_QS8_MATMUL, 2, 1, 2, {THAW_QS8_INPUT_DYNAMIC_TENSOR, F_ONE, 0}, THAW_STATUS_CORRUPT, "dynamic input quantization must have scale 0"},
    {"qs8 conv whole tensor with scale", THAW_OP_QS8_CONV, 2, 1, 4, {1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, THAW_QS8_INPUT_DYNAMIC_TENSOR, F_ONE}, THAW_STATUS_CORRUPT, "dynamic input quantization must have scale 0"},
    {"qs8 activation", THAW_OP_QS8_MATMUL, 2, 1, 2, {0, 0, 0, 99}, THAW_STATUS_UNSUPPORTED, "unknown unary function 99"},
};

static void test_contract_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof kContractCases / sizeof kContractCases[0]; i++) {
    const contract_case *c = &kContractCases[i];
    uint8_t blob[4 * 32];
    for (int w = 0; w < 32; w++) thaw_test_store_le(blob + 4 * w, 4, c->words[w]);
    thaw_error error = {0};
    thaw_status got = thaw_op_check(c->op, "n", c->input_count, c->output_count, c->input_rank,
                                    blob, &error);
    if (got != c->status || strstr(error.message, c->fragment) == NULL) {
      fail_msg("%s: got %s '%s', want %s containing '%s'", c->what, thaw_status_str(got),
               error.message, thaw_status_str(c->status), c->fragment);
    }
  }
  /* The valid forms next to them pass. */
  uint8_t blob[64] = {0};
  thaw_test_store_le(blob, 4, 1);
  thaw_test_store_le(blob + 4, 4, 0);
  thaw_error error = {0};
  assert_int_equal(thaw_op_check(THAW_OP_TRANSPOSE, "n", 1, 1, 2, blob, &error), THAW_OK);
}

static int setup(void **state) {
  (void)state;
  g_base = thaw_malformed_format_base();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(g_base.bytes);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_malformed_table),
      cmocka_unit_test(test_truncated_everywhere),
      cmocka_unit_test(test_every_short_prefix),
      cmocka_unit_test(test_contract_table),
      cmocka_unit_test(test_packed_layout_rules),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
