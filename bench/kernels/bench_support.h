// What every kernel bench needs besides Google Benchmark: a kernel table by its ISA name, and
// the thread's CPU time, which the peak measurements use so that other processes on a shared
// machine do not count.
#ifndef THAW_BENCH_KERNELS_BENCH_SUPPORT_H
#define THAW_BENCH_KERNELS_BENCH_SUPPORT_H

#include <time.h>

#include <cstring>

extern "C" {
#include "kernels/kernels.h"
}

// The table called `isa` ("scalar", "avx2", ...) among those this CPU runs, or nullptr.
inline const thaw_kernels* table_named(const char* isa) {
  const thaw_kernels* tables[8];
  const size_t count = thaw_kernels_variants(tables, 8);
  for (size_t i = 0; i < count; i++)
    if (std::strcmp(tables[i]->isa, isa) == 0) return tables[i];
  return nullptr;
}

inline double thread_cpu_seconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

#endif  // THAW_BENCH_KERNELS_BENCH_SUPPORT_H
