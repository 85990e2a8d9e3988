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

/* Quantized GEMM (qs8): C(i, j) = act(sa_i * sb_j * sum_k (qa(i, k) - za_i) * qb(k, j) + bias[j]),
 * int32 accumulation, fp32 requantization. B is a weight matrix quantized symmetrically per
 * column (per output channel, qb in [-127, 127], scale sb_j), packed offline by
 * thaw_qs8_gemm_pack_b. A is f32 and is quantized to int8 while the product runs, each row i
 * with its own scale sa_i and zero point za_i (thaw_qs8_input). A convolution is the same
 * product with A the im2col patches of the input, one row per output pixel (all with the
 * image's quantization), and B the weights [C*kh*kw, M].
 *
 * Packed B, the same on every ISA (THAW_LAYOUT_QS8_GEMM_PANEL16 in the file format): with
 * n16 = n rounded up to 16 and k4 = k rounded up to 4, n16 f32 column scales, then n16 int32
 * column sums (sum over k of qb(k, j), for the zero point of A), then n16/16 panels of
 * k4*16 bytes; panel p holds, for each group g of 4 rows in order, the 16 columns 16p..16p+15
 * as 4 bytes each: qb(4g, j), qb(4g+1, j), qb(4g+2, j), qb(4g+3, j). Everything past row k or
 * column n is zero. Four consecutive k per column is what AVX2's vpmaddubsw/vpmaddwd and
 * NEON's sdot consume; 16 columns are two ymm or four NEON registers. */
#define THAW_QS8_GEMM_NR 16
#define THAW_QS8_GEMM_KR 4

/* How A becomes int8. DYNAMIC quantizes at run time to 7 bits, each GEMM row (each convolution
 * input image) over its own range: with lo = min(0, min x) and hi = max(0, max x), scale =
 * (hi - lo) / 127 and zero point = clamp(round(-lo / scale), 0, 127) (all zeros get scale 1 and
 * zero point 0), and q = clamp(round(x / scale) + zero point, 0, 127). The 7 bits let AVX2's
 * vpmaddubsw take q as its unsigned operand without saturating (about 1.5x the speed of the
 * sign trick that full int8 needs). STATIC uses the given scale and zero point for every row, as a
 * QuantizeLinear of the model states them, with q = clamp(round(x / scale) + zero point, -128,
 * 127). DYNAMIC_TENSOR is ONNX's DynamicQuantizeLinear over all of A (every image of a
 * convolution's batch) at run time, as before the MatMulInteger or ConvInteger of ONNX Runtime's
 * dynamic quantization: with lo and hi over the whole tensor, scale = (hi - lo) / 255 and the
 * uint8 zero point z = clamp(round(-lo / scale), 0, 255), each uint8 level less 128 (zero point
 * z - 128, q clamped to [-128, 127]); when scale is 0 or has no finite inverse (only zeros, or
 * magnitudes below about 1e-36) every q is the zero point. Every mode rounds half to even and
 * quantizes NaN to its lowest value. */
typedef enum thaw_qs8_quantization {
  THAW_QS8_DYNAMIC,
  THAW_QS8_STATIC,
  THAW_QS8_DYNAMIC_TENSOR,
} thaw_qs8_quantization;

typedef struct thaw_qs8_input {
  thaw_qs8_quantization mode;
  float scale;        /* STATIC: finite and > 0; else unused */
  int32_t zero_point; /* STATIC: in [-128, 127]; else unused */
} thaw_qs8_input;

/* k is at most THAW_QS8_GEMM_MAX_K, which keeps |sum_k (qa - za) * qb| below 2^31. */
#define THAW_QS8_GEMM_MAX_K 65536
typedef struct thaw_qs8_gemm_params {
  size_t m, n, k;
  ptrdiff_t a_row_stride; /* A(i, k) is a[i * a_row_stride + k] */
  ptrdiff_t c_row_stride;
  thaw_qs8_input input;
  bool has_bias; /* bias[j] per column */
  thaw_unary_params activation;
} thaw_qs8_gemm_params;

/* Bytes of the packed B; SIZE_MAX when that does not fit in size_t. */
size_t thaw_qs8_gemm_packed_b_size(size_t k, size_t n);
/* Pack int8 weights B(k, j) = b[k * b_row_stride + j * b_column_stride], each in [-127, 127],
 * with their column scales, computing the column sums. */
void thaw_qs8_gemm_pack_b(size_t k, size_t n, const int8_t *b, ptrdiff_t b_row_stride,
                          ptrdiff_t b_column_stride, const float *scales, void *packed);
/* Scratch of the qs8 drivers per thread, the same for every ISA (bytes). The convolution takes
 * groups == 1 and weights packed as B [in_channels*kh*kw, out_channels]. */
size_t thaw_qs8_gemm_scratch_size(const thaw_qs8_gemm_params *p);
size_t thaw_qs8_conv2d_scratch_size(const thaw_conv2d_params *p);
/* ONNX's QuantizeLinear and DequantizeLinear (FORMAT.md) over X viewed as [outer][channels]
 * [inner]: element (o, c, i) uses scale[c] and zero_point[c] (per tensor: channels 1). The
 * quantized side (Y of a quantize, X of a dequantize) and zero_point have dtype `quantized`: I8
 * or U8, or I32 for a dequantize. zero_point may be NULL (0). Quantize: y = clamp(round half
 * to even(x / scale) + zero_point) to the dtype's range, NaN to its lowest value. Dequantize:
 * y = (float(x) - float(zero_point)) * scale. */
typedef struct thaw_quantize_params {
  size_t outer, channels, inner;
  thaw_dtype quantized;
} thaw_quantize_params;

/* LSTM and GRU over a whole sequence, ONNX semantics with the default activations (sigmoid,
 * tanh, tanh). W [input_size, directions * direction_columns] and R [hidden_size, directions *
 * direction_columns] are GEMM B operands (THAW_GEMM_PANEL16 when *_packed, else row-major):
 * direction d owns the direction_columns columns from d * direction_columns, holding the gates
 * in ONNX order (LSTM i o f c, H columns each from 0; GRU z r from 0, the candidate from
 * candidate_column), the transposed ONNX gate blocks. bias [directions * direction_columns]
 * (same columns, may be NULL) is added to the input projection X * W. The GRU candidate_bias
 * [directions, hidden] (linear_before_reset only, may be NULL) is added to h * R_candidate
 * before the reset gate scales it.
 *
 * Sequence layouts are described by strides counted in rows (of input_size floats for X, of
 * hidden_size floats for the others): row (t, b) of X is t * x_step_stride + b *
 * x_batch_stride; Y's row (t, d, b) is t * y_step_stride + d * y_direction_stride + b *
 * y_batch_stride; the states (initial_h, initial_c, y_h, y_c) hold row (d, b) at d *
 * state_direction_stride + b * state_batch_stride. */
typedef enum thaw_rnn_cell {
  THAW_RNN_LSTM,
  THAW_RNN_GRU,
} thaw_rnn_cell;

typedef struct thaw_rnn_params {
  thaw_rnn_cell cell;
  size_t steps, batch, input_size, hidden_size, directions;
  bool reverse;             /* a single direction that walks the sequence from its end */
  bool linear_before_reset; /* GRU */
  bool w_packed, r_packed;
  size_t direction_columns, candidate_column;
  size_t x_step_stride, x_batch_stride;
  size_t y_step_stride, y_direction_stride, y_batch_stride;
  size_t state_direction_stride, state_batch_stride;
} thaw_rnn_params;

/* The operands of one recurrent node; optional inputs and unwanted outputs are NULL. An absent
 * initial_h or initial_c starts from zeros. */
typedef struct thaw_rnn_tensors {
  const float *x, *w, *r, *bias, *candidate_bias, *initial_h, *initial_c;
  float *y, *y_h, *y_c;
} thaw_rnn_tensors;
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
                               const float *bias, float *y, const thaw_parallel *parallel);
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
  /* Concatenate along an axis: each output row appends each input's row of row_bytes[i] bytes;
   * only bytes [first_byte, end_byte) of the output are written. Split is the inverse, for
   * `outer` rows. */
  void (*concat)(size_t count, const size_t *row_bytes, const void *const *x, void *y,
                 size_t first_byte, size_t end_byte);
  void (*split)(size_t outer, size_t count, const size_t *row_bytes, const void *x,
                void *const *y);
  /* Returns false (and writes nothing further) when an index is outside [-axis_size,
   * axis_size); *bad_index receives it. */
  bool (*gather)(const thaw_gather_params *p, const void *x, const void *indices, void *y,
                 int64_t *bad_index);
  /* gather of an int8 table whose slice i along the axis is scales[i] * x[..., i, ...]; same
   * index rules. */
  bool (*qs8_gather)(const thaw_gather_params *p, const int8_t *x, const void *indices,
                     const float *scales, float *y, int64_t *bad_index);
  /* Element conversion; float to integer truncates toward zero, to bool is x != 0. */
  void (*cast)(thaw_dtype from, thaw_dtype to, size_t n, const void *x, void *y);
  /* z = cond ? x : y with broadcasting (strides[0] cond, [1] x, [2] y). */
  void (*where)(size_t element_size, const thaw_broadcast *iter, const uint8_t *cond,
                const void *x, const void *y, void *z);
  /* Quantized products (see thaw_qs8_gemm_params); bias may be NULL. scratch holds one slice
   * of thaw_qs8_gemm_scratch_size / thaw_qs8_conv2d_scratch_size bytes per thread. */
  void (*qs8_gemm)(const thaw_qs8_gemm_params *p, const float *a, const void *packed_b,
                   const float *bias, float *c, void *scratch, const thaw_parallel *parallel);
  void (*qs8_conv2d)(const thaw_conv2d_params *p, const thaw_qs8_input *input, const float *x,
                     const void *packed_w, const float *bias, float *y, void *scratch,
                     const thaw_parallel *parallel);
  /* ONNX linear quantization (thaw_quantize_params). The dynamic form quantizes n floats to
   * u8 over their own range, as ONNX's DynamicQuantizeLinear, writing its scale and zero point
   * (an x of zeros gets scale 0 and zero point 0). */
  void (*quantize_linear)(const thaw_quantize_params *p, const float *x, const float *scale,
                          const void *zero_point, void *y);
  void (*dequantize_linear)(const thaw_quantize_params *p, const void *x, const float *scale,
                            const void *zero_point, float *y);
  void (*dynamic_quantize_linear)(size_t n, const float *x, uint8_t *y, float *scale,
                                  uint8_t *zero_point);
  /* LSTM or GRU (p->cell) through this table's f32_gemm and its own gate kernels; scratch
   * holds f32_rnn_scratch_size(p) bytes, 64-byte aligned (SIZE_MAX: too large to exist). */
  void (*f32_rnn)(const thaw_rnn_params *p, const thaw_rnn_tensors *t, void *scratch);
  size_t (*f32_rnn_scratch_size)(const thaw_rnn_params *p);
} thaw_kernels;

/* The best kernels for this CPU, chosen once (thread-safe). */
const thaw_kernels *thaw_kernels_get(void);
/* The scalar reference, the oracle for every other variant. */
const thaw_kernels *thaw_kernels_scalar(void);
/* Every kernel table this CPU can run, the scalar reference first; for the shared testers. */
size_t thaw_kernels_variants(const thaw_kernels **tables, size_t capacity);

#endif /* THAW_KERNELS_H */
