/*
 * The inputs every end-to-end bench program gives a model, so that all of them (and ORT's side,
 * scripts/bench_ort.js) do the same work: floats cycle through [-1, 1), integers and booleans
 * are 1 (a valid token id and an attended mask position for the encoders).
 */
#ifndef THAW_BENCH_E2E_BENCH_INPUTS_H
#define THAW_BENCH_E2E_BENCH_INPUTS_H

#include <string.h>

#include "thaw.h"

/* Fills `input`, whose elements are element_size bytes (thaw_dtype_size: a parameter, so that
 * a program calling a dlopen'ed build passes that build's answer). */
static inline void thaw_bench_fill_input(const thaw_tensor *input, size_t element_size) {
  if (input->dtype == THAW_DTYPE_F32) {
    float *values = input->data;
    for (size_t i = 0; i < input->element_count; i++) values[i] = (float)(i % 64) / 32.0f - 1.0f;
    return;
  }
  unsigned char *bytes = input->data;
  memset(bytes, 0, input->size_bytes);
  /* Little-endian: setting the lowest byte of each element stores the integer 1. */
  for (size_t i = 0; i < input->element_count; i++) bytes[i * element_size] = 1;
}

#endif /* THAW_BENCH_E2E_BENCH_INPUTS_H */
