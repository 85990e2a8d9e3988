/*
 * Helpers private to formats/: little-endian field access, the streaming form of thaw_hash64,
 * and the memory planner the writer calls. Nothing outside formats/ includes this header.
 */
#ifndef THAW_FORMAT_INTERNAL_H
#define THAW_FORMAT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/format.h"

/* Byte-wise loads and stores: file fields are little-endian and the caller's buffer may have
 * any alignment, so no field is ever read through a wider pointer. */
static inline uint16_t thaw_load_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t thaw_load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t thaw_load_u64(const uint8_t *p) {
  return (uint64_t)thaw_load_u32(p) | (uint64_t)thaw_load_u32(p + 4) << 32;
}
static inline void thaw_store_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void thaw_store_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void thaw_store_u64(uint8_t *p, uint64_t v) {
  thaw_store_u32(p, (uint32_t)v);
  thaw_store_u32(p + 4, (uint32_t)(v >> 32));
}

/* Overflow-checked arithmetic on sizes and offsets that come from the file. */
static inline bool thaw_add_overflows(uint64_t a, uint64_t b, uint64_t *sum) {
  return __builtin_add_overflow(a, b, sum);
}
static inline bool thaw_mul_overflows(uint64_t a, uint64_t b, uint64_t *product) {
  return __builtin_mul_overflow(a, b, product);
}
/* True when [offset, offset + size) lies inside [0, limit). */
static inline bool thaw_range_inside(uint64_t offset, uint64_t size, uint64_t limit) {
  uint64_t end;
  return !thaw_add_overflows(offset, size, &end) && end <= limit;
}
static inline uint64_t thaw_align_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/* Streaming XXH64, so the header checksum can treat its own field as zero without a copy. */
typedef struct thaw_hash64_state {
  uint64_t lanes[4];
  uint64_t total_size;
  uint8_t pending[32];
  uint32_t pending_size;
  uint64_t seed;
} thaw_hash64_state;

void thaw_hash64_init(thaw_hash64_state *state, uint64_t seed);
void thaw_hash64_update(thaw_hash64_state *state, const void *data, size_t size);
uint64_t thaw_hash64_final(const thaw_hash64_state *state);

/* Header field offsets (FORMAT.md, "Header"). */
enum {
  THAW_HEADER_MAJOR = 8,
  THAW_HEADER_MINOR = 10,
  THAW_HEADER_FLAGS = 12,
  THAW_HEADER_FILE_SIZE = 16,
  THAW_HEADER_HEADER_CHECKSUM = 24,
  THAW_HEADER_WEIGHTS_CHECKSUM = 32,
  THAW_HEADER_SECTION_COUNT = 40,
  THAW_HEADER_HEADER_SIZE = 44,
  THAW_HEADER_RESERVED = 48,
};

/* ---- The memory planner (plan.c) ---- */

typedef struct thaw_plan_tensor {
  uint64_t size;      /* bytes; only activations are planned */
  bool is_activation;
  bool is_model_input;
  bool is_model_output;
} thaw_plan_tensor;

typedef struct thaw_plan_node {
  uint32_t op;
  const uint32_t *inputs;
  uint32_t input_count;
  const uint32_t *outputs;
  uint32_t output_count;
  /* CONCAT: each part is one contiguous range of the output (its dims before the axis are 1) */
  bool parts_contiguous;
} thaw_plan_node;

/* Assign every activation an arena offset (64-byte aligned) by liveness over the node order:
 * RESHAPE outputs share their input's bytes; a CONCAT's parts lie at their slices of its output
 * where that is safe, which sets the node's concat_in_place entry (node_count entries, the
 * others false); model inputs and outputs get bytes no other activation uses. Constants get
 * offset 0. Tensor ids in the nodes must be below tensor_count. */
thaw_status thaw_plan_arena(const thaw_plan_tensor *tensors, uint32_t tensor_count,
                            const thaw_plan_node *nodes, uint32_t node_count, uint64_t *offsets,
                            uint64_t *arena_size, bool *concat_in_place, thaw_error *error);

#endif /* THAW_FORMAT_INTERNAL_H */
