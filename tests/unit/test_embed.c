/* `thaw embed`: the C form decodes back to the model's exact bytes with the declared size and
 * alignment, the assembler form names the model by its absolute path, and every refusal
 * (usage, a file that is not a model) has its exit status and leaves no output file. Compiling
 * and running both forms is tests/examples (embedded_digits_*). */
/* realpath and PATH_MAX. */
#define _XOPEN_SOURCE 700

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_support.h"

typedef struct embed_fixture {
  char *model_path;
  uint8_t *model_bytes;
  size_t model_size;
} embed_fixture;

static int run_cli(const char *const *arguments, char **err) {
  char *argv[16];
  size_t count = 0;
  argv[count++] = (char *)thaw_test_cli();
  for (; arguments[count - 1] != NULL; count++) argv[count] = (char *)arguments[count - 1];
  argv[count] = NULL;
  return thaw_test_run_command(argv, NULL, err);
}

static int setup(void **state) {
  if (thaw_test_cli() == NULL) {
    fprintf(stderr, "THAW_CLI is not set: the CLI was not built\n");
    return -1;
  }
  embed_fixture *fixture = calloc(1, sizeof *fixture);
  char *onnx = thaw_test_source_path("tests/models/digits/digits.onnx");
  fixture->model_path = thaw_test_tmp_path("digits.thaw");
  const char *convert[] = {"convert", onnx, fixture->model_path, NULL};
  int status = run_cli(convert, NULL);
  free(onnx);
  if (status != 0) return -1;
  fixture->model_bytes = thaw_test_read_file(fixture->model_path, &fixture->model_size);
  *state = fixture;
  return fixture->model_bytes == NULL ? -1 : 0;
}

static int teardown(void **state) {
  embed_fixture *fixture = *state;
  free(fixture->model_path);
  free(fixture->model_bytes);
  free(fixture);
  return 0;
}

/* The bytes of the string literal after `declaration` in `source`: each "\ooo" escape is one
 * byte, adjacent literals concatenate, up to the ';'. */
static uint8_t *decode_string_literal(const char *source, const char *declaration,
                                      size_t *size) {
  const char *at = strstr(source, declaration);
  if (at == NULL) return NULL;
  at += strlen(declaration);
  uint8_t *bytes = malloc(strlen(at) / 4 + 1);
  size_t count = 0;
  bool in_string = false;
  for (; *at != '\0' && (in_string || *at != ';'); at++) {
    if (*at == '"') {
      in_string = !in_string;
    } else if (in_string) {
      if (at[0] != '\\' || at[1] < '0' || at[1] > '3' || at[2] < '0' || at[2] > '7' ||
          at[3] < '0' || at[3] > '7') {
        free(bytes);
        return NULL;
      }
      bytes[count++] = (uint8_t)((at[1] - '0') * 64 + (at[2] - '0') * 8 + (at[3] - '0'));
      at += 3;
    }
  }
  *size = count;
  return bytes;
}

static void test_c_form_holds_the_model(void **state) {
  embed_fixture *fixture = *state;
  char *output = thaw_test_tmp_path("digits_blob.c");
  const char *embed[] = {"embed", fixture->model_path, "-o", output, "--symbol", "digits", NULL};
  assert_int_equal(run_cli(embed, NULL), 0);
  size_t source_size;
  char *source = (char *)thaw_test_read_file(output, &source_size);
  assert_non_null(source);
  source = realloc(source, source_size + 1);
  source[source_size] = '\0';

  char expected[160];
  snprintf(expected, sizeof expected, "const size_t digits_size = %zu;", fixture->model_size);
  assert_non_null(strstr(source, expected));
  snprintf(expected, sizeof expected, "_Alignas(64) const unsigned char digits[%zu] =",
           fixture->model_size);
  size_t decoded_size = 0;
  uint8_t *decoded = decode_string_literal(source, expected, &decoded_size);
  assert_non_null(decoded);
  assert_int_equal(decoded_size, fixture->model_size);
  assert_memory_equal(decoded, fixture->model_bytes, fixture->model_size);
  assert_null(strstr(source, "??")); /* no trigraph can form */
  free(decoded);
  free(source);
  free(output);
}

static void test_assembler_form_names_the_model(void **state) {
  embed_fixture *fixture = *state;
  char *output = thaw_test_tmp_path("digits_blob.S");
  const char *embed[] = {"embed", fixture->model_path, "-o", output, NULL};
  assert_int_equal(run_cli(embed, NULL), 0);
  size_t source_size;
  char *source = (char *)thaw_test_read_file(output, &source_size);
  assert_non_null(source);
  source = realloc(source, source_size + 1);
  source[source_size] = '\0';

  char absolute[PATH_MAX], expected[PATH_MAX + 64];
  assert_non_null(realpath(fixture->model_path, absolute));
  snprintf(expected, sizeof expected, ".incbin \"%s\"", absolute);
  assert_non_null(strstr(source, expected));
  snprintf(expected, sizeof expected, ".size thaw_embedded_model, %zu", fixture->model_size);
  assert_non_null(strstr(source, expected));
  snprintf(expected, sizeof expected, ".dc.a %zu", fixture->model_size);
  assert_non_null(strstr(source, expected));
  assert_non_null(strstr(source, ".balign 64\n  .globl thaw_embedded_model\n"));
  free(source);
  free(output);
}

static void expect_refusal(const char *const *arguments, int status, const char *message,
                           const char *output) {
  char *err = NULL;
  assert_int_equal(run_cli(arguments, &err), status);
  if (strstr(err, message) == NULL) fail_msg("expected \"%s\" in: %s", message, err);
  free(err);
  if (output != NULL) assert_int_not_equal(access(output, F_OK), 0);
}

static void test_refusals(void **state) {
  embed_fixture *fixture = *state;
  char *output = thaw_test_tmp_path("refused.c");
  char *not_a_model = thaw_test_tmp_path("not_a_model.thaw");
  thaw_test_write_file(not_a_model, "hello, not a model", 18);

  const char *no_output[] = {"embed", fixture->model_path, NULL};
  expect_refusal(no_output, 2, "missing -o", NULL);
  const char *bad_extension[] = {"embed", fixture->model_path, "-o", "blob.txt", NULL};
  expect_refusal(bad_extension, 2, "must end in .c, .S or .s", NULL);
  const char *bad_symbol[] = {"embed", fixture->model_path, "-o", output, "--symbol",
                              "9lives", NULL};
  expect_refusal(bad_symbol, 2, "\"9lives\" is not a C identifier", output);
  const char *two_models[] = {"embed", fixture->model_path, fixture->model_path, "-o", output,
                              NULL};
  expect_refusal(two_models, 2, "expected one MODEL.thaw", output);
  const char *bad_model[] = {"embed", not_a_model, "-o", output, NULL};
  expect_refusal(bad_model, 1, "not a thaw model", output);
  const char *missing_model[] = {"embed", "/nonexistent/model.thaw", "-o", output, NULL};
  expect_refusal(missing_model, 1, "/nonexistent/model.thaw", output);
  free(not_a_model);
  free(output);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_c_form_holds_the_model),
      cmocka_unit_test(test_assembler_form_names_the_model),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
