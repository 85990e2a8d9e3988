/*
 * The arena planner. Lifetimes are steps over the node order: node i runs at step i + 1, model
 * inputs and outputs live over the whole run [0, node_count + 1] (inputs because a run never
 * overwrites them, outputs because their bytes must not be shared with anything). A RESHAPE
 * output of the same byte size joins its input's alias group; a group is one block of bytes
 * that lives from its first member's production to its last member's last read. A CONCAT
 * whose parts are contiguous slices of its output takes its parts into the output's group, each
 * at its slice: their producers then write the output, and the CONCAT copies nothing.
 *
 * Placement is first-fit by decreasing size: blocks are placed largest first, each at the
 * lowest 64-byte aligned offset that does not overlap a placed block whose lifetime intersects
 * its own. Large blocks placed first keep the small ones from fragmenting the arena; the cost
 * is O(blocks^2), paid once, offline. The caller guarantees the aligned activation sizes sum
 * to less than 2^64, which bounds every offset computed here.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/format_internal.h"

/* Whether a CONCAT's parts can live at their slices of its output: each part is one contiguous
 * slice, a planned activation in no alias group (so used as a part nowhere else, nor twice
 * here) whose slice starts on the arena alignment, and neither a part nor the output is a model
 * input or output, which own their bytes. The output is alone in its group too: a RESHAPE view
 * of it may be a model output, whose bytes only its own RESHAPE group may share. */
static bool concat_fits_in_place(const thaw_plan_tensor *tensors, const thaw_plan_node *node,
                                 const uint32_t *group, const uint32_t *group_members) {
  if (node->op != THAW_OP_CONCAT || !node->parts_contiguous || node->output_count != 1)
    return false;
  const thaw_plan_tensor *output = &tensors[node->outputs[0]];
  if (!output->is_activation || output->is_model_input || output->is_model_output ||
      group_members[node->outputs[0]] != 1)
    return false;
  uint64_t slice = 0;
  for (uint32_t i = 0; i < node->input_count; i++) {
    const uint32_t part = node->inputs[i];
    const thaw_plan_tensor *tensor = &tensors[part];
    if (!tensor->is_activation || tensor->is_model_input || tensor->is_model_output ||
        group[part] != part || group_members[part] != 1 ||
        slice % THAW_FORMAT_ARENA_ALIGNMENT != 0)
      return false;
    for (uint32_t j = 0; j < i; j++)
      if (node->inputs[j] == part) return false;
    slice += tensor->size;
  }
  return slice == output->size;
}

typedef struct block {
  uint32_t root;   /* the alias group's first tensor */
  uint64_t size;
  uint32_t first_step, last_step;
  uint64_t offset;
} block;

static int compare_block_placement_order(const void *a, const void *b) {
  const block *x = a, *y = b;
  if (x->size != y->size) return x->size > y->size ? -1 : 1;
  if (x->first_step != y->first_step) return x->first_step < y->first_step ? -1 : 1;
  return (x->root > y->root) - (x->root < y->root);
}

static bool lifetimes_intersect(const block *a, const block *b) {
  return a->first_step <= b->last_step && b->first_step <= a->last_step;
}

/* Places blocks[index] given the already placed ones, which `by_offset` lists in increasing
 * offset order, then inserts it into that list. The candidate offset only grows, so the first
 * conflicting block that starts past candidate + size leaves a gap that fits. */
static void place_block(block *blocks, uint32_t index, uint32_t *by_offset, uint32_t placed_count) {
  block *current = &blocks[index];
  uint64_t candidate = 0;
  for (uint32_t i = 0; i < placed_count; i++) {
    const block *other = &blocks[by_offset[i]];
    if (!lifetimes_intersect(current, other)) continue;
    if (other->offset >= candidate + current->size) break;
    uint64_t other_end = thaw_align_up(other->offset + other->size, THAW_FORMAT_ARENA_ALIGNMENT);
    if (other_end > candidate) candidate = other_end;
  }
  current->offset = candidate;
  uint32_t position = 0;
  while (position < placed_count && blocks[by_offset[position]].offset < candidate) position++;
  memmove(by_offset + position + 1, by_offset + position,
          (placed_count - position) * sizeof *by_offset);
  by_offset[position] = index;
}

thaw_status thaw_plan_arena(const thaw_plan_tensor *tensors, uint32_t tensor_count,
                            const thaw_plan_node *nodes, uint32_t node_count, uint64_t *offsets,
                            uint64_t *arena_size, bool *concat_in_place, thaw_error *error) {
  const uint32_t end_step = node_count + 1;
  const uint32_t unset = UINT32_MAX;
  uint64_t count = tensor_count > 0 ? tensor_count : 1;
  uint32_t *group = malloc(count * sizeof *group);
  uint32_t *group_members = malloc(count * sizeof *group_members); /* of a root */
  uint64_t *offset_in_group = malloc(count * sizeof *offset_in_group);
  uint32_t *first_step = malloc(count * sizeof *first_step);
  uint32_t *last_step = malloc(count * sizeof *last_step);
  uint32_t *block_of_root = malloc(count * sizeof *block_of_root);
  block *blocks = malloc(count * sizeof *blocks);
  uint32_t *by_offset = malloc(count * sizeof *by_offset);
  thaw_status status = THAW_OK;
  if (group == NULL || group_members == NULL || offset_in_group == NULL || first_step == NULL ||
      last_step == NULL || block_of_root == NULL || blocks == NULL || by_offset == NULL) {
    status = thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY,
                            "no memory to plan %u tensors", tensor_count);
    goto cleanup;
  }

  for (uint32_t t = 0; t < tensor_count; t++) {
    group[t] = t;
    group_members[t] = 1;
    offset_in_group[t] = 0;
    first_step[t] = unset;
    last_step[t] = 0;
  }
  for (uint32_t i = 0; i < node_count; i++) {
    const thaw_plan_node *node = &nodes[i];
    uint32_t step = i + 1;
    if (node->op == THAW_OP_RESHAPE && node->input_count == 1 && node->output_count == 1) {
      uint32_t input = node->inputs[0], output = node->outputs[0];
      if (tensors[input].is_activation && tensors[output].is_activation &&
          tensors[input].size == tensors[output].size && group[output] == output) {
        /* group[input] is always a root: groups only ever point at roots. */
        group[output] = group[input];
        group_members[group[input]]++;
      }
    }
    for (uint32_t j = 0; j < node->output_count; j++) {
      uint32_t t = node->outputs[j];
      if (first_step[t] == unset || step < first_step[t]) first_step[t] = step;
      if (step > last_step[t]) last_step[t] = step;
    }
    for (uint32_t j = 0; j < node->input_count; j++) {
      uint32_t t = node->inputs[j];
      if (first_step[t] == unset || step < first_step[t]) first_step[t] = step;
      if (step > last_step[t]) last_step[t] = step;
    }
  }

  /* A CONCAT's output is never a RESHAPE's, so it roots its own group; its parts join it once
   * the views are known. */
  for (uint32_t i = 0; i < node_count; i++) {
    const thaw_plan_node *node = &nodes[i];
    concat_in_place[i] = concat_fits_in_place(tensors, node, group, group_members);
    if (!concat_in_place[i]) continue;
    const uint32_t output = node->outputs[0];
    uint64_t slice = 0;
    for (uint32_t j = 0; j < node->input_count; j++) {
      const uint32_t part = node->inputs[j];
      group[part] = output;
      offset_in_group[part] = slice;
      group_members[output]++;
      slice += tensors[part].size;
    }
  }

  uint32_t block_count = 0;
  for (uint32_t t = 0; t < tensor_count; t++) {
    if (!tensors[t].is_activation) continue;
    if (tensors[t].is_model_input || tensors[t].is_model_output) {
      first_step[t] = 0;
      last_step[t] = end_step;
    } else if (first_step[t] == unset) {
      first_step[t] = 0; /* never touched by a node: still needs bytes of its own */
    }
    if (group[t] == t) {
      block_of_root[t] = block_count;
      blocks[block_count++] = (block){t, tensors[t].size, first_step[t], last_step[t], 0};
    }
  }
  /* Alias members widen their group's lifetime (a root may have a higher id than a member). */
  for (uint32_t t = 0; t < tensor_count; t++) {
    if (!tensors[t].is_activation || group[t] == t) continue;
    block *b = &blocks[block_of_root[group[t]]];
    if (first_step[t] < b->first_step) b->first_step = first_step[t];
    if (last_step[t] > b->last_step) b->last_step = last_step[t];
  }

  qsort(blocks, block_count, sizeof *blocks, compare_block_placement_order);
  for (uint32_t i = 0; i < block_count; i++) {
    place_block(blocks, i, by_offset, i);
    block_of_root[blocks[i].root] = i;
  }

  uint64_t arena_end = 0;
  for (uint32_t t = 0; t < tensor_count; t++) {
    offsets[t] = 0;
    if (!tensors[t].is_activation) continue;
    offsets[t] = blocks[block_of_root[group[t]]].offset + offset_in_group[t];
    uint64_t end = offsets[t] + tensors[t].size;
    if (end > arena_end) arena_end = end;
  }
  if (arena_end > THAW_FORMAT_MAX_ARENA_BYTES) {
    status = thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT,
                            "planned arena of %llu bytes exceeds the 2^40-byte limit",
                            (unsigned long long)arena_end);
    goto cleanup;
  }
  *arena_size = arena_end;

cleanup:
  free(group);
  free(group_members);
  free(offset_in_group);
  free(first_step);
  free(last_step);
  free(block_of_root);
  free(blocks);
  free(by_offset);
  return status;
}
