/* The quantized (qs8) GEMM and convolution of every variant: the packed layout byte by byte,
 * exact int32 accumulation on values that quantize exactly, the row quantizer against the
 * documented formula, and requantized outputs against naive double-precision products. */
#include <math.h>
#include <stdint.h>

#include "test_kernels_oracle.h"

static const thaw_kernels *variants[ORACLE_MAX_VARIANTS];
static size_t variant_count;

static const float sentinel = -12345.0f;

static int8_t *random_weights(thaw_test_rng *rng, size_t count) {
  int8_t *weights = malloc(count ? count : 1);
  assert_non_null(weights);
  for (size_t i = 0; i < count; i++) weights[i] = (int8_t)(thaw_test_rng_next(rng) % 255 - 127);
  return weights;
}

/* B (k x n row-major) packed with the given column scales; free() the result. */
static void *pack(size_t k, size_t n, const int8_t *b, const float *scales) {
  const size_t bytes = thaw_qs8_gemm_packed_b_size(k, n);
  void *packed = malloc(bytes);
  assert_non_null(packed);
  thaw_qs8_gemm_pack_b(k, n, b, (ptrdiff_t)n, 1, scales, packed);
  return packed;
}

/* ---- The packed layout ---- */

/* B = 5 x 18 with B(k, j) = (7k + j) % 100 - 50, read column-major (row stride 1, column stride
 * 5): two panels, k4 = 8, so 32 * 8 bytes of scales and sums then 2 panels of 8 * 16 bytes. */
static void test_qs8_pack_layout(void **state) {
  (void)state;
  enum { K = 5, N = 18, N16 = 32, K4 = 8 };
  int8_t b[K * N];
  float scales[N];
  for (size_t j = 0; j < N; j++) {
    scales[j] = 0.5f + (float)j;
    for (size_t kk = 0; kk < K; kk++) b[j * K + kk] = (int8_t)((7 * kk + j) % 100 - 50);
  }
  assert_int_equal(thaw_qs8_gemm_packed_b_size(K, N), N16 * 8 + N16 * K4);
  uint8_t packed[N16 * 8 + N16 * K4];
  memset(packed, 0xAB, sizeof packed);
  thaw_qs8_gemm_pack_b(K, N, b, 1, K, scales, packed);
  for (size_t j = 0; j < N16; j++) {
    float scale;
    int32_t sum, expected_sum = 0;
    memcpy(&scale, packed + 4 * j, 4);
    memcpy(&sum, packed + 4 * N16 + 4 * j, 4);
    for (size_t kk = 0; kk < K && j < N; kk++) expected_sum += (int8_t)((7 * kk + j) % 100 - 50);
    assert_true(scale == (j < N ? 0.5f + (float)j : 0.0f));
    assert_int_equal(sum, expected_sum);
    for (size_t kk = 0; kk < K4; kk++) {
      const size_t offset = 8 * N16 + j / 16 * (K4 * 16) + kk / 4 * 64 + j % 16 * 4 + kk % 4;
      const int8_t want = j < N && kk < K ? (int8_t)((7 * kk + j) % 100 - 50) : 0;
      assert_int_equal((int8_t)packed[offset], want);
    }
  }
  assert_int_equal(thaw_qs8_gemm_packed_b_size(SIZE_MAX / 2, 17), SIZE_MAX);
  assert_int_equal(thaw_qs8_gemm_packed_b_size(4, SIZE_MAX - 3), SIZE_MAX);
}

/* ---- The row quantizer, through a GEMM with B = identity columns ---- */

typedef struct row_quantization {
  float scale;
  int32_t zero_point;
} row_quantization;

/* The documented formula (kernels.h, thaw_qs8_input), written from its text: DYNAMIC maps the
 * range of the values and 0 onto [0, 127]. */
static row_quantization reference_quantization(const thaw_qs8_input *input, const float *x,
                                               size_t count) {
  if (input->mode == THAW_QS8_STATIC) return (row_quantization){input->scale, input->zero_point};
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < count; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  if (hi == lo) return (row_quantization){1.0f, 0};
  const float scale = (hi - lo) / 127.0f;
  float zero = nearbyintf(-lo / scale);
  zero = zero < 0.0f ? 0.0f : (zero > 127.0f ? 127.0f : zero);
  return (row_quantization){scale, (int32_t)zero};
}

/* q(x): rounded half to even, clamped to [0, 127] (DYNAMIC) or [-128, 127] (STATIC), NaN to the
 * lowest value. */
static int32_t reference_quantize(float x, row_quantization q, thaw_qs8_quantization mode) {
  const int32_t lowest = mode == THAW_QS8_DYNAMIC ? 0 : -128;
  const float value = nearbyintf(x * (1.0f / q.scale)) + (float)q.zero_point;
  if (isnan(value) || value < (float)lowest) return lowest;
  return value > 127.0f ? 127 : (int32_t)value;
}

/* DYNAMIC_TENSOR (kernels.h): ONNX's DynamicQuantizeLinear over all of A, its uint8 levels less
 * 128. */
static row_quantization reference_tensor_quantization(const float *a, size_t count) {
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < count; i++) {
    if (a[i] < lo) lo = a[i];
    if (a[i] > hi) hi = a[i];
  }
  const float scale = (hi - lo) / 255.0f;
  if (!(scale > 0.0f) || !isfinite(1.0f / scale)) return (row_quantization){1.0f, -128};
  const float zero = fminf(fmaxf(nearbyintf(0.0f - lo / scale), 0.0f), 255.0f);
  return (row_quantization){scale, (int32_t)zero - 128};
}

/* Expected C of a qs8 GEMM of f32 A (quantized as `input` says) by int8 B with column scales,
 * in double from the quantized integers. */
static void reference_gemm(size_t m, size_t n, size_t k, const float *a,
                           const thaw_qs8_input *input, const int8_t *b, const float *scales,
                           const float *bias, const thaw_unary_params *activation,
                           double *expected) {
  const bool whole_tensor = input->mode == THAW_QS8_DYNAMIC_TENSOR;
  const row_quantization tensor_q = reference_tensor_quantization(a, m * k);
  for (size_t i = 0; i < m; i++) {
    const row_quantization q =
        whole_tensor ? tensor_q : reference_quantization(input, a + i * k, k);
    for (size_t j = 0; j < n; j++) {
      int64_t acc = 0;
      for (size_t kk = 0; kk < k; kk++) {
        acc += (int64_t)(reference_quantize(a[i * k + kk], q, input->mode) - q.zero_point) *
               b[kk * n + j];
      }
      const double value = (double)acc * q.scale * scales[j] + (bias != NULL ? bias[j] : 0.0);
      expected[i * n + j] = oracle_unary(activation, value);
    }
  }
}

/* Run every variant's qs8_gemm on C with three guard columns per row and compare. */
static void check_gemm(const thaw_qs8_gemm_params *shape, const float *a, const void *packed,
                       const float *bias, const double *expected, double rtol, double atol) {
  thaw_qs8_gemm_params p = *shape;
  p.a_row_stride = (ptrdiff_t)p.k;
  p.c_row_stride = (ptrdiff_t)p.n + 3;
  const size_t c_count = (p.m - 1) * (size_t)p.c_row_stride + p.n;
  float *actual = oracle_floats(p.m * p.n);
  for (size_t v = 0; v < variant_count; v++) {
    const size_t scratch_bytes = thaw_qs8_gemm_scratch_size(&p);
    void *scratch = malloc(scratch_bytes);
    float *c = oracle_floats(c_count);
    assert_non_null(scratch);
    for (size_t e = 0; e < c_count; e++) c[e] = sentinel;
    variants[v]->qs8_gemm(&p, a, packed, bias, c, scratch, &thaw_parallel_serial);
    for (size_t i = 0; i < p.m; i++) {
      memcpy(actual + i * p.n, c + i * (size_t)p.c_row_stride, p.n * sizeof(float));
      for (size_t g = 0; g < 3 && i + 1 < p.m; g++)
        assert_true(c[i * (size_t)p.c_row_stride + p.n + g] == sentinel);
    }
    char what[96];
    snprintf(what, sizeof what, "%s qs8_gemm m=%zu n=%zu k=%zu", variants[v]->isa, p.m, p.n, p.k);
    thaw_test_assert_close(what, actual, expected, p.m * p.n, rtol, atol);
    free(scratch);
    free(c);
  }
  free(actual);
}

/* A of integers x with x + zero_point in [-128, 127], static scale 1 (or dynamic, below), B
 * scales 1, no bias: the quantization is exact and each output is the int32 accumulator minus the zero-point term,
 * exactly representable in f32, so every variant must match to the last bit. */
static void test_qs8_gemm_exact_accumulators(void **state) {
  (void)state;
  static const size_t ms[] = {1, 3, 4, 5, 7, 64, 65, 130};
  static const size_t ns[] = {1, 15, 16, 17, 33};
  static const size_t ks[] = {1, 3, 4, 5, 31, 100};
  static const int32_t zero_points[] = {0, -128, 37};
  thaw_test_rng rng = {61};
  size_t index = 0;
  for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
      for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++, index++) {
        const size_t m = ms[mi], n = ns[ni], k = ks[ki];
        const int32_t zero_point = zero_points[index % 3];
        /* Every fourth case DYNAMIC: integers in [0, 127] with 0 and 127 in every row (when k
         * allows) quantize with scale 1 and zero point 0, i.e. to themselves. */
        const bool dynamic = index % 4 == 3 && k >= 2;
        float *a = oracle_floats(m * k);
        for (size_t e = 0; e < m * k; e++) {
          a[e] = dynamic ? (float)(thaw_test_rng_next(&rng) % 128)
                         : (float)((int32_t)(thaw_test_rng_next(&rng) % 256) - 128 - zero_point);
        }
        for (size_t i = 0; dynamic && i < m; i++) {
          a[i * k] = 0.0f;
          a[i * k + k - 1] = 127.0f;
        }
        int8_t *b = random_weights(&rng, k * n);
        float *scales = oracle_floats(n);
        for (size_t j = 0; j < n; j++) scales[j] = 1.0f;
        void *packed = pack(k, n, b, scales);
        double *expected = oracle_doubles(m * n);
        for (size_t i = 0; i < m; i++)
          for (size_t j = 0; j < n; j++) {
            int64_t acc = 0;
            for (size_t kk = 0; kk < k; kk++) acc += (int64_t)a[i * k + kk] * b[kk * n + j];
            expected[i * n + j] = (double)acc;
          }
        const thaw_qs8_input input = dynamic ? (thaw_qs8_input){THAW_QS8_DYNAMIC, 0, 0}
                                             : (thaw_qs8_input){THAW_QS8_STATIC, 1.0f, zero_point};
        const thaw_qs8_gemm_params p = {.m = m, .n = n, .k = k, .input = input};
        check_gemm(&p, a, packed, NULL, expected, 0, 0);
        free(a);
        free(b);
        free(scales);
        free(packed);
        free(expected);
      }
}

/* The largest products in every lane: -128 * 127 (STATIC, the sign trick) and 127 * 127 (DYNAMIC,
 * A as it is) over k = 1000 must not saturate the 16-bit pair sums (2 * 128 * 127 < 2^15) and
 * stay exact in f32 (|sum| < 2^24). */
static void test_qs8_gemm_extremes(void **state) {
  (void)state;
  enum { M = 5, N = 17, K = 1000 };
  float *a = oracle_floats(M * K);
  int8_t *b = random_weights(&(thaw_test_rng){5}, K * N);
  float scales[N];
  for (size_t e = 0; e < K * N; e++) b[e] = e % 2 == 0 ? 127 : -127;
  for (size_t j = 0; j < N; j++) scales[j] = 1.0f;
  void *packed = pack(K, N, b, scales);
  for (size_t mode = 0; mode < 2; mode++) {
    const bool dynamic = mode == 1;
    /* DYNAMIC rows hold 0 and 127 only: scale 1, zero point 0. */
    for (size_t e = 0; e < M * K; e++)
      a[e] = e % 3 == 0 ? 127.0f : (dynamic ? (e % 3 == 1 ? 0.0f : 127.0f) : -128.0f);
    double expected[M * N];
    for (size_t i = 0; i < M; i++)
      for (size_t j = 0; j < N; j++) {
        int64_t acc = 0;
        for (size_t kk = 0; kk < K; kk++) acc += (int64_t)a[i * K + kk] * b[kk * N + j];
        expected[i * N + j] = (double)acc;
      }
    const thaw_qs8_input input = dynamic ? (thaw_qs8_input){THAW_QS8_DYNAMIC, 0, 0}
                                         : (thaw_qs8_input){THAW_QS8_STATIC, 1.0f, 0};
    const thaw_qs8_gemm_params p = {.m = M, .n = N, .k = K, .input = input};
    check_gemm(&p, a, packed, NULL, expected, 0, 0);
  }
  free(a);
  free(b);
  free(packed);
}

/* DYNAMIC_TENSOR over an A of zeros (and a NaN, which ranges skip): scale 0, every level the
 * zero point, so C is the bias alone whatever the weights. */
static void test_qs8_gemm_whole_tensor_of_zeros(void **state) {
  (void)state;
  enum { M = 3, N = 19, K = 37 };
  float *a = oracle_floats(M * K);
  for (size_t e = 0; e < M * K; e++) a[e] = 0.0f;
  a[5] = NAN;
  int8_t *b = random_weights(&(thaw_test_rng){17}, K * N);
  float scales[N], bias[N];
  for (size_t j = 0; j < N; j++) {
    scales[j] = 0.5f + (float)j;
    bias[j] = (float)j - 7.0f;
  }
  void *packed = pack(K, N, b, scales);
  double expected[M * N];
  for (size_t e = 0; e < M * N; e++) expected[e] = bias[e % N];
  const thaw_qs8_gemm_params p = {.m = M, .n = N, .k = K, .has_bias = true,
                                  .input = {THAW_QS8_DYNAMIC_TENSOR, 0, 0}};
  check_gemm(&p, a, packed, bias, expected, 0, 0);
  free(a);
  free(b);
  free(packed);
}

/* DYNAMIC_TENSOR over an A holding both infinities: DynamicQuantizeLinear's scale is infinite,
 * every level is the zero point (x * 0, or NaN for an infinity, which takes the lowest level:
 * the same), every sum 0, and 0 times an infinite scale is NaN, as ONNX's Cast and Mul give. */
static void test_qs8_gemm_whole_tensor_of_infinities(void **state) {
  (void)state;
  enum { M = 2, N = 17, K = 9 };
  float a[M * K];
  for (size_t e = 0; e < M * K; e++) a[e] = (float)e - 4.0f;
  a[3] = -INFINITY;
  a[M * K - 1] = INFINITY;
  int8_t *b = random_weights(&(thaw_test_rng){23}, K * N);
  float scales[N];
  for (size_t j = 0; j < N; j++) scales[j] = 0.5f;
  void *packed = pack(K, N, b, scales);
  const thaw_qs8_gemm_params p = {.m = M, .n = N, .k = K, .a_row_stride = K, .c_row_stride = N,
                                  .input = {THAW_QS8_DYNAMIC_TENSOR, 0, 0}};
  for (size_t v = 0; v < variant_count; v++) {
    float c[M * N];
    void *scratch = malloc(thaw_qs8_gemm_scratch_size(&p));
    assert_non_null(scratch);
    variants[v]->qs8_gemm(&p, a, packed, NULL, c, scratch, &thaw_parallel_serial);
    for (size_t e = 0; e < M * N; e++)
      if (!isnan(c[e])) fail_msg("%s: c[%zu] = %g, want NaN", variants[v]->isa, e, (double)c[e]);
    free(scratch);
  }
  free(b);
  free(packed);
}

/* Random f32 A quantized dynamically per row (and statically), random weights and scales, bias
 * and every kind of activation: against the double product of the quantized integers, which
 * leaves only f32 rounding of the epilogue. */
static void test_qs8_gemm_requantized(void **state) {
  (void)state;
  static const size_t sizes[][3] = {{1, 1, 1},   {2, 17, 9},  {5, 33, 64},  {7, 16, 130},
                                    {64, 48, 31}, {67, 70, 257}, {130, 5, 1000}};
  static const thaw_unary_params activations[] = {
      {THAW_KERNEL_IDENTITY, 0, 0}, {THAW_KERNEL_RELU, 0, 0}, {THAW_KERNEL_CLIP, -0.5f, 0.75f},
      {THAW_KERNEL_GELU, 0, 0},     {THAW_KERNEL_HARD_SWISH, 0, 0}};
  thaw_test_rng rng = {29};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const size_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
    for (size_t mode = 0; mode < 3; mode++) {
      static const thaw_qs8_input inputs[3] = {{THAW_QS8_DYNAMIC, 0, 0},
                                               {THAW_QS8_STATIC, 0.02f, 11},
                                               {THAW_QS8_DYNAMIC_TENSOR, 0, 0}};
      const thaw_qs8_input input = inputs[mode];
      /* Rows of different ranges, one all positive, so zero points differ per row. */
      float *a = oracle_random(&rng, m * k, -1.5f, 2.0f);
      for (size_t kk = 0; kk < k; kk++) a[kk] = fabsf(a[kk]) * 0.1f;
      int8_t *b = random_weights(&rng, k * n);
      float *scales = oracle_random(&rng, n, 0.001f, 0.02f);
      float *bias = oracle_random(&rng, n, -1, 1);
      void *packed = pack(k, n, b, scales);
      const thaw_unary_params *activation = &activations[(s + mode) % 5];
      double *expected = oracle_doubles(m * n);
      reference_gemm(m, n, k, a, &input, b, scales, bias, activation, expected);
      const thaw_qs8_gemm_params p = {.m = m, .n = n, .k = k, .input = input,
                                      .has_bias = true, .activation = *activation};
      check_gemm(&p, a, packed, bias, expected, 1e-5, 1e-5);
      free(a);
      free(b);
      free(scales);
      free(bias);
      free(packed);
      free(expected);
    }
  }
}

/* The quantizer's corner cases through a GEMM whose B picks single columns of A (B = I with
 * scale 1): C(i, j) = scale_i * (q(i, j) - zero_point_i), the dequantized value, which shows
 * every q. Rows: zeros only, ties at half steps, NaN and an outlier, a wide range. */
static void test_qs8_quantize_corner_cases(void **state) {
  (void)state;
  enum { M = 5, K = 37 };
  float a[M * K];
  thaw_test_rng rng = {3};
  for (size_t kk = 0; kk < K; kk++) {
    a[0 * K + kk] = 0.0f;
    a[1 * K + kk] = 0.5f * (float)((int)kk - 18); /* ties under scale 1 */
    a[2 * K + kk] = thaw_test_rng_uniform(&rng, -3, 3);
    a[3 * K + kk] = thaw_test_rng_uniform(&rng, -1e30f, 1e30f);
    a[4 * K + kk] = thaw_test_rng_uniform(&rng, 0, 5);
  }
  a[2 * K + 3] = NAN;
  a[2 * K + 30] = 1e20f; /* one huge value squeezes the rest of the row to the zero point */
  int8_t identity[K * K] = {0};
  float scales[K];
  for (size_t j = 0; j < K; j++) {
    identity[j * K + j] = 1;
    scales[j] = 1.0f;
  }
  void *packed = pack(K, K, identity, scales);
  for (size_t mode = 0; mode < 2; mode++) {
    const thaw_qs8_input input = mode == 0 ? (thaw_qs8_input){THAW_QS8_DYNAMIC, 0, 0}
                                           : (thaw_qs8_input){THAW_QS8_STATIC, 1.0f, -3};
    double expected[M * K];
    for (size_t i = 0; i < M; i++) {
      const row_quantization q = reference_quantization(&input, a + i * K, K);
      for (size_t kk = 0; kk < K; kk++) {
        expected[i * K + kk] =
            (double)(float)(reference_quantize(a[i * K + kk], q, input.mode) - q.zero_point) *
            q.scale;
      }
    }
    const thaw_qs8_gemm_params p = {.m = M, .n = K, .k = K, .input = input};
    check_gemm(&p, a, packed, NULL, expected, 1e-6, 0);
  }
  free(packed);
}

/* ---- Convolution ---- */

static const char *const kModeNames[] = {"dynamic", "static", "whole tensor"};

typedef struct conv_case {
  size_t batch, channels, height, width, out_channels, kernel, stride, dilation, pad;
} conv_case;

/* Inputs that are multiples of 1/4 in [-8, 8). STATIC with scale 1/4 and zero point 3 quantizes
 * them exactly (the second image of a batch, doubled, too); DYNAMIC quantizes each image over
 * its own range and DYNAMIC_TENSOR the whole batch over one (kernels.h), and the reference
 * takes the dequantized values. Padding quantizes to the zero point, i.e. 0. The output is the
 * double product of those inputs and the dequantized weights up to f32 rounding. */
static void run_conv_case(const conv_case *cc, const thaw_qs8_input *input, thaw_test_rng *rng) {
  const size_t out_h = (cc->height + 2 * cc->pad - cc->dilation * (cc->kernel - 1) - 1) / cc->stride + 1;
  const size_t out_w = (cc->width + 2 * cc->pad - cc->dilation * (cc->kernel - 1) - 1) / cc->stride + 1;
  const size_t k = cc->channels * cc->kernel * cc->kernel, n = cc->out_channels;
  const size_t x_count = cc->batch * cc->channels * cc->height * cc->width;
  const size_t y_count = cc->batch * n * out_h * out_w;
  float *x = oracle_floats(x_count);
  /* Image b spans b + 1 times the first one's range: per-image and whole-batch ranges differ. */
  const size_t image_count = x_count / cc->batch;
  for (size_t e = 0; e < x_count; e++)
    x[e] = (float)((int)(thaw_test_rng_next(rng) % 64) - 32) / 4 * (float)(e / image_count + 1);
  int8_t *w = random_weights(rng, n * k); /* ONNX order [M][C][kh][kw] */
  float *scales = oracle_random(rng, n, 0.01f, 0.05f);
  float *bias = oracle_random(rng, n, -1, 1);
  void *packed = malloc(thaw_qs8_gemm_packed_b_size(k, n));
  assert_non_null(packed);
  thaw_qs8_gemm_pack_b(k, n, w, 1, (ptrdiff_t)k, scales, packed);
  const thaw_conv2d_params p = {
      .batch = cc->batch, .in_channels = cc->channels, .in_height = cc->height,
      .in_width = cc->width, .out_channels = n, .out_height = out_h, .out_width = out_w,
      .kernel_height = cc->kernel, .kernel_width = cc->kernel, .groups = 1,
      .stride_h = cc->stride, .stride_w = cc->stride, .dilation_h = cc->dilation,
      .dilation_w = cc->dilation, .pad_top = cc->pad, .pad_left = cc->pad,
      .activation = {THAW_KERNEL_RELU, 0, 0}};
  double *dequantized = oracle_doubles(x_count);
  for (size_t b = 0; b < cc->batch; b++) {
    const row_quantization q =
        input->mode == THAW_QS8_DYNAMIC_TENSOR
            ? reference_tensor_quantization(x, x_count)
            : reference_quantization(input, x + b * image_count, image_count);
    for (size_t e = b * image_count; e < (b + 1) * image_count; e++)
      dequantized[e] = (double)(reference_quantize(x[e], q, input->mode) - q.zero_point) * q.scale;
  }
  double *expected = oracle_doubles(y_count);
  for (size_t b = 0; b < cc->batch; b++)
    for (size_t m = 0; m < n; m++)
      for (size_t oh = 0; oh < out_h; oh++)
        for (size_t ow = 0; ow < out_w; ow++) {
          double sum = bias[m];
          for (size_t c = 0; c < cc->channels; c++)
            for (size_t kh = 0; kh < cc->kernel; kh++)
              for (size_t kw = 0; kw < cc->kernel; kw++) {
                const ptrdiff_t ih = (ptrdiff_t)(oh * cc->stride + kh * cc->dilation) - (ptrdiff_t)cc->pad;
                const ptrdiff_t iw = (ptrdiff_t)(ow * cc->stride + kw * cc->dilation) - (ptrdiff_t)cc->pad;
                if (ih < 0 || iw < 0 || ih >= (ptrdiff_t)cc->height || iw >= (ptrdiff_t)cc->width)
                  continue;
                const double xv = dequantized[((b * cc->channels + c) * cc->height + (size_t)ih) * cc->width + (size_t)iw];
                sum += xv * w[((m * cc->channels + c) * cc->kernel + kh) * cc->kernel + kw] * scales[m];
              }
          expected[((b * n + m) * out_h + oh) * out_w + ow] = sum < 0 ? 0 : sum;
        }
  for (size_t v = 0; v < variant_count; v++) {
    const size_t scratch_bytes = thaw_qs8_conv2d_scratch_size(&p);
    void *scratch = malloc(scratch_bytes);
    float *y = oracle_floats(y_count);
    assert_non_null(scratch);
    variants[v]->qs8_conv2d(&p, input, x, packed, bias, y, scratch, &thaw_parallel_serial);
    char what[128];
    snprintf(what, sizeof what, "%s qs8_conv2d %s c=%zu %zux%zu m=%zu k=%zu s=%zu d=%zu p=%zu",
             variants[v]->isa, kModeNames[input->mode], cc->channels, cc->height, cc->width, n, cc->kernel, cc->stride,
             cc->dilation, cc->pad);
    thaw_test_assert_close(what, y, expected, y_count, 1e-5, 1e-5);
    free(scratch);
    free(y);
  }
  free(x);
  free(dequantized);
  free(w);
  free(scales);
  free(bias);
  free(packed);
  free(expected);
}

static void test_qs8_conv2d(void **state) {
  (void)state;
  static const conv_case cases[] = {
      {1, 3, 7, 9, 5, 3, 1, 1, 1},    {2, 4, 6, 5, 17, 1, 1, 1, 0},  {1, 5, 11, 10, 16, 3, 2, 1, 1},
      {1, 2, 9, 9, 3, 3, 1, 2, 2},    {1, 8, 10, 11, 33, 5, 2, 1, 2}, {1, 16, 12, 12, 20, 1, 2, 1, 0},
      /* Output rows of 16 pixels and more: whole panels inside a row, and panels across rows. */
      {1, 6, 5, 37, 9, 3, 1, 1, 1},   {1, 7, 4, 40, 18, 1, 1, 1, 0},  {2, 3, 6, 24, 6, 3, 1, 2, 2},
      /* Several blocks of 16 small panels; one panel per block (k = 4140, 66 KiB a panel). */
      {1, 2, 20, 31, 5, 1, 1, 1, 0},  {1, 460, 4, 5, 6, 3, 1, 1, 1},
      /* Stride 3 (three phases per padded row, an odd pad) and a last tile of 7 channels. */
      {1, 3, 13, 20, 23, 3, 3, 1, 1},
      /* Rows and phases no window reads, left unquantized: a padded 1x1 with stride 2 (the odd
       * input rows and columns), a dilation-2 3x3 with stride 2 (only phase 0), stride 4 with a
       * 3x3 kernel (phases 0-2 and three rows in four). */
      {1, 5, 13, 17, 9, 1, 2, 1, 1},  {1, 4, 15, 19, 10, 3, 2, 2, 2}, {1, 3, 17, 21, 7, 3, 4, 1, 1},
      /* Last panels of 1 pixel (7x7, an odd number of groups of 4 k) and 4 (14x14), below the 8
       * that a vector of pixels holds. */
      {1, 9, 7, 7, 13, 3, 1, 1, 1},   {1, 6, 14, 14, 8, 3, 1, 1, 1},
  };
  static const thaw_qs8_input inputs[] = {
      {THAW_QS8_STATIC, 0.25f, 3}, {THAW_QS8_DYNAMIC, 0, 0}, {THAW_QS8_DYNAMIC_TENSOR, 0, 0}};
  thaw_test_rng rng = {41};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
      run_conv_case(&cases[c], &inputs[i], &rng);
}

int main(void) {
  variant_count = oracle_variants(variants);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qs8_pack_layout),
      cmocka_unit_test(test_qs8_gemm_exact_accumulators),
      cmocka_unit_test(test_qs8_gemm_extremes),
      cmocka_unit_test(test_qs8_gemm_requantized),
      cmocka_unit_test(test_qs8_gemm_whole_tensor_of_zeros),
      cmocka_unit_test(test_qs8_gemm_whole_tensor_of_infinities),
      cmocka_unit_test(test_qs8_quantize_corner_cases),
      cmocka_unit_test(test_qs8_conv2d),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
