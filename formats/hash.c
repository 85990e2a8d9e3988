/*
 * thaw_hash64 is XXH64 (Yann Collet's xxHash, 64-bit variant), implemented from the published
 * algorithm description: four 64-bit lanes over 32-byte stripes, then a tail of 8-, 4- and
 * 1-byte steps and an avalanche. Input words are read little-endian so the result is the same
 * on every host.
 */
#include <string.h>

#include "formats/format_internal.h"

static const uint64_t kPrime1 = UINT64_C(0x9E3779B185EBCA87);
static const uint64_t kPrime2 = UINT64_C(0xC2B2AE3D27D4EB4F);
static const uint64_t kPrime3 = UINT64_C(0x165667B19E3779F9);
static const uint64_t kPrime4 = UINT64_C(0x85EBCA77C2B2AE63);
static const uint64_t kPrime5 = UINT64_C(0x27D4EB2F165667C5);

static uint64_t rotate_left(uint64_t value, int bits) {
  return (value << bits) | (value >> (64 - bits));
}

static uint64_t lane_round(uint64_t lane, uint64_t input) {
  lane += input * kPrime2;
  lane = rotate_left(lane, 31);
  return lane * kPrime1;
}

static uint64_t merge_lane(uint64_t hash, uint64_t lane) {
  hash ^= lane_round(0, lane);
  return hash * kPrime1 + kPrime4;
}

static void consume_stripe(uint64_t lanes[4], const uint8_t *stripe) {
  for (int i = 0; i < 4; i++) lanes[i] = lane_round(lanes[i], thaw_load_u64(stripe + 8 * i));
}

void thaw_hash64_init(thaw_hash64_state *state, uint64_t seed) {
  memset(state, 0, sizeof *state);
  state->seed = seed;
  state->lanes[0] = seed + kPrime1 + kPrime2;
  state->lanes[1] = seed + kPrime2;
  state->lanes[2] = seed;
  state->lanes[3] = seed - kPrime1;
}

void thaw_hash64_update(thaw_hash64_state *state, const void *data, size_t size) {
  const uint8_t *input = data;
  state->total_size += size;
  if (state->pending_size > 0) {
    size_t take = 32 - state->pending_size;
    if (take > size) take = size;
    memcpy(state->pending + state->pending_size, input, take);
    state->pending_size += (uint32_t)take;
    input += take;
    size -= take;
    if (state->pending_size < 32) return;
    consume_stripe(state->lanes, state->pending);
    state->pending_size = 0;
  }
  for (; size >= 32; input += 32, size -= 32) consume_stripe(state->lanes, input);
  memcpy(state->pending, input, size);
  state->pending_size = (uint32_t)size;
}

uint64_t thaw_hash64_final(const thaw_hash64_state *state) {
  uint64_t hash;
  if (state->total_size >= 32) {
    const uint64_t *lanes = state->lanes;
    hash = rotate_left(lanes[0], 1) + rotate_left(lanes[1], 7) + rotate_left(lanes[2], 12) +
           rotate_left(lanes[3], 18);
    for (int i = 0; i < 4; i++) hash = merge_lane(hash, lanes[i]);
  } else {
    hash = state->seed + kPrime5;
  }
  hash += state->total_size;

  const uint8_t *tail = state->pending;
  uint32_t remaining = state->pending_size;
  for (; remaining >= 8; tail += 8, remaining -= 8) {
    hash ^= lane_round(0, thaw_load_u64(tail));
    hash = rotate_left(hash, 27) * kPrime1 + kPrime4;
  }
  if (remaining >= 4) {
    hash ^= (uint64_t)thaw_load_u32(tail) * kPrime1;
    hash = rotate_left(hash, 23) * kPrime2 + kPrime3;
    tail += 4;
    remaining -= 4;
  }
  for (; remaining > 0; tail++, remaining--) {
    hash ^= *tail * kPrime5;
    hash = rotate_left(hash, 11) * kPrime1;
  }

  hash ^= hash >> 33;
  hash *= kPrime2;
  hash ^= hash >> 29;
  hash *= kPrime3;
  hash ^= hash >> 32;
  return hash;
}

uint64_t thaw_hash64(const void *data, size_t size, uint64_t seed) {
  thaw_hash64_state state;
  thaw_hash64_init(&state, seed);
  thaw_hash64_update(&state, data, size);
  return thaw_hash64_final(&state);
}

uint64_t thaw_format_header_checksum(const uint8_t *bytes, uint64_t weights_offset) {
  static const uint8_t zero_field[8] = {0};
  thaw_hash64_state state;
  thaw_hash64_init(&state, 0);
  thaw_hash64_update(&state, bytes, THAW_HEADER_HEADER_CHECKSUM);
  thaw_hash64_update(&state, zero_field, sizeof zero_field);
  thaw_hash64_update(&state, bytes + THAW_HEADER_HEADER_CHECKSUM + 8,
                     (size_t)(weights_offset - THAW_HEADER_HEADER_CHECKSUM - 8));
  return thaw_hash64_final(&state);
}
