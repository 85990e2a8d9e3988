/*
 * Kernels: plain functions over pointers and sizes. They know nothing of files, graphs or
 * sessions. The executor calls them only through the table returned by thaw_kernels_get(), so
 * it never names an ISA; adding an ISA means adding files here and entries in dispatch.c.
 *
 * Layout conventions: tensors are dense row-major unless a stride says otherwise; float data
 * is f32. Parameters are prepared once (at model open) and passed by pointer.
 */
#ifndef THAW_KERNELS_H
#define THAW_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "thaw.h"

/* Elementwise function, standalone or fused into a producer's output. */
typedef enum thaw_kernel_unary {
  THAW_KERNEL_IDENTITY,
  THAW_KERNEL_RELU,
  THAW_KERNEL_CLIP,         /* min(max(x, alpha), beta) */
  THAW_KERNEL_SIGMOID,
  THAW_KERNEL_HARD_SIGMOID, /* max(0, min(1, alpha*x + beta)) */
  THAW_KERNEL_HARD_SWISH,   /* x * max(0, min(1, x/6 + 1/2)) */
  THAW_KERNEL_TANH,
  THAW_KERNEL_ERF,
  THAW_KERNEL_GELU,         /* x/2 * (1 + erf(x/sqrt 2)) */
  THAW_KERNEL_SILU,
  THAW_KERNEL_LEAKY_RELU,   /* x < 0 ? alpha*x : x */
  THAW_KERNEL_SQRT,
  THAW_KERNEL_EXP,
  THAW_KERNEL_NEG,
  THAW_KERNEL_ABS,
  THAW_KERNEL_RECIPROCAL,
  THAW_KERNEL_LOG,
} thaw_kernel_unary;

typedef struct thaw_unary_params {
  thaw_kernel_unary func;
  float alpha, beta;
} thaw_unary_params;

typedef enum thaw_kernel_binary {
  THAW_KERNEL_ADD,
  THAW_KERNEL_SUB,
  THAW_KERNEL_MUL,
  THAW_KERNEL_DIV,
  THAW_KERNEL_POW,
  THAW_KERNEL_MAX,
  THAW_KERNEL_MIN,
} thaw_kernel_binary;

/* An N-d iteration over a dense output of `shape`, reading up to three operands through
 * element strides (0 on a broadcast axis). Used by binary ops, Where and the strided copy. */
typedef struct thaw_broadcast {
  uint32_t rank; /* >= 1; a scalar is rank 1, shape {1} */
  size_t shape[THAW_MAX_RANK];
  ptrdiff_t strides[3][THAW_MAX_RANK];
} thaw_broadcast;

typedef struct thaw_binary_params {
  thaw_kernel_binary func;
  thaw_broadcast iter; /* strides[0] for a, strides[1] for b */
} thaw_binary_params;

typedef struct thaw_conv2d_params {
  size_t batch, in_channels, in_height, in_width;
  size_t out_channels, out_height, out_width;
  size_t kernel_height, kernel_width, groups;
  size_t stride_h, stride_w, dilation_h, dilation_w;
  size_t pad_top, pad_left; /* bottom/right padding follows from the output size */
  thaw_unary_params activation;
} thaw_conv2d_params;

typedef struct thaw_pool2d_params {
  size_t batch_channels, in_height, in_width, out_height, out_width;
  size_t kernel_height, kernel_width, stride_h, stride_w, dilation_h, dilation_w;
  size_t pad_top, pad_left, pad_bottom, pad_right;
  bool count_include_pad; /* average: divide by the window clipped to the padded input */
} thaw_pool2d_params;

/* Y = X read through arbitrary (possibly negative or zero) element strides from `x`:
 * Transpose, Slice and Expand are all this copy. */
typedef struct thaw_strided_copy_params {
  size_t element_size;
  thaw_broadcast iter; /* strides[0] for x */
} thaw_strided_copy_params;

typedef struct thaw_pad_params {
  uint32_t rank;
  size_t in_shape[THAW_MAX_RANK], out_shape[THAW_MAX_RANK], begin[THAW_MAX_RANK];
  int mode; /* 1 constant, 2 reflect, 3 edge (as in the format) */
  float value;
} thaw_pad_params;

typedef struct thaw_resize_params {
  uint32_t rank;
  size_t in_shape[THAW_MAX_RANK], out_shape[THAW_MAX_RANK];
  float scales[THAW_MAX_RANK];
  int mode, coordinates, nearest; /* codes as in the format's resize attributes */
} thaw_resize_params;

/* Rows of `outer`, then `count` slices along the axis, then `inner` contiguous elements. */
typedef struct thaw_gather_params {
  size_t element_size, outer, axis_size, inner, index_count;
  bool indices_are_i64; /* else i32 */
} thaw_gather_params;

/* GEMM: c[i][j] = act(sum_k A(i,k) * B(k,j) + bias), for every use of a matrix product
 * (fully connected layers, 1x1 and im2col convolutions, attention).
 *
 * A is read element by element through two strides, so a row-major activation (a_row_stride =
 * k, a_k_stride = 1) and a row-major weight matrix serve alike. B is either prepacked
 * (THAW_GEMM_PANEL16 below, made offline by thaw_f32_gemm_pack_b) or plain, with element (k, j)
 * at b[k * b_row_stride + j * b_column_stride]; a plain B is packed into scratch panel by panel
 * as the product walks it. C is row-major with c_row_stride. */
#define THAW_GEMM_NR 16

typedef enum thaw_gemm_bias {
  THAW_GEMM_BIAS_NONE,
  THAW_GEMM_BIAS_PER_COLUMN, /* bias[j]: a fully connected layer's bias */
  THAW_GEMM_BIAS_PER_ROW,    /* bias[i]: a convolution's per-output-channel bias */
} thaw_gemm_bias;

typedef struct thaw_gemm_params {
  size_t m, n, k;
  ptrdiff_t a_row_stride, a_k_stride;
  bool b_packed; /* B is THAW_GEMM_PANEL16; the strides below are then unused */
  ptrdiff_t b_row_stride, b_column_stride;
  ptrdiff_t c_row_stride;
  thaw_gemm_bias bias;
  thaw_unary_params activation;
} thaw_gemm_params;

/* The packed B layout, the same on every ISA (16 columns are two AVX2 or four NEON registers):
 * ceil(n/16) panels in column order; panel p holds, for each of the k rows in order, the 16
 * floats B(k, 16p .. 16p+15), zero past column n. */
size_t thaw_f32_gemm_packed_b_size(size_t k, size_t n); /* bytes */
void thaw_f32_gemm_pack_b(size_t k, size_t n, const float *b, ptrdiff_t b_row_stride,
                          ptrdiff_t b_column_stride, float *packed);

/* Work split, for the kernels that parallelise. A kernel cuts its output into task_count
 * independent pieces (tiles of C, output channels, rows: never the reduction dimension, so
 * each output value is computed the same way whatever the split and the thread count) and
 * hands them to run(), which calls task(context, thread_index, task_index) once for each task
 * index, on any of thread_count threads, in any order, and returns when all are done. Kernels
 * never see threads. A kernel with scratch receives one slice per thread, the slice of thread t
 * at t * thaw_scratch_slice_bytes(bytes the kernel's scratch_size asks for): a task works in
 * its thread's slice, and a kernel may also share one slice between all tasks of a run() (the
 * convolution gathers a small image's columns that way). run() may also skip tasks (a run that
 * passed its deadline): the output is then incomplete. */
typedef void (*thaw_parallel_task)(void *context, size_t thread_index, size_t task_index);
typedef struct thaw_parallel {
  size_t thread_count; /* >= 1 */
  void (*run)(const struct thaw_parallel *parallel, size_t task_count, thaw_parallel_task task,
              void *context);
} thaw_parallel;

/* One thread: every task in order on the caller's thread. */
extern const thaw_parallel thaw_parallel_serial;

#define THAW_SCRATCH_ALIGNMENT 64
/* The stride between per-thread scratch slices of `bytes` (a scratch size that fitted in a
 * session, so the rounding cannot overflow). */
static inline size_t thaw_scratch_slice_bytes(size_t bytes) {
  return (bytes + THAW_SCRATCH_ALIGNMENT - 1) / THAW_SCRATCH_ALIGNMENT * THAW_SCRATCH_ALIGNMENT;
}

/* How many tasks to cut `units` equal units of work of `unit_flops` each into: one on one
 * thread; otherwise a few per thread, so that threads finishing early take more (balance
 * within one task), but none smaller than a hand-off to another thread is worth. */
size_t thaw_parallel_task_count(const thaw_parallel *parallel, size_t units, double unit_flops);

typedef struct thaw_kernels {
  const char *isa; /* "scalar", ... */

  void (*f32_unary)(const thaw_unary_params *p, size_t n, const float *x, float *y);
  void (*f32_binary)(const thaw_binary_params *p, const float *a, const float *b, float *y);
  /* w is [out_channels][in_channels/groups * kh * kw] row-major, as ONNX stores it. */
  void (*f32_conv2d)(const thaw_conv2d_params *p, const float *x, const float *w,
                     const float *bias, float *y, void *scratch, const thaw_parallel *parallel);
  size_t (*f32_conv2d_scratch_size)(const thaw_conv2d_params *p); /* bytes per thread */
  void (*f32_gemm)(const thaw_gemm_params *p, const float *a, const float *b, const float *bias,
                   float *c, void *scratch, const thaw_parallel *parallel);
  size_t (*f32_gemm_scratch_size)(const thaw_gemm_params *p); /* bytes per thread */
  /* w is [in_channels, out_channels/groups, kh, kw]. */
  void (*f32_conv_transpose2d)(const thaw_conv2d_params *p, const float *x, const float *w,
                               const float *bias, float *y);
  void (*f32_max_pool2d)(const thaw_pool2d_params *p, const float *x, float *y);
  void (*f32_average_pool2d)(const thaw_pool2d_params *p, const float *x, float *y);
  void (*f32_global_average_pool)(size_t channels, size_t spatial, const float *x, float *y);
  /* Over [outer][axis_size][inner]. */
  void (*f32_softmax)(size_t outer, size_t axis_size, size_t inner, const float *x, float *y);
  /* Normalise each of `rows` rows of `cols`; bias may be NULL. */
  void (*f32_layer_norm)(size_t rows, size_t cols, float epsilon, const float *x,
                         const float *scale, const float *bias, float *y);
  /* Mean over the middle axis of [outer][reduce][inner]. */
  void (*f32_reduce_mean)(size_t outer, size_t reduce, size_t inner, const float *x, float *y);
  /* y[n][c][i] = x[n][c][i] * scale[c] + shift[c] over [outer][channels][inner]. */
  void (*f32_channel_affine)(size_t outer, size_t channels, size_t inner, const float *x,
                             const float *scale, const float *shift, float *y);
  void (*f32_pad)(const thaw_pad_params *p, const float *x, float *y);
  void (*f32_resize)(const thaw_resize_params *p, const float *x, float *y);
  void (*strided_copy)(const thaw_strided_copy_params *p, const void *x, void *y);
  /* Concatenate along an axis: for each of `outer` rows, append each input's row of
   * row_bytes[i] bytes. Split is the inverse. */
  void (*concat)(size_t outer, size_t count, const size_t *row_bytes, const void *const *x,
                 void *y);
  void (*split)(size_t outer, size_t count, const size_t *row_bytes, const void *x,
                void *const *y);
  /* Returns false (and writes nothing further) when an index is outside [-axis_size,
   * axis_size); *bad_index receives it. */
  bool (*gather)(const thaw_gather_params *p, const void *x, const void *indices, void *y,
                 int64_t *bad_index);
  /* Element conversion; float to integer truncates toward zero, to bool is x != 0. */
  void (*cast)(thaw_dtype from, thaw_dtype to, size_t n, const void *x, void *y);
  /* z = cond ? x : y with broadcasting (strides[0] cond, [1] x, [2] y). */
  void (*where)(size_t element_size, const thaw_broadcast *iter, const uint8_t *cond,
                const void *x, const void *y, void *z);
} thaw_kernels;

/* The best kernels for this CPU, chosen once (thread-safe). */
const thaw_kernels *thaw_kernels_get(void);
/* The scalar reference, the oracle for every other variant. */
const thaw_kernels *thaw_kernels_scalar(void);
/* Every kernel table this CPU can run, the scalar reference first; for the shared testers. */
size_t thaw_kernels_variants(const thaw_kernels **tables, size_t capacity);

#endif /* THAW_KERNELS_H */
