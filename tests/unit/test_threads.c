/*
 * Threads inside a run (thaw_session_options.threads): results are bit-identical for any thread
 * count, and the pool behaves (lazy start, a failed start, limits).
 *
 * - The kernels that split their work (GEMM and GEMV, the im2col, Winograd, pointwise and
 *   depthwise convolutions, ConvTranspose, the int8 GEMM and convolution) are run through a
 *   thaw_parallel that executes the tasks backwards on three make-believe threads, with scratch
 *   full of NaN bytes, and must give the bytes of the serial run: the split is over independent
 *   outputs only, in any order, each thread on its own scratch slice.
 * - A model with every op the executor splits (resize, convolutions f32 and int8, depthwise,
 *   channel affine, concat, global and windowed pooling, unary, binary, softmax, LayerNorm,
 *   batched, weight and int8 MatMuls, transpose), large enough that each op is split,
 *   runs on 1, 2, 3 and 4 threads with identical output bytes, repeatedly, on the real pool.
 *
 * - The pool itself: thousands of regions of 2 to 37 tasks, back to back (the workers spin
 *   between them), after pauses longer than a worker spins (they sleep), and with a 1 ms task
 *   (first, so that workers take the rest; last, so that the caller spins and then sleeps
 *   waiting for it), then one of some 200,000 tasks: each task runs exactly once and its write
 *   is seen by the caller when the region returns, and each thread ran the first tasks of its
 *   own share (the others took from its back). Once a run has returned, the workers sleep.
 * - Concat and ChannelAffine, whose splits cut inside the rows they copy or run over the
 *   planes of several images, against the copies and products computed here.
 *
 * CI also runs this file under ThreadSanitizer (scripts/test-all.sh).
 */
#define _GNU_SOURCE /* dlsym(RTLD_NEXT) */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "runtime/platform.h"
#include "runtime/threadpool.h"
#include "test_runtime_builder.h"

/* ---- Kernels through a backwards, three-thread split ---- */

enum { FAKE_THREADS = 3 };

/* The most tasks one call was cut into, so a case can check that it was split at all. */
static size_t most_tasks;

static void run_backwards(const thaw_parallel *parallel, size_t task_count,
                          thaw_parallel_task task, void *context) {
  if (task_count > most_tasks) most_tasks = task_count;
  for (size_t i = task_count; i-- > 0;) task(context, i % parallel->thread_count, i);
}

static const thaw_parallel backwards = {.thread_count = FAKE_THREADS, .run = run_backwards};

static float *random_floats(size_t count, uint64_t seed) {
  float *values = malloc((count > 0 ? count : 1) * sizeof(float));
  assert_non_null(values);
  thaw_test_rng rng = {seed};
  thaw_test_fill_uniform(&rng, values, count, -1.0f, 1.0f);
  return values;
}

/* Scratch for `threads` slices of `bytes`, filled with NaN so that nothing may rely on it. */
static void *nan_scratch(size_t bytes, size_t threads) {
  const size_t total = thaw_scratch_slice_bytes(bytes) * threads;
  void *scratch = aligned_alloc(THAW_SCRATCH_ALIGNMENT, total > 0 ? total : THAW_SCRATCH_ALIGNMENT);
  assert_non_null(scratch);
  memset(scratch, 0xff, total);
  return scratch;
}

typedef struct gemm_case {
  size_t m, n, k;
  bool b_packed;
  thaw_gemm_bias bias;
  thaw_kernel_unary activation;
} gemm_case;

static void check_gemm_split(const thaw_kernels *kernels, const gemm_case *g) {
  const size_t c_count = g->m * g->n;
  float *a = random_floats(g->m * g->k, 1), *b = random_floats(g->k * g->n, 2);
  float *bias = random_floats(g->m > g->n ? g->m : g->n, 3);
  float *packed = malloc(thaw_f32_gemm_packed_b_size(g->k, g->n));
  assert_non_null(packed);
  thaw_f32_gemm_pack_b(g->k, g->n, b, (ptrdiff_t)g->n, 1, packed);
  const thaw_gemm_params p = {
      .m = g->m, .n = g->n, .k = g->k,
      .a_row_stride = (ptrdiff_t)g->k, .a_k_stride = 1,
      .b_packed = g->b_packed, .b_row_stride = (ptrdiff_t)g->n, .b_column_stride = 1,
      .c_row_stride = (ptrdiff_t)g->n,
      .bias = g->bias,
      .activation = {g->activation, 0.0f, 6.0f},
  };
  float *serial = malloc(c_count * sizeof(float)), *split = malloc(c_count * sizeof(float));
  assert_non_null(serial);
  assert_non_null(split);
  const size_t scratch_bytes = kernels->f32_gemm_scratch_size(&p);
  void *scratch = nan_scratch(scratch_bytes, FAKE_THREADS);
  const float *b_operand = g->b_packed ? packed : b;
  const float *bias_operand = g->bias == THAW_GEMM_BIAS_NONE ? NULL : bias;
  kernels->f32_gemm(&p, a, b_operand, bias_operand, serial, scratch, &thaw_parallel_serial);
  memset(scratch, 0xff, thaw_scratch_slice_bytes(scratch_bytes) * FAKE_THREADS);
  most_tasks = 0;
  kernels->f32_gemm(&p, a, b_operand, bias_operand, split, scratch, &backwards);
  if (most_tasks < 2)
    fail_msg("%s gemm %zux%zux%zu was not split", kernels->isa, g->m, g->n, g->k);
  if (memcmp(serial, split, c_count * sizeof(float)) != 0)
    fail_msg("%s gemm %zux%zux%zu (B %s, bias %d, activation %d): the split result differs",
             kernels->isa, g->m, g->n, g->k, g->b_packed ? "packed" : "plain", g->bias,
             g->activation);
  free(scratch);
  free(serial);
  free(split);
  free(packed);
  free(bias);
  free(b);
  free(a);
}

static void test_gemm_split_is_exact(void **state) {
  (void)state;
  /* Each splits: several column blocks and k blocks, row chunks, the GEMV's panels. */
  static const gemm_case cases[] = {
      {97, 301, 450, false, THAW_GEMM_BIAS_PER_ROW, THAW_KERNEL_GELU},
      {130, 77, 385, true, THAW_GEMM_BIAS_PER_COLUMN, THAW_KERNEL_RELU},
      /* A packed B narrower than A is tall, in two k blocks: rows split, columns whole. */
      {260, 40, 700, true, THAW_GEMM_BIAS_PER_ROW, THAW_KERNEL_RELU},
      {413, 35, 200, false, THAW_GEMM_BIAS_NONE, THAW_KERNEL_CLIP},
      /* A plain B smaller than A, in three k blocks: rows split, B packed whole per thread. */
      {300, 49, 960, false, THAW_GEMM_BIAS_PER_ROW, THAW_KERNEL_CLIP},
      {3, 1001, 1999, true, THAW_GEMM_BIAS_PER_COLUMN, THAW_KERNEL_SILU},
      {4, 531, 1024, true, THAW_GEMM_BIAS_PER_ROW, THAW_KERNEL_IDENTITY},
  };
  const thaw_kernels *variants[8];
  const size_t variant_count = thaw_kernels_variants(variants, 8);
  for (size_t v = 0; v < variant_count; v++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
      check_gemm_split(variants[v], &cases[c]);
}

static thaw_conv2d_params conv_params(size_t in_channels, size_t size, size_t out_channels,
                                      size_t kernel, size_t stride, size_t groups,
                                      thaw_kernel_unary activation) {
  const size_t pad = kernel / 2;
  const size_t out_size = (size + 2 * pad - kernel) / stride + 1;
  return (thaw_conv2d_params){
      .batch = 2, .in_channels = in_channels, .in_height = size, .in_width = size + 3,
      .out_channels = out_channels, .out_height = out_size,
      .out_width = (size + 3 + 2 * pad - kernel) / stride + 1,
      .kernel_height = kernel, .kernel_width = kernel, .groups = groups,
      .stride_h = stride, .stride_w = stride, .dilation_h = 1, .dilation_w = 1,
      .pad_top = pad, .pad_left = pad,
      .activation = {activation, 0.0f, 6.0f},
  };
}

static void check_conv_split(const thaw_kernels *kernels, const thaw_conv2d_params *p,
                             const char *what) {
  const size_t x_count = p->batch * p->in_channels * p->in_height * p->in_width;
  const size_t w_count =
      p->out_channels * (p->in_channels / p->groups) * p->kernel_height * p->kernel_width;
  const size_t y_count = p->batch * p->out_channels * p->out_height * p->out_width;
  float *x = random_floats(x_count, 4), *w = random_floats(w_count, 5);
  float *bias = random_floats(p->out_channels, 6);
  float *serial = malloc(y_count * sizeof(float)), *split = malloc(y_count * sizeof(float));
  assert_non_null(serial);
  assert_non_null(split);
  const size_t scratch_bytes = kernels->f32_conv2d_scratch_size(p);
  void *scratch = nan_scratch(scratch_bytes, FAKE_THREADS);
  kernels->f32_conv2d(p, x, w, bias, serial, scratch, &thaw_parallel_serial);
  memset(scratch, 0xff, thaw_scratch_slice_bytes(scratch_bytes) * FAKE_THREADS);
  most_tasks = 0;
  kernels->f32_conv2d(p, x, w, bias, split, scratch, &backwards);
  /* The reference convolution is direct and serial: nothing to split. */
  if (kernels != thaw_kernels_scalar() && most_tasks < 2)
    fail_msg("%s %s convolution was not split", kernels->isa, what);
  if (memcmp(serial, split, y_count * sizeof(float)) != 0)
    fail_msg("%s %s convolution: the split result differs", kernels->isa, what);
  free(scratch);
  free(serial);
  free(split);
  free(bias);
  free(w);
  free(x);
}

/* p with stride_w across the rows instead of its stride. */
static thaw_conv2d_params with_stride_w(thaw_conv2d_params p, size_t stride_w) {
  p.stride_w = stride_w;
  p.out_width = (p.in_width + 2 * p.pad_left - p.kernel_width) / stride_w + 1;
  return p;
}

/* p on planes `width` wide. */
static thaw_conv2d_params with_width(thaw_conv2d_params p, size_t width) {
  p.in_width = width;
  p.out_width = (width + 2 * p.pad_left - p.kernel_width) / p.stride_w + 1;
  return p;
}

static void test_conv_split_is_exact(void **state) {
  (void)state;
  const struct {
    const char *what;
    thaw_conv2d_params p;
  } cases[] = {
      {"im2col 3x3 stride 2", conv_params(32, 37, 70, 3, 2, 1, THAW_KERNEL_HARD_SWISH)},
      /* Few pixels, many output channels: split over channel ranges. */
      {"im2col 3x3 on 7x10", conv_params(64, 7, 100, 3, 1, 1, THAW_KERNEL_RELU)},
      {"grouped 3x3", conv_params(48, 29, 48, 3, 1, 2, THAW_KERNEL_IDENTITY)},
      /* Implicit GEMM (few taps, wide rows): bands of output rows. */
      {"implicit GEMM 7x7 stride 2", conv_params(3, 58, 20, 7, 2, 1, THAW_KERNEL_HARD_SWISH)},
      {"implicit GEMM grouped 3x3", conv_params(24, 29, 48, 3, 1, 2, THAW_KERNEL_CLIP)},
      /* Winograd F(4x4, 3x3): chunks of tile rows over the threads' slices after U. */
      {"winograd 3x3", conv_params(40, 38, 72, 3, 1, 1, THAW_KERNEL_GELU)},
      /* 6 tile rows of 8 slots: the split cuts shorter chunks than the serial run, and a chunk
       * of one tile row ends its GEMM on an 8-column edge where the serial run has a full
       * 16-column tile (both the panel-aligned chunks and the edge tile's summing order keep
       * those columns' bits). */
      {"winograd 3x3 on 23x26", conv_params(96, 23, 128, 3, 1, 1, THAW_KERNEL_RELU)},
      /* A small plane (one chunk): V shared, blocks of filters over the threads. */
      {"winograd 3x3 on 13x16", conv_params(64, 13, 256, 3, 1, 1, THAW_KERNEL_RELU)},
      /* U over 3 MiB: V of each image shared, blocks of filters over the threads. */
      {"winograd 3x3 in filter blocks", conv_params(160, 13, 170, 3, 1, 1, THAW_KERNEL_CLIP)},
      {"pointwise", conv_params(40, 33, 90, 1, 1, 1, THAW_KERNEL_GELU)},
      {"pointwise on 7x7", conv_params(700, 7, 200, 1, 1, 1, THAW_KERNEL_CLIP)},
      {"pointwise stride 2", conv_params(96, 27, 160, 1, 2, 1, THAW_KERNEL_RELU)},
      {"depthwise 3x3", conv_params(200, 41, 200, 3, 1, 200, THAW_KERNEL_HARD_SWISH)},
      {"depthwise 5x5 stride 2", conv_params(150, 40, 150, 5, 2, 150, THAW_KERNEL_CLIP)},
      /* Fewer planes than 8 per thread (two images of up to 11 channels), tall enough to be
       * cut into bands of output rows. */
      {"depthwise 5x5 stride 2 in bands", conv_params(10, 61, 10, 5, 2, 10, THAW_KERNEL_RELU)},
      {"depthwise 7x7 in bands", conv_params(6, 50, 6, 7, 1, 6, THAW_KERNEL_IDENTITY)},
      /* Bands whose row counts leave different blocks over than the whole plane's. */
      {"depthwise 5x5 stride (2, 1) in bands",
       with_stride_w(conv_params(8, 57, 8, 5, 2, 8, THAW_KERNEL_CLIP), 1)},
      {"depthwise 3x3 stride (2, 1) in bands",
       with_stride_w(conv_params(11, 63, 11, 3, 2, 11, THAW_KERNEL_HARD_SWISH), 1)},
      {"depthwise 3x3 stride (1, 2) in bands",
       with_stride_w(conv_params(11, 81, 11, 3, 1, 11, THAW_KERNEL_CLIP), 2)},
      /* Planes at most two vectors wide at stride 1 (a flat copy of the band's rows), in bands,
       * one taller than the copy holds. */
      {"depthwise 3x3 on 7-wide planes in bands",
       with_width(conv_params(11, 301, 11, 3, 1, 11, THAW_KERNEL_CLIP), 7)},
      {"depthwise 5x5 on 13-wide planes in bands",
       with_width(conv_params(11, 81, 11, 5, 1, 11, THAW_KERNEL_HARD_SWISH), 13)},
      {"depthwise 3x3 on 5-wide planes taller than the copy",
       with_width(conv_params(8, 700, 8, 3, 1, 8, THAW_KERNEL_RELU), 5)},
      /* Planes of 3 output rows: one block of the rows left over, windows mostly outside. */
      {"depthwise 5x5 on 3 rows", conv_params(300, 3, 300, 5, 1, 300, THAW_KERNEL_RELU)},
  };
  const thaw_kernels *variants[8];
  const size_t variant_count = thaw_kernels_variants(variants, 8);
  for (size_t v = 0; v < variant_count; v++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
      check_conv_split(variants[v], &cases[c].p, cases[c].what);
}

/* ---- Quantized products through the same split ---- */

/* Random int8 weights [k, n] in [-127, 127], packed with scales in (0, 0.02]. */
static void *random_qs8_weights(size_t k, size_t n, uint64_t seed) {
  int8_t *b = malloc(k * n);
  float *scales = random_floats(n, seed + 1);
  void *packed = malloc(thaw_qs8_gemm_packed_b_size(k, n));
  assert_non_null(b);
  assert_non_null(packed);
  thaw_test_rng rng = {seed};
  for (size_t i = 0; i < k * n; i++) b[i] = (int8_t)(thaw_test_rng_next(&rng) % 255 - 127);
  for (size_t j = 0; j < n; j++) scales[j] = 0.01f * (fabsf(scales[j]) + 0.01f);
  thaw_qs8_gemm_pack_b(k, n, b, (ptrdiff_t)n, 1, scales, packed);
  free(scales);
  free(b);
  return packed;
}

/* The same bytes from a serial run and from the backwards split, on NaN-filled scratch. */
static void check_qs8_split(const thaw_kernels *kernels, const thaw_qs8_gemm_params *gemm,
                            const thaw_conv2d_params *conv, const char *what) {
  const bool is_gemm = gemm != NULL;
  const size_t x_count = is_gemm ? gemm->m * gemm->k
                                 : conv->batch * conv->in_channels * conv->in_height *
                                       conv->in_width;
  const size_t k = is_gemm ? gemm->k : conv->in_channels * conv->kernel_height * conv->kernel_width;
  const size_t n = is_gemm ? gemm->n : conv->out_channels;
  const size_t y_count = is_gemm ? gemm->m * gemm->n
                                 : conv->batch * conv->out_channels * conv->out_height *
                                       conv->out_width;
  float *x = random_floats(x_count, 11), *bias = random_floats(n, 12);
  void *packed = random_qs8_weights(k, n, 13);
  float *serial = malloc(y_count * sizeof(float)), *split = malloc(y_count * sizeof(float));
  assert_non_null(serial);
  assert_non_null(split);
  const size_t scratch_bytes =
      is_gemm ? thaw_qs8_gemm_scratch_size(gemm) : thaw_qs8_conv2d_scratch_size(conv);
  void *scratch = nan_scratch(scratch_bytes, FAKE_THREADS);
  const thaw_qs8_input dynamic = {.mode = THAW_QS8_DYNAMIC};
  for (int pass = 0; pass < 2; pass++) {
    const thaw_parallel *parallel = pass == 0 ? &thaw_parallel_serial : &backwards;
    float *y = pass == 0 ? serial : split;
    memset(scratch, 0xff, thaw_scratch_slice_bytes(scratch_bytes) * FAKE_THREADS);
    most_tasks = 0;
    if (is_gemm) kernels->qs8_gemm(gemm, x, packed, bias, y, scratch, parallel);
    else kernels->qs8_conv2d(conv, &dynamic, x, packed, bias, y, scratch, parallel);
  }
  if (most_tasks < 2) fail_msg("%s %s was not split", kernels->isa, what);
  if (memcmp(serial, split, y_count * sizeof(float)) != 0)
    fail_msg("%s %s: the split result differs", kernels->isa, what);
  free(scratch);
  free(serial);
  free(split);
  free(packed);
  free(bias);
  free(x);
}

static void test_qs8_split_is_exact(void **state) {
  (void)state;
  const struct {
    const char *what;
    thaw_qs8_gemm_params gemm;
  } gemms[] = {
      /* Row blocks of 64 (the last one short), then columns as well. */
      {"qs8 gemm, rows", {.m = 203, .n = 75, .k = 301, .a_row_stride = 301, .c_row_stride = 75,
                          .input = {.mode = THAW_QS8_DYNAMIC}, .has_bias = true,
                          .activation = {THAW_KERNEL_GELU, 0.0f, 0.0f}}},
      {"qs8 gemm, columns", {.m = 5, .n = 517, .k = 770, .a_row_stride = 770, .c_row_stride = 517,
                             .input = {.mode = THAW_QS8_STATIC, .scale = 0.01f, .zero_point = 3},
                             .activation = {THAW_KERNEL_RELU, 0.0f, 0.0f}}},
      /* Quantized over the whole tensor before the split. */
      {"qs8 gemm, whole tensor", {.m = 130, .n = 40, .k = 96, .a_row_stride = 96,
                                  .c_row_stride = 40, .input = {.mode = THAW_QS8_DYNAMIC_TENSOR},
                                  .has_bias = true}},
  };
  const struct {
    const char *what;
    thaw_conv2d_params p;
  } convs[] = {
      {"qs8 3x3 stride 2 conv", conv_params(13, 37, 70, 3, 2, 1, THAW_KERNEL_HARD_SWISH)},
      /* One block of pixels: split over channel tiles. */
      {"qs8 3x3 conv on 7x10", conv_params(64, 7, 100, 3, 1, 1, THAW_KERNEL_CLIP)},
      /* An image large enough that its range and int8 copy are split over channels too. */
      {"qs8 1x1 conv on 40x61x64", conv_params(40, 61, 24, 1, 1, 1, THAW_KERNEL_IDENTITY)},
      /* The same image with stride 2: only its even rows and columns are quantized. */
      {"qs8 1x1 stride 2 conv on 40x61x64", conv_params(40, 61, 24, 1, 2, 1, THAW_KERNEL_RELU)},
  };
  const thaw_kernels *variants[8];
  const size_t variant_count = thaw_kernels_variants(variants, 8);
  for (size_t v = 0; v < variant_count; v++) {
    for (size_t c = 0; c < sizeof gemms / sizeof gemms[0]; c++)
      check_qs8_split(variants[v], &gemms[c].gemm, NULL, gemms[c].what);
    for (size_t c = 0; c < sizeof convs / sizeof convs[0]; c++)
      check_qs8_split(variants[v], NULL, &convs[c].p, convs[c].what);
  }
}

/* ConvTranspose of `in_channels` size x (size + 3) images, padding kernel / 4 on each side. */
static thaw_conv2d_params transpose_params(size_t in_channels, size_t size, size_t out_channels,
                                           size_t kernel, size_t stride, size_t groups,
                                           thaw_kernel_unary activation) {
  const size_t pad = kernel / 4;
  return (thaw_conv2d_params){
      .batch = 2, .in_channels = in_channels, .in_height = size, .in_width = size + 3,
      .out_channels = out_channels, .out_height = (size - 1) * stride + kernel - 2 * pad,
      .out_width = (size + 2) * stride + kernel - 2 * pad,
      .kernel_height = kernel, .kernel_width = kernel, .groups = groups,
      .stride_h = stride, .stride_w = stride, .dilation_h = 1, .dilation_w = 1,
      .pad_top = pad, .pad_left = pad,
      .activation = {activation, 0.0f, 6.0f},
  };
}

static void check_transpose_split(const thaw_kernels *kernels, const thaw_conv2d_params *p,
                                  const char *what) {
  const size_t x_count = p->batch * p->in_channels * p->in_height * p->in_width;
  const size_t w_count =
      p->in_channels * (p->out_channels / p->groups) * p->kernel_height * p->kernel_width;
  const size_t y_count = p->batch * p->out_channels * p->out_height * p->out_width;
  float *x = random_floats(x_count, 7), *w = random_floats(w_count, 8);
  float *bias = random_floats(p->out_channels, 9);
  float *serial = malloc(y_count * sizeof(float)), *split = malloc(y_count * sizeof(float));
  assert_non_null(serial);
  assert_non_null(split);
  kernels->f32_conv_transpose2d(p, x, w, bias, serial, &thaw_parallel_serial);
  most_tasks = 0;
  kernels->f32_conv_transpose2d(p, x, w, bias, split, &backwards);
  /* The reference is serial (and a table without its own variant uses it): nothing to split. */
  if (kernels->f32_conv_transpose2d != thaw_kernels_scalar()->f32_conv_transpose2d &&
      most_tasks < 2)
    fail_msg("%s %s conv_transpose was not split", kernels->isa, what);
  if (memcmp(serial, split, y_count * sizeof(float)) != 0)
    fail_msg("%s %s conv_transpose: the split result differs", kernels->isa, what);
  free(serial);
  free(split);
  free(bias);
  free(w);
  free(x);
}

static void test_conv_transpose_split_is_exact(void **state) {
  (void)state;
  const struct {
    const char *what;
    thaw_conv2d_params p;
  } cases[] = {
      /* 4 + 1 + 1 output channels: blocks of four and single channels in one split. */
      {"2x upsampling", transpose_params(24, 21, 6, 2, 2, 1, THAW_KERNEL_GELU)},
      /* Two images of one channel: too few channel blocks, split over rows. */
      {"one output channel", transpose_params(64, 40, 1, 2, 2, 1, THAW_KERNEL_SIGMOID)},
      {"grouped 4x4 stride 2", transpose_params(32, 17, 20, 4, 2, 2, THAW_KERNEL_CLIP)},
  };
  const thaw_kernels *variants[8];
  const size_t variant_count = thaw_kernels_variants(variants, 8);
  for (size_t v = 0; v < variant_count; v++)
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
      check_transpose_split(variants[v], &cases[c].p, cases[c].what);
}

/* ---- Sessions on the real pool ---- */

enum { IMAGE = 128, IMAGE_CHANNELS = 8, WIDE = 16, POINTWISE = 32, POOLED = IMAGE / 2,
       PROJECTED = 80 };

/* image [1,8,64,64] -> bilinear 2x resize -> x [1,8,128,128] -> 3x3 conv + GELU -> depthwise
 * 3x3 + ReLU -> sigmoid -> + the conv's output -> a scale and shift per channel -> concatenated
 * with an int8 3x3 convolution of the sigmoid's output over channels -> 1x1 conv -> times its
 * own global average per channel -> 2x2 max pool -> softmax over rows -> LayerNorm over rows ->
 * per channel the [64,64] plane times itself -> times a [64,80] weight -> times an int8
 * [80,80] weight -> transposed to [1,64,32,80]. Every op is large enough to be split over
 * threads. */

/* A QS8_GEMM_PANEL16 weight of random int8 values: [k, n] for a MatMul (shape_rank 2), or the
 * [n, k / 9, 3, 3] filter of a 3x3 convolution (shape_rank 4). */
static uint32_t qs8_constant(thaw_writer *w, const char *name, size_t k, size_t n,
                             uint32_t shape_rank, uint64_t seed) {
  void *packed = random_qs8_weights(k, n, seed);
  const int64_t matrix[2] = {(int64_t)k, (int64_t)n};
  const int64_t filter[4] = {(int64_t)n, (int64_t)(k / 9), 3, 3};
  const uint32_t id = thaw_writer_add_tensor(
      w, name, THAW_TENSOR_CONSTANT, THAW_DTYPE_I8, shape_rank, shape_rank == 2 ? matrix : filter,
      THAW_LAYOUT_QS8_GEMM_PANEL16, packed, thaw_qs8_gemm_packed_b_size(k, n));
  free(packed);
  return id;
}
static test_model_bytes build_split_ops_model(void) {
  thaw_writer *w = thaw_writer_create();
  float *weights = random_floats(WIDE * IMAGE_CHANNELS * 9 + WIDE * 9 + POINTWISE * 2 * WIDE +
                                     4 * WIDE + 2 * POOLED + POOLED * PROJECTED,
                                 11);
  const float *next = weights;
#define TAKE(count) (next += (count), next - (count))
  const uint32_t w1 = test_constant(w, "w1", THAW_DTYPE_F32, DIMS(WIDE, IMAGE_CHANNELS, 3, 3),
                                    TAKE(WIDE * IMAGE_CHANNELS * 9));
  const uint32_t b1 = test_constant(w, "b1", THAW_DTYPE_F32, DIMS(WIDE), TAKE(WIDE));
  const uint32_t w2 = test_constant(w, "w2", THAW_DTYPE_F32, DIMS(WIDE, 1, 3, 3), TAKE(WIDE * 9));
  const uint32_t b2 = test_constant(w, "b2", THAW_DTYPE_F32, DIMS(WIDE), TAKE(WIDE));
  const uint32_t channel_scale =
      test_constant(w, "channel_scale", THAW_DTYPE_F32, DIMS(WIDE), TAKE(WIDE));
  const uint32_t channel_shift =
      test_constant(w, "channel_shift", THAW_DTYPE_F32, DIMS(WIDE), TAKE(WIDE));
  const uint32_t w3 = test_constant(w, "w3", THAW_DTYPE_F32, DIMS(POINTWISE, 2 * WIDE, 1, 1),
                                    TAKE(POINTWISE * 2 * WIDE));
  const uint32_t scale = test_constant(w, "scale", THAW_DTYPE_F32, DIMS(POOLED), TAKE(POOLED));
  const uint32_t shift = test_constant(w, "shift", THAW_DTYPE_F32, DIMS(POOLED), TAKE(POOLED));
  const uint32_t w4 = test_packed_constant(w, "w4", POOLED, PROJECTED, TAKE(POOLED * PROJECTED));
#undef TAKE
  free(weights);
  const uint32_t quantized_filter = qs8_constant(w, "quantized_filter", WIDE * 9, WIDE, 4, 21);
  const uint32_t quantized_weight =
      qs8_constant(w, "quantized_weight", PROJECTED, PROJECTED, 2, 22);

  const uint32_t image = test_activation(w, "image", THAW_DTYPE_F32,
                                        DIMS(1, IMAGE_CHANNELS, IMAGE / 2, IMAGE / 2));
  thaw_writer_add_input(w, image);
  const uint32_t x = test_activation(w, "x", THAW_DTYPE_F32, DIMS(1, IMAGE_CHANNELS, IMAGE, IMAGE));
  const uint32_t conv = test_activation(w, "conv", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t depthwise =
      test_activation(w, "depthwise", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t sigmoid =
      test_activation(w, "sigmoid", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t sum = test_activation(w, "sum", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t affine =
      test_activation(w, "affine", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t quantized_conv =
      test_activation(w, "quantized_conv", THAW_DTYPE_F32, DIMS(1, WIDE, IMAGE, IMAGE));
  const uint32_t joined =
      test_activation(w, "joined", THAW_DTYPE_F32, DIMS(1, 2 * WIDE, IMAGE, IMAGE));
  const uint32_t pointwise =
      test_activation(w, "pointwise", THAW_DTYPE_F32, DIMS(1, POINTWISE, IMAGE, IMAGE));
  const uint32_t averages =
      test_activation(w, "averages", THAW_DTYPE_F32, DIMS(1, POINTWISE, 1, 1));
  const uint32_t excited =
      test_activation(w, "excited", THAW_DTYPE_F32, DIMS(1, POINTWISE, IMAGE, IMAGE));
  const uint32_t pooled =
      test_activation(w, "pooled", THAW_DTYPE_F32, DIMS(1, POINTWISE, POOLED, POOLED));
  const uint32_t softmax =
      test_activation(w, "softmax", THAW_DTYPE_F32, DIMS(1, POINTWISE, POOLED, POOLED));
  const uint32_t normalised =
      test_activation(w, "normalised", THAW_DTYPE_F32, DIMS(1, POINTWISE, POOLED, POOLED));
  const uint32_t squared =
      test_activation(w, "squared", THAW_DTYPE_F32, DIMS(1, POINTWISE, POOLED, POOLED));
  const uint32_t projected =
      test_activation(w, "projected", THAW_DTYPE_F32, DIMS(1, POINTWISE, POOLED, PROJECTED));
  const uint32_t quantized_projection = test_activation(w, "quantized_projection", THAW_DTYPE_F32,
                                                       DIMS(1, POINTWISE, POOLED, PROJECTED));
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(1, POOLED, POINTWISE, PROJECTED));

  const thaw_conv_attrs conv3x3 = {.stride_h = 1, .stride_w = 1, .dilation_h = 1,
                                   .dilation_w = 1, .pad_top = 1, .pad_left = 1,
                                   .pad_bottom = 1, .pad_right = 1, .groups = 1,
                                   .activation = {THAW_UNARY_GELU, 0, 0}};
  thaw_conv_attrs depthwise3x3 = conv3x3;
  depthwise3x3.groups = WIDE;
  depthwise3x3.activation = (thaw_unary_attrs){THAW_UNARY_RELU, 0, 0};
  const thaw_conv_attrs conv1x1 = {.stride_h = 1, .stride_w = 1, .dilation_h = 1,
                                   .dilation_w = 1, .groups = 1};
  const thaw_pool_attrs pool = {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
                                .dilation_h = 1, .dilation_w = 1};
  const thaw_unary_attrs sigmoid_attrs = {THAW_UNARY_SIGMOID, 0, 0};
  const thaw_binary_attrs add = {THAW_BINARY_ADD}, multiply = {THAW_BINARY_MUL};
  const thaw_axis_attrs channel_axis = {1};
  const thaw_axis_attrs last_axis = {3};
  const thaw_layer_norm_attrs layer_norm = {3, 1e-5f};
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  const thaw_resize_attrs bilinear = {.mode = THAW_RESIZE_LINEAR,
                                      .coordinates = THAW_RESIZE_HALF_PIXEL,
                                      .scales = {1.0f, 1.0f, 2.0f, 2.0f}};
  test_node(w, THAW_OP_RESIZE, "x", &bilinear, 1, (uint32_t[]){image}, x);
  test_node(w, THAW_OP_CONV, "conv", &conv3x3, 3, (uint32_t[]){x, w1, b1}, conv);
  test_node(w, THAW_OP_CONV, "depthwise", &depthwise3x3, 3, (uint32_t[]){conv, w2, b2},
            depthwise);
  test_node(w, THAW_OP_UNARY, "sigmoid", &sigmoid_attrs, 1, (uint32_t[]){depthwise}, sigmoid);
  test_node(w, THAW_OP_BINARY, "sum", &add, 2, (uint32_t[]){sigmoid, conv}, sum);
  test_node(w, THAW_OP_CHANNEL_AFFINE, "affine", NULL, 3,
            (uint32_t[]){sum, channel_scale, channel_shift}, affine);
  const thaw_qs8_conv_attrs quantized3x3 = {.conv = {.stride_h = 1, .stride_w = 1,
                                                     .dilation_h = 1, .dilation_w = 1,
                                                     .pad_top = 1, .pad_left = 1,
                                                     .pad_bottom = 1, .pad_right = 1,
                                                     .groups = 1,
                                                     .activation = {THAW_UNARY_SILU, 0, 0}},
                                            .input = {THAW_QS8_INPUT_DYNAMIC, 0, 0}};
  test_node(w, THAW_OP_QS8_CONV, "quantized_conv", &quantized3x3, 2,
            (uint32_t[]){sigmoid, quantized_filter}, quantized_conv);
  test_node(w, THAW_OP_CONCAT, "joined", &channel_axis, 2, (uint32_t[]){affine, quantized_conv},
            joined);
  test_node(w, THAW_OP_CONV, "pointwise", &conv1x1, 2, (uint32_t[]){joined, w3}, pointwise);
  test_node(w, THAW_OP_GLOBAL_AVERAGE_POOL, "averages", NULL, 1, (uint32_t[]){pointwise},
            averages);
  test_node(w, THAW_OP_BINARY, "excited", &multiply, 2, (uint32_t[]){pointwise, averages},
            excited);
  test_node(w, THAW_OP_MAX_POOL, "pooled", &pool, 1, (uint32_t[]){excited}, pooled);
  test_node(w, THAW_OP_SOFTMAX, "softmax", &last_axis, 1, (uint32_t[]){pooled}, softmax);
  test_node(w, THAW_OP_LAYER_NORM, "normalised", &layer_norm, 3,
            (uint32_t[]){softmax, scale, shift}, normalised);
  test_node(w, THAW_OP_MATMUL, "squared", &plain, 2, (uint32_t[]){normalised, normalised},
            squared);
  test_node(w, THAW_OP_MATMUL, "projected", &plain, 2, (uint32_t[]){squared, w4}, projected);
  const thaw_qs8_matmul_attrs quantized_plain = {.input = {THAW_QS8_INPUT_DYNAMIC, 0, 0},
                                                 .activation = {THAW_UNARY_RELU, 0, 0}};
  test_node(w, THAW_OP_QS8_MATMUL, "quantized_projection", &quantized_plain, 2,
            (uint32_t[]){projected, quantized_weight}, quantized_projection);
  const thaw_transpose_attrs swap_middle = {{0, 2, 1, 3}};
  test_node(w, THAW_OP_TRANSPOSE, "y", &swap_middle, 1, (uint32_t[]){quantized_projection}, y);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

typedef struct model_fixture {
  test_model_bytes bytes;
  thaw_model *model;
  float *input;
  size_t input_count;
} model_fixture;

static int model_setup(void **state) {
  model_fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->bytes = build_split_ops_model();
  f->model = test_open(&f->bytes);
  f->input_count = IMAGE_CHANNELS * IMAGE / 2 * IMAGE / 2;
  f->input = random_floats(f->input_count, 12);
  *state = f;
  return 0;
}

static int model_teardown(void **state) {
  model_fixture *f = *state;
  thaw_model_close(f->model);
  free(f->bytes.bytes);
  free(f->input);
  free(f);
  return 0;
}

static thaw_session *create_session_with(const thaw_model *model,
                                         const thaw_session_options *options) {
  thaw_session *session;
  thaw_error error = {0};
  if (thaw_session_create(model, options, &session, &error) != THAW_OK)
    fail_msg("session with %u threads%s: %s", options->threads,
             options->pool != NULL ? " on a pool" : "", error.message);
  return session;
}

static thaw_session *create_session(const thaw_model *model, uint32_t threads) {
  return create_session_with(model, &(thaw_session_options){.threads = threads});
}

static thaw_pool *create_pool(uint32_t threads) {
  thaw_pool *pool;
  thaw_error error = {0};
  if (thaw_pool_create(threads, &pool, &error) != THAW_OK)
    fail_msg("pool of %u threads: %s", threads, error.message);
  return pool;
}

/* The process's thread count, from /proc/self/status. */
static unsigned process_threads(void) {
  FILE *file = fopen("/proc/self/status", "r");
  assert_non_null(file);
  char line[256];
  unsigned threads = 0;
  while (fgets(line, sizeof line, file) != NULL && sscanf(line, "Threads: %u", &threads) != 1) {
  }
  fclose(file);
  return threads;
}

/* The process reaches `expected` threads. A joined thread can stay listed for a moment after
 * pthread_join returns (the kernel reaps it after clearing its tid), which emulators make long
 * enough to see, so wait for it, up to a few seconds. */
static void assert_threads_become(unsigned expected) {
  unsigned threads = process_threads();
  for (int wait = 0; wait < 3000 && threads != expected; wait++) {
    nanosleep(&(const struct timespec){0, 1000000}, NULL);
    threads = process_threads();
  }
  assert_int_equal(threads, expected);
}

static size_t output_bytes(const thaw_model *model) {
  thaw_tensor output;
  assert_int_equal(thaw_model_output(model, 0, &output), THAW_OK);
  return output.size_bytes;
}

static void run_into(model_fixture *f, thaw_session *session, void *output) {
  test_set_input(session, 0, f->input);
  thaw_error error = {0};
  if (thaw_session_run(session, NULL, &error) != THAW_OK) fail_msg("run: %s", error.message);
  memcpy(output, test_output(session, 0), output_bytes(f->model));
}

/* The model's output on one thread, in a buffer of its own. */
static float *one_thread_output(model_fixture *f) {
  float *output = malloc(output_bytes(f->model));
  assert_non_null(output);
  thaw_session *single = create_session(f->model, 1);
  run_into(f, single, output);
  thaw_session_destroy(single);
  return output;
}

static void test_results_are_identical_for_any_thread_count(void **state) {
  model_fixture *f = *state;
  const size_t size = output_bytes(f->model);
  float *reference = one_thread_output(f), *actual = malloc(size);
  assert_non_null(actual);
  /* A result worth comparing: finite and not constant. */
  size_t distinct = 0;
  for (size_t i = 0; i < size / sizeof(float); i++) {
    assert_true(isfinite(reference[i]));
    distinct += reference[i] != reference[0];
  }
  assert_true(distinct > size / sizeof(float) / 2);

  for (uint32_t threads = 2; threads <= 4; threads++) {
    thaw_session *session = create_session(f->model, threads);
    for (int run = 0; run < 3; run++) {
      memset(actual, 0, size);
      run_into(f, session, actual);
      if (memcmp(actual, reference, size) != 0)
        fail_msg("%u threads, run %d: the output differs from one thread's", threads, run);
    }
    thaw_session_destroy(session);
  }
  free(reference);
  free(actual);
}

/* Workers exist only from the first run to the session's destruction. */
static void test_workers_start_at_the_first_run(void **state) {
  model_fixture *f = *state;
  const unsigned before = process_threads();
  thaw_session *session = create_session(f->model, 4);
  assert_int_equal(process_threads(), before);
  float *output = malloc(output_bytes(f->model));
  assert_non_null(output);
  run_into(f, session, output);
  assert_threads_become(before + 3);
  run_into(f, session, output);
  assert_threads_become(before + 3);
  thaw_session_destroy(session);
  assert_threads_become(before);
  /* A session destroyed before any run started no thread to join. */
  thaw_session_destroy(create_session(f->model, 4));
  free(output);
}

/* A model of little arithmetic runs on the caller's thread at any thread count: no worker
 * starts, and the result is one thread's. Two products of [96,96] by [96,96] (3.5 MFLOP, each
 * big enough to be split on its own) and the same pair at [400,400] (256 MFLOP), which does
 * start them. */
static test_model_bytes build_product_pair(size_t side, const float *weights) {
  thaw_writer *w = thaw_writer_create();
  const uint32_t weight = test_packed_constant(w, "weight", side, side, weights);
  const uint32_t x = test_activation(w, "x", THAW_DTYPE_F32, DIMS(side, side));
  const uint32_t h = test_activation(w, "h", THAW_DTYPE_F32, DIMS(side, side));
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(side, side));
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  thaw_writer_add_input(w, x);
  test_node(w, THAW_OP_MATMUL, "h", &plain, 2, (uint32_t[]){x, weight}, h);
  test_node(w, THAW_OP_MATMUL, "y", &plain, 2, (uint32_t[]){h, weight}, y);
  thaw_writer_add_output(w, y);
  return test_finish(w);
}

static void test_small_models_stay_on_one_thread(void **state) {
  (void)state;
  static const size_t sides[] = {96, 400};
  for (size_t s = 0; s < 2; s++) {
    const size_t side = sides[s], count = side * side;
    float *weights = random_floats(count, 31), *x = random_floats(count, 32);
    float *one = malloc(count * sizeof(float));
    assert_non_null(one);
    test_model_bytes bytes = build_product_pair(side, weights);
    thaw_model *model = test_open(&bytes);
    thaw_session *single = create_session(model, 1);
    test_set_input(single, 0, x);
    thaw_error error = {0};
    assert_int_equal(thaw_session_run(single, NULL, &error), THAW_OK);
    memcpy(one, test_output(single, 0), count * sizeof(float));
    thaw_session_destroy(single);

    const unsigned before = process_threads();
    thaw_session *session = create_session(model, 4);
    test_set_input(session, 0, x);
    assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
    assert_threads_become(side == 96 ? before : before + 3);
    assert_memory_equal(test_output(session, 0), one, count * sizeof(float));
    thaw_session_destroy(session);
    assert_threads_become(before);
    thaw_model_close(model);
    free(bytes.bytes);
    free(one);
    free(x);
    free(weights);
  }
}

/* pthread_create as the library sees it: the real one until `creations_left` reaches 0, then
 * EAGAIN (a process out of threads). Negative: never fails. */
static int creations_left = -1;

int pthread_create(pthread_t *thread, const pthread_attr_t *attributes,
                   void *(*start)(void *), void *argument) {
  typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  create_fn real;
  void *symbol = dlsym(RTLD_NEXT, "pthread_create");
  memcpy(&real, &symbol, sizeof real);
  if (creations_left == 0) return EAGAIN;
  if (creations_left > 0) creations_left--;
  return real(thread, attributes, start, argument);
}

/* A failed assertion leaves the test half-way: pthread_create must work again for the tests
 * after it. */
static int failed_start_teardown(void **state) {
  creations_left = -1;
  return model_teardown(state);
}

static void test_a_failed_start_leaves_the_session_usable(void **state) {
  model_fixture *f = *state;
  const size_t size = output_bytes(f->model);
  float *reference = one_thread_output(f), *actual = malloc(size);
  assert_non_null(actual);

  const unsigned before = process_threads();
  thaw_session *session = create_session(f->model, 4);
  test_set_input(session, 0, f->input);
  creations_left = 1; /* the second worker fails: the first must be joined again */
  thaw_error error = {0};
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_STATUS_OUT_OF_MEMORY);
  assert_non_null(strstr(error.message, "cannot start worker thread: "));
  assert_non_null(strstr(error.message, "(thread 3 of 4)"));
  assert_threads_become(before);
  thaw_tensor output;
  assert_int_equal(thaw_session_output(session, 0, &output), THAW_STATUS_NO_RESULT);

  creations_left = -1;
  run_into(f, session, actual);
  assert_memory_equal(actual, reference, size);
  assert_threads_become(before + 3);
  thaw_session_destroy(session);
  free(reference);
  free(actual);
}

/* Two sessions on one pool of 3 threads: the pool's 2 workers start at the first run of either
 * (not at the pool's or the sessions' creation), serve both (2 workers in all, where sessions
 * of their own would start 4), outlive the sessions and stop with the pool; every result is
 * one thread's. */
static void test_sessions_share_a_pool(void **state) {
  model_fixture *f = *state;
  const size_t size = output_bytes(f->model);
  float *reference = one_thread_output(f), *actual = malloc(size);
  assert_non_null(actual);

  const unsigned before = process_threads();
  thaw_pool *pool = create_pool(3);
  /* threads 0 takes the pool's count, as does giving it. */
  thaw_session *sessions[2] = {
      create_session_with(f->model, &(thaw_session_options){.pool = pool}),
      create_session_with(f->model, &(thaw_session_options){.threads = 3, .pool = pool}),
  };
  assert_int_equal(process_threads(), before);
  for (int round = 0; round < 2; round++) {
    for (int s = 0; s < 2; s++) {
      memset(actual, 0, size);
      run_into(f, sessions[s], actual);
      if (memcmp(actual, reference, size) != 0)
        fail_msg("round %d, session %d on the pool: the output differs from one thread's", round,
                 s);
      assert_threads_become(before + 2);
    }
  }
  for (int s = 0; s < 2; s++) thaw_session_destroy(sessions[s]);
  assert_threads_become(before + 2);
  thaw_pool_destroy(pool);
  assert_threads_become(before);
  /* A pool no run used started nothing to join. */
  thaw_pool_destroy(create_pool(4));
  thaw_pool_destroy(NULL);
  free(reference);
  free(actual);
}

/* Two threads run sessions of their own on one pool at once, many times: the pool serves one
 * run at a time, the other goes on on its caller's thread, and every result is one thread's
 * (test-all runs this under ThreadSanitizer). cmocka's checks may not run off the main thread:
 * the runners count what differs. */
enum { CONTENDED_RUNS = 30 };

typedef struct pool_runner {
  thaw_session *session;
  const model_fixture *f;
  const float *reference;
  size_t size;
  int failures;
} pool_runner;

static void *run_on_pool(void *argument) {
  pool_runner *runner = argument;
  thaw_tensor tensor;
  thaw_error error = {0};
  for (int run = 0; run < CONTENDED_RUNS; run++) {
    if (thaw_session_input(runner->session, 0, &tensor) != THAW_OK) {
      runner->failures++;
      continue;
    }
    memcpy(tensor.data, runner->f->input, tensor.size_bytes);
    if (thaw_session_run(runner->session, NULL, &error) != THAW_OK ||
        thaw_session_output(runner->session, 0, &tensor) != THAW_OK ||
        memcmp(tensor.data, runner->reference, runner->size) != 0)
      runner->failures++;
  }
  return NULL;
}

static void test_a_busy_pool_leaves_a_run_on_its_thread(void **state) {
  model_fixture *f = *state;
  const size_t size = output_bytes(f->model);
  float *reference = one_thread_output(f);

  thaw_pool *pool = create_pool(2);
  pool_runner runners[2];
  pthread_t threads[2];
  for (int t = 0; t < 2; t++) {
    runners[t] = (pool_runner){
        .session = create_session_with(f->model, &(thaw_session_options){.pool = pool}),
        .f = f, .reference = reference, .size = size};
    assert_int_equal(pthread_create(&threads[t], NULL, run_on_pool, &runners[t]), 0);
  }
  for (int t = 0; t < 2; t++) {
    assert_int_equal(pthread_join(threads[t], NULL), 0);
    if (runners[t].failures != 0)
      fail_msg("thread %d: %d of %d runs failed or differed from one thread's", t,
               runners[t].failures, CONTENDED_RUNS);
    thaw_session_destroy(runners[t].session);
  }
  thaw_pool_destroy(pool);
  free(reference);
}

static void test_thread_limits(void **state) {
  model_fixture *f = *state;
  thaw_session *session = NULL;
  thaw_error error = {0};
  const thaw_session_options too_many = {.threads = 257};
  assert_int_equal(thaw_session_create(f->model, &too_many, &session, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_null(session);
  assert_non_null(strstr(error.message, "257 threads requested, at most 256"));

  /* thaw_model_session_bytes is the one-thread figure; every other thread adds a scratch. */
  const thaw_session_options limited = {.max_bytes = thaw_model_session_bytes(f->model),
                                        .threads = 2};
  assert_int_equal(thaw_session_create(f->model, &limited, &session, &error), THAW_STATUS_LIMIT);
  assert_non_null(strstr(error.message, "kernel scratch for each of 2 threads"));
  const thaw_session_options zero = {.threads = 0};
  assert_int_equal(thaw_session_create(f->model, &zero, &session, &error), THAW_OK);
  thaw_session_destroy(session);

  thaw_pool *pool = NULL;
  assert_int_equal(thaw_pool_create(1, &pool, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_null(pool);
  assert_non_null(strstr(error.message, "1 threads requested, a pool has 2 to 256"));
  assert_int_equal(thaw_pool_create(257, &pool, &error), THAW_STATUS_INVALID_ARGUMENT);
  assert_int_equal(thaw_pool_create(2, NULL, &error), THAW_STATUS_INVALID_ARGUMENT);
  pool = create_pool(3);
  const thaw_session_options mismatched = {.threads = 2, .pool = pool};
  session = NULL;
  assert_int_equal(thaw_session_create(f->model, &mismatched, &session, &error),
                   THAW_STATUS_INVALID_ARGUMENT);
  assert_null(session);
  assert_non_null(strstr(error.message, "2 threads requested on a pool of 3"));
  /* A session on a pool takes a scratch for each of its threads, as one of its own would. */
  const thaw_session_options pooled_limit = {.max_bytes = thaw_model_session_bytes(f->model),
                                             .pool = pool};
  assert_int_equal(thaw_session_create(f->model, &pooled_limit, &session, &error),
                   THAW_STATUS_LIMIT);
  assert_non_null(strstr(error.message, "kernel scratch for each of 3 threads"));
  thaw_pool_destroy(pool);
}

/* Data movement and per-channel ops whose split boundaries fall inside the rows they copy:
 * three inputs [4,3,h,257] (h = 129, 70, 1) concatenated over h, then a scale and shift per
 * channel (ranges of planes that run over images), and separately a [600,257] tensor scaled
 * per column (the [N, C] form). Compared with the copy and the products computed here, on 1 to
 * 4 threads. A [512,512] product on the side (its result not looked at) makes the model worth
 * threads: a run of less arithmetic stays on the caller's thread. */
enum { PARTS = 3, PART_IMAGES = 4, PART_CHANNELS = 3, PART_WIDTH = 257, TABLE_ROWS = 600,
       BALLAST = 512 };
static const size_t part_heights[PARTS] = {129, 70, 1};

static void test_copies_split_inside_rows(void **state) {
  (void)state;
  const size_t joined_height = part_heights[0] + part_heights[1] + part_heights[2];
  const size_t outer = PART_IMAGES * PART_CHANNELS, plane = joined_height * PART_WIDTH;
  thaw_writer *w = thaw_writer_create();
  float *parts[PARTS];
  uint32_t part_ids[PARTS];
  for (size_t i = 0; i < PARTS; i++) {
    parts[i] = random_floats(outer * part_heights[i] * PART_WIDTH, 20 + i);
    char name[16];
    snprintf(name, sizeof name, "part%zu", i);
    part_ids[i] = test_activation(w, name, THAW_DTYPE_F32,
                                  DIMS(PART_IMAGES, PART_CHANNELS, part_heights[i], PART_WIDTH));
    thaw_writer_add_input(w, part_ids[i]);
  }
  float *table = random_floats(TABLE_ROWS * PART_WIDTH, 23);
  const uint32_t table_id =
      test_activation(w, "table", THAW_DTYPE_F32, DIMS(TABLE_ROWS, PART_WIDTH));
  thaw_writer_add_input(w, table_id);
  float *ballast = random_floats(BALLAST * BALLAST, 25);
  const uint32_t ballast_in =
      test_activation(w, "ballast_in", THAW_DTYPE_F32, DIMS(BALLAST, BALLAST));
  thaw_writer_add_input(w, ballast_in);
  const uint32_t ballast_weight =
      test_packed_constant(w, "ballast_weight", BALLAST, BALLAST, ballast);
  const uint32_t ballast_out =
      test_activation(w, "ballast_out", THAW_DTYPE_F32, DIMS(BALLAST, BALLAST));
  float *factors = random_floats(2 * (PART_CHANNELS + PART_WIDTH), 24);
  const float *channel_scale = factors, *channel_shift = factors + PART_CHANNELS;
  const float *column_scale = factors + 2 * PART_CHANNELS;
  const float *column_shift = column_scale + PART_WIDTH;
  const uint32_t channel_scale_id =
      test_constant(w, "channel_scale", THAW_DTYPE_F32, DIMS(PART_CHANNELS), channel_scale);
  const uint32_t channel_shift_id =
      test_constant(w, "channel_shift", THAW_DTYPE_F32, DIMS(PART_CHANNELS), channel_shift);
  const uint32_t column_scale_id =
      test_constant(w, "column_scale", THAW_DTYPE_F32, DIMS(PART_WIDTH), column_scale);
  const uint32_t column_shift_id =
      test_constant(w, "column_shift", THAW_DTYPE_F32, DIMS(PART_WIDTH), column_shift);
  const uint32_t joined = test_activation(
      w, "joined", THAW_DTYPE_F32, DIMS(PART_IMAGES, PART_CHANNELS, joined_height, PART_WIDTH));
  const uint32_t scaled = test_activation(
      w, "scaled", THAW_DTYPE_F32, DIMS(PART_IMAGES, PART_CHANNELS, joined_height, PART_WIDTH));
  const uint32_t scaled_table =
      test_activation(w, "scaled_table", THAW_DTYPE_F32, DIMS(TABLE_ROWS, PART_WIDTH));
  test_node(w, THAW_OP_CONCAT, "joined", &(thaw_axis_attrs){2}, PARTS, part_ids, joined);
  test_node(w, THAW_OP_CHANNEL_AFFINE, "scaled", NULL, 3,
            (uint32_t[]){joined, channel_scale_id, channel_shift_id}, scaled);
  test_node(w, THAW_OP_CHANNEL_AFFINE, "scaled_table", NULL, 3,
            (uint32_t[]){table_id, column_scale_id, column_shift_id}, scaled_table);
  test_node(w, THAW_OP_MATMUL, "ballast_out", &(thaw_matmul_attrs){0}, 2,
            (uint32_t[]){ballast_in, ballast_weight}, ballast_out);
  thaw_writer_add_output(w, joined);
  thaw_writer_add_output(w, scaled);
  thaw_writer_add_output(w, scaled_table);
  thaw_writer_add_output(w, ballast_out);
  test_model_bytes bytes = test_finish(w);
  thaw_model *model = test_open(&bytes);

  const unsigned before = process_threads();
  for (uint32_t threads = 1; threads <= 4; threads++) {
    thaw_session *session = create_session(model, threads);
    for (size_t i = 0; i < PARTS; i++) test_set_input(session, i, parts[i]);
    test_set_input(session, PARTS, table);
    test_set_input(session, PARTS + 1, ballast);
    thaw_error error = {0};
    if (thaw_session_run(session, NULL, &error) != THAW_OK) fail_msg("run: %s", error.message);
    const float *joined_out = test_output(session, 0), *scaled_out = test_output(session, 1);
    for (size_t o = 0; o < outer; o++) {
      size_t row = 0;
      for (size_t i = 0; i < PARTS; i++) {
        const size_t values = part_heights[i] * PART_WIDTH;
        if (memcmp(joined_out + o * plane + row, parts[i] + o * values, values * sizeof(float)))
          fail_msg("%u threads: concat plane %zu, part %zu differs", threads, o, i);
        row += values;
      }
      const size_t c = o % PART_CHANNELS;
      for (size_t v = 0; v < plane; v++) {
        const double expected =
            (double)joined_out[o * plane + v] * channel_scale[c] + channel_shift[c];
        if (fabs(scaled_out[o * plane + v] - expected) > 1e-5)
          fail_msg("%u threads: channel affine plane %zu value %zu: %g, expected %g", threads,
                   o, v, (double)scaled_out[o * plane + v], expected);
      }
    }
    /* The copies really ran on `threads` threads. */
    assert_threads_become(before + threads - 1);
    const float *table_out = test_output(session, 2);
    for (size_t r = 0; r < TABLE_ROWS; r++)
      for (size_t c = 0; c < PART_WIDTH; c++) {
        const double expected =
            (double)table[r * PART_WIDTH + c] * column_scale[c] + column_shift[c];
        if (fabs(table_out[r * PART_WIDTH + c] - expected) > 1e-5)
          fail_msg("%u threads: [N, C] affine row %zu column %zu: %g, expected %g", threads, r,
                   c, (double)table_out[r * PART_WIDTH + c], expected);
      }
    thaw_session_destroy(session);
  }
  thaw_model_close(model);
  free(bytes.bytes);
  free(factors);
  free(table);
  free(ballast);
  for (size_t i = 0; i < PARTS; i++) free(parts[i]);
}

/* One product long enough to be cut by a deadline while it runs: the remaining tasks are
 * skipped (a run that finished its only node would have succeeded) and the run reports the node
 * it stopped inside. */
enum { LARGE = 1024 };

static void test_a_deadline_stops_inside_a_node(void **state) {
  (void)state;
  float *weights = random_floats(LARGE * LARGE, 13);
  thaw_writer *w = thaw_writer_create();
  const uint32_t weight = test_packed_constant(w, "weight", LARGE, LARGE, weights);
  const uint32_t x = test_activation(w, "x", THAW_DTYPE_F32, DIMS(LARGE, LARGE));
  const uint32_t y = test_activation(w, "y", THAW_DTYPE_F32, DIMS(LARGE, LARGE));
  const thaw_matmul_attrs plain = {{THAW_UNARY_IDENTITY, 0, 0}};
  thaw_writer_add_input(w, x);
  test_node(w, THAW_OP_MATMUL, "product", &plain, 2, (uint32_t[]){x, weight}, y);
  thaw_writer_add_output(w, y);
  test_model_bytes bytes = test_finish(w);
  thaw_model *model = test_open(&bytes);
  thaw_session *session = create_session(model, 2);
  test_set_input(session, 0, weights);

  /* The fastest of a few runs: the first also starts the workers, and other load on the
   * machine makes single runs slow. */
  thaw_error error = {0};
  uint64_t run_ns = UINT64_MAX;
  for (int run = 0; run < 3; run++) {
    const uint64_t start = thaw_monotonic_ns();
    assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);
    const uint64_t elapsed = thaw_monotonic_ns() - start;
    if (elapsed < run_ns) run_ns = elapsed;
  }
  const thaw_run_options options = {.deadline_ns = thaw_monotonic_ns() + run_ns / 8};
  assert_int_equal(thaw_session_run(session, &options, &error), THAW_STATUS_DEADLINE);
  assert_non_null(strstr(error.message, "the run stopped inside node 0 of 1 (\"product\")"));
  assert_non_null(strstr(error.message, "its deadline passed"));
  thaw_tensor output;
  assert_int_equal(thaw_session_output(session, 0, &output), THAW_STATUS_NO_RESULT);
  assert_int_equal(thaw_session_run(session, NULL, &error), THAW_OK);

  thaw_session_destroy(session);
  thaw_model_close(model);
  free(bytes.bytes);
  free(weights);
}

/* ---- The pool on its own ---- */

enum { POOL_THREADS = 3, POOL_REGIONS = 3000, MOST_POOL_TASKS = 37 };

typedef struct counted_region {
  size_t runs[MOST_POOL_TASKS]; /* times each task ran, written by the task's thread only */
  size_t thread_of[MOST_POOL_TASKS]; /* the thread that ran each task, likewise */
  size_t threads_seen[POOL_THREADS];
  size_t slow_task; /* takes 1 ms, longer than the caller spins waiting for it */
  bool all_slow;    /* every task takes some 20 us: the threads take from each other's shares */
} counted_region;

static void count_task(void *context, size_t thread_index, size_t task_index) {
  counted_region *region = context;
  if (task_index == region->slow_task) nanosleep(&(const struct timespec){0, 1000000}, NULL);
  if (region->all_slow) nanosleep(&(const struct timespec){0, 20000}, NULL);
  region->runs[task_index]++;
  region->thread_of[task_index] = thread_index;
  __atomic_fetch_add(&region->threads_seen[thread_index], 1, __ATOMIC_RELAXED);
}

/* A region of more tasks than the pool deals out one by one: they go out in groups. */
enum { HUGE_REGION_TASKS = 3 * UINT16_MAX + 7 };

static void mark_task(void *context, size_t thread_index, size_t task_index) {
  (void)thread_index;
  ((unsigned char *)context)[task_index]++;
}

/* Thread t's share of a region of `tasks` tasks (threadpool.h) starts here. */
static size_t share_start(size_t t, size_t tasks) {
  return (t * tasks + POOL_THREADS - 1) / POOL_THREADS;
}

/* Each thread runs its own share from the front, the others take from its back: the tasks its
 * owner ran are the first ones of the share. Returns how many workers ran the first task of
 * their share. */
static size_t check_shares(const counted_region *region, size_t r, size_t tasks) {
  size_t workers_on_own_front = 0;
  for (size_t t = 0; t < POOL_THREADS; t++) {
    const size_t end = share_start(t + 1, tasks);
    size_t task = share_start(t, tasks);
    if (t > 0 && task < end && region->thread_of[task] == t) workers_on_own_front++;
    while (task < end && region->thread_of[task] == t) task++;
    for (; task < end; task++)
      if (region->thread_of[task] == t)
        fail_msg("region %zu of %zu tasks: thread %zu ran task %zu of its share after another "
                 "thread took an earlier one",
                 r, tasks, t, task);
  }
  return workers_on_own_front;
}

static void test_pool_runs_every_task_once(void **state) {
  (void)state;
  void *memory = thaw_platform_aligned_alloc(thaw_threadpool_bytes(POOL_THREADS));
  assert_non_null(memory);
  thaw_threadpool *pool = thaw_threadpool_place(memory, POOL_THREADS);
  assert_int_equal(thaw_threadpool_start(pool, NULL), THAW_OK);
  size_t worker_tasks = 0, workers_on_own_front = 0;
  for (size_t r = 0; r < POOL_REGIONS; r++) {
    /* Runs come and go, and every 100th region follows a pause longer than the workers spin:
     * regions find the workers spinning, going to sleep and asleep. */
    if (r % 500 == 0) thaw_threadpool_enter_run(pool);
    if (r % 500 == 499) thaw_threadpool_leave_run(pool);
    if (r % 100 == 50) nanosleep(&(const struct timespec){0, 2000000}, NULL);
    const size_t tasks = 2 + r % (MOST_POOL_TASKS - 1);
    /* A slow first task keeps its thread (mostly the caller) busy while the others take the
     * rest; a slow last task (mostly a worker's) keeps the caller waiting; with every task slow,
     * the threads work on their shares side by side and take from each other's. */
    counted_region region = {.slow_task = r % 10 == 5 ? 0 : r % 10 == 7 ? tasks - 1 : SIZE_MAX,
                             .all_slow = r % 10 == 3};
    thaw_threadpool_run(pool, tasks, count_task, &region);
    for (size_t t = 0; t < MOST_POOL_TASKS; t++)
      if (region.runs[t] != (t < tasks))
        fail_msg("region %zu of %zu tasks: task %zu ran %zu times", r, tasks, t, region.runs[t]);
    for (size_t t = 1; t < POOL_THREADS; t++) worker_tasks += region.threads_seen[t];
    workers_on_own_front += check_shares(&region, r, tasks);
  }
  /* The workers took part, on their own shares (the caller alone would pass the checks
   * above). */
  assert_true(worker_tasks > 0);
  assert_true(workers_on_own_front > 0);

  unsigned char *runs = calloc(HUGE_REGION_TASKS, 1);
  assert_non_null(runs);
  thaw_threadpool_run(pool, HUGE_REGION_TASKS, mark_task, runs);
  for (size_t t = 0; t < HUGE_REGION_TASKS; t++)
    if (runs[t] != 1) fail_msg("task %zu of %d ran %u times", t, HUGE_REGION_TASKS, runs[t]);
  free(runs);
  thaw_threadpool_release(pool);
  thaw_platform_free(memory);
}

/* The scheduler's state letter of thread `tid` ('R' running, 'S' sleeping), from
 * /proc/self/task/TID/stat, whose state follows the parenthesised command name. */
static char thread_state(long tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
  FILE *file = fopen(path, "r");
  if (file == NULL) return '?';
  char line[512];
  const bool read = fgets(line, sizeof line, file) != NULL;
  fclose(file);
  const char *end_of_name = read ? strrchr(line, ')') : NULL;
  return end_of_name != NULL && end_of_name[1] == ' ' ? end_of_name[2] : '?';
}

/* Whether every thread of the process but the caller sleeps. */
static bool others_sleep(void) {
  DIR *tasks = opendir("/proc/self/task");
  assert_non_null(tasks);
  const long self = (long)gettid();
  bool sleeping = true;
  const struct dirent *entry;
  while ((entry = readdir(tasks)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    const long tid = strtol(entry->d_name, NULL, 10);
    if (tid != self && thread_state(tid) == 'R') sleeping = false;
  }
  closedir(tasks);
  return sleeping;
}

/* Workers spin between the regions of a run, never after it: once a run has returned they go
 * to sleep, without another region to wake them. (How soon is a matter of microseconds, which
 * a loaded machine cannot time; the bench reports the CPU they burn.) */
static void test_workers_sleep_after_a_run(void **state) {
  model_fixture *f = *state;
  float *output = malloc(output_bytes(f->model));
  assert_non_null(output);
  thaw_session *session = create_session(f->model, 3);
  for (int run = 0; run < 3; run++) {
    run_into(f, session, output);
    bool asleep = others_sleep();
    for (int wait = 0; wait < 2000 && !asleep; wait++) {
      nanosleep(&(const struct timespec){0, 1000000}, NULL);
      asleep = others_sleep();
    }
    if (!asleep) fail_msg("run %d: a worker still runs 2 s after the run returned", run);
  }
  thaw_session_destroy(session);
  free(output);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_split_is_exact),
      cmocka_unit_test(test_conv_split_is_exact),
      cmocka_unit_test(test_conv_transpose_split_is_exact),
      cmocka_unit_test(test_qs8_split_is_exact),
      cmocka_unit_test_setup_teardown(test_results_are_identical_for_any_thread_count,
                                      model_setup, model_teardown),
      cmocka_unit_test_setup_teardown(test_workers_start_at_the_first_run, model_setup,
                                      model_teardown),
      cmocka_unit_test(test_small_models_stay_on_one_thread),
      cmocka_unit_test_setup_teardown(test_a_failed_start_leaves_the_session_usable, model_setup,
                                      failed_start_teardown),
      cmocka_unit_test_setup_teardown(test_thread_limits, model_setup, model_teardown),
      cmocka_unit_test_setup_teardown(test_sessions_share_a_pool, model_setup, model_teardown),
      cmocka_unit_test_setup_teardown(test_a_busy_pool_leaves_a_run_on_its_thread, model_setup,
                                      model_teardown),
      cmocka_unit_test(test_copies_split_inside_rows),
      cmocka_unit_test(test_a_deadline_stops_inside_a_node),
      cmocka_unit_test(test_pool_runs_every_task_once),
      cmocka_unit_test_setup_teardown(test_workers_sleep_after_a_run, model_setup,
                                      model_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
