/* Per-node cost facts: FLOPs, bytes and the kernel class, from a prepared model. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/cost.h"
/* The kernels' own rules for which path runs, so the class names the kernel that really runs:
 * the clamp test decides whether an activation costs a pass of its own, and THAW_GEMV_MAX_M
 * where the GEMM driver switches to its bandwidth-bound form. */
#include "kernels/elementwise/unary-clamp.h"
#include "kernels/gemm/gemm-ukernel.h"

static const char *const class_names[THAW_COST_CLASS_COUNT] = {
    [THAW_COST_GEMM] = "gemm",
    [THAW_COST_GEMV] = "gemv",
    [THAW_COST_CONV] = "conv",
    [THAW_COST_CONV_1X1] = "conv 1x1",
    [THAW_COST_DEPTHWISE] = "depthwise",
    [THAW_COST_CONV_TRANSPOSE] = "conv transpose",
    [THAW_COST_ELEMENTWISE] = "elementwise",
    [THAW_COST_NORMALIZATION] = "normalization",
    [THAW_COST_POOL] = "pool",
    [THAW_COST_DATA_MOVEMENT] = "data movement",
    [THAW_COST_VIEW] = "view",
    [THAW_COST_INT8] = "int8",
    [THAW_COST_RECURRENT] = "recurrent",
};

const char *thaw_cost_class_name(thaw_cost_class kernel_class) {
  return (unsigned)kernel_class < THAW_COST_CLASS_COUNT ? class_names[kernel_class] : "?";
}

static uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

static uint64_t saturating_product(size_t count, const uint64_t *factors) {
  uint64_t product = 1;
  for (size_t i = 0; i < count; i++)
    if (__builtin_mul_overflow(product, factors[i], &product)) return UINT64_MAX;
  return product;
}
#define PRODUCT(...) \
  saturating_product(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t), (uint64_t[]){__VA_ARGS__})

static const thaw_format_tensor *operand_tensor(const thaw_model *model,
                                                const thaw_prepared_node *node, uint32_t i) {
  return &model->tensors[model->operand_tensors[node->first_operand + i]];
}

/* Every input read once, every output written once; constants count as weights. Gathers and
 * Slice read only the elements they copy out (an embedding table is mostly not read). The sizes
 * were validated against the file and the arena, so the sums cannot overflow. */
static void count_bytes(const thaw_model *model, const thaw_prepared_node *node,
                        thaw_cost_node *facts) {
  const bool reads_output_elements = node->op == THAW_OP_GATHER ||
                                     node->op == THAW_OP_QS8_GATHER || node->op == THAW_OP_SLICE;
  for (uint32_t i = 0; i < node->input_count; i++) {
    const thaw_format_tensor *tensor = operand_tensor(model, node, i);
    const uint64_t size =
        i == 0 && reads_output_elements
            ? operand_tensor(model, node, node->input_count)->element_count *
                  thaw_dtype_size(tensor->dtype)
            : tensor->size;
    if (tensor->kind == THAW_TENSOR_CONSTANT)
      facts->weight_bytes_read += size;
    else
      facts->activation_bytes_read += size;
  }
  for (uint32_t o = 0; o < node->output_count; o++)
    facts->bytes_written += operand_tensor(model, node, node->input_count + o)->size;
}

/* The per-output extras of a GEMM-family node: a bias add and an activation; an activation the
 * kernel cannot apply as a clamp of its accumulators also costs a pass of its own. */
static void add_epilogue(thaw_cost_node *facts, uint64_t outputs, bool has_bias,
                         const thaw_unary_params *activation) {
  if (has_bias) facts->flops = saturating_add(facts->flops, outputs);
  if (activation->func != THAW_KERNEL_IDENTITY) facts->flops = saturating_add(facts->flops, outputs);
  float min, max;
  if (!thaw_unary_as_clamp(activation, &min, &max)) {
    facts->unary = activation->func;
    facts->activation_elements = outputs;
  }
}

static thaw_cost_rate depthwise_rate(const thaw_conv2d_params *p) {
  const bool square = p->kernel_height == p->kernel_width && p->stride_h == p->stride_w &&
                      p->dilation_h == 1 && p->dilation_w == 1;
  if (square && p->kernel_height == 3 && p->stride_h == 1) return THAW_RATE_DEPTHWISE_3X3S1;
  if (square && p->kernel_height == 3 && p->stride_h == 2) return THAW_RATE_DEPTHWISE_3X3S2;
  if (square && p->kernel_height == 5 && p->stride_h == 1) return THAW_RATE_DEPTHWISE_5X5S1;
  if (square && p->kernel_height == 5 && p->stride_h == 2) return THAW_RATE_DEPTHWISE_5X5S2;
  return THAW_RATE_DEPTHWISE_GENERIC;
}

/* The convolution driver's three paths (kernels/conv/conv-driver.h). */
static void conv_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  const thaw_conv2d_params *p = &node->u.conv2d;
  const uint64_t out_pixels = PRODUCT(p->out_height, p->out_width);
  const uint64_t outputs = PRODUCT(p->batch, p->out_channels, out_pixels);
  const uint64_t taps = PRODUCT(p->in_channels / p->groups, p->kernel_height, p->kernel_width);
  facts->flops = PRODUCT(2, outputs, taps);
  add_epilogue(facts, outputs, node->input_count > 2, &p->activation);
  facts->gemm_m = p->out_channels / p->groups;
  facts->gemm_n = out_pixels;
  facts->gemm_k = taps;
  facts->gemm_count = PRODUCT(p->batch, p->groups);
  facts->row_width = p->out_width;
  char groups[24] = "";
  if (p->groups > 1) snprintf(groups, sizeof groups, " g%zu", p->groups);
  snprintf(facts->detail, sizeof facts->detail, "%zux%zu/s%zu%s %zu->%zu", p->kernel_height,
           p->kernel_width, p->stride_h, groups, p->in_channels, p->out_channels);
  if (p->groups == p->in_channels && p->out_channels == p->in_channels) {
    facts->kernel_class = THAW_COST_DEPTHWISE;
    facts->rate = depthwise_rate(p);
  } else if (p->kernel_height == 1 && p->kernel_width == 1 && p->stride_h == 1 &&
             p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0 &&
             p->out_height == p->in_height && p->out_width == p->in_width) {
    facts->kernel_class = THAW_COST_CONV_1X1;
    facts->rate = THAW_RATE_GEMM_PLAIN;
  } else {
    facts->kernel_class = THAW_COST_CONV;
    facts->rate = THAW_RATE_CONV;
  }
}

static void conv_transpose_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  const thaw_conv2d_params *p = &node->u.conv2d;
  facts->kernel_class = THAW_COST_CONV_TRANSPOSE;
  facts->rate = THAW_RATE_CONV_TRANSPOSE;
  /* Every input pixel scatters into a window of every output channel of its group. */
  facts->flops = PRODUCT(2, p->batch, p->in_channels, p->in_height, p->in_width,
                         p->out_channels / p->groups, p->kernel_height, p->kernel_width);
  add_epilogue(facts, PRODUCT(p->batch, p->out_channels, p->out_height, p->out_width),
               node->input_count > 2, &p->activation);
  snprintf(facts->detail, sizeof facts->detail, "%zux%zu/s%zu %zu->%zu", p->kernel_height,
           p->kernel_width, p->stride_h, p->in_channels, p->out_channels);
}

static void matmul_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  const thaw_matmul_plan *plan = &node->u.matmul;
  const thaw_gemm_params *g = &plan->gemm;
  const uint64_t outputs = PRODUCT(plan->batch_count, g->m, g->n);
  facts->flops = PRODUCT(2, outputs, g->k);
  add_epilogue(facts, outputs, g->bias != THAW_GEMM_BIAS_NONE, &g->activation);
  facts->gemm_m = g->m;
  facts->gemm_n = g->n;
  facts->gemm_k = g->k;
  facts->gemm_count = plan->batch_count;
  if (g->b_packed && g->m <= THAW_GEMV_MAX_M) {
    facts->kernel_class = THAW_COST_GEMV;
    facts->rate = THAW_RATE_GEMV;
  } else {
    facts->kernel_class = THAW_COST_GEMM;
    facts->rate = g->b_packed ? THAW_RATE_GEMM_PACKED : THAW_RATE_GEMM_PLAIN;
  }
  if (plan->batch_count > 1)
    snprintf(facts->detail, sizeof facts->detail, "%zu x %zux%zux%zu", plan->batch_count, g->m,
             g->n, g->k);
  else
    snprintf(facts->detail, sizeof facts->detail, "%zux%zux%zu", g->m, g->n, g->k);
}

/* A quantized product counts its multiply-adds like the f32 one. */
static void int8_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  facts->kernel_class = THAW_COST_INT8;
  if (node->op == THAW_OP_QS8_MATMUL) {
    facts->rate = THAW_RATE_INT8_GEMM;
    const thaw_qs8_gemm_params *g = &node->u.qs8_matmul;
    facts->flops = PRODUCT(2, g->m, g->n, g->k);
    add_epilogue(facts, PRODUCT(g->m, g->n), g->has_bias, &g->activation);
    snprintf(facts->detail, sizeof facts->detail, "%zux%zux%zu", g->m, g->n, g->k);
    return;
  }
  facts->rate = THAW_RATE_INT8_CONV;
  const thaw_conv2d_params *p = &node->u.qs8_conv.conv2d;
  const uint64_t outputs = PRODUCT(p->batch, p->out_channels, p->out_height, p->out_width);
  facts->flops = PRODUCT(2, outputs, p->in_channels, p->kernel_height, p->kernel_width);
  add_epilogue(facts, outputs, node->input_count > 2, &p->activation);
  snprintf(facts->detail, sizeof facts->detail, "%zux%zu/s%zu %zu->%zu", p->kernel_height,
           p->kernel_width, p->stride_h, p->in_channels, p->out_channels);
}

/* The products of every step, counted as one GEMM of the steps' rows by the gate columns over
 * the input and hidden widths: the projection is that GEMM, and each step's recurrent product
 * reads R from cache, so the packed-GEMM rate at that shape is the closest measured one. The
 * gate math (a few elementwise functions per gate value) is left in the epilogue-free rate. */
static void recurrent_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  const thaw_rnn_params *p = &node->u.recurrent.params;
  const uint64_t gates = p->cell == THAW_RNN_LSTM ? 4 : 3;
  facts->kernel_class = THAW_COST_RECURRENT;
  facts->rate = THAW_RATE_GEMM_PACKED;
  facts->gemm_m = PRODUCT(p->steps, p->batch);
  facts->gemm_n = PRODUCT(p->directions, gates, p->hidden_size);
  facts->gemm_k = saturating_add(p->input_size, p->hidden_size);
  facts->flops = PRODUCT(2, facts->gemm_m, facts->gemm_n, facts->gemm_k);
  snprintf(facts->detail, sizeof facts->detail, "%s T%zu N%zu I%zu H%zu D%zu",
           p->cell == THAW_RNN_LSTM ? "lstm" : "gru", p->steps, p->batch, p->input_size,
           p->hidden_size, p->directions);
}

static void pool_facts(const thaw_prepared_node *node, thaw_cost_node *facts) {
  const thaw_pool2d_params *p = &node->u.pool2d;
  const uint64_t outputs = PRODUCT(p->batch_channels, p->out_height, p->out_width);
  facts->kernel_class = THAW_COST_POOL;
  facts->flops = PRODUCT(outputs, p->kernel_height, p->kernel_width);
  if (node->op == THAW_OP_AVERAGE_POOL) {
    facts->rate = THAW_RATE_AVERAGE_POOL;
    facts->flops = saturating_add(facts->flops, outputs);
  } else {
    facts->rate = THAW_RATE_MAX_POOL;
  }
  snprintf(facts->detail, sizeof facts->detail, "%zux%zu/s%zu", p->kernel_height,
           p->kernel_width, p->stride_h);
}

static void set_class(thaw_cost_node *facts, thaw_cost_class kernel_class, thaw_cost_rate rate,
                      uint64_t flops) {
  facts->kernel_class = kernel_class;
  facts->rate = rate;
  facts->flops = flops;
}

void thaw_cost_node_facts(const thaw_model *model, uint32_t index, thaw_cost_node *facts) {
  const thaw_prepared_node *node = &model->nodes[index];
  memset(facts, 0, sizeof *facts);
  facts->gemm_count = 1;
  const uint64_t elements = operand_tensor(model, node, node->input_count)->element_count;
  switch ((thaw_op)node->op) {
    case THAW_OP_CONV: conv_facts(node, facts); break;
    case THAW_OP_CONV_TRANSPOSE: conv_transpose_facts(node, facts); break;
    case THAW_OP_MATMUL:
    case THAW_OP_PERMUTED_MATMUL: matmul_facts(node, facts); break;
    case THAW_OP_QS8_MATMUL:
    case THAW_OP_QS8_CONV: int8_facts(node, facts); break;
    case THAW_OP_LSTM:
    case THAW_OP_GRU: recurrent_facts(node, facts); break;
    case THAW_OP_UNARY:
      set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_UNARY, elements);
      facts->unary = node->u.unary.params.func;
      break;
    case THAW_OP_BINARY: set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_BINARY, elements); break;
    case THAW_OP_CHANNEL_AFFINE:
      set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_CHANNEL_AFFINE, PRODUCT(2, elements));
      break;
    case THAW_OP_WHERE: set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_SELECT, elements); break;
    case THAW_OP_CAST: set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_SELECT, 0); break;
    case THAW_OP_QUANTIZE_LINEAR:
    case THAW_OP_DEQUANTIZE_LINEAR:
      set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_BINARY, elements);
      break;
    case THAW_OP_DYNAMIC_QUANTIZE_LINEAR:
      /* a range pass, then a quantizing pass over X */
      set_class(facts, THAW_COST_ELEMENTWISE, THAW_RATE_BINARY,
                PRODUCT(3, operand_tensor(model, node, 0)->element_count));
      break;
    case THAW_OP_SOFTMAX:
      set_class(facts, THAW_COST_NORMALIZATION, THAW_RATE_SOFTMAX, PRODUCT(4, elements));
      break;
    case THAW_OP_LAYER_NORM:
      set_class(facts, THAW_COST_NORMALIZATION, THAW_RATE_LAYER_NORM,
                PRODUCT(node->input_count > 2 ? 7 : 6, elements));
      break;
    case THAW_OP_REDUCE_MEAN:
      set_class(facts, THAW_COST_NORMALIZATION, THAW_RATE_REDUCE,
                saturating_add(PRODUCT(node->u.axis.outer, node->u.axis.axis_size,
                                       node->u.axis.inner),
                               elements));
      break;
    case THAW_OP_GLOBAL_AVERAGE_POOL:
      set_class(facts, THAW_COST_NORMALIZATION, THAW_RATE_REDUCE,
                saturating_add(PRODUCT(node->u.global_pool.channels, node->u.global_pool.spatial),
                               elements));
      break;
    case THAW_OP_MAX_POOL:
    case THAW_OP_AVERAGE_POOL: pool_facts(node, facts); break;
    case THAW_OP_SLICE:
    case THAW_OP_TRANSPOSE:
    case THAW_OP_EXPAND: set_class(facts, THAW_COST_DATA_MOVEMENT, THAW_RATE_STRIDED_COPY, 0); break;
    case THAW_OP_CONCAT:
    case THAW_OP_SPLIT: set_class(facts, THAW_COST_DATA_MOVEMENT, THAW_RATE_COPY, 0); break;
    case THAW_OP_GATHER:
    case THAW_OP_QS8_GATHER:
      set_class(facts, THAW_COST_DATA_MOVEMENT, THAW_RATE_GATHER, 0);
      break;
    case THAW_OP_PAD: set_class(facts, THAW_COST_DATA_MOVEMENT, THAW_RATE_PAD, 0); break;
    case THAW_OP_RESIZE:
      set_class(facts, THAW_COST_DATA_MOVEMENT,
                node->u.resize.mode == THAW_RESIZE_NEAREST ? THAW_RATE_RESIZE_NEAREST
                                                           : THAW_RATE_RESIZE_LINEAR,
                0);
      break;
    case THAW_OP_CONCAT_IN_PLACE:
      set_class(facts, THAW_COST_VIEW, THAW_RATE_NONE, 0);
      return; /* the parts' producers wrote the output */
    case THAW_OP_RESHAPE:
      if (node->u.reshape.is_view) {
        set_class(facts, THAW_COST_VIEW, THAW_RATE_NONE, 0);
        return; /* nothing is read or written */
      }
      set_class(facts, THAW_COST_DATA_MOVEMENT, THAW_RATE_COPY, 0);
      break;
  }
  count_bytes(model, node, facts);
}

uint64_t thaw_cost_run_flops(const thaw_model *model) {
  uint64_t flops = 0;
  for (uint32_t n = 0; n < model->view.node_count; n++) {
    thaw_cost_node facts;
    thaw_cost_node_facts(model, n, &facts);
    flops = thaw_cost_add_flops(flops, facts.flops);
  }
  return flops;
}

bool thaw_cost_worth_threads(uint64_t run_flops) {
  return (double)run_flops >= THAW_COST_MIN_THREADED_RUN_FLOPS;
}
