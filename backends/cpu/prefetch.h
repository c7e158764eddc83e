// Prefetching a data set's next batch while the current one is computed. The rows of a shuffled
// batch are scattered over the whole data set (188 MB for Fashion-MNIST), so reading them costs
// DRAM latency, and a one-thread gather has too few misses in flight to reach the memory's
// bandwidth. data::BatchIterator queues the next batch's rows on the calling thread
// (prefetch_rows_later); the small-gemm kernel, which holds the core for most of a training step,
// takes that queue (prefetch_begin) and issues a few of its lines between its tiles, so the
// misses overlap the arithmetic. A hint only: no value depends on it, and a line of memory freed
// meanwhile is harmless (a prefetch never faults). Internal header (not public API).
#pragma once
#include <cstdint>

namespace tapeflow::backend::cpu {

// A position in the calling thread's queue and the number of lines a kernel may still issue.
struct PrefetchCursor {
  const char* base = nullptr;
  int64_t row_bytes = 0;
  const int64_t* rows = nullptr;  // row indices into base (row_bytes apart)
  int64_t nrows = 0;
  int64_t row = 0, line = 1;  // the next line: rows[row] * row_bytes + 64 * line
  int64_t budget = 0;
  uint64_t generation = 0;  // of the queue it was taken from

  // Takes up to n (and the budget) of the queued lines' addresses into out; returns how many.
  int take(const char** out, int n) {
    if (n > budget) n = int(budget);
    const int64_t lines = (row_bytes + 63) / 64;
    int got = 0;
    while (got < n && row < nrows) {
      const char* r = base + rows[row] * row_bytes;
      for (; got < n && line < lines; ++got, ++line) out[got] = r + 64 * line;
      if (line >= lines) {  // a row's line 0 was asked for when it was queued
        line = 1;
        ++row;
      }
    }
    budget -= got;
    return got;
  }
};

// Replaces the calling thread's queue: rows[0..n) of a row-major block at base, row_bytes apart.
// The first line of each row is asked for at once; the others are queued.
void prefetch_rows_later(const void* base, int64_t row_bytes, const int64_t* rows, int64_t n);
// Takes the calling thread's queue for a kernel that may issue up to `budget` lines; the kernel
// hands the cursor back with prefetch_end. An empty cursor (nrows == 0) when nothing is queued.
PrefetchCursor prefetch_begin(int64_t budget);
void prefetch_end(const PrefetchCursor& c);

// prefetch_begin / prefetch_end for a kernel's scope.
struct PrefetchScope {
  PrefetchCursor c;
  explicit PrefetchScope(int64_t budget) : c(prefetch_begin(budget)) {}
  ~PrefetchScope() { prefetch_end(c); }
  PrefetchScope(const PrefetchScope&) = delete;
  PrefetchScope& operator=(const PrefetchScope&) = delete;
  PrefetchCursor* get() { return c.nrows ? &c : nullptr; }  // nullptr: nothing queued
};

}  // namespace tapeflow::backend::cpu
