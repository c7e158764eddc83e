// CpuBackend::index_select / index_add / gather / scatter_add. Index values are checked by the
// front end; these kernels check again (IndexError) so that they never touch memory out of
// bounds. Accumulating kernels never split the work so that two threads could hit one output
// element: each output element receives its contributions in index order (deterministic).
#include <cstring>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {
namespace {

// Prefetches [p, p + bytes) into the cache, one request per 64-byte line.
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 3);
}

// The dims other than `axis` of views a and b (same sizes there), coalesced.
struct Rest {
  int rank = 0;
  int64_t shape[kMaxDims], st[2][kMaxDims];  // first `rank` entries used
  int64_t count = 1;
};
Rest rest_of(const View& a, const View& b, int axis) {
  Rest R;
  for (int d = 0; d < a.rank; ++d) {
    if (d == axis) continue;
    R.shape[R.rank] = a.shape[d];
    R.st[0][R.rank] = a.strides[d];
    R.st[1][R.rank++] = b.strides[d];
    R.count *= a.shape[d];
  }
  coalesce_dims<2>(R.rank, R.shape, R.st);
  return R;
}

// The index values (any layout), each checked against [0, size).
std::vector<int64_t> read_index(const char* op, const View& index, int64_t size) {
  if (index.dtype != DType::Int64) fail(op, ": index must be int64, got ", dtype_str(index.dtype));
  std::vector<int64_t> v(size_t(index.numel()));
  const int64_t* p = static_cast<const int64_t*>(index.data);
  int64_t shape[kMaxDims], st[1][kMaxDims];
  int rank = index.rank;
  for (int d = 0; d < rank; ++d) { shape[d] = index.shape[d]; st[0][d] = index.strides[d]; }
  coalesce_dims<1>(rank, shape, st);
  size_t i = 0;
  for_runs<1>(rank, shape, st, 0, index.numel(), [&](const int64_t* off, int64_t n, const int64_t* s) {
    for (int64_t j = 0; j < n; ++j) {
      int64_t k = p[off[0] + j * s[0]];
      if (k < 0 || k >= size) fail_index(op, ": index ", k, " is out of bounds for size ", size);
      v[i++] = k;
    }
  });
  return v;
}

void check_axis(const char* op, int axis, const View& a) {
  if (axis < 0 || axis >= a.rank) fail_index(op, ": axis ", axis, " out of range for rank ", a.rank);
}
void check_same_but_axis(const char* op, const View& a, const View& b, int axis, int64_t b_axis) {
  bool ok = a.rank == b.rank && b.shape[axis] == b_axis;
  for (int d = 0; ok && d < a.rank; ++d) ok = d == axis || a.shape[d] == b.shape[d];
  if (!ok) fail(op, ": shapes differ outside axis ", axis);
}
void check_dtypes(const char* op, const View& a, const View& b) {
  if (a.dtype != b.dtype) fail(op, ": dtypes differ: ", dtype_str(a.dtype), " and ", dtype_str(b.dtype));
}

}  // namespace

void CpuBackend::index_select(const View& x, int axis, const View& index, const View& out) {
  check_axis("index_select", axis, x);
  check_dtypes("index_select", x, out);
  std::vector<int64_t> idx = read_index("index_select", index, x.shape[axis]);
  const int64_t n = int64_t(idx.size());
  check_same_but_axis("index_select", x, out, axis, n);
  Rest R = rest_of(out, x, axis);  // set 0: out, set 1: x
  if (n == 0 || R.count == 0) return;
  const int64_t oa = out.strides[axis], xa = x.strides[axis];
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* op_ = static_cast<T*>(out.data);
    const T* xp = static_cast<const T*>(x.data);
    auto copy = [&](int64_t i, int64_t r0, int64_t r1) {
      T* o = op_ + i * oa;
      const T* s = xp + idx[size_t(i)] * xa;
      for_runs<2>(R.rank, R.shape, R.st, r0, r1, [&](const int64_t* off, int64_t m, const int64_t* st) {
        if (st[0] == 1 && st[1] == 1) { for (int64_t j = 0; j < m; ++j) o[off[0] + j] = s[off[1] + j]; }
        else { for (int64_t j = 0; j < m; ++j) o[off[0] + j * st[0]] = s[off[1] + j * st[1]]; }
      });
    };
    if (R.rank == 1 && R.st[0][0] == 1 && R.st[1][0] == 1 && R.count < kGrain) {
      // Contiguous rows (the batch gather of a data set): one memcpy per row, with the rows a few
      // places ahead prefetched, so that the random rows' cache misses overlap.
      const int64_t len = R.count, bytes = len * int64_t(sizeof(T));
      parallel_for(0, n, kGrain / len, [&](int64_t i0, int64_t i1) {
        constexpr int64_t kAhead = 2;
        for (int64_t i = i0; i < i1 && i < i0 + kAhead; ++i) prefetch_bytes(xp + idx[size_t(i)] * xa, bytes);
        for (int64_t i = i0; i < i1; ++i) {
          if (i + kAhead < i1) prefetch_bytes(xp + idx[size_t(i + kAhead)] * xa, bytes);
          std::memcpy(op_ + i * oa, xp + idx[size_t(i)] * xa, size_t(bytes));
        }
      });
    } else if (R.count >= kGrain) {  // long slices: split each slice
      for (int64_t i = 0; i < n; ++i)
        parallel_for(0, R.count, kGrain, [&](int64_t r0, int64_t r1) { copy(i, r0, r1); });
    } else {
      parallel_for(0, n, kGrain / R.count, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) copy(i, 0, R.count);
      });
    }
  });
}

void CpuBackend::index_add(const View& out, int axis, const View& index, const View& src) {
  check_axis("index_add", axis, out);
  check_dtypes("index_add", out, src);
  std::vector<int64_t> idx = read_index("index_add", index, out.shape[axis]);
  const int64_t n = int64_t(idx.size());
  check_same_but_axis("index_add", out, src, axis, n);
  Rest R = rest_of(out, src, axis);  // set 0: out, set 1: src
  if (n == 0 || R.count == 0) return;
  const int64_t oa = out.strides[axis], sa = src.strides[axis], rows = out.shape[axis];
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* op_ = static_cast<T*>(out.data);
    const T* sp = static_cast<const T*>(src.data);
    // Adds slice i of src into its target row, over rest positions [r0, r1).
    auto add = [&](int64_t i, int64_t r0, int64_t r1) {
      T* o = op_ + idx[size_t(i)] * oa;
      const T* s = sp + i * sa;
      for_runs<2>(R.rank, R.shape, R.st, r0, r1, [&](const int64_t* off, int64_t m, const int64_t* st) {
        for (int64_t j = 0; j < m; ++j) {
          T& d = o[off[0] + j * st[0]];
          d = binary_fn<BinaryOp::Add, T>(d, s[off[1] + j * st[1]]);
        }
      });
    };
    if (R.count >= 256) {  // split the rest positions; every thread walks all of the index
      parallel_for(0, R.count, kGrain / n > 256 ? kGrain / n : 256, [&](int64_t r0, int64_t r1) {
        for (int64_t i = 0; i < n; ++i) add(i, r0, r1);
      });
    } else {  // split the target rows; every thread scans the index for its rows
      int64_t grain = kGrain / (R.count * 4) > 1 ? kGrain / (R.count * 4) : 1;
      parallel_for(0, rows, n * R.count >= kGrain ? grain : rows, [&](int64_t t0, int64_t t1) {
        for (int64_t i = 0; i < n; ++i)
          if (idx[size_t(i)] >= t0 && idx[size_t(i)] < t1) add(i, 0, R.count);
      });
    }
  });
}

void CpuBackend::gather(const View& x, int axis, const View& index, const View& out) {
  check_axis("gather", axis, x);
  check_dtypes("gather", x, out);
  if (index.dtype != DType::Int64) fail("gather: index must be int64, got ", dtype_str(index.dtype));
  if (x.rank != out.rank) fail("gather: index rank ", out.rank, " differs from input rank ", x.rank);
  for (int d = 0; d < x.rank; ++d)
    if (d != axis && out.shape[d] > x.shape[d])
      fail("gather: index size ", out.shape[d], " exceeds input size ", x.shape[d], " at dim ", d);
  View xv = x;  // x seen through out's shape, moving along `axis` only through the index
  for (int d = 0; d < x.rank; ++d) xv.shape[d] = out.shape[d];
  xv.strides[axis] = 0;
  const View* views[3] = {&out, &index, &xv};
  Loop<3> L = make_loop("gather", views);
  const int64_t size = x.shape[axis];
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const int64_t step = x.strides[axis] * int64_t(sizeof(T));
    for_each(L, kGrain, [&](char* const* p, const int64_t* s, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t k = at<const int64_t>(p[1], i, s[1]);
        if (k < 0 || k >= size) fail_index("gather: index ", k, " is out of bounds for size ", size);
        at<T>(p[0], i, s[0]) = *reinterpret_cast<const T*>(p[2] + i * s[2] + k * step);
      }
    });
  });
}

void CpuBackend::scatter_add(const View& out, int axis, const View& index, const View& src) {
  check_axis("scatter_add", axis, out);
  check_dtypes("scatter_add", out, src);
  if (index.dtype != DType::Int64) fail("scatter_add: index must be int64, got ", dtype_str(index.dtype));
  bool ok = index.rank == src.rank && src.rank == out.rank;
  for (int d = 0; ok && d < src.rank; ++d)
    ok = index.shape[d] == src.shape[d] && (d == axis || src.shape[d] <= out.shape[d]);
  if (!ok) fail("scatter_add: index must have src's shape, within out's shape outside axis ", axis);
  // Rest dims (all but axis) over three stride sets: out, src, index.
  int rank = 0;
  int64_t shape[kMaxDims], st[3][kMaxDims];
  int64_t count = 1;
  for (int d = 0; d < src.rank; ++d) {
    if (d == axis) continue;
    shape[rank] = src.shape[d];
    st[0][rank] = out.strides[d];
    st[1][rank] = src.strides[d];
    st[2][rank++] = index.strides[d];
    count *= src.shape[d];
  }
  coalesce_dims<3>(rank, shape, st);
  const int64_t n = src.shape[axis], size = out.shape[axis];
  if (n == 0 || count == 0) return;
  const int64_t oa = out.strides[axis], sa = src.strides[axis], ia = index.strides[axis];
  const int64_t* ip = static_cast<const int64_t*>(index.data);
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* op_ = static_cast<T*>(out.data);
    const T* sp = static_cast<const T*>(src.data);
    parallel_for(0, count, kGrain / n > 1 ? kGrain / n : 1, [&](int64_t r0, int64_t r1) {
      for (int64_t j = 0; j < n; ++j)
        for_runs<3>(rank, shape, st, r0, r1, [&](const int64_t* off, int64_t m, const int64_t* s) {
          for (int64_t q = 0; q < m; ++q) {
            int64_t k = ip[off[2] + q * s[2] + j * ia];
            if (k < 0 || k >= size) fail_index("scatter_add: index ", k, " is out of bounds for size ", size);
            T& d = op_[off[0] + q * s[0] + k * oa];
            d = binary_fn<BinaryOp::Add, T>(d, sp[off[1] + q * s[1] + j * sa]);
          }
        });
    });
  });
}

}  // namespace tapeflow::backend::cpu
