// CpuBackend::arg_reduce and CpuBackend::cumsum: kernels along one axis. Both walk the other
// dims as "lines"; arg_reduce splits one very long line into fixed blocks whose winners are
// combined in order (ties keep the first index, NaN wins), cumsum accumulates in double (floats)
// or int64 and walks tiles of adjacent lines together when the axis is not the contiguous one.
#include <cmath>
#include <memory>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {
namespace {

// The dims other than `axis` (coalesced), with the strides of up to two views.
struct Lines {
  int rank = 0;
  int64_t shape[kMaxDims], st[2][kMaxDims];  // first `rank` entries used
  int64_t count = 1;
};
Lines lines_of(const View& a, const View& b, int axis) {
  Lines L;
  for (int d = 0; d < a.rank; ++d) {
    if (d == axis) continue;
    L.shape[L.rank] = a.shape[d];
    L.st[0][L.rank] = a.strides[d];
    L.st[1][L.rank++] = b.strides[d];
    L.count *= a.shape[d];
  }
  coalesce_dims<2>(L.rank, L.shape, L.st);
  return L;
}

// True when v beats the current best (strictly: the first of ties wins; NaN beats numbers).
template <ArgReduceOp op, class T>
inline bool beats(T v, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return best == best;
  }
  if constexpr (op == ArgReduceOp::ArgMax) return v > best;
  else return v < best;
}


template <ArgReduceOp op, class T>
void scan_best(const T* x, int64_t stride, int64_t lo, int64_t hi, T& best, int64_t& idx) {
  best = x[lo * stride];
  idx = lo;
  for (int64_t i = lo + 1; i < hi; ++i) {
    T v = x[i * stride];
    if (beats<op>(v, best)) { best = v; idx = i; }
  }
}

template <ArgReduceOp op, class T>
void arg_kernel(const View& x, int axis, const View& out) {
  const T* xp = static_cast<const T*>(x.data);
  int64_t* op_ = static_cast<int64_t*>(out.data);
  Lines L = lines_of(x, out, axis);
  const int64_t n = x.shape[axis], s = x.strides[axis];
  constexpr int64_t kBlock = 8192;
  const int64_t nb = (n + kBlock - 1) / kBlock;
  if (nb <= 1 || L.count >= 2 * pool_threads()) {
    int64_t grain = n >= kGrain ? 1 : kGrain / n;
    parallel_for(0, L.count, grain, [&](int64_t j0, int64_t j1) {
      Walker<2> w(L.rank, L.shape, L.st, j0);
      for (int64_t j = j0; j < j1; ++j, w.next()) {
        T best; int64_t idx;
        scan_best<op>(xp + w.off[0], s, 0, n, best, idx);
        op_[w.off[1]] = idx;
      }
    });
    return;
  }
  std::unique_ptr<T[]> bv(new T[size_t(nb)]);
  std::unique_ptr<int64_t[]> bi(new int64_t[size_t(nb)]);
  Walker<2> w(L.rank, L.shape, L.st, 0);
  for (int64_t j = 0; j < L.count; ++j, w.next()) {
    const T* line = xp + w.off[0];
    parallel_for(0, nb, 4, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        scan_best<op>(line, s, b * kBlock, (b + 1) * kBlock < n ? (b + 1) * kBlock : n, bv[b], bi[b]);
    });
    T best = bv[0];
    int64_t idx = bi[0];
    for (int64_t b = 1; b < nb; ++b)
      if (beats<op>(bv[b], best)) { best = bv[b]; idx = bi[b]; }
    op_[w.off[1]] = idx;
  }
}

template <class T>
void cumsum_kernel(const View& x, int axis, const View& out) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const T* xp = static_cast<const T*>(x.data);
  T* op_ = static_cast<T*>(out.data);
  Lines L = lines_of(x, out, axis);
  const int64_t n = x.shape[axis], sx = x.strides[axis], so = out.strides[axis];
  if (sx == 1 || L.rank == 0) {  // line by line
    parallel_for(0, L.count, n >= kGrain ? 1 : kGrain / n, [&](int64_t j0, int64_t j1) {
      Walker<2> w(L.rank, L.shape, L.st, j0);
      for (int64_t j = j0; j < j1; ++j, w.next()) {
        Acc acc = 0;
        for (int64_t i = 0; i < n; ++i) {
          acc = wrap_add(acc, Acc(xp[w.off[0] + i * sx]));  // integers wrap
          op_[w.off[1] + i * so] = convert<T>(acc);
        }
      }
    });
    return;
  }
  // Tiles of up to 64 adjacent lines (along the innermost other dim) advance together.
  constexpr int64_t kTile = 64;
  const int64_t C = L.shape[L.rank - 1], cx = L.st[0][L.rank - 1], co = L.st[1][L.rank - 1];
  const int64_t ntile = (C + kTile - 1) / kTile, ntasks = (L.count / C) * ntile;
  int64_t work = n * kTile;
  parallel_for(0, ntasks, work >= kGrain ? 1 : kGrain / work, [&](int64_t t0, int64_t t1) {
    Acc acc[kTile];
    for (int64_t t = t0; t < t1; ++t) {
      int64_t c0 = (t % ntile) * kTile, tw = C - c0 < kTile ? C - c0 : kTile;
      Walker<2> w(L.rank - 1, L.shape, L.st, t / ntile);
      const T* xb = xp + w.off[0] + c0 * cx;
      T* ob = op_ + w.off[1] + c0 * co;
      for (int64_t c = 0; c < tw; ++c) acc[c] = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < tw; ++c) {
          acc[c] = wrap_add(acc[c], Acc(xb[i * sx + c * cx]));
          ob[i * so + c * co] = convert<T>(acc[c]);
        }
    }
  });
}

void check_axis_op(const char* op, const View& x, int axis, const View& out, bool keep_axis) {
  if (axis < 0 || axis >= x.rank) fail_index(op, ": axis ", axis, " out of range for rank ", x.rank);
  bool ok = out.rank == x.rank;
  for (int d = 0; ok && d < x.rank; ++d)
    ok = out.shape[d] == ((d == axis && !keep_axis) ? 1 : x.shape[d]);
  if (!ok) fail(op, ": output shape does not match the input");
}

}  // namespace

void CpuBackend::arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out) {
  const char* name = op == ArgReduceOp::ArgMax ? "argmax" : "argmin";
  check_axis_op(name, x, axis, out, false);
  if (out.dtype != DType::Int64) fail(name, ": output must be int64, got ", dtype_str(out.dtype));
  if (out.numel() == 0) return;
  if (x.shape[axis] == 0) fail(name, ": cannot reduce over an empty axis");
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (op == ArgReduceOp::ArgMax) arg_kernel<ArgReduceOp::ArgMax, T>(x, axis, out);
    else arg_kernel<ArgReduceOp::ArgMin, T>(x, axis, out);
  });
}

void CpuBackend::cumsum(const View& x, int axis, const View& out) {
  check_axis_op("cumsum", x, axis, out, true);
  if (out.dtype != x.dtype)
    fail("cumsum: output dtype ", dtype_str(out.dtype), " differs from ", dtype_str(x.dtype));
  if (out.numel() == 0) return;
  visit_dtype(x.dtype, [&](auto tag) { cumsum_kernel<decltype(tag)>(x, axis, out); });
}

}  // namespace tapeflow::backend::cpu
