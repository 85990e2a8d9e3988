/*
 * libFuzzer target: any bytes through thaw_session_state_load, the path a state blob takes
 * when it comes back from an external store. The checksum would stop nearly every mutation
 * before the records are parsed, so inputs whose last byte is odd get a correct checksum first
 * (and a size field matching their length), which lets the fuzzer reach the record parser. A
 * load that succeeds must save back to the same bytes but for the minor version (any is read)
 * and so the checksum; one that fails must leave the state as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state_model.h"
#include "thaw.h"

static thaw_session *session;
static size_t state_size;
static uint8_t *before, *after;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  uint8_t *bytes;
  uint64_t size;
  thaw_model *model;
  if (fuzz_state_model(&bytes, &size) != THAW_OK ||
      thaw_model_open_memory(bytes, (size_t)size, 0, &model, NULL) != THAW_OK ||
      thaw_session_create(model, NULL, &session, NULL) != THAW_OK) {
    abort();
  }
  /* The model and its bytes live as long as the process. */
  state_size = thaw_session_state_size(session);
  before = malloc(state_size);
  after = malloc(state_size);
  if (before == NULL || after == NULL) abort();
  return 0;
}

static void save(uint8_t *blob) {
  size_t written;
  if (thaw_session_state_save(session, blob, state_size, &written, NULL) != THAW_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *blob = malloc(size > 0 ? size : 1);
  if (blob == NULL) return 0;
  memcpy(blob, data, size);
  if (size >= THAW_STATE_BLOB_HEADER_SIZE + THAW_STATE_BLOB_CHECKSUM_SIZE && data[size - 1] % 2) {
    for (int i = 0; i < 8; i++) blob[16 + i] = (uint8_t)((uint64_t)size >> (8 * i));
    const uint64_t checksum = thaw_hash64(blob, size - 8, 0);
    for (int i = 0; i < 8; i++) blob[size - 8 + i] = (uint8_t)(checksum >> (8 * i));
  }
  save(before);
  if (thaw_session_state_load(session, blob, size, NULL) == THAW_OK) {
    save(after);
    enum { minor_at = 10, count_at = 12 };
    if (size != state_size || memcmp(after, blob, minor_at) != 0 ||
        memcmp(after + count_at, blob + count_at, size - count_at - 8) != 0) {
      abort();
    }
  } else {
    save(after);
    if (memcmp(after, before, state_size) != 0) abort();
  }
  free(blob);
  return 0;
}
