/* Data-movement kernels of every variant: exact results against index arithmetic written
 * from the ONNX definitions, plus the worked examples of the ONNX operator docs. */
#include <float.h>

#include "formats/format.h"
#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

/* ---- strided copy (Transpose, Slice, Expand) ---- */

/* y[flat] = x[origin + sum index_d * strides_d], by decomposing each output index. */
static void oracle_strided_copy(size_t element_size, const thaw_broadcast *iter,
                                const uint8_t *x, uint8_t *y) {
  const size_t total = oracle_product(iter->rank, iter->shape);
  for (size_t flat = 0; flat < total; flat++) {
    size_t rest = flat;
    ptrdiff_t offset = 0;
    for (uint32_t d = iter->rank; d-- > 0;) {
      offset += (ptrdiff_t)(rest % iter->shape[d]) * iter->strides[0][d];
      rest /= iter->shape[d];
    }
    memcpy(y + flat * element_size, x + offset * (ptrdiff_t)element_size, element_size);
  }
}

static uint8_t *random_bytes(thaw_test_rng *rng, size_t n) {
  uint8_t *bytes = malloc(n ? n : 1);
  assert_non_null(bytes);
  for (size_t i = 0; i < n; i++) bytes[i] = (uint8_t)thaw_test_rng_next(rng);
  return bytes;
}

typedef struct strided_case {
  const char *name;
  uint32_t rank;
  size_t shape[4];
  ptrdiff_t strides[4];
  ptrdiff_t origin; /* element of x read first */
  size_t x_elements;
} strided_case;

static void test_strided_copy(void **state) {
  (void)state;
  static const strided_case cases[] = {
      /* x is [3,5,7]; transpose perm (2,0,1) reads y[i,j,k] = x[j,k,i] */
      {"transpose 3-d", 3, {7, 3, 5}, {1, 35, 7}, 0, 105},
      {"transpose 2-d", 2, {9, 5}, {1, 9}, 0, 45},
      /* x is [11]: slice 9:0:-2 */
      {"negative step", 1, {5}, {-2}, 9, 11},
      /* x is [6,7]: slice [5:0:-1, 1:7:3] */
      {"negative and positive steps", 2, {5, 2}, {-7, 3}, 5 * 7 + 1, 42},
      /* x is [1,5] expanded to [4,5], then [5,1] expanded to [5,3] */
      {"expand rows", 2, {4, 5}, {0, 1}, 0, 5},
      {"expand columns", 2, {5, 3}, {1, 0}, 0, 5},
      {"expand scalar", 3, {2, 3, 3}, {0, 0, 0}, 0, 1},
      /* x is [2,3,4,5]: transpose (0,2,3,1) with the last axis reversed */
      {"transpose and reverse", 4, {2, 4, 5, 3}, {60, 5, -1, 20}, 4, 120},
      {"contiguous", 2, {3, 13}, {13, 1}, 0, 39},
      /* Transposes of the last two axes large enough for whole register tiles, with edges:
       * x [3,13,19] perm (0,2,1); x [2,9,3,17] perm (0,2,3,1) as attention's K^T; the
       * first with its last output axis reversed; [11,1] expanded to [11,17] and transposed. */
      {"tiled transpose", 3, {3, 19, 13}, {247, 1, 19}, 0, 741},
      {"tiled transpose of 4-d", 4, {2, 3, 17, 9}, {459, 17, 1, 51}, 0, 918},
      {"tiled transpose, reversed columns", 3, {3, 19, 13}, {247, 1, -19}, 12 * 19, 741},
      {"tiled transpose of a broadcast", 2, {11, 17}, {1, 0}, 0, 11},
      {"whole tiles only", 3, {2, 16, 8}, {128, 1, 16}, 0, 256},
  };
  static const size_t element_sizes[] = {1, 2, 4, 8, 12};
  thaw_test_rng rng = {12};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const strided_case *sc = &cases[c];
    for (size_t s = 0; s < sizeof(element_sizes) / sizeof(element_sizes[0]); s++) {
      const size_t element_size = element_sizes[s];
      thaw_strided_copy_params p = {.element_size = element_size};
      p.iter.rank = sc->rank;
      for (uint32_t d = 0; d < sc->rank; d++) {
        p.iter.shape[d] = sc->shape[d];
        p.iter.strides[0][d] = sc->strides[d];
      }
      const size_t y_bytes = oracle_product(sc->rank, sc->shape) * element_size;
      uint8_t *x = random_bytes(&rng, sc->x_elements * element_size);
      uint8_t *expected = malloc(y_bytes), *y = malloc(y_bytes);
      assert_non_null(expected);
      assert_non_null(y);
      const uint8_t *origin = x + sc->origin * (ptrdiff_t)element_size;
      oracle_strided_copy(element_size, &p.iter, origin, expected);
      for (size_t v = 0; v < variant_count; v++) {
        memset(y, 0xAB, y_bytes);
        variants[v]->strided_copy(&p, origin, y);
        if (memcmp(y, expected, y_bytes) != 0)
          fail_msg("%s strided copy %s, element size %zu", variants[v]->isa, sc->name,
                   element_size);
      }
      free(x);
      free(expected);
      free(y);
    }
  }
}

/* Transpose of [[0,1,2],[3,4,5]] and the reversed slice of it, worked by hand. */
static void test_strided_copy_hand_values(void **state) {
  (void)state;
  const float x[6] = {0, 1, 2, 3, 4, 5};
  thaw_strided_copy_params p = {.element_size = sizeof(float)};
  p.iter.rank = 2;
  p.iter.shape[0] = 3, p.iter.shape[1] = 2;
  p.iter.strides[0][0] = 1, p.iter.strides[0][1] = 3;
  const float transposed[6] = {0, 3, 1, 4, 2, 5};
  for (size_t v = 0; v < variant_count; v++) {
    float y[6];
    variants[v]->strided_copy(&p, x, y);
    assert_memory_equal(y, transposed, sizeof(y));
  }
  /* x[::-1, ::-2] = [[5,3],[2,0]] */
  p.iter.shape[0] = 2, p.iter.shape[1] = 2;
  p.iter.strides[0][0] = -3, p.iter.strides[0][1] = -2;
  const float reversed[4] = {5, 3, 2, 0};
  for (size_t v = 0; v < variant_count; v++) {
    float y[4];
    variants[v]->strided_copy(&p, x + 5, y);
    assert_memory_equal(y, reversed, sizeof(y));
  }
}

/* ---- concat and split ---- */

static void test_concat_split_round_trip(void **state) {
  (void)state;
  thaw_test_rng rng = {13};
  enum { OUTER = 5, COUNT = 4 };
  const size_t row_bytes[COUNT] = {12, 4, 0, 28};
  size_t total_row = 0;
  for (size_t i = 0; i < COUNT; i++) total_row += row_bytes[i];
  uint8_t *inputs[COUNT];
  for (size_t i = 0; i < COUNT; i++) inputs[i] = random_bytes(&rng, OUTER * row_bytes[i]);
  uint8_t *expected = malloc(OUTER * total_row);
  assert_non_null(expected);
  uint8_t *at = expected;
  for (size_t o = 0; o < OUTER; o++)
    for (size_t i = 0; i < COUNT; i++) {
      memcpy(at, inputs[i] + o * row_bytes[i], row_bytes[i]);
      at += row_bytes[i];
    }
  for (size_t v = 0; v < variant_count; v++) {
    uint8_t *y = malloc(OUTER * total_row);
    assert_non_null(y);
    variants[v]->concat(COUNT, row_bytes, (const void *const *)inputs, y, 0, OUTER * total_row);
    assert_memory_equal(y, expected, OUTER * total_row);
    /* Again in ranges of 7 bytes, which start and end inside input rows, as threads cut it. */
    memset(y, 0, OUTER * total_row);
    for (size_t first = 0; first < OUTER * total_row; first += 7)
      variants[v]->concat(COUNT, row_bytes, (const void *const *)inputs, y, first,
                          first + 7 < OUTER * total_row ? first + 7 : OUTER * total_row);
    assert_memory_equal(y, expected, OUTER * total_row);
    uint8_t *parts[COUNT];
    for (size_t i = 0; i < COUNT; i++) {
      parts[i] = malloc(OUTER * row_bytes[i] + 1);
      assert_non_null(parts[i]);
    }
    variants[v]->split(OUTER, COUNT, row_bytes, y, (void *const *)parts);
    for (size_t i = 0; i < COUNT; i++) {
      assert_memory_equal(parts[i], inputs[i], OUTER * row_bytes[i]);
      free(parts[i]);
    }
    free(y);
  }
  for (size_t i = 0; i < COUNT; i++) free(inputs[i]);
  free(expected);
}

/* ---- gather ---- */

static void test_gather(void **state) {
  (void)state;
  /* data [2][4][3] of int32 = its own flat index; gather along the middle axis. */
  int32_t x[24];
  for (int i = 0; i < 24; i++) x[i] = i;
  const int64_t indices64[5] = {3, -1, 0, -4, 2};
  const int32_t indices32[5] = {3, -1, 0, -4, 2};
  const size_t resolved[5] = {3, 3, 0, 0, 2};
  int32_t expected[2 * 5 * 3];
  for (size_t o = 0; o < 2; o++)
    for (size_t i = 0; i < 5; i++)
      for (size_t j = 0; j < 3; j++)
        expected[(o * 5 + i) * 3 + j] = (int32_t)((o * 4 + resolved[i]) * 3 + j);
  for (size_t v = 0; v < variant_count; v++) {
    for (int wide = 0; wide < 2; wide++) {
      const thaw_gather_params p = {.element_size = 4, .outer = 2, .axis_size = 4, .inner = 3,
                                    .index_count = 5, .indices_are_i64 = wide};
      int32_t y[30];
      int64_t bad = 0;
      assert_true(variants[v]->gather(&p, x, wide ? (const void *)indices64 : indices32, y, &bad));
      assert_memory_equal(y, expected, sizeof(expected));
    }
    /* Gather of rows of an embedding table: outer 1, inner = row length. */
    const thaw_gather_params rows = {.element_size = 4, .outer = 1, .axis_size = 8, .inner = 3,
                                     .index_count = 2, .indices_are_i64 = true};
    const int64_t row_indices[2] = {7, -8};
    int32_t y[6];
    int64_t bad = 0;
    assert_true(variants[v]->gather(&rows, x, row_indices, y, &bad));
    const int32_t expected_rows[6] = {21, 22, 23, 0, 1, 2};
    assert_memory_equal(y, expected_rows, sizeof(y));
  }
}

static void test_gather_bad_index(void **state) {
  (void)state;
  const float x[4] = {1, 2, 3, 4};
  const thaw_gather_params p = {.element_size = 4, .outer = 1, .axis_size = 4, .inner = 1,
                                .index_count = 3, .indices_are_i64 = true};
  static const int64_t bad_values[] = {4, -5, INT64_MAX, INT64_MIN};
  for (size_t v = 0; v < variant_count; v++) {
    for (size_t b = 0; b < sizeof(bad_values) / sizeof(bad_values[0]); b++) {
      const int64_t indices[3] = {0, bad_values[b], 1};
      float y[3] = {-7, -7, -7};
      int64_t bad = 0;
      assert_false(variants[v]->gather(&p, x, indices, y, &bad));
      assert_true(bad == bad_values[b]);
      for (int i = 0; i < 3; i++) assert_true(y[i] == -7.0f);
    }
    const int32_t indices32[2] = {-4, 4};
    thaw_gather_params p32 = p;
    p32.indices_are_i64 = false;
    p32.index_count = 2;
    float y[2];
    int64_t bad = 0;
    assert_false(variants[v]->gather(&p32, x, indices32, y, &bad));
    assert_int_equal(bad, 4);
  }
}

/* Every slice is its scale times its int8 values, whatever the index form; a bad index writes
 * nothing. Data [3][5][17] along the middle axis (17: past a vector of the widest ISA and a
 * tail), levels over the whole int8 range. */
static void test_qs8_gather(void **state) {
  (void)state;
  enum { OUTER = 3, AXIS = 5, INNER = 17, COUNT = 6 };
  int8_t x[OUTER * AXIS * INNER];
  for (size_t i = 0; i < sizeof x; i++) x[i] = (int8_t)((int)(i * 37 % 255) - 127);
  x[5] = -128;
  const float scales[AXIS] = {0.5f, 3e-3f, 1.0f, 7.25f, 1e-30f};
  const int64_t indices64[COUNT] = {4, -1, 0, 2, -5, 3};
  int32_t indices32[COUNT];
  for (size_t i = 0; i < COUNT; i++) indices32[i] = (int32_t)indices64[i];
  float expected[OUTER * COUNT * INNER];
  for (size_t o = 0; o < OUTER; o++)
    for (size_t i = 0; i < COUNT; i++) {
      const size_t at = (size_t)(indices64[i] < 0 ? indices64[i] + AXIS : indices64[i]);
      for (size_t e = 0; e < INNER; e++)
        expected[(o * COUNT + i) * INNER + e] =
            scales[at] * (float)x[(o * AXIS + at) * INNER + e];
    }
  for (size_t v = 0; v < variant_count; v++) {
    for (int wide = 0; wide < 2; wide++) {
      const thaw_gather_params p = {.element_size = 1, .outer = OUTER, .axis_size = AXIS,
                                    .inner = INNER, .index_count = COUNT,
                                    .indices_are_i64 = wide};
      float y[OUTER * COUNT * INNER];
      int64_t bad = 0;
      assert_true(variants[v]->qs8_gather(&p, x, wide ? (const void *)indices64 : indices32,
                                          scales, y, &bad));
      assert_memory_equal(y, expected, sizeof(expected));
      const int64_t bad_indices[3] = {1, AXIS, 0};
      for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) y[i] = -7.0f;
      thaw_gather_params one_bad = p;
      one_bad.index_count = 3;
      one_bad.indices_are_i64 = true;
      assert_false(variants[v]->qs8_gather(&one_bad, x, bad_indices, scales, y, &bad));
      assert_int_equal(bad, AXIS);
      for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) assert_true(y[i] == -7.0f);
    }
  }
}

/* ---- cast ---- */

static void cast_all(thaw_dtype from, thaw_dtype to, size_t n, const void *x, void *y) {
  for (size_t v = 0; v < variant_count; v++) {
    memset(y, 0x5A, n * thaw_dtype_size(to));
    variants[v]->cast(from, to, n, x, y);
    if (v > 0) {
      /* Every variant must agree with the reference byte for byte. */
      uint8_t reference[256]; /* the largest call casts 14 elements to i64 */
      assert_true(n * thaw_dtype_size(to) <= sizeof(reference));
      variants[0]->cast(from, to, n, x, reference);
      assert_memory_equal(y, reference, n * thaw_dtype_size(to));
    }
  }
}

/* Float to integer truncates toward zero and saturates; NaN gives 0. */
static void test_cast_from_float(void **state) {
  (void)state;
  enum { N = 14 };
  const float x[N] = {0.0f, -0.0f, 1.9f, -1.9f, 127.9f, 128.0f, -128.9f, -129.0f,
                      255.9f, 256.0f, 3e9f, -3e9f, NAN, INFINITY};
  const int8_t to_i8[N] = {0, 0, 1, -1, 127, 127, -128, -128, 127, 127, 127, -128, 0, 127};
  const uint8_t to_u8[N] = {0, 0, 1, 0, 127, 128, 0, 0, 255, 255, 255, 0, 0, 255};
  const int32_t to_i32[N] = {0, 0, 1, -1, 127, 128, -128, -129, 255, 256,
                             INT32_MAX, INT32_MIN, 0, INT32_MAX};
  const int64_t to_i64[N] = {0, 0, 1, -1, 127, 128, -128, -129, 255, 256,
                             3000000000LL, -3000000000LL, 0, INT64_MAX};
  const uint8_t to_bool[N] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  int8_t i8[N];
  uint8_t u8[N], b[N];
  int32_t i32[N];
  int64_t i64[N];
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_I8, N, x, i8);
  assert_memory_equal(i8, to_i8, sizeof(i8));
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_U8, N, x, u8);
  assert_memory_equal(u8, to_u8, sizeof(u8));
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_I32, N, x, i32);
  assert_memory_equal(i32, to_i32, sizeof(i32));
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_I64, 4, (const float[4]){1e19f, -1e19f, -INFINITY, 0x1p61f},
           i64);
  const int64_t huge[4] = {INT64_MAX, INT64_MIN, INT64_MIN, 2305843009213693952LL};
  assert_memory_equal(i64, huge, sizeof(huge));
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_I64, N, x, i64);
  assert_memory_equal(i64, to_i64, sizeof(i64));
  cast_all(THAW_DTYPE_F32, THAW_DTYPE_BOOL, N, x, b);
  assert_memory_equal(b, to_bool, sizeof(b));
}

/* Integer narrowing wraps modulo 2^bits (as NumPy); widening and bool are exact. */
static void test_cast_between_integers(void **state) {
  (void)state;
  enum { N = 7 };
  const int64_t x[N] = {0, 1, -1, 300, -129, 4294967297LL, INT64_MIN};
  const int8_t to_i8[N] = {0, 1, -1, 44, 127, 1, 0};
  const uint8_t to_u8[N] = {0, 1, 255, 44, 127, 1, 0};
  const int32_t to_i32[N] = {0, 1, -1, 300, -129, 1, 0};
  const uint8_t to_bool[N] = {0, 1, 1, 1, 1, 1, 1};
  const float to_f32[N] = {0, 1, -1, 300, -129, 4294967296.0f, -9223372036854775808.0f};
  int8_t i8[N];
  uint8_t u8[N], b[N];
  int32_t i32[N];
  float f32[N];
  cast_all(THAW_DTYPE_I64, THAW_DTYPE_I8, N, x, i8);
  assert_memory_equal(i8, to_i8, sizeof(i8));
  cast_all(THAW_DTYPE_I64, THAW_DTYPE_U8, N, x, u8);
  assert_memory_equal(u8, to_u8, sizeof(u8));
  cast_all(THAW_DTYPE_I64, THAW_DTYPE_I32, N, x, i32);
  assert_memory_equal(i32, to_i32, sizeof(i32));
  cast_all(THAW_DTYPE_I64, THAW_DTYPE_BOOL, N, x, b);
  assert_memory_equal(b, to_bool, sizeof(b));
  cast_all(THAW_DTYPE_I64, THAW_DTYPE_F32, N, x, f32);
  assert_memory_equal(f32, to_f32, sizeof(f32));

  /* u8 200 is -56 as i8 and 200 everywhere wider; i8 -56 is 200 as u8. */
  const uint8_t u = 200;
  const int8_t s = -56;
  int8_t i8_out;
  uint8_t u8_out;
  int32_t i32_out;
  cast_all(THAW_DTYPE_U8, THAW_DTYPE_I8, 1, &u, &i8_out);
  assert_int_equal(i8_out, -56);
  cast_all(THAW_DTYPE_U8, THAW_DTYPE_I32, 1, &u, &i32_out);
  assert_int_equal(i32_out, 200);
  cast_all(THAW_DTYPE_I8, THAW_DTYPE_U8, 1, &s, &u8_out);
  assert_int_equal(u8_out, 200);
  cast_all(THAW_DTYPE_I8, THAW_DTYPE_I32, 1, &s, &i32_out);
  assert_int_equal(i32_out, -56);
  const uint8_t truth[2] = {0, 1};
  float f[2];
  int64_t wide[2];
  cast_all(THAW_DTYPE_BOOL, THAW_DTYPE_F32, 2, truth, f);
  assert_true(f[0] == 0.0f && f[1] == 1.0f);
  cast_all(THAW_DTYPE_BOOL, THAW_DTYPE_I64, 2, truth, wide);
  assert_true(wide[0] == 0 && wide[1] == 1);
}

/* Every i8 and u8 value survives a trip through every wider type and back; same dtype is a
 * plain copy. */
static void test_cast_round_trips(void **state) {
  (void)state;
  static const thaw_dtype wider[] = {THAW_DTYPE_F32, THAW_DTYPE_I32, THAW_DTYPE_I64};
  uint8_t bytes[256], back[256];
  for (int i = 0; i < 256; i++) bytes[i] = (uint8_t)i;
  int64_t middle[256];
  for (size_t v = 0; v < variant_count; v++) {
    for (size_t w = 0; w < sizeof(wider) / sizeof(wider[0]); w++) {
      for (int sign = 0; sign < 2; sign++) {
        const thaw_dtype narrow = sign ? THAW_DTYPE_I8 : THAW_DTYPE_U8;
        variants[v]->cast(narrow, wider[w], 256, bytes, middle);
        variants[v]->cast(wider[w], narrow, 256, middle, back);
        assert_memory_equal(back, bytes, 256);
      }
    }
    const int32_t big[3] = {INT32_MIN, -1, INT32_MAX};
    int32_t copy[3];
    int64_t through[3];
    variants[v]->cast(THAW_DTYPE_I32, THAW_DTYPE_I64, 3, big, through);
    variants[v]->cast(THAW_DTYPE_I64, THAW_DTYPE_I32, 3, through, copy);
    assert_memory_equal(copy, big, sizeof(big));
    const float floats[3] = {-0.0f, 1e-30f, NAN};
    float float_copy[3];
    variants[v]->cast(THAW_DTYPE_F32, THAW_DTYPE_F32, 3, floats, float_copy);
    assert_memory_equal(float_copy, floats, sizeof(floats));
  }
}

/* ---- where ---- */

typedef struct where_case {
  const char *name;
  uint32_t rank;
  size_t cond[3], x[3], y[3];
} where_case;

static void test_where(void **state) {
  (void)state;
  static const where_case cases[] = {
      {"same shapes", 2, {5, 7}, {5, 7}, {5, 7}},
      {"scalar y", 2, {5, 7}, {5, 7}, {1, 1}},
      {"row cond", 3, {1, 1, 7}, {3, 5, 7}, {3, 5, 7}},
      {"column cond, scalar x", 2, {9, 1}, {1, 1}, {9, 13}},
      {"all three broadcast", 3, {3, 1, 1}, {1, 5, 1}, {1, 1, 7}},
      {"middle axis", 3, {3, 1, 7}, {3, 5, 7}, {1, 5, 1}},
  };
  static const size_t element_sizes[] = {1, 4, 8};
  thaw_test_rng rng = {14};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const where_case *wc = &cases[c];
    size_t out[3];
    for (uint32_t d = 0; d < wc->rank; d++) {
      out[d] = wc->cond[d];
      if (wc->x[d] > out[d]) out[d] = wc->x[d];
      if (wc->y[d] > out[d]) out[d] = wc->y[d];
    }
    const size_t *shapes[3] = {wc->cond, wc->x, wc->y};
    thaw_broadcast iter;
    oracle_broadcast(wc->rank, out, 3, shapes, &iter);
    const size_t total = oracle_product(wc->rank, out);
    uint8_t *cond = random_bytes(&rng, oracle_product(wc->rank, wc->cond));
    for (size_t i = 0; i < oracle_product(wc->rank, wc->cond); i++) cond[i] &= 1;
    for (size_t s = 0; s < sizeof(element_sizes) / sizeof(element_sizes[0]); s++) {
      const size_t es = element_sizes[s];
      uint8_t *x = random_bytes(&rng, oracle_product(wc->rank, wc->x) * es);
      uint8_t *y = random_bytes(&rng, oracle_product(wc->rank, wc->y) * es);
      uint8_t *expected = malloc(total * es), *z = malloc(total * es);
      assert_non_null(expected);
      assert_non_null(z);
      for (size_t e = 0; e < total; e++) {
        const bool take_x = cond[oracle_broadcast_offset(wc->rank, out, wc->cond, e)];
        const uint8_t *source =
            take_x ? x + oracle_broadcast_offset(wc->rank, out, wc->x, e) * es
                   : y + oracle_broadcast_offset(wc->rank, out, wc->y, e) * es;
        memcpy(expected + e * es, source, es);
      }
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->where(es, &iter, cond, x, y, z);
        if (memcmp(z, expected, total * es) != 0)
          fail_msg("%s where %s, element size %zu", variants[v]->isa, wc->name, es);
      }
      free(x);
      free(y);
      free(expected);
      free(z);
    }
    free(cond);
  }
}

/* ---- pad ---- */

/* The input index a padded position reads, by reflecting repeatedly (NumPy's 'reflect'). */
static long oracle_pad_source(int mode, long i, long n) {
  if (i >= 0 && i < n) return i;
  if (mode == THAW_PAD_CONSTANT) return -1;
  if (mode == THAW_PAD_EDGE) return i < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
  }
  return i;
}

static void oracle_pad(const thaw_pad_params *p, const float *x, double *y) {
  const size_t total = oracle_product(p->rank, p->out_shape);
  for (size_t flat = 0; flat < total; flat++) {
    size_t rest = flat, offset = 0, stride = 1;
    bool constant = false;
    for (uint32_t d = p->rank; d-- > 0;) {
      const long out_index = (long)(rest % p->out_shape[d]);
      rest /= p->out_shape[d];
      const long source =
          oracle_pad_source(p->mode, out_index - (long)p->begin[d], (long)p->in_shape[d]);
      if (source < 0) constant = true;
      else offset += (size_t)source * stride;
      stride *= p->in_shape[d];
    }
    y[flat] = constant ? p->value : x[offset];
  }
}

typedef struct pad_case {
  uint32_t rank;
  size_t in[4], begin[4], end[4];
} pad_case;

static void test_pad(void **state) {
  (void)state;
  static const pad_case cases[] = {
      {1, {7}, {3}, {2}},
      {2, {5, 6}, {0, 2}, {3, 0}},
      {3, {3, 4, 5}, {1, 3, 4}, {2, 1, 0}},
      {4, {2, 3, 5, 7}, {0, 0, 1, 2}, {0, 0, 3, 1}},
      {4, {1, 2, 4, 3}, {0, 1, 0, 2}, {1, 0, 2, 2}},
      /* reflect further than the axis is long: folds back and forth */
      {2, {3, 2}, {5, 3}, {4, 6}},
      /* a length-1 axis: reflect and edge both repeat the only element */
      {2, {1, 4}, {2, 1}, {3, 1}},
  };
  thaw_test_rng rng = {15};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const pad_case *pc = &cases[c];
    thaw_pad_params p = {.rank = pc->rank, .value = 2.5f};
    for (uint32_t d = 0; d < pc->rank; d++) {
      p.in_shape[d] = pc->in[d];
      p.begin[d] = pc->begin[d];
      p.out_shape[d] = pc->in[d] + pc->begin[d] + pc->end[d];
    }
    const size_t total = oracle_product(pc->rank, p.out_shape);
    float *x = oracle_random(&rng, oracle_product(pc->rank, pc->in), -3, 3);
    double *expected = oracle_doubles(total);
    for (int mode = THAW_PAD_CONSTANT; mode <= THAW_PAD_EDGE; mode++) {
      p.mode = mode;
      oracle_pad(&p, x, expected);
      for (size_t v = 0; v < variant_count; v++) {
        float *y = oracle_floats(total);
        variants[v]->f32_pad(&p, x, y);
        char what[64];
        snprintf(what, sizeof(what), "%s pad case %zu mode %d", variants[v]->isa, c, mode);
        thaw_test_assert_close(what, y, expected, total, 0, 0);
        free(y);
      }
    }
    free(x);
    free(expected);
  }
}

/* The Pad examples of the ONNX operator docs: pads = [0, 2, 0, 0] on a 3x2 input. */
static void test_pad_onnx_examples(void **state) {
  (void)state;
  const float x[6] = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f};
  const thaw_pad_params base = {.rank = 2, .in_shape = {3, 2}, .out_shape = {3, 4},
                                .begin = {0, 2}, .value = 0.0f};
  const float constant[12] = {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f};
  const float reflect[12] = {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f,
                             4.5f, 5.7f, 4.5f, 5.7f};
  const float edge[12] = {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f,
                          4.5f, 4.5f, 4.5f, 5.7f};
  const float *expected[3] = {constant, reflect, edge};
  for (size_t v = 0; v < variant_count; v++) {
    for (int mode = THAW_PAD_CONSTANT; mode <= THAW_PAD_EDGE; mode++) {
      thaw_pad_params p = base;
      p.mode = mode;
      float y[12];
      variants[v]->f32_pad(&p, x, y);
      assert_memory_equal(y, expected[mode - 1], sizeof(y));
    }
  }
}

/* ---- resize ---- */

/* Output position to input coordinate per the ONNX coordinate_transformation_mode, in float
 * as ONNX Runtime computes it. */
static float oracle_resize_coordinate(int coordinates, float scale, size_t in, size_t out,
                                      size_t index) {
  if (coordinates == THAW_RESIZE_ASYMMETRIC) return (float)index / scale;
  if (coordinates == THAW_RESIZE_ALIGN_CORNERS)
    return out == 1 ? 0.0f : (float)index * (float)(in - 1) / (float)(out - 1);
  if (coordinates == THAW_RESIZE_PYTORCH_HALF_PIXEL && out == 1) return 0.0f;
  return ((float)index + 0.5f) / scale - 0.5f;
}

static long oracle_nearest_index(int nearest, float coordinate, size_t in) {
  double rounded;
  const double fraction = coordinate - floor(coordinate);
  switch (nearest) {
  case THAW_RESIZE_ROUND_PREFER_FLOOR:
    rounded = fraction <= 0.5 ? floor(coordinate) : ceil(coordinate);
    break;
  case THAW_RESIZE_ROUND_PREFER_CEIL:
    rounded = fraction < 0.5 ? floor(coordinate) : ceil(coordinate);
    break;
  case THAW_RESIZE_FLOOR: rounded = floor(coordinate); break;
  default: rounded = ceil(coordinate); break;
  }
  if (rounded < 0) return 0;
  if (rounded > (double)(in - 1)) return (long)in - 1;
  return (long)rounded;
}

/* Linear: the clamped coordinate splits between floor and floor + 1 (clamped to the edge). */
static void oracle_linear(int coordinates, float scale, size_t in, size_t out, size_t index,
                          size_t *low, size_t *high, double *high_weight) {
  double c = oracle_resize_coordinate(coordinates, scale, in, out, index);
  if (c < 0) c = 0;
  if (c > (double)(in - 1)) c = (double)(in - 1);
  *low = (size_t)floor(c);
  *high = *low + 1 < in ? *low + 1 : *low;
  *high_weight = c - (double)*low;
}

/* NCHW resize of H and W (N and C keep scale 1): bilinear as the explicit four-corner sum. */
static void oracle_resize_nchw(const thaw_resize_params *p, const float *x, double *y) {
  const size_t planes = p->in_shape[0] * p->in_shape[1];
  const size_t ih = p->in_shape[2], iw = p->in_shape[3], oh = p->out_shape[2],
               ow = p->out_shape[3];
  for (size_t plane = 0; plane < planes; plane++)
    for (size_t r = 0; r < oh; r++)
      for (size_t c = 0; c < ow; c++) {
        const float *xp = x + plane * ih * iw;
        double value;
        if (p->mode == THAW_RESIZE_NEAREST) {
          const long sr = oracle_nearest_index(
              p->nearest, oracle_resize_coordinate(p->coordinates, p->scales[2], ih, oh, r), ih);
          const long sc = oracle_nearest_index(
              p->nearest, oracle_resize_coordinate(p->coordinates, p->scales[3], iw, ow, c), iw);
          value = xp[(size_t)sr * iw + (size_t)sc];
        } else {
          size_t r0, r1, c0, c1;
          double wr, wc;
          oracle_linear(p->coordinates, p->scales[2], ih, oh, r, &r0, &r1, &wr);
          oracle_linear(p->coordinates, p->scales[3], iw, ow, c, &c0, &c1, &wc);
          value = (1 - wr) * (1 - wc) * xp[r0 * iw + c0] + (1 - wr) * wc * xp[r0 * iw + c1] +
                  wr * (1 - wc) * xp[r1 * iw + c0] + wr * wc * xp[r1 * iw + c1];
        }
        y[(plane * oh + r) * ow + c] = value;
      }
}

typedef struct resize_case {
  size_t in[4];
  float scale_h, scale_w;
} resize_case;

static void test_resize_modes(void **state) {
  (void)state;
  static const resize_case cases[] = {
      {{1, 2, 5, 7}, 2.0f, 2.0f},  {{2, 1, 6, 9}, 0.5f, 1.0f / 3.0f},
      {{1, 3, 4, 3}, 1.7f, 2.3f},  {{1, 1, 7, 5}, 0.6f, 3.0f},
      {{1, 2, 1, 4}, 3.0f, 0.75f}, {{1, 1, 9, 11}, 1.0f, 1.5f},
  };
  thaw_test_rng rng = {16};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const resize_case *rc = &cases[c];
    thaw_resize_params p = {.rank = 4, .scales = {1, 1, rc->scale_h, rc->scale_w}};
    for (uint32_t d = 0; d < 4; d++) {
      p.in_shape[d] = rc->in[d];
      p.out_shape[d] = (size_t)floor((double)rc->in[d] * p.scales[d]);
    }
    const size_t total = oracle_product(4, p.out_shape);
    float *x = oracle_random(&rng, oracle_product(4, p.in_shape), -4, 4);
    double *expected = oracle_doubles(total);
    for (int coordinates = 1; coordinates <= 4; coordinates++) {
      for (int mode = THAW_RESIZE_NEAREST; mode <= THAW_RESIZE_LINEAR; mode++) {
        for (int nearest = 1; nearest <= (mode == THAW_RESIZE_NEAREST ? 4 : 1); nearest++) {
          p.mode = mode, p.coordinates = coordinates, p.nearest = nearest;
          oracle_resize_nchw(&p, x, expected);
          for (size_t v = 0; v < variant_count; v++) {
            float *y = oracle_floats(total);
            variants[v]->f32_resize(&p, x, y);
            char what[96];
            snprintf(what, sizeof(what), "%s resize case %zu mode %d coordinates %d nearest %d",
                     variants[v]->isa, c, mode, coordinates, nearest);
            thaw_test_assert_close(what, y, expected, total, 1e-5, 1e-6);
            free(y);
          }
        }
      }
    }
    free(x);
    free(expected);
  }
}

/* Linear over the last axis of a 3-d tensor: the same kernel must interpolate any axis. */
static void test_resize_linear_last_axis(void **state) {
  (void)state;
  thaw_test_rng rng = {17};
  const thaw_resize_params p = {.rank = 3, .in_shape = {2, 3, 5}, .out_shape = {2, 3, 9},
                                .scales = {1, 1, 1.8f}, .mode = THAW_RESIZE_LINEAR,
                                .coordinates = THAW_RESIZE_HALF_PIXEL};
  float *x = oracle_random(&rng, 30, -1, 1);
  double expected[54];
  for (size_t row = 0; row < 6; row++)
    for (size_t i = 0; i < 9; i++) {
      size_t low, high;
      double weight;
      oracle_linear(p.coordinates, p.scales[2], 5, 9, i, &low, &high, &weight);
      expected[row * 9 + i] = (1 - weight) * x[row * 5 + low] + weight * x[row * 5 + high];
    }
  for (size_t v = 0; v < variant_count; v++) {
    float y[54];
    variants[v]->f32_resize(&p, x, y);
    thaw_test_assert_close(variants[v]->isa, y, expected, 54, 1e-5, 1e-6);
  }
  free(x);
}

typedef struct resize_example {
  const char *name;
  size_t in_h, in_w, out_h, out_w;
  float scale_h, scale_w;
  int mode, coordinates, nearest;
  const float *x;
  double expected[24];
} resize_example;

/* Examples of the ONNX Resize operator docs (test names as in the ONNX test suite). */
static void test_resize_onnx_examples(void **state) {
  (void)state;
  static const float square[4] = {1, 2, 3, 4};
  static const float wide[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const double third = 1.0 / 3.0;
  const resize_example examples[] = {
      {"resize_upsample_scales_nearest", 2, 2, 4, 6, 2, 3, THAW_RESIZE_NEAREST,
       THAW_RESIZE_HALF_PIXEL, THAW_RESIZE_ROUND_PREFER_FLOOR, square,
       {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}},
      {"resize_upsample_scales_linear", 2, 2, 4, 4, 2, 2, THAW_RESIZE_LINEAR,
       THAW_RESIZE_HALF_PIXEL, 0, square,
       {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}},
      {"resize_upsample_scales_linear_align_corners", 2, 2, 4, 4, 2, 2, THAW_RESIZE_LINEAR,
       THAW_RESIZE_ALIGN_CORNERS, 0, square,
       {1, 1 + third, 1 + 2 * third, 2, 1 + 2 * third, 2, 2 + third, 2 + 2 * third,
        2 + third, 2 + 2 * third, 3, 3 + third, 3, 3 + third, 3 + 2 * third, 4}},
      {"resize_downsample_scales_nearest", 2, 4, 1, 2, 0.6f, 0.6f, THAW_RESIZE_NEAREST,
       THAW_RESIZE_HALF_PIXEL, THAW_RESIZE_ROUND_PREFER_FLOOR, wide, {1, 3}},
      {"resize_downsample_scales_linear", 2, 4, 1, 2, 0.6f, 0.6f, THAW_RESIZE_LINEAR,
       THAW_RESIZE_HALF_PIXEL, 0, wide, {2.6666665, 4.3333331}},
      /* PyTorch's default nearest: asymmetric coordinates, floor. */
      {"nearest asymmetric floor", 2, 2, 4, 4, 2, 2, THAW_RESIZE_NEAREST,
       THAW_RESIZE_ASYMMETRIC, THAW_RESIZE_FLOOR, square,
       {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}},
  };
  for (size_t e = 0; e < sizeof(examples) / sizeof(examples[0]); e++) {
    const resize_example *ex = &examples[e];
    const thaw_resize_params p = {.rank = 4,
                                  .in_shape = {1, 1, ex->in_h, ex->in_w},
                                  .out_shape = {1, 1, ex->out_h, ex->out_w},
                                  .scales = {1, 1, ex->scale_h, ex->scale_w},
                                  .mode = ex->mode,
                                  .coordinates = ex->coordinates,
                                  .nearest = ex->nearest};
    const size_t total = ex->out_h * ex->out_w;
    double oracle[24];
    oracle_resize_nchw(&p, ex->x, oracle);
    char what[96];
    snprintf(what, sizeof(what), "oracle %s", ex->name);
    for (size_t i = 0; i < total; i++)
      if (fabs(oracle[i] - ex->expected[i]) > 1e-6)
        fail_msg("%s: element %zu is %.9g, expected %.9g", what, i, oracle[i], ex->expected[i]);
    for (size_t v = 0; v < variant_count; v++) {
      float y[24];
      variants[v]->f32_resize(&p, ex->x, y);
      snprintf(what, sizeof(what), "%s %s", variants[v]->isa, ex->name);
      thaw_test_assert_close(what, y, ex->expected, total, 1e-6, 1e-6);
    }
  }
}

/* Every variant against the scalar reference on shapes that reach every path of the vector
 * driver: integer upsampling factors (broadcast copies, also across column blocks of 512),
 * gathers, rows copied from the row above, the row cache of linear upsampling, downsampling,
 * rank 1 to 5, and an outer axis that really resizes (left to the reference). Nearest must
 * agree bit for bit: both sample through f32-resize-sample.h and only copy values. Linear
 * blends in another order (two blends of fused multiply-adds against the reference's sum of
 * four weight products), each a convex combination whose rounding errors are a few ulp of the
 * largest corner: 8 ulp of max |x| is allowed. */
typedef struct resize_shape {
  uint32_t rank;
  size_t in[5], out[5];
} resize_shape;

static void test_resize_variants_match_reference(void **state) {
  (void)state;
  static const resize_shape shapes[] = {
      {4, {1, 3, 5, 7}, {1, 3, 10, 14}},         /* x2, PyTorch and PP-OCR upsampling */
      {4, {2, 3, 5, 9}, {2, 3, 20, 36}},         /* x4 */
      {4, {1, 2, 3, 5}, {1, 2, 24, 40}},         /* x8 */
      {4, {1, 2, 3, 3}, {1, 2, 48, 48}},         /* x16 */
      {4, {1, 1, 4, 7}, {1, 1, 12, 21}},         /* x3 */
      {4, {1, 2, 5, 7}, {1, 2, 5, 7}},           /* x1 */
      {4, {1, 1, 3, 300}, {1, 1, 6, 1200}},      /* x4 over three column blocks */
      {4, {1, 1, 3, 257}, {1, 1, 5, 771}},       /* x3: blocks not multiples of 3 */
      {4, {1, 2, 9, 13}, {1, 2, 4, 6}},          /* downsampling */
      {4, {1, 1, 13, 1100}, {1, 1, 5, 407}},     /* downsampling, wide */
      {4, {1, 3, 6, 5}, {1, 3, 11, 17}},         /* non-integer upsampling */
      {1, {7}, {19}},
      {2, {5, 6}, {9, 13}},
      {3, {3, 5, 6}, {7, 9, 13}},                /* the outer axis resizes too */
      {5, {2, 1, 3, 4, 6}, {2, 1, 3, 9, 15}},
  };
  const thaw_kernels *reference = thaw_kernels_scalar();
  thaw_test_rng rng = {18};
  for (size_t c = 0; c < sizeof(shapes) / sizeof(shapes[0]); c++) {
    const resize_shape *shape = &shapes[c];
    thaw_resize_params p = {.rank = shape->rank};
    for (uint32_t d = 0; d < shape->rank; d++) {
      p.in_shape[d] = shape->in[d];
      p.out_shape[d] = shape->out[d];
      p.scales[d] = (float)shape->out[d] / (float)shape->in[d];
    }
    const size_t in_total = oracle_product(shape->rank, p.in_shape);
    const size_t total = oracle_product(shape->rank, p.out_shape);
    float *x = oracle_random(&rng, in_total, -4, 4);
    float largest = 0.0f;
    for (size_t i = 0; i < in_total; i++) largest = fmaxf(largest, fabsf(x[i]));
    float *expected = oracle_floats(total);
    float *y = oracle_floats(total);
    for (int coordinates = 1; coordinates <= 4; coordinates++) {
      for (int mode = THAW_RESIZE_NEAREST; mode <= THAW_RESIZE_LINEAR; mode++) {
        for (int nearest = 1; nearest <= (mode == THAW_RESIZE_NEAREST ? 4 : 1); nearest++) {
          p.mode = mode, p.coordinates = coordinates, p.nearest = nearest;
          reference->f32_resize(&p, x, expected);
          for (size_t v = 0; v < variant_count; v++) {
            memset(y, 0xAB, total * sizeof(float));
            variants[v]->f32_resize(&p, x, y);
            for (size_t i = 0; i < total; i++) {
              const bool agrees = mode == THAW_RESIZE_NEAREST
                                      ? memcmp(&y[i], &expected[i], sizeof(float)) == 0
                                      : fabsf(y[i] - expected[i]) <= 8 * FLT_EPSILON * largest;
              if (!agrees)
                fail_msg("%s resize shape %zu mode %d coordinates %d nearest %d: element %zu is "
                         "%.9g, the reference's %.9g",
                         variants[v]->isa, c, mode, coordinates, nearest, i, (double)y[i],
                         (double)expected[i]);
            }
          }
        }
      }
    }
    free(x);
    free(expected);
    free(y);
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strided_copy),
      cmocka_unit_test(test_strided_copy_hand_values),
      cmocka_unit_test(test_concat_split_round_trip),
      cmocka_unit_test(test_gather),
      cmocka_unit_test(test_gather_bad_index),
      cmocka_unit_test(test_qs8_gather),
      cmocka_unit_test(test_cast_from_float),
      cmocka_unit_test(test_cast_between_integers),
      cmocka_unit_test(test_cast_round_trips),
      cmocka_unit_test(test_where),
      cmocka_unit_test(test_pad),
      cmocka_unit_test(test_pad_onnx_examples),
      cmocka_unit_test(test_resize_modes),
      cmocka_unit_test(test_resize_linear_last_axis),
      cmocka_unit_test(test_resize_onnx_examples),
      cmocka_unit_test(test_resize_variants_match_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
