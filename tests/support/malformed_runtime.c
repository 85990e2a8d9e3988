/* The runtime's table: one-node files that the format reader accepts but whose shapes, dtypes
 * or attributes contradict the node's op, so the runtime must refuse them at open with a
 * message naming the node and the mismatch. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "malformed_files.h"
#include "test_support.h"

typedef struct tensor_spec {
  const char *name;
  thaw_dtype dtype;
  uint32_t rank;
  int64_t shape[THAW_MAX_RANK];
  bool constant; /* else a model input (inputs) or model output (outputs) */
  /* Quantized weights (an i8 constant in qs8_gemm_panel16): zero weights, and every column's
   * scale and sum set to these. */
  bool qs8;
  float qs8_scale;
  int32_t qs8_sum;
} tensor_spec;

typedef struct malformed_case {
  const char *what;
  thaw_op op;
  const void *attrs;
  uint32_t input_count, output_count;
  tensor_spec inputs[THAW_MALFORMED_MAX_INPUTS], outputs[2];
  thaw_status status;
  const char *fragment;
} malformed_case;

#define ACTIVATION(name, dtype, rank, ...) \
  { name, dtype, rank, {__VA_ARGS__}, false, false, 0, 0 }
#define CONSTANT(name, dtype, rank, ...) \
  { name, dtype, rank, {__VA_ARGS__}, true, false, 0, 0 }
#define QS8_WEIGHTS(name, scale, sum, rank, ...) \
  { name, THAW_DTYPE_I8, rank, {__VA_ARGS__}, true, true, scale, sum }
#define F32 THAW_DTYPE_F32
#define I32 THAW_DTYPE_I32
#define I64 THAW_DTYPE_I64
#define CORRUPT THAW_STATUS_CORRUPT
#define UNSUPPORTED THAW_STATUS_UNSUPPORTED

static const thaw_conv_attrs conv_plain = {1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, {0, 0, 0}};
static const thaw_matmul_attrs matmul_plain = {{0, 0, 0}};
static const thaw_binary_attrs add = {THAW_BINARY_ADD};
static const thaw_unary_attrs relu = {THAW_UNARY_RELU, 0, 0};
static const thaw_axis_attrs axis0 = {0}, axis1 = {1};
static const thaw_layer_norm_attrs norm_last = {1, 1e-5f};
static const thaw_pool_attrs pool2 = {
    .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2, .dilation_h = 1, .dilation_w = 1};
static const thaw_slice_attrs slice_from3 = {{3}, {1}};
static const thaw_transpose_attrs swap = {{1, 0}};
static const thaw_resize_attrs double_size = {
    THAW_RESIZE_NEAREST, THAW_RESIZE_ASYMMETRIC, THAW_RESIZE_FLOOR, {1, 1, 2, 2}};
static const thaw_pad_attrs reflect3 = {THAW_PAD_REFLECT, 0, {3}};
static const thaw_reduce_attrs reduce_axis1 = {1, 1};
static const thaw_qs8_matmul_attrs qs8_matmul_dynamic = {{THAW_QS8_INPUT_DYNAMIC, 0, 0}, {0, 0, 0}};
static const thaw_qs8_conv_attrs qs8_conv_dynamic = {
    {1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, {0, 0, 0}}, {THAW_QS8_INPUT_DYNAMIC, 0, 0}};

/* One line per field group reads better than clang-format's one field per line. */
// clang-format off
static const malformed_case cases[] = {
    {"conv output", THAW_OP_CONV, &conv_plain, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 8, 8), CONSTANT("w", F32, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 5, 5)},
     CORRUPT,
     "node \"node\" (Conv): output shape [1,8,5,5] does not match [1,8,6,6] computed from input "
     "[1,3,8,8], kernel 3x3, stride 1, pads 0,0,0,0"},
    {"conv weight channels", THAW_OP_CONV, &conv_plain, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 8, 8), CONSTANT("w", F32, 4, 8, 2, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 6, 6)},
     CORRUPT, "weight shape [8,2,3,3] does not fit input [1,3,8,8] with 1 groups"},
    {"conv bias", THAW_OP_CONV, &conv_plain, 3, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 8, 8), CONSTANT("w", F32, 4, 8, 3, 3, 3),
      CONSTANT("b", F32, 1, 7)},
     {ACTIVATION("y", F32, 4, 1, 8, 6, 6)},
     CORRUPT, "bias shape [7] does not match 8 output channels"},
    {"conv kernel larger than input", THAW_OP_CONV, &conv_plain, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 2, 2), CONSTANT("w", F32, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 1, 1)},
     CORRUPT, "does not fit input [1,3,2,2]"},
    {"conv rank", THAW_OP_CONV, &conv_plain, 2, 1,
     {ACTIVATION("x", F32, 3, 3, 8, 8), CONSTANT("w", F32, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 6, 6)},
     CORRUPT, "input \"x\" has rank 3"},
    {"conv dtype", THAW_OP_CONV, &conv_plain, 2, 1,
     {ACTIVATION("x", I32, 4, 1, 3, 8, 8), CONSTANT("w", F32, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 6, 6)},
     UNSUPPORTED, "input \"x\" is i32; this op runs on f32 only"},
    {"conv transpose output", THAW_OP_CONV_TRANSPOSE, &conv_plain, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 4, 4), CONSTANT("w", F32, 4, 3, 2, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 2, 5, 6)},
     CORRUPT, "output shape [1,2,5,6] does not match [1,2,6,6]"},
    {"matmul inner dims", THAW_OP_MATMUL, &matmul_plain, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), CONSTANT("b", F32, 2, 4, 5)},
     {ACTIVATION("y", F32, 2, 2, 5)}, CORRUPT,
     "inner dims of A [2,3] and B [4,5] differ: 3 vs 4"},
    {"matmul output", THAW_OP_MATMUL, &matmul_plain, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), CONSTANT("b", F32, 2, 3, 5)},
     {ACTIVATION("y", F32, 2, 2, 4)}, CORRUPT,
     "output shape [2,4] does not match [2,5]"},
    {"matmul batch", THAW_OP_MATMUL, &matmul_plain, 2, 1,
     {ACTIVATION("a", F32, 3, 2, 3, 4), CONSTANT("b", F32, 3, 3, 4, 5)},
     {ACTIVATION("y", F32, 3, 3, 3, 5)}, CORRUPT,
     "batch dims of A [2,3,4] and B [3,4,5] do not broadcast"},
    {"matmul vector output", THAW_OP_MATMUL, &matmul_plain, 2, 1,
     {ACTIVATION("a", F32, 1, 3), CONSTANT("b", F32, 2, 3, 5)},
     {ACTIVATION("y", F32, 2, 1, 5)}, CORRUPT,
     "does not match [5]"},
    {"matmul bias", THAW_OP_MATMUL, &matmul_plain, 3, 1,
     {ACTIVATION("a", F32, 2, 2, 3), CONSTANT("b", F32, 2, 3, 5), CONSTANT("bias", F32, 1, 3)},
     {ACTIVATION("y", F32, 2, 2, 5)}, CORRUPT, "bias shape [3] does not match N = 5"},
    {"binary broadcast", THAW_OP_BINARY, &add, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), ACTIVATION("b", F32, 1, 4)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT,
     "input shapes [2,3] and [4] do not broadcast"},
    {"binary output", THAW_OP_BINARY, &add, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), ACTIVATION("b", F32, 1, 3)},
     {ACTIVATION("y", F32, 2, 3, 3)}, CORRUPT,
     "output shape [3,3] does not match broadcast shape [2,3]"},
    {"binary dtype", THAW_OP_BINARY, &add, 2, 1,
     {ACTIVATION("a", I32, 1, 3), ACTIVATION("b", I32, 1, 3)},
     {ACTIVATION("y", I32, 1, 3)}, UNSUPPORTED,
     "input A \"a\" is i32"},
    {"unary shape", THAW_OP_UNARY, &relu, 1, 1, {ACTIVATION("x", F32, 2, 2, 3)},
     {ACTIVATION("y", F32, 2, 3, 2)},
     CORRUPT, "node \"node\" (Unary): output shape [3,2] does not match input shape [2,3]"},
    {"unary dtype", THAW_OP_UNARY, &relu, 1, 1, {ACTIVATION("x", I64, 1, 4)},
     {ACTIVATION("y", I64, 1, 4)},
     UNSUPPORTED, "is i64; this op runs on f32 only"},
    {"softmax shape", THAW_OP_SOFTMAX, &axis1, 1, 1, {ACTIVATION("x", F32, 2, 2, 3)},
     {ACTIVATION("y", F32, 2, 2, 4)},
     CORRUPT, "output shape [2,4] does not match input shape [2,3]"},
    {"layer norm scale", THAW_OP_LAYER_NORM, &norm_last, 2, 1,
     {ACTIVATION("x", F32, 2, 2, 6), CONSTANT("g", F32, 1, 5)},
     {ACTIVATION("y", F32, 2, 2, 6)}, CORRUPT,
     "scale [5] and bias none must have shape [6]"},
    {"max pool output", THAW_OP_MAX_POOL, &pool2, 1, 1, {ACTIVATION("x", F32, 4, 1, 2, 5, 5)},
     {ACTIVATION("y", F32, 4, 1, 2, 3, 3)},
     CORRUPT, "output shape [1,2,3,3] does not match [1,2,2,2]"},
    {"average pool rank", THAW_OP_AVERAGE_POOL, &pool2, 1, 1, {ACTIVATION("x", F32, 3, 2, 5, 5)},
     {ACTIVATION("y", F32, 3, 2, 2, 2)}, CORRUPT, "has rank 3"},
    {"global pool output", THAW_OP_GLOBAL_AVERAGE_POOL, NULL, 1, 1,
     {ACTIVATION("x", F32, 4, 1, 2, 5, 5)},
     {ACTIVATION("y", F32, 4, 1, 2, 1, 2)},
     CORRUPT, "output shape [1,2,1,2] does not match [1,2,1,1]"},
    {"concat total", THAW_OP_CONCAT, &axis1, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), ACTIVATION("b", F32, 2, 2, 2)},
     {ACTIVATION("y", F32, 2, 2, 6)}, CORRUPT,
     "parts add up to 5 along axis 1, not 6"},
    {"concat other dims", THAW_OP_CONCAT, &axis1, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), ACTIVATION("b", F32, 2, 3, 2)},
     {ACTIVATION("y", F32, 2, 2, 5)}, CORRUPT,
     "part 1 shape [3,2] differs from [2,5] outside axis 1"},
    {"concat dtype", THAW_OP_CONCAT, &axis0, 2, 1,
     {ACTIVATION("a", F32, 1, 3), ACTIVATION("b", I32, 1, 2)},
     {ACTIVATION("y", F32, 1, 5)}, CORRUPT, "part dtype i32 does not match output dtype f32"},
    {"concat in place over rows", THAW_OP_CONCAT_IN_PLACE, &axis1, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 3), ACTIVATION("b", F32, 2, 2, 2)},
     {ACTIVATION("y", F32, 2, 2, 5)}, CORRUPT,
     "output [2,5] along axis 1 is not one slice per part"},
    {"concat in place elsewhere", THAW_OP_CONCAT_IN_PLACE, &axis0, 2, 1,
     {ACTIVATION("a", F32, 1, 3), ACTIVATION("b", F32, 1, 2)},
     {ACTIVATION("y", F32, 1, 5)}, CORRUPT, "part 0 \"a\" is not at its slice of output \"y\""},
    {"split sizes", THAW_OP_SPLIT, &axis0, 1, 2, {ACTIVATION("x", F32, 1, 5)},
     {ACTIVATION("a", F32, 1, 2), ACTIVATION("b", F32, 1, 2)},
     CORRUPT, "parts add up to 4 along axis 0, not 5"},
    {"slice past the end", THAW_OP_SLICE, &slice_from3, 1, 1, {ACTIVATION("x", F32, 1, 5)},
     {ACTIVATION("y", F32, 1, 4)},
     CORRUPT, "axis 0: 4 elements from 3 by step 1 leave input shape [5]"},
    {"transpose output", THAW_OP_TRANSPOSE, &swap, 1, 1, {ACTIVATION("x", I64, 2, 2, 3)},
     {ACTIVATION("y", I64, 2, 2, 3)}, CORRUPT, "output shape [2,3] does not match [3,2]"},
    {"reshape count", THAW_OP_RESHAPE, NULL, 1, 1, {ACTIVATION("x", F32, 2, 2, 3)},
     {ACTIVATION("y", F32, 1, 5)},
     CORRUPT, "output shape [5] does not hold the 6 elements of input [2,3]"},
    {"reshape dtype", THAW_OP_RESHAPE, NULL, 1, 1, {ACTIVATION("x", F32, 2, 2, 3)},
     {ACTIVATION("y", I32, 1, 6)},
     CORRUPT, "output dtype i32 does not match input dtype f32"},
    {"gather output", THAW_OP_GATHER, &axis0, 2, 1,
     {CONSTANT("data", F32, 2, 4, 3), ACTIVATION("ids", I64, 1, 2)},
     {ACTIVATION("y", F32, 2, 2, 4)}, CORRUPT,
     "output shape [2,4] does not match data [4,3] gathered on axis 0 by indices [2]"},
    {"gather index dtype", THAW_OP_GATHER, &axis0, 2, 1,
     {CONSTANT("data", F32, 2, 4, 3), ACTIVATION("ids", F32, 1, 2)},
     {ACTIVATION("y", F32, 2, 2, 3)},
     UNSUPPORTED, "indices \"ids\" are f32, not i32 or i64"},
    {"qs8 gather scales", THAW_OP_QS8_GATHER, &axis0, 3, 1,
     {CONSTANT("table", THAW_DTYPE_I8, 2, 4, 3), ACTIVATION("ids", I64, 1, 2),
      CONSTANT("scales", F32, 1, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT,
     "scales [3] must hold one scale per slice of data [4,3] along the axis (4)"},
    {"qs8 gather data dtype", THAW_OP_QS8_GATHER, &axis0, 3, 1,
     {CONSTANT("table", F32, 2, 4, 3), ACTIVATION("ids", I64, 1, 2),
      CONSTANT("scales", F32, 1, 4)},
     {ACTIVATION("y", F32, 2, 2, 3)}, UNSUPPORTED, "data \"table\" is f32; this op runs on i8"},
    {"qs8 gather output dtype", THAW_OP_QS8_GATHER, &axis0, 3, 1,
     {CONSTANT("table", THAW_DTYPE_I8, 2, 4, 3), ACTIVATION("ids", I64, 1, 2),
      CONSTANT("scales", F32, 1, 4)},
     {ACTIVATION("y", THAW_DTYPE_I8, 2, 2, 3)}, UNSUPPORTED, "output \"y\" is i8"},
    {"qs8 gather output", THAW_OP_QS8_GATHER, &axis0, 3, 1,
     {CONSTANT("table", THAW_DTYPE_I8, 2, 4, 3), ACTIVATION("ids", I32, 1, 2),
      CONSTANT("scales", F32, 1, 4)},
     {ACTIVATION("y", F32, 2, 2, 4)}, CORRUPT,
     "output shape [2,4] does not match data [4,3] gathered on axis 0 by indices [2]"},
    {"resize output", THAW_OP_RESIZE, &double_size, 1, 1, {ACTIVATION("x", F32, 4, 1, 1, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 1, 6, 8)}, CORRUPT, "axis 3: output [1,1,6,8] does not follow"},
    {"pad reflect too wide", THAW_OP_PAD, &reflect3, 1, 1, {ACTIVATION("x", F32, 1, 3)},
     {ACTIVATION("y", F32, 1, 6)},
     CORRUPT, "axis 0: output [6] does not follow from input [3] padded by 3"},
    {"pad output smaller", THAW_OP_PAD, &(thaw_pad_attrs){THAW_PAD_CONSTANT, 0, {1}}, 1, 1,
     {ACTIVATION("x", F32, 1, 3)},
     {ACTIVATION("y", F32, 1, 3)}, CORRUPT, "does not follow from input [3]"},
    {"reduce mean output", THAW_OP_REDUCE_MEAN, &reduce_axis1, 1, 1,
     {ACTIVATION("x", F32, 3, 2, 3, 4)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "output shape [2,3] is neither [2,1,4] nor [2,4]"},
    {"cast shape", THAW_OP_CAST, NULL, 1, 1, {ACTIVATION("x", F32, 1, 4)},
     {ACTIVATION("y", I32, 1, 5)}, CORRUPT,
     "output shape [5] does not match input shape [4]"},
    {"where condition dtype", THAW_OP_WHERE, NULL, 3, 1,
     {ACTIVATION("c", F32, 1, 3), ACTIVATION("a", F32, 1, 3), ACTIVATION("b", F32, 1, 3)},
     {ACTIVATION("y", F32, 1, 3)},
     UNSUPPORTED, "condition \"c\" is f32; this op runs on bool only"},
    {"where output", THAW_OP_WHERE, NULL, 3, 1,
     {ACTIVATION("c", THAW_DTYPE_BOOL, 2, 2, 1), ACTIVATION("a", I32, 1, 3),
      ACTIVATION("b", I32, 1, 1)},
     {ACTIVATION("y", I32, 2, 2, 4)},
     CORRUPT, "output shape [2,4] does not match broadcast shape [2,3]"},
    {"channel affine scale", THAW_OP_CHANNEL_AFFINE, NULL, 3, 1,
     {ACTIVATION("x", F32, 3, 2, 3, 4), CONSTANT("s", F32, 1, 4), CONSTANT("t", F32, 1, 3)},
     {ACTIVATION("y", F32, 3, 2, 3, 4)}, CORRUPT, "scale [4] and shift [3] must have shape [3]"},
    {"expand", THAW_OP_EXPAND, NULL, 1, 1, {ACTIVATION("x", F32, 2, 2, 3)},
     {ACTIVATION("y", F32, 2, 4, 3)},
     CORRUPT, "input shape [2,3] does not broadcast to output shape [4,3]"},
    {"qs8 matmul scale NaN", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 5), QS8_WEIGHTS("w", NAN, 0, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "column 0 has scale nan, must be finite and > 0"},
    {"qs8 matmul scale 0", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 5), QS8_WEIGHTS("w", 0.0f, 0, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "column 0 has scale 0, must be finite and > 0"},
    {"qs8 matmul column sum", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 5), QS8_WEIGHTS("w", 0.5f, 636, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "column 0 has sum 636, outside +-127*K = 635"},
    {"qs8 matmul output", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 3, 4, 2, 5), QS8_WEIGHTS("w", 0.5f, 0, 2, 5, 3)},
     {ACTIVATION("y", F32, 3, 4, 3, 3)}, CORRUPT,
     "input [4,2,5], weights [K=5,N=3] and output [4,3,3] do not match"},
    {"qs8 matmul inner dim", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 6), QS8_WEIGHTS("w", 0.5f, 0, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "input [2,6], weights [K=5,N=3]"},
    {"qs8 matmul plain weights", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 5), CONSTANT("w", THAW_DTYPE_I8, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT,
     "weights \"w\" must be an i8 constant in layout qs8_gemm_panel16, not i8 [5,3] in layout plain"},
    {"qs8 matmul bias", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 3, 1,
     {ACTIVATION("a", F32, 2, 2, 5), QS8_WEIGHTS("w", 0.5f, 0, 2, 5, 3), CONSTANT("b", F32, 1, 4)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT, "bias shape [4] does not match 3 columns"},
    {"qs8 matmul K over the limit", THAW_OP_QS8_MATMUL, &qs8_matmul_dynamic, 2, 1,
     {ACTIVATION("a", F32, 2, 1, 65537), QS8_WEIGHTS("w", 0.5f, 0, 2, 65537, 1)},
     {ACTIVATION("y", F32, 2, 1, 1)}, UNSUPPORTED,
     "K = 65537 exceeds the quantized kernels' limit 65536"},
    {"qs8 weights in a float matmul", THAW_OP_MATMUL, &matmul_plain, 2, 1,
     {ACTIVATION("a", F32, 2, 2, 5), QS8_WEIGHTS("w", 0.5f, 0, 2, 5, 3)},
     {ACTIVATION("y", F32, 2, 2, 3)}, CORRUPT,
     "is stored in layout qs8_gemm_panel16, which only a quantized op's weights may use"},
    {"qs8 conv output", THAW_OP_QS8_CONV, &qs8_conv_dynamic, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 3, 8, 8), QS8_WEIGHTS("w", 0.5f, 0, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 5, 5)}, CORRUPT,
     "output [1,8,5,5] does not follow from input [1,3,8,8], weights [8,3,3,3]"},
    {"qs8 conv channels", THAW_OP_QS8_CONV, &qs8_conv_dynamic, 2, 1,
     {ACTIVATION("x", F32, 4, 1, 4, 8, 8), QS8_WEIGHTS("w", 0.5f, 0, 4, 8, 3, 3, 3)},
     {ACTIVATION("y", F32, 4, 1, 8, 6, 6)}, CORRUPT,
     "weights [8,3,3,3] do not fit input [1,4,8,8]"},
    {"quantize scale per axis", THAW_OP_QUANTIZE_LINEAR, &axis1, 2, 1,
     {ACTIVATION("x", F32, 2, 2, 3), CONSTANT("s", F32, 1, 4)},
     {ACTIVATION("y", THAW_DTYPE_U8, 2, 2, 3)}, CORRUPT,
     "scale shape [4] is neither one element nor [3], input [2,3]'s dim 1"},
    {"quantize to f32", THAW_OP_QUANTIZE_LINEAR, &axis0, 2, 1,
     {ACTIVATION("x", F32, 1, 4), CONSTANT("s", F32, 1, 1)},
     {ACTIVATION("y", F32, 1, 4)}, UNSUPPORTED,
     "output \"y\" is f32 in layout plain; expected i8 or u8"},
    {"dequantize zero point dtype", THAW_OP_DEQUANTIZE_LINEAR, &axis0, 3, 1,
     {ACTIVATION("x", THAW_DTYPE_I8, 1, 4), CONSTANT("s", F32, 1, 1),
      CONSTANT("z", THAW_DTYPE_U8, 1, 1)},
     {ACTIVATION("y", F32, 1, 4)}, CORRUPT,
     "zero point \"z\" is u8 [1]; it must be i8 shaped like scale [1]"},
    {"dequantize output shape", THAW_OP_DEQUANTIZE_LINEAR, &axis0, 2, 1,
     {ACTIVATION("x", THAW_DTYPE_U8, 1, 4), CONSTANT("s", F32, 1, 1)},
     {ACTIVATION("y", F32, 1, 5)}, CORRUPT, "output shape [5] differs from input shape [4]"},
    {"dequantize i64", THAW_OP_DEQUANTIZE_LINEAR, &axis0, 2, 1,
     {ACTIVATION("x", I64, 1, 4), CONSTANT("s", F32, 1, 1)},
     {ACTIVATION("y", F32, 1, 4)}, UNSUPPORTED,
     "input \"x\" is i64 in layout plain; expected i8, u8 or i32"},
};
// clang-format on

enum { CASE_COUNT = sizeof cases / sizeof cases[0] };

size_t thaw_malformed_runtime_count(void) { return CASE_COUNT; }

static uint32_t add_qs8_weights(thaw_writer *w, const tensor_spec *spec) {
  uint64_t k, n, size;
  if (!thaw_layout_qs8_panel16_size(spec->rank, spec->shape, &k, &n, &size))
    fail_msg("bad qs8 shape for %s", spec->name);
  uint8_t *blob = calloc(1, size);
  if (blob == NULL) fail_msg("out of memory for constant %s", spec->name);
  const uint64_t n16 = (n + 15) / 16 * 16;
  for (uint64_t j = 0; j < n; j++) {
    memcpy(blob + 4 * j, &spec->qs8_scale, 4);
    memcpy(blob + 4 * (n16 + j), &spec->qs8_sum, 4);
  }
  const uint32_t id = thaw_writer_add_tensor(w, spec->name, THAW_TENSOR_CONSTANT, THAW_DTYPE_I8,
                                             spec->rank, spec->shape,
                                             THAW_LAYOUT_QS8_GEMM_PANEL16, blob, size);
  free(blob);
  return id;
}

void thaw_malformed_runtime_build(size_t index, thaw_malformed_file *file) {
  if (index >= CASE_COUNT) fail_msg("runtime case %zu of %d", index, (int)CASE_COUNT);
  const malformed_case *c = &cases[index];
  *file = (thaw_malformed_file){.status = c->status, .fragment = c->fragment};
  snprintf(file->name, sizeof file->name, "%s", c->what);
  thaw_writer *w = thaw_writer_create();
  if (w == NULL) fail_msg("out of memory for the writer");
  uint32_t inputs[THAW_MALFORMED_MAX_INPUTS], outputs[2];
  for (uint32_t i = 0; i < c->input_count; i++) {
    const tensor_spec *spec = &c->inputs[i];
    if (spec->qs8) {
      inputs[i] = add_qs8_weights(w, spec);
    } else if (spec->constant) {
      const size_t size =
          test_element_count(spec->rank, spec->shape) * thaw_dtype_size(spec->dtype);
      void *zeros = calloc(1, size);
      if (zeros == NULL) fail_msg("out of memory for constant %s", spec->name);
      inputs[i] = test_constant(w, spec->name, spec->dtype, spec->rank, spec->shape, zeros);
      free(zeros);
    } else {
      inputs[i] = test_activation(w, spec->name, spec->dtype, spec->rank, spec->shape);
      thaw_writer_add_input(w, inputs[i]);
      file->input_names[file->input_count++] = spec->name;
    }
  }
  for (uint32_t i = 0; i < c->output_count; i++) {
    const tensor_spec *spec = &c->outputs[i];
    outputs[i] = test_activation(w, spec->name, spec->dtype, spec->rank, spec->shape);
    thaw_writer_add_output(w, outputs[i]);
  }
  thaw_writer_add_node(w, c->op, "node", c->attrs, inputs, c->input_count, outputs,
                       c->output_count);
  file->file = test_finish(w);
}
