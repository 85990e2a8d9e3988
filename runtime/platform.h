/*
 * The one place in the runtime that knows the operating system: mapping a file read-only,
 * read-ahead hints, aligned allocation and a clock.
 */
#ifndef THAW_RUNTIME_PLATFORM_H
#define THAW_RUNTIME_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "thaw.h"

typedef struct thaw_mapped_file {
  void *address; /* NULL when nothing is mapped */
  size_t size;
} thaw_mapped_file;

/* Map the whole of `path` read-only and private. Pages are not touched: they fault in as the
 * kernels first read them. An empty file is mapped as address NULL, size 0. */
thaw_status thaw_platform_map_file(const char *path, thaw_mapped_file *file, thaw_error *error);
void thaw_platform_unmap_file(thaw_mapped_file *file);

/* Hint that [address, address + size) will be read soon; the kernel may start the I/O in the
 * background. Advisory: failures are ignored. */
void thaw_platform_prefetch(const void *address, size_t size);

/* `size` bytes aligned to THAW_PLATFORM_ALIGNMENT, or NULL. Freed with thaw_platform_free. */
#define THAW_PLATFORM_ALIGNMENT 64
void *thaw_platform_aligned_alloc(size_t size);
/* The same, but of a block of a huge page or more only the first `huge_bytes` (in whole huge
 * pages) may be backed by transparent huge pages; the rest stays in small pages. */
void *thaw_platform_aligned_alloc_huge(size_t size, size_t huge_bytes);
void thaw_platform_free(void *pointer);

/* CPU time the calling thread has used, in nanoseconds: what a measurement of its own work
 * reads on a machine other processes share, for differences only. */
uint64_t thaw_platform_thread_cpu_ns(void);

/* Tells the CPU that the calling thread is spinning on a memory location (x86 pause, arm64
 * yield): the core stops speculating ahead and gives way to its sibling hyper-thread. */
void thaw_platform_spin_pause(void);

#endif /* THAW_RUNTIME_PLATFORM_H */
