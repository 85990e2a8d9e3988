/*
 * Starts one fresh process the way a function platform does, optionally after evicting files
 * from the page cache, and reports when it started and what it cost.
 *
 *     bench_e2e_launch [--evict FILE]... -- PROGRAM [ARG]...
 *
 * --evict asks the kernel to drop FILE's cached pages (fdatasync, then
 * posix_fadvise(POSIX_FADV_DONTNEED)), so the program has to read it from disk: the cold case.
 * The kernel keeps pages that a process still maps, so the launcher also counts, with mincore,
 * how much of FILE is still resident afterwards and reports it: a cold figure is only cold if
 * that number is near 0.
 *
 * After the program exits, prints one JSON line on stdout (after whatever the program printed):
 * spawn_ns (CLOCK_MONOTONIC just before posix_spawn, comparable with the timestamps the program
 * prints), exit_ns, the exit status, and the child's peak RSS, CPU times and page faults from
 * wait4. The launcher exits with the program's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { MAX_EVICTED_FILES = 16 };

typedef struct eviction {
  const char *path;
  uint64_t size_bytes;
  uint64_t resident_bytes_after;
} eviction;

static int64_t monotonic_ns(void) {
  struct timespec time;
  clock_gettime(CLOCK_MONOTONIC, &time);
  return (int64_t)time.tv_sec * 1000000000 + time.tv_nsec;
}

static double timeval_ms(struct timeval time) {
  return (double)time.tv_sec * 1e3 + (double)time.tv_usec / 1e3;
}

/* Bytes of the open file `fd` of `size` bytes that are in the page cache. Mapping the file and
 * asking mincore does not fault any page in. */
static int resident_bytes(int fd, uint64_t size, uint64_t *resident) {
  *resident = 0;
  if (size == 0) return 0;
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0 || size > SIZE_MAX - (size_t)page_size) return -1;
  const size_t pages = (size_t)((size + (uint64_t)page_size - 1) / (uint64_t)page_size);
  void *mapping = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) return -1;
  unsigned char *in_core = malloc(pages);
  int result = -1;
  if (in_core != NULL && mincore(mapping, (size_t)size, in_core) == 0) {
    size_t count = 0;
    for (size_t i = 0; i < pages; i++) count += in_core[i] & 1;
    *resident = (uint64_t)count * (uint64_t)page_size;
    if (*resident > size) *resident = size;
    result = 0;
  }
  free(in_core);
  munmap(mapping, (size_t)size);
  return result;
}

static int evict(eviction *file) {
  const int fd = open(file->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat status;
  int result = fstat(fd, &status);
  if (result == 0) {
    file->size_bytes = (uint64_t)status.st_size;
    /* Dirty pages cannot be dropped: write them back first. */
    result = fdatasync(fd);
  }
  if (result == 0) {
    const int advice_error = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (advice_error != 0) {
      errno = advice_error;
      result = -1;
    }
  }
  if (result == 0) result = resident_bytes(fd, file->size_bytes, &file->resident_bytes_after);
  close(fd);
  return result;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_e2e_launch [--evict FILE]... -- PROGRAM [ARG]... "
                  "(at most %d files)\n", MAX_EVICTED_FILES);
  return 2;
}

int main(int argc, char **argv) {
  eviction evicted[MAX_EVICTED_FILES];
  size_t evicted_count = 0;
  int program_index = -1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      program_index = i + 1;
      break;
    }
    if (strcmp(argv[i], "--evict") != 0 || i + 1 >= argc || evicted_count == MAX_EVICTED_FILES) {
      return usage();
    }
    evicted[evicted_count++] = (eviction){argv[++i], 0, 0};
  }
  if (program_index < 0 || program_index >= argc) return usage();

  for (size_t i = 0; i < evicted_count; i++) {
    if (evict(&evicted[i]) != 0) {
      fprintf(stderr, "bench_e2e_launch: cannot evict %s: %s\n", evicted[i].path, strerror(errno));
      return 1;
    }
  }

  fflush(stdout);
  pid_t child;
  const int64_t spawn_ns = monotonic_ns();
  const int spawn_error =
      posix_spawnp(&child, argv[program_index], NULL, NULL, &argv[program_index], environ);
  if (spawn_error != 0) {
    fprintf(stderr, "bench_e2e_launch: cannot start %s: %s\n", argv[program_index],
            strerror(spawn_error));
    return 1;
  }
  int status;
  struct rusage usage_of_child;
  while (wait4(child, &status, 0, &usage_of_child) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "bench_e2e_launch: wait4: %s\n", strerror(errno));
      return 1;
    }
  }
  const int64_t exit_ns = monotonic_ns();
  const int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  printf("{\"launcher\": true, \"spawn_ns\": %" PRId64 ", \"exit_ns\": %" PRId64
         ", \"exit_status\": %d, \"child_peak_rss_kb\": %ld, \"child_user_ms\": %.3f, "
         "\"child_system_ms\": %.3f, \"child_major_faults\": %ld, \"child_minor_faults\": %ld, "
         "\"evicted\": [",
         spawn_ns, exit_ns, exit_status, usage_of_child.ru_maxrss,
         timeval_ms(usage_of_child.ru_utime), timeval_ms(usage_of_child.ru_stime),
         usage_of_child.ru_majflt, usage_of_child.ru_minflt);
  for (size_t i = 0; i < evicted_count; i++) {
    /* The harness passes plain paths; JSON-escape only what a path can reasonably hold. */
    printf("%s{\"path\": \"", i > 0 ? ", " : "");
    for (const char *c = evicted[i].path; *c != '\0'; c++) {
      if (*c == '"' || *c == '\\') putchar('\\');
      putchar(*c);
    }
    printf("\", \"bytes\": %" PRIu64 ", \"resident_bytes_after\": %" PRIu64 "}",
           evicted[i].size_bytes, evicted[i].resident_bytes_after);
  }
  printf("]}\n");
  return exit_status;
}
