/*
 * libFuzzer target: any bytes through the .npy reader (thaw_npy_parse), the path every tensor
 * the CLI and the test runners read from disk takes. A parse that succeeds must describe its
 * data exactly: the element count matches the shape and every data byte can be read.
 */
#include <stdint.h>
#include <stdlib.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  thaw_npy npy;
  if (thaw_npy_parse(data, size, "fuzz.npy", &npy, NULL) != THAW_OK) return 0;
  size_t element_count = 1;
  for (uint32_t d = 0; d < npy.rank; d++) element_count *= (size_t)npy.shape[d];
  if (element_count != npy.element_count ||
      npy.size_bytes != npy.element_count * thaw_dtype_size(npy.dtype))
    abort();
  /* Touch every byte so ASan sees a data buffer shorter than size_bytes. */
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < npy.size_bytes; i++) sink ^= ((const uint8_t *)npy.data)[i];
  (void)sink;
  thaw_npy_free(&npy);
  return 0;
}
