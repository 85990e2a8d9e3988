/*
 * Software prefetch spread over the tiles of a GEMM: memory that the next tiles will read
 * (the next panel of a packed B, the next row group's rows of A) is fetched a share at a time
 * while the current tiles compute, so that it arrives before it is needed without a burst of
 * misses in one place. Internal to kernels/.
 *
 * The memory is `runs` runs of `run_bytes`, `run_stride` bytes apart (rows of a matrix, or one
 * contiguous block). The stream names, in address order, each cache line that overlaps a run
 * (once per run it overlaps) and never an address outside the runs; its lines are walked by
 * address, with no division per line (a prefetch costs a few cycles, a division tens).
 */
#ifndef THAW_KERNELS_GEMM_PREFETCH_H
#define THAW_KERNELS_GEMM_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#define THAW_PREFETCH_LINE 64

typedef struct thaw_prefetch_stream {
  const char *run; /* the run being fetched */
  /* Its next line, aligned down to THAW_PREFETCH_LINE: an integer, as it may lie past the end
   * of the memory, where no pointer may point. */
  uintptr_t line;
  size_t runs; /* runs not finished, this one included; 0: nothing left */
  size_t run_bytes, run_stride;
  size_t lines_per_share;
} thaw_prefetch_stream;

static inline uintptr_t thaw_prefetch_line_of(const char *address) {
  return (uintptr_t)address & ~(uintptr_t)(THAW_PREFETCH_LINE - 1);
}

/* The runs, to be fetched in `shares` calls of thaw_prefetch_share (none if shares is 0). */
static inline thaw_prefetch_stream thaw_prefetch_stream_make(const void *first, size_t runs,
                                                             size_t run_bytes, size_t run_stride,
                                                             size_t shares) {
  thaw_prefetch_stream s = {.runs = 0};
  if (runs == 0 || run_bytes == 0 || shares == 0) return s;
  if (run_stride == run_bytes) { /* back to back: one run */
    run_bytes *= runs;
    runs = 1;
  }
  /* Whatever its alignment, a run spans at most this many lines. */
  const size_t lines = runs * (run_bytes / THAW_PREFETCH_LINE + 2);
  s.run = first;
  s.line = thaw_prefetch_line_of(first);
  s.runs = runs;
  s.run_bytes = run_bytes;
  s.run_stride = run_stride;
  s.lines_per_share = (lines + shares - 1) / shares;
  return s;
}

/* Passes `visit` the stream's next share of lines, each as an address to fetch, in address
 * order. A run's first line may start before the run: its first byte is named instead. The
 * lines of one run take a compare, a call and an add each (the GEMM names hundreds of lines
 * a tile). */
static inline __attribute__((always_inline)) void
thaw_prefetch_share_each(thaw_prefetch_stream *s, void (*visit)(const char *address, void *context),
                         void *context) {
  size_t count = s->lines_per_share;
  while (count > 0 && s->runs > 0) {
    const uintptr_t run = (uintptr_t)s->run, run_end = run + s->run_bytes;
    if (s->line < run) {
      visit(s->run, context);
      s->line += THAW_PREFETCH_LINE;
      count--;
    }
    for (; count > 0 && s->line < run_end; count--, s->line += THAW_PREFETCH_LINE)
      visit(s->run + (s->line - run), context);
    if (s->line >= run_end && --s->runs > 0) {
      s->run += s->run_stride;
      s->line = thaw_prefetch_line_of(s->run);
    }
  }
}

/* Not always_inline: GCC 12 drops the prefetch of an always_inline function passed as
 * `visit` (checked with objdump: no prefetcht1 left in the GEMM driver). */
static inline void thaw_prefetch_for_reading(const char *address, void *context) {
  (void)context;
  __builtin_prefetch(address, 0, 2);
}

/* Fetches the stream's next share of lines, for reading. */
static inline __attribute__((always_inline)) void thaw_prefetch_share(thaw_prefetch_stream *s) {
  thaw_prefetch_share_each(s, thaw_prefetch_for_reading, NULL);
}

#endif /* THAW_KERNELS_GEMM_PREFETCH_H */
