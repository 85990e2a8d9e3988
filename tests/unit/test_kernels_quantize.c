/* ONNX linear quantization kernels of every variant: QuantizeLinear and DequantizeLinear
 * against the definitions evaluated element by element (odd sizes, per tensor and per axis,
 * rounding ties, saturation, NaN), and DynamicQuantizeLinear against the outputs of ONNX's own
 * test cases (libonnx-testdata, test_dynamicquantizelinear*). */
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
  /* ONNX's test_dynamicquantizelinear, _max_adjusted and _min_adjusted, and all zeros. */
  static const dynamic_case cases[] = {
      {"basic", 6, {0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f}, 5.0f, 153,
       {153, 255, 0, 26, 221, 179}},
      {"max adjusted", 6, {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f}, 4.0f, 255,
       {191, 121, 172, 96, 42, 0}},
      {"min adjusted", 12,
       {1.0f, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.345f}, 4.0f, 0,
       {64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149}},
      {"zeros", 3, {0.0f, 0.0f, 0.0f}, 0.0f, 0, {0, 0, 0}},
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

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quantize_hand_values),
      cmocka_unit_test(test_quantize_per_axis),
      cmocka_unit_test(test_dequantize),
      cmocka_unit_test(test_dynamic_quantize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
