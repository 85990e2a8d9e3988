/*
 * libFuzzer target: any bytes through the public loader; a file that validates must also get
 * a session and run without a fault.
 *
 * The header checksum would stop almost every mutation at the door, so the target patches the
 * correct checksum into its copy before opening (when the section table lets it find the
 * weights offset). Production code has no bypass.
 *
 * A valid file may legitimately ask for an arena of up to 2^40 bytes from a few kilobytes of
 * header (activations take no file space); sessions larger than kMaxSessionBytes are skipped
 * so the fuzzer explores structure instead of the allocator's limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/format.h"
#include "thaw.h"

static const size_t kMaxSessionBytes = (size_t)256 << 20;

static uint64_t load_le64(const uint8_t *p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; i--) value = value << 8 | p[i];
  return value;
}

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Finds the WEIGHTS entry the way the reader does and stores the matching header checksum. */
static void patch_header_checksum(uint8_t *bytes, size_t size) {
  if (size < THAW_FORMAT_HEADER_SIZE) return;
  uint64_t count = load_le32(bytes + 40);
  if (count > (size - THAW_FORMAT_HEADER_SIZE) / THAW_FORMAT_SECTION_ENTRY_SIZE) return;
  for (uint64_t i = 0; i < count; i++) {
    const uint8_t *entry = bytes + THAW_FORMAT_HEADER_SIZE + i * THAW_FORMAT_SECTION_ENTRY_SIZE;
    if (load_le32(entry) != THAW_SECTION_WEIGHTS) continue;
    uint64_t weights_offset = load_le64(entry + 8);
    if (weights_offset < THAW_FORMAT_HEADER_SIZE || weights_offset > size) return;
    uint64_t checksum = thaw_format_header_checksum(bytes, weights_offset);
    for (int b = 0; b < 8; b++) bytes[24 + b] = (uint8_t)(checksum >> (8 * b));
    return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* thaw_model_open_memory wants 64-byte aligned bytes; aligned_alloc wants a multiple. */
  size_t capacity = (size + 63) / 64 * 64;
  uint8_t *bytes = aligned_alloc(64, capacity > 0 ? capacity : 64);
  if (bytes == NULL) return 0;
  memcpy(bytes, data, size);
  patch_header_checksum(bytes, size);

  thaw_model *model = NULL;
  if (thaw_model_open_memory(bytes, size, 0, &model, NULL) == THAW_OK) {
    thaw_session *session = NULL;
    if (thaw_model_session_bytes(model) <= kMaxSessionBytes &&
        thaw_session_create(model, NULL, &session, NULL) == THAW_OK) {
      thaw_session_run(session, NULL, NULL);
      thaw_session_destroy(session);
    }
    thaw_model_close(model);
  }
  free(bytes);
  return 0;
}
