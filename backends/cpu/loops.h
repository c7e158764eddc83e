// The strided loop machinery shared by the CPU element-wise kernels: a Loop<N> holds N operands
// (operand 0 is the output) over one shape with byte strides, size-1 dims dropped and adjacent
// dims coalesced; for_each() walks it in parallel chunks, handing the inner kernel one run of the
// innermost dim at a time (pointers + innermost strides), where it picks its fast path.
// Internal header (not part of the public API).
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backends/backend.h"
#include "backends/cpu/parallel.h"
#include "backends/functors.h"
#include "base/error.h"

namespace tapeflow::backend::cpu {

constexpr int64_t kGrain = 32768;  // elements per parallel chunk for cheap element-wise ops

const char* dtype_str(DType t);  // "float32", ... (no dependence on the tensor library)

// Value conversion between element types as NumPy/PyTorch do it on x86: to bool is "!= 0",
// float to integer truncates toward zero with the defined edge cases of float_to_int
// (backends/functors.h: NaN -> 0, int32/int64 saturate, uint8 wraps through int64 so
// -1.0 -> 255); integer to narrower integer wraps.
template <class To, class From>
inline To convert(From v) {
  if constexpr (std::is_same_v<To, From>) return v;
  else if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) return float_to_int<To>(v);
  else return To(v);
}

// NOTE: the arrays are left uninitialised on purpose (only the first `rank` entries are used):
// zeroing ~300 bytes per op costs more than the rest of a one-element op.
template <int N>
struct Loop {
  int rank = 0;
  int64_t numel = 1;
  int64_t shape[kMaxDims];
  int64_t strides[N][kMaxDims];  // bytes
  char* data[N];
};

// Builds the loop over views[0]'s shape; every view must have that shape (checked).
template <int N>
Loop<N> make_loop(const char* op, const View* const (&views)[N]) {
  const View& out = *views[0];
  Loop<N> L;
  for (int k = 0; k < N; ++k) {
    const View& v = *views[k];
    bool same = v.rank == out.rank;
    for (int d = 0; same && d < out.rank; ++d) same = v.shape[d] == out.shape[d];
    if (!same) fail(op, ": operand ", k, " has a different shape (rank ", v.rank, ") than the output (rank ", out.rank, ")");
    L.data[k] = static_cast<char*>(v.data);
  }
  L.numel = out.numel();
  for (int d = 0; d < out.rank; ++d) {
    int64_t n = out.shape[d];
    if (n == 1) continue;
    int r = L.rank;
    bool merge = r > 0;
    for (int k = 0; merge && k < N; ++k) {
      int64_t s = views[k]->strides[d] * int64_t(dtype_size(views[k]->dtype));
      merge = L.strides[k][r - 1] == s * n;
    }
    if (merge) {
      L.shape[r - 1] *= n;
      for (int k = 0; k < N; ++k)
        L.strides[k][r - 1] = views[k]->strides[d] * int64_t(dtype_size(views[k]->dtype));
    } else {
      L.shape[r] = n;
      for (int k = 0; k < N; ++k)
        L.strides[k][r] = views[k]->strides[d] * int64_t(dtype_size(views[k]->dtype));
      L.rank = r + 1;
    }
  }
  return L;
}

// Runs inner(ptrs, inner_strides, n) over the linear range [begin, end) of the loop.
template <int N, class Inner>
void run_range(const Loop<N>& L, int64_t begin, int64_t end, Inner& inner) {
  const int last = L.rank - 1;
  int64_t ctr[kMaxDims];
  char* p[N];
  for (int k = 0; k < N; ++k) p[k] = L.data[k];
  if (begin == 0) {  // skips the divisions (tens of cycles each) for small, inline ops
    for (int d = 0; d <= last; ++d) ctr[d] = 0;
  } else {
    int64_t rem = begin;
    for (int d = last; d >= 0; --d) {
      ctr[d] = rem % L.shape[d];
      rem /= L.shape[d];
      for (int k = 0; k < N; ++k) p[k] += ctr[d] * L.strides[k][d];
    }
  }
  int64_t s[N];
  for (int k = 0; k < N; ++k) s[k] = L.strides[k][last];
  const int64_t row = L.shape[last];
  for (int64_t i = begin; i < end;) {
    int64_t n = row - ctr[last];
    if (n > end - i) n = end - i;
    inner(p, s, n);
    i += n;
    if (i >= end) break;
    // Back to the start of the row, then carry into the outer dims.
    for (int k = 0; k < N; ++k) p[k] -= ctr[last] * s[k];
    ctr[last] = 0;
    for (int d = last - 1; d >= 0; --d) {
      for (int k = 0; k < N; ++k) p[k] += L.strides[k][d];
      if (++ctr[d] < L.shape[d]) break;
      for (int k = 0; k < N; ++k) p[k] -= L.shape[d] * L.strides[k][d];
      ctr[d] = 0;
    }
  }
}

template <int N, class Inner>
void for_each(const Loop<N>& L, int64_t grain, Inner&& inner) {
  if (L.numel == 0) return;
  if (L.rank == 0) {
    char* p[N];
    int64_t s[N] = {};
    for (int k = 0; k < N; ++k) p[k] = L.data[k];
    inner(p, s, 1);
    return;
  }
  parallel_for(0, L.numel, grain, [&](int64_t b, int64_t e) { run_range(L, b, e, inner); });
}

// True when the innermost strides of all N operands equal their element sizes.
template <class... T, size_t N = sizeof...(T)>
inline bool all_contiguous(const int64_t* s) {
  const int64_t sizes[N] = {int64_t(sizeof(T))...};
  for (size_t k = 0; k < N; ++k)
    if (s[k] != sizes[k]) return false;
  return true;
}

template <class T> inline T& at(char* p, int64_t i, int64_t stride) {
  return *reinterpret_cast<T*>(p + i * stride);
}

// ---- multi-index helpers for the reduction, scan, indexing and softmax kernels ----

// Drops size-1 dims and merges adjacent dims whose N stride sets all allow it (in place).
template <int N>
void coalesce_dims(int& rank, int64_t* shape, int64_t (*strides)[kMaxDims]) {
  int r = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1) continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < N; ++k) merge = strides[k][r - 1] == strides[k][d] * shape[d];
    if (merge) {
      shape[r - 1] *= shape[d];
      for (int k = 0; k < N; ++k) strides[k][r - 1] = strides[k][d];
    } else {
      shape[r] = shape[d];
      for (int k = 0; k < N; ++k) strides[k][r] = strides[k][d];
      ++r;
    }
  }
  rank = r;
}

// Walks the multi-index of `rank` dims in row-major order, tracking N offsets.
template <int N>
struct Walker {
  int rank;
  const int64_t* shape;
  const int64_t (*strides)[kMaxDims];
  int64_t ctr[kMaxDims] = {};
  int64_t off[N] = {};
  Walker(int r, const int64_t* sh, const int64_t (*st)[kMaxDims], int64_t start)
      : rank(r), shape(sh), strides(st) {
    if (start == 0) return;
    for (int d = rank - 1; d >= 0; --d) {
      ctr[d] = start % shape[d];
      start /= shape[d];
      for (int k = 0; k < N; ++k) off[k] += ctr[d] * strides[k][d];
    }
  }
  void next() {
    for (int d = rank - 1; d >= 0; --d) {
      for (int k = 0; k < N; ++k) off[k] += strides[k][d];
      if (++ctr[d] < shape[d]) return;
      for (int k = 0; k < N; ++k) off[k] -= shape[d] * strides[k][d];
      ctr[d] = 0;
    }
  }
};

// Calls fn(off, n, inner) for each run of the innermost dim within the linear index range
// [lo, hi) of a multi-index with N stride sets (any unit): off[k] is the run's start offset and
// inner[k] its stride for set k. rank 0 is one run of length 1 at offset 0.
template <int N, class Fn>
void for_runs(int rank, const int64_t* shape, const int64_t (*strides)[kMaxDims], int64_t lo,
              int64_t hi, Fn&& fn) {
  if (lo >= hi) return;
  int64_t off[N] = {};
  if (rank == 0) {
    int64_t zero[N] = {};
    fn(static_cast<const int64_t*>(off), int64_t(1), static_cast<const int64_t*>(zero));
    return;
  }
  const int last = rank - 1;
  int64_t ctr[kMaxDims] = {}, rem = lo, inner[N];
  for (int k = 0; k < N; ++k) inner[k] = strides[k][last];
  for (int d = last; rem != 0 && d >= 0; --d) {
    ctr[d] = rem % shape[d];
    rem /= shape[d];
    for (int k = 0; k < N; ++k) off[k] += ctr[d] * strides[k][d];
  }
  for (int64_t i = lo; i < hi;) {
    int64_t n = shape[last] - ctr[last];
    if (n > hi - i) n = hi - i;
    fn(static_cast<const int64_t*>(off), n, static_cast<const int64_t*>(inner));
    i += n;
    if (i >= hi) break;
    for (int k = 0; k < N; ++k) off[k] -= ctr[last] * inner[k];
    ctr[last] = 0;
    for (int d = last - 1; d >= 0; --d) {
      for (int k = 0; k < N; ++k) off[k] += strides[k][d];
      if (++ctr[d] < shape[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= shape[d] * strides[k][d];
      ctr[d] = 0;
    }
  }
}

// ---- one-input maps: out = f(x) ----
template <class To, class Ti, class F>
void map1_contig(To* __restrict o, const Ti* __restrict x, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}
template <class T, class F>
void map1_inplace(T* __restrict o, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(o[i]);
}

// Inner loop of a one-input map: contiguous, in-place, broadcast-scalar and strided paths.
template <class To, class Ti, class F>
struct Map1 {
  F f;
  void operator()(char* const* p, const int64_t* s, int64_t n) const {
    To* o = reinterpret_cast<To*>(p[0]);
    const Ti* x = reinterpret_cast<const Ti*>(p[1]);
    if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(Ti))) {
      if constexpr (std::is_same_v<To, Ti>) {
        if (static_cast<const void*>(o) == static_cast<const void*>(x)) return map1_inplace(o, n, f);
      }
      return map1_contig(o, x, n, f);
    }
    if (s[1] == 0) {
      const To v = f(*x);
      if (s[0] == int64_t(sizeof(To))) { for (int64_t i = 0; i < n; ++i) o[i] = v; }
      else { for (int64_t i = 0; i < n; ++i) at<To>(p[0], i, s[0]) = v; }
      return;
    }
    for (int64_t i = 0; i < n; ++i) at<To>(p[0], i, s[0]) = f(at<const Ti>(p[1], i, s[1]));
  }
};
template <class To, class Ti, class F> Map1<To, Ti, F> make_map1(F f) { return Map1<To, Ti, F>{f}; }

}  // namespace tapeflow::backend::cpu
