#define _GNU_SOURCE
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *join_path(const char *directory, const char *name) {
  size_t length = strlen(directory) + strlen(name) + 2;
  char *path = malloc(length);
  if (path == NULL) fail_msg("out of memory");
  snprintf(path, length, "%s/%s", directory, name);
  return path;
}

char *thaw_test_source_path(const char *relative) {
  const char *root = getenv("THAW_SOURCE_DIR");
  if (root == NULL) fail_msg("THAW_SOURCE_DIR is not set; run the test through ctest");
  return join_path(root, relative);
}

static void make_directories(const char *path) {
  char buffer[4096];
  if (snprintf(buffer, sizeof buffer, "%s", path) >= (int)sizeof buffer) fail_msg("path too long");
  for (char *p = buffer + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buffer, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", buffer, strerror(errno));
    *p = '/';
  }
  if (mkdir(buffer, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", buffer, strerror(errno));
}

char *thaw_test_tmp_path(const char *name) {
  const char *directory = getenv("THAW_TEST_TMPDIR");
  if (directory == NULL) directory = "/tmp/thaw-test";
  make_directories(directory);
  return join_path(directory, name);
}

const char *thaw_test_cli(void) { return getenv("THAW_CLI"); }

uint8_t *thaw_test_read_file(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return NULL;
  uint8_t *data = NULL;
  size_t length = 0, capacity = 0;
  for (;;) {
    if (length == capacity) {
      capacity = capacity ? capacity * 2 : 65536;
      uint8_t *grown = realloc(data, capacity);
      if (grown == NULL) break;
      data = grown;
    }
    size_t got = fread(data + length, 1, capacity - length, file);
    length += got;
    if (got == 0) break;
  }
  fclose(file);
  *size = length;
  return data;
}

void thaw_test_write_file(const char *path, const void *data, size_t size) {
  FILE *file = fopen(path, "wb");
  if (file == NULL) fail_msg("cannot write %s: %s", path, strerror(errno));
  if (size != 0 && fwrite(data, 1, size, file) != size) fail_msg("short write to %s", path);
  if (fclose(file) != 0) fail_msg("cannot close %s", path);
}

uint64_t thaw_test_rng_next(thaw_test_rng *rng) {
  uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float thaw_test_rng_uniform(thaw_test_rng *rng, float lo, float hi) {
  double unit = (double)(thaw_test_rng_next(rng) >> 11) * 0x1.0p-53;
  return (float)(lo + (hi - lo) * unit);
}

void thaw_test_fill_uniform(thaw_test_rng *rng, float *data, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) data[i] = thaw_test_rng_uniform(rng, lo, hi);
}

void thaw_test_assert_close(const char *what, const float *actual, const double *expected,
                            size_t n, double rtol, double atol) {
  for (size_t i = 0; i < n; i++) {
    double tolerance = atol + rtol * fabs(expected[i]);
    if (!(fabs((double)actual[i] - expected[i]) <= tolerance))
      fail_msg("%s: element %zu is %.9g, expected %.9g (tolerance %.3g)", what, i,
               (double)actual[i], expected[i], tolerance);
  }
}

static char *slurp_descriptor(int descriptor) {
  size_t length = 0, capacity = 4096;
  char *text = malloc(capacity);
  if (text == NULL) fail_msg("out of memory");
  for (;;) {
    if (length + 1 == capacity) {
      capacity *= 2;
      char *grown = realloc(text, capacity);
      if (grown == NULL) fail_msg("out of memory");
      text = grown;
    }
    ssize_t got = read(descriptor, text + length, capacity - 1 - length);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    length += (size_t)got;
  }
  text[length] = '\0';
  return text;
}

int thaw_test_run_command(char *const argv[], char **out, char **err) {
  /* Capture through temporary files rather than pipes, so a chatty child cannot deadlock. */
  char out_template[] = "/tmp/thaw-test-out-XXXXXX", err_template[] = "/tmp/thaw-test-err-XXXXXX";
  int out_fd = mkstemp(out_template), err_fd = mkstemp(err_template);
  if (out_fd < 0 || err_fd < 0) fail_msg("mkstemp: %s", strerror(errno));
  unlink(out_template);
  unlink(err_template);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  pid_t pid;
  int spawned = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) fail_msg("cannot run %s: %s", argv[0], strerror(spawned));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) fail_msg("waitpid: %s", strerror(errno));
  lseek(out_fd, 0, SEEK_SET);
  lseek(err_fd, 0, SEEK_SET);
  char *captured_out = slurp_descriptor(out_fd), *captured_err = slurp_descriptor(err_fd);
  close(out_fd);
  close(err_fd);
  if (out) *out = captured_out; else free(captured_out);
  if (err) *err = captured_err; else free(captured_err);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
