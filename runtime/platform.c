#include "runtime/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/format.h"

thaw_status thaw_platform_map_file(const char *path, thaw_mapped_file *file, thaw_error *error) {
  file->address = NULL;
  file->size = 0;
  int descriptor = open(path, O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    return thaw_error_set(error, THAW_STATUS_IO, "cannot open %s: %s", path, strerror(errno));
  }
  struct stat status;
  if (fstat(descriptor, &status) != 0) {
    int saved = errno;
    close(descriptor);
    return thaw_error_set(error, THAW_STATUS_IO, "cannot stat %s: %s", path, strerror(saved));
  }
  if (!S_ISREG(status.st_mode)) {
    close(descriptor);
    return thaw_error_set(error, THAW_STATUS_IO, "cannot map %s: not a regular file", path);
  }
  if ((uintmax_t)status.st_size > SIZE_MAX) {
    close(descriptor);
    return thaw_error_set(error, THAW_STATUS_IO,
                          "cannot map %s: %jd bytes exceed the address space", path,
                          (intmax_t)status.st_size);
  }
  if (status.st_size == 0) {
    close(descriptor);
    return THAW_OK;
  }
  /* No MAP_POPULATE: opening must not read the weights, only the pages validation touches. */
  void *address = mmap(NULL, (size_t)status.st_size, PROT_READ, MAP_PRIVATE, descriptor, 0);
  int saved = errno;
  close(descriptor); /* the mapping keeps its own reference to the file */
  if (address == MAP_FAILED) {
    return thaw_error_set(error, THAW_STATUS_IO, "cannot map %s: %s", path, strerror(saved));
  }
  file->address = address;
  file->size = (size_t)status.st_size;
  return THAW_OK;
}

void thaw_platform_unmap_file(thaw_mapped_file *file) {
  if (file->address != NULL) munmap(file->address, file->size);
  file->address = NULL;
  file->size = 0;
}

void thaw_platform_prefetch(const void *address, size_t size) {
  if (size == 0) return;
  /* madvise wants a page-aligned start; widening the range to whole pages is harmless. */
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t start = (uintptr_t)address & ~(page - 1);
  const uintptr_t end = (uintptr_t)address + size;
  (void)madvise((void *)start, end - start, MADV_WILLNEED);
}

/* Blocks of a huge page or more (a session's arena and scratch) start on a huge-page boundary
 * and are offered to the kernel as transparent huge pages: the first run, which touches the
 * arena for the first time, then takes one page fault per 2 MiB instead of one per 4 KiB (a
 * fresh process's first result came 19-23 % sooner on PP-OCRv4 det and MobileNetV2, whose
 * arenas are 6-11 MB). Only the first huge_bytes are offered, so a caller can keep what it writes
 * at once (a session's tables) in small pages: a first write there would otherwise fault and
 * clear a whole 2 MiB page. Where transparent huge pages are off, madvise fails and nothing
 * changes; the memory is still free()d as usual. */
enum { HUGE_PAGE_BYTES = 2u << 20 };

void *thaw_platform_aligned_alloc_huge(size_t size, size_t huge_bytes) {
  const size_t alignment = size >= HUGE_PAGE_BYTES ? HUGE_PAGE_BYTES : THAW_PLATFORM_ALIGNMENT;
  void *pointer = NULL;
  if (posix_memalign(&pointer, alignment, size == 0 ? 1 : size) != 0) return NULL;
  const size_t huge_pages = (huge_bytes < size ? huge_bytes : size) / HUGE_PAGE_BYTES;
  if (alignment == HUGE_PAGE_BYTES && huge_pages > 0)
    (void)madvise(pointer, huge_pages * HUGE_PAGE_BYTES, MADV_HUGEPAGE);
  return pointer;
}

void *thaw_platform_aligned_alloc(size_t size) {
  return thaw_platform_aligned_alloc_huge(size, size);
}

void thaw_platform_free(void *pointer) { free(pointer); }

static uint64_t clock_ns(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t thaw_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

uint64_t thaw_platform_thread_cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

void thaw_platform_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}
