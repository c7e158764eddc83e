// CpuBackend::reduce. The input's dims split into kept and reduced ones (size-1 dims dropped,
// reduced dims sorted by stride, both groups coalesced). Two kernels:
// - row-wise: each output folds its reduced elements in fixed blocks of kBlock (innermost runs
//   vectorised), block results combined in block order;
// - column-wise (kept innermost dim contiguous, e.g. column sums of a row-major matrix): tiles of
//   kTile columns accumulate row by row, in fixed blocks of kRowBlock rows (float32 sum / max /
//   min through vec_math.h's column kernels: several contiguous rows per pass, AVX2 / AVX-512).
// Parallel work splits only along those fixed blocks or along outputs, so results are identical
// for every thread count.
#include <memory>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/reduce_ops.h"

namespace tapeflow::backend::cpu {
namespace {

constexpr int64_t kBlock = 4096;    // reduced elements per block (row-wise)
constexpr int64_t kRowBlock = 256;  // rows per block (column-wise)
constexpr int64_t kTile = 512;      // columns per tile (column-wise): 2-4 KiB of each row

struct Plan {
  int kr = 0, rr = 0;
  int64_t kshape[kMaxDims], kst[2][kMaxDims];  // kept dims: x and out strides (first kr used)
  int64_t rshape[kMaxDims], rst[1][kMaxDims];  // reduced dims: x strides (first rr used)
  int64_t n_out = 1, n_red = 1;
};

Plan make_plan(const View& x, uint32_t mask, const View& out) {
  Plan P;
  for (int d = 0; d < x.rank; ++d) {
    if (x.shape[d] == 1) continue;
    if (mask & (1u << d)) {
      P.n_red *= x.shape[d];
      P.rshape[P.rr] = x.shape[d];
      P.rst[0][P.rr++] = x.strides[d];
    } else {
      P.n_out *= x.shape[d];
      P.kshape[P.kr] = x.shape[d];
      P.kst[0][P.kr] = x.strides[d];
      P.kst[1][P.kr++] = out.strides[d];
    }
  }
  // Reduced dims by decreasing stride (stable): the innermost run gets the smallest stride.
  for (int i = 1; i < P.rr; ++i)
    for (int j = i; j > 0 && P.rst[0][j - 1] < P.rst[0][j]; --j) {
      std::swap(P.rst[0][j - 1], P.rst[0][j]);
      std::swap(P.rshape[j - 1], P.rshape[j]);
    }
  coalesce_dims<2>(P.kr, P.kshape, P.kst);
  coalesce_dims<1>(P.rr, P.rshape, P.rst);
  return P;
}

template <class R, class T>
void reduce_rowwise(const Plan& P, const T* x, typename R::Out* out) {
  using Acc = typename R::Acc;
  const int64_t nb = (P.n_red + kBlock - 1) / kBlock;
  auto block_acc = [&](int64_t xoff, int64_t b) {
    Acc acc = R::init();
    int64_t lo = b * kBlock, hi = lo + kBlock < P.n_red ? lo + kBlock : P.n_red;
    for_runs<1>(P.rr, P.rshape, P.rst, lo, hi, [&](const int64_t* off, int64_t n, const int64_t* st) {
      acc = R::combine(acc, reduce_run<R>(x + xoff + off[0], n, st[0]));
    });
    return acc;
  };
  if (nb <= 1 || P.n_out >= 2 * pool_threads()) {  // parallel over outputs
    int64_t grain = P.n_red >= kGrain ? 1 : kGrain / (P.n_red > 0 ? P.n_red : 1);
    parallel_for(0, P.n_out, grain, [&](int64_t j0, int64_t j1) {
      Walker<2> w(P.kr, P.kshape, P.kst, j0);
      for (int64_t j = j0; j < j1; ++j, w.next()) {
        Acc acc = R::init();
        for (int64_t b = 0; b < nb; ++b) acc = R::combine(acc, block_acc(w.off[0], b));
        out[w.off[1]] = R::finish(acc);
      }
    });
    return;
  }
  // Few long outputs: parallel over the blocks of each output, combined in block order.
  std::unique_ptr<Acc[]> partial(new Acc[size_t(nb)]);
  Walker<2> w(P.kr, P.kshape, P.kst, 0);
  for (int64_t j = 0; j < P.n_out; ++j, w.next()) {
    parallel_for(0, nb, kGrain / kBlock, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) partial[b] = block_acc(w.off[0], b);
    });
    Acc acc = R::init();
    for (int64_t b = 0; b < nb; ++b) acc = R::combine(acc, partial[b]);
    out[w.off[1]] = R::finish(acc);
  }
}

// acc[c] = step(acc[c], row_i[c]) for n rows at the given stride (vectorised across columns).
template <class R, class T>
void accumulate_rows(const T* __restrict x, int64_t n, int64_t stride, int64_t tw,
                     typename R::Acc* __restrict acc) {
  if constexpr (std::is_same_v<T, float> && R::kOp == ReduceOp::Sum) return vec_col_sum_f32(x, n, stride, tw, acc);
  else if constexpr (std::is_same_v<T, float> && R::kOp == ReduceOp::Max) return vec_col_max_f32(x, n, stride, tw, acc);
  else if constexpr (std::is_same_v<T, float> && R::kOp == ReduceOp::Min) return vec_col_min_f32(x, n, stride, tw, acc);
  for (int64_t i = 0; i < n; ++i) {
    const T* __restrict row = x + i * stride;
    for (int64_t c = 0; c < tw; ++c) acc[c] = R::step(acc[c], row[c]);
  }
}

template <class R, class T>
void reduce_columns(const Plan& P, const T* x, typename R::Out* out) {
  using Acc = typename R::Acc;
  const int64_t C = P.kshape[P.kr - 1], out_cs = P.kst[1][P.kr - 1];
  const int64_t ntile = (C + kTile - 1) / kTile, n_outer = P.n_out / C;
  const int64_t ntasks = n_outer * ntile, nrb = (P.n_red + kRowBlock - 1) / kRowBlock;
  // Folds the rows of row block rb into acc[0, tw) for the columns starting at xbase.
  auto block = [&](const T* xbase, int64_t tw, int64_t rb, Acc* acc) {
    for (int64_t c = 0; c < tw; ++c) acc[c] = R::init();
    int64_t lo = rb * kRowBlock, hi = lo + kRowBlock < P.n_red ? lo + kRowBlock : P.n_red;
    for_runs<1>(P.rr, P.rshape, P.rst, lo, hi, [&](const int64_t* off, int64_t n, const int64_t* st) {
      accumulate_rows<R>(xbase + off[0], n, st[0], tw, acc);
    });
  };
  // The x and out positions of task t (outer kept index, column tile).
  auto locate = [&](int64_t t, const T*& xbase, typename R::Out*& obase, int64_t& tw) {
    int64_t o = t / ntile, c0 = (t % ntile) * kTile;
    Walker<2> w(P.kr - 1, P.kshape, P.kst, o);
    xbase = x + w.off[0] + c0;
    obase = out + w.off[1] + c0 * out_cs;
    tw = C - c0 < kTile ? C - c0 : kTile;
  };
  auto finish = [&](typename R::Out* obase, int64_t tw, const Acc* total) {
    for (int64_t c = 0; c < tw; ++c) obase[c * out_cs] = R::finish(total[c]);
  };
  if (nrb <= 1 || ntasks >= 2 * pool_threads()) {  // parallel over tasks
    int64_t work = P.n_red * kTile;
    parallel_for(0, ntasks, work >= kGrain ? 1 : kGrain / (work > 0 ? work : 1), [&](int64_t t0, int64_t t1) {
      Acc total[kTile], tmp[kTile];
      for (int64_t t = t0; t < t1; ++t) {
        const T* xbase; typename R::Out* obase; int64_t tw;
        locate(t, xbase, obase, tw);
        for (int64_t c = 0; c < tw; ++c) total[c] = R::init();
        for (int64_t rb = 0; rb < nrb; ++rb) {
          block(xbase, tw, rb, tmp);
          for (int64_t c = 0; c < tw; ++c) total[c] = R::combine(total[c], tmp[c]);
        }
        finish(obase, tw, total);
      }
    });
    return;
  }
  // Few tasks with many rows: parallel over row blocks, combined in block order.
  std::unique_ptr<Acc[]> partial(new Acc[size_t(nrb * kTile)]);
  for (int64_t t = 0; t < ntasks; ++t) {
    const T* xbase; typename R::Out* obase; int64_t tw;
    locate(t, xbase, obase, tw);
    parallel_for(0, nrb, 1 + kGrain / (kRowBlock * kTile), [&](int64_t b0, int64_t b1) {
      for (int64_t rb = b0; rb < b1; ++rb) block(xbase, tw, rb, &partial[rb * kTile]);
    });
    Acc total[kTile];
    for (int64_t c = 0; c < tw; ++c) total[c] = R::init();
    for (int64_t rb = 0; rb < nrb; ++rb)
      for (int64_t c = 0; c < tw; ++c) total[c] = R::combine(total[c], partial[rb * kTile + c]);
    finish(obase, tw, total);
  }
}

template <ReduceOp op>
void reduce_kernel(const Plan& P, const View& x, const View& out) {
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    using R = Red<op, T>;
    const T* xp = static_cast<const T*>(x.data);
    auto* op_ = static_cast<typename R::Out*>(out.data);
    bool columns = P.kr >= 1 && P.rr >= 1 && P.kst[0][P.kr - 1] == 1 && P.kshape[P.kr - 1] >= 16 &&
                   P.rst[0][P.rr - 1] != 1;
    if (columns) reduce_columns<R>(P, xp, op_);
    else reduce_rowwise<R>(P, xp, op_);
  });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out) {
  if (x.rank < 32 && (axes_mask >> x.rank) != 0)
    fail("reduce: axes mask ", axes_mask, " names an axis beyond rank ", x.rank);
  if (size_t(op) >= size_t(ReduceOp::Count)) fail("reduce: unknown op #", int(op));
  DType want = is_bool_output(op) ? DType::Bool : x.dtype;
  if (out.dtype != want)
    fail("reduce: output dtype ", dtype_str(out.dtype), " does not match ", dtype_str(want), " for ", op_name(op));
  bool ok = out.rank == x.rank;
  for (int d = 0; ok && d < x.rank; ++d)
    ok = out.shape[d] == ((axes_mask & (1u << d)) ? 1 : x.shape[d]);
  if (!ok) fail("reduce: output shape does not match the input shape with reduced axes set to 1");
  Plan P = make_plan(x, axes_mask, out);
  if (P.n_out == 0) return;
  if (P.n_red == 0 && (op == ReduceOp::Max || op == ReduceOp::Min))
    fail(op_name(op), ": cannot reduce over an empty axis (no identity)");
  switch (op) {  // one case per line of TAPEFLOW_REDUCE_OPS (backends/op_table.h)
#define TF_REDUCE_CASE(E, ...) case ReduceOp::E: return reduce_kernel<ReduceOp::E>(P, x, out);
    TAPEFLOW_REDUCE_OPS(TF_REDUCE_CASE)
#undef TF_REDUCE_CASE
    default: fail("reduce: unknown op #", int(op));
  }
}

}  // namespace tapeflow::backend::cpu
