/* ONNX linear quantization kernels of every variant: QuantizeLinear and DequantizeLinear
 * against the definitions evaluated element by element (odd sizes, per tensor and per axis,
 * rounding ties, saturation, NaN), DynamicQuantizeLinear against the outputs of ONNX's own
 * test cases (libonnx-testdata, test_dynamicquantizelinear*) and against its definition over
 * odd lengths; rows long enough for several vector steps and a tail, with the edge values
 * placed in both, and the vector variants bit-exact against the scalar reference. */
#include <math.h>

#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

/* The definition: clamp(round_half_even(x / scale) + zero_point), NaN to the lowest value. */
static int32_t oracle_quantize(float x, float scale, int32_t zero_point, int32_t lo, int32_t hi) {
  const float quotient = x / scale;
  if (isnan(quotient)) return lo;
  double level = floor((double)quotient);
  const double fraction = (double)quotient - level;
  if (fraction > 0.5 || (fraction == 0.5 && fmod(level, 2.0) != 0.0)) level += 1.0;
  level += zero_point;
  return level < lo ? lo : (level > hi ? hi : (int32_t)level);
}

static void test_quantize_hand_values(void **state) {
  (void)state;
  const float x[] = {0.0f, 1.0f, 3.0f, -1.0f, 5.0f, 300.0f, -300.0f, NAN};
  const float scale = 2.0f;
  const uint8_t zero_u8 = 128, want_u8[] = {128, 128, 130, 128, 130, 255, 0, 0};
  const float x_i8[] = {127.5f, -126.5f, 0.49f, 130.0f};
  const int8_t zero_i8 = -3, want_i8[] = {125, -128, -3, 127};
  const float unit = 1.0f;
  for (size_t v = 0; v < variant_count; v++) {
    uint8_t y_u8[8];
    thaw_quantize_params p = {1, 1, 8, THAW_DTYPE_U8};
    variants[v]->quantize_linear(&p, x, &scale, &zero_u8, y_u8);
    assert_memory_equal(y_u8, want_u8, sizeof want_u8);
    int8_t y_i8[4];
    p = (thaw_quantize_params){1, 1, 4, THAW_DTYPE_I8};
    variants[v]->quantize_linear(&p, x_i8, &unit, &zero_i8, y_i8);
    assert_memory_equal(y_i8, want_i8, sizeof want_i8);
  }
}

/* X [outer][channels][inner] with a scale and zero point per channel, or without zero points. */
static void test_quantize_per_axis(void **state) {
  (void)state;
  thaw_test_rng rng = {11};
  const size_t outer = 3, channels = 5, inner = 7, n = outer * channels * inner;
  float *x = oracle_random(&rng, n, -60.0f, 60.0f);
  float *scales = oracle_random(&rng, channels, 0.05f, 0.7f);
  /* Some values exactly half-way between levels, to exercise the ties. */
  for (size_t i = 0; i < n; i += 9) x[i] = ((float)(int)(x[i]) + 0.5f) * scales[(i / inner) % channels];
  const thaw_dtype dtypes[2] = {THAW_DTYPE_I8, THAW_DTYPE_U8};
  for (size_t d = 0; d < 2; d++) {
    const bool is_signed = dtypes[d] == THAW_DTYPE_I8;
    const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    uint8_t zero_points[5];
    for (size_t c = 0; c < channels; c++) zero_points[c] = (uint8_t)thaw_test_rng_next(&rng);
    for (int with_zero = 0; with_zero < 2; with_zero++) {
      const thaw_quantize_params p = {outer, channels, inner, dtypes[d]};
      for (size_t v = 0; v < variant_count; v++) {
        uint8_t y[105];
        variants[v]->quantize_linear(&p, x, scales, with_zero ? zero_points : NULL, y);
        for (size_t i = 0; i < n; i++) {
          const size_t c = (i / inner) % channels;
          const int32_t zero = !with_zero ? 0 : is_signed ? (int8_t)zero_points[c] : zero_points[c];
          const int32_t want = oracle_quantize(x[i], scales[c], zero, lo, hi);
          const int32_t got = is_signed ? (int8_t)y[i] : y[i];
          if (got != want) {
            fail_msg("%s %s element %zu: x %.9g scale %.9g zero %d: got %d, want %d",
                     variants[v]->isa, thaw_dtype_name(dtypes[d]), i, (double)x[i],
                     (double)scales[c], zero, got, want);
          }
        }
      }
    }
  }
  free(x);
  free(scales);
}

static void test_dequantize(void **state) {
  (void)state;
  thaw_test_rng rng = {12};
  const size_t outer = 2, channels = 3, inner = 11, n = outer * channels * inner;
  float *scales = oracle_random(&rng, channels, 0.01f, 2.0f);
  int32_t x[66], zero_points[3];
  const thaw_dtype dtypes[3] = {THAW_DTYPE_I8, THAW_DTYPE_U8, THAW_DTYPE_I32};
  for (size_t d = 0; d < 3; d++) {
    uint8_t x_bytes[66 * 4], zero_bytes[3 * 4];
    for (size_t i = 0; i < n; i++) {
      const uint64_t bits = thaw_test_rng_next(&rng);
      x[i] = dtypes[d] == THAW_DTYPE_I8   ? (int8_t)bits
             : dtypes[d] == THAW_DTYPE_U8 ? (uint8_t)bits
                                          : (int32_t)(bits % 2000001) - 1000000;
    }
    for (size_t c = 0; c < channels; c++) {
      const uint64_t bits = thaw_test_rng_next(&rng);
      /* ONNX requires an i32 input's zero point to be 0. */
      zero_points[c] = dtypes[d] == THAW_DTYPE_I8 ? (int8_t)bits
                       : dtypes[d] == THAW_DTYPE_U8 ? (uint8_t)bits : 0;
    }
    for (size_t i = 0; i < n; i++) {
      if (dtypes[d] == THAW_DTYPE_I32) memcpy(x_bytes + 4 * i, &x[i], 4);
      else x_bytes[i] = (uint8_t)x[i];
    }
    for (size_t c = 0; c < channels; c++) {
      if (dtypes[d] == THAW_DTYPE_I32) memcpy(zero_bytes + 4 * c, &zero_points[c], 4);
      else zero_bytes[c] = (uint8_t)zero_points[c];
    }
    const thaw_quantize_params p = {outer, channels, inner, dtypes[d]};
    for (size_t v = 0; v < variant_count; v++) {
      float y[66];
      variants[v]->dequantize_linear(&p, x_bytes, scales, zero_bytes, y);
      for (size_t i = 0; i < n; i++) {
        const size_t c = (i / inner) % channels;
        /* x - zero is exact in double and in f32 (|x| < 2^24): one rounding of the product. */
        const float want = (float)((double)(x[i] - zero_points[c]) * (double)scales[c]);
        if (y[i] != want) {
          fail_msg("%s %s element %zu: got %.9g, want %.9g", variants[v]->isa,
                   thaw_dtype_name(dtypes[d]), i, (double)y[i], (double)want);
        }
      }
    }
  }
  free(scales);
}

typedef struct dynamic_case {
  const char *name;
  size_t n;
  float x[12];
  float scale;
  uint8_t zero_point;
  uint8_t y[12];
} dynamic_case;

static void test_dynamic_quantize(void **state) {
  (void)state;
  /* ONNX's test_dynamicquantizelinear, _max_adjusted and _min_adjusted, all zeros, and both
   * infinities. */
  static const dynamic_case cases[] = {
      {"basic", 6, {0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f}, 5.0f, 153,
       {153, 255, 0, 26, 221, 179}},
      {"max adjusted", 6, {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}, 4.0f, 255,
       {191, 121, 172, 96, 42, 0}},
      {"min adjusted", 12,
       {1.0f, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.345f}, 4.0f, 0,
       {64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149}},
      {"zeros", 3, {0.0f, 0.0f, 0.0f}, 0.0f, 0, {0, 0, 0}},
      /* An infinite scale, and a zero point of 0 where -lo / scale is NaN (-inf / inf); every
       * x / scale is 0 or NaN, and NaN takes the lowest level. */
      {"both infinities", 3, {-INFINITY, 1.0f, INFINITY}, INFINITY, 0, {0, 0, 0}},
  };
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    /* The scale is the range over 255, computed in f32 as ONNX does. */
    const float want_scale = cases[t].scale / 255.0f;
    for (size_t v = 0; v < variant_count; v++) {
      uint8_t y[12], zero_point;
      float scale;
      variants[v]->dynamic_quantize_linear(cases[t].n, cases[t].x, y, &scale, &zero_point);
      if (scale != want_scale || zero_point != cases[t].zero_point ||
          memcmp(y, cases[t].y, cases[t].n) != 0) {
        fail_msg("%s %s: scale %.9g zero point %u, want %.9g and %u (or the levels differ)",
                 variants[v]->isa, cases[t].name, (double)scale, zero_point, (double)want_scale,
                 cases[t].zero_point);
      }
    }
  }
}

/* Values that stress the rounding and the clamp, in units of the scale: ties on both sides of 0
 * (+-0.5, +-1.5, +-2.5 round to even), just off a tie, both saturation bounds and past them,
 * signed zero, infinities and NaN. */
static const float edge_levels[] = {0.5f,    -0.5f,    1.5f,      -1.5f,     2.5f,      -2.5f,
                                    126.5f,  127.5f,   -128.5f,   -127.5f,   254.5f,    255.5f,
                                    0.4999f, 0.5001f,  -0.0f,     1e30f,     -1e30f,    INFINITY,
                                    -INFINITY, NAN};
#define EDGE_LEVEL_COUNT (sizeof edge_levels / sizeof edge_levels[0])

/* Rows of odd lengths, from shorter than one vector step to several steps and a tail, with the
 * edge values scattered over each row (in a vector step and in the tail alike). */
static void test_quantize_long_rows(void **state) {
  (void)state;
  thaw_test_rng rng = {13};
  static const size_t inners[] = {1, 3, 8, 9, 17, 35, 67};
  const size_t outer = 2, channels = 3;
  for (size_t s = 0; s < sizeof inners / sizeof inners[0]; s++) {
    const size_t inner = inners[s], n = outer * channels * inner;
    float *x = oracle_random(&rng, n, -300.0f, 300.0f);
    const float scales[3] = {0.75f, 1.0f, 0.0625f};
    for (size_t i = 0; i < n; i += 2) {
      const size_t c = (i / inner) % channels;
      x[i] = edge_levels[(i / 2 + s) % EDGE_LEVEL_COUNT] * scales[c];
    }
    const thaw_dtype dtypes[2] = {THAW_DTYPE_I8, THAW_DTYPE_U8};
    for (size_t d = 0; d < 2; d++) {
      const bool is_signed = dtypes[d] == THAW_DTYPE_I8;
      const int32_t lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
      const uint8_t zero_points[3] = {is_signed ? (uint8_t)-3 : 128, 0, is_signed ? 127 : 255};
      const thaw_quantize_params p = {outer, channels, inner, dtypes[d]};
      uint8_t *reference = malloc(n), *y = malloc(n);
      assert_non_null(reference);
      assert_non_null(y);
      variants[0]->quantize_linear(&p, x, scales, zero_points, reference);
      for (size_t v = 0; v < variant_count; v++) {
        memset(y, 0xa5, n);
        variants[v]->quantize_linear(&p, x, scales, zero_points, y);
        for (size_t i = 0; i < n; i++) {
          const size_t c = (i / inner) % channels;
          const int32_t zero = is_signed ? (int8_t)zero_points[c] : zero_points[c];
          const int32_t want = oracle_quantize(x[i], scales[c], zero, lo, hi);
          const int32_t got = is_signed ? (int8_t)y[i] : y[i];
          if (got != want || y[i] != reference[i]) {
            fail_msg("%s %s inner %zu element %zu: x %.9g scale %.9g zero %d: got %d, want %d "
                     "(scalar %d)",
                     variants[v]->isa, thaw_dtype_name(dtypes[d]), inner, i, (double)x[i],
                     (double)scales[c], zero, got, want,
                     is_signed ? (int8_t)reference[i] : reference[i]);
          }
        }
      }
      free(reference);
      free(y);
    }
    free(x);
  }
}

/* Every dtype's extremes (i32 beyond 2^24, where the conversion to f32 rounds) over rows of odd
 * lengths; against the definition where the difference is exact, and bit-exact against the
 * scalar reference everywhere. */
static void test_dequantize_long_rows(void **state) {
  (void)state;
  thaw_test_rng rng = {14};
  static const size_t inners[] = {1, 5, 8, 13, 37};
  static const int32_t i32_edges[] = {INT32_MIN, INT32_MAX, 16777217, -16777217, 0, -1, 1};
  const size_t outer = 2, channels = 2;
  const float scales[2] = {0.1f, 3.0f};
  const thaw_dtype dtypes[3] = {THAW_DTYPE_I8, THAW_DTYPE_U8, THAW_DTYPE_I32};
  for (size_t s = 0; s < sizeof inners / sizeof inners[0]; s++) {
    const size_t inner = inners[s], n = outer * channels * inner;
    for (size_t d = 0; d < 3; d++) {
      const size_t width = dtypes[d] == THAW_DTYPE_I32 ? 4 : 1;
      uint8_t *x = malloc(n * width);
      int32_t *values = malloc(n * sizeof(int32_t));
      float *reference = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
      assert_true(x && values && reference && y);
      for (size_t i = 0; i < n; i++) {
        const uint64_t bits = thaw_test_rng_next(&rng);
        switch (dtypes[d]) {
          case THAW_DTYPE_I8: values[i] = i % 3 == 0 ? (i % 2 ? -128 : 127) : (int8_t)bits; break;
          case THAW_DTYPE_U8: values[i] = i % 3 == 0 ? (i % 2 ? 0 : 255) : (uint8_t)bits; break;
          default:
            values[i] = i % 3 == 0 ? i32_edges[(i / 3) % 7] : (int32_t)(bits % 2000001) - 1000000;
        }
        if (width == 4) memcpy(x + 4 * i, &values[i], 4);
        else x[i] = (uint8_t)values[i];
      }
      /* ONNX requires an i32 input's zero point to be 0. */
      const uint8_t zero_bytes[2] = {dtypes[d] == THAW_DTYPE_I32 ? 0 : 0x80, 0};
      const int32_t zero_points[2] = {
          dtypes[d] == THAW_DTYPE_I8 ? -128 : dtypes[d] == THAW_DTYPE_U8 ? 128 : 0, 0};
      uint8_t zero_i32[8] = {0};
      const void *zero = dtypes[d] == THAW_DTYPE_I32 ? (const void *)zero_i32 : zero_bytes;
      const thaw_quantize_params p = {outer, channels, inner, dtypes[d]};
      variants[0]->dequantize_linear(&p, x, scales, zero, reference);
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->dequantize_linear(&p, x, scales, zero, y);
        for (size_t i = 0; i < n; i++) {
          const size_t c = (i / inner) % channels;
          const int64_t difference = (int64_t)values[i] - zero_points[c];
          const bool exact = difference > -16777216 && difference < 16777216;
          const float want = (float)((double)difference * (double)scales[c]);
          if (memcmp(&y[i], &reference[i], sizeof(float)) != 0 || (exact && y[i] != want)) {
            fail_msg("%s %s inner %zu element %zu (x %d): got %.9g, want %.9g (scalar %.9g)",
                     variants[v]->isa, thaw_dtype_name(dtypes[d]), inner, i, values[i],
                     (double)y[i], (double)want, (double)reference[i]);
          }
        }
      }
      free(x);
      free(values);
      free(reference);
      free(y);
    }
  }
}

/* DynamicQuantizeLinear's definition in f32, as its expanded ONNX graph computes it. */
static void oracle_dynamic_quantize(size_t n, const float *x, uint8_t *y, float *scale,
                                    uint8_t *zero_point) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  *scale = (hi - lo) / 255.0f;
  if (*scale == 0.0f) {
    *zero_point = 0;
    memset(y, 0, n);
    return;
  }
  float initial = 0.0f - lo / *scale;
  initial = initial < 0.0f ? 0.0f : (initial > 255.0f ? 255.0f : initial);
  *zero_point = (uint8_t)oracle_quantize(initial, 1.0f, 0, 0, 255);
  for (size_t i = 0; i < n; i++) y[i] = (uint8_t)oracle_quantize(x[i], *scale, *zero_point, 0, 255);
}

/* Odd lengths, ranges on both sides of 0 and on one, NaN in the body and the tail. */
static void test_dynamic_quantize_long_rows(void **state) {
  (void)state;
  thaw_test_rng rng = {15};
  static const size_t lengths[] = {1, 7, 8, 9, 31, 100, 257};
  static const float ranges[3][2] = {{-3.0f, 5.0f}, {-40.0f, -0.5f}, {0.25f, 9.0f}};
  for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
    for (size_t r = 0; r < 3; r++) {
      const size_t n = lengths[l];
      float *x = oracle_random(&rng, n, ranges[r][0], ranges[r][1]);
      for (size_t i = 3; i < n; i += 11) x[i] = NAN;
      uint8_t *want = malloc(n), *y = malloc(n), want_zero, zero;
      assert_non_null(want);
      assert_non_null(y);
      float want_scale, scale;
      oracle_dynamic_quantize(n, x, want, &want_scale, &want_zero);
      for (size_t v = 0; v < variant_count; v++) {
        variants[v]->dynamic_quantize_linear(n, x, y, &scale, &zero);
        if (scale != want_scale || zero != want_zero) {
          fail_msg("%s length %zu range %zu: scale %.9g zero point %u, want %.9g and %u",
                   variants[v]->isa, n, r, (double)scale, zero, (double)want_scale, want_zero);
        }
        for (size_t i = 0; i < n; i++) {
          if (y[i] != want[i]) {
            fail_msg("%s length %zu range %zu element %zu: x %.9g got %u, want %u",
                     variants[v]->isa, n, r, i, (double)x[i], y[i], want[i]);
          }
        }
      }
      free(x);
      free(want);
      free(y);
    }
  }
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantize_hand_values),
      cmocka_unit_test(test_quantize_per_axis),
      cmocka_unit_test(test_dequantize),
      cmocka_unit_test(test_dynamic_quantize),
      cmocka_unit_test(test_quantize_long_rows),
      cmocka_unit_test(test_dequantize_long_rows),
      cmocka_unit_test(test_dynamic_quantize_long_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
