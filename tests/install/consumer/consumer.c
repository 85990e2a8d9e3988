/* Links against an installed thaw and exercises the public API without a model. */
#include <stdio.h>
#include <string.h>
#include <thaw.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "missing.thaw";
  thaw_model *model = NULL;
  thaw_error error;
  thaw_status status = thaw_model_open(path, 0, &model, &error);
  if (status == THAW_OK) {
    printf("opened %s: %zu inputs, %zu outputs\n", path, thaw_model_input_count(model),
           thaw_model_output_count(model));
    thaw_model_close(model);
    return 0;
  }
  /* A missing file must be an I/O error that names the path, not a crash. */
  if (status != THAW_STATUS_IO || strstr(error.message, path) == NULL) {
    fprintf(stderr, "unexpected: %s: %s\n", thaw_status_str(status), error.message);
    return 1;
  }
  printf("thaw %s: %s\n", THAW_VERSION_STRING, error.message);
  return 0;
}
