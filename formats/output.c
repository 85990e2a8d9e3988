/* Output files that are either complete or absent: what the writer, the converter and
 * `thaw embed` all produce. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/format.h"

thaw_status thaw_output_file_open(thaw_output_file *output, const char *path, thaw_error *error) {
  memset(output, 0, sizeof *output);
  if (path == NULL) return thaw_error_set(error, THAW_STATUS_INVALID_ARGUMENT, "NULL output path");
  /* Renaming over a device (/dev/null, /dev/stdout) or a pipe would replace it: those are
   * written in place. */
  struct stat status;
  const bool in_place = stat(path, &status) == 0 && !S_ISREG(status.st_mode);
  output->path = path;
  if (!in_place) {
    const size_t length = strlen(path) + 32;
    output->temporary = malloc(length);
    if (output->temporary == NULL)
      return thaw_error_set(error, THAW_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    snprintf(output->temporary, length, "%s.tmp-%ld", path, (long)getpid());
  }
  const char *opened = in_place ? path : output->temporary;
  output->stream = fopen(opened, "wb");
  if (output->stream == NULL) {
    thaw_status failure =
        thaw_error_set(error, THAW_STATUS_IO, "cannot create %s: %s", opened, strerror(errno));
    free(output->temporary);
    output->temporary = NULL;
    return failure;
  }
  return THAW_OK;
}

thaw_status thaw_output_file_close(thaw_output_file *output, bool complete, thaw_error *error) {
  int cause = complete && ferror(output->stream) ? EIO : 0;
  if (fclose(output->stream) != 0 && cause == 0) cause = errno;
  output->stream = NULL;
  thaw_status status = THAW_OK;
  if (complete && cause != 0) {
    status = thaw_error_set(error, THAW_STATUS_IO, "cannot write %s: %s", output->path,
                            strerror(cause));
  } else if (complete && output->temporary != NULL && rename(output->temporary, output->path) != 0) {
    status = thaw_error_set(error, THAW_STATUS_IO, "cannot rename %s to %s: %s",
                            output->temporary, output->path, strerror(errno));
  }
  if ((!complete || status != THAW_OK) && output->temporary != NULL) unlink(output->temporary);
  free(output->temporary);
  output->temporary = NULL;
  return status;
}

thaw_status thaw_output_file_write(const char *path, const void *bytes, uint64_t size,
                                   thaw_error *error) {
  thaw_output_file output;
  thaw_status status = thaw_output_file_open(&output, path, error);
  if (status != THAW_OK) return status;
  const bool written = size == 0 || fwrite(bytes, 1, (size_t)size, output.stream) == size;
  status = thaw_output_file_close(&output, written, error);
  if (status == THAW_OK && !written)
    status = thaw_error_set(error, THAW_STATUS_IO, "cannot write %s: %s", path, strerror(EIO));
  return status;
}
