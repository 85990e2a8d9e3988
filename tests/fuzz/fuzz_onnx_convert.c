/*
 * libFuzzer target: any bytes through the converter's front end from memory (protobuf ->
 * graph -> shape inference -> folding and fusion passes -> writer). When the bytes convert,
 * the model must also open, get a session and run without a fault: the converter's output is
 * trusted by nobody, but it should never be the one producing a file the runtime trips on.
 *
 * Sessions larger than kMaxSessionBytes are skipped for the same reason as in
 * fuzz_model_load.c: a few bytes of ONNX can legitimately declare large activations.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "convert.h"
#include "thaw.h"

static const size_t kMaxSessionBytes = (size_t)256 << 20;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *thaw_bytes = NULL;
  uint64_t thaw_size = 0;
  thaw_convert_report report;
  thaw_status status =
      thaw_convert_onnx_memory(data, size, NULL, NULL, &thaw_bytes, &thaw_size, &report, NULL);
  thaw_convert_report_free(&report);
  if (status != THAW_OK) return 0;

  thaw_model *model = NULL;
  thaw_error error;
  /* The converter's own output failing to open is a converter bug. */
  if (thaw_model_open_memory(thaw_bytes, thaw_size, 0, &model, &error) != THAW_OK) {
    fprintf(stderr, "the converted model does not open: %s\n", error.message);
    abort();
  }
  thaw_session *session = NULL;
  if (thaw_model_session_bytes(model) <= kMaxSessionBytes &&
      thaw_session_create(model, NULL, &session, NULL) == THAW_OK) {
    thaw_session_run(session, NULL, NULL);
    thaw_session_destroy(session);
  }
  thaw_model_close(model);
  free(thaw_bytes);
  return 0;
}
