/* Helpers shared by the cmocka tests: where files are, seeded random data, float comparison. */
#ifndef THAW_TEST_SUPPORT_H
#define THAW_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the headers above before its own. */
#include <cmocka.h>

/* Path of `relative` under the source tree ($THAW_SOURCE_DIR); the result is malloc'ed. */
char *thaw_test_source_path(const char *relative);
/* A fresh, empty scratch folder for this test ($THAW_TEST_TMPDIR), created on first use, and
 * the malloc'ed path of `name` inside it. */
char *thaw_test_tmp_path(const char *name);
/* Path of the thaw CLI ($THAW_CLI), or NULL when the tools were not built. */
const char *thaw_test_cli(void);

/* Whole file into a malloc'ed buffer; NULL on failure. */
uint8_t *thaw_test_read_file(const char *path, size_t *size);
void thaw_test_write_file(const char *path, const void *data, size_t size);

/* A small deterministic generator (splitmix64), so failures reproduce. */
typedef struct thaw_test_rng {
  uint64_t state;
} thaw_test_rng;
uint64_t thaw_test_rng_next(thaw_test_rng *rng);
/* Uniform in [lo, hi). */
float thaw_test_rng_uniform(thaw_test_rng *rng, float lo, float hi);
void thaw_test_fill_uniform(thaw_test_rng *rng, float *data, size_t n, float lo, float hi);

/* Fail the test, naming the first element where |actual - expected| > atol + rtol*|expected|. */
void thaw_test_assert_close(const char *what, const float *actual, const double *expected,
                            size_t n, double rtol, double atol);

/* Run `argv` (argv[0] is the program path), capturing stdout and stderr into malloc'ed strings
 * (either pointer may be NULL to discard). Returns the exit status, or -1 if it did not exit. */
int thaw_test_run_command(char *const argv[], char **out, char **err);

#endif /* THAW_TEST_SUPPORT_H */
