// The calling thread's prefetch queue (prefetch.h).
#include "backends/cpu/prefetch.h"

#include <vector>

#include "backends/cpu/cpu_backend.h"

namespace tapeflow::backend::cpu {
namespace {
namespace prefetch_queue {  // own scope: unity builds merge the anonymous namespaces of this folder

struct Queue {
  const char* base = nullptr;
  int64_t row_bytes = 0;
  std::vector<int64_t> rows;  // keeps its capacity: no allocation per batch after the first
  int64_t row = 0, line = 1;
  uint64_t generation = 0;  // counts replacements: a cursor of an older queue is not stored back
};

Queue& mine() {
  static thread_local Queue q;
  return q;
}

}  // namespace prefetch_queue
}  // namespace

void prefetch_rows_later(const void* base, int64_t row_bytes, const int64_t* rows, int64_t n) {
  prefetch_queue::Queue& q = prefetch_queue::mine();
  q.rows.clear();
  q.row = 0;
  q.line = 1;
  ++q.generation;
  if (base == nullptr || row_bytes <= 0 || rows == nullptr || n <= 0) return;
  q.base = static_cast<const char*>(base);
  q.row_bytes = row_bytes;
  q.rows.assign(rows, rows + n);
  for (int64_t i = 0; i < n; ++i) __builtin_prefetch(q.base + rows[i] * row_bytes, 0, 3);
}

PrefetchCursor prefetch_begin(int64_t budget) {
  prefetch_queue::Queue& q = prefetch_queue::mine();
  PrefetchCursor c;
  if (q.row >= int64_t(q.rows.size()) || budget <= 0) return c;
  c.base = q.base;
  c.row_bytes = q.row_bytes;
  c.rows = q.rows.data();
  c.nrows = int64_t(q.rows.size());
  c.row = q.row;
  c.line = q.line;
  c.budget = budget;
  c.generation = q.generation;
  return c;
}

void prefetch_end(const PrefetchCursor& c) {
  if (c.nrows == 0) return;
  prefetch_queue::Queue& q = prefetch_queue::mine();
  if (c.generation != q.generation) return;  // the queue was replaced meanwhile
  q.row = c.row;
  q.line = c.line;
}

void CpuBackend::prefetch_rows(const void* base, int64_t row_bytes, const int64_t* rows, int64_t n) {
  prefetch_rows_later(base, row_bytes, rows, n);
}

}  // namespace tapeflow::backend::cpu
