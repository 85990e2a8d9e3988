/*
 * What running a model costs: per node the arithmetic, the bytes moved and the kind of kernel
 * that does the work (cost.c); an on-machine calibration of those kernels through the real
 * kernel table and the latency it predicts (calibrate.c). Internal: `thaw inspect --cost` and
 * the tests use it; the library's run path only asks thaw_cost_worth_threads, once, at a
 * session's first run on threads.
 *
 * Counting conventions (the FLOPs reported; predictions do not depend on them, since each rate
 * is calibrated in the same unit):
 *   convolution, MatMul   2 per multiply-add, plus 1 per output for a bias and 1 per output for
 *                         a fused activation
 *   unary, binary, Where  1 per output element; ChannelAffine 2
 *   Softmax               4 per element (max, exp of the difference, sum, scale)
 *   LayerNorm             7 per element (mean, deviation and its square, normalise, scale,
 *                         bias), 6 without a bias
 *   ReduceMean, pools     1 per element read (a window tap for pools), plus 1 per output for a
 *                         mean
 *   data movement, Cast   0
 * Bytes: every input read once (constants counted apart as weight bytes) and every output
 * written once; a Reshape planned as a view moves nothing.
 */
#ifndef THAW_RUNTIME_COST_H
#define THAW_RUNTIME_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/model.h"

/* The kernel that does a node's work, as the executor and the kernel drivers choose it. */
typedef enum thaw_cost_class {
  THAW_COST_GEMM,           /* MatMul through the blocked GEMM */
  THAW_COST_GEMV,           /* MatMul of a few rows by a packed weight: bandwidth-bound */
  THAW_COST_CONV,           /* K×K or strided convolution: im2col, then GEMM */
  THAW_COST_CONV_1X1,       /* pointwise convolution: GEMM over the image in place */
  THAW_COST_DEPTHWISE,      /* one filter per channel */
  THAW_COST_CONV_TRANSPOSE,
  THAW_COST_ELEMENTWISE,    /* Unary, Binary, ChannelAffine, Where, Cast */
  THAW_COST_NORMALIZATION,  /* Softmax, LayerNorm, ReduceMean, GlobalAveragePool */
  THAW_COST_POOL,           /* MaxPool, AveragePool */
  THAW_COST_DATA_MOVEMENT,  /* Transpose, Slice, Expand, Concat, Split, Gather, Pad, Resize,
                               a Reshape that copies */
  THAW_COST_VIEW,           /* a Reshape planned in place: no work at all */
  THAW_COST_INT8,           /* QS8MatMul, QS8Conv: the int8 GEMM, activations quantized */
  THAW_COST_RECURRENT,      /* LSTM, GRU: one projection GEMM, then a small product per step */
} thaw_cost_class;
#define THAW_COST_CLASS_COUNT 13

/* "gemm", "gemv", "conv", "conv 1x1", "depthwise", ... */
const char *thaw_cost_class_name(thaw_cost_class kernel_class);

/* The measured rate a node's time is predicted from. The GEMM family's rates depend on the
 * product's shape and are measured on a grid of shapes; the depthwise microkernels' on the
 * width of the output rows they vectorise along; every other rate is one number. */
typedef enum thaw_cost_rate {
  /* Grids over (m, n, k), FLOP/s. */
  THAW_RATE_GEMM_PACKED,   /* MatMul by a packed weight */
  THAW_RATE_GEMM_PLAIN,    /* MatMul of two activations, 1x1 convolution */
  THAW_RATE_CONV,          /* 3x3 convolution, im2col included */
  /* Over the output width, FLOP/s: each depthwise microkernel. */
  THAW_RATE_DEPTHWISE_3X3S1,
  THAW_RATE_DEPTHWISE_3X3S2,
  THAW_RATE_DEPTHWISE_5X5S1,
  THAW_RATE_DEPTHWISE_5X5S2,
  THAW_RATE_DEPTHWISE_GENERIC,
  /* Single numbers. */
  THAW_RATE_GEMV,           /* bytes/s */
  THAW_RATE_INT8_GEMM,      /* op/s of the int8 GEMM, activation quantization included */
  THAW_RATE_INT8_CONV,      /* op/s of the int8 3x3 convolution, its patch gather included */
  THAW_RATE_CONV_TRANSPOSE, /* FLOP/s */
  THAW_RATE_BINARY,         /* FLOP/s */
  THAW_RATE_CHANNEL_AFFINE, /* FLOP/s */
  THAW_RATE_SOFTMAX,        /* FLOP/s */
  THAW_RATE_LAYER_NORM,     /* FLOP/s */
  THAW_RATE_REDUCE,         /* FLOP/s of ReduceMean and GlobalAveragePool */
  THAW_RATE_MAX_POOL,       /* FLOP/s */
  THAW_RATE_AVERAGE_POOL,   /* FLOP/s */
  THAW_RATE_STRIDED_COPY,   /* bytes/s of Transpose, Slice, Expand */
  THAW_RATE_COPY,           /* bytes/s of Concat, Split, a copying Reshape: a 256 KiB copy,
                               also the roofline's bandwidth for nodes that small */
  THAW_RATE_STREAM,         /* bytes/s of a 4 MiB copy: the roofline's bandwidth for nodes
                               that move that much or more (interpolated between) */
  THAW_RATE_GATHER,         /* bytes/s */
  THAW_RATE_PAD,            /* bytes/s */
  THAW_RATE_RESIZE_NEAREST, /* bytes/s */
  THAW_RATE_RESIZE_LINEAR,  /* bytes/s */
  THAW_RATE_SELECT,         /* bytes/s of Where and Cast */
  /* Elements/s, one per function: thaw_cost_rates.unary. */
  THAW_RATE_UNARY,
  THAW_RATE_NONE,           /* a view: nothing to time */
} thaw_cost_rate;
#define THAW_COST_GRID_RATES 3      /* the first three */
#define THAW_COST_DEPTHWISE_RATES 5 /* the next five */
#define THAW_COST_FIRST_SCALAR_RATE THAW_RATE_GEMV
#define THAW_COST_SCALAR_RATES (THAW_RATE_UNARY - THAW_RATE_GEMV)

/* One node's work. The byte counts are exact products of tensor sizes; FLOPs saturate at
 * UINT64_MAX (only a hostile file's dims could get there). */
typedef struct thaw_cost_node {
  thaw_cost_class kernel_class;
  thaw_cost_rate rate;
  uint64_t flops;
  uint64_t activation_bytes_read, weight_bytes_read, bytes_written;
  /* What the rate is a function of. GEMM family: the shape of one product and how many run
   * (batches × groups; a convolution's n is its output pixels, k its taps per output). */
  uint64_t gemm_m, gemm_n, gemm_k, gemm_count;
  uint64_t row_width; /* depthwise: the output rows' width */
  /* THAW_RATE_UNARY: the function. GEMM family and depthwise: a fused activation that is not
   * a clamp runs as a separate pass over `activation_elements` outputs. */
  thaw_kernel_unary unary;
  uint64_t activation_elements;
  /* "3x3/s2 g32", "128x384x1536", "" ...: the shape facts behind the class, for reports. */
  char detail[48];
} thaw_cost_node;

/* The facts of node `index` of an open model. */
void thaw_cost_node_facts(const thaw_model *model, uint32_t index, thaw_cost_node *facts);

/* a + b, or UINT64_MAX when that overflows: FLOP totals of huge models saturate. */
static inline uint64_t thaw_cost_add_flops(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A model's FLOPs per run, the sum of its nodes' (saturating). */
uint64_t thaw_cost_run_flops(const thaw_model *model);

/* A model that does less arithmetic than this per run runs on the caller's thread whatever the
 * session's thread count: a second thread can save it a fraction of a millisecond at best,
 * while waking the workers, a hand-off per split node and outputs read from the other core's
 * cache cost it about as much, and more whenever the machine's other core is busy. PP-OCR
 * mobile v2.0 cls (34 MFLOP counted here, 0.5-0.7 ms on one thread), before this rule:
 * `thaw run cls.thaw --input x=random --repeat 300` on 1 and 2 threads alternated five times,
 * 0.59-1.21x as fast on two; scripts/bench_e2e.sh at 05:42, 0.89x. Every other bench model
 * does 600 MFLOP or more. */
#define THAW_COST_MIN_THREADED_RUN_FLOPS 100e6
/* Whether a model of `run_flops` per run is shared among a session's threads. */
bool thaw_cost_worth_threads(uint64_t run_flops);

/* ---- Calibration and prediction (calibrate.c) ---- */

/* The grid axes: rates are measured at every (m, n, k) of these, interpolated in log space
 * between them and held constant beyond them; the depthwise rates likewise over the output
 * width. */
#define THAW_COST_GRID_POINTS 3
extern const uint32_t thaw_cost_grid_m[THAW_COST_GRID_POINTS];
extern const uint32_t thaw_cost_grid_n[THAW_COST_GRID_POINTS];
extern const uint32_t thaw_cost_grid_k[THAW_COST_GRID_POINTS];
extern const uint32_t thaw_cost_grid_width[THAW_COST_GRID_POINTS];

typedef struct thaw_cost_rates {
  char isa[16]; /* the kernel table measured */
  /* Per second, in the unit thaw_cost_rate names. */
  double grid[THAW_COST_GRID_RATES][THAW_COST_GRID_POINTS][THAW_COST_GRID_POINTS]
             [THAW_COST_GRID_POINTS]; /* [rate][m][n][k] */
  double depthwise[THAW_COST_DEPTHWISE_RATES][THAW_COST_GRID_POINTS]; /* [rate][width] */
  double scalar[THAW_COST_SCALAR_RATES]; /* [rate - THAW_COST_FIRST_SCALAR_RATE] */
  double unary[THAW_KERNEL_LOG + 1];     /* elements/s of each unary function */
  double node_seconds;                   /* fixed cost of dispatching one node */
  double calibration_seconds;            /* the calibration's own CPU time */
} thaw_cost_rates;

/* Measure every rate with `kernels` (thaw_kernels_get() for what models run on), in the
 * calling thread's CPU time, so that other processes sharing the machine do not count. Takes a
 * few hundred milliseconds of CPU; OUT_OF_MEMORY when the probes' buffers cannot be
 * allocated. */
thaw_status thaw_cost_calibrate(const thaw_kernels *kernels, thaw_cost_rates *rates,
                                thaw_error *error);

/* How much faster `threads` threads run a kernel class than one. The one place that models
 * threading: the GEMM and convolution classes split their output over min(threads, cores);
 * every other class runs on one thread. */
double thaw_cost_thread_speedup(thaw_cost_class kernel_class, uint32_t threads);

/* Predicted seconds of one node: a roofline, the larger of its work at the rate measured for
 * its kernel and shape and its bytes at the copy bandwidth measured for that many bytes, plus
 * the separate activation pass when there is one and the per-node overhead. */
double thaw_cost_predict_seconds(const thaw_cost_rates *rates, const thaw_cost_node *facts,
                                 uint32_t threads);

#endif /* THAW_RUNTIME_COST_H */
