/*
 * Graph rewrites after lowering: recognise decomposed GELU / LayerNormalization / SiLU /
 * HardSwish, fold BatchNorm (CHANNEL_AFFINE) and per-channel Mul/Add into the producing
 * Conv/ConvTranspose/MatMul, then activations; per-channel Mul/Add left after an
 * activation fold into the Conv reading them, or merge into one CHANNEL_AFFINE. A rewrite only
 * consumes a value nobody else reads (graph outputs count as readers), and the rewritten node
 * keeps the position of the producer (or of the last node it replaces), so execution order
 * stays topological.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

static bool is_binary(const cv_node *node, uint32_t func) {
  return node && node->op == THAW_OP_BINARY && node->attrs.binary.func == func;
}

static bool is_unary(const cv_node *node, uint32_t func) {
  return node && node->op == THAW_OP_UNARY && node->attrs.unary.func == func;
}

static bool constant_scalar_near(const cv_graph *graph, uint32_t value, double expected,
                                 double tolerance) {
  float x;
  return cv_constant_scalar(graph, value, &x) && fabs((double)x - expected) <= tolerance;
}

/* For a binary node with `known` as one operand, the other operand (CV_NONE if neither). */
static uint32_t other_operand(const cv_node *node, uint32_t known) {
  if (node->inputs[0] == known) return node->inputs[1];
  if (node->inputs[1] == known) return node->inputs[0];
  return CV_NONE;
}

/* `node` now computes func(x) into its own output. */
static void become_unary(cv_graph *graph, cv_node *node, uint32_t func, uint32_t x) {
  node->op = THAW_OP_UNARY;
  memset(&node->attrs, 0, sizeof(node->attrs));
  node->attrs.unary.func = func;
  node->inputs[0] = x;
  node->input_count = 1;
  graph->values[node->outputs[0]].producer = (uint32_t)(node - graph->nodes);
}

/* x * f(x) with f(x) read only here: SiLU from Sigmoid, HardSwish from HardSigmoid(1/6, 1/2). */
static void match_gated(cv_graph *graph, const cv_uses *u, cv_node *mul) {
  for (int side = 0; side < 2; ++side) {
    uint32_t gate = mul->inputs[side], x = mul->inputs[1 - side];
    cv_node *g = cv_producer(graph, gate);
    if (!g || g->op != THAW_OP_UNARY || g->inputs[0] != x || cv_sole_reader(graph, u, gate) == CV_NONE)
      continue;
    uint32_t func;
    thaw_convert_count kind;
    if (g->attrs.unary.func == THAW_UNARY_SIGMOID) {
      func = THAW_UNARY_SILU;
      kind = THAW_CONVERT_SILU_PATTERN;
    } else if (g->attrs.unary.func == THAW_UNARY_HARD_SIGMOID &&
               fabsf(g->attrs.unary.alpha - 1.0f / 6.0f) < 1e-4f &&
               fabsf(g->attrs.unary.beta - 0.5f) < 1e-6f) {
      func = THAW_UNARY_HARD_SWISH;
      kind = THAW_CONVERT_HARD_SWISH_PATTERN;
    } else {
      continue;
    }
    g->op = 0;
    become_unary(graph, mul, func, x);
    graph->report->counts[kind]++;
    return;
  }
}

/* The node reading `value` alone when it divides it by 6: Div(value, 6), or Mul by 1/6 with the
 * operands either way round; NULL otherwise. */
static cv_node *sixth_of(cv_graph *graph, const cv_uses *u, uint32_t value) {
  uint32_t reader = cv_sole_reader(graph, u, value);
  cv_node *node = reader == CV_NONE ? NULL : &graph->nodes[reader];
  if (is_binary(node, THAW_BINARY_DIV) && node->inputs[0] == value &&
      constant_scalar_near(graph, node->inputs[1], 6.0, 0))
    return node;
  if (is_binary(node, THAW_BINARY_MUL) &&
      constant_scalar_near(graph, other_operand(node, value), 1.0 / 6.0, 1e-7))
    return node;
  return NULL;
}

/* HardSwish spelt with Clip, as exporters without a HardSwish op write it:
 * Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(6), or with the division before the Mul
 * (x * (Clip(x + 3, 0, 6) / 6)); Mul by 1/6 for Div by 6; operands either way round. Clip's
 * bounds come from attributes or (opset 11) constant inputs, both lowered into its attrs. */
static void match_clip_hard_swish(cv_graph *graph, const cv_uses *u, cv_node *clip) {
  if (clip->attrs.unary.alpha != 0.0f || clip->attrs.unary.beta != 6.0f) return;
  cv_node *plus_three = cv_producer(graph, clip->inputs[0]);
  if (!is_binary(plus_three, THAW_BINARY_ADD) || cv_sole_reader(graph, u, clip->inputs[0]) == CV_NONE)
    return;
  uint32_t x = CV_NONE;
  for (int side = 0; side < 2; ++side)
    if (constant_scalar_near(graph, plus_three->inputs[side], 3.0, 0))
      x = plus_three->inputs[1 - side];
  if (x == CV_NONE) return;
  uint32_t gate_index = cv_sole_reader(graph, u, clip->outputs[0]);
  cv_node *gate = gate_index == CV_NONE ? NULL : &graph->nodes[gate_index];
  cv_node *middle, *last;
  if (is_binary(gate, THAW_BINARY_MUL) && other_operand(gate, clip->outputs[0]) == x) {
    middle = gate;
    last = sixth_of(graph, u, gate->outputs[0]);
  } else {
    middle = sixth_of(graph, u, clip->outputs[0]);
    uint32_t product = middle ? cv_sole_reader(graph, u, middle->outputs[0]) : CV_NONE;
    last = product == CV_NONE ? NULL : &graph->nodes[product];
    if (!is_binary(last, THAW_BINARY_MUL) || other_operand(last, middle->outputs[0]) != x)
      return;
  }
  if (!last) return;
  plus_three->op = clip->op = middle->op = 0;
  become_unary(graph, last, THAW_UNARY_HARD_SWISH, x);
  graph->report->counts[THAW_CONVERT_HARD_SWISH_CLIP]++;
}

/* PyTorch's exact GELU: Div(x, √2) → Erf → Add(1) → Mul(x, ·) → Mul(0.5). */
static void match_gelu(cv_graph *graph, const cv_uses *u, cv_node *erf) {
  cv_node *scale = cv_producer(graph, erf->inputs[0]);
  if (!scale || cv_sole_reader(graph, u, erf->inputs[0]) == CV_NONE) return;
  bool divides = is_binary(scale, THAW_BINARY_DIV) &&
                 constant_scalar_near(graph, scale->inputs[1], sqrt(2.0), 1e-3);
  bool multiplies = is_binary(scale, THAW_BINARY_MUL) &&
                    constant_scalar_near(graph, scale->inputs[1], sqrt(0.5), 1e-3);
  if (!divides && !multiplies) return;
  uint32_t x = scale->inputs[0];
  uint32_t add_index = cv_sole_reader(graph, u, erf->outputs[0]);
  cv_node *add = add_index == CV_NONE ? NULL : &graph->nodes[add_index];
  if (!is_binary(add, THAW_BINARY_ADD) ||
      !constant_scalar_near(graph, other_operand(add, erf->outputs[0]), 1.0, 1e-6))
    return;
  uint32_t gate_index = cv_sole_reader(graph, u, add->outputs[0]);
  cv_node *gate = gate_index == CV_NONE ? NULL : &graph->nodes[gate_index];
  if (!is_binary(gate, THAW_BINARY_MUL) || other_operand(gate, add->outputs[0]) != x) return;
  uint32_t half_index = cv_sole_reader(graph, u, gate->outputs[0]);
  cv_node *half = half_index == CV_NONE ? NULL : &graph->nodes[half_index];
  if (!is_binary(half, THAW_BINARY_MUL) ||
      !constant_scalar_near(graph, other_operand(half, gate->outputs[0]), 0.5, 1e-6))
    return;
  scale->op = erf->op = add->op = gate->op = 0;
  become_unary(graph, half, THAW_UNARY_GELU, x);
  graph->report->counts[THAW_CONVERT_GELU_PATTERN]++;
}

/* A constant whose elements follow the normalised dims (leading 1s allowed), copied with
 * exactly those dims as LAYER_NORM wants; CV_NONE when it does not fit. */
static uint32_t normalised_constant(cv_graph *graph, uint32_t value, const cv_value *x,
                                    uint32_t axis) {
  const cv_value *c = &graph->values[value];
  uint32_t normalised_rank = x->rank - axis;
  if (!c->data || c->dtype != THAW_DTYPE_F32) return CV_NONE;
  for (uint32_t d = 0; d < c->rank; ++d) {
    bool trailing = c->rank - d <= normalised_rank;
    int64_t expected = trailing ? x->shape[x->rank - (c->rank - d)] : 1;
    if (c->shape[d] != expected) return CV_NONE;
  }
  uint64_t count = 1;
  for (uint32_t d = axis; d < x->rank; ++d) count *= (uint64_t)x->shape[d];
  if (c->element_count != count) return CV_NONE;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, x->shape + axis, normalised_rank * sizeof(int64_t));
  return cv_add_constant(graph, c->name, THAW_DTYPE_F32, normalised_rank, shape, c->data);
}

/* ReduceMean → Sub → Pow(2) → ReduceMean → Add(eps) → Sqrt → Div [→ Mul(scale) → Add(bias)]. */
static thaw_status match_layer_norm(cv_graph *graph, const cv_uses *u, cv_node *mean,
                                    thaw_error *error) {
  uint32_t x = mean->inputs[0];
  const cv_value *xv = &graph->values[x];
  uint32_t axis = mean->attrs.reduce.first_axis;
  if (axis + mean->attrs.reduce.axis_count != xv->rank) return THAW_OK;
  uint32_t sub_index = cv_sole_reader(graph, u, mean->outputs[0]);
  cv_node *sub = sub_index == CV_NONE ? NULL : &graph->nodes[sub_index];
  if (!is_binary(sub, THAW_BINARY_SUB) || sub->inputs[0] != x) return THAW_OK;
  uint32_t centred = sub->outputs[0];
  if (cv_reader_count(u, centred) != 2 || u->extra[centred]) return THAW_OK;
  cv_node *square = NULL, *divide = NULL;
  for (uint32_t r = u->start[centred]; r < u->start[centred + 1]; ++r) {
    cv_node *reader = &graph->nodes[u->readers[r]];
    if (is_binary(reader, THAW_BINARY_POW) && reader->inputs[0] == centred &&
        constant_scalar_near(graph, reader->inputs[1], 2.0, 0))
      square = reader;
    else if (is_binary(reader, THAW_BINARY_DIV) && reader->inputs[0] == centred)
      divide = reader;
  }
  if (!square || !divide) return THAW_OK;
  uint32_t variance_index = cv_sole_reader(graph, u, square->outputs[0]);
  cv_node *variance = variance_index == CV_NONE ? NULL : &graph->nodes[variance_index];
  if (!variance || variance->op != THAW_OP_REDUCE_MEAN ||
      variance->attrs.reduce.first_axis != axis ||
      variance->attrs.reduce.axis_count != mean->attrs.reduce.axis_count)
    return THAW_OK;
  uint32_t add_index = cv_sole_reader(graph, u, variance->outputs[0]);
  cv_node *add_epsilon = add_index == CV_NONE ? NULL : &graph->nodes[add_index];
  if (!is_binary(add_epsilon, THAW_BINARY_ADD)) return THAW_OK;
  uint32_t epsilon_value = other_operand(add_epsilon, variance->outputs[0]);
  const cv_value *epsilon = &graph->values[epsilon_value];
  if (!epsilon->data || epsilon->dtype != THAW_DTYPE_F32 || epsilon->element_count != 1)
    return THAW_OK;
  uint32_t sqrt_index = cv_sole_reader(graph, u, add_epsilon->outputs[0]);
  cv_node *root = sqrt_index == CV_NONE ? NULL : &graph->nodes[sqrt_index];
  if (!is_unary(root, THAW_UNARY_SQRT) || divide->inputs[1] != root->outputs[0] ||
      cv_sole_reader(graph, u, root->outputs[0]) == CV_NONE)
    return THAW_OK;
  /* Optional affine tail: Mul by a constant scale, then Add a constant bias. */
  cv_node *last = divide, *scale_node = NULL, *bias_node = NULL;
  uint32_t scale = CV_NONE, bias = CV_NONE;
  uint32_t next = cv_sole_reader(graph, u, divide->outputs[0]);
  if (next != CV_NONE && is_binary(&graph->nodes[next], THAW_BINARY_MUL)) {
    scale = normalised_constant(graph, other_operand(&graph->nodes[next], divide->outputs[0]),
                                &graph->values[x], axis);
    if (scale != CV_NONE) {
      scale_node = last = &graph->nodes[next];
      next = cv_sole_reader(graph, u, last->outputs[0]);
      if (next != CV_NONE && is_binary(&graph->nodes[next], THAW_BINARY_ADD)) {
        bias = normalised_constant(graph, other_operand(&graph->nodes[next], last->outputs[0]),
                                   &graph->values[x], axis);
        if (bias != CV_NONE) bias_node = last = &graph->nodes[next];
      }
    }
  }
  if (scale == CV_NONE) {
    /* Without a Mul the scale is 1 everywhere: a constant of the normalised row's size, which
     * a hostile model can make huge; past CV_COMPUTED_CONSTANT_BYTES the ops stay apart. */
    xv = &graph->values[x];
    uint64_t count = 1;
    for (uint32_t d = axis; d < xv->rank; ++d) count *= (uint64_t)xv->shape[d];
    if (count * sizeof(float) > CV_COMPUTED_CONSTANT_BYTES) return THAW_OK;
    float *ones = malloc(count * sizeof(float));
    if (!ones) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    for (uint64_t i = 0; i < count; ++i) ones[i] = 1.0f;
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, xv->shape + axis, (xv->rank - axis) * sizeof(int64_t));
    scale = cv_add_constant(graph, xv->name, THAW_DTYPE_F32, xv->rank - axis, shape, ones);
    free(ones);
    if (scale == CV_NONE) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  float epsilon_float;
  memcpy(&epsilon_float, graph->values[epsilon_value].data, 4);
  mean->op = sub->op = square->op = variance->op = add_epsilon->op = root->op = 0;
  if (last != divide) divide->op = 0;
  if (scale_node && last != scale_node) scale_node->op = 0;
  (void)bias_node;
  last->op = THAW_OP_LAYER_NORM;
  memset(&last->attrs, 0, sizeof(last->attrs));
  last->attrs.layer_norm.axis = axis;
  last->attrs.layer_norm.epsilon = epsilon_float;
  /* Binary nodes have room for 2 inputs plus the spare slot cv_add_node allocates. */
  last->inputs[0] = x;
  last->inputs[1] = scale;
  last->inputs[2] = bias;
  last->input_count = bias == CV_NONE ? 2 : 3;
  graph->values[last->outputs[0]].producer = (uint32_t)(last - graph->nodes);
  graph->report->counts[THAW_CONVERT_LAYER_NORM_PATTERN]++;
  return THAW_OK;
}

static thaw_status recognise_patterns(cv_graph *graph, thaw_error *error) {
  cv_uses u;
  thaw_status status = cv_uses_build(graph, &u, error);
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; ++n) {
    cv_node *node = &graph->nodes[n];
    if (is_unary(node, THAW_UNARY_ERF)) match_gelu(graph, &u, node);
    else if (is_binary(node, THAW_BINARY_MUL)) match_gated(graph, &u, node);
    else if (is_unary(node, THAW_UNARY_CLIP)) match_clip_hard_swish(graph, &u, node);
    else if (node->op == THAW_OP_REDUCE_MEAN) status = match_layer_norm(graph, &u, node, error);
  }
  cv_uses_free(&u);
  return status;
}

/* ---- Folding into Conv / MatMul ---- */

/* True when `weights` are known offline: constant, or (cv_fuse_qdq's to fuse or fold) the
 * dequantize of constant integers. Only constant bytes can be rewritten. */
static bool weights_known(const cv_graph *graph, uint32_t weights, bool rewritten) {
  if (graph->values[weights].data) return true;
  const cv_node *dequantize = cv_producer(graph, weights);
  if (rewritten || !dequantize || dequantize->op != THAW_OP_DEQUANTIZE_LINEAR) return false;
  for (uint32_t i = 0; i < dequantize->input_count; ++i)
    if (!graph->values[dequantize->inputs[i]].data) return false;
  return true;
}

static bool is_convolution(const cv_node *node) {
  return node->op == THAW_OP_CONV || node->op == THAW_OP_CONV_TRANSPOSE ||
         node->op == THAW_OP_QS8_CONV;
}

/* The activation a Conv, ConvTranspose, MatMul or their int8 forms apply to their output. */
static thaw_unary_attrs *fused_activation(cv_node *p) {
  if (p->op == THAW_OP_QS8_MATMUL) return &p->attrs.qs8_matmul.activation;
  if (p->op == THAW_OP_QS8_CONV) return &p->attrs.qs8_conv.conv.activation;
  return is_convolution(p) ? &p->attrs.conv.activation : &p->attrs.matmul.activation;
}

/* The Conv/ConvTranspose/MatMul producing `value` when it can absorb what follows: read only by
 * `reader`, weights known offline (constant bytes when `rewrites_weights`), no activation fused
 * yet. A QS8MatMul or QS8Conv (ONNX Runtime's dynamically quantized products, already int8 when
 * lowered) takes a bias and an activation, not scaled weights. */
static cv_node *absorbing_producer(const cv_graph *graph, const cv_uses *u, uint32_t value,
                                   bool rewrites_weights) {
  cv_node *p = cv_producer(graph, value);
  if (!p || cv_sole_reader(graph, u, value) == CV_NONE) return NULL;
  const bool int8 = p->op == THAW_OP_QS8_MATMUL || p->op == THAW_OP_QS8_CONV;
  if (!is_convolution(p) && p->op != THAW_OP_MATMUL && !int8) return NULL;
  if (int8 && rewrites_weights) return NULL;
  if (!weights_known(graph, p->inputs[1], rewrites_weights)) return NULL;
  return fused_activation(p)->func == THAW_UNARY_IDENTITY ? p : NULL;
}

/* The number of output channels of a Conv ([M,...] weight), a ConvTranspose ([C, M/groups,
 * ...]) or columns of a MatMul ([K,N]). */
static int64_t output_channels(const cv_graph *graph, const cv_node *p) {
  const cv_value *w = &graph->values[p->inputs[1]];
  if (p->op == THAW_OP_CONV || p->op == THAW_OP_QS8_CONV) return w->shape[0];
  if (p->op == THAW_OP_CONV_TRANSPOSE) return w->shape[1] * (int64_t)p->attrs.conv.groups;
  return w->shape[w->rank - 1];
}

/* The output channel weight element i multiplies into. */
static uint64_t weight_channel(const cv_graph *graph, const cv_node *p, uint64_t i) {
  const cv_value *w = &graph->values[p->inputs[1]];
  const uint64_t channels = (uint64_t)output_channels(graph, p);
  if (p->op == THAW_OP_CONV) return i / (w->element_count / channels);
  if (p->op == THAW_OP_MATMUL) return i % channels;
  /* [C, M/groups, kh, kw]: input channel c of group c / (C/groups) feeds that group's M/groups
   * outputs. */
  const uint64_t groups = p->attrs.conv.groups, group_out = channels / groups;
  const uint64_t taps = w->element_count / ((uint64_t)w->shape[0] * group_out);
  const uint64_t input_channel = i / (group_out * taps);
  const uint64_t group = input_channel / ((uint64_t)w->shape[0] / groups);
  return group * group_out + i / taps % group_out;
}

/* Give `p` new constant weights scaled per output channel and a new bias
 * bias'[c] = bias[c] * scale[c] + shift[c] (scale may be NULL for 1, shift NULL for 0). */
static thaw_status rewrite_weights(cv_graph *graph, cv_node *p, const float *scale,
                                   const float *shift, thaw_error *error) {
  int64_t channels = output_channels(graph, p);
  const cv_value *w = &graph->values[p->inputs[1]];
  uint32_t weight = p->inputs[1];
  if (scale) {
    int64_t shape[THAW_MAX_RANK];
    memcpy(shape, w->shape, sizeof(shape));
    weight = cv_add_constant(graph, w->name, THAW_DTYPE_F32, w->rank, shape, w->data);
    if (weight == CV_NONE) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    w = &graph->values[weight];
    float *data = (float *)w->data;
    for (uint64_t i = 0; i < w->element_count; ++i) data[i] *= scale[weight_channel(graph, p, i)];
  }
  float *bias = calloc((size_t)channels, sizeof(float));
  if (!bias) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  if (p->input_count > 2) memcpy(bias, graph->values[p->inputs[2]].data, (size_t)channels * 4);
  for (int64_t c = 0; c < channels; ++c)
    bias[c] = bias[c] * (scale ? scale[c] : 1.0f) + (shift ? shift[c] : 0.0f);
  uint32_t bias_value = cv_add_constant(graph, graph->values[weight].name, THAW_DTYPE_F32, 1,
                                        &channels, bias);
  free(bias);
  if (bias_value == CV_NONE) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  p->inputs[1] = weight;
  p->inputs[2] = bias_value;
  p->input_count = 3;
  return THAW_OK;
}

/* `p` takes over the output of `absorbed`, which disappears. */
static void absorb(cv_graph *graph, cv_node *p, cv_node *absorbed) {
  p->outputs[0] = absorbed->outputs[0];
  graph->values[p->outputs[0]].producer = (uint32_t)(p - graph->nodes);
  absorbed->op = 0;
}

/* BatchNorm (lowered to CHANNEL_AFFINE) after a Conv, or after a MatMul with a [rows, C] output. */
static thaw_status fold_batch_norm(cv_graph *graph, const cv_uses *u, cv_node *affine,
                                   thaw_error *error) {
  cv_node *p = absorbing_producer(graph, u, affine->inputs[0], true);
  if (!p) return THAW_OK;
  const cv_value *y = &graph->values[affine->inputs[0]];
  if (p->op == THAW_OP_MATMUL && y->rank != 2) return THAW_OK;
  thaw_status status = rewrite_weights(graph, p, (const float *)graph->values[affine->inputs[1]].data,
                                       (const float *)graph->values[affine->inputs[2]].data, error);
  if (status != THAW_OK) return status;
  absorb(graph, p, affine);
  graph->report->counts[THAW_CONVERT_BATCH_NORM_AFFINE]--;
  graph->report->counts[THAW_CONVERT_FOLDED_BATCH_NORM]++;
  return THAW_OK;
}

/* Whether constant `c`, the operand of a binary op beside `y` whose output `out` has y's shape,
 * holds one value, or one value per index of y's axis `axis` (1 on every other axis). */
static bool per_channel_constant(const cv_graph *graph, uint32_t c, uint32_t y, uint32_t out,
                                 uint32_t axis) {
  const cv_value *cv = &graph->values[c], *yv = &graph->values[y], *ov = &graph->values[out];
  if (!cv->data || cv->dtype != THAW_DTYPE_F32 || yv->dtype != THAW_DTYPE_F32) return false;
  if (ov->rank != yv->rank || ov->element_count != yv->element_count) return false;
  if (cv->element_count == 1) return true;
  if (axis >= yv->rank) return false;
  uint32_t from_end = yv->rank - axis;
  return cv->element_count == (uint64_t)yv->shape[axis] && cv->rank >= from_end &&
         cv->rank <= yv->rank && cv->shape[cv->rank - from_end] == yv->shape[axis];
}

/* Element `channel` of a per-channel constant (per_channel_constant), a scalar included. */
static float channel_value(const cv_value *constant, int64_t channel) {
  float value;
  memcpy(&value, constant->data + (constant->element_count == 1 ? 0 : (size_t)channel * 4), 4);
  return value;
}

static bool all_finite(const cv_value *constant) {
  for (uint64_t i = 0; i < constant->element_count; ++i)
    if (!isfinite(channel_value(constant, (int64_t)i))) return false;
  return true;
}

/* The axis of a convolution's (NCHW) or MatMul's output that its weights' output channels
 * index. */
static uint32_t channel_axis(const cv_graph *graph, const cv_node *p) {
  return is_convolution(p) ? 1 : graph->values[p->outputs[0]].rank - 1;
}

/* Add or Mul of a per-channel constant ([M,1,1] for Conv, [N] for MatMul, or a scalar) after a
 * Conv/MatMul: Wx + b + t has bias b + t, (Wx + b) * s has weights sW and bias sb. */
static thaw_status fold_channel_constant(cv_graph *graph, const cv_uses *u, cv_node *binary,
                                         thaw_error *error) {
  bool scales = binary->attrs.binary.func == THAW_BINARY_MUL;
  for (int side = 0; side < 2; ++side) {
    uint32_t y = binary->inputs[side], c = binary->inputs[1 - side];
    cv_node *p = absorbing_producer(graph, u, y, scales);
    if (!p || !per_channel_constant(graph, c, y, binary->outputs[0], channel_axis(graph, p)))
      continue;
    const cv_value *constant = &graph->values[c];
    /* An infinite or NaN scale would make NaN of a zero Wx + b in one form and not the other. */
    if (scales && !all_finite(constant)) continue;
    int64_t channels = output_channels(graph, p);
    float *values = malloc((size_t)channels * sizeof(float));
    if (!values) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
    for (int64_t i = 0; i < channels; ++i) values[i] = channel_value(constant, i);
    thaw_status status =
        rewrite_weights(graph, p, scales ? values : NULL, scales ? NULL : values, error);
    free(values);
    if (status != THAW_OK) return status;
    absorb(graph, p, binary);
    graph->report->counts[scales ? THAW_CONVERT_FUSED_SCALE : THAW_CONVERT_FUSED_BIAS]++;
    return THAW_OK;
  }
  return THAW_OK;
}

static bool fusable_activation(uint32_t func) {
  switch (func) {
    case THAW_UNARY_RELU: case THAW_UNARY_CLIP: case THAW_UNARY_SIGMOID:
    case THAW_UNARY_HARD_SIGMOID: case THAW_UNARY_HARD_SWISH: case THAW_UNARY_TANH:
    case THAW_UNARY_GELU: case THAW_UNARY_SILU: case THAW_UNARY_LEAKY_RELU:
      return true;
    default:
      return false;
  }
}

static void fuse_activation(cv_graph *graph, const cv_uses *u, cv_node *unary) {
  if (!fusable_activation(unary->attrs.unary.func)) return;
  cv_node *p = absorbing_producer(graph, u, unary->inputs[0], false);
  if (!p) return;
  *fused_activation(p) = unary->attrs.unary;
  absorb(graph, p, unary);
  graph->report->counts[THAW_CONVERT_FUSED_ACTIVATION]++;
}

/* The affine pass folds BatchNorms and per-channel Add/Mul constants in one walk, in graph
 * order, so that a chain of them (paddle2onnx writes Conv, Add bias, BatchNormalization) folds
 * whatever its order: each node finds its predecessors already folded into the Conv. */
typedef enum { PASS_AFFINE, PASS_ACTIVATION } fold_pass;

static thaw_status fold_into_producers(cv_graph *graph, fold_pass pass, thaw_error *error) {
  cv_uses u;
  thaw_status status = cv_uses_build(graph, &u, error);
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; ++n) {
    cv_node *node = &graph->nodes[n];
    if (pass == PASS_AFFINE && node->op == THAW_OP_CHANNEL_AFFINE)
      status = fold_batch_norm(graph, &u, node, error);
    else if (pass == PASS_AFFINE &&
             (is_binary(node, THAW_BINARY_ADD) || is_binary(node, THAW_BINARY_MUL)))
      status = fold_channel_constant(graph, &u, node, error);
    else if (pass == PASS_ACTIVATION && node->op == THAW_OP_UNARY)
      fuse_activation(graph, &u, node);
  }
  cv_uses_free(&u);
  return status;
}

/* ---- Per-channel affines left after the fusions ---- */

/* Nodes applying y = scale * x + shift along axis 1 (Mul or Add by a per-channel constant,
 * ChannelAffine), each the only reader of the one before, composed into one affine of `input`.
 * What is left of PP-OCR's "learnable affine blocks" after an activation is such a run. */
typedef struct affine_run {
  uint32_t input;
  cv_node *first, *last;
  uint32_t length;
  int64_t channels;       /* of `input`'s axis 1 */
  double *scale, *shift;  /* `channels` each */
} affine_run;

/* The value a Mul/Add with one constant operand, or a ChannelAffine, applies itself to. */
static uint32_t affine_operand(const cv_graph *graph, const cv_node *node) {
  if (node->op == THAW_OP_CHANNEL_AFFINE) return node->inputs[0];
  if (!is_binary(node, THAW_BINARY_MUL) && !is_binary(node, THAW_BINARY_ADD)) return CV_NONE;
  bool constant0 = graph->values[node->inputs[0]].data != NULL;
  bool constant1 = graph->values[node->inputs[1]].data != NULL;
  return constant0 == constant1 ? CV_NONE : node->inputs[constant0 ? 1 : 0];
}

/* Compose `node` into the run when it applies a per-channel affine to `x`, the run's output. */
static bool extend_run(const cv_graph *graph, const cv_node *node, uint32_t x, affine_run *run) {
  if (affine_operand(graph, node) != x) return false;
  if (node->op == THAW_OP_CHANNEL_AFFINE) {
    const cv_value *scale = &graph->values[node->inputs[1]];
    const cv_value *shift = &graph->values[node->inputs[2]];
    if (!scale->data || !shift->data) return false;
    for (int64_t c = 0; c < run->channels; ++c) {
      double s = channel_value(scale, c);
      run->scale[c] *= s;
      run->shift[c] = run->shift[c] * s + channel_value(shift, c);
    }
    return true;
  }
  uint32_t operand = other_operand(node, x);
  if (!per_channel_constant(graph, operand, x, node->outputs[0], 1)) return false;
  const cv_value *constant = &graph->values[operand];
  bool scales = node->attrs.binary.func == THAW_BINARY_MUL;
  for (int64_t c = 0; c < run->channels; ++c) {
    double value = channel_value(constant, c);
    if (scales) {
      run->scale[c] *= value;
      run->shift[c] *= value;
    } else {
      run->shift[c] += value;
    }
  }
  return true;
}

/* Count the run's nodes and remove them, all of them when `folded` into the next Conv, else all
 * but the last, which becomes the merged ChannelAffine. Mul and Add count as `binary_kind`; a
 * ChannelAffine (a kept BatchNorm) counts as folded when it is, else it stays one. */
static void retire_run(cv_graph *graph, const cv_uses *u, const affine_run *run,
                       thaw_convert_count binary_kind, bool folded) {
  uint32_t *counts = graph->report->counts;
  cv_node *node = run->first;
  for (uint32_t i = 0; i < run->length; ++i) {
    cv_node *next = i + 1 < run->length
                        ? &graph->nodes[cv_sole_reader(graph, u, node->outputs[0])] : NULL;
    if (node->op != THAW_OP_CHANNEL_AFFINE) {
      counts[binary_kind]++;
    } else if (folded) {
      counts[THAW_CONVERT_BATCH_NORM_AFFINE]--;
      counts[THAW_CONVERT_FOLDED_BATCH_NORM]++;
    }
    if (folded || node != run->last) node->op = 0;
    node = next;
  }
}

/* Whether `conv`, reading the run's output `y`, can take the run into its weights:
 * W(s*x + t) + b = (W diag s)x + (b + Wt). The shift would also land on the zeros a padded
 * conv reads outside its input, so a padded conv takes only a run without one. */
static bool takes_input_affine(const cv_graph *graph, const cv_node *conv, uint32_t y,
                               const affine_run *run) {
  if (!conv || conv->op != THAW_OP_CONV || conv->inputs[0] != y) return false;
  const cv_value *w = &graph->values[conv->inputs[1]];
  if (!w->data || w->dtype != THAW_DTYPE_F32 || w->rank < 2 || w->element_count == 0 ||
      w->shape[1] * (int64_t)conv->attrs.conv.groups != run->channels)
    return false;
  const thaw_conv_attrs *a = &conv->attrs.conv;
  bool padded = a->pad_top || a->pad_left || a->pad_bottom || a->pad_right;
  for (int64_t c = 0; c < run->channels; ++c) {
    if (!isfinite((float)run->scale[c]) || !isfinite((float)run->shift[c])) return false;
    if (padded && run->shift[c] != 0) return false;
  }
  return true;
}

static thaw_status fold_into_next_conv(cv_graph *graph, cv_node *conv, const affine_run *run,
                                       thaw_error *error) {
  const cv_value *w = &graph->values[conv->inputs[1]];
  int64_t outputs = w->shape[0], per_group = w->shape[1];
  uint64_t taps = w->element_count / (uint64_t)(outputs * per_group);
  int64_t outputs_per_group = outputs / (int64_t)conv->attrs.conv.groups;
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, w->shape, sizeof(shape));
  uint32_t weight = cv_add_constant(graph, w->name, THAW_DTYPE_F32, w->rank, shape, w->data);
  float *bias = calloc((size_t)outputs, sizeof(float));
  if (weight == CV_NONE || !bias) {
    free(bias);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  if (conv->input_count > 2 && conv->inputs[2] != CV_NONE)
    memcpy(bias, graph->values[conv->inputs[2]].data, (size_t)outputs * 4);
  float *data = (float *)graph->values[weight].data;
  for (int64_t o = 0; o < outputs; ++o) {
    double shifted = bias[o];
    for (int64_t i = 0; i < per_group; ++i) {
      int64_t channel = o / outputs_per_group * per_group + i;
      float *taps_of = data + ((uint64_t)(o * per_group + i)) * taps;
      for (uint64_t k = 0; k < taps; ++k) {
        shifted += (double)taps_of[k] * run->shift[channel];
        taps_of[k] = (float)(taps_of[k] * run->scale[channel]);
      }
    }
    bias[o] = (float)shifted;
  }
  uint32_t bias_value = cv_add_constant(graph, graph->values[weight].name, THAW_DTYPE_F32, 1,
                                        &outputs, bias);
  free(bias);
  if (bias_value == CV_NONE)
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  conv->inputs[0] = run->input;
  conv->inputs[1] = weight;
  conv->inputs[2] = bias_value;
  conv->input_count = 3;
  return THAW_OK;
}

/* The run's last node becomes one ChannelAffine of the run's input. */
static thaw_status become_channel_affine(cv_graph *graph, const affine_run *run,
                                         thaw_error *error) {
  float *values = malloc((size_t)run->channels * 2 * sizeof(float));
  if (!values) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  for (int64_t c = 0; c < run->channels; ++c) {
    values[c] = (float)run->scale[c];
    values[run->channels + c] = (float)run->shift[c];
  }
  const char *name = graph->values[run->last->outputs[0]].name;
  uint32_t scale = cv_add_constant(graph, name, THAW_DTYPE_F32, 1, &run->channels, values);
  uint32_t shift = scale == CV_NONE ? CV_NONE
                   : cv_add_constant(graph, name, THAW_DTYPE_F32, 1, &run->channels,
                                     values + run->channels);
  free(values);
  if (shift == CV_NONE) return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  cv_node *last = run->last;
  last->op = THAW_OP_CHANNEL_AFFINE;
  memset(&last->attrs, 0, sizeof(last->attrs));
  /* Binary nodes have room for 2 inputs plus the spare slot cv_add_node allocates. */
  last->inputs[0] = run->input;
  last->inputs[1] = scale;
  last->inputs[2] = shift;
  last->input_count = 3;
  return THAW_OK;
}

/* The longest run starting at `first`: folded into the Conv reading it when that is exact, else
 * merged into one ChannelAffine when it has two nodes or more (one pass over memory, not one per
 * node). A single Mul or Add stays what it is. */
static thaw_status fold_affine_run(cv_graph *graph, const cv_uses *u, cv_node *first,
                                   thaw_error *error) {
  uint32_t x = affine_operand(graph, first);
  if (x == CV_NONE || graph->values[x].rank < 2 || graph->values[x].dtype != THAW_DTYPE_F32 ||
      graph->values[x].shape[1] < 1)
    return THAW_OK;
  affine_run run = {.input = x, .first = first, .channels = graph->values[x].shape[1]};
  run.scale = malloc((size_t)run.channels * sizeof(double));
  run.shift = malloc((size_t)run.channels * sizeof(double));
  if (!run.scale || !run.shift) {
    free(run.scale);
    free(run.shift);
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (int64_t c = 0; c < run.channels; ++c) {
    run.scale[c] = 1.0;
    run.shift[c] = 0.0;
  }
  uint32_t y = x, next_index = (uint32_t)(first - graph->nodes);
  while (next_index != CV_NONE && extend_run(graph, &graph->nodes[next_index], y, &run)) {
    run.last = &graph->nodes[next_index];
    run.length++;
    y = run.last->outputs[0];
    next_index = cv_sole_reader(graph, u, y);
  }
  thaw_status status = THAW_OK;
  cv_node *next = next_index == CV_NONE ? NULL : &graph->nodes[next_index];
  if (run.length && takes_input_affine(graph, next, y, &run)) {
    status = fold_into_next_conv(graph, next, &run, error);
    if (status == THAW_OK) retire_run(graph, u, &run, THAW_CONVERT_AFFINE_INTO_NEXT, true);
  } else if (run.length >= 2) {
    retire_run(graph, u, &run, THAW_CONVERT_MERGED_AFFINE, false);
    status = become_channel_affine(graph, &run, error);
  }
  free(run.scale);
  free(run.shift);
  return status;
}

static thaw_status fold_affine_runs(cv_graph *graph, thaw_error *error) {
  cv_uses u;
  thaw_status status = cv_uses_build(graph, &u, error);
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; ++n)
    if (graph->nodes[n].op) status = fold_affine_run(graph, &u, &graph->nodes[n], error);
  cv_uses_free(&u);
  return status;
}

thaw_status cv_fuse(cv_graph *graph, thaw_error *error) {
  thaw_status status = recognise_patterns(graph, error);
  if (status == THAW_OK) status = fold_into_producers(graph, PASS_AFFINE, error);
  if (status == THAW_OK) status = fold_into_producers(graph, PASS_ACTIVATION, error);
  if (status == THAW_OK) status = cv_fuse_attention(graph, error);
  if (status == THAW_OK) status = fold_affine_runs(graph, error);
  return status;
}
