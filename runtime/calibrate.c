/*
 * Calibration: each kernel class timed through the kernel table the models run on, at shapes
 * chosen to bracket the ones real models have; and the roofline prediction built on the rates.
 *
 * A probe is one kernel call at a fixed shape. Its rate is the work it does (FLOPs or bytes,
 * counted as cost.c counts a node's) over the median time of one call, from a few samples of
 * back-to-back calls on warm buffers: the steady state of a function instance serving many
 * requests, not the first run after a cold start.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/cost.h"
#include "runtime/platform.h"

const uint32_t thaw_cost_grid_m[THAW_COST_GRID_POINTS] = {8, 32, 128};
const uint32_t thaw_cost_grid_n[THAW_COST_GRID_POINTS] = {64, 256, 1024};
/* Multiples of 9: the convolution grid's probe is a 3x3 kernel over k/9 input channels. */
const uint32_t thaw_cost_grid_k[THAW_COST_GRID_POINTS] = {36, 144, 576};
const uint32_t thaw_cost_grid_width[THAW_COST_GRID_POINTS] = {8, 32, 128};

enum {
  SAMPLES = 5,
  /* Elementwise, normalisation and data-movement probes work on this many floats: 256 KiB, an
   * activation of a mid-sized layer, resident in L2 as it is between two layers. */
  SLAB_FLOATS = 1 << 16,
  /* Each of the probes' four buffers; the largest user is the GEMV weight (1 MiB) and the
   * grid's packed B (2.25 MiB). */
  REGION_FLOATS = 1 << 20,
  GATHER_TABLE_ROWS = 2048, /* 2048 x 384 floats fit a region */
  INT8_PROBE_SIDE = 256,    /* the int8 GEMM probe's weight is this square */
};
/* A sample repeats the call until it lasts about this long, so the clock's resolution and the
 * cost of reading it stay below 1 %. */
static const double sample_seconds = 2e-4;

typedef enum probe_call {
  CALL_GEMM,
  CALL_CONV,
  CALL_CONV_TRANSPOSE,
  CALL_UNARY,
  CALL_BINARY,
  CALL_CHANNEL_AFFINE,
  CALL_SOFTMAX,
  CALL_LAYER_NORM,
  CALL_GLOBAL_AVERAGE_POOL,
  CALL_MAX_POOL,
  CALL_AVERAGE_POOL,
  CALL_STRIDED_COPY,
  CALL_CONCAT,
  CALL_GATHER,
  CALL_PAD,
  CALL_RESIZE,
  CALL_WHERE,
  CALL_INT8_GEMM,
  CALL_INT8_CONV,
} probe_call;

/* What the probes read and write: filled once with small finite values (in range indices,
 * both conditions), plus a scratch area grown to the largest need. */
typedef struct probe_buffers {
  float *in0, *in1, *out; /* REGION_FLOATS each */
  float *packed;          /* in1's values as a packed GEMM B (REGION_FLOATS); for the int8
                             probe, its packed int8 weights */
  float *bias;            /* SLAB_FLOATS: biases, scales, shifts */
  int64_t *indices;       /* SLAB_FLOATS: Gather's indices; Where reads them as conditions */
  void *scratch;
  size_t scratch_bytes;
} probe_buffers;

typedef struct probe {
  probe_call call;
  union {
    thaw_gemm_params gemm;
    thaw_qs8_gemm_params int8_gemm;
    thaw_conv2d_params conv;
    thaw_unary_params unary;
    thaw_binary_params binary;
    thaw_pool2d_params pool;
    thaw_strided_copy_params strided_copy;
    thaw_pad_params pad;
    thaw_resize_params resize;
    thaw_gather_params gather;
    thaw_broadcast where;
    struct {
      size_t outer, axis_size, inner;
    } axis; /* softmax, layer norm, channel affine, global pooling (outer = channels, inner =
               spatial), concat (outer rows) */
  } u;
  size_t count;          /* unary elements */
  size_t row_bytes[2];   /* concat */
  double work;           /* FLOPs or bytes of one call */
} probe;

static void call_probe(const thaw_kernels *k, const probe *p, const probe_buffers *b) {
  switch (p->call) {
    case CALL_GEMM:
      k->f32_gemm(&p->u.gemm, b->in0, p->u.gemm.b_packed ? b->packed : b->in1, b->bias, b->out,
                  b->scratch, &thaw_parallel_serial);
      break;
    case CALL_CONV:
      k->f32_conv2d(&p->u.conv, b->in0, b->in1, b->bias, b->out, b->scratch,
                    &thaw_parallel_serial);
      break;
    case CALL_CONV_TRANSPOSE:
      k->f32_conv_transpose2d(&p->u.conv, b->in0, b->in1, b->bias, b->out,
                              &thaw_parallel_serial);
      break;
    case CALL_UNARY: k->f32_unary(&p->u.unary, p->count, b->in0, b->out); break;
    case CALL_BINARY: k->f32_binary(&p->u.binary, b->in0, b->in1, b->out); break;
    case CALL_CHANNEL_AFFINE:
      k->f32_channel_affine(p->u.axis.outer, p->u.axis.axis_size, p->u.axis.inner, b->in0,
                            b->in1, b->bias, b->out);
      break;
    case CALL_SOFTMAX:
      k->f32_softmax(p->u.axis.outer, p->u.axis.axis_size, p->u.axis.inner, b->in0, b->out);
      break;
    case CALL_LAYER_NORM:
      k->f32_layer_norm(p->u.axis.outer, p->u.axis.axis_size, 1e-5f, b->in0, b->in1, b->bias,
                        b->out);
      break;
    case CALL_GLOBAL_AVERAGE_POOL:
      k->f32_global_average_pool(p->u.axis.outer, p->u.axis.inner, b->in0, b->out);
      break;
    case CALL_MAX_POOL: k->f32_max_pool2d(&p->u.pool, b->in0, b->out); break;
    case CALL_AVERAGE_POOL: k->f32_average_pool2d(&p->u.pool, b->in0, b->out); break;
    case CALL_STRIDED_COPY: k->strided_copy(&p->u.strided_copy, b->in0, b->out); break;
    case CALL_CONCAT: {
      const void *const parts[2] = {b->in0, b->in1};
      k->concat(2, p->row_bytes, parts, b->out, 0,
                p->u.axis.outer * (p->row_bytes[0] + p->row_bytes[1]));
      break;
    }
    case CALL_GATHER: {
      int64_t bad_index;
      k->gather(&p->u.gather, b->in0, b->indices, b->out, &bad_index);
      break;
    }
    case CALL_PAD: k->f32_pad(&p->u.pad, b->in0, b->out); break;
    case CALL_RESIZE: k->f32_resize(&p->u.resize, b->in0, b->out); break;
    case CALL_WHERE:
      k->where(sizeof(float), &p->u.where, (const uint8_t *)b->indices, b->in0, b->in1, b->out);
      break;
    case CALL_INT8_GEMM:
      k->qs8_gemm(&p->u.int8_gemm, b->in0, b->packed, b->bias, b->out, b->scratch,
                  &thaw_parallel_serial);
      break;
    case CALL_INT8_CONV:
      k->qs8_conv2d(&p->u.conv, &(thaw_qs8_input){.mode = THAW_QS8_DYNAMIC}, b->in0, b->packed,
                    b->bias, b->out, b->scratch, &thaw_parallel_serial);
      break;
  }
}

static size_t probe_scratch_bytes(const thaw_kernels *k, const probe *p) {
  if (p->call == CALL_GEMM) return k->f32_gemm_scratch_size(&p->u.gemm);
  if (p->call == CALL_CONV) return k->f32_conv2d_scratch_size(&p->u.conv);
  if (p->call == CALL_INT8_GEMM) return thaw_qs8_gemm_scratch_size(&p->u.int8_gemm);
  if (p->call == CALL_INT8_CONV) return thaw_qs8_conv2d_scratch_size(&p->u.conv);
  return 0;
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median seconds of one call, in the thread's CPU time so that other processes sharing the
 * machine do not count; 0 when the scratch it needs cannot be allocated. */
static double time_probe(const thaw_kernels *k, const probe *p, probe_buffers *b) {
  const size_t scratch_bytes = probe_scratch_bytes(k, p);
  if (scratch_bytes > b->scratch_bytes) {
    thaw_platform_free(b->scratch);
    b->scratch = thaw_platform_aligned_alloc(scratch_bytes);
    b->scratch_bytes = b->scratch != NULL ? scratch_bytes : 0;
    if (b->scratch == NULL) return 0;
  }
  uint64_t start = thaw_platform_thread_cpu_ns();
  call_probe(k, p, b); /* warms the caches and sizes the samples */
  const double first = 1e-9 * (double)(thaw_platform_thread_cpu_ns() - start);
  const size_t calls = first >= sample_seconds ? 1 : (size_t)(sample_seconds / fmax(first, 1e-9)) + 1;
  double samples[SAMPLES];
  for (int s = 0; s < SAMPLES; s++) {
    start = thaw_platform_thread_cpu_ns();
    for (size_t c = 0; c < calls; c++) call_probe(k, p, b);
    samples[s] = 1e-9 * (double)(thaw_platform_thread_cpu_ns() - start) / (double)calls;
  }
  qsort(samples, SAMPLES, sizeof samples[0], compare_doubles);
  return samples[SAMPLES / 2];
}

/* work / seconds, or false after filling `error` when the probe could not run. */
static bool measure(const thaw_kernels *k, const probe *p, probe_buffers *b, double *rate,
                    thaw_error *error) {
  const double seconds = time_probe(k, p, b);
  if (seconds <= 0) {
    thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                   "calibration: cannot allocate %zu bytes of kernel scratch",
                   probe_scratch_bytes(k, p));
    return false;
  }
  *rate = p->work / seconds;
  return true;
}

/* ---- The probes ---- */

static probe gemm_probe(bool packed, size_t m, size_t n, size_t k) {
  return (probe){
      .call = CALL_GEMM,
      .u.gemm = {.m = m, .n = n, .k = k, .a_row_stride = (ptrdiff_t)k, .a_k_stride = 1,
                 .b_packed = packed, .b_row_stride = (ptrdiff_t)n, .b_column_stride = 1,
                 .c_row_stride = (ptrdiff_t)n,
                 .bias = packed ? THAW_GEMM_BIAS_PER_COLUMN : THAW_GEMM_BIAS_PER_ROW},
      .work = 2.0 * (double)m * (double)n * (double)k,
  };
}

/* A "same" padded convolution with an output of out_height x out_width. */
static thaw_conv2d_params conv_params(size_t channels_in, size_t channels_out, size_t groups,
                                      size_t out_height, size_t out_width, size_t kernel,
                                      size_t stride, size_t dilation) {
  const size_t pad = dilation * (kernel - 1) / 2;
  const size_t span = dilation * (kernel - 1) - 2 * pad + 1;
  return (thaw_conv2d_params){
      .batch = 1, .in_channels = channels_in, .in_height = (out_height - 1) * stride + span,
      .in_width = (out_width - 1) * stride + span, .out_channels = channels_out,
      .out_height = out_height, .out_width = out_width,
      .kernel_height = kernel, .kernel_width = kernel, .groups = groups,
      .stride_h = stride, .stride_w = stride, .dilation_h = dilation, .dilation_w = dilation,
      .pad_top = pad, .pad_left = pad,
  };
}

/* A 3x3 convolution whose GEMM is m x n x k: k/9 input channels, an output plane of n pixels
 * (the grid's n are squares). */
static probe conv_probe(size_t m, size_t n, size_t k) {
  const size_t side = (size_t)lround(sqrt((double)n));
  return (probe){
      .call = CALL_CONV,
      .u.conv = conv_params(k / 9, m, 1, side, side, 3, 1, 1),
      .work = 2.0 * (double)m * (double)(side * side) * (double)k,
  };
}

/* 32 channels of 2048 output pixels in rows of `width`. */
static probe depthwise_probe(thaw_cost_rate rate, size_t width) {
  static const struct {
    size_t kernel, stride, dilation;
  } shapes[THAW_COST_DEPTHWISE_RATES] = {
      [THAW_RATE_DEPTHWISE_3X3S1 - THAW_RATE_DEPTHWISE_3X3S1] = {3, 1, 1},
      [THAW_RATE_DEPTHWISE_3X3S2 - THAW_RATE_DEPTHWISE_3X3S1] = {3, 2, 1},
      [THAW_RATE_DEPTHWISE_5X5S1 - THAW_RATE_DEPTHWISE_3X3S1] = {5, 1, 1},
      [THAW_RATE_DEPTHWISE_5X5S2 - THAW_RATE_DEPTHWISE_3X3S1] = {5, 2, 1},
      /* A dilated 3x3 takes the generic microkernel. */
      [THAW_RATE_DEPTHWISE_GENERIC - THAW_RATE_DEPTHWISE_3X3S1] = {3, 1, 2},
  };
  enum { CHANNELS = 32, PIXELS = 2048 };
  const size_t s = rate - THAW_RATE_DEPTHWISE_3X3S1;
  const size_t taps = shapes[s].kernel * shapes[s].kernel;
  return (probe){
      .call = CALL_CONV,
      .u.conv = conv_params(CHANNELS, CHANNELS, CHANNELS, PIXELS / width, width,
                            shapes[s].kernel, shapes[s].stride, shapes[s].dilation),
      .work = 2.0 * CHANNELS * PIXELS * (double)taps,
  };
}

static thaw_pool2d_params pool_params(size_t channels, size_t side, size_t kernel,
                                      size_t stride) {
  const size_t pad = kernel / 2;
  const size_t out_side = (side + 2 * pad - kernel) / stride + 1;
  return (thaw_pool2d_params){
      .batch_channels = channels, .in_height = side, .in_width = side,
      .out_height = out_side, .out_width = out_side, .kernel_height = kernel,
      .kernel_width = kernel, .stride_h = stride, .stride_w = stride, .dilation_h = 1,
      .dilation_w = 1, .pad_top = pad, .pad_left = pad, .pad_bottom = pad, .pad_right = pad,
  };
}

/* A contiguous rank-1 iteration over `n` elements for `operands` operands. */
static thaw_broadcast dense_iteration(size_t n, uint32_t operands) {
  thaw_broadcast iter = {.rank = 1, .shape = {n}};
  for (uint32_t i = 0; i < operands; i++) iter.strides[i][0] = 1;
  return iter;
}

/* The probe of every single-number rate but GEMV's and the unary functions'. */
static probe scalar_probe(thaw_cost_rate rate) {
  const double slab_bytes = SLAB_FLOATS * sizeof(float);
  probe p = {0};
  switch (rate) {
    case THAW_RATE_CONV_TRANSPOSE: {
      /* The upsampling kind: 2x2, stride 2, 16 channels of 16x16 to 32x32. */
      p.call = CALL_CONV_TRANSPOSE;
      p.u.conv = (thaw_conv2d_params){
          .batch = 1, .in_channels = 16, .in_height = 16, .in_width = 16, .out_channels = 16,
          .out_height = 32, .out_width = 32, .kernel_height = 2, .kernel_width = 2,
          .groups = 1, .stride_h = 2, .stride_w = 2, .dilation_h = 1, .dilation_w = 1};
      p.work = 2.0 * 16 * 16 * 16 * 16 * 2 * 2;
      break;
    }
    case THAW_RATE_BINARY:
      p.call = CALL_BINARY;
      p.u.binary = (thaw_binary_params){.func = THAW_KERNEL_ADD,
                                        .iter = dense_iteration(SLAB_FLOATS, 2)};
      p.work = SLAB_FLOATS;
      break;
    case THAW_RATE_CHANNEL_AFFINE:
      p.call = CALL_CHANNEL_AFFINE;
      p.u.axis.outer = 1, p.u.axis.axis_size = 64, p.u.axis.inner = SLAB_FLOATS / 64;
      p.work = 2.0 * SLAB_FLOATS;
      break;
    case THAW_RATE_SOFTMAX:
      /* Attention scores: rows of 128 keys. */
      p.call = CALL_SOFTMAX;
      p.u.axis.outer = SLAB_FLOATS / 128, p.u.axis.axis_size = 128, p.u.axis.inner = 1;
      p.work = 4.0 * SLAB_FLOATS;
      break;
    case THAW_RATE_LAYER_NORM:
      p.call = CALL_LAYER_NORM;
      p.u.axis.outer = SLAB_FLOATS / 256, p.u.axis.axis_size = 256;
      p.work = 7.0 * SLAB_FLOATS;
      break;
    case THAW_RATE_REDUCE:
      p.call = CALL_GLOBAL_AVERAGE_POOL;
      p.u.axis.outer = 256, p.u.axis.inner = SLAB_FLOATS / 256;
      p.work = SLAB_FLOATS + 256.0;
      break;
    case THAW_RATE_MAX_POOL:
    case THAW_RATE_AVERAGE_POOL:
      /* 3x3, stride 2 over 16 channels of 64x64: the pooling after a network's stem. */
      p.call = rate == THAW_RATE_MAX_POOL ? CALL_MAX_POOL : CALL_AVERAGE_POOL;
      p.u.pool = pool_params(16, 64, 3, 2);
      p.work = 16.0 * (double)(p.u.pool.out_height * p.u.pool.out_width) *
               (9.0 + (rate == THAW_RATE_AVERAGE_POOL));
      break;
    case THAW_RATE_STRIDED_COPY:
      /* A transpose of [64, 1024] floats. */
      p.call = CALL_STRIDED_COPY;
      p.u.strided_copy.element_size = sizeof(float);
      p.u.strided_copy.iter = (thaw_broadcast){.rank = 2, .shape = {1024, 64},
                                               .strides = {{1, 1024}}};
      p.work = 2 * slab_bytes;
      break;
    case THAW_RATE_COPY:
    case THAW_RATE_STREAM: {
      const double bytes = rate == THAW_RATE_COPY ? slab_bytes : REGION_FLOATS * sizeof(float);
      p.call = CALL_CONCAT;
      p.u.axis.outer = 64;
      p.row_bytes[0] = p.row_bytes[1] = (size_t)bytes / 2 / 64;
      p.work = 2 * bytes;
      break;
    }
    case THAW_RATE_GATHER:
      /* 128 rows of 384 floats out of a 2048-row table, as an embedding lookup does. */
      p.call = CALL_GATHER;
      p.u.gather = (thaw_gather_params){.element_size = sizeof(float), .outer = 1,
                                        .axis_size = GATHER_TABLE_ROWS, .inner = 384,
                                        .index_count = 128, .indices_are_i64 = true};
      p.work = 2.0 * 128 * 384 * sizeof(float) + 128 * sizeof(int64_t);
      break;
    case THAW_RATE_PAD:
      /* 16 channels of 62x62 padded by one on every side to 64x64. */
      p.call = CALL_PAD;
      p.u.pad = (thaw_pad_params){.rank = 3, .in_shape = {16, 62, 62},
                                  .out_shape = {16, 64, 64}, .begin = {0, 1, 1},
                                  .mode = THAW_PAD_CONSTANT};
      p.work = (16.0 * 62 * 62 + 16.0 * 64 * 64) * sizeof(float);
      break;
    case THAW_RATE_RESIZE_NEAREST:
    case THAW_RATE_RESIZE_LINEAR:
      /* A feature pyramid's 2x upsampling: 16 channels of 32x32 to 64x64. */
      p.call = CALL_RESIZE;
      p.u.resize = (thaw_resize_params){
          .rank = 4, .in_shape = {1, 16, 32, 32}, .out_shape = {1, 16, 64, 64},
          .scales = {1, 1, 2, 2},
          .mode = rate == THAW_RATE_RESIZE_NEAREST ? THAW_RESIZE_NEAREST : THAW_RESIZE_LINEAR,
          .coordinates = rate == THAW_RATE_RESIZE_NEAREST ? THAW_RESIZE_ASYMMETRIC
                                                          : THAW_RESIZE_HALF_PIXEL,
          .nearest = THAW_RESIZE_FLOOR};
      p.work = (16.0 * 32 * 32 + 16.0 * 64 * 64) * sizeof(float);
      break;
    case THAW_RATE_SELECT:
      p.call = CALL_WHERE;
      p.u.where = dense_iteration(SLAB_FLOATS, 3);
      p.work = SLAB_FLOATS * (3.0 * sizeof(float) + 1);
      break;
    default: break; /* the grids, GEMV and the unary functions have probes of their own */
  }
  return p;
}

/* ---- Calibration ---- */

/* One allocation for every region; NULL when it fails. */
static float *allocate_buffers(probe_buffers *b) {
  float *block = thaw_platform_aligned_alloc((4 * (size_t)REGION_FLOATS + 2 * SLAB_FLOATS) *
                                             sizeof(float));
  if (block == NULL) return NULL;
  *b = (probe_buffers){.in0 = block,
                       .in1 = block + REGION_FLOATS,
                       .out = block + 2 * (size_t)REGION_FLOATS,
                       .packed = block + 3 * (size_t)REGION_FLOATS,
                       .bias = block + 4 * (size_t)REGION_FLOATS,
                       .indices = (int64_t *)(block + 4 * (size_t)REGION_FLOATS + SLAB_FLOATS)};
  for (size_t i = 0; i < REGION_FLOATS; i++) {
    /* Small values of both signs: never denormal, never large enough to overflow exp. */
    const float value = (float)((int)(i % 29) - 14) * (1.0f / 16.0f) + (1.0f / 32.0f);
    b->in0[i] = value;
    b->in1[i] = -value;
    b->out[i] = value;
  }
  for (size_t i = 0; i < SLAB_FLOATS; i++) b->bias[i] = 1.0f + (float)(i % 7) * (1.0f / 8.0f);
  for (size_t i = 0; i < SLAB_FLOATS / 2; i++)
    b->indices[i] = (int64_t)((i * 7) % GATHER_TABLE_ROWS);
  return block;
}

static thaw_status measure_grids(const thaw_kernels *k, probe_buffers *b,
                                 thaw_cost_rates *rates, thaw_error *error) {
  for (size_t ni = 0; ni < THAW_COST_GRID_POINTS; ni++) {
    for (size_t ki = 0; ki < THAW_COST_GRID_POINTS; ki++) {
      const size_t n = thaw_cost_grid_n[ni], kk = thaw_cost_grid_k[ki];
      /* Models carry B packed by the converter; the probe packs it here. */
      thaw_f32_gemm_pack_b(kk, n, b->in1, (ptrdiff_t)n, 1, b->packed);
      for (size_t mi = 0; mi < THAW_COST_GRID_POINTS; mi++) {
        const size_t m = thaw_cost_grid_m[mi];
        const probe probes[THAW_COST_GRID_RATES] = {
            [THAW_RATE_GEMM_PACKED] = gemm_probe(true, m, n, kk),
            [THAW_RATE_GEMM_PLAIN] = gemm_probe(false, m, n, kk),
            [THAW_RATE_CONV] = conv_probe(m, n, kk),
        };
        for (size_t r = 0; r < THAW_COST_GRID_RATES; r++)
          if (!measure(k, &probes[r], b, &rates->grid[r][mi][ni][ki], error))
            return THAW_STATUS_OUT_OF_MEMORY;
      }
    }
  }
  return THAW_OK;
}

/* Weights in [-127, 127], as the converter makes them, packed into b->packed: `k` rows of `n`
 * columns. */
static void pack_int8_weights(probe_buffers *b, size_t k, size_t n) {
  int8_t *weights = (int8_t *)b->out;
  float scales[INT8_PROBE_SIDE];
  for (size_t i = 0; i < k * n; i++) weights[i] = (int8_t)((int)(i % 255) - 127);
  for (size_t j = 0; j < n; j++) scales[j] = 1.0f / 512.0f;
  thaw_qs8_gemm_pack_b(k, n, weights, (ptrdiff_t)n, 1, scales, b->packed);
}

/* The int8 GEMM (128 rows of activations by a 256x256 weight, quantized per row as a quantized
 * layer's input is) and the int8 3x3 convolution (64 to 64 channels on 28x28, ResNet's middle
 * layers). */
static thaw_status measure_int8(const thaw_kernels *k, probe_buffers *b, thaw_cost_rates *rates,
                                thaw_error *error) {
  pack_int8_weights(b, INT8_PROBE_SIDE, INT8_PROBE_SIDE);
  const probe gemm = {
      .call = CALL_INT8_GEMM,
      .u.int8_gemm = {.m = 128, .n = INT8_PROBE_SIDE, .k = INT8_PROBE_SIDE,
                      .a_row_stride = INT8_PROBE_SIDE, .c_row_stride = INT8_PROBE_SIDE,
                      .input = {.mode = THAW_QS8_DYNAMIC}, .has_bias = true},
      .work = 2.0 * 128 * INT8_PROBE_SIDE * INT8_PROBE_SIDE};
  if (!measure(k, &gemm, b, &rates->scalar[THAW_RATE_INT8_GEMM - THAW_COST_FIRST_SCALAR_RATE],
               error))
    return THAW_STATUS_OUT_OF_MEMORY;
  enum { CHANNELS = 64, SIDE = 28 };
  pack_int8_weights(b, CHANNELS * 9, CHANNELS);
  const probe conv = {.call = CALL_INT8_CONV,
                      .u.conv = conv_params(CHANNELS, CHANNELS, 1, SIDE, SIDE, 3, 1, 1),
                      .work = 2.0 * CHANNELS * SIDE * SIDE * CHANNELS * 9};
  if (!measure(k, &conv, b, &rates->scalar[THAW_RATE_INT8_CONV - THAW_COST_FIRST_SCALAR_RATE],
               error))
    return THAW_STATUS_OUT_OF_MEMORY;
  return THAW_OK;
}

static thaw_status measure_rates(const thaw_kernels *k, probe_buffers *b, thaw_cost_rates *rates,
                                 thaw_error *error) {
  thaw_status status = measure_grids(k, b, rates, error);
  if (status != THAW_OK) return status;
  for (size_t d = 0; d < THAW_COST_DEPTHWISE_RATES; d++)
    for (size_t wi = 0; wi < THAW_COST_GRID_POINTS; wi++) {
      const probe p = depthwise_probe(THAW_RATE_DEPTHWISE_3X3S1 + d, thaw_cost_grid_width[wi]);
      if (!measure(k, &p, b, &rates->depthwise[d][wi], error)) return THAW_STATUS_OUT_OF_MEMORY;
    }

  /* GEMV: one row by a 512x512 packed weight (1 MiB), as a fully connected layer of a small
   * network runs per request; its rate is the bytes it reads and writes. */
  enum { GEMV_SIDE = 512 };
  thaw_f32_gemm_pack_b(GEMV_SIDE, GEMV_SIDE, b->in1, GEMV_SIDE, 1, b->packed);
  probe gemv = gemm_probe(true, 1, GEMV_SIDE, GEMV_SIDE);
  gemv.work = (double)(thaw_f32_gemm_packed_b_size(GEMV_SIDE, GEMV_SIDE) +
                       3 * GEMV_SIDE * sizeof(float));
  if (!measure(k, &gemv, b, &rates->scalar[THAW_RATE_GEMV - THAW_COST_FIRST_SCALAR_RATE], error))
    return THAW_STATUS_OUT_OF_MEMORY;

  status = measure_int8(k, b, rates, error);
  if (status != THAW_OK) return status;
  for (int rate = THAW_RATE_INT8_CONV + 1; rate < THAW_RATE_UNARY; rate++) { /* GEMV, int8: above */
    const probe p = scalar_probe((thaw_cost_rate)rate);
    if (!measure(k, &p, b, &rates->scalar[rate - THAW_COST_FIRST_SCALAR_RATE], error))
      return THAW_STATUS_OUT_OF_MEMORY;
  }
  for (int func = 0; func <= THAW_KERNEL_LOG; func++) {
    const probe p = {.call = CALL_UNARY,
                     .u.unary = {.func = (thaw_kernel_unary)func, .alpha = 0.1f, .beta = 6.0f},
                     .count = SLAB_FLOATS,
                     .work = SLAB_FLOATS};
    if (!measure(k, &p, b, &rates->unary[func], error)) return THAW_STATUS_OUT_OF_MEMORY;
  }

  /* The fixed cost of a node: a call through the table that does almost nothing. */
  const probe tiny = {.call = CALL_BINARY,
                      .u.binary = {.func = THAW_KERNEL_ADD, .iter = dense_iteration(1, 2)},
                      .work = 1};
  double calls_per_second;
  if (!measure(k, &tiny, b, &calls_per_second, error)) return THAW_STATUS_OUT_OF_MEMORY;
  rates->node_seconds = 1.0 / calls_per_second;
  return THAW_OK;
}

thaw_status thaw_cost_calibrate(const thaw_kernels *kernels, thaw_cost_rates *rates,
                                thaw_error *error) {
  if (kernels == NULL || rates == NULL)
    return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                          "thaw_cost_calibrate: kernels and rates must not be NULL");
  const uint64_t start = thaw_platform_thread_cpu_ns();
  memset(rates, 0, sizeof *rates);
  snprintf(rates->isa, sizeof rates->isa, "%s", kernels->isa);
  probe_buffers buffers;
  float *block = allocate_buffers(&buffers);
  if (block == NULL)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                          "calibration: cannot allocate its %zu MiB of buffers",
                          (4 * (size_t)REGION_FLOATS + 2 * SLAB_FLOATS) * sizeof(float) >> 20);
  const thaw_status status = measure_rates(kernels, &buffers, rates, error);
  thaw_platform_free(buffers.scratch);
  thaw_platform_free(block);
  rates->calibration_seconds = 1e-9 * (double)(thaw_platform_thread_cpu_ns() - start);
  return status;
}

/* ---- Prediction ---- */

double thaw_cost_thread_speedup(thaw_cost_class kernel_class, uint32_t threads) {
  /* The executor splits these classes' output over the session's threads (runtime/session.c:
   * products f32 and int8, convolutions, elementwise, normalization and pooling rows); the
   * rest (recurrent, data movement that gathers) run on one thread. Ideal scaling up to the
   * cores: a node too small to split is rare in the models that matter. */
  switch (kernel_class) {
    case THAW_COST_GEMM:
    case THAW_COST_GEMV:
    case THAW_COST_CONV:
    case THAW_COST_CONV_1X1:
    case THAW_COST_DEPTHWISE:
    case THAW_COST_CONV_TRANSPOSE:
    case THAW_COST_INT8:
    case THAW_COST_ELEMENTWISE:
    case THAW_COST_NORMALIZATION:
    case THAW_COST_POOL: {
      const long cores = sysconf(_SC_NPROCESSORS_ONLN);
      const uint32_t usable = cores < 1 ? 1 : (uint32_t)cores;
      return threads < 1 ? 1.0 : (double)(threads < usable ? threads : usable);
    }
    default: return 1.0;
  }
}

/* Where `value` falls on `axis`: the lower point's index and the fraction of the way to the
 * next one, in log space, clamped to the axis's ends. */
static void locate(uint64_t value, const uint32_t *axis, size_t *lower, double *fraction) {
  *lower = value < axis[1] ? 0 : THAW_COST_GRID_POINTS - 2;
  const double position = (log((double)(value < 1 ? 1 : value)) - log(axis[*lower])) /
                          (log(axis[*lower + 1]) - log(axis[*lower]));
  *fraction = position < 0 ? 0 : position > 1 ? 1 : position;
}

/* Rates vary by orders of magnitude across a grid, so they are interpolated as logarithms. */
static double grid_rate(const thaw_cost_rates *rates, thaw_cost_rate rate,
                        const thaw_cost_node *facts) {
  size_t m0, n0, k0;
  double fm, fn, fk;
  locate(facts->gemm_m, thaw_cost_grid_m, &m0, &fm);
  locate(facts->gemm_n, thaw_cost_grid_n, &n0, &fn);
  locate(facts->gemm_k, thaw_cost_grid_k, &k0, &fk);
  double log_rate = 0;
  for (int corner = 0; corner < 8; corner++) {
    const int dm = corner & 1, dn = (corner >> 1) & 1, dk = corner >> 2;
    const double weight = (dm ? fm : 1 - fm) * (dn ? fn : 1 - fn) * (dk ? fk : 1 - fk);
    log_rate += weight * log(rates->grid[rate][m0 + dm][n0 + dn][k0 + dk]);
  }
  return exp(log_rate);
}

static double depthwise_rate(const thaw_cost_rates *rates, thaw_cost_rate rate,
                             const thaw_cost_node *facts) {
  size_t w0;
  double fw;
  locate(facts->row_width, thaw_cost_grid_width, &w0, &fw);
  const double *line = rates->depthwise[rate - THAW_RATE_DEPTHWISE_3X3S1];
  return exp((1 - fw) * log(line[w0]) + fw * log(line[w0 + 1]));
}

/* The copy bandwidth for a node moving `bytes`: the cache-resident rate up to the small probe's
 * traffic, the large probe's from its traffic on, log-interpolated between. */
static double streaming_bandwidth(const thaw_cost_rates *rates, double bytes) {
  const double small = 2.0 * SLAB_FLOATS * sizeof(float);
  const double large = 2.0 * REGION_FLOATS * sizeof(float);
  const double position = (log(fmax(bytes, 1)) - log(small)) / (log(large) - log(small));
  const double fraction = position < 0 ? 0 : position > 1 ? 1 : position;
  const double cached = rates->scalar[THAW_RATE_COPY - THAW_COST_FIRST_SCALAR_RATE];
  const double streamed = rates->scalar[THAW_RATE_STREAM - THAW_COST_FIRST_SCALAR_RATE];
  return exp((1 - fraction) * log(cached) + fraction * log(streamed));
}

/* Single-number rates counted in bytes rather than FLOPs. */
static bool rate_counts_bytes(thaw_cost_rate rate) {
  return rate == THAW_RATE_GEMV || (rate >= THAW_RATE_STRIDED_COPY && rate <= THAW_RATE_SELECT);
}

double thaw_cost_predict_seconds(const thaw_cost_rates *rates, const thaw_cost_node *facts,
                                 uint32_t threads) {
  const double bytes = (double)facts->activation_bytes_read + (double)facts->weight_bytes_read +
                       (double)facts->bytes_written;
  const double streaming = bytes / streaming_bandwidth(rates, bytes);
  double work;
  if (facts->rate == THAW_RATE_NONE) {
    work = 0;
  } else if (facts->rate < THAW_COST_GRID_RATES) {
    work = (double)facts->flops / grid_rate(rates, facts->rate, facts);
  } else if (facts->rate < THAW_COST_FIRST_SCALAR_RATE) {
    work = (double)facts->flops / depthwise_rate(rates, facts->rate, facts);
  } else if (facts->rate == THAW_RATE_UNARY) {
    work = (double)facts->flops / rates->unary[facts->unary];
  } else {
    const double rate = rates->scalar[facts->rate - THAW_COST_FIRST_SCALAR_RATE];
    work = (rate_counts_bytes(facts->rate) ? bytes : (double)facts->flops) / rate;
  }
  work /= thaw_cost_thread_speedup(facts->kernel_class, threads);
  const double activation = (double)facts->activation_elements / rates->unary[facts->unary];
  return fmax(work, streaming) + activation + rates->node_seconds;
}
