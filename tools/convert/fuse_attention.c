/*
 * Attention without copies. Self-attention as exported by PyTorch splits the Q, K and V
 * projections into heads with Reshape + Transpose, multiplies Q by Transpose(K), scales the
 * scores by 1/√d, adds the attention mask, and merges the heads of P·V back with Transpose +
 * Reshape: four Transposes per layer each copy a whole activation, and the scale and the
 * mask are two more passes over the scores. Here:
 *   - a Transpose read only by a MatMul, or a MatMul read only by a Transpose that keeps its
 *     last axis, becomes part of a PERMUTED_MATMUL, which reads and writes through strides;
 *   - Div (or Mul) of such a product by a constant scalar moves into the weights and bias of
 *     the projection that produced A, when A reaches the product only through Reshapes and
 *     Transposes (which commute with a scale);
 *   - Add of a mask row [1, ..., 1, N] to a PERMUTED_MATMUL becomes its bias.
 * Runs after cv_fuse's passes, when projections already carry their biases.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

/* The node `value` alone reads (cv_sole_reader), or NULL. */
static cv_node *sole_reader_node(const cv_graph *graph, const cv_uses *u, uint32_t value) {
  const uint32_t reader = cv_sole_reader(graph, u, value);
  return reader == CV_NONE ? NULL : &graph->nodes[reader];
}

/* Operand `i` of `product` read through the Transpose producing it, when the product is that
 * Transpose's only reader and the transposed tensor is not a constant (a MatMul packs a
 * constant B offline, and constant transposes were folded). */
static bool absorb_operand_transpose(cv_graph *graph, const cv_uses *u, cv_node *product,
                                     uint32_t i, uint32_t perm[THAW_MAX_RANK]) {
  const uint32_t operand = product->inputs[i];
  cv_node *transpose = cv_producer(graph, operand);
  if (!transpose || transpose->op != THAW_OP_TRANSPOSE || cv_reader_count(u, operand) != 1 ||
      graph->values[transpose->inputs[0]].data)
    return false;
  memcpy(perm, transpose->attrs.transpose.perm, sizeof(uint32_t) * THAW_MAX_RANK);
  product->inputs[i] = transpose->inputs[0];
  transpose->op = 0;
  return true;
}

/* Whether the batches of a product of shape `dims`, stored through Transpose(product, perm),
 * lie one stride apart in batch order, as the runtime walks them (FORMAT.md, PermutedMatMul):
 * with a batch of several sequences, a head merge would not. */
static bool batches_evenly_strided(uint32_t rank, const int64_t *dims, const uint32_t *perm) {
  int64_t stored_stride[THAW_MAX_RANK], logical_stride[THAW_MAX_RANK];
  int64_t running = 1;
  for (uint32_t e = rank; e-- > 0;) {
    stored_stride[e] = running;
    running *= dims[perm[e]];
  }
  for (uint32_t e = 0; e < rank; ++e) logical_stride[perm[e]] = stored_stride[e];
  int64_t expected = 0;
  for (uint32_t d = rank - 2; d-- > 0;) {
    if (dims[d] == 1) continue;
    if (expected != 0 && logical_stride[d] != expected) return false;
    expected = logical_stride[d] * dims[d];
  }
  return true;
}

/* The product writes straight into the output of the Transpose that is its only reader. */
static bool absorb_output_transpose(cv_graph *graph, const cv_uses *u, cv_node *product,
                                    uint32_t rank, uint32_t perm[THAW_MAX_RANK]) {
  cv_node *transpose = sole_reader_node(graph, u, product->outputs[0]);
  if (!transpose || transpose->op != THAW_OP_TRANSPOSE ||
      transpose->attrs.transpose.perm[rank - 1] != rank - 1 ||
      !batches_evenly_strided(rank, graph->values[product->outputs[0]].shape,
                              transpose->attrs.transpose.perm))
    return false;
  memcpy(perm, transpose->attrs.transpose.perm, sizeof(uint32_t) * THAW_MAX_RANK);
  product->outputs[0] = transpose->outputs[0];
  graph->values[product->outputs[0]].producer = (uint32_t)(product - graph->nodes);
  transpose->op = 0;
  return true;
}

static void permute_matmul(cv_graph *graph, const cv_uses *u, cv_node *product) {
  const uint32_t rank = graph->values[product->inputs[0]].rank;
  if (rank < 2 || graph->values[product->inputs[1]].rank != rank ||
      graph->values[product->outputs[0]].rank != rank)
    return;
  thaw_permuted_matmul_attrs attrs = {.activation = product->attrs.matmul.activation};
  for (uint32_t d = 0; d < rank; ++d) attrs.a_perm[d] = attrs.b_perm[d] = attrs.y_perm[d] = d;
  bool absorbed = absorb_operand_transpose(graph, u, product, 0, attrs.a_perm);
  absorbed |= absorb_operand_transpose(graph, u, product, 1, attrs.b_perm);
  absorbed |= absorb_output_transpose(graph, u, product, rank, attrs.y_perm);
  if (!absorbed) return;
  product->op = THAW_OP_PERMUTED_MATMUL;
  product->attrs.permuted_matmul = attrs;
}

/* The MatMul with constant row-major weights whose output reaches `value` through Reshapes and
 * Transposes alone, every value on the way read once; NULL when there is none. */
static cv_node *projection_behind(const cv_graph *graph, const cv_uses *u,
                                  uint32_t value) {
  for (;;) {
    cv_node *node = cv_producer(graph, value);
    if (!node || cv_reader_count(u, value) != 1) return NULL;
    if (node->op == THAW_OP_RESHAPE || node->op == THAW_OP_TRANSPOSE) {
      value = node->inputs[0];
      continue;
    }
    const cv_value *weights = node->op == THAW_OP_MATMUL ? &graph->values[node->inputs[1]] : NULL;
    if (!weights || !weights->data || weights->dtype != THAW_DTYPE_F32 ||
        weights->layout != THAW_LAYOUT_PLAIN ||
        node->attrs.matmul.activation.func != THAW_UNARY_IDENTITY)
      return NULL;
    return node;
  }
}

/* A copy of f32 constant `value` with every element multiplied by `scale`. */
static uint32_t scaled_constant(cv_graph *graph, uint32_t value, float scale) {
  const cv_value *v = &graph->values[value];
  int64_t shape[THAW_MAX_RANK];
  memcpy(shape, v->shape, sizeof shape);
  const uint32_t copy = cv_add_constant(graph, v->name, THAW_DTYPE_F32, v->rank, shape, v->data);
  if (copy == CV_NONE) return CV_NONE;
  float *data = (float *)graph->values[copy].data;
  for (uint64_t i = 0; i < graph->values[copy].element_count; ++i) data[i] *= scale;
  return copy;
}

/* Div(product, c) or Mul(product, c) of a product of attention scores: the projection behind
 * the product's A takes the factor into its weights and bias, and the product takes over the
 * scaled output. */
static thaw_status fold_score_scale(cv_graph *graph, const cv_uses *u, cv_node *scale,
                                    thaw_error *error) {
  float factor;
  if (!cv_constant_scalar(graph, scale->inputs[1], &factor)) return THAW_OK;
  if (scale->attrs.binary.func == THAW_BINARY_DIV) factor = 1.0f / factor;
  if (!isfinite(factor) || factor == 0.0f) return THAW_OK;
  const uint32_t scores = scale->inputs[0];
  cv_node *product = cv_producer(graph, scores);
  /* Both products' attributes start with the activation (a common initial sequence). */
  if (!product || cv_reader_count(u, scores) != 1 ||
      (product->op != THAW_OP_MATMUL && product->op != THAW_OP_PERMUTED_MATMUL) ||
      product->attrs.matmul.activation.func != THAW_UNARY_IDENTITY ||
      product->input_count != 2 ||
      graph->values[scale->outputs[0]].element_count != graph->values[scores].element_count)
    return THAW_OK;
  cv_node *projection = projection_behind(graph, u, product->inputs[0]);
  if (!projection) return THAW_OK;

  const uint32_t weights = scaled_constant(graph, projection->inputs[1], factor);
  const uint32_t bias = projection->input_count > 2
                            ? scaled_constant(graph, projection->inputs[2], factor)
                            : CV_NONE;
  if (weights == CV_NONE || (projection->input_count > 2 && bias == CV_NONE))
    return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "out of memory");
  projection->inputs[1] = weights;
  if (projection->input_count > 2) projection->inputs[2] = bias;
  product->outputs[0] = scale->outputs[0];
  graph->values[product->outputs[0]].producer = (uint32_t)(product - graph->nodes);
  scale->op = 0;
  return THAW_OK;
}

/* Add(product, mask) with a mask of one row of N values ([1, ..., 1, N], the attention mask
 * broadcast over heads and queries) computed before the product: the mask becomes the
 * product's per-column bias, which the GEMM starts each tile from. */
static void fold_score_mask(cv_graph *graph, const cv_uses *u, cv_node *add) {
  for (uint32_t side = 0; side < 2; ++side) {
    const uint32_t scores = add->inputs[side], mask = add->inputs[1 - side];
    cv_node *product = cv_producer(graph, scores);
    if (!product || product->op != THAW_OP_PERMUTED_MATMUL || cv_reader_count(u, scores) != 1 ||
        product->input_count != 2 ||
        product->attrs.permuted_matmul.activation.func != THAW_UNARY_IDENTITY)
      continue;
    const cv_value *m = &graph->values[mask], *y = &graph->values[scores];
    const uint32_t producer = m->producer;
    if (m->dtype != THAW_DTYPE_F32 || m->rank == 0 || m->rank > y->rank ||
        m->shape[m->rank - 1] != y->shape[y->rank - 1] ||
        m->element_count != (uint64_t)y->shape[y->rank - 1] ||
        graph->values[add->outputs[0]].element_count != y->element_count ||
        (producer != CV_NONE && producer > (uint32_t)(product - graph->nodes)))
      continue;
    product->inputs[2] = mask; /* cv_add_node leaves a spare input slot */
    product->input_count = 3;
    product->outputs[0] = add->outputs[0];
    graph->values[product->outputs[0]].producer = (uint32_t)(product - graph->nodes);
    add->op = 0;
    return;
  }
}

thaw_status cv_fuse_attention(cv_graph *graph, thaw_error *error) {
  cv_uses u;
  thaw_status status = cv_uses_build(graph, &u, error);
  if (status != THAW_OK) return status;
  for (uint32_t n = 0; n < graph->node_count; ++n)
    if (graph->nodes[n].op == THAW_OP_MATMUL) permute_matmul(graph, &u, &graph->nodes[n]);
  for (uint32_t n = 0; status == THAW_OK && n < graph->node_count; ++n) {
    cv_node *node = &graph->nodes[n];
    if (node->op == THAW_OP_BINARY && (node->attrs.binary.func == THAW_BINARY_DIV ||
                                       node->attrs.binary.func == THAW_BINARY_MUL))
      status = fold_score_scale(graph, &u, node, error);
    else if (node->op == THAW_OP_BINARY && node->attrs.binary.func == THAW_BINARY_ADD)
      fold_score_mask(graph, &u, node);
  }
  cv_uses_free(&u);
  return status;
}
