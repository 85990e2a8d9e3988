/*
 * A statically linked program carrying the digits model in .rodata (thaw_embed_model): opens
 * it with thaw_model_open_memory, runs it on a committed sample and compares the result with
 * the committed ONNX Runtime output. Usage: embedded_digits IMAGE.npy EXPECTED.npy LABEL
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "thaw.h"

extern const unsigned char thaw_embedded_model[];
extern const size_t thaw_embedded_model_size;

/* The tolerance tests/models/digits/meta.json gives for this model. */
#define DIGITS_RTOL 1e-3
#define DIGITS_ATOL 1e-4

static int fail(const char *what, const thaw_error *error) {
  fprintf(stderr, "embedded_digits: %s: %s\n", what, error->message);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fputs("usage: embedded_digits IMAGE.npy EXPECTED.npy LABEL\n", stderr);
    return 2;
  }
  if ((uintptr_t)thaw_embedded_model % 64 != 0) {
    fprintf(stderr, "embedded_digits: the model is at %p, not 64-byte aligned\n",
            (const void *)thaw_embedded_model);
    return 1;
  }
  thaw_error error;
  thaw_npy image, expected;
  if (thaw_npy_read(argv[1], &image, &error) != THAW_OK) return fail(argv[1], &error);
  if (thaw_npy_read(argv[2], &expected, &error) != THAW_OK) return fail(argv[2], &error);
  long label = strtol(argv[3], NULL, 10);

  thaw_model *model;
  thaw_session *session;
  if (thaw_model_open_memory(thaw_embedded_model, thaw_embedded_model_size, 0, &model,
                             &error) != THAW_OK)
    return fail("open", &error);
  if (thaw_session_create(model, NULL, &session, &error) != THAW_OK) return fail("session", &error);
  thaw_tensor input, output;
  thaw_session_input(session, 0, &input);
  if (input.size_bytes != image.size_bytes || input.dtype != image.dtype) {
    fprintf(stderr, "embedded_digits: %s holds %zu bytes, the input takes %zu\n", argv[1],
            image.size_bytes, input.size_bytes);
    return 1;
  }
  memcpy(input.data, image.data, image.size_bytes);
  if (thaw_session_run(session, NULL, &error) != THAW_OK) return fail("run", &error);
  thaw_session_output(session, 0, &output);
  if (output.element_count != expected.element_count || expected.dtype != THAW_DTYPE_F32) {
    fprintf(stderr, "embedded_digits: %zu outputs, %s holds %zu f32 values\n",
            output.element_count, argv[2], expected.element_count);
    return 1;
  }

  const float *probabilities = output.data, *reference = expected.data;
  double max_reference = 1.0;
  for (size_t i = 0; i < expected.element_count; i++)
    max_reference = fmax(max_reference, fabs((double)reference[i]));
  int exit_status = 0;
  size_t argmax = 0;
  for (size_t i = 0; i < output.element_count; i++) {
    double difference = fabs((double)probabilities[i] - (double)reference[i]);
    if (difference > DIGITS_ATOL * max_reference + DIGITS_RTOL * fabs((double)reference[i])) {
      fprintf(stderr, "embedded_digits: probability %zu is %g, ONNX Runtime gives %g\n", i,
              (double)probabilities[i], (double)reference[i]);
      exit_status = 1;
    }
    if (probabilities[i] > probabilities[argmax]) argmax = i;
  }
  if ((long)argmax != label) {
    fprintf(stderr, "embedded_digits: predicted %zu, the sample is a %ld\n", argmax, label);
    exit_status = 1;
  }
  if (exit_status == 0)
    printf("embedded model (%zu bytes at %p): predicted %zu (p=%.6f)\n",
           thaw_embedded_model_size, (const void *)thaw_embedded_model, argmax,
           (double)probabilities[argmax]);
  thaw_session_destroy(session);
  thaw_model_close(model);
  thaw_npy_free(&image);
  thaw_npy_free(&expected);
  return exit_status;
}
