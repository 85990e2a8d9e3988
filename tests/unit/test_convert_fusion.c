/* The converter's elementwise fusions around convolutions on small ONNX graphs: per-channel
 * Mul/Add folded into the Conv before them, HardSwish spelt with Clip, and what is left of an
 * affine after an activation folded into the Conv after it or merged into one ChannelAffine.
 * Each converted model runs and is compared with a naive double-precision evaluation of the
 * ONNX graph as written; the negative cases check that nothing is rewritten. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_convert_builder.h"

/* x [1, 2, 5, 4] -> conv1 (3x3, pads 1, 2 -> 3 channels, bias) -> [1, 3, 5, 4]. */
enum { IN_C = 2, MID_C = 3, H = 5, W = 4, PLANE = H * W };

typedef struct conv_weights {
  int in_c, out_c, k, pad, groups;
  float w[MID_C * MID_C * 9], b[MID_C];
} conv_weights;

/* One test graph's constants, kept alive for the builder. */
typedef struct fixture {
  builder b;
  int64_t x_dims[4], conv1_pads[4], conv2_pads[4];
  int64_t scalar_dims[1], channel_dims[3], width_dims[4];
  int64_t w1_dims[4], w2_dims[4], c_dims[1], c2_dims[1];
  conv_weights conv1, conv2;
  float scale[MID_C], shift[MID_C], scalar, width_scale[W];
  float three, six, sixth, zero;
  float x[IN_C * PLANE];
} fixture;

static void fill_conv(thaw_test_rng *rng, conv_weights *c, int in_c, int out_c, int k, int pad,
                      int groups) {
  c->in_c = in_c;
  c->out_c = out_c;
  c->k = k;
  c->pad = pad;
  c->groups = groups;
  thaw_test_fill_uniform(rng, c->w, (size_t)(out_c * (in_c / groups) * k * k), -1.0f, 1.0f);
  thaw_test_fill_uniform(rng, c->b, (size_t)out_c, -1.0f, 1.0f);
}

/* Graph input x and conv1 producing "c" (3x3, pads 1); the rest is up to the test. */
static void fixture_init(fixture *f, int64_t opset) {
  memset(f, 0, sizeof(*f));
  thaw_test_rng rng = {7};
  builder_init(&f->b, opset);
  int64_t x_dims[4] = {1, IN_C, H, W};
  memcpy(f->x_dims, x_dims, sizeof(x_dims));
  for (int i = 0; i < 4; ++i) f->conv1_pads[i] = 1;
  f->scalar_dims[0] = 1;
  int64_t channel_dims[3] = {MID_C, 1, 1}, width_dims[4] = {1, 1, 1, W};
  memcpy(f->channel_dims, channel_dims, sizeof(channel_dims));
  memcpy(f->width_dims, width_dims, sizeof(width_dims));
  f->c_dims[0] = MID_C;
  fill_conv(&rng, &f->conv1, IN_C, MID_C, 3, 1, 1);
  int64_t w1_dims[4] = {MID_C, IN_C, 3, 3};
  memcpy(f->w1_dims, w1_dims, sizeof(w1_dims));
  thaw_test_fill_uniform(&rng, f->scale, MID_C, -2.0f, 2.0f);
  thaw_test_fill_uniform(&rng, f->shift, MID_C, -1.0f, 1.0f);
  thaw_test_fill_uniform(&rng, f->width_scale, W, -2.0f, 2.0f);
  f->scalar = 1.75f;
  f->three = 3.0f;
  f->six = 6.0f;
  f->sixth = 1.0f / 6.0f;
  f->zero = 0.0f;
  thaw_test_fill_uniform(&rng, f->x, IN_C * PLANE, -2.0f, 2.0f);

  add_input(&f->b, "x", 4, f->x_dims);
  add_initializer(&f->b, "w1", 4, f->w1_dims, f->conv1.w, (size_t)(MID_C * IN_C * 9));
  add_initializer(&f->b, "b1", 1, f->c_dims, f->conv1.b, MID_C);
  add_initializer(&f->b, "scale", 3, f->channel_dims, f->scale, MID_C);
  add_initializer(&f->b, "shift", 1, f->scalar_dims, f->shift, 1); /* shift[0] alone */
  add_initializer(&f->b, "scalar", 1, f->scalar_dims, &f->scalar, 1);
  add_initializer(&f->b, "three", 0, NULL, &f->three, 1);
  add_initializer(&f->b, "six", 0, NULL, &f->six, 1);
  add_initializer(&f->b, "sixth", 0, NULL, &f->sixth, 1);
  add_initializer(&f->b, "zero", 0, NULL, &f->zero, 1);
  Onnx__NodeProto *conv1 = add_node(&f->b, "Conv", "x", "w1", "b1", "c");
  add_ints_attribute(&f->b, conv1, "pads", f->conv1_pads, 4);
}

/* conv2 from `input` to `output`: k x k, `pad` on every side, `groups`, MID_C -> out_c. */
static void add_conv2(fixture *f, const char *input, const char *output, int out_c, int k,
                      int pad, int groups) {
  thaw_test_rng rng = {11};
  fill_conv(&rng, &f->conv2, MID_C, out_c, k, pad, groups);
  int64_t dims[4] = {out_c, MID_C / groups, k, k};
  memcpy(f->w2_dims, dims, sizeof(dims));
  f->c2_dims[0] = out_c;
  add_initializer(&f->b, "w2", 4, f->w2_dims, f->conv2.w,
                  (size_t)(out_c * (MID_C / groups) * k * k));
  add_initializer(&f->b, "b2", 1, f->c2_dims, f->conv2.b, (size_t)out_c);
  for (int i = 0; i < 4; ++i) f->conv2_pads[i] = pad;
  Onnx__NodeProto *conv = add_node(&f->b, "Conv", input, "w2", "b2", output);
  add_ints_attribute(&f->b, conv, "pads", f->conv2_pads, 4);
  add_int_attribute(&f->b, conv, "group", groups);
}

/* ---- Naive reference ---- */

static int conv_size(int size, const conv_weights *c) { return size + 2 * c->pad - c->k + 1; }

static void naive_conv(const double *x, int height, int width, const conv_weights *c,
                       double *y) {
  int out_h = conv_size(height, c), out_w = conv_size(width, c);
  int in_per_group = c->in_c / c->groups, out_per_group = c->out_c / c->groups;
  for (int o = 0; o < c->out_c; ++o)
    for (int oy = 0; oy < out_h; ++oy)
      for (int ox = 0; ox < out_w; ++ox) {
        double sum = c->b[o];
        for (int i = 0; i < in_per_group; ++i) {
          int channel = o / out_per_group * in_per_group + i;
          for (int ky = 0; ky < c->k; ++ky)
            for (int kx = 0; kx < c->k; ++kx) {
              int iy = oy + ky - c->pad, ix = ox + kx - c->pad;
              if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
              sum += (double)c->w[((o * in_per_group + i) * c->k + ky) * c->k + kx] *
                     x[(channel * height + iy) * width + ix];
            }
        }
        y[(o * out_h + oy) * out_w + ox] = sum;
      }
}

/* conv1 of the fixture's input. */
static void reference_conv1(const fixture *f, double *c) {
  double x[IN_C * PLANE];
  for (int i = 0; i < IN_C * PLANE; ++i) x[i] = f->x[i];
  naive_conv(x, H, W, &f->conv1, c);
}

static double hard_swish(double v) { return v * fmin(fmax(v + 3.0, 0.0), 6.0) / 6.0; }

/* ---- Conversion ---- */

/* A pass count a test expects; a list of them ends with kind THAW_CONVERT_COUNT_KINDS. */
typedef struct count_check {
  thaw_convert_count kind;
  uint32_t value;
} count_check;

#define END_OF_COUNTS {THAW_CONVERT_COUNT_KINDS, 0}

static void check_report(const char *what, thaw_convert_report *report, uint32_t ops_out,
                         const count_check *counts) {
  if (report->ops_out != ops_out)
    fail_msg("%s: %u ops, expected %u", what, report->ops_out, ops_out);
  for (; counts->kind != THAW_CONVERT_COUNT_KINDS; ++counts)
    if (report->counts[counts->kind] != counts->value)
      fail_msg("%s: %s %u, expected %u", what, thaw_convert_count_name(counts->kind),
               report->counts[counts->kind], counts->value);
  thaw_convert_report_free(report);
}

/* Convert, check the op and pass counts, run on the fixture's input and compare with
 * `expected`. */
static void convert_and_check(fixture *f, const char *what, uint32_t ops_out,
                              const count_check *counts, const double *expected, size_t count) {
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&f->b, NULL, &bytes, &size, &report, &error), THAW_OK);
  check_report(what, &report, ops_out, counts);
  float *y = malloc(count * sizeof(float));
  assert_non_null(y);
  run_model(bytes, size, f->x, IN_C * PLANE, y, count);
  thaw_test_assert_close(what, y, expected, count, 1e-5, 1e-5);
  free(y);
  free(bytes);
}

/* Convert and check the counts only, for graphs run_model cannot feed (two inputs or two
 * outputs). */
static void convert_only(fixture *f, const char *what, uint32_t ops_out,
                         const count_check *counts) {
  uint8_t *bytes;
  uint64_t size;
  thaw_convert_report report;
  thaw_error error;
  assert_int_equal(convert(&f->b, NULL, &bytes, &size, &report, &error), THAW_OK);
  check_report(what, &report, ops_out, counts);
  free(bytes);
}

/* ---- Folding into the Conv before ---- */

/* Paddle's order (constant first), a [C,1,1] shift and a [1,C,1,1] scale: all three fold. */
static void test_mul_add_chain_folds_into_conv(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  static int64_t scale4_dims[4] = {1, MID_C, 1, 1};
  add_initializer(&f.b, "scale4", 4, scale4_dims, f.scale, MID_C);
  add_initializer(&f.b, "shift3", 3, f.channel_dims, f.shift, MID_C);
  add_node(&f.b, "Mul", "scalar", "c", NULL, "m");
  add_node(&f.b, "Add", "m", "shift3", NULL, "a");
  add_node(&f.b, "Mul", "a", "scale4", NULL, "y");
  add_output(&f.b, "y");
  double c[MID_C * PLANE], expected[MID_C * PLANE];
  reference_conv1(&f, c);
  for (int ch = 0; ch < MID_C; ++ch)
    for (int p = 0; p < PLANE; ++p)
      expected[ch * PLANE + p] =
          (c[ch * PLANE + p] * f.scalar + f.shift[ch]) * (double)f.scale[ch];
  static const count_check counts[] = {
      {THAW_CONVERT_FUSED_SCALE, 2},
      {THAW_CONVERT_FUSED_BIAS, 1},
      END_OF_COUNTS,
  };
  convert_and_check(&f, "conv*s+t*u", 1, counts, expected, MID_C * PLANE);
}

/* MatMul [1,2,5,4] x [4,3], then Mul by a [3] constant and Add of a scalar: one MatMul (the
 * fixture's conv1, unread, is dropped). */
static void test_mul_add_fold_into_matmul(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  static int64_t weight_dims[2] = {W, MID_C};
  float weight[W * MID_C];
  thaw_test_rng rng = {3};
  thaw_test_fill_uniform(&rng, weight, W * MID_C, -1.0f, 1.0f);
  add_initializer(&f.b, "weight", 2, weight_dims, weight, W * MID_C);
  add_initializer(&f.b, "column_scale", 1, f.c_dims, f.scale, MID_C);
  add_node(&f.b, "MatMul", "x", "weight", NULL, "product");
  add_node(&f.b, "Mul", "column_scale", "product", NULL, "scaled");
  add_node(&f.b, "Add", "scaled", "scalar", NULL, "y");
  add_output(&f.b, "y");
  enum { ROWS = IN_C * H };
  double expected[ROWS * MID_C];
  for (int r = 0; r < ROWS; ++r)
    for (int n = 0; n < MID_C; ++n) {
      double sum = 0;
      for (int k = 0; k < W; ++k) sum += (double)f.x[r * W + k] * weight[k * MID_C + n];
      expected[r * MID_C + n] = sum * f.scale[n] + f.scalar;
    }
  static const count_check counts[] = {
      {THAW_CONVERT_FUSED_SCALE, 1},
      {THAW_CONVERT_FUSED_BIAS, 1},
      END_OF_COUNTS,
  };
  convert_and_check(&f, "matmul*s+t", 1, counts, expected, ROWS * MID_C);
}

/* ---- HardSwish spelt with Clip ---- */

typedef struct clip_form {
  const char *name;
  int64_t opset;          /* 9: Clip's bounds are attributes; 11+: inputs */
  bool divide_first;      /* x * (Clip(x + 3) / 6) instead of (x * Clip(x + 3)) / 6 */
  bool multiply_by_sixth; /* Mul by 1/6 instead of Div by 6 */
  bool swap;              /* operands the other way round */
} clip_form;

static void add_clip(fixture *f, const clip_form *form, const char *input, const char *out) {
  if (form->opset < 11) {
    Onnx__NodeProto *clip = add_node(&f->b, "Clip", input, NULL, NULL, out);
    add_float_attribute(&f->b, clip, "min", 0.0f);
    add_float_attribute(&f->b, clip, "max", 6.0f);
  } else {
    add_node(&f->b, "Clip", input, "zero", "six", out);
  }
}

static void add_sixth(fixture *f, const clip_form *form, const char *input, const char *out) {
  if (!form->multiply_by_sixth) add_node(&f->b, "Div", input, "six", NULL, out);
  else if (form->swap) add_node(&f->b, "Mul", "sixth", input, NULL, out);
  else add_node(&f->b, "Mul", input, "sixth", NULL, out);
}

/* conv1 -> one form of x * Clip(x + 3, 0, 6) / 6: one Conv with HardSwish in its epilogue. */
static void test_clip_hard_swish_forms(void **state) {
  (void)state;
  static const clip_form forms[] = {
      {"opset 9 attributes, Div after Mul (PP-OCR)", 9, false, false, false},
      {"opset 13 inputs, Mul by 1/6 after Mul, swapped", 13, false, true, true},
      {"opset 11, Div before Mul", 11, true, false, false},
      {"opset 13, Mul by 1/6 before Mul, swapped", 13, true, true, true},
  };
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); ++i) {
    const clip_form *form = &forms[i];
    fixture f;
    fixture_init(&f, form->opset);
    if (form->swap) add_node(&f.b, "Add", "three", "c", NULL, "shifted");
    else add_node(&f.b, "Add", "c", "three", NULL, "shifted");
    add_clip(&f, form, "shifted", "clipped");
    if (form->divide_first) {
      add_sixth(&f, form, "clipped", "gate");
      if (form->swap) add_node(&f.b, "Mul", "gate", "c", NULL, "y");
      else add_node(&f.b, "Mul", "c", "gate", NULL, "y");
    } else {
      if (form->swap) add_node(&f.b, "Mul", "clipped", "c", NULL, "product");
      else add_node(&f.b, "Mul", "c", "clipped", NULL, "product");
      add_sixth(&f, form, "product", "y");
    }
    add_output(&f.b, "y");
    double c[MID_C * PLANE], expected[MID_C * PLANE];
    reference_conv1(&f, c);
    for (int p = 0; p < MID_C * PLANE; ++p) expected[p] = hard_swish(c[p]);
    static const count_check counts[] = {
        {THAW_CONVERT_HARD_SWISH_CLIP, 1},
        {THAW_CONVERT_FUSED_ACTIVATION, 1},
        END_OF_COUNTS,
    };
    convert_and_check(&f, form->name, 1, counts, expected, MID_C * PLANE);
  }
}

/* Add 2.5 instead of 3, or Div by 5 instead of 6: not HardSwish, nothing recognised. */
static void test_clip_near_misses_stay(void **state) {
  (void)state;
  static float two_and_half = 2.5f, five = 5.0f;
  for (int miss = 0; miss < 2; ++miss) {
    fixture f;
    fixture_init(&f, 9);
    add_initializer(&f.b, "offset", 0, NULL, miss == 0 ? &two_and_half : &f.three, 1);
    add_initializer(&f.b, "divisor", 0, NULL, miss == 1 ? &five : &f.six, 1);
    static const clip_form attributes = {"", 9, false, false, false};
    add_node(&f.b, "Add", "c", "offset", NULL, "shifted");
    add_clip(&f, &attributes, "shifted", "clipped");
    add_node(&f.b, "Mul", "c", "clipped", NULL, "product");
    add_node(&f.b, "Div", "product", "divisor", NULL, "y");
    add_output(&f.b, "y");
    double offset = miss == 0 ? 2.5 : 3.0, divisor = miss == 1 ? 5.0 : 6.0;
    double c[MID_C * PLANE], expected[MID_C * PLANE];
    reference_conv1(&f, c);
    for (int p = 0; p < MID_C * PLANE; ++p)
      expected[p] = c[p] * fmin(fmax(c[p] + offset, 0.0), 6.0) / divisor;
    static const count_check counts[] = {{THAW_CONVERT_HARD_SWISH_CLIP, 0}, END_OF_COUNTS};
    convert_and_check(&f, miss == 0 ? "Add 2.5" : "Div 5", 5, counts, expected, MID_C * PLANE);
  }
}

/* ---- The affine after an activation ---- */

/* conv1 -> Relu -> Mul([C,1,1]) -> Add(scalar) -> conv2 `k` x `k`, `pad`, `groups`; `with_shift`
 * false leaves the Add out. Returns conv2's output size per channel. */
static int build_affine_then_conv(fixture *f, bool with_shift, int out_c, int k, int pad,
                                  int groups, double *expected) {
  add_node(&f->b, "Relu", "c", NULL, NULL, "r");
  add_node(&f->b, "Mul", "r", "scale", NULL, with_shift ? "m" : "t");
  if (with_shift) add_node(&f->b, "Add", "shift", "m", NULL, "t");
  add_conv2(f, "t", "y", out_c, k, pad, groups);
  add_output(&f->b, "y");
  double c[MID_C * PLANE];
  reference_conv1(f, c);
  for (int ch = 0; ch < MID_C; ++ch)
    for (int p = 0; p < PLANE; ++p) {
      double v = fmax(c[ch * PLANE + p], 0.0) * (double)f->scale[ch];
      c[ch * PLANE + p] = with_shift ? v + (double)f->shift[0] : v;
    }
  naive_conv(c, H, W, &f->conv2, expected);
  return conv_size(H, &f->conv2) * conv_size(W, &f->conv2);
}

typedef struct affine_case {
  const char *name;
  bool with_shift;
  int out_c, k, pad, groups;
  uint32_t ops_out, into_next, merged;
} affine_case;

/* Folded into the next Conv when exact, else merged into one ChannelAffine. */
static void test_affine_before_next_conv(void **state) {
  (void)state;
  static const affine_case cases[] = {
      /* An unpadded 1x1 Conv takes both the scale and the shift. */
      {"affine into 1x1", true, 2, 1, 0, 1, 2, 2, 0},
      /* Each output channel of a depthwise Conv takes its own input channel's affine. */
      {"affine into unpadded depthwise", true, MID_C, 3, 0, MID_C, 2, 2, 0},
      /* A padded Conv would see the shift on its zero padding. */
      {"affine before padded depthwise", true, MID_C, 3, 1, MID_C, 3, 0, 2},
      /* A scale alone keeps the padding zero. */
      {"scale into padded 3x3", false, 2, 3, 1, 1, 2, 1, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    const affine_case *test = &cases[i];
    fixture f;
    fixture_init(&f, 13);
    double expected[MID_C * PLANE];
    int plane = build_affine_then_conv(&f, test->with_shift, test->out_c, test->k, test->pad,
                                       test->groups, expected);
    const count_check counts[] = {{THAW_CONVERT_AFFINE_INTO_NEXT, test->into_next},
                                  {THAW_CONVERT_MERGED_AFFINE, test->merged}, END_OF_COUNTS};
    convert_and_check(&f, test->name, test->ops_out, counts, expected,
                      (size_t)(test->out_c * plane));
  }
}

/* A BatchNorm after an activation (kept as ChannelAffine) folds into the 1x1 Conv after it. */
static void test_batch_norm_after_activation_folds_forward(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  static float mean[MID_C] = {0.5f, -0.25f, 1.0f}, variance[MID_C] = {2.0f, 0.5f, 1.5f};
  add_initializer(&f.b, "gamma", 1, f.c_dims, f.scale, MID_C);
  add_initializer(&f.b, "beta", 1, f.c_dims, f.shift, MID_C);
  add_initializer(&f.b, "mean", 1, f.c_dims, mean, MID_C);
  add_initializer(&f.b, "variance", 1, f.c_dims, variance, MID_C);
  add_node(&f.b, "Relu", "c", NULL, NULL, "r");
  add_batch_norm(&f.b, "r", "gamma", "beta", "mean", "variance", "t");
  add_conv2(&f, "t", "y", 2, 1, 0, 1);
  add_output(&f.b, "y");
  double c[MID_C * PLANE], expected[2 * PLANE];
  reference_conv1(&f, c);
  for (int ch = 0; ch < MID_C; ++ch)
    for (int p = 0; p < PLANE; ++p)
      c[ch * PLANE + p] = (fmax(c[ch * PLANE + p], 0.0) - mean[ch]) /
                              sqrt((double)variance[ch] + 1e-5) * f.scale[ch] +
                          f.shift[ch];
  naive_conv(c, H, W, &f.conv2, expected);
  static const count_check counts[] = {
      {THAW_CONVERT_FOLDED_BATCH_NORM, 1},
      {THAW_CONVERT_BATCH_NORM_AFFINE, 0},
      {THAW_CONVERT_AFFINE_INTO_NEXT, 0},
      END_OF_COUNTS,
  };
  convert_and_check(&f, "batch norm into 1x1", 2, counts, expected, 2 * PLANE);
}

/* ---- Nothing rewritten ---- */

/* conv1's output read by the Mul and again by the Add after it: the Conv keeps its output. */
static void test_value_read_twice_not_folded(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  add_node(&f.b, "Mul", "c", "scalar", NULL, "m");
  add_node(&f.b, "Add", "m", "c", NULL, "y");
  add_output(&f.b, "y");
  double c[MID_C * PLANE], expected[MID_C * PLANE];
  reference_conv1(&f, c);
  for (int p = 0; p < MID_C * PLANE; ++p) expected[p] = c[p] * f.scalar + c[p];
  static const count_check counts[] = {{THAW_CONVERT_FUSED_SCALE, 0}, END_OF_COUNTS};
  convert_and_check(&f, "read twice", 3, counts, expected, MID_C * PLANE);
}

/* The affine's output read by conv2 and by a residual Add: it stays. */
static void test_affine_read_twice_not_folded_forward(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  add_node(&f.b, "Relu", "c", NULL, NULL, "r");
  add_node(&f.b, "Mul", "r", "scale", NULL, "t");
  add_conv2(&f, "t", "d", MID_C, 1, 0, 1);
  add_node(&f.b, "Add", "d", "t", NULL, "y");
  add_output(&f.b, "y");
  double c[MID_C * PLANE], d[MID_C * PLANE], expected[MID_C * PLANE];
  reference_conv1(&f, c);
  for (int ch = 0; ch < MID_C; ++ch)
    for (int p = 0; p < PLANE; ++p)
      c[ch * PLANE + p] = fmax(c[ch * PLANE + p], 0.0) * (double)f.scale[ch];
  naive_conv(c, H, W, &f.conv2, d);
  for (int p = 0; p < MID_C * PLANE; ++p) expected[p] = d[p] + c[p];
  static const count_check counts[] = {{THAW_CONVERT_AFFINE_INTO_NEXT, 0}, END_OF_COUNTS};
  convert_and_check(&f, "affine read twice", 4, counts, expected, MID_C * PLANE);
}

/* conv1's output is also a graph output: the Mul after it stays a Mul. */
static void test_graph_output_not_folded(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  add_node(&f.b, "Mul", "c", "scale", NULL, "y");
  add_output(&f.b, "c");
  add_output(&f.b, "y");
  static const count_check counts[] = {{THAW_CONVERT_FUSED_SCALE, 0}, END_OF_COUNTS};
  convert_only(&f, "graph output", 2, counts);
}

/* A run-time operand (a second graph input) is no constant to fold. */
static void test_run_time_operand_not_folded(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  static const int64_t z_dims[4] = {1, MID_C, 1, 1};
  add_input(&f.b, "z", 4, z_dims);
  add_node(&f.b, "Mul", "c", "z", NULL, "m");
  add_node(&f.b, "Add", "m", "shift", NULL, "y");
  add_output(&f.b, "y");
  static const count_check counts[] = {
      {THAW_CONVERT_FUSED_SCALE, 0},
      {THAW_CONVERT_MERGED_AFFINE, 0},
      END_OF_COUNTS,
  };
  convert_only(&f, "run-time operand", 3, counts);
}

/* [1,1,1,W] varies along the width, not the channels: no fold, no merge. */
static void test_width_broadcast_not_folded(void **state) {
  (void)state;
  fixture f;
  fixture_init(&f, 13);
  add_initializer(&f.b, "width_scale", 4, f.width_dims, f.width_scale, W);
  add_node(&f.b, "Mul", "c", "width_scale", NULL, "m");
  add_node(&f.b, "Add", "m", "width_scale", NULL, "y");
  add_output(&f.b, "y");
  double c[MID_C * PLANE], expected[MID_C * PLANE];
  reference_conv1(&f, c);
  for (int p = 0; p < MID_C * PLANE; ++p)
    expected[p] = c[p] * (double)f.width_scale[p % W] + (double)f.width_scale[p % W];
  static const count_check counts[] = {
      {THAW_CONVERT_FUSED_SCALE, 0},
      {THAW_CONVERT_FUSED_BIAS, 0},
      {THAW_CONVERT_MERGED_AFFINE, 0},
      END_OF_COUNTS,
  };
  convert_and_check(&f, "width broadcast", 3, counts, expected, MID_C * PLANE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mul_add_chain_folds_into_conv),
      cmocka_unit_test(test_mul_add_fold_into_matmul),
      cmocka_unit_test(test_clip_hard_swish_forms),
      cmocka_unit_test(test_clip_near_misses_stay),
      cmocka_unit_test(test_affine_before_next_conv),
      cmocka_unit_test(test_batch_norm_after_activation_folds_forward),
      cmocka_unit_test(test_value_read_twice_not_folded),
      cmocka_unit_test(test_affine_read_twice_not_folded_forward),
      cmocka_unit_test(test_graph_output_not_folded),
      cmocka_unit_test(test_run_time_operand_not_folded),
      cmocka_unit_test(test_width_broadcast_not_folded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
