/* The .npy reader and writer: round trips, the exact header NumPy writes, and a table of
 * malformed files each refused with its status and a message naming the problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/format.h"
#include "npy.h"
#include "test_support.h"

/* A .npy file assembled by hand: preamble for `major`, the header text exactly as given (no
 * padding added), then `data_size` bytes of `data_byte`. */
typedef struct npy_bytes {
  uint8_t *bytes;
  size_t size;
} npy_bytes;

static npy_bytes make_npy(int major, const char *header, size_t data_size, uint8_t data_byte) {
  size_t header_length = strlen(header), preamble = major == 1 ? 10 : 12;
  npy_bytes file = {malloc(preamble + header_length + data_size + 1), 0};
  assert_non_null(file.bytes);
  memcpy(file.bytes, "\x93NUMPY", 6);
  file.bytes[6] = (uint8_t)major;
  file.bytes[7] = 0;
  for (size_t i = 0; i < preamble - 8; i++) file.bytes[8 + i] = (uint8_t)(header_length >> (8 * i));
  memcpy(file.bytes + preamble, header, header_length);
  memset(file.bytes + preamble + header_length, data_byte, data_size);
  file.size = preamble + header_length + data_size;
  return file;
}

static void expect_same_shape(const thaw_npy *npy, uint32_t rank, const int64_t *shape) {
  assert_int_equal(npy->rank, rank);
  for (uint32_t i = 0; i < rank; i++) assert_int_equal(npy->shape[i], shape[i]);
}

static void test_round_trip_every_dtype(void **state) {
  (void)state;
  static const struct {
    thaw_dtype dtype;
    size_t element_size;
  } dtypes[] = {{THAW_DTYPE_F32, 4}, {THAW_DTYPE_I64, 8}, {THAW_DTYPE_I32, 4},
                {THAW_DTYPE_I8, 1},  {THAW_DTYPE_U8, 1},  {THAW_DTYPE_BOOL, 1}};
  static const struct {
    uint32_t rank;
    int64_t shape[THAW_MAX_RANK];
    size_t elements;
  } shapes[] = {{0, {0}, 1},
                {1, {7}, 7},
                {2, {2, 3}, 6},
                {4, {1, 3, 4, 5}, 60},
                {8, {1, 2, 1, 2, 1, 2, 1, 3}, 24},
                {2, {0, 5}, 0}};
  char *path = thaw_test_tmp_path("round_trip.npy");
  thaw_test_rng rng = {42};
  for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      size_t size = shapes[s].elements * dtypes[d].element_size;
      uint8_t *data = malloc(size + 1);
      assert_non_null(data);
      for (size_t i = 0; i < size; i++)
        data[i] = dtypes[d].dtype == THAW_DTYPE_BOOL ? (uint8_t)(thaw_test_rng_next(&rng) & 1)
                                                     : (uint8_t)thaw_test_rng_next(&rng);
      thaw_error error;
      if (thaw_npy_write(path, dtypes[d].dtype, shapes[s].rank, shapes[s].shape, data, &error) !=
          THAW_OK)
        fail_msg("write: %s", error.message);
      thaw_npy npy;
      if (thaw_npy_read(path, &npy, &error) != THAW_OK) fail_msg("read: %s", error.message);
      assert_int_equal(npy.dtype, dtypes[d].dtype);
      expect_same_shape(&npy, shapes[s].rank, shapes[s].shape);
      assert_int_equal(npy.element_count, shapes[s].elements);
      assert_int_equal(npy.size_bytes, size);
      assert_memory_equal(npy.data, data, size);
      thaw_npy_free(&npy);
      free(data);
    }
  }
  free(path);
}

/* Byte for byte what numpy.save writes for np.arange(6, dtype=np.int32).reshape(2, 3): a
 * 10-byte preamble, the dict padded with spaces to 118 bytes ending in '\n', then the data at
 * offset 128. */
static void test_writer_matches_numpy_bytes(void **state) {
  (void)state;
  const char dict[] = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  uint8_t expected[152];
  memcpy(expected, "\x93NUMPY\x01\x00\x76\x00", 10);
  memset(expected + 10, ' ', 118);
  memcpy(expected + 10, dict, sizeof dict - 1);
  expected[127] = '\n';
  memset(expected + 128, 0, 24);
  for (int i = 0; i < 6; i++) expected[128 + 4 * i] = (uint8_t)i;

  int32_t values[6] = {0, 1, 2, 3, 4, 5};
  int64_t shape[2] = {2, 3};
  char *path = thaw_test_tmp_path("numpy_bytes.npy");
  thaw_error error;
  assert_int_equal(thaw_npy_write(path, THAW_DTYPE_I32, 2, shape, values, &error), THAW_OK);
  size_t size;
  uint8_t *written = thaw_test_read_file(path, &size);
  assert_non_null(written);
  assert_int_equal(size, sizeof expected);
  assert_memory_equal(written, expected, size);
  free(written);
  free(path);
}

static void test_shape_spellings(void **state) {
  (void)state;
  static const struct {
    const char *header;
    uint32_t rank;
    int64_t shape[3];
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", 0, {0}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 1, {3}},
      {"{'shape': (2, 3,), 'fortran_order': False, 'descr': '<f4'}", 2, {2, 3}},
      {"{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(1,2,1)}   \n", 3, {1, 2, 1}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    size_t elements = 1;
    for (uint32_t i = 0; i < cases[c].rank; i++) elements *= (size_t)cases[c].shape[i];
    npy_bytes file = make_npy(1, cases[c].header, elements * 4, 0);
    thaw_npy npy;
    thaw_error error;
    if (thaw_npy_parse(file.bytes, file.size, "case.npy", &npy, &error) != THAW_OK)
      fail_msg("case %zu: %s", c, error.message);
    assert_int_equal(npy.dtype, THAW_DTYPE_F32);
    expect_same_shape(&npy, cases[c].rank, cases[c].shape);
    assert_int_equal(npy.element_count, elements);
    thaw_npy_free(&npy);
    free(file.bytes);
  }
}

/* Versions 2.0 and 3.0 differ from 1.0 only by a 4-byte header length. */
static void test_version_2_and_3_headers(void **state) {
  (void)state;
  for (int major = 2; major <= 3; major++) {
    npy_bytes file =
        make_npy(major, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n", 16, 0);
    file.bytes[file.size - 16] = 7;   /* element 0 = 7 */
    file.bytes[file.size - 1] = 0x80; /* element 1 = INT64_MIN */
    thaw_npy npy;
    thaw_error error;
    if (thaw_npy_parse(file.bytes, file.size, "v2.npy", &npy, &error) != THAW_OK)
      fail_msg("version %d: %s", major, error.message);
    assert_int_equal(npy.dtype, THAW_DTYPE_I64);
    assert_int_equal(npy.rank, 1);
    assert_int_equal(npy.shape[0], 2);
    const int64_t *values = npy.data;
    assert_int_equal(values[0], 7);
    assert_true(values[1] == INT64_MIN);
    thaw_npy_free(&npy);
    free(file.bytes);
  }
}

typedef struct malformed_case {
  const char *what;
  int major;
  const char *header;
  size_t data_size;
  uint8_t data_byte;
  thaw_status status;
  const char *message;
} malformed_case;

#define HEADER(descr, fortran, shape) \
  "{'descr': '" descr "', 'fortran_order': " fortran ", 'shape': " shape ", }\n"

static const malformed_case malformed_cases[] = {
    {"f8 dtype", 1, HEADER("<f8", "False", "(2,)"), 16, 0, THAW_STATUS_UNSUPPORTED,
     "bad.npy: dtype '<f8' is not supported"},
    {"i2 dtype", 1, HEADER("<i2", "False", "(2,)"), 4, 0, THAW_STATUS_UNSUPPORTED,
     "dtype '<i2' is not supported"},
    {"big-endian f4", 1, HEADER(">f4", "False", "(2,)"), 8, 0, THAW_STATUS_UNSUPPORTED,
     "dtype '>f4' is not supported"},
    {"fortran order", 1, HEADER("<f4", "True", "(2, 2)"), 16, 0, THAW_STATUS_UNSUPPORTED,
     "fortran_order True is not supported"},
    {"too few data bytes", 1, HEADER("<f4", "False", "(1, 3, 224, 224)"), 602000, 0,
     THAW_STATUS_CORRUPT, "bad.npy: header says shape (1, 3, 224, 224) float32 = 602112 bytes, "
                          "file has 602000"},
    {"trailing bytes", 1, HEADER("|u1", "False", "(3,)"), 4, 0, THAW_STATUS_CORRUPT,
     "header says shape (3,) uint8 = 3 bytes, file has 4"},
    {"element count overflow", 1, HEADER("<f4", "False", "(4294967296, 4294967296, 16)"), 0, 0,
     THAW_STATUS_CORRUPT, "shape (4294967296, 4294967296, 16) has more elements than fit"},
    {"byte count overflow", 1, HEADER("<i8", "False", "(4611686018427387904,)"), 0, 0,
     THAW_STATUS_CORRUPT, "shape (4611686018427387904,) int64 has more bytes than fit"},
    {"dimension past 64 bits", 1, HEADER("<f4", "False", "(99999999999999999999,)"), 0, 0,
     THAW_STATUS_CORRUPT, "does not fit in 64 bits"},
    {"negative dimension", 1, HEADER("<f4", "False", "(-1,)"), 0, 0, THAW_STATUS_CORRUPT,
     "expected a non-negative integer at header byte 51"},
    {"rank 9", 1, HEADER("|i1", "False", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), 1, 0,
     THAW_STATUS_UNSUPPORTED, "shape has more than 8 dimensions"},
    {"int, not a tuple", 1, HEADER("<f4", "False", "(3)"), 12, 0, THAW_STATUS_CORRUPT,
     "expected ',' after the only dimension"},
    {"unclosed shape", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4", 0, 0,
     THAW_STATUS_CORRUPT, "expected ',' or ')' in the shape"},
    {"missing key", 1, "{'descr': '<f4', 'fortran_order': False}", 4, 0, THAW_STATUS_CORRUPT,
     "missing key 'shape'"},
    {"unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", 4, 0,
     THAW_STATUS_CORRUPT, "unknown key 'x' at header byte 54"},
    {"duplicate key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
     4, 0, THAW_STATUS_CORRUPT, "key 'descr' appears twice"},
    {"unterminated string", 1, "{'descr': '<f4", 0, 0, THAW_STATUS_CORRUPT,
     "expected a closing quote"},
    {"escape in string", 1, "{'descr': '<f\\4'}", 0, 0, THAW_STATUS_CORRUPT,
     "expected a string without escapes"},
    {"overlong descr", 1, "{'descr': '<f4444444444444444444', 'fortran_order': False}", 0, 0,
     THAW_STATUS_CORRUPT, "longer than any valid key or dtype"},
    {"bad boolean", 1, HEADER("<f4", "false", "()"), 4, 0, THAW_STATUS_CORRUPT,
     "expected True or False"},
    {"not a dict", 1, "['descr', '<f4']\n", 0, 0, THAW_STATUS_CORRUPT,
     "malformed header: expected '{' at header byte 0"},
    {"empty header", 1, "", 0, 0, THAW_STATUS_CORRUPT, "expected '{'"},
    {"text after the dict", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", 4, 0,
     THAW_STATUS_CORRUPT, "expected only whitespace after '}'"},
    {"bool holding 2", 1, HEADER("|b1", "False", "(3,)"), 3, 2, THAW_STATUS_CORRUPT,
     "bool element 0 holds 2, not 0 or 1"},
};

static void test_malformed_headers(void **state) {
  (void)state;
  for (size_t c = 0; c < sizeof malformed_cases / sizeof malformed_cases[0]; c++) {
    const malformed_case *test = &malformed_cases[c];
    npy_bytes file = make_npy(test->major, test->header, test->data_size, test->data_byte);
    thaw_npy npy;
    thaw_error error = {0};
    thaw_status status = thaw_npy_parse(file.bytes, file.size, "bad.npy", &npy, &error);
    if (status != test->status)
      fail_msg("%s: status %d, expected %d (%s)", test->what, status, test->status,
               error.message);
    if (error.status != test->status || strstr(error.message, test->message) == NULL)
      fail_msg("%s: message \"%s\" lacks \"%s\"", test->what, error.message, test->message);
    free(file.bytes);
  }
}

static void expect_refused(const void *bytes, size_t size, thaw_status status,
                           const char *message) {
  thaw_npy npy;
  thaw_error error = {0};
  assert_int_equal(thaw_npy_parse(bytes, size, "bad.npy", &npy, &error), status);
  if (strstr(error.message, message) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", error.message, message);
}

static void test_malformed_preambles(void **state) {
  (void)state;
  expect_refused("", 0, THAW_STATUS_CORRUPT, "bad.npy: truncated: 0 bytes");
  expect_refused("\x93NUMPY\x01", 7, THAW_STATUS_CORRUPT, "shorter than the .npy preamble");
  expect_refused("\x93NUMPZ\x01\x00\x00\x00", 10, THAW_STATUS_CORRUPT, "not a .npy file");
  expect_refused("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10, THAW_STATUS_CORRUPT,
                 "not a .npy file");
  expect_refused("\x93NUMPY\x04\x00\x00\x00", 10, THAW_STATUS_UNSUPPORTED,
                 "format version 4.0 is not supported");
  expect_refused("\x93NUMPY\x01\x01\x00\x00", 10, THAW_STATUS_UNSUPPORTED, "version 1.1");
  expect_refused("\x93NUMPY\x02\x00\x00\x00", 10, THAW_STATUS_CORRUPT,
                 "shorter than the version 2 preamble");
  /* Header lengths that point past the end, in both encodings, up to the largest. */
  expect_refused("\x93NUMPY\x01\x00\x0b\x00{}", 12, THAW_STATUS_CORRUPT,
                 "header length 11 runs past the end of the file (12 bytes)");
  expect_refused("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, THAW_STATUS_CORRUPT,
                 "header length 4294967295 runs past the end");
}

/* Every proper prefix of a valid file is refused as corrupt, never read past. */
static void test_every_truncation_is_refused(void **state) {
  (void)state;
  npy_bytes file = make_npy(2, HEADER("<f4", "False", "(2, 2)"), 16, 0x3f);
  for (size_t size = 0; size < file.size; size++) {
    uint8_t *prefix = malloc(size + 1); /* exactly `size` readable bytes for ASan */
    assert_non_null(prefix);
    memcpy(prefix, file.bytes, size);
    thaw_npy npy;
    thaw_error error;
    if (thaw_npy_parse(prefix, size, "cut.npy", &npy, &error) != THAW_STATUS_CORRUPT)
      fail_msg("prefix of %zu bytes: %s", size, error.message);
    free(prefix);
  }
  free(file.bytes);
}

static void test_read_errors_name_the_file(void **state) {
  (void)state;
  thaw_npy npy;
  thaw_error error;
  char *missing = thaw_test_tmp_path("missing.npy");
  remove(missing);
  assert_int_equal(thaw_npy_read(missing, &npy, &error), THAW_STATUS_IO);
  assert_non_null(strstr(error.message, "missing.npy: No such file"));
  free(missing);

  char *directory = thaw_test_tmp_path("a_directory.npy");
  mkdir(directory, 0755);
  assert_int_equal(thaw_npy_read(directory, &npy, &error), THAW_STATUS_IO);
  assert_non_null(strstr(error.message, "a_directory.npy: not a regular file"));
  free(directory);

  char *short_file = thaw_test_tmp_path("short.npy");
  npy_bytes file = make_npy(1, HEADER("<f4", "False", "(3,)"), 8, 0);
  thaw_test_write_file(short_file, file.bytes, file.size);
  assert_int_equal(thaw_npy_read(short_file, &npy, &error), THAW_STATUS_CORRUPT);
  assert_non_null(strstr(error.message, "short.npy: header says shape (3,) float32 = 12 bytes, "
                                        "file has 8"));
  free(file.bytes);
  free(short_file);
}

static void test_write_refuses_bad_arguments(void **state) {
  (void)state;
  char *path = thaw_test_tmp_path("refused.npy");
  int64_t negative[2] = {2, -1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  float data[2] = {0};
  thaw_error error;
  assert_int_equal(thaw_npy_write(path, THAW_DTYPE_F32, 2, negative, data, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "dimension 1 is -1"));
  assert_int_equal(thaw_npy_write(path, THAW_DTYPE_F32, 9, nine, data, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(error.message, "rank 9 exceeds 8"));
  assert_int_equal(thaw_npy_write(path, (thaw_dtype)99, 1, nine, data, &error),
                   THAW_STATUS_UNSUPPORTED);
  assert_int_equal(thaw_npy_write("/nonexistent-dir/x.npy", THAW_DTYPE_F32, 1, nine, data, &error),
                   THAW_STATUS_IO);
  assert_non_null(strstr(error.message, "/nonexistent-dir/x.npy: No such file"));
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_every_dtype),
      cmocka_unit_test(test_writer_matches_numpy_bytes),
      cmocka_unit_test(test_shape_spellings),
      cmocka_unit_test(test_version_2_and_3_headers),
      cmocka_unit_test(test_malformed_headers),
      cmocka_unit_test(test_malformed_preambles),
      cmocka_unit_test(test_every_truncation_is_refused),
      cmocka_unit_test(test_read_errors_name_the_file),
      cmocka_unit_test(test_write_refuses_bad_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
