/*
 * The .thaw file format: on-disk constants, the op contract, and the reader and writer APIs.
 * formats/FORMAT.md is the normative description of the bytes; this header mirrors it.
 *
 * This module describes and validates bytes. It knows nothing of execution: the runtime checks
 * the shapes each op relates and picks kernels.
 */
#ifndef THAW_FORMAT_H
#define THAW_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "thaw.h"

#define THAW_FORMAT_MAGIC "\x89THAW\r\n\x1a"
#define THAW_FORMAT_MAGIC_SIZE 8
#define THAW_FORMAT_MAJOR 1
/* The newest minor version this reader knows; writers stamp the lowest one a file needs. */
#define THAW_FORMAT_MINOR 6

#define THAW_FORMAT_HEADER_SIZE 64
#define THAW_FORMAT_SECTION_ENTRY_SIZE 24
#define THAW_FORMAT_TENSOR_RECORD_SIZE 96
#define THAW_FORMAT_NODE_RECORD_SIZE 32
/* Weight blobs start at multiples of this file offset; the weights section at a page. */
#define THAW_FORMAT_BLOB_ALIGNMENT 64
#define THAW_FORMAT_WEIGHTS_ALIGNMENT 4096
/* Activation offsets in the arena are multiples of this. */
#define THAW_FORMAT_ARENA_ALIGNMENT 64
/* Limits that keep validation cheap and sizes far from overflow (FORMAT.md, "Limits"). */
#define THAW_FORMAT_MAX_STRING_LENGTH 1024
#define THAW_FORMAT_MAX_ARENA_BYTES (UINT64_C(1) << 40)

/* Header flags. */
enum {
  THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM = 1u << 0, /* header.weights_checksum is meaningful */
};

typedef enum thaw_section_kind {
  THAW_SECTION_STRINGS = 1,
  THAW_SECTION_TENSORS = 2,
  THAW_SECTION_GRAPH = 3,
  THAW_SECTION_PLAN = 4,
  THAW_SECTION_META = 5,
  THAW_SECTION_WEIGHTS = 6,
  THAW_SECTION_STATE = 7, /* format 1.2, optional: state pairs (FORMAT.md, "STATE") */
} thaw_section_kind;

typedef enum thaw_tensor_kind {
  THAW_TENSOR_CONSTANT = 1,   /* bytes in the weights section */
  THAW_TENSOR_ACTIVATION = 2, /* bytes in the session arena, at the planned offset */
} thaw_tensor_kind;

/* How a tensor's bytes are arranged; the logical shape is the same in every layout.
 * PLAIN is row-major in the logical shape. F32_GEMM_PANEL16 (format 1.1) is a rank-2 f32
 * constant [K, N], the B operand of a MATMUL, stored as ceil(N/16) panels of 16 columns: panel
 * p holds, for k = 0..K-1 in order, the 16 floats B(k, 16p .. 16p+15), zero past column N.
 * It is ISA-neutral (16 floats are two AVX2 or four NEON registers).
 * QS8_GEMM_PANEL16 (format 1.2) is an i8 constant holding quantized weights with their column
 * scales and sums: a rank-2 [K, N] B operand of a QS8_MATMUL, or a rank-4 [M, C, KH, KW] weight
 * of a QS8_CONV, which is the B operand [C*KH*KW, M]. With N16 = N rounded up to 16 and K4 = K
 * rounded up to 4 it holds N16 f32 column scales, N16 i32 column sums, then N16/16 panels of
 * K4*16 bytes, each 16 columns in groups of 4 consecutive k (FORMAT.md). */
typedef enum thaw_layout {
  THAW_LAYOUT_PLAIN = 0,
  THAW_LAYOUT_F32_GEMM_PANEL16 = 1,
  THAW_LAYOUT_QS8_GEMM_PANEL16 = 2,
} thaw_layout;
#define THAW_LAYOUT_MAX 2
#define THAW_LAYOUT_PANEL16_WIDTH 16

/* "plain", "f32_gemm_panel16", or NULL for an unknown layout code. */
const char *thaw_layout_name(uint32_t layout);
/* Bytes of a [k, n] f32 matrix in THAW_LAYOUT_F32_GEMM_PANEL16: ceil(n/16)*16*k*4; false when
 * that overflows 64 bits. */
bool thaw_layout_panel16_size(uint64_t k, uint64_t n, uint64_t *size);
/* The GEMM shape [k, n] of a tensor in THAW_LAYOUT_QS8_GEMM_PANEL16 (rank 2 [K, N] or rank 4
 * [M, C, KH, KW]) and its bytes, N16 * (K4 + 8); false for another rank or when a size
 * overflows 64 bits. */
bool thaw_layout_qs8_panel16_size(uint32_t rank, const int64_t *shape, uint64_t *k, uint64_t *n,
                                  uint64_t *size);

/* ---- The op contract. Shapes are static: every tensor's shape is in the directory. ---- */

typedef enum thaw_op {
  THAW_OP_CONV = 1,            /* X[N,C,H,W] W[M,C/g,KH,KW] [B[M]] -> Y[N,M,OH,OW]   conv attrs */
  THAW_OP_CONV_TRANSPOSE = 2,  /* X[N,C,H,W] W[C,M/g,KH,KW] [B[M]] -> Y[N,M,OH,OW]   conv attrs */
  THAW_OP_MATMUL = 3,          /* A[...,M,K] B[...,K,N] [bias[N]] -> Y[...,M,N]    matmul attrs */
  THAW_OP_BINARY = 4,          /* A B -> Y, NumPy broadcasting                     binary attrs */
  THAW_OP_UNARY = 5,           /* X -> Y, same shape                              unary attrs */
  THAW_OP_SOFTMAX = 6,         /* X -> Y over one axis                            axis attrs */
  THAW_OP_LAYER_NORM = 7,      /* X scale [bias] -> Y over axes [axis, rank)       layer_norm */
  THAW_OP_MAX_POOL = 8,        /* X[N,C,H,W] -> Y[N,C,OH,OW]                       pool attrs */
  THAW_OP_AVERAGE_POOL = 9,    /* X[N,C,H,W] -> Y[N,C,OH,OW]                       pool attrs */
  THAW_OP_GLOBAL_AVERAGE_POOL = 10, /* X[N,C,H,W] -> Y[N,C,1,1]                     none */
  THAW_OP_CONCAT = 11,         /* X0 X1 ... -> Y along axis                        axis attrs */
  THAW_OP_SPLIT = 12,          /* X -> Y0 Y1 ... along axis (sizes from outputs)   axis attrs */
  THAW_OP_SLICE = 13,          /* X -> Y, Y[i] = X[start + i*step] per axis         slice attrs */
  THAW_OP_TRANSPOSE = 14,      /* X -> Y, Y dim d = X dim perm[d]                  transpose */
  THAW_OP_RESHAPE = 15,        /* X -> Y, same bytes, new shape (a view when planned so) none */
  THAW_OP_GATHER = 16,         /* data indices(i32/i64) -> Y along axis            axis attrs */
  THAW_OP_RESIZE = 17,         /* X -> Y                                          resize attrs */
  THAW_OP_PAD = 18,            /* X -> Y                                          pad attrs */
  THAW_OP_REDUCE_MEAN = 19,    /* X -> Y, mean over a contiguous range of axes     reduce attrs */
  THAW_OP_CAST = 20,           /* X -> Y, dtype of Y                              none */
  THAW_OP_WHERE = 21,          /* cond(bool) X Y -> Z, NumPy broadcasting          none */
  THAW_OP_CHANNEL_AFFINE = 22, /* X[N,C,...] scale[C] shift[C] -> Y (inference BatchNorm) none */
  THAW_OP_EXPAND = 23,         /* X -> Y, NumPy broadcasting of X to Y's shape     none */
  /* Quantized products (format 1.2): f32 in and out, int8 inside; W is an i8 constant in
   * THAW_LAYOUT_QS8_GEMM_PANEL16. */
  THAW_OP_QS8_MATMUL = 24,     /* A[...,K] W[K,N] [B[N]] -> Y[...,N]              qs8_matmul */
  THAW_OP_QS8_CONV = 25,       /* X[N,C,H,W] W[M,C,KH,KW] [B[M]] -> Y[N,M,OH,OW]  qs8_conv */
  /* ONNX's linear quantization (format 1.2), elementwise: per tensor (scale and zero_point of
   * one element) or per axis (of shape [X dim axis]); zero_point has Y's (X's) integer dtype. */
  THAW_OP_QUANTIZE_LINEAR = 26,   /* X(f32) scale(f32) [zero_point] -> Y(i8/u8)       axis attrs */
  THAW_OP_DEQUANTIZE_LINEAR = 27, /* X(i8/u8/i32) scale(f32) [zero_point] -> Y(f32)  axis attrs */
  THAW_OP_DYNAMIC_QUANTIZE_LINEAR = 28, /* X(f32) -> Y(u8) scale[1](f32) zero_point[1](u8) none */
  THAW_OP_LSTM = 30,           /* X W R [B H0 C0] -> [Y Y_h Y_c] (format 1.2)      recurrent */
  THAW_OP_GRU = 31,            /* X W R [B H0 RB] -> [Y Y_h] (format 1.2)          recurrent */
  /* MATMUL reading A and B through transposes and writing Y through one (format 1.3): the
   * attention heads' split, Kᵀ and merge without copies. */
  THAW_OP_PERMUTED_MATMUL = 32, /* A B [bias[N]] -> Y, all rank r             permuted_matmul */
  /* CONCAT whose parts the arena plan placed at their slices of Y, which nothing before the
   * axis but 1s makes contiguous (format 1.4): the producers wrote Y, nothing is copied. */
  THAW_OP_CONCAT_IN_PLACE = 33, /* X0 X1 ... -> Y along axis                   axis attrs */
  /* GATHER from an int8 table whose slices along the axis each have a scale (format 1.6): an
   * embedding table at a quarter of its f32 bytes. */
  THAW_OP_QS8_GATHER = 34, /* data(i8) indices(i32/i64) scales[data dim axis](f32) -> Y(f32)  axis */
} thaw_op;
#define THAW_OP_MAX 34

/* Elementwise functions, standalone (UNARY) or fused into CONV/MATMUL outputs. */
typedef enum thaw_unary_func {
  THAW_UNARY_IDENTITY = 0,
  THAW_UNARY_RELU = 1,
  THAW_UNARY_CLIP = 2,         /* min(max(x, alpha), beta) */
  THAW_UNARY_SIGMOID = 3,
  THAW_UNARY_HARD_SIGMOID = 4, /* max(0, min(1, alpha*x + beta)) */
  THAW_UNARY_HARD_SWISH = 5,   /* x * max(0, min(1, x/6 + 1/2)) */
  THAW_UNARY_TANH = 6,
  THAW_UNARY_ERF = 7,
  THAW_UNARY_GELU = 8,         /* x/2 * (1 + erf(x/sqrt 2)) */
  THAW_UNARY_SILU = 9,         /* x * sigmoid(x) */
  THAW_UNARY_LEAKY_RELU = 10,  /* x < 0 ? alpha*x : x */
  THAW_UNARY_SQRT = 11,
  THAW_UNARY_EXP = 12,
  THAW_UNARY_NEG = 13,
  THAW_UNARY_ABS = 14,
  THAW_UNARY_RECIPROCAL = 15,
  THAW_UNARY_LOG = 16,
} thaw_unary_func;
#define THAW_UNARY_FUNC_MAX 16

typedef enum thaw_binary_func {
  THAW_BINARY_ADD = 1,
  THAW_BINARY_SUB = 2,
  THAW_BINARY_MUL = 3,
  THAW_BINARY_DIV = 4,
  THAW_BINARY_POW = 5,
  THAW_BINARY_MAX = 6,
  THAW_BINARY_MIN = 7,
} thaw_binary_func;
#define THAW_BINARY_FUNC_MAX 7

/* Attribute blobs: little-endian, fixed size per op, no padding. Readers copy them out. */
typedef struct thaw_unary_attrs {
  uint32_t func; /* thaw_unary_func */
  float alpha;
  float beta;
} thaw_unary_attrs;

typedef struct thaw_conv_attrs {
  uint32_t stride_h, stride_w;
  uint32_t dilation_h, dilation_w;
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
  uint32_t groups;
  uint32_t output_padding_h, output_padding_w; /* CONV_TRANSPOSE only; 0 for CONV */
  thaw_unary_attrs activation;
} thaw_conv_attrs;

typedef struct thaw_matmul_attrs {
  thaw_unary_attrs activation;
} thaw_matmul_attrs;

/* Y = Transpose(MatMul(Transpose(A, a_perm), Transpose(B, b_perm)) + bias, y_perm), each
 * perm a permutation of [0, r) (entries past r are 0) as in thaw_transpose_attrs. y_perm
 * keeps the last axis (the product's columns stay contiguous); the bias may be [1, ..., 1, N]. */
typedef struct thaw_permuted_matmul_attrs {
  thaw_unary_attrs activation;
  uint32_t a_perm[THAW_MAX_RANK], b_perm[THAW_MAX_RANK], y_perm[THAW_MAX_RANK];
} thaw_permuted_matmul_attrs;

/* How a quantized op turns its f32 input into int8 (kernels.h, thaw_qs8_input). */
typedef enum thaw_qs8_input_mode {
  THAW_QS8_INPUT_DYNAMIC = 0, /* per row, from the row's range; scale and zero_point are 0 */
  THAW_QS8_INPUT_STATIC = 1,  /* scale finite and > 0, zero_point in [-128, 127] */
  /* per tensor, as ONNX's DynamicQuantizeLinear; scale and zero_point are 0 */
  THAW_QS8_INPUT_DYNAMIC_TENSOR = 2,
} thaw_qs8_input_mode;

typedef struct thaw_qs8_input_attrs {
  uint32_t mode; /* thaw_qs8_input_mode */
  float scale;
  int32_t zero_point;
} thaw_qs8_input_attrs;

typedef struct thaw_qs8_matmul_attrs {
  thaw_qs8_input_attrs input;
  thaw_unary_attrs activation;
} thaw_qs8_matmul_attrs;

typedef struct thaw_qs8_conv_attrs {
  thaw_conv_attrs conv; /* groups 1, output_padding 0 */
  thaw_qs8_input_attrs input;
} thaw_qs8_conv_attrs;

typedef struct thaw_binary_attrs {
  uint32_t func; /* thaw_binary_func */
} thaw_binary_attrs;

typedef struct thaw_axis_attrs {
  uint32_t axis; /* already normalised to [0, rank) */
} thaw_axis_attrs;

typedef struct thaw_layer_norm_attrs {
  uint32_t axis;
  float epsilon;
} thaw_layer_norm_attrs;

typedef struct thaw_pool_attrs {
  uint32_t kernel_h, kernel_w;
  uint32_t stride_h, stride_w;
  uint32_t dilation_h, dilation_w;
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
  uint32_t ceil_mode;         /* 0 or 1: output size rounds up */
  uint32_t count_include_pad; /* AVERAGE_POOL: 0 or 1 */
} thaw_pool_attrs;

typedef struct thaw_slice_attrs {
  int32_t starts[THAW_MAX_RANK]; /* first index read on each axis, in [0, dim) */
  int32_t steps[THAW_MAX_RANK];  /* non-zero; negative walks backwards */
} thaw_slice_attrs;

typedef struct thaw_transpose_attrs {
  uint32_t perm[THAW_MAX_RANK]; /* a permutation of [0, rank); entries past rank are 0 */
} thaw_transpose_attrs;

typedef enum thaw_resize_mode {
  THAW_RESIZE_NEAREST = 1,
  THAW_RESIZE_LINEAR = 2,
} thaw_resize_mode;

typedef enum thaw_resize_coordinates {
  THAW_RESIZE_HALF_PIXEL = 1,
  THAW_RESIZE_ASYMMETRIC = 2,
  THAW_RESIZE_ALIGN_CORNERS = 3,
  THAW_RESIZE_PYTORCH_HALF_PIXEL = 4,
} thaw_resize_coordinates;

typedef enum thaw_resize_nearest {
  THAW_RESIZE_ROUND_PREFER_FLOOR = 1,
  THAW_RESIZE_ROUND_PREFER_CEIL = 2,
  THAW_RESIZE_FLOOR = 3,
  THAW_RESIZE_CEIL = 4,
} thaw_resize_nearest;

typedef struct thaw_resize_attrs {
  uint32_t mode;        /* thaw_resize_mode */
  uint32_t coordinates; /* thaw_resize_coordinates */
  uint32_t nearest;     /* thaw_resize_nearest, for NEAREST */
  float scales[THAW_MAX_RANK]; /* output/input per axis, as the model states it */
} thaw_resize_attrs;

typedef enum thaw_pad_mode {
  THAW_PAD_CONSTANT = 1,
  THAW_PAD_REFLECT = 2,
  THAW_PAD_EDGE = 3,
} thaw_pad_mode;

typedef struct thaw_pad_attrs {
  uint32_t mode; /* thaw_pad_mode */
  float value;   /* CONSTANT */
  uint32_t begin[THAW_MAX_RANK]; /* elements added before each axis; after = out - in - begin */
} thaw_pad_attrs;

typedef struct thaw_reduce_attrs {
  uint32_t first_axis; /* reduce over axes [first_axis, first_axis + axis_count) */
  uint32_t axis_count;
} thaw_reduce_attrs;

/* LSTM and GRU (FORMAT.md, "Recurrent ops"). Weights are stored for the GEMM: W [I, D*S] and
 * R [H, D*S] hold, for direction d, the transposed ONNX gate blocks in the S columns from d*S,
 * each gate's H columns at thaw_recurrent_gate_column; B [D*S] is the input projection's bias
 * in the same columns. S = thaw_recurrent_direction_columns(op, H) keeps every direction (and
 * the GRU candidate gate) on a 16-column panel boundary, so a packed R splits into directions
 * and gates without a copy. */
typedef enum thaw_recurrent_direction {
  THAW_RECURRENT_FORWARD = 0,
  THAW_RECURRENT_REVERSE = 1,
  THAW_RECURRENT_BIDIRECTIONAL = 2,
} thaw_recurrent_direction;

/* Optional inputs the node lists after X W R, in this order. */
enum {
  THAW_RECURRENT_INPUT_BIAS = 1u << 0,           /* B [D*S] */
  THAW_RECURRENT_INPUT_INITIAL_H = 1u << 1,      /* H0, shaped like Y_h */
  THAW_RECURRENT_INPUT_INITIAL_C = 1u << 2,      /* C0 (LSTM), shaped like Y_h */
  THAW_RECURRENT_INPUT_CANDIDATE_BIAS = 1u << 3, /* RB [D, H] (GRU, linear_before_reset 1) */
};
/* Outputs the node lists, in this order. */
enum {
  THAW_RECURRENT_OUTPUT_Y = 1u << 0,   /* [T, D, N, H], or [N, T, D, H] in layout 1 */
  THAW_RECURRENT_OUTPUT_Y_H = 1u << 1, /* [D, N, H], or [N, D, H] in layout 1 */
  THAW_RECURRENT_OUTPUT_Y_C = 1u << 2, /* LSTM only, shaped like Y_h */
};

typedef struct thaw_recurrent_attrs {
  uint32_t direction;           /* thaw_recurrent_direction */
  uint32_t hidden_size;         /* H >= 1 */
  uint32_t layout;              /* 0: X [T, N, I]; 1: X [N, T, I] (batch first) */
  uint32_t inputs;              /* THAW_RECURRENT_INPUT_* bits */
  uint32_t outputs;             /* THAW_RECURRENT_OUTPUT_* bits, at least one */
  uint32_t linear_before_reset; /* GRU: 0 or 1; LSTM: 0 */
} thaw_recurrent_attrs;

/* S: the columns of W, R and B per direction: LSTM 4H, GRU 2H then H, each part rounded up to
 * 16; 0 for another op. */
uint64_t thaw_recurrent_direction_columns(uint32_t op, uint32_t hidden_size);
/* The first column of `gate` (ONNX order: LSTM i o f c, GRU z r h) within a direction. */
uint64_t thaw_recurrent_gate_column(uint32_t op, uint32_t hidden_size, uint32_t gate);

/* Size of the attribute blob each op requires (0 for ops without attributes); 0 also for an
 * unknown op, so check thaw_op_name first. */
size_t thaw_op_attrs_size(uint32_t op);
/* "Conv", "MatMul", ... or NULL for an unknown op code. */
const char *thaw_op_name(uint32_t op);
const char *thaw_unary_func_name(uint32_t func);
const char *thaw_binary_func_name(uint32_t func);

/* Check a node against its op's structural contract: input/output counts and every attribute
 * rule that needs no shapes (known codes, strides >= 1, permutations...). `input_rank` is the
 * rank of the node's first input, which bounds axes and per-axis attributes. `attrs` is the
 * little-endian blob (thaw_op_attrs_size(op) bytes). CORRUPT or UNSUPPORTED name the node. */
thaw_status thaw_op_check(uint32_t op, const char *node_name, uint32_t input_count,
                          uint32_t output_count, uint32_t input_rank, const uint8_t *attrs,
                          thaw_error *error);
/* Convert between an op's attribute struct and its little-endian blob (both
 * thaw_op_attrs_size(op) bytes; every attribute field is a 4-byte word). */
void thaw_op_attrs_decode(uint32_t op, const uint8_t *blob, void *attrs);
void thaw_op_attrs_encode(uint32_t op, const void *attrs, uint8_t *blob);

/* ---- Reader ---- */

typedef struct thaw_format_tensor {
  const char *name; /* NUL-terminated, inside the file bytes */
  uint32_t kind;    /* thaw_tensor_kind */
  thaw_dtype dtype;
  uint32_t layout;  /* thaw_layout */
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  uint64_t element_count;
  uint64_t size;    /* bytes */
  /* CONSTANT: offset from the start of the file; ACTIVATION: offset in the arena. */
  uint64_t offset;
} thaw_format_tensor;

typedef struct thaw_format_node {
  uint32_t op;
  const char *name;
  uint32_t input_count, output_count;
  const uint8_t *refs;  /* input_count + output_count little-endian u32 tensor ids */
  const uint8_t *attrs; /* thaw_op_attrs_size(op) bytes; copy them out before use */
} thaw_format_node;

/* A validated file: pointers into the caller's bytes plus counts. Holds no allocation. */
typedef struct thaw_format_view {
  const uint8_t *bytes;
  uint64_t size;
  uint16_t major, minor;
  uint32_t flags;
  uint64_t header_checksum;
  uint64_t weights_checksum;
  uint32_t tensor_count, node_count, input_count, output_count;
  uint64_t arena_size;
  uint64_t weights_offset, weights_size;
  const char *producer, *converter;
  uint8_t source_hash[32];
  /* Raw section pointers for the accessors below. */
  const uint8_t *tensor_records, *node_records, *refs, *attr_blob, *plan_offsets;
  const uint8_t *input_ids, *output_ids;
  const char *strings;
  uint64_t strings_size, ref_count, attr_size;
  /* STATE (format 1.2): state_count pairs; 0 when the file has no STATE section. */
  uint32_t state_count;
  const uint8_t *state_pairs;
} thaw_format_view;

/* Validate every structural rule of FORMAT.md (everything but the weight bytes): O(tensors +
 * nodes + string bytes). Op attributes are checked against the op's contract where that needs
 * no shapes (codes, non-zero strides, permutations). */
thaw_status thaw_format_open(const void *bytes, uint64_t size, thaw_format_view *view,
                             thaw_error *error);
/* Verify the weights (O(weights)): the checksum when the file carries one (THAW_STATUS_CHECKSUM
 * on mismatch; check view->flags to tell whether it did), and that every int8 weight is in
 * [-127, 127] (THAW_STATUS_CORRUPT). */
thaw_status thaw_format_verify_weights(const thaw_format_view *view, thaw_error *error);

/* Decode entries of a validated view. Indices must be below the view's counts. */
void thaw_format_get_tensor(const thaw_format_view *view, uint32_t index, thaw_format_tensor *t);
void thaw_format_get_node(const thaw_format_view *view, uint32_t index, thaw_format_node *node);
uint32_t thaw_format_node_input(const thaw_format_node *node, uint32_t i);
uint32_t thaw_format_node_output(const thaw_format_node *node, uint32_t i);
uint32_t thaw_format_model_input(const thaw_format_view *view, uint32_t i);
uint32_t thaw_format_model_output(const thaw_format_view *view, uint32_t i);
/* State pair i (below view->state_count): after a run, model output `output_index` is carried
 * into model input `input_index` (indices into the model's input and output lists). */
void thaw_format_get_state(const thaw_format_view *view, uint32_t i, uint32_t *input_index,
                           uint32_t *output_index);

/* The 64-bit hash both checksums use (FORMAT.md, "Checksums"). */
uint64_t thaw_hash64(const void *data, size_t size, uint64_t seed);
/* The header checksum of a file whose weights section starts at `weights_offset` (at least
 * THAW_FORMAT_HEADER_SIZE and at most the buffer's size): bytes [0, weights_offset) with the
 * header_checksum field read as zero. For tools and tests that patch files. */
uint64_t thaw_format_header_checksum(const uint8_t *bytes, uint64_t weights_offset);

/* ---- Writer ---- */

typedef struct thaw_writer thaw_writer;

thaw_writer *thaw_writer_create(void);
void thaw_writer_destroy(thaw_writer *writer);

/* Add a tensor; returns its id, or UINT32_MAX after an error (kept in the writer and reported
 * by thaw_writer_finish). CONSTANT tensors copy `data` (`size` bytes; size must match the
 * layout); ACTIVATION tensors pass data NULL and size 0 (derived from dtype and shape). */
uint32_t thaw_writer_add_tensor(thaw_writer *writer, const char *name, uint32_t kind,
                                thaw_dtype dtype, uint32_t rank, const int64_t *shape,
                                uint32_t layout, const void *data, uint64_t size);
/* Add a node in execution order; `attrs` must be thaw_op_attrs_size(op) bytes. */
void thaw_writer_add_node(thaw_writer *writer, uint32_t op, const char *name, const void *attrs,
                          const uint32_t *inputs, uint32_t input_count, const uint32_t *outputs,
                          uint32_t output_count);
void thaw_writer_add_input(thaw_writer *writer, uint32_t tensor);
void thaw_writer_add_output(thaw_writer *writer, uint32_t tensor);
/* Declare a state pair (format 1.2): after each run, model output tensor `output` is copied
 * into model input tensor `input`. Both must be added as model input/output before
 * thaw_writer_finish, with the same dtype and shape. */
void thaw_writer_add_state(thaw_writer *writer, uint32_t output, uint32_t input);
void thaw_writer_set_producer(thaw_writer *writer, const char *producer);
void thaw_writer_set_source_hash(thaw_writer *writer, const uint8_t hash[32]);

typedef struct thaw_writer_stats {
  uint64_t arena_bytes;      /* planned arena, with buffers reused by liveness */
  uint64_t activation_bytes; /* sum of all activation sizes, without reuse */
  uint64_t weights_bytes;
  uint64_t file_bytes;
} thaw_writer_stats;

/* Plan the arena by liveness (RESHAPE outputs alias their input; a CONCAT's parts go at their
 * slices of its output where they can, and the node is then written as CONCAT_IN_PLACE; model
 * inputs and outputs never share memory), order the weights by first use, and lay out the
 * file into a 64-byte aligned buffer (ready for thaw_model_open_memory) that the caller frees
 * with free(). `flags` may include THAW_FORMAT_FLAG_WEIGHTS_CHECKSUM. */
thaw_status thaw_writer_finish(thaw_writer *writer, uint32_t flags, uint8_t **bytes,
                               uint64_t *size, thaw_writer_stats *stats, thaw_error *error);
/* thaw_writer_finish, then write to `path` through a temporary name and rename, so a failed
 * write never leaves a partial file behind. */
thaw_status thaw_writer_write_file(thaw_writer *writer, const char *path, uint32_t flags,
                                   thaw_writer_stats *stats, thaw_error *error);

/* ---- State blobs (FORMAT.md, "State blobs") ----
 *
 * What thaw_session_state_save writes: a header naming the model, one record per state
 * (name, dtype, shape, bytes) and a checksum over everything before it. Written and read
 * record by record, so neither side needs memory beyond the blob. */

#define THAW_STATE_BLOB_MAGIC "\x89THST\r\n\x1a"
#define THAW_STATE_BLOB_MAJOR 1
#define THAW_STATE_BLOB_MINOR 0
#define THAW_STATE_BLOB_HEADER_SIZE 32
#define THAW_STATE_BLOB_CHECKSUM_SIZE 8

/* One state as a blob record describes it. */
typedef struct thaw_state_entry {
  const char *name;
  thaw_dtype dtype;
  uint32_t rank;
  const int64_t *shape;
  uint64_t size; /* bytes of data */
} thaw_state_entry;

/* Bytes of the record for `entry`; false when that overflows 64 bits. */
bool thaw_state_record_size(const thaw_state_entry *entry, uint64_t *size);
/* Writing: the header at blob[0, 32), then each record where the previous one ended, then the
 * checksum once `end` (where the last record ended) is known. `blob` holds the whole size. */
uint8_t *thaw_state_blob_write_header(uint8_t *blob, uint64_t model_identity, uint32_t count,
                                      uint64_t size);
uint8_t *thaw_state_blob_write_record(uint8_t *cursor, const thaw_state_entry *entry,
                                      const void *data);
void thaw_state_blob_write_checksum(uint8_t *blob, uint8_t *end);

/* Reading: open checks the header (magic, version, size, checksum, model identity, state
 * count); each read_record then checks the record at *cursor against what the model expects
 * and returns its data; finish checks that the records end where the checksum begins. */
typedef struct thaw_state_blob_view {
  const uint8_t *bytes;
  uint64_t records_end; /* where the checksum starts */
} thaw_state_blob_view;

thaw_status thaw_state_blob_open(const void *bytes, uint64_t size, uint64_t model_identity,
                                 uint32_t expected_count, thaw_state_blob_view *view,
                                 uint64_t *cursor, thaw_error *error);
thaw_status thaw_state_blob_read_record(const thaw_state_blob_view *view, uint64_t *cursor,
                                        uint32_t index, const thaw_state_entry *expected,
                                        const void **data, thaw_error *error);
thaw_status thaw_state_blob_finish(const thaw_state_blob_view *view, uint64_t cursor,
                                   thaw_error *error);

/* ---- Output files ---- */

/* A file that is either complete or absent: a regular (or new) file is written under a
 * temporary name and renamed over `path` when closed complete, and removed otherwise; anything
 * else (a device such as /dev/null, a pipe) is written in place, since renaming over it would
 * replace it. */
typedef struct thaw_output_file {
  FILE *stream; /* write here between open and close */
  const char *path;
  char *temporary; /* NULL when written in place */
} thaw_output_file;

thaw_status thaw_output_file_open(thaw_output_file *output, const char *path, thaw_error *error);
/* `complete` says whether everything was written; the file is kept only then. */
thaw_status thaw_output_file_close(thaw_output_file *output, bool complete, thaw_error *error);
/* Open, write `size` bytes, close. */
thaw_status thaw_output_file_write(const char *path, const void *bytes, uint64_t size,
                                   thaw_error *error);

/* "[1,3,224,224]" for messages, truncated to fit `capacity`; THAW_DIMS_TEXT_SIZE bytes always
 * hold THAW_MAX_RANK dims. */
#define THAW_DIMS_TEXT_SIZE (THAW_MAX_RANK * 21 + 3)
void thaw_dims_text(char *text, size_t capacity, uint32_t rank, const int64_t *dims);

/* Fill `error` (when not NULL) with a formatted message; returns `status`. Shared by all
 * modules so every message is made the same way. */
thaw_status thaw_error_set(thaw_error *error, thaw_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* THAW_FORMAT_H */
