/*
 * The model the state-blob fuzzer loads into, shared with the seed writer so the seed blob
 * matches it: two inputs carried from two outputs of different shapes (through Relu), so a
 * blob has records a mutation can swap, resize or rename.
 */
#ifndef THAW_FUZZ_STATE_MODEL_H
#define THAW_FUZZ_STATE_MODEL_H

#include "formats/format.h"

static inline thaw_status fuzz_state_model(uint8_t **bytes, uint64_t *size) {
  static const int64_t shape_a[2] = {1, 3}, shape_b[3] = {2, 1, 5};
  thaw_writer *writer = thaw_writer_create();
  if (writer == NULL) return THAW_STATUS_OUT_OF_MEMORY;
  const thaw_unary_attrs relu = {.func = THAW_UNARY_RELU};
  uint32_t ids[4];
  const char *const names[4] = {"state_a", "state_b", "next_a", "next_b"};
  for (uint32_t i = 0; i < 4; i++) {
    ids[i] = thaw_writer_add_tensor(writer, names[i], THAW_TENSOR_ACTIVATION, THAW_DTYPE_F32,
                                    i % 2 ? 3 : 2, i % 2 ? shape_b : shape_a, THAW_LAYOUT_PLAIN,
                                    NULL, 0);
  }
  for (uint32_t i = 0; i < 2; i++) {
    thaw_writer_add_node(writer, THAW_OP_UNARY, names[2 + i], &relu, &ids[i], 1, &ids[2 + i], 1);
    thaw_writer_add_input(writer, ids[i]);
    thaw_writer_add_output(writer, ids[2 + i]);
    thaw_writer_add_state(writer, ids[2 + i], ids[i]);
  }
  thaw_status status = thaw_writer_finish(writer, 0, bytes, size, NULL, NULL);
  thaw_writer_destroy(writer);
  return status;
}

#endif /* THAW_FUZZ_STATE_MODEL_H */
